"""A Dynamics 365 Business Central sandbox: API v2.0 and q2c's AL extension pages over HTTPS, behind
Entra ID, on loopback.

Routes: Entra's endpoints at the root (msal's authority is `{url}/{tenant}`), then
`/v2.0/{tenant}/{environment}/api/v2.0/...` and `/v2.0/{tenant}/{environment}/api/q2c/integration/v1.0/...`
("Endpoints for the APIs for Dynamics 365 Business Central": `https://api.businesscentral.dynamics.com/v2.0/
{tenant}/{environment}/api/v2.0`). Every module says which of its behaviour is documented, recalled or
the sandbox's own; `/__sandbox/business_central/` is the only thing a real Business Central would not have
besides the kit's.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from q2c.sandboxes.business_central import admin, posting
from q2c.sandboxes.business_central.auth import authenticate
from q2c.sandboxes.business_central.batch import run_batch
from q2c.sandboxes.business_central.fields import read_body
from q2c.sandboxes.business_central.limits import RATE, Connections, install_connection_limit, throttle
from q2c.sandboxes.business_central.query import coerce
from q2c.sandboxes.business_central.resources import ApiRequest, ApiResponse, Resources
from q2c.sandboxes.business_central.rules import RULES, Write
from q2c.sandboxes.business_central.schema import EXTENSION, SETS, STANDARD, EntitySet, entity_set
from q2c.sandboxes.business_central.seed import seed
from q2c.sandboxes.business_central.store import Book, Row, Store
from q2c.sandboxes.business_central.webhooks import Webhooks
from q2c.sandboxes.business_central.wire import BcError, dialog, error_answer, json_answer, parse_body
from q2c.sandboxes.entra import EntraApp, EntraTenant
from q2c.sandboxes.kit import Faults, LoopbackTls, Sandbox, VendorLimits

__all__ = ["BusinessCentralSandbox", "create_sandbox"]

TENANT_ID = "7c4e1f2a-3b5d-4e6f-8a9b-0c1d2e3f4a5b"
CLIENT_ID = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
CLIENT_SECRET = "bc-sandbox-secret-0123456789abcdefXYZ"
ENVIRONMENT = "production"


class BusinessCentralSandbox(Sandbox):
    """The kit's sandbox with the environment's data (`.store`), its Entra tenant and its webhooks."""

    def __init__(self, app: FastAPI, store: Store, tenant: EntraTenant, webhooks: Webhooks, connections: Connections,
                 *, faults: Faults | None, limits: VendorLimits, client: EntraApp) -> None:
        super().__init__("business_central", app, faults=faults, limits=limits, throttle=throttle,
                         reset=self._reset_all, tls=LoopbackTls.create())
        self.store = store
        self.tenant = tenant
        self.webhooks = webhooks
        self.connections = connections
        self.client_id = client.client_id
        self.client_secret = client.secret or ""
        self.known_apps = {client.client_id}  # apps registered on the Microsoft Entra Applications page
        self.resources = {STANDARD: Resources(store, webhooks.handle), EXTENSION: Resources(store, webhooks.handle)}
        self._company_ids = {b.code: b.id for b in store.books.values()}

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id

    @property
    def environment(self) -> str:
        return self.store.environment

    def _reset_all(self) -> None:
        with self.store.lock:
            self.store.books.clear()
            self.store.subscriptions.clear()
            self.store.clock_offset = timedelta()
            seed(self.store, us01_id=self._company_ids["US01"], uk01_id=self._company_ids["UK01"])
            self.webhooks.delivered.clear()

    # --- what q2c's config needs ----------------------------------------------------------------------------
    def write_ca(self, path: Path) -> Path:
        assert self.tls is not None
        return self.tls.write_ca(path)

    def company_ids(self) -> dict[str, str]:
        return dict(self._company_ids)

    @staticmethod
    def references() -> dict[str, Any]:
        return {"invoice_accounts": {"time_and_materials": "40100", "fixed_fee": "40200", "retainer": "40300",
                                     "milestone": "40400"},
                "default_invoice_account": "40100", "payment_terms": {"Net 30": "30 DAYS", "Net 15": "14 DAYS"},
                "journal": "Q2C", "dimensions": {"service_offering": "SERVICEOFFERING", "legal_entity": "LEGALENTITY"}}

    def register_app(self, *, secret: str | None = None, certificate_pem: str | None = None,
                     in_business_central: bool = True) -> EntraApp:
        """Another app registration (a certificate credential, say), known to Business Central unless told not."""
        app = self.tenant.register_app(secret=secret, certificate_pem=certificate_pem)
        if in_business_central:
            self.known_apps.add(app.client_id)
        return app

    # --- what a person does in Business Central (tests and the demo) -----------------------------------------
    def book(self, company: str) -> Book:
        found = self.store.book(company)
        if found is None:
            raise KeyError(f"no company {company!r}; companies: {', '.join(self._company_ids)}")
        return found

    def records(self, company: str, set_name: str) -> list[dict[str, Any]]:
        with self.store.lock:
            return [dict(r.values) for r in self.book(company).table(set_name).values()]

    def everything(self) -> dict[str, Any]:
        """Every company's tables and the tenant's subscriptions, as plain values."""
        with self.store.lock:
            return {"companies": {b.code: {"id": b.id, "tables": {name: [dict(r.values) for r in rows.values()]
                                                                   for name, rows in b.tables.items()}}
                                  for b in self.store.books.values()},
                    "subscriptions": [{k: v for k, v in r.values.items() if not k.startswith("_")}
                                      for r in self.store.subscriptions.values()]}

    def record(self, company: str, set_name: str, row_id: str) -> Row:
        row = self.book(company).table(set_name).get(row_id)
        if row is None:
            raise KeyError(f"no {set_name} record {row_id} in company {company}")
        return row

    def add_employee(self, company: str, number: str, given_name: str, surname: str, **extra: Any) -> dict[str, Any]:
        spec = _spec("employees")
        with self.store.lock:
            book = self.book(company)
            values = read_body(spec, {"number": number, "givenName": given_name, "surname": surname, **extra}, None)
            RULES["employees"](Write(self.store, book, spec), values)
            return dict(self.store.insert(book, spec, self.store.new_row(spec, values)).values)

    def mark_paid(self, company: str, invoice_id: str, *, paid_on: date | None = None) -> None:
        with self.store.lock:
            posting.pay_invoice(self.store, self.book(company), self.record(company, "salesInvoices", invoice_id),
                                paid_on=paid_on)

    def cancel_invoice(self, company: str, invoice_id: str) -> dict[str, Any]:
        with self.store.lock:
            invoice = self.record(company, "salesInvoices", invoice_id)
            return dict(posting.cancel_invoice(self.store, self.book(company), invoice).values)

    def mark_time_invoiced(self, company: str, entry_id: str) -> None:
        with self.store.lock:
            row = self.record(company, "timeEntries", entry_id)
            self.store.touch(self.book(company), _spec("timeEntries", EXTENSION), row, {"invoiced": True})

    def edit_record(self, company: str, set_name: str, row_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """A change made in the web client behind q2c's back: no page rules, a new ETag, webhooks fire."""
        spec = _any_spec(set_name)
        with self.store.lock:
            row = self.record(company, set_name, row_id)
            values = {}
            for name, raw in changes.items():
                prop = spec.prop(name)
                if prop is None:
                    raise BcError(400, "BadRequest", f"{set_name} has no property {name!r}")
                values[name] = coerce(prop.kind, raw, f"{set_name}.{name}")
            return dict(self.store.touch(self.book(company), spec, row, values).values)

    def delete_record(self, company: str, set_name: str, row_id: str) -> None:
        with self.store.lock:
            self.record(company, set_name, row_id)
            self.store.remove(self.book(company), _any_spec(set_name), row_id)

    def add_exchange_rate(self, company: str, currency: str, starting: date, amount: Decimal,
                          relational_amount: Decimal) -> dict[str, Any]:
        spec = _spec("currencyExchangeRates")
        with self.store.lock:
            book = self.book(company)
            if currency != book.currency and book.find("currencies", code=currency) is None:
                raise dialog(f"The Currency does not exist. Identification fields and values: Code='{currency}'")
            row = self.store.new_row(spec, {"currencyCode": currency, "startingDate": starting,
                                            "exchangeRateAmount": amount, "relationalExchangeRateAmount":
                                            relational_amount})
            return dict(self.store.insert(book, spec, row).values)

    def complete_project(self, company: str, number: str, *, ending: date | None = None) -> dict[str, Any]:
        """Set a job's status to Completed (the extension's `jobs` page shows it)."""
        with self.store.lock:
            book = self.book(company)
            row = book.find("projects", number=number)
            if row is None:
                raise KeyError(f"no project {number!r} in company {company}")
            return dict(self.store.touch(book, _spec("projects"), row, {
                "status": "Completed", "endingDate": ending or self.store.now().date()}).values)

    def advance_clock(self, seconds: float) -> None:
        with self.store.lock:
            self.store.clock_offset += timedelta(seconds=seconds)


