"""Reads over what the hub itself recorded (inbox, queue, exceptions, audit trail), for the figures of a run,
the end of an outage and the KPIs. Nothing here writes.

A run's work is told apart from everything else that happens meanwhile by correlation id: each work item
carries one (the inbox event's for a won deal, a fresh one per time batch or per contract of a close), the
exceptions and audit entries its handler writes carry the same, and a replay keeps it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from q2c.store.db import as_utc
from q2c.store.queue import PENDING, RUNNING
from q2c.store.schema import audit_log, events, exceptions, work_items

WARNING = "warning"  # a warning row of the exception table (a field shortened) is not an exception

T = TypeVar("T")


def _chunks(values: Sequence[T], size: int = 900) -> Iterator[list[T]]:
    """Bound each IN list (SQLite allows 999 parameters a statement on older builds)."""
    for start in range(0, len(values), size):
        yield list(values[start:start + size])


def _utc(value: Any) -> datetime:
    stamp = as_utc(value)
    assert stamp is not None  # every time read here is a NOT NULL column
    return stamp


@dataclass(frozen=True)
class Mark:
    """How far the queue, the exception table and the audit trail had got at an instant (a run's start): what
    is written after it has a higher id, so a run's reads walk the primary keys, not whole tables."""

    work_item: int
    exception: int
    audit_seq: int


def mark(conn: Connection) -> Mark:
    def highest(column: Any) -> int:
        return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(column), 0))).scalar_one())

    return Mark(highest(work_items.c.id), highest(exceptions.c.id), highest(audit_log.c.seq))


def run_correlations(conn: Connection, *, kinds: Sequence[str], after: Mark, until: datetime) -> set[str]:
    """The correlation ids of the work of these kinds queued after `after` and by `until`: a run's own work."""
    rows = conn.execute(sa.select(work_items.c.correlation_id).where(
        work_items.c.id > after.work_item, work_items.c.kind.in_(list(kinds)), work_items.c.created_at <= until))
    return {str(c) for c in rows.scalars()}


def exceptions_opened(conn: Connection, *, after: Mark, until: datetime,
                      work_kinds: Sequence[str] | None) -> dict[str, int]:
    """Exceptions opened after `after` and by `until`, counted by rule.

    With `work_kinds`, only a run's own: those of the work of these kinds queued in that time (by its
    correlation id), and those raised then of these kinds without any work item (a poll's own, such as an
    unreadable time entry). An exception of older work that happens to fail meanwhile is not the run's.
    Without `work_kinds`, every exception opened in that time."""
    opened = conn.execute(sa.select(exceptions.c.rule, exceptions.c.correlation_id, exceptions.c.work_kind).where(
        exceptions.c.id > after.exception, exceptions.c.created_at <= until, exceptions.c.status != WARNING)).all()
    if work_kinds is not None and opened:
        kinds = set(work_kinds)
        work: dict[str, list[tuple[str, int, datetime]]] = {}
        for chunk in _chunks(sorted({str(r.correlation_id) for r in opened})):
            for w in conn.execute(sa.select(work_items.c.correlation_id, work_items.c.kind, work_items.c.id,
                                            work_items.c.created_at).where(work_items.c.correlation_id.in_(chunk))):
                work.setdefault(str(w.correlation_id), []).append((str(w.kind), int(w.id), _utc(w.created_at)))
        end = _utc(until)

        def the_runs(r: Any) -> bool:
            items = work.get(str(r.correlation_id))
            if not items:
                return str(r.work_kind) in kinds
            return any(kind in kinds and item_id > after.work_item and at <= end for kind, item_id, at in items)

        opened = [r for r in opened if the_runs(r)]
    counts: dict[str, int] = {}
    for r in opened:
        counts[str(r.rule)] = counts.get(str(r.rule), 0) + 1
    return dict(sorted(counts.items()))


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    record_id: str
    correlation_id: str
    after: dict[str, Any] | None


def audit_entries(conn: Connection, *, action: str, after: Mark | None = None, until: datetime | None = None,
                  correlation_ids: set[str] | None = None) -> list[AuditRow]:
    """Audit entries of one action, oldest first: written after `after` and by `until`; `correlation_ids`
    keeps those of a run's work."""
    query = sa.select(audit_log.c.at, audit_log.c.record_id, audit_log.c.correlation_id, audit_log.c.after).where(
        audit_log.c.action == action)
    if after is not None:
        query = query.where(audit_log.c.seq > after.audit_seq)
    if until is not None:
        query = query.where(audit_log.c.at <= until)
    found = [AuditRow(_utc(r.at), str(r.record_id), str(r.correlation_id), r.after)
             for r in conn.execute(query.order_by(audit_log.c.seq))]
    if correlation_ids is not None:
        found = [r for r in found if r.correlation_id in correlation_ids]
    return found


