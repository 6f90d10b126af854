"""A Salesforce org on loopback, speaking the REST, OAuth and Streaming (CometD) wire protocol q2c uses.

Endpoints (paths exactly as on a real My Domain host):
- `POST /services/oauth2/token`: client_credentials (HTTP Basic or form client_id/client_secret) and the
  JWT bearer grant (RS256 assertion checked against the configured public key, `iss`, `aud`, `exp`).
- `GET /services/data/`: versions; any `vNN.N` is accepted below it.
- `/services/data/vNN.N/sobjects/{Type}[/{id} | /{ExternalIdField}/{value} | /describe]`: CRUD and
  upsert for Account, Opportunity, OpportunityLineItem and Opportunity_Milestone__c.
- `/services/data/vNN.N/query?q=` and `/query/{locator}-{offset}`: the SOQL subset in `soql.py`, paged
  by `Sforce-Query-Options: batchSize=N`.
- `POST /cometd/NN.N`: Bayeux long-polling with the replay extension, delivering Opportunity change
  events on `/data/OpportunityChangeEvent`.

Every data response carries `Sforce-Limit-Info: api-usage=N/LIMIT`; past the limit, and whenever the
sandbox kit injects a throttle, the answer is Salesforce's 403 REQUEST_LIMIT_EXCEEDED (never 429).
Seed and inspect the org in process through `sandbox.state` (a `SalesforceOrg`), or over HTTP
through the admin routes under `/__sandbox/salesforce/`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote

import jwt
from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response

from q2c.sandboxes.kit import Faults, Sandbox
from q2c.sandboxes.salesforce.org import (
    INTEGRATION_USER,
    Actor,
    ApiFault,
    SalesforceOrg,
    Session,
    api_error,
    fault,
)
from q2c.sandboxes.salesforce.schema import CHILD_RELATIONSHIPS, OBJECTS, SObjectSpec

DEFAULT_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
_VERSION = re.compile(r"^v(\d{2,3}\.\d)$")
_LIMIT_EXCEEDED = [api_error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")]


class SalesforceSandbox(Sandbox):
    """The sandbox kit's wrapper plus the org behind it (`state`), for seeding and inspection."""

    client_id: str = ""  # the connected app's consumer key and secret (client credentials flow)
    client_secret: str = ""

    def __init__(self, state: SalesforceOrg, app: FastAPI, *, faults: Faults | None) -> None:
        self.state = state
        super().__init__("salesforce", app, faults=faults, throttle=self._limit_exceeded, reset=state.reset)

    def _limit_exceeded(self, retry_after: float) -> Response:
        """Salesforce has no 429 and no Retry-After: a throttled org answers 403 REQUEST_LIMIT_EXCEEDED."""
        return JSONResponse(_LIMIT_EXCEEDED, status_code=403,
                            headers={"Sforce-Limit-Info": self.state.limit_info()})


def create_sandbox(faults: Faults | None = None, *, client_id: str = "q2c-sandbox-client",
                   client_secret: str = "q2c-sandbox-secret", jwt_public_key_pem: str | None = None,
                   api_usage_limit: int = 100_000, jwt_audiences: Sequence[str] = DEFAULT_AUDIENCES,
                   instance_url: str | None = None, long_poll_seconds: float = 10.0) -> SalesforceSandbox:
    """Build the sandbox. `instance_url` defaults to the URL the token request arrived on."""
    org = SalesforceOrg(api_usage_limit=api_usage_limit)
    app = FastAPI(title="Salesforce sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    api = _SalesforceApi(org, client_id=client_id, client_secret=client_secret,
                         jwt_public_key_pem=jwt_public_key_pem, jwt_audiences=tuple(jwt_audiences),
                         instance_url=instance_url, long_poll_seconds=long_poll_seconds)
    api.install(app)
    sandbox = SalesforceSandbox(org, app, faults=faults)
    sandbox.client_id, sandbox.client_secret = client_id, client_secret
    return sandbox


def _json_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse([api_error(code, message)], status_code=status)


