"""A NetSuite account on loopback: the HTTP routes of its token endpoint, record service, SuiteQL and RESTlet.

It speaks the REST web services wire protocol for the records q2c uses (204 + Location on
create, `PUT .../eid:{externalId}` upsert, references as `{id, refName, links}`, errors as
`{type, title, status, o:errorDetails}`), SuiteQL paging with `hasMore`, and the contract of
q2c's bulk-upsert RESTlet. Callers sign in with OAuth 2.0 M2M tokens or token-based authentication
(OAuth 1.0a signatures), checked in `login.py` against the account's set-up (`setup.py`). It
enforces what bites in production: required fields, references that must exist, closed projects
refusing time, billed time refusing edits, and one concurrency limit for the whole account, shared
by REST and RESTlet calls.

The routes only translate HTTP; the account (`state.py`), the rules of a write (`values.py`,
`rules.py`), SuiteQL (`suiteql.py`, `suiteql_eval.py`, `tables.py`), the M2M checks (`auth.py`,
`keys.py`), TBA (`tba.py`), the login gate (`login.py`), the RESTlet (`restlet.py`, `governance.py`)
and the admin routes (`admin.py`) live beside them. `sandbox.state` is the account itself,
for seeding and for tests that count what was written.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from q2c.sandboxes.kit import Faults
from q2c.sandboxes.netsuite.admin import install_admin
from q2c.sandboxes.netsuite.auth import (
    ALLOWED_ALGORITHMS,
    SCOPES,
    TOKEN_PATH,
    M2MMapping,
    TokenRefusal,
    canonical_token_url,
    check_token_request,
    grant,
    read_form,
)
from q2c.sandboxes.netsuite.errors import (
    Problem,
    RestFault,
    fault,
    problems_fault,
    rest_error,
    restlet_error,
    unauthorized,
)
from q2c.sandboxes.netsuite.keys import generate_keypair, mapped_key
from q2c.sandboxes.netsuite.login import refused
from q2c.sandboxes.netsuite.paging import MAX_LIMIT, capped, page_of
from q2c.sandboxes.netsuite.records import SCHEMAS, WRITABLE, RecordSchema, StoredRecord
from q2c.sandboxes.netsuite.render import record_body
from q2c.sandboxes.netsuite.restlet import RESTLET_DEPLOY, RESTLET_MAX_RECORDS, RESTLET_PATH, RESTLET_SCRIPT
from q2c.sandboxes.netsuite.restlet import answer as restlet_answer
from q2c.sandboxes.netsuite.sandbox import Account, NetSuiteSandbox
from q2c.sandboxes.netsuite.setup import SUITEANALYTICS_WORKBOOK
from q2c.sandboxes.netsuite.state import NetSuiteState
from q2c.sandboxes.netsuite.suiteql import SuiteQLError, parse
from q2c.sandboxes.netsuite.suiteql_eval import run
from q2c.sandboxes.netsuite.tables import table
from q2c.sandboxes.netsuite.tba import TbaIntegration
from q2c.sandboxes.netsuite.wire import COLLECTION, PLAIN, SINGULAR, json_response, loads

# the names the demo, the benchmarks and the tests import from here, wherever they live now
__all__ = ["ALLOWED_ALGORITHMS", "RECORD_PATH", "RESTLET_DEPLOY", "RESTLET_MAX_RECORDS", "RESTLET_PATH",
           "RESTLET_SCRIPT", "SCOPES", "SUITEQL_MAX_LIMIT", "SUITEQL_PATH", "TOKEN_PATH", "NetSuiteSandbox",
           "NetSuiteState", "Problem", "StoredRecord", "create_sandbox", "rest_error", "restlet_error"]

RECORD_PATH = "/services/rest/record/v1"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
SUITEQL_MAX_LIMIT = MAX_LIMIT
_SEARCH_ERROR = "Invalid search query. Detailed unprocessed description follows. "


def _account(request: Request) -> Account:
    account: Account = request.app.state.netsuite
    return account


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _signed_in(request: Request) -> NetSuiteState:
    """The account, once the caller's token or signature checks out for REST web services."""
    account = _account(request)
    if refused(account.state, account.tba, request, "rest"):
        raise unauthorized()
    return account.state


