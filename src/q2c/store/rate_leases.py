"""Vendor limits kept in PostgreSQL, so every q2c process on the database spends one budget.

A budget is a fixed set of slot rows (`rate_leases`): a NetSuite account's concurrency limit of 5 is
five rows, Harvest's 100 requests per 15 s is a hundred. A process claims a free row with one
`UPDATE ... WHERE slot = (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING slot`, so claimers never wait
on each other's row locks and never take the same row (PostgreSQL documentation, SELECT, "The Locking
Clause": SKIP LOCKED). A claimed row names its holder's presence: a session advisory lock
that the holder's process keeps on a connection of its own while it lives (PostgreSQL documentation,
"Explicit Locking", Advisory Locks: a session-level lock is held until released or the session
ends). A process that is killed loses its session, so `reap` frees its rows at once: the lock can
then be taken (`pg_try_advisory_xact_lock`, which conflicts with a session-level hold of the same
key). The row's expiry, renewed while the request runs, is the backstop. Releasing sets the row free
at once (a concurrency slot) or after a cool-down (a request of a window: the row is spent until the
window has passed since the answer came back).

Every time is the database server's `clock_timestamp()`, so processes on several machines agree on
when a lease expires whatever their own clocks say. These functions are for PostgreSQL only; on
SQLite (one process) the limits are kept in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection

from q2c.store.schema import rate_leases, rate_pauses

# The first key of q2c's presence locks (`pg_advisory_lock(PRESENCE_LOCKS, key)`), apart from other users
# of advisory locks in the same database.
PRESENCE_LOCKS = 0x71326301


@dataclass(frozen=True)
class Standing:
    """Why no slot was free, in seconds from now."""

    paused_for: float  # > 0: the vendor asked every sender to wait this long
    cooling_for: float | None  # the soonest a spent request of a window comes free (exact)
    held: int  # rows held by live leases: one may be released at any moment


def _now() -> Any:
    return sa.func.clock_timestamp()


def _after(seconds: float) -> Any:
    return _now() + sa.func.make_interval(0, 0, 0, 0, 0, 0, sa.literal(float(seconds), sa.Float))


def _seconds_until(moment: Any) -> Any:
    return sa.func.extract("epoch", moment - _now())


def ensure_slots(conn: Connection, budget: str, slots: int) -> None:
    """The budget's rows 0..slots-1 exist (a larger limit configured later adds rows; none is removed)."""
    numbers = sa.select(sa.literal(budget, sa.String), sa.func.generate_series(0, slots - 1))
    conn.execute(pg_insert(rate_leases).from_select(["budget", "slot"], numbers)
                 .on_conflict_do_nothing(index_elements=["budget", "slot"]))


def claim(conn: Connection, budget: str, *, slots: int, holder: str, hold_seconds: float, pause: str,
          presence: int | None = None) -> int | None:
    """Lease one free row among the first `slots` for `hold_seconds`, unless `pause` is in force; its number.
    `presence`: the key of the advisory lock the holder's process holds while it lives."""
    paused = sa.select(sa.literal(1)).where(rate_pauses.c.budget == pause, rate_pauses.c.until > _now()).exists()
    free = (sa.select(rate_leases.c.slot)
            .where(rate_leases.c.budget == budget, rate_leases.c.slot < slots,
                   sa.or_(rate_leases.c.expires_at.is_(None), rate_leases.c.expires_at <= _now()), ~paused)
            .order_by(rate_leases.c.slot).limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery())
    row = conn.execute(rate_leases.update()
                       .where(rate_leases.c.budget == budget, rate_leases.c.slot == free)
                       .values(holder=holder, presence=presence, expires_at=_after(hold_seconds))
                       .returning(rate_leases.c.slot)).first()
    return None if row is None else int(row.slot)


