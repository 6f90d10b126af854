"""A vendor's limits as leases: concurrency slots, the requests of a window, and the pause it asked for.

Both kinds of limit are one idea. A concurrency limit of N is N slots, each held while a request is
in flight. A budget of N requests per W seconds is N slots too, each held while its request is in
flight and then spent for W seconds more: a request may go when fewer than N were answered within
the last W seconds. Counting from the answer rather than from the send keeps under a vendor that
counts arrivals, whatever the network's delay (the vendor saw the request before it answered).

The slots live in a `LeaseBook`: `MemoryLeases` for one process (SQLite, the embedded default), or
the database (`engine/shared_budget.py`, PostgreSQL) for every process of the hub together. The
`RateLimiter` on top is the same either way, and it is what connectors call (`acquire`, `release`,
`pause`) through `connectors/http.py`.

Waiting never spins: a release in this process wakes the waiter at once; a release elsewhere is
seen by polling with a backoff from 2 ms to 50 ms, and only one thread per limiter polls (the others
queue behind it in the process). A wait longer than `max_wait_seconds` is not waited out: the
request fails as `RateLimited`, and the engine reschedules the work durably.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from q2c.engine.errors import RateLimited, TransientError

IN_FLIGHT = "in-flight"
WINDOW = "window"


@dataclass
class RateLimit:
    """A vendor's documented limit: `requests` per `window_seconds`, and/or `concurrency` in flight."""

    requests: int | None = None
    window_seconds: float = 1.0
    concurrency: int | None = None


@dataclass(frozen=True)
class Lease:
    """One slot of a budget, held by one request."""

    budget: str
    slot: int
    holder: str


@dataclass(frozen=True)
class Busy:
    """No slot is free. `wait` is exact (a pause, a spent request cooling down) or, when `exact` is
    False, an upper bound: a held slot may be released sooner, so poll."""

    wait: float
    exact: bool


class BookUnavailable(Exception):
    """The lease book cannot be read or written (the database is unreachable)."""


class LeaseBook(Protocol):
    """Where a budget's slots and pauses are kept."""

    shared: bool  # True: every process using the same book shares the budgets

    def claim(self, budget: str, slots: int, *, pause: str, spend_seconds: float = 0.0) -> Lease | Busy:
        """A free slot, unless `pause` is in force. `spend_seconds`: how long the slot stays spent after its
        release (a window's requests), so a holder that vanishes keeps it at least that long."""
        ...

    def release(self, lease: Lease, *, cooldown_seconds: float) -> None: ...

    def pause(self, budget: str, seconds: float) -> None: ...

    def pause_left(self, budget: str) -> float: ...


@dataclass
class _Slot:
    holder: str | None = None
    free_at: float = 0.0


class MemoryLeases:
    """The budgets of one process. A holder cannot vanish without its `finally`, so leases need no expiry."""

    shared = False

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._slots: dict[str, list[_Slot]] = {}
        self._paused: dict[str, float] = {}
        self._serial = itertools.count(1)

    def claim(self, budget: str, slots: int, *, pause: str, spend_seconds: float = 0.0) -> Lease | Busy:
        with self._lock:
            now = self._clock()
            left = self._paused.get(pause, 0.0) - now
            if left > 0:
                return Busy(left, exact=True)
            rows = self._slots.setdefault(budget, [])
            rows.extend(_Slot() for _ in range(slots - len(rows)))
            held, cooling = False, math.inf
            for n, row in enumerate(rows[:slots]):
                if row.holder is None and row.free_at <= now:
                    row.holder = f"local:{next(self._serial)}"
                    return Lease(budget, n, row.holder)
                if row.holder is not None:
                    held = True
                else:
                    cooling = min(cooling, row.free_at - now)
            return Busy(cooling, exact=not held)

    def release(self, lease: Lease, *, cooldown_seconds: float) -> None:
        with self._lock:
            row = self._slots[lease.budget][lease.slot]
            if row.holder == lease.holder:
                row.holder = None
                row.free_at = self._clock() + max(cooldown_seconds, 0.0)

    def pause(self, budget: str, seconds: float) -> None:
        with self._lock:
            self._paused[budget] = max(self._paused.get(budget, 0.0), self._clock() + max(seconds, 0.0))

    def pause_left(self, budget: str) -> float:
        with self._lock:
            return max(self._paused.get(budget, 0.0) - self._clock(), 0.0)


@dataclass
class _Held:
    leases: list[tuple[Lease, float]] = field(default_factory=list)  # (lease, cool-down on release)


