"""The CRM's change feed: won deals arrive as soon as they are won; our own writes coming back are
ignored (echo suppression); a change by anyone else to a field the ERP owns is a conflict, surfaced
as an exception and never copied anywhere.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from q2c.domain.violations import Violation
from q2c.store import audit, cursors
from q2c.store import exceptions as exception_store
from q2c.workflows.hub import Hub
from q2c.workflows.project_setup import KIND as SETUP_KIND
from q2c.workflows.project_setup import enqueue_won_deal


@dataclass
class ChangeStats:
    events: int = 0
    echoes: int = 0
    won: int = 0
    conflicts: int = 0


def cursor_name(hub: Hub) -> str:
    return f"{hub.crm.names.system}.opportunity_change_events.replay_id"


def consume_crm_changes(hub: Hub) -> ChangeStats:
    stats = ChangeStats()
    crm, erp = hub.crm.names, hub.erp.names
    with hub.engine.connect() as conn:
        stored = cursors.get_cursor(conn, cursor_name(hub))
    changes = hub.crm.opportunity_changes(int(stored) if stored else None)
    if not changes:
        return stats
    owned = hub.crm.erp_owned_fields()
    with hub.engine.begin() as conn:
        for change in changes:
            stats.events += 1
            if change.by_q2c:
                stats.echoes += 1
                continue
            for field in sorted(owned & set(change.changed_fields)):
                for opportunity_id in change.opportunity_ids:
                    stats.conflicts += 1
                    v = Violation(
                        system=crm.system, object=crm.object("opportunity"), record_id=opportunity_id, field=field,
                        rule="ownership.conflict",
                        message=f"{field} was changed to {change.values.get(field)!r} by "
                                f"{change.origin or f'a user in the {crm.label} UI'}, but {erp.label} owns this "
                                "field; q2c did not copy the change anywhere",
                        action=f"Undo the edit in {crm.label}, or replay to have q2c write {erp.label}'s value back "
                               f"to {field}")
                    correlation = uuid.uuid4().hex
                    exception_store.raise_exception(
                        conn, v, work_kind=SETUP_KIND, aggregate=f"opportunity:{opportunity_id}",
                        payload={"opportunity_id": opportunity_id}, correlation_id=correlation)
                    audit.append(conn, [audit.AuditEntry(
                        actor=hub.actor, system=crm.system, action="conflict", entity=crm.object("opportunity"),
                        record_id=opportunity_id, correlation_id=correlation,
                        after={"field": field, "value": str(change.values.get(field)), "origin": change.origin})])
            if change.won:
                for opportunity_id in change.opportunity_ids:
                    if enqueue_won_deal(conn, opportunity_id, source=f"{crm.system}.changes"):
                        stats.won += 1
        cursors.set_cursor(conn, cursor_name(hub), str(max(c.position for c in changes)))
    return stats