# --- OAuth 2.0 client credentials ---------------------------------------------------------------


async def token(request: Request) -> Response:
    account = _account(request)
    setup = account.state.setup
    try:
        form = read_form(request.headers.get("content-type", ""), await request.body())
        scopes = check_token_request(form, account.mapping, [canonical_token_url(account.state.account_id),
                                                             _base(request) + TOKEN_PATH])
        if setup.integration_blocked:
            raise TokenRefusal(401, "invalid_client", "The integration record is blocked.")
        if not setup.client_credentials:  # RFC 6749 section 5.2: not allowed this grant type
            raise TokenRefusal(400, "unauthorized_client", "The integration record does not allow the client "
                                                           "credentials grant.")
    except TokenRefusal as refusal:
        account.state.token_refusals[refusal.error] += 1
        return json_response({"error": refusal.error, "error_description": refusal.description}, refusal.status)
    return json_response(grant(account.state, now=time.time(), scopes=scopes, lifetime=account.token_lifetime))


# --- record service -------------------------------------------------------------------------------


def _schema(rtype: str) -> RecordSchema:
    schema = SCHEMAS.get(rtype.lower())
    if schema is None:
        raise fault(404, f"Record type '{rtype}' does not exist.", "INVALID_RCRD_TYPE")
    return schema


def _writable(schema: RecordSchema) -> RecordSchema:
    """Set-up records (subsidiaries, currencies, items, accounts) are an administrator's, not a client's."""
    if schema.type not in WRITABLE:
        raise fault(405, f"Records of type {schema.type} are read-only here.", "INVALID_REQUEST")
    return schema


def _external_key(key: str) -> str | None:
    """The external id of an `eid:` key (the server has already percent-decoded the path once)."""
    return key[4:] if key.startswith("eid:") else None


def _find(state: NetSuiteState, schema: RecordSchema, key: str) -> StoredRecord:
    external = _external_key(key)
    record = state.get(schema.type, key) if external is None else state.by_external_id(schema.type, external)
    if record is None:
        raise fault(404, f"The record instance does not exist. Provide a valid record instance ID ({schema.type} "
                         f"{key}).", "NONEXISTENT_ID")
    return record


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = loads(raw) if raw else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise fault(400, "The request could not be understood by the server due to malformed syntax.",
                    "INVALID_CONTENT")
    return body


def _strict(request: Request) -> bool:
    return request.headers.get("x-netsuite-propertynamevalidation", "").lower() == "error"


def _written(request: Request, record: StoredRecord) -> Response:
    return Response(status_code=204, headers={"Location": f"{_base(request)}{RECORD_PATH}/{record.type}/{record.id}"})


def _external_id_taken(state: NetSuiteState, schema: RecordSchema, values: dict[str, Any], own: str | None) -> None:
    external = values.get("externalid")
    if isinstance(external, str) and state.external[schema.type].get(external, own) != own:
        raise fault(400, f"A {schema.type} record with external ID {external} already exists.", "USER_ERROR",
                    "externalId")


async def list_records(request: Request, rtype: str) -> Response:
    state = _signed_in(request)
    schema = _schema(rtype)
    root = f"{_base(request)}{RECORD_PATH}/{schema.type}"
    items = [{"links": [{"rel": "self", "href": f"{root}/{rid}"}], "id": rid} for rid in state.records[schema.type]]
    page = page_of(request.query_params)
    return json_response(page.body(root, capped(items, page, max_results=state.max_results,
                                                max_pages=state.max_pages)), media_type=COLLECTION)