def first_audit_at(conn: Connection, *, action: str) -> dict[str, datetime]:
    """When each record first had an audit entry of this action (an invoice written, say)."""
    rows = conn.execute(sa.select(audit_log.c.record_id, sa.func.min(audit_log.c.at))
                        .where(audit_log.c.action == action).group_by(audit_log.c.record_id))
    return {str(record_id): _utc(at) for record_id, at in rows}


@dataclass(frozen=True)
class Completion:
    """An inbound event and the first audit entry of the work it started that says the work was done."""

    record_id: str
    received_at: datetime
    done_at: datetime


def completions(conn: Connection, *, event_type: str, action: str, since: datetime | None = None) -> list[Completion]:
    """Per correlation id: when the inbox received the event of `event_type`, and the first audit entry of
    `action` with the same correlation id (the work the event started, finished); `since` bounds the latter."""
    done = sa.select(audit_log.c.correlation_id, audit_log.c.record_id,
                     sa.func.min(audit_log.c.at).label("done_at")).where(audit_log.c.action == action) \
        .group_by(audit_log.c.correlation_id, audit_log.c.record_id).subquery()
    query = sa.select(done.c.record_id, done.c.done_at, events.c.received_at).select_from(
        done.join(events, events.c.correlation_id == done.c.correlation_id)).where(events.c.event_type == event_type)
    if since is not None:
        query = query.where(done.c.done_at >= since)
    return sorted((Completion(str(r.record_id), _utc(r.received_at), _utc(r.done_at)) for r in conn.execute(query)),
                  key=lambda c: (c.done_at, c.record_id))


@dataclass(frozen=True)
class WorkRow:
    id: int
    kind: str
    aggregate: str
    status: str
    correlation_id: str
    replay_of: int | None
    created_at: datetime
    payload: dict[str, Any]


def work_of(conn: Connection, *, kind: str, aggregates: Sequence[str] | None = None,
            since: datetime | None = None) -> list[WorkRow]:
    """Work items of one kind, oldest first: of these aggregates (a project's time batches), or queued since."""
    base = sa.select(work_items).where(work_items.c.kind == kind)
    if since is not None:
        base = base.where(work_items.c.created_at >= since)
    queries = [base] if aggregates is None else [base.where(work_items.c.aggregate.in_(chunk))
                                                  for chunk in _chunks(sorted(set(aggregates)))]
    found = [WorkRow(int(r.id), str(r.kind), str(r.aggregate), str(r.status), str(r.correlation_id),
                     None if r.replay_of is None else int(r.replay_of), _utc(r.created_at), dict(r.payload))
             for q in queries for r in conn.execute(q)]
    return sorted(found, key=lambda w: w.id)


@dataclass(frozen=True)
class ExceptionLink:
    id: int
    work_item_id: int | None
    correlation_id: str


def exceptions_of_work(conn: Connection, *, work_item_ids: Sequence[int],
                       correlation_ids: Sequence[str]) -> list[ExceptionLink]:
    """Exceptions (not warnings) that name one of these work items, or carry one of these correlation ids."""
    found: dict[int, ExceptionLink] = {}
    columns = (exceptions.c.id, exceptions.c.work_item_id, exceptions.c.correlation_id)
    for column, values in ((exceptions.c.work_item_id, sorted(set(work_item_ids))),
                           (exceptions.c.correlation_id, sorted(set(correlation_ids)))):
        for chunk in _chunks(list(values)):
            for r in conn.execute(sa.select(*columns).where(column.in_(chunk), exceptions.c.status != WARNING)):
                found[int(r.id)] = ExceptionLink(int(r.id), None if r.work_item_id is None else int(r.work_item_id),
                                                 str(r.correlation_id))
    return [found[i] for i in sorted(found)]


def waiting_on(conn: Connection, system: str) -> int:
    """Unfinished work items whose last attempt failed on `system` (a connector's error names its system
    first): the work an outage of that system left in the queue."""
    query = sa.select(sa.func.count()).select_from(work_items).where(
        work_items.c.status.in_([PENDING, RUNNING]),
        work_items.c.last_error.startswith(f"{system}: ", autoescape=True))
    return int(conn.execute(query).scalar_one())
