"""Who may call the API: an Entra ID access token for Business Central, from an app the environment knows.

Documented ("Using service-to-service (S2S) authentication"): the client credentials flow with scope
`https://api.businesscentral.dynamics.com/.default`; the app must also be registered in Business Central
(the Microsoft Entra Applications page) with permissions, else the call is refused; a missing or invalid
token is 401 with a `WWW-Authenticate: Bearer` challenge. Error code `Authentication_InvalidCredentials`
("The server has rejected the client credentials") is from the OData error codes article.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from q2c.sandboxes.business_central.wire import BcError
from q2c.sandboxes.entra import EntraTenant, EntraUnauthorized

AUDIENCE = "https://api.businesscentral.dynamics.com"


def _body() -> dict[str, Any]:
    return BcError(401, "Authentication_InvalidCredentials", "The server has rejected the client credentials.").body()


def authenticate(tenant: EntraTenant, known_apps: set[str], authorization: str | None,
                 tenant_in_path: str) -> Response | None:
    """None when the call may proceed, else the 401 to answer."""
    try:
        claims = tenant.authenticate(authorization, AUDIENCE)
    except EntraUnauthorized as refused:
        return refused.response(_body())
    if tenant_in_path.lower() != tenant.tenant_id.lower() or claims.get("tid") != tenant.tenant_id:
        return EntraUnauthorized("The token was issued for another tenant",
                                 tenant_id=tenant.tenant_id).response(_body())
    if claims.get("appid") not in known_apps:
        return EntraUnauthorized("The application is not registered in Business Central",
                                 tenant_id=tenant.tenant_id).response(_body())
    return None
