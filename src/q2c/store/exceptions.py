"""The exception queue (dead letters) that finance and integration engineers work.

One open row per problem: (system, object, record, field, rule). A repeat of the same problem
bumps `occurrences` instead of flooding the queue. The records a problem holds up are its
*subjects* (every time entry behind one "employee missing in the ERP"), each kept with its own
part of the replay payload: a repeat adds subjects, it never replaces them, so replaying the
exception re-delivers every one of them and none disappears. A subject that later goes through
is resolved on its own; the exception closes when its last subject is resolved.

Warnings (status `warning`) record what went through, but not exactly as given (a field
shortened to fit its target): they need no action and do not hold anything up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from q2c.domain.violations import Violation
from q2c.store.db import as_utc, now
from q2c.store.links import _chunks
from q2c.store.schema import exception_subjects, exceptions, work_items

OPEN, REPLAYED, RESOLVED, IGNORED, WARNING = "open", "replayed", "resolved", "ignored", "warning"
STATUSES = (OPEN, REPLAYED, RESOLVED, IGNORED, WARNING)


@dataclass(frozen=True)
class Subject:
    """A record an exception holds up, with its part of the payload that re-delivers it."""

    entity: str
    record_id: str
    payload: dict[str, Any] | None = None


@dataclass(frozen=True)
class SubjectRow:
    entity: str
    record_id: str
    status: str
    payload: dict[str, Any] | None


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
    subjects: tuple[SubjectRow, ...] = ()

    @property
    def open_subjects(self) -> tuple[SubjectRow, ...]:
        return tuple(s for s in self.subjects if s.status == OPEN)


def _row(r: Any, subjects: Sequence[SubjectRow] = ()) -> ExceptionRow:
    v = Violation(system=r.system, object=r.object, record_id=r.record_id, field=r.field, rule=r.rule,
                  message=r.message, action=r.action, retryable=bool(r.retryable))
    created = as_utc(r.created_at)
    assert created is not None
    return ExceptionRow(int(r.id), r.status, v, int(r.occurrences), r.work_kind, r.aggregate, r.payload,
                        r.correlation_id, r.work_item_id, r.replayed_as, created, as_utc(r.resolved_at),
                        tuple(subjects))


def merge_payloads(base: Mapping[str, Any], parts: Iterable[Mapping[str, Any] | None]) -> dict[str, Any]:
    """One replay payload from the parts of several subjects.

    Lists under the same key are joined, records in them (dicts with an "id") once each with the
    latest version winning; any other value is taken from the last part that has it.
    """
    merged: dict[str, Any] = dict(base)
    for part in parts:
        for key, value in (part or {}).items():
            current = merged.get(key)
            if isinstance(value, list) and isinstance(current, list):
                merged[key] = _join(current, value)
            else:
                merged[key] = value
    return merged


def _join(first: list[Any], second: list[Any]) -> list[Any]:
    out: list[Any] = []
    position: dict[str, int] = {}
    for item in [*first, *second]:
        key = str(item["id"]) if isinstance(item, dict) and "id" in item else None
        if key is not None and key in position:
            out[position[key]] = item
            continue
        if key is not None:
            position[key] = len(out)
        elif item in out:
            continue
        out.append(item)
    return out


def _same_field(field: str | None) -> Any:
    return exceptions.c.field.is_(None) if field is None else exceptions.c.field == field


def raise_exception(conn: Connection, violation: Violation, *, work_kind: str, aggregate: str,
                    payload: dict[str, Any], correlation_id: str, work_item_id: int | None = None,
                    subjects: Sequence[Subject] = (), status: str = OPEN) -> int:
    """Open (or add to) the exception for this problem; returns its id.

    With `subjects`, the stored payload is `payload` merged with every open subject's part, so a
    replay re-delivers all the records the problem holds up, not only the latest one.
    """
    existing = conn.execute(sa.select(exceptions.c.id).where(
        exceptions.c.status == status, exceptions.c.system == violation.system,
        exceptions.c.object == violation.object, exceptions.c.record_id == violation.record_id,
        _same_field(violation.field), exceptions.c.rule == violation.rule)).scalar()
    if existing is not None:
        exception_id = int(existing)
        conn.execute(exceptions.update().where(exceptions.c.id == exception_id).values(
            occurrences=exceptions.c.occurrences + 1, message=violation.message, action=violation.action,
            retryable=violation.retryable, work_item_id=work_item_id, correlation_id=correlation_id,
            work_kind=work_kind, aggregate=aggregate))
    else:
        exception_id = int(conn.execute(exceptions.insert().values(
            status=status, system=violation.system, object=violation.object, record_id=violation.record_id,
            field=violation.field, rule=violation.rule, message=violation.message, action=violation.action,
            retryable=violation.retryable, work_kind=work_kind, aggregate=aggregate, payload=payload,
            correlation_id=correlation_id, work_item_id=work_item_id, created_at=now(),
        ).returning(exceptions.c.id)).one().id)
    if subjects:
        _add_subjects(conn, exception_id, subjects)
        parts = [s.payload for s in subjects_of(conn, [exception_id]).get(exception_id, ()) if s.status == OPEN]
        payload = merge_payloads(payload, parts)
    conn.execute(exceptions.update().where(exceptions.c.id == exception_id).values(payload=payload))
    return exception_id


def _add_subjects(conn: Connection, exception_id: int, subjects: Sequence[Subject]) -> None:
    unique = {(s.entity, s.record_id): s for s in subjects}
    known = {(r.entity, r.record_id) for r in conn.execute(
        sa.select(exception_subjects.c.entity, exception_subjects.c.record_id)
        .where(exception_subjects.c.exception_id == exception_id))}
    stamp = now()
    for key, s in unique.items():
        if key in known:
            conn.execute(exception_subjects.update().where(
                exception_subjects.c.exception_id == exception_id, exception_subjects.c.entity == s.entity,
                exception_subjects.c.record_id == s.record_id).values(status=OPEN, payload=s.payload,
                                                                       resolved_at=None))
    fresh = [{"exception_id": exception_id, "entity": s.entity, "record_id": s.record_id, "status": OPEN,
              "payload": s.payload, "created_at": stamp} for key, s in unique.items() if key not in known]
    if fresh:
        conn.execute(exception_subjects.insert(), fresh)


def subjects_of(conn: Connection, exception_ids: Sequence[int]) -> dict[int, list[SubjectRow]]:
    found: dict[int, list[SubjectRow]] = {}
    for start in range(0, len(exception_ids), 900):
        chunk = list(exception_ids[start:start + 900])
        rows = conn.execute(sa.select(exception_subjects).where(exception_subjects.c.exception_id.in_(chunk))
                            .order_by(exception_subjects.c.exception_id, exception_subjects.c.entity,
                                      exception_subjects.c.record_id))
        for r in rows:
            found.setdefault(int(r.exception_id), []).append(SubjectRow(r.entity, r.record_id, r.status, r.payload))
    return found


def get(conn: Connection, exception_id: int) -> ExceptionRow | None:
    r = conn.execute(sa.select(exceptions).where(exceptions.c.id == exception_id)).first()
    if r is None:
        return None
    return _row(r, subjects_of(conn, [exception_id]).get(exception_id, ()))


def rule_filter(rule: str) -> Any:
    """A rule name, where `*` (and only `*`) stands for any run of characters: `%` and `_` are literal."""
    escaped = rule.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")
    return exceptions.c.rule.like(escaped, escape="\\")


def search(conn: Connection, *, status: str | None = OPEN, rule: str | None = None, system: str | None = None,
           record_id: str | None = None, since: datetime | None = None, until: datetime | None = None,
           ids: Sequence[int] | None = None, subject: tuple[str, str] | None = None,
           limit: int = 1000) -> list[ExceptionRow]:
    """Exceptions matching every filter given; `subject` = (entity, record id) of a record held up."""
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
    if subject is not None:
        q = q.where(exceptions.c.id.in_(sa.select(exception_subjects.c.exception_id).where(
            exception_subjects.c.entity == subject[0], exception_subjects.c.record_id == subject[1])))
    rows = list(conn.execute(q.order_by(exceptions.c.id).limit(limit)))
    subjects = subjects_of(conn, [int(r.id) for r in rows])
    return [_row(r, subjects.get(int(r.id), ())) for r in rows]


def mark(conn: Connection, exception_id: int, *, status: str, replayed_as: int | None = None) -> None:
    """Set an exception's status; its open subjects follow (replayed, resolved or ignored with it)."""
    stamp = now()
    conn.execute(exceptions.update().where(exceptions.c.id == exception_id).values(
        status=status, replayed_as=replayed_as, resolved_at=stamp))
    conn.execute(exception_subjects.update().where(exception_subjects.c.exception_id == exception_id,
                                                   exception_subjects.c.status == OPEN)
                 .values(status=status, resolved_at=stamp))


