"""A Dataverse organisation (Dynamics 365 Sales) on loopback, over HTTPS, with its own Entra ID tenant.

Routes, with paths as on a real `https://{org}.crm.dynamics.com` host:
- Entra ID: `/{tenant}/oauth2/v2.0/token` and discovery (`q2c.sandboxes.entra`), so msal's authority is
  `{sandbox}/{tenant}`;
- `/api/data/v9.2/...`: the Web API (`webapi.py`), each request with a bearer token whose audience is the
  organisation URL as the request reached it; the app runs as its application user;
- `/__sandbox/dynamics365_sales/...`: seeding and inspection as a salesperson would (`admin.py`).

With the vendor's limits on, service protection answers 429 with `Retry-After` and Dataverse's error
(6,000 requests per 5-minute window, 52 concurrent).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from q2c.sandboxes.dynamics365_sales.admin import install_admin
from q2c.sandboxes.dynamics365_sales.errors import CONCURRENCY_LIMIT, REQUESTS_LIMIT, DataverseError
from q2c.sandboxes.dynamics365_sales.options import Preferences
from q2c.sandboxes.dynamics365_sales.org import DataverseOrg, Row
from q2c.sandboxes.dynamics365_sales.payload import values_from_body
from q2c.sandboxes.dynamics365_sales.query import Renderer
from q2c.sandboxes.dynamics365_sales.tables import TABLES
from q2c.sandboxes.dynamics365_sales.webapi import WebApi
from q2c.sandboxes.dynamics365_sales.wire import API_PATH, ApiRequest
from q2c.sandboxes.entra import EntraTenant, EntraUnauthorized
from q2c.sandboxes.kit import Faults, LoopbackTls, Sandbox, VendorLimits

TENANT_ID = "7d1f3a52-6b7e-4c0e-9f3e-2b8c5a1d4e60"
CLIENT_ID = "0b5e8f0c-3d2a-4f6e-8a1b-9c7d6e5f4a30"
CLIENT_SECRET = "q2c-dynamics365-sandbox-secret"
ORGANIZATION_ID = "c0ffee00-d365-4000-8000-000000000001"
SALESPERSON_ID = "5a1e5000-0000-4000-8000-00000000d001"
REQUESTS_PER_WINDOW, WINDOW_SECONDS, CONCURRENT = 6000, 300.0, 52
CURRENCIES = (("USD", "US Dollar", "$"), ("GBP", "Pound Sterling", "£"), ("EUR", "Euro", "€"))

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "TENANT_ID", "DataverseSandbox", "create_sandbox"]


class DataverseSandbox(Sandbox):
    """The kit's wrapper plus the organisation (`org`), its Entra tenant (`tenant`) and the app q2c runs as."""

    def __init__(self, org: DataverseOrg, tenant: EntraTenant, app: FastAPI, *, faults: Faults | None,
                 limits: VendorLimits | None, client_id: str, client_secret: str) -> None:
        self.org = org
        self.state = org
        self.tenant = tenant
        self.tenant_id = tenant.tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.salesperson_id = SALESPERSON_ID
        self.clock_offset = timedelta(0)
        super().__init__("dynamics365_sales", app, faults=faults, limits=limits, throttle=_service_protection,
                         reset=org.reset, tls=LoopbackTls.create())

    def write_ca(self, path: Path) -> Path:
        assert self.tls is not None
        return self.tls.write_ca(path)

    # --- the app registration and its application user ---------------------------------------------
    def add_application(self, client_id: str | None = None, *, secret: str | None = None,
                        certificate_pem: str | None = None, name: str = "q2c integration") -> str:
        """Register an app in the tenant and make it an application user of the org; its systemuserid."""
        app = self.tenant.register_app(client_id, secret=secret, certificate_pem=certificate_pem)
        user_id = str(uuid.uuid4())
        self.org.create(TABLES["systemuser"], {"systemuserid": user_id, "firstname": "#", "lastname": name,
                                               "domainname": f"{app.client_id}@sandbox.onmicrosoft.com",
                                               "applicationid": app.client_id.lower(),
                                               "azureactivedirectoryobjectid": app.object_id,
                                               "isdisabled": False}, actor=user_id)
        return user_id

    def application_user_id(self, client_id: str | None = None) -> str:
        user = self.org.user_for_app(client_id or self.client_id)
        assert user is not None, f"no application user for {client_id or self.client_id}"
        return str(user["systemuserid"])

    # --- what a salesperson does in the app ----------------------------------------------------------
    def ui_create(self, table: str, body: dict[str, Any]) -> Row:
        """Create a row as the salesperson, from a Web API-shaped body (`x@odata.bind` for lookups)."""
        definition = TABLES[table]
        return self.org.create(definition, values_from_body(self.org, definition, body), actor=self.salesperson_id)

    def ui_update(self, table: str, row_id: str, body: dict[str, Any]) -> Row:
        definition = TABLES[table]
        return self.org.update(definition, row_id, values_from_body(self.org, definition, body),
                               actor=self.salesperson_id)

    def ui_delete(self, table: str, row_id: str) -> None:
        self.org.delete(TABLES[table], row_id, actor=self.salesperson_id)

    def win(self, opportunity_id: str, *, status: int = 3, actual_revenue: Any = None,
            actual_end: Any = None) -> Row:
        """Close the deal as Won (WinOpportunity) as the salesperson."""
        close = values_from_body(self.org, TABLES["opportunityclose"], {
            "subject": "Won", **({"actualrevenue": actual_revenue} if actual_revenue is not None else {}),
            **({"actualend": actual_end} if actual_end is not None else {})})
        return self.org.win(opportunity_id, status, close, actor=self.salesperson_id)

    def read(self, table: str, row_id: str) -> dict[str, Any]:
        """The row as a Web API read shows it (all columns, lookups as `_x_value`)."""
        row = self.org.require(table, row_id)
        return Renderer(self.org, Preferences()).row(TABLES[table], row, None)

    def rows(self, table: str) -> list[dict[str, Any]]:
        renderer = Renderer(self.org, Preferences())
        return [renderer.row(TABLES[table], r, None) for r in self.org.table_rows(table)]

    def currency_id(self, code: str) -> str:
        row = self.org.currency_by_code(code)
        assert row is not None, f"no currency {code}"
        return str(row["transactioncurrencyid"])

    def advance_clock(self, seconds: float) -> None:
        """Time passes for the org (change-tracking retention), not for token lifetimes."""
        self.clock_offset += timedelta(seconds=seconds)


