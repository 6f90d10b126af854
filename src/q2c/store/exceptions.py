"""The exception queue (dead letters) that finance and integration engineers work.

One open row per (system, object, record, rule): a repeat of the same problem bumps
`occurrences` instead of flooding the queue. Each row keeps the payload needed to replay it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from q2c.domain.violations import Violation
from q2c.store.db import as_utc, now
from q2c.store.schema import exceptions

OPEN, REPLAYED, RESOLVED, IGNORED = "open", "replayed", "resolved", "ignored"


@dataclass(frozen=True)
class ExceptionRow:
    id: int
    status: str
    violation: Violation
    occurrences: int
    work_kind: str
    aggregate: str
    payload: dict[str, Any]
    correlation_id: str
    work_item_id: int | None
    replayed_as: int | None
    created_at: datetime
    resolved_at: datetime | None


def _row(r: Any) -> ExceptionRow:
    v = Violation(system=r.system, object=r.object, record_id=r.record_id, field=r.field, rule=r.rule,
                  message=r.message, action=r.action, retryable=bool(r.retryable))
    created = as_utc(r.created_at)
    assert created is not None
    return ExceptionRow(int(r.id), r.status, v, int(r.occurrences), r.work_kind, r.aggregate, r.payload,
                        r.correlation_id, r.work_item_id, r.replayed_as, created, as_utc(r.resolved_at))


def raise_exception(conn: Connection, violation: Violation, *, work_kind: str, aggregate: str,
                    payload: dict[str, Any], correlation_id: str, work_item_id: int | None = None) -> int:
    existing = conn.execute(sa.select(exceptions.c.id).where(
        exceptions.c.status == OPEN, exceptions.c.system == violation.system,
        exceptions.c.object == violation.object, exceptions.c.record_id == violation.record_id,
        exceptions.c.rule == violation.rule)).scalar()
    if existing is not None:
        conn.execute(exceptions.update().where(exceptions.c.id == existing).values(
            occurrences=exceptions.c.occurrences + 1, message=violation.message, action=violation.action,
            field=violation.field, payload=payload, work_item_id=work_item_id, correlation_id=correlation_id))
        return int(existing)
    row = conn.execute(exceptions.insert().values(
        status=OPEN, system=violation.system, object=violation.object, record_id=violation.record_id,
        field=violation.field, rule=violation.rule, message=violation.message, action=violation.action,
        retryable=violation.retryable, work_kind=work_kind, aggregate=aggregate, payload=payload,
        correlation_id=correlation_id, work_item_id=work_item_id, created_at=now(),
    ).returning(exceptions.c.id)).one()
    return int(row.id)


def rule_filter(rule: str) -> Any:
    """A rule name, where `*` (and only `*`) stands for any run of characters: `%` and `_` are literal."""
    escaped = rule.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")
    return exceptions.c.rule.like(escaped, escape="\\")


def get(conn: Connection, exception_id: int) -> ExceptionRow | None:
    r = conn.execute(sa.select(exceptions).where(exceptions.c.id == exception_id)).first()
    return None if r is None else _row(r)


def search(conn: Connection, *, status: str | None = OPEN, rule: str | None = None, system: str | None = None,
           record_id: str | None = None, since: datetime | None = None, until: datetime | None = None,
           ids: Sequence[int] | None = None, limit: int = 1000) -> list[ExceptionRow]:
    q = sa.select(exceptions)
    if status:
        q = q.where(exceptions.c.status == status)
    if rule:
        q = q.where(rule_filter(rule))
    if system:
        q = q.where(exceptions.c.system == system)
    if record_id:
        q = q.where(exceptions.c.record_id == record_id)
    if since:
        q = q.where(exceptions.c.created_at >= since)
    if until:
        q = q.where(exceptions.c.created_at < until)
    if ids is not None:  # an empty list means none, not all
        q = q.where(exceptions.c.id.in_(list(ids)))
    return [_row(r) for r in conn.execute(q.order_by(exceptions.c.id).limit(limit))]


def mark(conn: Connection, exception_id: int, *, status: str, replayed_as: int | None = None) -> None:
    conn.execute(exceptions.update().where(exceptions.c.id == exception_id).values(
        status=status, replayed_as=replayed_as, resolved_at=now()))


def resolve_open_for(conn: Connection, *, system: str, object: str, record_id: str) -> int:
    """A record that now syncs cleanly closes its open exceptions."""
    result = conn.execute(exceptions.update().where(
        exceptions.c.status == OPEN, exceptions.c.system == system, exceptions.c.object == object,
        exceptions.c.record_id == record_id).values(status=RESOLVED, resolved_at=now()))
    return int(result.rowcount)


def resolve_open_for_records(conn: Connection, *, system: str, object: str, record_ids: Sequence[str]) -> int:
    """Many records that now sync cleanly close their open exceptions: one statement per 900 ids."""
    closed = 0
    ids = list(record_ids)
    for start in range(0, len(ids), 900):
        result = conn.execute(exceptions.update().where(
            exceptions.c.status == OPEN, exceptions.c.system == system, exceptions.c.object == object,
            exceptions.c.record_id.in_(ids[start:start + 900])).values(status=RESOLVED, resolved_at=now()))
        closed += int(result.rowcount)
    return closed


def resolve_open_for_aggregate(conn: Connection, *, work_kind: str, aggregate: str) -> int:
    """Work on an aggregate that now succeeds closes the exceptions its earlier attempts raised."""
    result = conn.execute(exceptions.update().where(
        exceptions.c.status == OPEN, exceptions.c.work_kind == work_kind, exceptions.c.aggregate == aggregate)
        .values(status=RESOLVED, resolved_at=now()))
    return int(result.rowcount)


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(sa.select(exceptions.c.status, sa.func.count()).group_by(exceptions.c.status)).all()
    return {str(s): int(n) for s, n in rows}