async def create(request: Request, rtype: str) -> Response:
    state = _signed_in(request)
    schema = _writable(_schema(rtype))
    values, problems = state.check(schema, await _body(request), existing=None, strict=_strict(request))
    if problems:
        raise problems_fault(problems)
    _external_id_taken(state, schema, values, None)
    return _written(request, state.store(schema, values, None))


async def read(request: Request, rtype: str, key: str) -> Response:
    state = _signed_in(request)
    record = _find(state, _schema(rtype), key)
    expand = request.query_params.get("expandSubResources", "").lower() == "true"
    return json_response(record_body(state, record, f"{_base(request)}{RECORD_PATH}", expand=expand),
                         media_type=SINGULAR)


async def update(request: Request, rtype: str, key: str) -> Response:
    """PATCH changes an existing record only: by external id too, it never creates one."""
    state = _signed_in(request)
    schema = _schema(rtype)
    record = _find(state, schema, key)
    values, problems = state.check(schema, await _body(request), existing=record, strict=_strict(request))
    if problems:
        raise problems_fault(problems)
    _external_id_taken(state, schema, values, record.id)
    return _written(request, state.store(schema, values, record))


async def upsert(request: Request, rtype: str, key: str) -> Response:
    """PUT .../eid:{externalId}: creates the record, or updates the one that carries this external id."""
    state = _signed_in(request)
    schema = _schema(rtype)
    external = _external_key(key)
    if external is None:
        raise fault(405, "PUT is an upsert and needs an external ID: .../eid:{externalId}.", "INVALID_REQUEST")
    _writable(schema)
    body = await _body(request)
    given = next((v for k, v in body.items() if k.lower() == "externalid"), external)
    if given != external:
        raise fault(400, f"externalId {given} in the body differs from {external} in the URL.", "INVALID_VALUE",
                    "externalId")
    existing = state.by_external_id(schema.type, external)
    values, problems = state.check(schema, body, existing=existing, strict=_strict(request))
    if problems:
        raise problems_fault(problems)
    values["externalid"] = external
    return _written(request, state.store(schema, values, existing))


async def delete(request: Request, rtype: str, key: str) -> Response:
    state = _signed_in(request)
    schema = _schema(rtype)
    record = _find(state, schema, key)
    if record.locked:
        raise fault(400, f"This {schema.type} has been billed and cannot be deleted.", "USER_ERROR")
    state.delete(record)
    return Response(status_code=204)


# --- SuiteQL --------------------------------------------------------------------------------------


async def suiteql(request: Request) -> Response:
    state = _signed_in(request)
    if SUITEANALYTICS_WORKBOOK not in state.setup.role_permissions:  # wording and status from recall
        raise fault(403, "Permission Violation: You need the 'SuiteAnalytics Workbook' permission to access this "
                         "page. Please contact your account administrator.", "INSUFFICIENT_PERMISSION")
    if "transient" not in request.headers.get("prefer", "").lower():
        raise fault(400, "SuiteQL requests need the header Prefer: transient.", "INVALID_HEADER", header="Prefer")
    page = page_of(request.query_params)
    text = (await _body(request)).get("q")
    if not isinstance(text, str) or not text.strip():
        raise fault(400, "The request body needs a query in q.", "INVALID_CONTENT", "q")
    try:
        query = parse(text)
        items = run(query, table(state, query.table))
    except SuiteQLError as exc:
        said = str(exc) if exc.kind == "table" else f"Search error occurred: {exc}"
        raise fault(400, _SEARCH_ERROR + said, "INVALID_PARAMETER", query_param="q") from None
    rows = capped([{"links": [], **item} for item in items], page, max_results=state.max_results,
                  max_pages=state.max_pages)
    return json_response(page.body(f"{_base(request)}{SUITEQL_PATH}", rows), media_type=COLLECTION)


# --- q2c's bulk upsert RESTlet --------------------------------------------------------------------