def _service_protection(retry_after: float) -> Response:
    """429 with Retry-After in seconds and the Web API's error for the limit hit."""
    if retry_after <= 0:
        error = DataverseError(429, CONCURRENCY_LIMIT,
                               f"Number of concurrent requests exceeded the limit of {CONCURRENT}.")
    else:
        error = DataverseError(429, REQUESTS_LIMIT, f"Number of requests exceeded the limit of "
                               f"{REQUESTS_PER_WINDOW} over time window of {int(WINDOW_SECONDS)} seconds.")
    return JSONResponse(error.body(), status_code=429,
                        headers={"Retry-After": str(max(1, int(retry_after + 0.999)))})


def create_sandbox(faults: Faults | None = None, *, vendor_limits: bool = False, tenant_id: str = TENANT_ID,
                   client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET,
                   token_lifetime_seconds: int = 3599, change_tracking_days: int = 7) -> DataverseSandbox:
    tenant = EntraTenant(tenant_id, token_lifetime_seconds=token_lifetime_seconds)
    holder: list[DataverseSandbox] = []

    def clock() -> datetime:
        return datetime.now(UTC) + (holder[0].clock_offset if holder else timedelta(0))
    org = DataverseOrg(clock=clock, change_tracking_days=change_tracking_days)
    _seed(org)
    app = FastAPI(title="Dynamics 365 Sales sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    api = WebApi(org, ORGANIZATION_ID)
    limits = VendorLimits(requests_per_window=REQUESTS_PER_WINDOW, window_seconds=WINDOW_SECONDS,
                          concurrency=CONCURRENT) if vendor_limits else None
    sandbox = DataverseSandbox(org, tenant, app, faults=faults, limits=limits, client_id=client_id,
                               client_secret=client_secret)
    holder.append(sandbox)
    sandbox.add_application(client_id, secret=client_secret)
    _install(app, sandbox, api)
    install_admin(app, sandbox)
    return sandbox


def _seed(org: DataverseOrg) -> None:
    system = "00000000-0000-4000-8000-000000000001"
    org.create(TABLES["systemuser"], {"systemuserid": system, "firstname": "SYSTEM", "isdisabled": False},
               actor=system)
    org.system_user_id = system
    for code, name, symbol in CURRENCIES:
        row = org.create(TABLES["transactioncurrency"], {
            "isocurrencycode": code, "currencyname": name, "currencysymbol": symbol, "currencyprecision": 2,
            "exchangerate": 1 if code == "USD" else None}, actor=system)
        if code == "USD":
            org.base_currency_id = str(row["transactioncurrencyid"])
    org.create(TABLES["systemuser"], {"systemuserid": SALESPERSON_ID, "firstname": "Dana", "lastname": "Seller",
                                      "domainname": "dana.seller@contoso.example",
                                      "internalemailaddress": "dana.seller@contoso.example", "isdisabled": False},
               actor=system)


def _install(app: FastAPI, sandbox: DataverseSandbox, api: WebApi) -> None:
    app.include_router(sandbox.tenant.router())

    async def web_api(request: Request) -> Response:
        org_url = str(request.base_url).rstrip("/")
        try:
            claims = sandbox.tenant.authenticate(request.headers.get("authorization"), org_url)
        except EntraUnauthorized as refused:
            return refused.response()
        user = sandbox.org.user_for_app(str(claims.get("appid", "")))
        if user is None or user.get("isdisabled"):
            return DataverseError(403, "0x80072560", f"The user with appid {claims.get('appid')} is not a member "
                                  "of the organization (no application user).").response()
        path = request.url.path[len(API_PATH):].lstrip("/")
        headers: dict[str, str] = {}
        for name, value in request.headers.items():  # a repeated header (two Prefer lines) is one list
            headers[name.lower()] = f"{headers[name.lower()]}, {value}" if name.lower() in headers else value
        req = ApiRequest(request.method, path, dict(request.query_params), headers, await request.body(), org_url,
                         str(user["systemuserid"]))
        answer = api.dispatch(req)
        return Response(answer.body, status_code=answer.status, headers=answer.headers)

    for route in (API_PATH, API_PATH + "/", API_PATH + "/{rest:path}"):
        app.add_api_route(route, web_api, methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
                          include_in_schema=False)
