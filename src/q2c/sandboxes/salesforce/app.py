"""A Salesforce org on loopback, speaking the REST, OAuth and Streaming (CometD) wire protocol q2c uses.

Routes, with paths exactly as on a real My Domain host:
- `POST /services/oauth2/token` and `/services/oauth2/revoke` (`auth.py`);
- `/services/data/...`: versions, sObjects, describe, upsert, SOQL and its cursors, limits (`rest.py`,
  over the org in `org.py`);
- `POST /cometd/NN.N`: Bayeux long polling with the replay extension, delivering Opportunity
  change events (`streaming.py`); the long-poll timeout is `long_poll_seconds` (Salesforce's is
  110 s; tests keep it short);
- `/__sandbox/salesforce/...`: seeding and inspection, which no real org has (`admin.py`).

Past the daily allocation, and whenever the sandbox kit injects a throttle, the answer is
Salesforce's 403 REQUEST_LIMIT_EXCEEDED (never 429). Seed and inspect the org in process through
`sandbox.state` (a `SalesforceOrg`). The org is multicurrency unless `multicurrency=False` (then no
object has CurrencyIsoCode and every amount is in `currency`, see `catalog.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from q2c.sandboxes.kit import Faults, Sandbox
from q2c.sandboxes.salesforce.admin import install_admin
from q2c.sandboxes.salesforce.auth import TokenEndpoint
from q2c.sandboxes.salesforce.errors import NOT_FOUND_MESSAGE, api_error
from q2c.sandboxes.salesforce.limits import limit_exceeded
from q2c.sandboxes.salesforce.org import SalesforceOrg
from q2c.sandboxes.salesforce.rest import DataApi, versions
from q2c.sandboxes.salesforce.streaming import SALESFORCE_LONG_POLL_SECONDS, BayeuxEndpoint

DEFAULT_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")

__all__ = ["DEFAULT_AUDIENCES", "SalesforceOrg", "SalesforceSandbox", "create_sandbox"]


class SalesforceSandbox(Sandbox):
    """The sandbox kit's wrapper plus the org behind it (`state`), for seeding and inspection."""

    client_id: str = ""  # the connected app's consumer key and secret (client credentials flow)
    client_secret: str = ""

    def __init__(self, state: SalesforceOrg, app: FastAPI, *, faults: Faults | None) -> None:
        self.state = state
        super().__init__("salesforce", app, faults=faults, throttle=self._limit_exceeded, reset=state.reset)

    def _limit_exceeded(self, retry_after: float) -> Response:
        """Salesforce has no 429 and no Retry-After: a throttled org answers 403 REQUEST_LIMIT_EXCEEDED."""
        return limit_exceeded(self.state.limit_info())


def create_sandbox(faults: Faults | None = None, *, client_id: str = "q2c-sandbox-client",
                   client_secret: str = "q2c-sandbox-secret", jwt_public_key_pem: str | None = None,
                   api_usage_limit: int = 100_000, jwt_audiences: Sequence[str] = DEFAULT_AUDIENCES,
                   instance_url: str | None = None, long_poll_seconds: float = SALESFORCE_LONG_POLL_SECONDS,
                   multicurrency: bool = True, currency: str = "USD",
                   clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> SalesforceSandbox:
    """Build the sandbox. `instance_url` defaults to the URL the token request arrived on (the sandbox's own
    address when that was login.salesforce.com or test.salesforce.com)."""
    org = SalesforceOrg(api_usage_limit=api_usage_limit, multicurrency=multicurrency, currency=currency, clock=clock)
    app = FastAPI(title="Salesforce sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    oauth = TokenEndpoint(org, client_id=client_id, client_secret=client_secret,
                          jwt_public_key_pem=jwt_public_key_pem, jwt_audiences=tuple(jwt_audiences),
                          instance_url=instance_url)
    _install(app, org, oauth, BayeuxEndpoint(org, long_poll_seconds=long_poll_seconds))
    sandbox = SalesforceSandbox(org, app, faults=faults)
    sandbox.client_id, sandbox.client_secret = client_id, client_secret
    return sandbox


def _install(app: FastAPI, org: SalesforceOrg, oauth: TokenEndpoint, bayeux: BayeuxEndpoint) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            return JSONResponse([api_error("METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed for "
                                           f"{request.url.path}")], status_code=405)
        return JSONResponse([api_error("NOT_FOUND", NOT_FOUND_MESSAGE)], status_code=exc.status_code)

    async def list_versions() -> Response:
        return versions()

    app.add_api_route("/services/oauth2/token", oauth.token, methods=["POST"])
    app.add_api_route("/services/oauth2/revoke", oauth.revoke, methods=["POST"])
    app.add_api_route("/services/data", list_versions, methods=["GET"])
    app.add_api_route("/services/data/{rest:path}", DataApi(org).handle, methods=["GET", "POST", "PATCH", "DELETE"])
    app.add_api_route("/cometd/{version}", bayeux.handle, methods=["POST"])
    app.add_api_route("/cometd/{version}/{suffix:path}", bayeux.handle, methods=["POST"])
    install_admin(app, org)
