"""The inbox: one row per inbound change, unique on its idempotency key. A duplicate is dropped here."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from q2c.store.db import insert_for, now
from q2c.store.schema import events


def record_event(conn: Connection, *, idempotency_key: str, source: str, event_type: str, aggregate: str,
                 correlation_id: str) -> int | None:
    """Store the event; None when this key was seen before (the delivery is a duplicate)."""
    stmt = (insert_for(conn)(events)
            .values(idempotency_key=idempotency_key, source=source, event_type=event_type,
                    aggregate=aggregate, correlation_id=correlation_id, received_at=now())
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(events.c.id))
    row = conn.execute(stmt).first()
    return None if row is None else int(row.id)


def correlation_of(conn: Connection, idempotency_key: str) -> str | None:
    """The correlation id the event with this key was recorded under (None: no such event)."""
    value = conn.execute(sa.select(events.c.correlation_id).where(events.c.idempotency_key == idempotency_key)).scalar()
    return None if value is None else str(value)
