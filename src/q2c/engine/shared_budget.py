"""The lease book in PostgreSQL: one vendor budget for every q2c process on the hub's database.

NetSuite limits concurrent requests per account, across every integration and every process
(Oracle NetSuite Help, "Web Services and RESTlet Concurrency Governance" and "Concurrency
Governance and Session Management"); Harvest limits requests per 15 seconds (Harvest API v2
overview, help.getharvest.com/api-v2/introduction/overview/general/, "Rate Limiting"). Limits kept
in each process's memory let three `q2c worker` processes offer three times the limit, so here the
slots are rows (`store/rate_leases.py`), claimed with `FOR UPDATE SKIP LOCKED`.

Why lease rows and not one PostgreSQL advisory lock per in-flight request: a lock dies with its
session, which is what crash safety wants, but it ties every in-flight slot to a connection held for
the whole request (a NetSuite RESTlet call can take minutes), so the pool would grow with the
vendor's limit, and a window's spent requests must outlive their request, which a lock cannot.
So a row needs a connection only to claim and to release, and crash safety comes two ways:
- each process holds one advisory lock while it lives (`engine/presence.py`) and its rows name it:
  when the process is killed its session ends, and the next process short of a slot frees the dead
  one's rows at once (`rate_leases.reap`, at most every `reap_seconds` per budget);
- every row also carries an expiry (`hold_seconds`, 10 s, plus the window for a window's request,
  which the vendor counts that long), renewed every third of it while the request runs: the
  backstop if the presence cannot tell (a presence connection that broke).
A process stalled for longer than the expiry may find its slot taken; the vendor then refuses one
request, which is retried like any throttle.

Waiting polls the rows (one thread per limiter per process, with backoff: see `engine/budget.py`)
rather than LISTEN/NOTIFY: notification would wake waiters a few milliseconds sooner after a
release in another process, at the price of one more held connection per process and a listener
thread; requests to NetSuite and Harvest take tens of milliseconds at least, so a poll capped at
50 ms costs little, and a pause or a window's cool-down is waited out exactly, without polling.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from q2c.engine.budget import BookUnavailable, Busy, Lease
from q2c.engine.presence import Presence
from q2c.store import rate_leases

log = logging.getLogger("q2c.budget")
_T = TypeVar("_T")


def _unavailable(doing: str, exc: SQLAlchemyError) -> BookUnavailable:
    first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return BookUnavailable(f"could not {doing}: {type(exc).__name__}: {first}")


class DatabaseLeases:
    """A `LeaseBook` kept in the hub's PostgreSQL database; thread-safe, one per process is enough."""

    shared = True

    def __init__(self, engine: Engine, *, hold_seconds: float = 10.0, reap_seconds: float = 0.5) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError(f"shared rate budgets need PostgreSQL, not {engine.dialect.name}: with one "
                             "process on SQLite the limits are kept in memory")
        # A pool of its own: autocommit, no ping per checkout, so a claim or a release is one round trip,
        # and the lease traffic never waits behind the hub's transactions.
        self._engine = sa.create_engine(engine.url, isolation_level="AUTOCOMMIT", pool_size=2, max_overflow=8,
                                        pool_reset_on_return=None)
        self.hold_seconds = hold_seconds
        self.reap_seconds = reap_seconds
        self.presence = Presence(self._engine)
        self._name = f"{socket.gethostname()[:60]}:{uuid.uuid4().hex[:8]}"
        self._serial = itertools.count(1)
        self._lock = threading.Lock()
        self._held: dict[str, float] = {}  # holder -> the lease's hold, renewed while held
        self._ensured: set[tuple[str, int]] = set()
        self._reaped_at: dict[str, float] = {}
        self._paused_until: dict[str, float] = {}  # what this process knows, on its monotonic clock
        self._keeper: threading.Thread | None = None
        self.lost = 0  # leases that expired or were reaped before their request ended

    # --- LeaseBook ----------------------------------------------------------------------------------
    def claim(self, budget: str, slots: int, *, pause: str, spend_seconds: float = 0.0) -> Lease | Busy:
        left = self._known_pause(pause)
        if left > 0:
            return Busy(left, exact=True)
        holder = f"{self._name}:{os.getpid()}:{next(self._serial)}"
        hold = self.hold_seconds + spend_seconds

        def take(conn: Connection) -> int | rate_leases.Standing:
            presence = self._presence()
            if (budget, slots) not in self._ensured:
                rate_leases.ensure_slots(conn, budget, slots)
                self._ensured.add((budget, slots))
            slot = rate_leases.claim(conn, budget, slots=slots, holder=holder, hold_seconds=hold, pause=pause,
                                     presence=presence)
            if slot is None and self._reap_due(budget) and rate_leases.reap(conn, budget,
                                                                             cooldown_seconds=spend_seconds):
                slot = rate_leases.claim(conn, budget, slots=slots, holder=holder, hold_seconds=hold, pause=pause,
                                         presence=presence)
            if slot is not None:
                self._hold(holder, hold)
                return slot
            return rate_leases.standing(conn, budget, slots=slots, pause=pause)

        got = self._run(f"claim a slot of {budget}", take)
        if isinstance(got, int):
            return Lease(budget, got, holder)
        if got.paused_for > 0:
            self._learn_pause(pause, got.paused_for)
            return Busy(got.paused_for, exact=True)
        if got.cooling_for is not None and not got.held:
            return Busy(got.cooling_for, exact=True)
        # a held slot may come back at any moment; a free one was being claimed by someone else
        return Busy(got.cooling_for if got.cooling_for is not None else self.hold_seconds, exact=False)

    def release(self, lease: Lease, *, cooldown_seconds: float) -> None:
        with self._lock:
            self._held.pop(lease.holder, None)
        try:
            released = self._run(f"release a slot of {lease.budget}", lambda conn: rate_leases.release(
                conn, lease.budget, lease.slot, holder=lease.holder, cooldown_seconds=cooldown_seconds))
        except BookUnavailable:
            log.warning("could not release slot %s of %s; it comes free when its lease expires",
                        lease.slot, lease.budget, exc_info=True)
            return
        if not released:
            self._lost(1)

    def pause(self, budget: str, seconds: float) -> None:
        self._learn_pause(budget, seconds)
        try:
            self._run(f"pause {budget}", lambda conn: rate_leases.pause(conn, budget, seconds))
        except BookUnavailable:
            log.warning("could not share the pause of %s; this process waits on its own", budget, exc_info=True)

    def pause_left(self, budget: str) -> float:
        left = self._known_pause(budget)
        if left > 0:
            return left
        left = self._run(f"read the pause of {budget}", lambda conn: rate_leases.pause_left(conn, budget))
        self._learn_pause(budget, left)
        return left

    def close(self) -> None:
        """Give up this process's presence (its leases, if any, are freed by the next claimer)."""
        self.presence.close()
        self._engine.dispose()

    # --- inside -------------------------------------------------------------------------------------
    def _run(self, doing: str, work: Callable[[Connection], _T]) -> _T:
        """One short statement or two, committed at once (nothing is held while a request runs); a
        connection the server dropped (a restart) is replaced once before the database counts as down."""
        for attempt in (0, 1):
            try:
                with self._engine.connect() as conn:
                    return work(conn)
            except DBAPIError as exc:
                if attempt == 0 and exc.connection_invalidated:
                    continue
                raise _unavailable(doing, exc) from exc
            except SQLAlchemyError as exc:
                raise _unavailable(doing, exc) from exc
        raise AssertionError("unreachable")

    def _presence(self) -> int:
        key = self.presence.key()
        self._keep()
        return key

    def _reap_due(self, budget: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._reaped_at.get(budget, -self.reap_seconds) < self.reap_seconds:
                return False
            self._reaped_at[budget] = now
            return True

    def _known_pause(self, budget: str) -> float:
        with self._lock:
            return max(self._paused_until.get(budget, 0.0) - time.monotonic(), 0.0)

    def _learn_pause(self, budget: str, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                until = time.monotonic() + seconds
                self._paused_until[budget] = max(self._paused_until.get(budget, 0.0), until)

    def _lost(self, n: int) -> None:
        with self._lock:
            self.lost += n
        log.warning("%d rate lease(s) were taken over before their request ended: the vendor may have seen "
                    "more than the limit (a stall longer than %.0f s, or a broken presence connection?)",
                    n, self.hold_seconds)

    def _hold(self, holder: str, hold: float) -> None:
        with self._lock:
            self._held[holder] = hold

    def _keep(self) -> None:
        """Start the keeper: it renews held leases and checks the presence, for as long as this book lives."""
        with self._lock:
            if self._keeper is None:
                self._keeper = threading.Thread(target=_keep_alive, args=(weakref.ref(self), self.presence,
                                                                          self.hold_seconds / 3),
                                                name="q2c-rate-leases", daemon=True)
                self._keeper.start()

    def _renew(self) -> None:
        """The keeper's round: check the presence, renew the leases held (naming a new presence on them if
        the old one was lost)."""
        with self._lock:
            held = dict(self._held)
        lost = not self.presence.check()
        if not held:
            return  # an idle process takes a new presence at its next claim
        presence: int | None = None
        if lost:
            try:
                presence = self.presence.key()
            except SQLAlchemyError:
                log.warning("lost the presence lock and cannot take a new one; %d lease(s) now rest on their "
                            "expiry", len(held), exc_info=True)
        by_hold: dict[float, list[str]] = {}
        for holder, hold in held.items():
            by_hold.setdefault(hold, []).append(holder)
        try:
            renewed = self._run("renew rate leases", lambda conn: sum(
                rate_leases.renew(conn, holders, hold_seconds=hold, presence=presence)
                for hold, holders in by_hold.items()))
        except BookUnavailable:
            log.warning("could not renew %d rate lease(s)", len(held), exc_info=True)
            return
        with self._lock:
            missing = len([h for h in held if h in self._held]) - renewed
        if missing > 0:
            self._lost(missing)


def _keep_alive(book_ref: weakref.ref[DatabaseLeases], presence: Presence, every: float) -> None:
    """The keeper's loop. It holds the book only weakly, so a hub that is dropped takes its book, and
    the presence (which the keeper closes then) with it."""
    while True:
        time.sleep(every)
        book = book_ref()
        if book is None:
            presence.close()
            return
        try:
            book._renew()
        except Exception:  # the keeper must outlive a database hiccup
            log.warning("rate lease keeper failed; trying again", exc_info=True)
        del book
