"""Per-endpoint protection: retry with exponential backoff and full jitter, a circuit breaker,
and a rate limiter that keeps to a vendor's documented limits and obeys its slow-down signals.

One `EndpointGuard` per (system, endpoint) in a process. Thread-safe: connectors call it from
worker threads when they keep several requests in flight. The limiter's budget is the process's
own (`MemoryLeases`) unless the registry is told to share it (`GuardRegistry.share`): on
PostgreSQL the wiring keys each system's budget by its vendor account and keeps it in the
database, so every q2c process spends one budget (`engine/budget.py`, `engine/shared_budget.py`).

Whoever must know when a vendor goes down and comes back (the outage record) registers a listener with
`GuardRegistry.watch_circuits`: it is told when an endpoint's circuit opens and when it closes again. The
engine keeps nothing of it; the listener decides what to remember. Whoever measures the vendors' answers
(the metrics) registers with `GuardRegistry.watch_requests` in the same way: it is told each request's
status and how long it took.

The workers read the circuits too, without a listener of their own: which systems are down
(`GuardRegistry.down_systems`), how often each came back (`GuardRegistry.closings`), and when a cooled-down
circuit wants its probe (`GuardRegistry.probes_due`), so work waiting on a system is tried once at the probe
and all at once when the system answers again (`engine/worker.py`).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

from q2c.engine.budget import LeaseBook, MemoryLeases, RateLimit, RateLimiter
from q2c.engine.errors import CircuitOpen

__all__ = ["CIRCUIT_CLOSED", "CIRCUIT_OPEN", "CircuitBreaker", "CircuitListener", "EndpointGuard", "Exchange",
           "GuardRegistry", "GuardStats", "RateLimit", "RateLimiter", "RequestListener", "RetryPolicy", "budget_name"]

log = logging.getLogger("q2c.resilience")

CIRCUIT_OPEN, CIRCUIT_CLOSED = "open", "closed"
# told (system, endpoint, CIRCUIT_OPEN or CIRCUIT_CLOSED) when a circuit opens, and when it closes after being open
CircuitListener = Callable[[str, str, str], None]


@dataclass(frozen=True)
class Exchange:
    """One request to a vendor endpoint: the HTTP status it was answered with (None: no answer came, the
    connection failed or timed out) and the seconds from sending it to that answer or failure."""

    system: str
    endpoint: str
    status: int | None
    seconds: float


RequestListener = Callable[[Exchange], None]  # told each request a guarded endpoint made


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter (delay drawn from [0, min(cap, base * 2**attempt)])."""

    max_attempts: int = 6
    base_seconds: float = 0.1
    cap_seconds: float = 10.0

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        return float(rng()) * min(self.cap_seconds, self.base_seconds * (2.0**attempt))


