"""Per-endpoint protection: retry with exponential backoff and full jitter, a circuit breaker,
and a rate limiter that keeps to a vendor's documented limits and obeys its slow-down signals.

One `EndpointGuard` per (system, endpoint) in a process. Thread-safe: connectors call it from
worker threads when they keep several requests in flight.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from q2c.engine.errors import CircuitOpen


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
    """Opens after `threshold` consecutive failures; lets one probe through after `reset_seconds`."""

    threshold: int = 5
    reset_seconds: float = 5.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

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

    def success(self) -> None:
        with self._lock:
            self.failures = 0
            self.opened_at = None

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            if self.failures >= self.threshold:
                self.opened_at = self.clock()


@dataclass
class RateLimit:
    """A vendor's documented limit: `requests` per `window_seconds`, and/or `concurrency` in flight."""

    requests: int | None = None
    window_seconds: float = 1.0
    concurrency: int | None = None


class RateLimiter:
    """Sliding-window request budget + concurrency slots + a pause set by Retry-After."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self._paused_until = 0.0
        self._slots = threading.BoundedSemaphore(limit.concurrency) if limit.concurrency else None
        self.waited_seconds = 0.0

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                wait = self._paused_until - now
                if wait <= 0 and self.limit.requests:
                    while self._sent and now - self._sent[0] >= self.limit.window_seconds:
                        self._sent.popleft()
                    if len(self._sent) >= self.limit.requests:
                        wait = self.limit.window_seconds - (now - self._sent[0])
                if wait <= 0:
                    if self.limit.requests:
                        self._sent.append(now)
                    break
            self.waited_seconds += wait
            self._sleep(wait)
        if self._slots is not None:
            self._slots.acquire()

    def release(self) -> None:
        if self._slots is not None:
            self._slots.release()

    def pause(self, seconds: float) -> None:
        """The vendor asked us to wait (Retry-After): nobody sends on this endpoint until then."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + max(seconds, 0.0))


@dataclass
class GuardStats:
    requests: int = 0
    rate_limited: int = 0
    transient_failures: int = 0
    retries: int = 0


class EndpointGuard:
    """Everything that stands between a connector and one vendor endpoint."""

    def __init__(self, system: str, endpoint: str, *, limit: RateLimit | None = None,
                 retry: RetryPolicy | None = None, breaker: CircuitBreaker | None = None) -> None:
        self.system = system
        self.endpoint = endpoint
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker()
        self.limiter = RateLimiter(limit or RateLimit())
        self.stats = GuardStats()
        self._stats_lock = threading.Lock()

    def count(self, name: str) -> None:
        with self._stats_lock:
            setattr(self.stats, name, getattr(self.stats, name) + 1)


class GuardRegistry:
    """One guard per (system, endpoint) for the whole process, so every caller shares the budget."""

    def __init__(self) -> None:
        self._guards: dict[tuple[str, str], EndpointGuard] = {}
        self._lock = threading.Lock()

    def get(self, system: str, endpoint: str, *, limit: RateLimit | None = None,
            retry: RetryPolicy | None = None, breaker: CircuitBreaker | None = None) -> EndpointGuard:
        with self._lock:
            key = (system, endpoint)
            if key not in self._guards:
                self._guards[key] = EndpointGuard(system, endpoint, limit=limit, retry=retry, breaker=breaker)
            return self._guards[key]

    def all(self) -> list[EndpointGuard]:
        with self._lock:
            return list(self._guards.values())