def standing(conn: Connection, budget: str, *, slots: int, pause: str) -> Standing:
    """What keeps the budget busy: a pause, spent requests cooling down, leases held."""
    mine = sa.and_(rate_leases.c.budget == budget, rate_leases.c.slot < slots)
    paused = sa.select(_seconds_until(rate_pauses.c.until)).where(rate_pauses.c.budget == pause).scalar_subquery()
    cooling = (sa.select(_seconds_until(sa.func.min(rate_leases.c.expires_at)))
               .where(mine, rate_leases.c.holder.is_(None), rate_leases.c.expires_at > _now()).scalar_subquery())
    held = (sa.select(sa.func.count()).select_from(rate_leases)
            .where(mine, rate_leases.c.holder.is_not(None), rate_leases.c.expires_at > _now()).scalar_subquery())
    row = conn.execute(sa.select(paused.label("paused"), cooling.label("cooling"), held.label("held"))).one()
    return Standing(paused_for=max(float(row.paused or 0.0), 0.0),
                    cooling_for=None if row.cooling is None else max(float(row.cooling), 0.0),
                    held=int(row.held))


def release(conn: Connection, budget: str, slot: int, *, holder: str, cooldown_seconds: float) -> bool:
    """Give a row back, free now or after `cooldown_seconds`; only its holder can (False: it had expired
    and someone else holds it now)."""
    result = conn.execute(rate_leases.update()
                          .where(rate_leases.c.budget == budget, rate_leases.c.slot == slot,
                                 rate_leases.c.holder == holder)
                          .values(holder=None, presence=None,
                                  expires_at=_after(cooldown_seconds) if cooldown_seconds > 0 else None))
    return result.rowcount == 1


def renew(conn: Connection, holders: Sequence[str], *, hold_seconds: float, presence: int | None = None) -> int:
    """Push out the expiry of the leases these holders still hold (and name a new presence, after the
    process had to take a new one); how many were renewed."""
    if not holders:
        return 0
    values: dict[str, Any] = {"expires_at": _after(hold_seconds)}
    if presence is not None:
        values["presence"] = presence
    result = conn.execute(rate_leases.update().where(rate_leases.c.holder.in_(list(holders))).values(**values))
    return int(result.rowcount)


def reap(conn: Connection, budget: str, *, cooldown_seconds: float) -> int:
    """Free the rows whose holder's process is gone (its presence lock can be taken); how many.

    A window's request of a dead process may have reached the vendor, which counts it for the window:
    such a row cools down for `cooldown_seconds` like a released one."""
    gone = sa.func.pg_try_advisory_xact_lock(PRESENCE_LOCKS, rate_leases.c.presence)
    result = conn.execute(rate_leases.update()
                          .where(rate_leases.c.budget == budget, rate_leases.c.holder.is_not(None),
                                 rate_leases.c.presence.is_not(None), rate_leases.c.expires_at > _now(), gone)
                          .values(holder=None, presence=None,
                                  expires_at=_after(cooldown_seconds) if cooldown_seconds > 0 else None))
    return int(result.rowcount)


def take_presence(conn: Connection, key: int) -> bool:
    """Hold presence lock `key` for as long as this connection's session lives (False: it is taken)."""
    return bool(conn.execute(sa.select(sa.func.pg_try_advisory_lock(PRESENCE_LOCKS, key))).scalar())


def pause(conn: Connection, budget: str, seconds: float) -> None:
    """Nobody claims from `budget` for `seconds` (a pause only ever lengthens)."""
    statement = pg_insert(rate_pauses).values(budget=budget, until=_after(seconds))
    conn.execute(statement.on_conflict_do_update(
        index_elements=["budget"], set_={"until": sa.func.greatest(rate_pauses.c.until, statement.excluded.until)}))


def pause_left(conn: Connection, budget: str) -> float:
    """Seconds until `budget`'s pause ends (0 when there is none)."""
    left = conn.execute(sa.select(_seconds_until(rate_pauses.c.until))
                        .where(rate_pauses.c.budget == budget)).scalar()
    return max(float(left or 0.0), 0.0)


@dataclass(frozen=True)
class Slot:
    slot: int
    holder: str | None
    presence: int | None
    expires_in: float | None  # seconds from now; negative: expired


def slots_of(conn: Connection, budget: str) -> list[Slot]:
    """The budget's rows as they stand (for `q2c doctor`-style inspection and tests)."""
    rows = conn.execute(sa.select(rate_leases.c.slot, rate_leases.c.holder, rate_leases.c.presence,
                                  _seconds_until(rate_leases.c.expires_at).label("left"))
                        .where(rate_leases.c.budget == budget).order_by(rate_leases.c.slot)).all()
    return [Slot(int(r.slot), r.holder, r.presence, None if r.left is None else float(r.left)) for r in rows]