class RateLimiter:
    """Concurrency slots + a request window + the pause set by Retry-After, kept in a `LeaseBook`.

    `budget` names what the limit belongs to ("netsuite:1234567_sb1:account"): limiters with the same
    budget in the same shared book spend one budget, whichever process they are in.
    """

    POLL_FIRST = 0.002
    POLL_MOST = 0.05

    def __init__(self, limit: RateLimit, *, budget: str = "local", book: LeaseBook | None = None,
                 system: str = "vendor", max_wait_seconds: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.budget = budget
        self.book: LeaseBook = book if book is not None else MemoryLeases(clock)
        self.system = system
        self.max_wait_seconds = max_wait_seconds
        self._clock = clock
        self._turns = {IN_FLIGHT: threading.Lock(), WINDOW: threading.Lock()}
        self._freed = threading.Condition()
        self._generation = 0
        self._mine = threading.local()
        self._stats_lock = threading.Lock()
        self.waited_seconds = 0.0

    @property
    def shared(self) -> bool:
        return self.book.shared

    def acquire(self) -> None:
        """Wait for a slot (and a request of the window); raises `RateLimited` rather than wait too long."""
        deadline = self._clock() + self.max_wait_seconds
        held = _Held()
        try:
            if self.limit.concurrency:
                held.leases.append((self._take(IN_FLIGHT, self.limit.concurrency, 0.0, deadline), 0.0))
            if self.limit.requests:
                window = self.limit.window_seconds
                held.leases.append((self._take(WINDOW, self.limit.requests, window, deadline), window))
            if not held.leases:
                self._wait_out_pause(deadline)
        except BaseException:
            self._give_back(held, spent=False)
            raise
        self._stack().append(held)

    def release(self) -> None:
        """The request this thread acquired for is answered (or failed)."""
        stack = self._stack()
        if not stack:
            raise RuntimeError(f"{self.budget}: release() without acquire() in this thread")
        self._give_back(stack.pop(), spent=True)

    def pause(self, seconds: float) -> None:
        """The vendor asked us to wait (Retry-After): nobody sends on this budget until then."""
        try:
            self.book.pause(self.budget, seconds)
        except BookUnavailable as exc:
            raise self._unavailable(exc) from exc

    # --- inside ------------------------------------------------------------------------------------
    def _stack(self) -> list[_Held]:
        stack: list[_Held] | None = getattr(self._mine, "stack", None)
        if stack is None:
            stack = self._mine.stack = []
        return stack

    def _give_back(self, held: _Held, *, spent: bool) -> None:
        for lease, cooldown in held.leases:
            self.book.release(lease, cooldown_seconds=cooldown if spent else 0.0)
        if held.leases:
            with self._freed:
                self._generation += 1
                self._freed.notify_all()

    def _take(self, kind: str, slots: int, spend: float, deadline: float) -> Lease:
        key = f"{self.budget}/{kind}"
        turn = self._turns[kind]
        if not turn.acquire(timeout=max(deadline - self._clock(), 0.0)):
            raise self._too_long(self.max_wait_seconds)
        try:
            poll = self.POLL_FIRST
            while True:
                with self._freed:
                    generation = self._generation
                try:
                    got = self.book.claim(key, slots, pause=self.budget, spend_seconds=spend)
                except BookUnavailable as exc:
                    raise self._unavailable(exc) from exc
                if isinstance(got, Lease):
                    return got
                now = self._clock()
                if got.exact:
                    wait = got.wait + 0.001  # wake just after, not just before
                else:
                    wait = min(got.wait, poll) if got.wait > 0 else poll
                    poll = min(poll * 2, self.POLL_MOST)
                if got.exact and now + got.wait > deadline:
                    raise self._too_long(got.wait)
                if now >= deadline:
                    raise self._too_long(got.wait)
                self._wait(min(wait, deadline - now), generation)
        finally:
            turn.release()

    def _wait(self, seconds: float, generation: int) -> None:
        """Sleep up to `seconds`, waking early when this limiter gives a slot back."""
        begun = time.monotonic()
        with self._freed:
            if self._generation == generation:
                self._freed.wait(seconds)
        with self._stats_lock:
            self.waited_seconds += time.monotonic() - begun

    def _wait_out_pause(self, deadline: float) -> None:
        while True:
            try:
                left = self.book.pause_left(self.budget)
            except BookUnavailable as exc:
                raise self._unavailable(exc) from exc
            if left <= 0:
                return
            if self._clock() + left > deadline:
                raise self._too_long(left)
            with self._freed:
                generation = self._generation
            self._wait(left + 0.001, generation)

    def _too_long(self, wait: float) -> RateLimited:
        if not math.isfinite(wait) or wait <= 0:  # the slots are held, and no one can say for how long
            wait = self.max_wait_seconds
        return RateLimited(self.system, f"{self.budget}: no request may go for {wait:.1f} s (the limit is in use "
                                        f"or the vendor asked to wait); the work is retried later",
                           retry_after=wait)

    def _unavailable(self, exc: BookUnavailable) -> TransientError:
        return TransientError(self.system, f"{self.budget}: the shared rate budget cannot be reached: {exc}")
