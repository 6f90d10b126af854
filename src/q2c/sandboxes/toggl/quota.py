"""Toggl's two request limits: the hourly quota (402) and the burst limit (429).

From Toggl's support article "API & Webhook limits" (support.toggl.com, since September 2025):
requests to a workspace or organization count against a quota per user per organization (30, 240
or 600 an hour on the Free, Starter and Premium plans), requests about the user's own data (`/me`)
against 30 an hour whatever the plan; the count starts with the first request and resets 60
minutes later; over it, the answer is 402 Payment Required. Apart from the quota, a leaky bucket
answers 429 to bursts (about one request per second is safe). Each answer carries
`X-Toggl-Quota-Remaining` and `X-Toggl-Quota-Resets-In` (seconds): these names are not in the
reference seen here but are what integrations read; the 402 and 429 body texts are the sandbox's own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from starlette.responses import PlainTextResponse, Response

from q2c.sandboxes.kit import VendorLimits
from q2c.sandboxes.toggl.auth import store_of, user_for
from q2c.sandboxes.toggl.wire import TogglRefusal, json_response, refusal_response

WINDOW_SECONDS = 3600.0
# the burst limit as the kit's request window: on average one request a second, bursts of ten
TOGGL_BURST = VendorLimits(requests_per_window=10, window_seconds=10.0)


@dataclass
class Quota:
    """Hourly quotas; None is unlimited (the sandbox's default) and then no quota headers are sent."""

    per_organization: int | None = None
    per_user: int | None = None  # the `/me` endpoints
    clock: Callable[[], float] = time.monotonic
    _windows: dict[tuple[int, str], tuple[float, int]] = field(default_factory=dict)

    def reset(self) -> None:
        self._windows.clear()

    def spend(self, user_id: int, scope: str) -> tuple[bool, int, int] | None:
        """(allowed, remaining, seconds until the count resets), or None when the scope is unlimited."""
        limit = self.per_user if scope == "user" else self.per_organization
        if limit is None:
            return None
        now = self.clock()
        started, used = self._windows.get((user_id, scope), (now, 0))
        if now - started >= WINDOW_SECONDS:
            started, used = now, 0
        allowed = used < limit
        if allowed:
            used += 1
        self._windows[(user_id, scope)] = (started, used)
        return allowed, limit - used, max(0, math.ceil(WINDOW_SECONDS - (now - started)))


def scope_of(path: str) -> str | None:
    if path.startswith("/api/v9/me"):
        return "user"
    if path.startswith(("/api/v9/", "/reports/api/")):
        return "organization"
    return None


def toggl_throttle(_retry_after: float) -> Response:
    """The burst limit's answer: 429 (Toggl documents no Retry-After header for it)."""
    return PlainTextResponse("Too Many Requests", status_code=429)


def install_quota(app: FastAPI, quota: Quota) -> None:
    @app.middleware("http")
    async def hourly_quota(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        scope = scope_of(request.url.path)
        if scope is None:
            return await call_next(request)
        store = store_of(request)
        try:
            with store.lock:
                user_id = user_for(store, request.headers)
        except TogglRefusal as exc:
            return refusal_response(exc)
        spent = None if user_id is None else quota.spend(user_id, scope)
        if spent is None:
            return await call_next(request)
        allowed, remaining, resets_in = spent
        headers = {"X-Toggl-Quota-Remaining": str(remaining), "X-Toggl-Quota-Resets-In": str(resets_in)}
        if not allowed:
            return json_response(f"You have used up your hourly API quota; it resets in {resets_in} seconds",
                                 402, headers)
        response = await call_next(request)
        response.headers.update(headers)
        return response
