"""Accounting periods per legal entity, as the controller closes and reopens them (`q2c period close`).

Billing and the revenue close both read the calendar: nothing is dated inside a closed period;
an event that belongs to one lands in the first open period after it, with a note naming its date.
"""

from __future__ import annotations

import uuid

from sqlalchemy.engine import Connection

from q2c.domain.revenue import Period, PeriodCalendar
from q2c.engine.hashing import content_hash
from q2c.store import audit, records
from q2c.workflows.hub import Hub

PERIOD = "period"


def load_calendar(conn: Connection, legal_entity: str) -> PeriodCalendar:
    """The legal entity's closed periods."""
    closed = records.list_records(conn, entity=PERIOD, aggregate=f"periods:{legal_entity}", states=["closed"])
    return PeriodCalendar(legal_entity, frozenset(Period.parse(r.payload["period"]) for r in closed))


def set_period_state(hub: Hub, *, legal_entity: str, period: Period, closed: bool, actor: str) -> bool:
    """Close or reopen a period; returns False when it already was in that state. Audited."""
    state = "closed" if closed else "open"
    key = f"{legal_entity}:{period.label}"
    with hub.engine.begin() as conn:
        current = records.get_record(conn, entity=PERIOD, canonical_id=key)
        if (current.state if current else "open") == state:
            return False
        payload = {"legal_entity": legal_entity, "period": period.label}
        records.upsert_records(conn, [records.Record(PERIOD, key, f"periods:{legal_entity}", state, 1,
                                                     content_hash(payload), payload)])
        audit.append(conn, [audit.AuditEntry(actor=actor, system="q2c", action=f"period_{state}", entity=PERIOD,
                                             record_id=key, correlation_id=uuid.uuid4().hex,
                                             before={"state": current.state if current else "open"},
                                             after={"state": state})])
    return True
