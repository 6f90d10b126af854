"""Harvest's documented rate limit and its answer when a client goes over it.

Harvest allows 100 requests per 15 seconds for an account's token and answers the next one with
429 Too Many Requests and a `Retry-After` header in whole seconds. The limit is enforced by the
kit's request window (`VendorLimits`); this module only says what Harvest's limit is and how the
refusal looks. The message text is the sandbox's own; Harvest's exact wording is not documented.
"""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from q2c.sandboxes.kit import VendorLimits

HARVEST_LIMITS = VendorLimits(requests_per_window=100, window_seconds=15)


def harvest_throttle(retry_after: float) -> Response:
    """Harvest's over-limit answer: 429 with whole seconds (rounded up, at least 1) in Retry-After."""
    seconds = max(1, int(retry_after + 0.999))
    return JSONResponse({"message": f"Too many requests: the limit is 100 requests per 15 seconds. "
                                    f"Retry in {seconds} seconds."},
                        status_code=429, headers={"Retry-After": str(seconds)})
