"""The durable work queue: enqueue, claim with a lease, complete, reschedule, bury.

Claiming takes, per aggregate (a project, a contract), only the oldest unfinished item, so a
later update never overtakes an earlier one. On PostgreSQL the claim uses
`FOR UPDATE SKIP LOCKED`: concurrent workers skip each other's rows instead of waiting.
A worker completes an item only while it still holds the lease (fencing), so a worker that
stalled past its lease cannot overwrite the outcome of the one that took over.

An item whose system is down does not back off on its own: it waits on that system's circuit
(`wait_for_circuit`), marked in `last_error` as `<system>: [waiting for the circuit] ...`, with a fixed
hold as the safety net. One of them is made due for the circuit's probe (`release_probe`), and all of them
as soon as the system answers again (`release_circuit_waits`). The mark is in the row, so a process that
starts later finds the waiting items and can release them; nothing about them lives only in memory.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from q2c.store.db import is_postgres, now
from q2c.store.schema import exceptions, work_items

PENDING, RUNNING, DONE, DEAD = "pending", "running", "done", "dead"
CIRCUIT_WAIT = "[waiting for the circuit]"  # in last_error after "<system>: ": the item waits for its system

# Lanes: lower runs first. Month-end billing and revenue close run ahead of reference data.
PRIORITY_CLOSE = 10
PRIORITY_SETUP = 20
PRIORITY_TIME = 30
PRIORITY_REFERENCE = 80


@dataclass(frozen=True)
class WorkItem:
    id: int
    kind: str
    aggregate: str
    priority: int
    attempts: int
    correlation_id: str
    payload: dict[str, Any]
    replay_of: int | None


def enqueue(conn: Connection, *, kind: str, aggregate: str, payload: dict[str, Any], correlation_id: str,
            priority: int = PRIORITY_TIME, event_id: int | None = None, replay_of: int | None = None,
            available_at: datetime | None = None) -> int:
    at = now()
    row = conn.execute(
        work_items.insert().values(
            kind=kind, aggregate=aggregate, priority=priority, status=PENDING, attempts=0,
            available_at=available_at or at, correlation_id=correlation_id, event_id=event_id,
            replay_of=replay_of, payload=payload, created_at=at,
        ).returning(work_items.c.id)
    ).one()
    return int(row.id)


def claim(conn: Connection, *, worker: str, limit: int = 10, lease_seconds: float = 60.0,
          kinds: list[str] | None = None) -> list[WorkItem]:
    """Lease up to `limit` ready items, oldest-first within priority, at most one per aggregate."""
    at = now()
    w = work_items.alias("w")
    earlier = work_items.alias("earlier")
    blocked = (
        sa.select(sa.literal(1))
        .where(earlier.c.aggregate == w.c.aggregate, earlier.c.id < w.c.id,
               earlier.c.status.in_([PENDING, RUNNING]))
        .exists()
    )
    ready = sa.or_(
        sa.and_(w.c.status == PENDING, w.c.available_at <= at),
        sa.and_(w.c.status == RUNNING, w.c.lease_until < at),
    )
    pick = sa.select(w.c.id).where(ready, ~blocked)
    if kinds:
        pick = pick.where(w.c.kind.in_(kinds))
    pick = pick.order_by(w.c.priority, w.c.id).limit(limit * 4)
    if is_postgres(conn):
        pick = pick.with_for_update(skip_locked=True, of=w)
    candidates = list(conn.execute(pick).scalars())
    if not candidates:
        return []
    # One item per aggregate per claim: two items of one aggregate can both look ready only when
    # the earlier is an expired lease; take the first, leave the other for a later claim.
    rows = conn.execute(
        sa.select(work_items.c.id, work_items.c.aggregate).where(work_items.c.id.in_(candidates))
        .order_by(work_items.c.priority, work_items.c.id)
    ).all()
    seen: set[str] = set()
    chosen: list[int] = []
    for row in rows:
        if row.aggregate not in seen:
            seen.add(row.aggregate)
            chosen.append(int(row.id))
        if len(chosen) >= limit:
            break
    claimed = conn.execute(
        work_items.update()
        .where(work_items.c.id.in_(chosen))
        .values(status=RUNNING, lease_owner=worker, lease_until=at + timedelta(seconds=lease_seconds),
                attempts=work_items.c.attempts + 1)
        .returning(work_items.c.id, work_items.c.kind, work_items.c.aggregate, work_items.c.priority,
                   work_items.c.attempts, work_items.c.correlation_id, work_items.c.payload,
                   work_items.c.replay_of)
    ).all()
    items = [WorkItem(id=int(r.id), kind=r.kind, aggregate=r.aggregate, priority=r.priority,
                      attempts=r.attempts, correlation_id=r.correlation_id, payload=r.payload,
                      replay_of=r.replay_of) for r in claimed]
    return sorted(items, key=lambda i: (i.priority, i.id))


def _fenced(item_id: int, worker: str) -> Any:
    return sa.and_(work_items.c.id == item_id, work_items.c.lease_owner == worker,
                   work_items.c.status == RUNNING)


def complete(conn: Connection, item_id: int, *, worker: str) -> bool:
    result = conn.execute(work_items.update().where(_fenced(item_id, worker))
                          .values(status=DONE, finished_at=now(), lease_until=None, last_error=None))
    return result.rowcount == 1


def reschedule(conn: Connection, item_id: int, *, worker: str, delay_seconds: float, error: str) -> bool:
    result = conn.execute(work_items.update().where(_fenced(item_id, worker)).values(
        status=PENDING, available_at=now() + timedelta(seconds=delay_seconds), lease_owner=None,
        lease_until=None, last_error=error[:4000]))
    return result.rowcount == 1


def _waiting_on(system: str) -> Any:
    return work_items.c.last_error.startswith(f"{system}: {CIRCUIT_WAIT}", autoescape=True)


def wait_for_circuit(conn: Connection, item_id: int, *, worker: str, system: str, hold_seconds: float,
                     error: str) -> bool:
    """Put an item back to wait until `system` answers again, instead of backing off on its own: it is due
    after `hold_seconds` at the latest (the safety net when no one releases it), or as soon as
    `release_circuit_waits` or `release_probe` makes it due. `error` is the failure without its system."""
    result = conn.execute(work_items.update().where(_fenced(item_id, worker)).values(
        status=PENDING, available_at=now() + timedelta(seconds=hold_seconds), lease_owner=None,
        lease_until=None, last_error=f"{system}: {CIRCUIT_WAIT} {error}"[:4000]))
    return result.rowcount == 1


def release_circuit_waits(conn: Connection, system: str | None = None, *, keep: Collection[str] = ()) -> int:
    """Make the items waiting on `system`'s circuit due now (every system's with None, except those in
    `keep`, whose circuits are still open); returns how many. They keep their place: an item behind one of
    them in its aggregate still waits for it."""
    at = now()
    query = work_items.update().where(work_items.c.status == PENDING, work_items.c.available_at > at)
    if system is not None:
        query = query.where(_waiting_on(system))
    else:
        query = query.where(work_items.c.last_error.contains(f": {CIRCUIT_WAIT}", autoescape=True))
    for kept in keep:
        query = query.where(~_waiting_on(kept))
    return int(conn.execute(query.values(available_at=at)).rowcount)


def release_probe(conn: Connection, system: str, *, kinds: list[str] | None = None) -> int | None:
    """Make one item waiting on `system`'s circuit due now, to be the circuit's probe; returns its id, or
    None when none waits or one is already due (it will probe). The least tried goes first, so an item
    that fails for a reason of its own cannot keep its system looking down for the others."""
    at = now()
    waiting = sa.and_(work_items.c.status == PENDING, _waiting_on(system))
    if kinds:
        waiting = sa.and_(waiting, work_items.c.kind.in_(kinds))
    due = conn.execute(sa.select(work_items.c.id).where(waiting, work_items.c.available_at <= at).limit(1)).first()
    if due is not None:
        return None
    pick = (sa.select(work_items.c.id).where(waiting, work_items.c.available_at > at)
            .order_by(work_items.c.attempts, work_items.c.id).limit(1))
    if is_postgres(conn):
        pick = pick.with_for_update(skip_locked=True)
    item_id = conn.execute(pick).scalar()
    if item_id is None:
        return None
    conn.execute(work_items.update().where(work_items.c.id == item_id, work_items.c.status == PENDING)
                 .values(available_at=at))
    return int(item_id)


def circuit_waits(conn: Connection, system: str) -> int:
    """Items waiting on `system`'s circuit (due or not)."""
    query = sa.select(sa.func.count()).select_from(work_items).where(work_items.c.status == PENDING,
                                                                      _waiting_on(system))
    return int(conn.execute(query).scalar_one())