def _spec(name: str, api: str = STANDARD) -> EntitySet:
    spec = entity_set(api, name)
    assert spec is not None
    return spec


def _any_spec(name: str) -> EntitySet:
    spec = entity_set(STANDARD, name) or entity_set(EXTENSION, name)
    if spec is None or name == "companies":
        raise KeyError(f"no entity set {name!r}; sets: {', '.join(sorted({s.name for s in SETS}))}")
    return spec


def create_sandbox(faults: Faults | None = None, *, vendor_limits: bool = False, tenant_id: str = TENANT_ID,
                   client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET, environment: str = ENVIRONMENT,
                   notification_delay_seconds: float = 1.0) -> BusinessCentralSandbox:
    app = FastAPI(title="Business Central sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    tenant = EntraTenant(tenant_id)
    client = tenant.register_app(client_id, secret=client_secret)
    store = Store(tenant.tenant_id, environment)
    seed(store)
    webhooks = Webhooks(store, delay_seconds=notification_delay_seconds)
    connections = Connections(enabled=vendor_limits)
    box = BusinessCentralSandbox(app, store, tenant, webhooks, connections, faults=faults,
                                 limits=RATE if vendor_limits else VendorLimits(), client=client)
    app.include_router(tenant.router())
    admin.install(box)
    _routes(box)
    install_connection_limit(app, connections)
    return box


def _routes(box: BusinessCentralSandbox) -> None:
    methods = ["GET", "POST", "PATCH", "DELETE", "PUT"]

    async def serve(request: Request, tenant: str, environment: str, path: str, api: str) -> Response:
        refused = authenticate(box.tenant, box.known_apps, request.headers.get("authorization"), tenant)
        if refused is not None:
            return refused
        if environment != box.environment:
            return error_answer(BcError(404, "BadRequest_ResourceNotFound",
                                        f"The environment '{environment}' does not exist in tenant {tenant}."))
        try:
            body = parse_body(await request.body())
        except BcError as error:
            return error_answer(error)
        base = f"{str(request.base_url).rstrip('/')}/v2.0/{tenant}/{environment}/api/{api}"
        inner = ApiRequest(method=request.method, api=api, path=path, query=dict(request.query_params),
                           headers={k.lower(): v for k, v in request.headers.items()}, body=body, base=base)
        resources = box.resources[api]
        answer: ApiResponse
        if path.strip("/") == "$batch":
            if request.method != "POST":
                return error_answer(BcError(405, "BadRequest_MethodNotAllowed", "$batch takes POST."))
            try:
                answer = await run_in_threadpool(run_batch, resources, inner)
            except BcError as error:
                return error_answer(error)
        else:
            answer = await run_in_threadpool(resources.handle, inner)
        return json_answer(answer.status, answer.body, answer.headers)

    async def standard(request: Request, tenant: str, environment: str, path: str) -> Response:
        return await serve(request, tenant, environment, path, STANDARD)

    async def extension(request: Request, tenant: str, environment: str, path: str) -> Response:
        return await serve(request, tenant, environment, path, EXTENSION)

    box.app.add_api_route("/v2.0/{tenant}/{environment}/api/v2.0/{path:path}", standard, methods=methods,
                          include_in_schema=False)
    box.app.add_api_route("/v2.0/{tenant}/{environment}/api/q2c/integration/v1.0/{path:path}", extension,
                          methods=methods, include_in_schema=False)

