"""The CRM's change feed: won deals arrive as soon as they are won; our own writes coming back are
ignored (echo suppression); a change by anyone else to a field the ERP owns is a conflict, surfaced
as an exception and never copied anywhere. When the feed cannot resume where it left off (the CRM no
longer keeps those events), the gap is an open exception and the feed goes on from the oldest event kept.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from q2c.domain.violations import Violation
from q2c.engine.errors import FeedGap
from q2c.engine.worker import Effects
from q2c.store import audit, cursors
from q2c.store import exceptions as exception_store
from q2c.store.queue import WorkItem
from q2c.workflows.contract_changes import contract_of_opportunity, enqueue_check
from q2c.workflows.hub import Hub
from q2c.workflows.project_setup import KIND as SETUP_KIND
from q2c.workflows.project_setup import enqueue_won_deal

FEED_KIND = "crm.change_feed"  # the change feed itself: events lost between two reads


@dataclass
class ChangeStats:
    events: int = 0
    echoes: int = 0
    won: int = 0
    conflicts: int = 0
    gaps: int = 0
    terms_checked: int = 0


def cursor_name(hub: Hub) -> str:
    return f"{hub.crm.names.system}.opportunity_change_events.replay_id"


def consume_crm_changes(hub: Hub) -> ChangeStats:
    stats = ChangeStats()
    crm, erp = hub.crm.names, hub.erp.names
    with hub.engine.connect() as conn:
        stored = cursors.get_cursor(conn, cursor_name(hub))
    owned = hub.crm.erp_owned_fields()
    try:
        changes = hub.crm.opportunity_changes(int(stored) if stored else None)
    except FeedGap as gap:
        if stored is None:
            raise  # a feed read from its start has no gap: this is the CRM failing, not a lost stretch
        stats.gaps += 1
        _record_gap(hub, stored, gap, owned)
        changes = hub.crm.opportunity_changes(None)  # from the oldest event the CRM still keeps
    if not changes:
        return stats
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
            else:
                for opportunity_id in change.opportunity_ids:  # a set-up deal's terms may have changed
                    contract_id = contract_of_opportunity(conn, opportunity_id, crm=crm)
                    if contract_id is not None:
                        enqueue_check(conn, contract_id)
                        stats.terms_checked += 1
        cursors.set_cursor(conn, cursor_name(hub), str(max(c.position for c in changes)))
    return stats


def _record_gap(hub: Hub, stored: str, gap: FeedGap, owned: frozenset[str]) -> None:
    """The events after `stored` are gone: edits to fields the ERP owns made then went unseen."""
    crm, erp = hub.crm.names, hub.erp.names
    fields = ", ".join(sorted(owned)) or "none"
    v = Violation(
        system=crm.system, object="change feed", record_id=f"after {stored}", field=None, rule="crm.change_feed_gap",
        message=f"{crm.label} no longer keeps the change events after position {stored} ({gap.message}), so edits "
                f"made then to fields {erp.label} owns went unseen; won deals are still found by the won-deal poll",
        action=f"Check the {erp.label}-owned fields ({fields}) of the opportunities changed in {crm.label} while "
               "q2c was not reading its changes, then replay this exception to close it")
    correlation = uuid.uuid4().hex
    with hub.engine.begin() as conn:
        exception_store.raise_exception(conn, v, work_kind=FEED_KIND, aggregate=f"{crm.system}:change_feed",
                                        payload={"after": stored}, correlation_id=correlation)
        audit.append(conn, [audit.AuditEntry(
            actor=hub.actor, system=crm.system, action="feed_gap", entity="change feed", record_id=stored,
            correlation_id=correlation, after={"resumed_from": "oldest retained", "reason": gap.message})])


def acknowledge_feed_gap(hub: Hub, item: WorkItem) -> Effects | None:
    """Replay of a feed gap: the person has checked what the gap could hide, so the exception closes."""

    def write(conn: Connection) -> None:
        exception_store.resolve_open_for_aggregate(conn, work_kind=FEED_KIND, aggregate=item.aggregate)

    return write
