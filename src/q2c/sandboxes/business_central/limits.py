"""Business Central's operational limits for OData requests.

Documented ("Operational limits for Business Central online"; "Work with API limits"): per user, 6,000
requests in a five-minute sliding window; 5 requests processed at a time, the rest waiting in a queue of
up to 95 (100 connections in all); beyond either limit `429 Too Many Requests`; at most 20,000 entities
per page and 100 operations per `$batch`; an operation times out after 8 minutes (408) and a request after
10 (504). Recalled: the 429 body (`Application_TooManyRequests`). The sandbox's own: `Retry-After` on every
429 (Microsoft's guidance is to back off; a client that reads the header does no worse), and the window is
kept for the environment's one integration user rather than per user.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request
from starlette.responses import Response

from q2c.sandboxes.business_central.wire import BcError, error_answer
from q2c.sandboxes.kit import VendorLimits

RATE = VendorLimits(requests_per_window=6000, window_seconds=300.0)
PROCESSING, QUEUE = 5, 95


def too_many(retry_after: float, detail: str = "Too many requests reached.") -> Response:
    seconds = max(1, int(retry_after + 0.999))
    return error_answer(BcError(429, "Application_TooManyRequests", detail), {"Retry-After": str(seconds)})


def throttle(retry_after: float) -> Response:
    return too_many(retry_after, "Too many requests reached.  Actual (6001). Maximum (6000).")


@dataclass
class Connections:
    """Requests being processed (at most `processing`) and waiting (at most `queue`)."""

    processing: int = PROCESSING
    queue: int = QUEUE
    enabled: bool = False
    active: int = 0
    waiting: int = 0
    refused: int = 0
    _slots: asyncio.Semaphore | None = None


def install_connection_limit(app: FastAPI, limits: Connections) -> None:
    """Registered after the kit's middleware, so it wraps it (injected latency is spent inside a slot)."""

    async def connection_limit(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if not limits.enabled or request.url.path.startswith("/__sandbox/") or "/api/" not in request.url.path:
            return await call_next(request)
        if limits.active + limits.waiting >= limits.processing + limits.queue:
            limits.refused += 1
            return too_many(1.0, f"Too many requests reached.  Actual ({limits.active + limits.waiting + 1}). "
                            f"Maximum ({limits.processing + limits.queue}).")
        if limits._slots is None:
            limits._slots = asyncio.Semaphore(limits.processing)
        limits.waiting += 1
        try:
            await limits._slots.acquire()
        finally:
            limits.waiting -= 1
        limits.active += 1
        try:
            return await call_next(request)
        finally:
            limits.active -= 1
            limits._slots.release()

    app.middleware("http")(connection_limit)
