"""The REST data API under /services/data: versions, sObjects, SOQL queries and limits.

Resources as in the REST API Developer Guide:
- `GET /services/data/`: the versions; any `vNN.N` answers below it;
- `/vNN.N/sobjects/`: describe global; `/sobjects/{Type}` basic information (GET) and create (POST,
  201 {id, success, errors}); `/sobjects/{Type}/describe`; `/sobjects/{Type}/{id}` GET (`?fields=`),
  PATCH and DELETE (204); `POST /sobjects/{Type}/Id` always creates;
- `/sobjects/{Type}/{ExternalIdField}/{value}`: GET, and PATCH upsert: 201 created, 200 updated
  with {id, success, errors, created} (before API 46.0: 204 for an update, and no `created`), 300
  with the matches' URLs when several records share the value; `?updateOnly=true` never creates;
- `/vNN.N/query?q=` (and `queryAll`) with `Sforce-Query-Options: batchSize=N`, then
  `/query/{locator}-{offset}` for the next pages; `/vNN.N/limits`.

Every call needs a live bearer session (401 INVALID_SESSION_ID), counts against the daily
allocation (403 REQUEST_LIMIT_EXCEEDED once spent) and answers with Sforce-Limit-Info. A write's
change events name the API version and the `client` of Sforce-Call-Options in changeOrigin.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from fastapi import Request
from starlette.responses import JSONResponse, Response

from q2c.sandboxes.salesforce.auth import bearer
from q2c.sandboxes.salesforce.changes import Actor
from q2c.sandboxes.salesforce.describe import object_summary
from q2c.sandboxes.salesforce.errors import ApiFault, api_error, fault, not_found
from q2c.sandboxes.salesforce.limits import LIMIT_INFO_HEADER, limit_exceeded
from q2c.sandboxes.salesforce.org import SalesforceOrg
from q2c.sandboxes.salesforce.schema import SObjectSpec

_VERSION = re.compile(r"^v(\d{2,3}\.\d)$")
FIRST_VERSION, LAST_VERSION = 55, 62


def release_label(version: str) -> str:
    """The release a version belongs to: 59.0 was Winter '24, and there are three releases a year."""
    offset = int(float(version)) - 59
    season = ("Winter", "Spring", "Summer")[offset % 3]
    return f"{season} '{24 + offset // 3:02d}"


