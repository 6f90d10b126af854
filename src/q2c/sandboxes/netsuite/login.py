"""The login check in front of every REST and RESTlet request: who is calling, and may they.

Bearer (OAuth 2.0, M2M): a token this account issued, unexpired, whose scope covers the surface
(`rest_webservices` for REST web services, `restlets` for RESTlets: the scope values of NetSuite's
M2M flow), and a role with Log in using OAuth 2.0 Access Tokens. OAuth (TBA): a request signed as
`tba.py` checks, through an integration record that has Token-based Authentication checked and is not
Blocked, by a role with Log in using Access Tokens. REST web services also need the role's REST Web
Services permission; NetSuite answers its absence as an invalid login too (a 401 INVALID_LOGIN for a
role without the REST permissions, as maintainers of a public NetSuite client report in
jacobsvante/netsuite#27). Which permission the M2M token checks is the sandbox's model: the token is
issued to the mapping, the role's login permission is checked on each call.

Every refusal is one line in the Login Audit Trail; the caller gets only the 401.
"""

from __future__ import annotations

import time
from typing import Literal

from starlette.requests import Request

from q2c.sandboxes.netsuite.auth import bearer_scopes
from q2c.sandboxes.netsuite.setup import LOG_IN_ACCESS_TOKENS, LOG_IN_OAUTH2, REST_WEB_SERVICES
from q2c.sandboxes.netsuite.state import NetSuiteState
from q2c.sandboxes.netsuite.tba import SignedRequest, TbaIntegration, TbaRefusal, verify

Surface = Literal["rest", "restlet"]
_SCOPE = {"rest": "rest_webservices", "restlet": "restlets"}


def signed_request(request: Request) -> SignedRequest:
    scope = request.scope
    return SignedRequest(method=request.method, scheme=request.url.scheme, host=request.headers.get("host", ""),
                         raw_path=scope.get("raw_path") or request.url.path.encode("ascii"),
                         query=scope.get("query_string", b""), authorization=request.headers.get("authorization", ""))


def refused(state: NetSuiteState, tba: TbaIntegration, request: Request, surface: Surface) -> bool:
    """Whether to answer 401; a refusal is written to the Login Audit Trail."""
    method, detail = _check(state, tba, request, surface)
    if detail is not None:
        state.refused_login(surface, method, detail)
    return detail is not None


def _check(state: NetSuiteState, tba: TbaIntegration, request: Request, surface: Surface) -> tuple[str, str | None]:
    setup = state.setup
    authorization = request.headers.get("authorization", "")
    scheme = authorization.strip().partition(" ")[0].lower()
    if scheme == "bearer":
        scopes = bearer_scopes(state, authorization, now=time.time())
        if scopes is None:
            return "m2m", "InvalidToken"
        if _SCOPE[surface] not in scopes:
            return "m2m", "InsufficientScope"
        login = LOG_IN_OAUTH2
    elif scheme == "oauth":
        if not setup.token_based_authentication:
            return "tba", "InvalidIntegration"
        if setup.integration_blocked:
            return "tba", "consumer_key_refused"
        try:
            verify(signed_request(request), realm=state.account_id.upper(), integration=tba, seen=state.nonces,
                   now=time.time())
        except TbaRefusal as refusal:
            return "tba", refusal.detail
        login = LOG_IN_ACCESS_TOKENS
    else:
        return "none", "MissingAuthorization"
    method = "m2m" if scheme == "bearer" else "tba"
    permissions = setup.role_permissions
    if login not in permissions or (surface == "rest" and REST_WEB_SERVICES not in permissions):
        return method, "InsufficientPermission"
    return method, None
