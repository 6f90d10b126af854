"""The one HTTP path every connector uses: guard, send, classify, retry in place.

Short trouble (a 429 with Retry-After, a 503, a dropped connection) is absorbed here with
backoff and jitter. When the attempts run out the caller gets a `TransientError`, and the
engine reschedules the work durably. A connector never sees a raw transport exception.

Each request's status and duration are told to the guard (`EndpointGuard.exchanged`), whose registry
passes them on to whoever measures them (the metrics).
"""

from __future__ import annotations

import email.utils
import ssl
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from q2c.engine.errors import RateLimited, TransientError
from q2c.engine.resilience import EndpointGuard

# A vendor-specific check: given a response, return the seconds to wait if it is a throttle signal
# that is not a plain 429 (Salesforce 403 REQUEST_LIMIT_EXCEEDED, NetSuite SSS_REQUEST_LIMIT_EXCEEDED).
ThrottleSignal = Callable[[httpx.Response], float | None]


def parse_retry_after(value: str | None, *, default: float = 1.0) -> float:
    """Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return default
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


class VendorHttp:
    """An httpx client bound to one system, with its guards and its throttle signal."""

    def __init__(self, system: str, base_url: str, *, guard_for: Callable[[str], EndpointGuard],
                 headers: Mapping[str, str] | None = None, timeout: float = 30.0,
                 throttle_signal: ThrottleSignal | None = None,
                 sleep: Callable[[float], None] = time.sleep, max_connections: int = 20,
                 verify: ssl.SSLContext | bool = True) -> None:
        self.system = system
        self.base_url = base_url.rstrip("/")
        self._guard_for = guard_for
        self._throttle_signal = throttle_signal
        self._sleep = sleep
        self.client = httpx.Client(
            base_url=self.base_url, headers=dict(headers or {}), timeout=timeout, verify=verify,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    def close(self) -> None:
        self.client.close()

    def send(self, method: str, url: str, *, endpoint: str, **kwargs: Any) -> httpx.Response:
        """Send with guard and in-place retries; returns any non-throttle, non-5xx response."""
        guard = self._guard_for(endpoint)
        last: TransientError | None = None
        for attempt in range(guard.retry.max_attempts):
            if attempt:
                guard.count("retries")
            guard.breaker.check(self.system, endpoint)
            guard.limiter.acquire()
            sent = time.perf_counter()
            try:
                guard.count("requests")
                response = self.client.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                guard.exchanged(None, time.perf_counter() - sent)
                guard.breaker.failure()
                guard.count("transient_failures")
                last = TransientError(self.system, f"{method} {endpoint}: {type(exc).__name__}: {exc}")
                self._sleep(guard.retry.delay(attempt))
                continue
            finally:
                guard.limiter.release()
            guard.exchanged(response.status_code, time.perf_counter() - sent)
            wait = self._throttle_wait(response)
            if wait is not None:
                guard.count("rate_limited")
                guard.limiter.pause(wait)
                last = RateLimited(self.system, f"{method} {endpoint}: throttled ({response.status_code})",
                                   retry_after=wait)
                continue
            if response.status_code >= 500:
                guard.breaker.failure()
                guard.count("transient_failures")
                last = TransientError(self.system, f"{method} {endpoint}: HTTP {response.status_code}",
                                      retry_after=parse_retry_after(response.headers.get("Retry-After"),
                                                                    default=0.0) or None)
                self._sleep(max(guard.retry.delay(attempt), last.retry_after or 0.0))
                continue
            guard.breaker.success()
            return response
        assert last is not None
        raise last

    def _throttle_wait(self, response: httpx.Response) -> float | None:
        """Seconds to wait if the response says slow down: Retry-After first, then the vendor's own signal."""
        vendor = self._throttle_signal(response) if self._throttle_signal is not None else None
        if response.status_code == 429:
            header = response.headers.get("Retry-After")
            if header:
                return parse_retry_after(header)
            return vendor if vendor is not None else 1.0
        return vendor

    def json(self, response: httpx.Response, *, endpoint: str) -> Any:
        """Decode a body; a body that is not JSON is a transient fault (proxy page, truncation)."""
        try:
            return response.json()
        except ValueError as exc:
            raise TransientError(self.system, f"{endpoint}: malformed JSON in HTTP {response.status_code} "
                                 f"response ({len(response.content)} bytes)") from exc