def versions() -> JSONResponse:
    return JSONResponse([{"label": release_label(f"{v}.0"), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
                         for v in range(FIRST_VERSION, LAST_VERSION + 1)])


def _call_options_client(request: Request) -> str | None:
    for part in re.split(r"[,;]", request.headers.get("Sforce-Call-Options", "")):
        key, _, value = part.strip().partition("=")
        if key.strip() == "client" and value.strip():
            return value.strip()
    return None


def _batch_size(request: Request) -> int | None:
    for part in request.headers.get("Sforce-Query-Options", "").split(","):
        key, _, value = part.strip().partition("=")
        if key.strip() == "batchSize" and value.strip().isdigit():
            return int(value.strip())
    return None


def _segments(request: Request) -> list[str]:
    """The path below /services/data/, split on raw slashes so that an encoded %2F stays in its value."""
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    segments = [unquote(s) for s in raw_path.decode("latin-1")[len("/services/data/"):].split("/")]
    while segments and segments[-1] == "":
        segments.pop()
    return segments


async def request_body(request: Request) -> Any:
    """The JSON body (numbers as Decimal), {} when empty; JSON_PARSER_ERROR when it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw, parse_float=Decimal)
    except ValueError as exc:
        raise fault(400, "JSON_PARSER_ERROR", f"Unexpected character in request body: {exc}") from None


def _not_allowed(method: str, allowed: str) -> ApiFault:
    return fault(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {allowed}")


class DataApi:
    """/services/data/{rest:path}: authentication, the allocation, then the resource."""

    def __init__(self, org: SalesforceOrg) -> None:
        self.org = org

    async def handle(self, request: Request, rest: str = "") -> Response:
        segments = _segments(request)
        if not segments:
            return versions()
        version_match = _VERSION.match(segments[0])
        if version_match is None:
            return JSONResponse([api_error("NOT_FOUND", "The requested resource does not exist")], status_code=404)
        version = version_match.group(1)
        token = bearer(request)
        session = None if token is None else self.org.session(token)
        if session is None:
            return JSONResponse([api_error("INVALID_SESSION_ID", "Session expired or invalid")], status_code=401,
                                headers={"WWW-Authenticate": "Token", LIMIT_INFO_HEADER: self.org.limit_info()})
        if not self.org.consume_api_call():
            return limit_exceeded(self.org.limit_info())
        client = _call_options_client(request)
        actor = Actor(session.user_id, f"com/salesforce/api/rest/{version}" + (f";client={client}" if client else ""))
        try:
            response = await self._resource(request, version, segments[1:], actor)
        except ApiFault as exc:
            response = JSONResponse(exc.body, status_code=exc.status)
        response.headers[LIMIT_INFO_HEADER] = self.org.limit_info()
        return response

    async def _resource(self, request: Request, version: str, parts: list[str], actor: Actor) -> Response:
        method = request.method
        if not parts:
            prefix = f"/services/data/v{version}"
            return JSONResponse({name: f"{prefix}/{name}" for name in ("sobjects", "query", "queryAll", "limits")})
        head, rest = parts[0], parts[1:]
        if head == "limits" and not rest and method == "GET":
            return JSONResponse(self.org.limits())
        if head in {"query", "queryAll"} and method == "GET":
            return self._query(request, version, rest)
        if head == "sobjects":
            return await self._sobjects(request, version, rest, actor)
        raise not_found()

    def _query(self, request: Request, version: str, rest: list[str]) -> Response:
        if rest:
            if len(rest) != 1:
                raise not_found()
            return JSONResponse(self.org.query_more(rest[0], version=version))
        text = request.query_params.get("q")
        if not text:
            raise fault(400, "MALFORMED_QUERY", "A query string has to be specified")
        return JSONResponse(self.org.query(text, version=version, batch_size=_batch_size(request)))

    async def _sobjects(self, request: Request, version: str, parts: list[str], actor: Actor) -> Response:
        method = request.method
        if not parts:
            if method != "GET":
                raise _not_allowed(method, "GET")
            return JSONResponse(self.org.describe_global(version))
        spec = self.org.spec(parts[0])
        rest = parts[1:]
        if not rest:
            if method == "GET":
                return JSONResponse({"objectDescribe": object_summary(spec, version), "recentItems": []})
            if method == "POST":
                record_id = self.org.create(spec.name, await request_body(request), actor)
                return JSONResponse({"id": record_id, "success": True, "errors": []}, status_code=201)
            raise _not_allowed(method, "GET,POST")
        if rest == ["describe"] and method == "GET":
            return JSONResponse(self.org.describe(spec.name, version))
        if len(rest) == 1:
            return await self._record(request, version, spec, rest[0], actor)
        if len(rest) == 2:
            return await self._by_external_id(request, version, spec, rest, actor)
        raise not_found()

    async def _record(self, request: Request, version: str, spec: SObjectSpec, record_id: str,
                      actor: Actor) -> Response:
        method = request.method
        if method == "POST" and record_id == "Id":  # POST /sobjects/Type/Id: always creates
            new_id = self.org.create(spec.name, await request_body(request), actor)
            return JSONResponse({"id": new_id, "success": True, "errors": [], "created": True}, status_code=201)
        if method == "GET":
            return JSONResponse(self.org.read(spec.name, record_id, _fields(request), version))
        if method == "PATCH":
            self.org.update(spec.name, record_id, await request_body(request), actor)
            return Response(status_code=204)
        if method == "DELETE":
            self.org.delete(spec.name, record_id, actor)
            return Response(status_code=204)
        raise not_found()

    async def _by_external_id(self, request: Request, version: str, spec: SObjectSpec, rest: list[str],
                              actor: Actor) -> Response:
        field_name, value = rest
        if request.method == "GET":
            return JSONResponse(self.org.read_by_external_id(spec.name, field_name, value, _fields(request), version))
        if request.method != "PATCH":
            raise not_found()
        body = await request_body(request)
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


def _fields(request: Request) -> list[str] | None:
    return [f for f in request.query_params.get("fields", "").split(",") if f.strip()] or None