def resolve_open_for(conn: Connection, *, system: str, object: str, record_id: str) -> int:
    """A record that now syncs cleanly closes its open exceptions."""
    return resolve_open_for_records(conn, system=system, object=object, record_ids=[record_id])


def resolve_open_for_records(conn: Connection, *, system: str, object: str, record_ids: Sequence[str]) -> int:
    """Many records that now sync cleanly close their open exceptions: one statement per 900 ids."""
    closed = 0
    for chunk in _chunks(list(record_ids)):
        ids = [int(i) for i in conn.execute(sa.select(exceptions.c.id).where(
            exceptions.c.status == OPEN, exceptions.c.system == system, exceptions.c.object == object,
            exceptions.c.record_id.in_(chunk))).scalars()]
        for exception_id in ids:
            mark(conn, exception_id, status=RESOLVED)
        closed += len(ids)
    return closed


def resolve_open_for_aggregate(conn: Connection, *, work_kind: str, aggregate: str,
                               except_rules: Sequence[str] = ()) -> int:
    """Work on an aggregate that now succeeds closes the exceptions its earlier attempts raised
    (but those of `except_rules`, which the work itself keeps up to date)."""
    query = sa.select(exceptions.c.id).where(exceptions.c.status == OPEN, exceptions.c.work_kind == work_kind,
                                             exceptions.c.aggregate == aggregate)
    if except_rules:
        query = query.where(exceptions.c.rule.not_in(list(except_rules)))
    ids = [int(i) for i in conn.execute(query).scalars()]
    for exception_id in ids:
        mark(conn, exception_id, status=RESOLVED)
    return len(ids)