def bury(conn: Connection, item_id: int, *, worker: str, error: str) -> bool:
    """Move an item to dead (its exception row carries the business context)."""
    result = conn.execute(work_items.update().where(_fenced(item_id, worker)).values(
        status=DEAD, finished_at=now(), lease_until=None, last_error=error[:4000]))
    return result.rowcount == 1


def extend_lease(conn: Connection, item_id: int, *, worker: str, lease_seconds: float) -> bool:
    result = conn.execute(work_items.update().where(_fenced(item_id, worker)).values(
        lease_until=now() + timedelta(seconds=lease_seconds)))
    return result.rowcount == 1


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(sa.select(work_items.c.status, sa.func.count()).group_by(work_items.c.status)).all()
    return {str(status): int(n) for status, n in rows}


def unfinished(conn: Connection, *, kinds: list[str] | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(work_items).where(work_items.c.status.in_([PENDING, RUNNING]))
    if kinds is not None:
        query = query.where(work_items.c.kind.in_(kinds))
    return int(conn.execute(query).scalar_one())


def next_available_at(conn: Connection) -> datetime | None:
    value = conn.execute(sa.select(sa.func.min(work_items.c.available_at))
                         .where(work_items.c.status == PENDING)).scalar()
    return value if isinstance(value, datetime) else None


def dead_awaiting_replay(conn: Connection) -> int:
    """Dead work items whose exception is still open: nobody has fixed and replayed them yet.
    Walks the open exceptions (the status index), not the whole history of dead items."""
    query = (sa.select(sa.func.count(sa.distinct(exceptions.c.work_item_id)))
             .select_from(exceptions.join(work_items, work_items.c.id == exceptions.c.work_item_id))
             .where(exceptions.c.status == "open", work_items.c.status == DEAD))
    return int(conn.execute(query).scalar_one())


def overdue_retries(conn: Connection, *, older_than: timedelta) -> int:
    """Retries due longer than `older_than` ago that no worker took: rescheduled items past their time,
    and items whose worker's lease ran out (the worker died) without another taking them over."""
    cutoff = now() - older_than
    waiting = sa.and_(work_items.c.status == PENDING, work_items.c.attempts >= 1,
                      work_items.c.available_at < cutoff)
    abandoned = sa.and_(work_items.c.status == RUNNING, work_items.c.lease_until < cutoff)
    query = sa.select(sa.func.count()).select_from(work_items).where(sa.or_(waiting, abandoned))
    return int(conn.execute(query).scalar_one())


def unfinished_payloads(conn: Connection, *, kind: str, aggregates: Collection[str]) -> list[dict[str, Any]]:
    """The payloads of the unfinished (pending or running) items of `kind` on these aggregates."""
    if not aggregates:
        return []
    rows = conn.execute(sa.select(work_items.c.payload).where(
        work_items.c.kind == kind, work_items.c.status.in_([PENDING, RUNNING]),
        work_items.c.aggregate.in_(list(aggregates)))).scalars()
    return [dict(p) for p in rows]
