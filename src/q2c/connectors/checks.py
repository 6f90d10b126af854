"""First contact with a system, in the words of its config keys: what every connector's check shares.

A check first reaches the system's URL (any HTTP answer will do), then authenticates and makes one
cheap read through the real connector client, with a short timeout and one attempt: no retry loop,
no circuit breaker left open for the hub that starts next. A problem is `blocking` when only a
person can fix it (unknown host, a connection refused or never answered, refused credentials, a URL
that is not the vendor's API). A vendor that answers but is throttling, in maintenance (5xx) or slow
is not: q2c queues work durably and delivers it when the vendor is back, so it only warns.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from q2c.engine.errors import RateLimited, TransientError
from q2c.engine.resilience import RetryPolicy

DEFAULT_TIMEOUT = 5.0
ONE_TRY = RetryPolicy(max_attempts=1, base_seconds=0.0, cap_seconds=0.0)


@dataclass(frozen=True)
class Check:
    """What first contact with one system showed: `key` is the config key the result is about."""

    system: str
    key: str
    ok: bool
    detail: str
    blocking: bool = False

    @property
    def line(self) -> str:
        return f"{self.key}: {self.detail}"


def no_sleep(_seconds: float) -> None:
    return None


def passed(system: str, where: str, detail: str) -> Check:
    return Check(system, where, True, detail)


def failed(system: str, where: str, key: str, detail: str, *, blocking: bool = True) -> Check:
    return Check(system, where + (f".{key}" if key else ""), False, detail, blocking)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def transport_cause(url: str, exc: httpx.TransportError, timeout: float) -> str:
    """Why a connection failed, in the words an operator checks: DNS, port, firewall, TLS."""
    chain = list(_chain(exc))
    if any(isinstance(c, socket.gaierror) for c in chain):
        return f"cannot resolve host {urlsplit(url).hostname} (no such host in DNS)"
    if any(isinstance(c, ConnectionRefusedError) for c in chain):
        return f"cannot connect to {url} (connection refused)"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"cannot connect to {url} (no answer within {timeout:g} s)"
    if isinstance(exc, httpx.TimeoutException):
        return f"{url} accepted the connection but did not answer within {timeout:g} s"
    tls = next((c for c in chain if isinstance(c, ssl.SSLError)), None)
    if tls is not None:
        return f"TLS handshake with {url} failed ({getattr(tls, 'reason', None) or tls})"
    if isinstance(exc, httpx.ProxyError):
        return f"the HTTP proxy refused the connection to {url} ({exc})"
    return f"cannot connect to {url} ({exc or type(exc).__name__})"


def reach(url: str, timeout: float) -> str | None:
    """None when `url` answers HTTP at all (any status), else the cause."""
    try:
        with httpx.Client(timeout=timeout) as http:
            http.get(url)
    except httpx.TransportError as exc:
        return transport_cause(url, exc, timeout)
    except httpx.InvalidURL as exc:
        return f"{url} is not a usable URL ({exc})"
    return None


_HTTP_STATUS = re.compile(r"HTTP (\d{3})")


def unavailable(system: str, where: str, key: str, url: str, exc: TransientError) -> Check:
    """A transient answer after the URL was reached: throttled, 5xx and slow warn; a non-API page blocks."""
    if isinstance(exc, RateLimited):
        return failed(system, where, key, f"{url} is throttling requests ({exc.message}); q2c will wait and retry",
                      blocking=False)
    status = _HTTP_STATUS.search(exc.message)
    if status is not None and int(status.group(1)) >= 500:
        return failed(system, where, key, f"{url} answered HTTP {status.group(1)} (unavailable or in maintenance); "
                                          "q2c queues the work and retries", blocking=False)
    if status is not None and "malformed" in exc.message:
        return failed(system, where, key, f"{url} answered HTTP {status.group(1)} with a body that is not the "
                                          f"{system} API's JSON: check that this is the {system} API URL")
    return failed(system, where, key, f"{url}: {exc.message}", blocking=False)