@dataclass
class CircuitBreaker:
    """Opens after `threshold` consecutive failures; lets one probe through after `reset_seconds`.

    `probe_due` tells whoever holds work back while the circuit is open (the workers) when to send
    something for that probe, once per cool-down, so the probe does not wait for a work item's own backoff."""

    threshold: int = 5
    reset_seconds: float = 5.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    # told CIRCUIT_OPEN when the circuit opens and CIRCUIT_CLOSED when it closes again, outside the lock
    on_change: Callable[[str], None] | None = field(default=None, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _probe_offered_at: float | None = field(default=None, repr=False, compare=False)

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half_open" if self.clock() - self.opened_at >= self.reset_seconds else "open"

    def check(self, system: str, endpoint: str) -> None:
        with self._lock:
            if self.opened_at is None:
                return
            remaining = self.reset_seconds - (self.clock() - self.opened_at)
            if remaining > 0:
                raise CircuitOpen(system, f"circuit open on {endpoint} after {self.failures} failures",
                                  retry_after=remaining)
            # half-open: let this call through as the probe; a failure re-opens at once
            self.opened_at = self.clock()

    @property
    def is_open(self) -> bool:
        """Open or half-open: the endpoint failed `threshold` times in a row and has not answered since."""
        return self.opened_at is not None

    def probe_due(self) -> bool:
        """True when the circuit has cooled down (half-open) and no probe was asked for since it last opened or
        in the last `reset_seconds`: at most once per cool-down, so one caller sends one probe. A probe asked
        for that never reaches the breaker (the work went elsewhere) is asked for again a cool-down later."""
        with self._lock:
            if self.opened_at is None:
                return False
            at = self.clock()
            if at - self.opened_at < self.reset_seconds:
                return False
            offered = self._probe_offered_at
            if offered is not None and offered >= self.opened_at and at - offered < self.reset_seconds:
                return False
            self._probe_offered_at = at
            return True

    def success(self) -> None:
        with self._lock:
            closing = self.opened_at is not None
            self.failures = 0
            self.opened_at = None
        if closing:
            self._tell(CIRCUIT_CLOSED)

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            opening = self.opened_at is None and self.failures >= self.threshold
            if self.failures >= self.threshold:
                self.opened_at = self.clock()
        if opening:  # a failed probe keeps it open: not a new opening
            self._tell(CIRCUIT_OPEN)

    def _tell(self, state: str) -> None:
        if self.on_change is not None:
            self.on_change(state)


@dataclass
class GuardStats:
    requests: int = 0
    rate_limited: int = 0
    transient_failures: int = 0
    retries: int = 0


class EndpointGuard:
    """Everything that stands between a connector and one vendor endpoint."""

    def __init__(self, system: str, endpoint: str, *, limit: RateLimit | None = None,
                 retry: RetryPolicy | None = None, breaker: CircuitBreaker | None = None,
                 limiter: RateLimiter | None = None) -> None:
        self.system = system
        self.endpoint = endpoint
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker()
        self.limiter = limiter or RateLimiter(limit or RateLimit(), budget=f"{system}:{endpoint}", system=system)
        self.stats = GuardStats()
        self._stats_lock = threading.Lock()
        self.on_exchange: RequestListener | None = None  # set by the registry that made the guard

    def exchanged(self, status: int | None, seconds: float) -> None:
        """A request was answered with `status` (None: no answer) after `seconds`: tell whoever listens."""
        if self.on_exchange is not None:
            self.on_exchange(Exchange(self.system, self.endpoint, status, seconds))

    def count(self, name: str) -> None:
        with self._stats_lock:
            setattr(self.stats, name, getattr(self.stats, name) + 1)


def budget_name(system: str, endpoint: str, account: str | None = None) -> str:
    """What a limit belongs to: the vendor account when known (ids compared case-blind: NetSuite's
    `1234567_SB1` and `1234567_sb1` are one account), so two configs of one account share it."""
    return f"{system}:{account.strip().casefold()}:{endpoint}" if account else f"{system}:{endpoint}"


class GuardRegistry:
    """One guard per (system, endpoint) for the whole process, so every caller shares the budget."""

    def __init__(self) -> None:
        self._guards: dict[tuple[str, str], EndpointGuard] = {}
        self._lock = threading.Lock()
        self._local: LeaseBook = MemoryLeases()
        self._shared: LeaseBook | None = None
        self._accounts: dict[str, str] = {}
        self._listeners: list[CircuitListener] = []
        self._closings: dict[str, int] = {}  # system -> how many times a circuit of it closed again
        self._request_listeners: tuple[RequestListener, ...] = ()  # replaced, never changed: read without the lock

    def watch_circuits(self, listener: CircuitListener) -> None:
        """Tell `listener` whenever a circuit of any endpoint, made so far or later, opens or closes again.
        It is called on the thread that made the request, so it must be quick; what it raises is logged and
        never reaches the request."""
        with self._lock:
            self._listeners.append(listener)

    def _circuit_changed(self, system: str, endpoint: str, state: str) -> None:
        with self._lock:
            listeners = list(self._listeners)
            if state == CIRCUIT_CLOSED:
                self._closings[system] = self._closings.get(system, 0) + 1
        for listener in listeners:
            try:
                listener(system, endpoint, state)
            except Exception:
                log.exception("circuit listener failed on %s %s %s", system, endpoint, state)

    def closings(self) -> dict[str, int]:
        """How many times a circuit of each system closed again (its probe went through) since the process
        started: a reader that remembers the figures knows which systems came back since it last looked."""
        with self._lock:
            return dict(self._closings)

    def down_systems(self) -> set[str]:
        """The systems with an endpoint whose circuit is open or half-open."""
        return {guard.system for guard in self.all() if guard.breaker.is_open}

    def probes_due(self) -> set[str]:
        """The systems with a cooled-down circuit that wants its probe (each told once per cool-down)."""
        return {guard.system for guard in self.all() if guard.breaker.probe_due()}

    def watch_requests(self, listener: RequestListener) -> None:
        """Tell `listener` of every request any endpoint, made so far or later, sends: its status and how long
        it took. Called on the requesting thread for each request, so it must be quick; what it raises is
        logged and never reaches the request."""
        with self._lock:
            self._request_listeners = (*self._request_listeners, listener)

    def _exchanged(self, exchange: Exchange) -> None:
        for listener in self._request_listeners:
            try:
                listener(exchange)
            except Exception:
                log.exception("request listener failed on %s %s", exchange.system, exchange.endpoint)

    def share(self, book: LeaseBook, accounts: Mapping[str, str]) -> None:
        """Keep the limits of the systems in `accounts` (system -> vendor account id) in `book`, which
        other processes share. Systems whose account is not known keep their limits in this process.
        Call it before any request is sent: the guards made so far get limiters in the new book."""
        with self._lock:
            self._shared = book
            self._accounts = {system: account for system, account in accounts.items() if account}
            for guard in self._guards.values():
                guard.limiter = self._limiter(guard.system, guard.endpoint, guard.limiter.limit)

    def _limiter(self, system: str, endpoint: str, limit: RateLimit) -> RateLimiter:
        account = self._accounts.get(system)
        if self._shared is not None and account is not None:
            return RateLimiter(limit, budget=budget_name(system, endpoint, account), book=self._shared, system=system)
        return RateLimiter(limit, budget=budget_name(system, endpoint), book=self._local, system=system)

    def get(self, system: str, endpoint: str, *, limit: RateLimit | None = None,
            retry: RetryPolicy | None = None, breaker: CircuitBreaker | None = None) -> EndpointGuard:
        with self._lock:
            key = (system, endpoint)
            if key not in self._guards:
                guard = EndpointGuard(system, endpoint, retry=retry, breaker=breaker,
                                      limiter=self._limiter(system, endpoint, limit or RateLimit()))
                guard.breaker.on_change = partial(self._circuit_changed, system, endpoint)
                guard.on_exchange = self._exchanged
                self._guards[key] = guard
            return self._guards[key]

    def all(self) -> list[EndpointGuard]:
        with self._lock:
            return list(self._guards.values())