def _call_options_client(request: Request) -> str | None:
    for part in re.split(r"[,;]", request.headers.get("Sforce-Call-Options", "")):
        key, _, value = part.strip().partition("=")
        if key.strip() == "client" and value.strip():
            return value.strip()
    return None


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() not in {"bearer", "oauth"}:
        return None
    return token.strip() or None


def _release_label(version: str) -> str:
    offset = int(float(version)) - 59  # 59.0 was Winter '24; three releases a year
    season = ("Winter", "Spring", "Summer")[offset % 3]
    year = 24 + offset // 3
    return f"{season} '{year:02d}"


class _SalesforceApi:
    def __init__(self, org: SalesforceOrg, *, client_id: str, client_secret: str, jwt_public_key_pem: str | None,
                 jwt_audiences: tuple[str, ...], instance_url: str | None, long_poll_seconds: float) -> None:
        self.org = org
        self.client_id = client_id
        self.client_secret = client_secret
        self.jwt_public_key_pem = jwt_public_key_pem
        self.jwt_audiences = jwt_audiences
        self.instance_url = instance_url.rstrip("/") if instance_url else None
        self.long_poll_seconds = long_poll_seconds

    def install(self, app: FastAPI) -> None:
        @app.exception_handler(StarletteHTTPException)
        async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
            if exc.status_code == 405:
                return _json_error(405, "METHOD_NOT_ALLOWED",
                                   f"HTTP Method '{request.method}' not allowed for {request.url.path}")
            return _json_error(exc.status_code, "NOT_FOUND", "The requested resource does not exist")

        app.add_api_route("/services/oauth2/token", self.token, methods=["POST"])
        app.add_api_route("/services/oauth2/revoke", self.revoke, methods=["POST"])
        app.add_api_route("/services/data", self.versions, methods=["GET"])
        app.add_api_route("/services/data/{rest:path}", self.data_api, methods=["GET", "POST", "PATCH", "DELETE"])
        app.add_api_route("/cometd/{version}", self.cometd, methods=["POST"])
        app.add_api_route("/cometd/{version}/{suffix:path}", self.cometd, methods=["POST"])
        self._install_admin(app)

    # --- OAuth ------------------------------------------------------------------------------
    def _base_url(self, request: Request) -> str:
        return self.instance_url or str(request.base_url).rstrip("/")

    @staticmethod
    def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
        return JSONResponse({"error": error, "error_description": description}, status_code=status)

    async def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            return self._client_credentials(request, form)
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self._jwt_bearer(request, form)
        return self._oauth_error("unsupported_grant_type", "grant type not supported")

    def _client_credentials(self, request: Request, form: dict[str, str]) -> Response:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, client_secret = base64.b64decode(encoded).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return self._oauth_error("invalid_client", "invalid client credentials")
        if client_id != self.client_id:
            return self._oauth_error("invalid_client_id", "client identifier invalid")
        if not client_secret or not hmac.compare_digest(client_secret, self.client_secret):
            return self._oauth_error("invalid_client", "invalid client credentials")
        return self._grant(request, INTEGRATION_USER)

    def _jwt_bearer(self, request: Request, form: dict[str, str]) -> Response:
        assertion = form.get("assertion", "")
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            return self._oauth_error("invalid_grant", "invalid assertion")
        if unverified.get("iss") != self.client_id:
            return self._oauth_error("invalid_client_id", "client identifier invalid")
        if self.jwt_public_key_pem is None:
            return self._oauth_error("invalid_grant", "invalid assertion: no certificate is configured for "
                                     "this connected app")
        try:
            claims = jwt.decode(assertion, self.jwt_public_key_pem, algorithms=["RS256"],
                                audience=list(self.jwt_audiences),
                                options={"require": ["iss", "sub", "aud", "exp"]})
        except jwt.ExpiredSignatureError:
            return self._oauth_error("invalid_grant", "expired authorization code")
        except jwt.InvalidAudienceError:
            return self._oauth_error("invalid_grant", "audience is invalid")
        except jwt.MissingRequiredClaimError as exc:
            return self._oauth_error("invalid_grant", f"invalid assertion: missing claim {exc.claim}")
        except jwt.InvalidTokenError:
            return self._oauth_error("invalid_grant", "invalid assertion")
        username = str(claims["sub"]).strip()
        if not username:
            return self._oauth_error("invalid_grant", "user hasn't approved this consumer")
        return self._grant(request, username)

    def _grant(self, request: Request, username: str) -> Response:
        session = self.org.open_session(username)
        base = self._base_url(request)
        issued_at = str(int(time.time() * 1000))
        identity = f"{base}/id/{self.org.org_id}/{session.user_id}"
        signature = base64.b64encode(hmac.new(self.client_secret.encode(), (identity + issued_at).encode(),
                                              hashlib.sha256).digest()).decode()
        return JSONResponse({"access_token": session.token, "instance_url": base, "id": identity,
                             "token_type": "Bearer", "issued_at": issued_at, "signature": signature,
                             "scope": "api"})

    async def revoke(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        token = form.get("token") or request.query_params.get("token")
        if not token or self.org.session(token) is None:
            return self._oauth_error("unsupported_token_type", "this token type is not supported")
        self.org.revoke(token)
        return Response(status_code=200)

    # --- REST -------------------------------------------------------------------------------
    async def versions(self, request: Request) -> Response:
        base = "/services/data"
        return JSONResponse([{"label": _release_label(f"{v}.0"), "url": f"{base}/v{v}.0", "version": f"{v}.0"}
                             for v in range(55, 63)])

    def _session(self, request: Request) -> Session | None:
        token = _bearer(request)
        return None if token is None else self.org.session(token)

    async def data_api(self, request: Request, rest: str) -> Response:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        remainder = raw_path.decode("latin-1")[len("/services/data/"):]
        segments = [unquote(s) for s in remainder.split("/")]
        while segments and segments[-1] == "":
            segments.pop()
        if not segments:
            return await self.versions(request)
        version_match = _VERSION.match(segments[0])
        if version_match is None:
            return _json_error(404, "NOT_FOUND", "The requested resource does not exist")
        version = version_match.group(1)
        session = self._session(request)
        if session is None:
            return JSONResponse([api_error("INVALID_SESSION_ID", "Session expired or invalid")], status_code=401,
                                headers={"WWW-Authenticate": "Token", "Sforce-Limit-Info": self.org.limit_info()})
        if not self.org.consume_api_call():
            return JSONResponse(_LIMIT_EXCEEDED, status_code=403,
                                headers={"Sforce-Limit-Info": self.org.limit_info()})
        client = _call_options_client(request)
        actor = Actor(session.user_id, f"com/salesforce/api/rest/{version}" + (f";client={client}" if client else ""))
        try:
            response = await self._route(request, version, segments[1:], actor)
        except ApiFault as exc:
            response = JSONResponse(exc.body, status_code=exc.status)
        response.headers["Sforce-Limit-Info"] = self.org.limit_info()
        return response

    async def _body(self, request: Request) -> Any:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            return json.loads(raw, parse_float=Decimal)
        except ValueError as exc:
            raise fault(400, "JSON_PARSER_ERROR", f"Unexpected character in request body: {exc}") from None

    async def _route(self, request: Request, version: str, parts: list[str], actor: Actor) -> Response:
        method = request.method
        prefix = f"/services/data/v{version}"
        if not parts:
            return JSONResponse({name: f"{prefix}/{name}" for name in ("sobjects", "query", "queryAll", "limits")})
        head, rest = parts[0], parts[1:]
        if head == "limits" and not rest and method == "GET":
            remaining = max(self.org.api_limit - self.org.api_used, 0)
            return JSONResponse({"DailyApiRequests": {"Max": self.org.api_limit, "Remaining": remaining}})
        if head in {"query", "queryAll"} and method == "GET":
            if rest:
                if len(rest) != 1:
                    raise fault(404, "NOT_FOUND", "The requested resource does not exist")
                return JSONResponse(self.org.query_more(rest[0], version=version))
            query = request.query_params.get("q")
            if not query:
                raise fault(400, "MALFORMED_QUERY", "A query string has to be specified")
            return JSONResponse(self.org.query(query, version=version, batch_size=self._batch_size(request)))
        if head == "sobjects":
            return await self._sobjects(request, version, rest, actor)
        raise fault(404, "NOT_FOUND", "The requested resource does not exist")

    @staticmethod
    def _batch_size(request: Request) -> int | None:
        for part in request.headers.get("Sforce-Query-Options", "").split(","):
            key, _, value = part.strip().partition("=")
            if key.strip() == "batchSize" and value.strip().isdigit():
                return int(value.strip())
        return None

    async def _sobjects(self, request: Request, version: str, parts: list[str], actor: Actor) -> Response:
        method = request.method
        if not parts:
            if method != "GET":
                raise fault(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are GET")
            return JSONResponse({"encoding": "UTF-8", "maxBatchSize": 200,
                                 "sobjects": [self._object_summary(s, version) for s in OBJECTS.values()]})
        spec = self.org.spec(parts[0])
        rest = parts[1:]
        if not rest:
            if method == "GET":
                return JSONResponse({"objectDescribe": self._object_summary(spec, version), "recentItems": []})
            if method == "POST":
                record_id = self.org.create(spec.name, await self._body(request), actor)
                return JSONResponse({"id": record_id, "success": True, "errors": []}, status_code=201)
            raise fault(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are GET,POST")
        if rest == ["describe"] and method == "GET":
            return JSONResponse(self._describe(spec, version))
        fields = [f for f in request.query_params.get("fields", "").split(",") if f.strip()] or None
        if len(rest) == 1:
            record_id = rest[0]
            if method == "POST" and record_id == "Id":  # POST /sobjects/Type/Id: always creates
                new_id = self.org.create(spec.name, await self._body(request), actor)
                return JSONResponse({"id": new_id, "success": True, "errors": [], "created": True}, status_code=201)
            if method == "GET":
                return JSONResponse(self.org.read(spec.name, record_id, fields, version))
            if method == "PATCH":
                self.org.update(spec.name, record_id, await self._body(request), actor)
                return Response(status_code=204)
            if method == "DELETE":
                self.org.delete(spec.name, record_id, actor)
                return Response(status_code=204)
        if len(rest) == 2:
            field_name, value = rest
            if method == "GET":
                return JSONResponse(self.org.read_by_external_id(spec.name, field_name, value, fields, version))
            if method == "PATCH":
                return self._upsert(request, spec, field_name, value, await self._body(request), actor, version)
        raise fault(404, "NOT_FOUND", "The requested resource does not exist")

    def _upsert(self, request: Request, spec: SObjectSpec, field_name: str, value: str, body: Any, actor: Actor,
                version: str) -> Response:
        if request.query_params.get("updateOnly", "").lower() == "true":
            self.org.read_by_external_id(spec.name, field_name, value, ["Id"], version)  # 404 when absent
        try:
            record_id, created = self.org.upsert(spec.name, field_name, value, body, actor, version)
        except ApiFault as exc:
            if exc.status == 300:
                return JSONResponse(exc.body, status_code=300)
            raise
        if float(version) < 46.0:  # before Summer '19 the answer had no `created` and updates were 204
            if not created:
                return Response(status_code=204)
            return JSONResponse({"id": record_id, "success": True, "errors": []}, status_code=201)
        return JSONResponse({"id": record_id, "success": True, "errors": [], "created": created},
                            status_code=201 if created else 200)

    @staticmethod
    def _object_summary(spec: SObjectSpec, version: str) -> dict[str, Any]:
        base = f"/services/data/v{version}/sobjects/{spec.name}"
        return {"name": spec.name, "label": spec.label, "keyPrefix": spec.key_prefix, "custom": spec.custom,
                "createable": True, "updateable": True, "deletable": True, "queryable": True,
                "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}}

    def _describe(self, spec: SObjectSpec, version: str) -> dict[str, Any]:
        fields = []
        for f in spec.fields.values():
            fields.append({
                "name": f.name, "label": f.label or f.name, "type": f.type, "length": f.length, "custom": f.custom,
                "externalId": f.external_id, "idLookup": f.external_id or f.name == "Id", "unique": False,
                "createable": f.createable, "updateable": f.updateable,
                "nillable": not f.required and f.type != "boolean" and f.name != "Id",
                "defaultedOnCreate": f.default is not None or f.type == "boolean",
                "referenceTo": [f.reference_to] if f.reference_to else [],
                "relationshipName": f.relationship_name,
                "picklistValues": [{"value": v, "label": v, "active": True, "defaultValue": v == f.default,
                                    "validFor": None} for v in f.picklist],
                "restrictedPicklist": bool(f.picklist),
            })
        children = [{"childSObject": child, "field": lookup, "relationshipName": name, "cascadeDelete": True}
                    for child, lookup, name in CHILD_RELATIONSHIPS.get(spec.name, ())]
        return {**self._object_summary(spec, version), "fields": fields, "childRelationships": children}

    # --- Streaming API (CometD / Bayeux long polling) ---------------------------------------
    async def cometd(self, request: Request, version: str, suffix: str = "") -> Response:
        if not re.fullmatch(r"\d{2,3}\.\d", version):
            return PlainTextResponse("API version in the URI is mandatory. URI format: '/cometd/59.0'",
                                     status_code=400)
        if float(version) < 37.0:
            return PlainTextResponse("Unsupported API version. Only API versions '37.0' and later are "
                                     "supported. URI format: '/cometd/59.0'", status_code=400)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return PlainTextResponse("Malformed Bayeux message", status_code=400)
        messages = body if isinstance(body, list) else [body]
        token = _bearer(request)
        authenticated = token is not None and self.org.session(token) is not None
        replies: list[dict[str, Any]] = []
        cookie: str | None = None
        for message in messages:
            if not isinstance(message, dict):
                return PlainTextResponse("Malformed Bayeux message", status_code=400)
            channel = str(message.get("channel", ""))
            base: dict[str, Any] = {"channel": channel}
            if "id" in message:
                base["id"] = message["id"]
            if channel == "/meta/handshake":
                if not authenticated or token is None:
                    reason = "401::Authentication invalid" if token else "401::Request requires authentication"
                    replies.append({**base, "successful": False, "error": "403::Handshake denied",
                                    "ext": {"sfdc": {"failureReason": reason}}, "advice": {"reconnect": "none"}})
                    continue
                client_id = self.org.streaming_handshake(token)
                cookie = client_id
                replies.append({**base, "clientId": client_id, "version": "1.0", "minimumVersion": "1.0",
                                "supportedConnectionTypes": ["long-polling"], "successful": True,
                                "advice": {"reconnect": "retry", "interval": 0, "timeout": 110_000},
                                "ext": {"replay": True, "payload.format": True}})
                continue
            client_id = str(message.get("clientId", ""))
            base["clientId"] = client_id
            client = self.org.streaming_client(client_id)
            if channel.startswith("/meta/") and channel != "/meta/disconnect" and client is None:
                replies.append({**base, "successful": False, "error": "403::Unknown client",
                                "advice": {"reconnect": "handshake", "interval": 500}})
                continue
            if channel in {"/meta/connect", "/meta/subscribe"} and (not authenticated or client is None
                                                                     or client.token != token):
                replies.append({**base, "successful": False, "error": "401::Authentication invalid",
                                "advice": {"reconnect": "none", "interval": 0}})
                continue
            if channel == "/meta/subscribe":
                replies.append(self._subscribe(base, client_id, message))
            elif channel == "/meta/unsubscribe":
                subscription = str(message.get("subscription", ""))
                self.org.streaming_unsubscribe(client_id, subscription)
                replies.append({**base, "subscription": subscription, "successful": True})
            elif channel == "/meta/connect":
                connection_type = message.get("connectionType", "long-polling")
                if connection_type != "long-polling":
                    replies.append({**base, "successful": False,
                                    "error": f"400::Invalid connection type {connection_type}"})
                    continue
                replies.extend(await self._long_poll(client_id, message))
                replies.append({**base, "successful": True,
                                "advice": {"reconnect": "retry", "interval": 0, "timeout": 110_000}})
            elif channel == "/meta/disconnect":
                self.org.streaming_disconnect(client_id)
                replies.append({**base, "successful": True})
            else:
                replies.append({**base, "successful": False, "error": f"403::Publish denied on {channel}"})
        response = JSONResponse(replies)
        if cookie is not None:
            response.set_cookie("BAYEUX_BROWSER", cookie, httponly=True)
        return response

    def _subscribe(self, base: dict[str, Any], client_id: str, message: dict[str, Any]) -> dict[str, Any]:
        subscription = message.get("subscription")
        if not isinstance(subscription, str) or not subscription:
            return {**base, "successful": False, "error": "400::Channel name not specified"}
        if not subscription.startswith("/"):
            return {**base, "subscription": subscription, "successful": False,
                    "error": "400::Channel subscriptions must start with a leading '/'"}
        replay_ext = (message.get("ext") or {}).get("replay") or {}
        replay_from = replay_ext.get(subscription, -1) if isinstance(replay_ext, dict) else -1
        if isinstance(replay_from, bool) or not isinstance(replay_from, int):
            return {**base, "subscription": subscription, "successful": False,
                    "error": f"400::The replayId {{{replay_from}}} you provided was invalid."}
        error = self.org.streaming_subscribe(client_id, subscription, replay_from)
        if error is not None:
            return {**base, "subscription": subscription, "successful": False, "error": error}
        return {**base, "subscription": subscription, "successful": True}

    async def _long_poll(self, client_id: str, message: dict[str, Any]) -> list[dict[str, Any]]:
        """Hold the connect open until events arrive or the wait ends (the client may ask for less)."""
        asked = (message.get("advice") or {}).get("timeout")
        wait = self.long_poll_seconds
        if isinstance(asked, int | float) and not isinstance(asked, bool):
            wait = min(wait, max(float(asked), 0.0) / 1000)
        deadline = time.monotonic() + wait
        while True:
            events = self.org.streaming_collect(client_id)
            if events or time.monotonic() >= deadline:
                return events
            await asyncio.sleep(min(0.02, max(deadline - time.monotonic(), 0.0)))

    # --- admin (never called by the connector) ----------------------------------------------
    def _install_admin(self, app: FastAPI) -> None:
        org = self.org
        prefix = "/__sandbox/salesforce"

        async def answer(call: Callable[[Any], Any], request: Request | None = None) -> Response:
            try:
                body = await self._body(request) if request is not None else None
                return JSONResponse(call(body))
            except ApiFault as exc:
                return JSONResponse(exc.body, status_code=exc.status)

        @app.get(prefix + "/records/{sobject}", include_in_schema=False)
        async def list_records(sobject: str) -> Response:
            return await answer(lambda _: org.records(sobject))

        @app.post(prefix + "/records/{sobject}", include_in_schema=False)
        async def insert_record(sobject: str, request: Request) -> Response:
            return await answer(lambda body: {"id": org.create(sobject, body)}, request)

        @app.patch(prefix + "/records/{sobject}/{record_id}", include_in_schema=False)
        async def edit_record(sobject: str, record_id: str, request: Request) -> Response:
            def edit(body: Any) -> dict[str, str]:
                org.update(sobject, record_id, body)
                return {"id": record_id}
            return await answer(edit, request)

        @app.put(prefix + "/api-usage", include_in_schema=False)
        async def api_usage(request: Request) -> Response:
            """Set the daily API counter, e.g. back to 0 as the rolling 24-hour window would."""
            def apply(body: Any) -> dict[str, int]:
                org.set_api_usage(int(body.get("used", 0)), int(body["limit"]) if "limit" in body else None)
                return {"used": org.api_used, "limit": org.api_limit}
            return await answer(apply, request)

        @app.post(prefix + "/sessions/expire", include_in_schema=False)
        async def expire_sessions() -> Response:
            org.expire_sessions()
            return JSONResponse({"status": "expired"})

        @app.post(prefix + "/streaming/drop-clients", include_in_schema=False)
        async def drop_clients() -> Response:
            org.drop_streaming_clients()
            return JSONResponse({"status": "dropped"})

        @app.get(prefix + "/change-events", include_in_schema=False)
        async def change_events() -> Response:
            return JSONResponse(org.change_events())