def settle_subjects(conn: Connection, *, entity: str, current: Mapping[str, Iterable[int]],
                    rules: Sequence[str] = (), except_rules: Sequence[str] = ()) -> int:
    """After records went through a check: each record keeps open only the exceptions it still breaks.

    `current` maps a record id to the exceptions raised for it just now (empty: it went through, or
    now waits for something that is not a problem). Every other open subject of the record is
    resolved, and an exception left with no open subject is resolved with it. Returns how many
    exceptions closed. With `rules`, only exceptions of those rules are considered; `except_rules` are
    left alone (another workflow keeps them up to date).
    """
    stamp = now()
    touched: set[int] = set()
    record_ids = list(current)
    for chunk in _chunks(record_ids):
        query = sa.select(exception_subjects.c.exception_id, exception_subjects.c.record_id).join(
            exceptions, exceptions.c.id == exception_subjects.c.exception_id).where(
            exception_subjects.c.entity == entity, exception_subjects.c.status == OPEN, exceptions.c.status == OPEN,
            exception_subjects.c.record_id.in_(chunk))
        if rules:
            query = query.where(exceptions.c.rule.in_(list(rules)))
        if except_rules:
            query = query.where(exceptions.c.rule.not_in(list(except_rules)))
        rows = conn.execute(query).all()
        for r in rows:
            if int(r.exception_id) in set(current[r.record_id]):
                continue
            conn.execute(exception_subjects.update().where(
                exception_subjects.c.exception_id == r.exception_id, exception_subjects.c.entity == entity,
                exception_subjects.c.record_id == r.record_id).values(status=RESOLVED, resolved_at=stamp))
            touched.add(int(r.exception_id))
    closed = 0
    for exception_id in sorted(touched):
        left = conn.execute(sa.select(sa.func.count()).select_from(exception_subjects).where(
            exception_subjects.c.exception_id == exception_id, exception_subjects.c.status == OPEN)).scalar_one()
        if not left:
            result = conn.execute(exceptions.update().where(exceptions.c.id == exception_id,
                                                            exceptions.c.status == OPEN)
                                  .values(status=RESOLVED, resolved_at=stamp))
            closed += int(result.rowcount)
        else:
            _refresh_payload(conn, exception_id)
    return closed


