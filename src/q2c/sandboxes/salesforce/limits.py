"""The org's daily API request allocation, as Salesforce reports and enforces it.

Every REST answer carries `Sforce-Limit-Info: api-usage=USED/ALLOCATION`; `GET /limits` reports
DailyApiRequests {Max, Remaining}. Past the allocation (and whenever the sandbox kit injects a
throttle) the answer is 403 with errorCode REQUEST_LIMIT_EXCEEDED: Salesforce has no 429 and
sends no Retry-After for it (REST API Developer Guide, "Status Codes and Error Responses").
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from q2c.sandboxes.salesforce.errors import api_error

LIMIT_INFO_HEADER = "Sforce-Limit-Info"
LIMIT_EXCEEDED = [api_error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")]


class ApiUsage:
    """Requests counted against the allocation. Not locked: the org locks."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def consume(self) -> bool:
        """Count one request; False once the allocation is used up (the request is then refused)."""
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    def set(self, used: int, limit: int | None = None) -> None:
        self.used = max(used, 0)
        if limit is not None:
            self.limit = limit

    def header(self) -> str:
        return f"api-usage={self.used}/{self.limit}"

    def resource(self) -> dict[str, Any]:
        """The body of GET /limits (the allocation this sandbox counts)."""
        return {"DailyApiRequests": {"Max": self.limit, "Remaining": max(self.limit - self.used, 0)}}


def limit_exceeded(limit_info: str) -> JSONResponse:
    """Salesforce's answer once the allocation is spent."""
    return JSONResponse(LIMIT_EXCEEDED, status_code=403, headers={LIMIT_INFO_HEADER: limit_info})
