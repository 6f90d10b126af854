"""The headers every Harvest v2 request must carry, and Harvest's refusals when one is wrong.

Harvest documents `Authorization: Bearer <token>`, `Harvest-Account-Id` and a `User-Agent` naming
the application and a contact on every request; without a User-Agent the answer is 400 Bad
Request. A token that does not open the named account is a 401 in the OAuth error shape
(`{"error", "error_description"}`, the description's wording from recall).
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request

from q2c.sandboxes.harvest.errors import Refused
from q2c.sandboxes.harvest.served import served_by

USER_AGENT_REQUIRED = ("A User-Agent header naming your application and a contact is required, "
                       "e.g. 'MyApp (name@example.com)'")
INVALID_TOKEN = {"error": "invalid_token", "error_description":
                 "The access token provided is expired, revoked, malformed or invalid for other reasons."}


def check_headers(headers: Mapping[str, str], *, account_id: str, token: str) -> None:
    """Refuse a request without a User-Agent (400), or whose token and account id do not match (401)."""
    if not headers.get("user-agent", "").strip():
        raise Refused(400, {"message": USER_AGENT_REQUIRED})
    scheme, _, presented = headers.get("authorization", "").partition(" ")
    if (scheme.lower() != "bearer" or presented.strip() != token
            or headers.get("harvest-account-id", "").strip() != account_id):
        raise Refused(401, dict(INVALID_TOKEN))


def authorize(request: Request) -> None:
    """The dependency every `/v2` route runs first."""
    served = served_by(request)
    check_headers(request.headers, account_id=served.account.account_id, token=served.token)