def _refresh_payload(conn: Connection, exception_id: int) -> None:
    """Keep an exception's replay payload to its open subjects (a resolved one is not re-delivered)."""
    row = conn.execute(sa.select(exceptions.c.payload).where(exceptions.c.id == exception_id)).first()
    if row is None:
        return
    subjects = subjects_of(conn, [exception_id]).get(exception_id, [])
    base = {k: v for k, v in dict(row.payload).items() if not isinstance(v, list)}
    conn.execute(exceptions.update().where(exceptions.c.id == exception_id).values(
        payload=merge_payloads(base, [s.payload for s in subjects if s.status == OPEN])))


def open_subject_ids(conn: Connection, *, entity: str, record_ids: Sequence[str] | None = None,
                     except_rules: Sequence[str] = (), in_flight: bool = False) -> set[str]:
    """Record ids of this entity that an open exception holds up (not counting exceptions of `except_rules`).

    With `in_flight`, also the records of exceptions replayed into work that has not finished yet: the
    queue holds them until that work raises the exception again or puts them through.
    """
    held = sa.and_(exception_subjects.c.status == OPEN, exceptions.c.status == OPEN)
    if in_flight:
        unfinished = sa.select(work_items.c.id).where(work_items.c.status.in_(["pending", "running"]))
        held = sa.or_(held, sa.and_(exception_subjects.c.status == REPLAYED, exceptions.c.status == REPLAYED,
                                    exceptions.c.replayed_as.in_(unfinished)))
    query = sa.select(exception_subjects.c.record_id).join(
        exceptions, exceptions.c.id == exception_subjects.c.exception_id).where(
        exception_subjects.c.entity == entity, held)
    if except_rules:
        query = query.where(exceptions.c.rule.not_in(list(except_rules)))
    if record_ids is None:
        return {str(r) for r in conn.execute(query).scalars()}
    found: set[str] = set()
    for chunk in _chunks(list(record_ids)):
        found |= {str(r) for r in conn.execute(query.where(exception_subjects.c.record_id.in_(chunk))).scalars()}
    return found


def open_record_ids(conn: Connection, record_ids: Sequence[str], *, except_work_kind: str | None = None) -> set[str]:
    """Which of these records an open exception is about (its own record) or holds up (a subject of it),
    leaving out the exceptions of `except_work_kind`."""
    found: set[str] = set()
    for chunk in _chunks(list(record_ids)):
        query = sa.select(exceptions.c.record_id).where(exceptions.c.status == OPEN, exceptions.c.record_id.in_(chunk))
        if except_work_kind is not None:
            query = query.where(exceptions.c.work_kind != except_work_kind)
        found |= {str(r) for r in conn.execute(query).scalars()}
        found |= {str(r) for r in conn.execute(sa.select(exception_subjects.c.record_id).join(
            exceptions, exceptions.c.id == exception_subjects.c.exception_id).where(
            exceptions.c.status == OPEN, exception_subjects.c.status == OPEN,
            exception_subjects.c.record_id.in_(chunk))).scalars()}
    return found


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(sa.select(exceptions.c.status, sa.func.count()).group_by(exceptions.c.status)).all()
    return {str(s): int(n) for s, n in rows}


@dataclass(frozen=True)
class RuleCount:
    """How many exceptions of one rule are open, and the oldest of them (for an alert's example)."""

    rule: str
    open: int
    first: ExceptionRow


def open_rules(conn: Connection) -> dict[str, RuleCount]:
    """Every rule with open exceptions: its count and its oldest exception (one grouped query, then one read
    per rule)."""
    rows = conn.execute(sa.select(exceptions.c.rule, sa.func.count(), sa.func.min(exceptions.c.id))
                        .where(exceptions.c.status == OPEN).group_by(exceptions.c.rule)).all()
    out: dict[str, RuleCount] = {}
    for rule, n, first_id in rows:
        first = get(conn, int(first_id))
        if first is not None:
            out[str(rule)] = RuleCount(str(rule), int(n), first)
    return out