async def restlet(request: Request) -> Response:
    account = _account(request)
    params = request.query_params
    setup = account.state.setup
    if (params.get("script") != RESTLET_SCRIPT or params.get("deploy") != RESTLET_DEPLOY
            or setup.deployment_status == "not deployed"):
        return restlet_error("SSS_INVALID_SCRIPTLET_ID", "That Suitelet is invalid, disabled, or no longer exists.")
    if refused(account.state, account.tba, request, "restlet"):
        return restlet_error("INVALID_LOGIN_ATTEMPT", "Invalid login attempt.", 401)
    if setup.deployment_status == "testing" or not setup.audience_includes_role:
        # only the script owner runs a deployment in Testing; a role outside the audience is turned away
        # (NetSuite's words for a Suitelet, "You do not have privileges to view this page."; code from recall)
        return restlet_error("INSUFFICIENT_PERMISSION", "You do not have privileges to view this page.")
    account.state.restlet_calls += 1
    status, body = restlet_answer(account.state, await request.body())
    return json_response(body, status, media_type=PLAIN)


# --- the app ----------------------------------------------------------------------------------------


async def _rest_fault(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RestFault)
    return rest_error(exc.status, exc.details)


def build_app(account: Account) -> FastAPI:
    """The account's HTTP surface (no kit yet: `create_sandbox` wraps it)."""
    app = FastAPI(title="NetSuite sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.netsuite = account
    install_admin(app, account.state)
    app.add_exception_handler(RestFault, _rest_fault)
    app.add_api_route(TOKEN_PATH, token, methods=["POST"])
    app.add_api_route(RECORD_PATH + "/{rtype}", list_records, methods=["GET"])
    app.add_api_route(RECORD_PATH + "/{rtype}", create, methods=["POST"])
    app.add_api_route(RECORD_PATH + "/{rtype}/{key:path}", read, methods=["GET"])
    app.add_api_route(RECORD_PATH + "/{rtype}/{key:path}", update, methods=["PATCH"])
    app.add_api_route(RECORD_PATH + "/{rtype}/{key:path}", upsert, methods=["PUT"])
    app.add_api_route(RECORD_PATH + "/{rtype}/{key:path}", delete, methods=["DELETE"])
    app.add_api_route(SUITEQL_PATH, suiteql, methods=["POST"])
    app.add_api_route(RESTLET_PATH, restlet, methods=["POST"])
    return app


def create_sandbox(faults: Faults | None = None, *, account_id: str = "1234567_SB1",
                   client_id: str = "q2c-sandbox-client", certificate_id: str = "q2c-cert-1",
                   public_key_pem: str | None = None, concurrency_limit: int = 5,
                   token_lifetime: int = 3600, tba: TbaIntegration | None = None) -> NetSuiteSandbox:
    """A NetSuite account with one integration, mapped to one certificate (client id, certificate id, key)
    for M2M and holding one access token for TBA.

    Without `public_key_pem` a key pair is made and its private half left on
    `sandbox.private_key_pem`, so a demo can configure q2c without files. A given key (or certificate)
    must be one NetSuite accepts: RSA of 3072 or 4096 bits, or EC on P-256, P-384 or P-521. Without
    `tba` the consumer key and secret and the token id and secret are made as NetSuite makes them
    (64 hexadecimal characters each) and left on `sandbox.tba`.
    """
    private_pem: str | None = None
    if public_key_pem is None:
        private_pem, public_key_pem = generate_keypair("ES256")
    state = NetSuiteState(account_id)
    mapping = M2MMapping(client_id, certificate_id, mapped_key(public_key_pem))
    tba = tba or TbaIntegration(*(secrets.token_hex(32) for _ in range(4)))
    app = build_app(Account(state, mapping, token_lifetime, tba))
    return NetSuiteSandbox(app, state, faults=faults, concurrency_limit=concurrency_limit, client_id=client_id,
                           certificate_id=certificate_id, private_key_pem=private_pem, tba=tba)
