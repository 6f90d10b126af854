"""The sandbox's own routes under /__sandbox/salesforce/: seed and inspect the org over HTTP.

A real org has nothing like them and the connector never calls them; the demo and `q2c sandbox`
users do, to load records, move the API counter, expire sessions, drop CometD clients and read
the change events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from q2c.sandboxes.salesforce.errors import ApiFault
from q2c.sandboxes.salesforce.org import SalesforceOrg
from q2c.sandboxes.salesforce.rest import request_body

PREFIX = "/__sandbox/salesforce"


async def _answer(call: Callable[[Any], Any], request: Request | None = None) -> Response:
    try:
        body = await request_body(request) if request is not None else None
        return JSONResponse(call(body))
    except ApiFault as exc:
        return JSONResponse(exc.body, status_code=exc.status)


def install_admin(app: FastAPI, org: SalesforceOrg) -> None:
    @app.get(PREFIX + "/records/{sobject}", include_in_schema=False)
    async def list_records(sobject: str) -> Response:
        return await _answer(lambda _: org.records(sobject))

    @app.post(PREFIX + "/records/{sobject}", include_in_schema=False)
    async def insert_record(sobject: str, request: Request) -> Response:
        return await _answer(lambda body: {"id": org.create(sobject, body)}, request)

    @app.patch(PREFIX + "/records/{sobject}/{record_id}", include_in_schema=False)
    async def edit_record(sobject: str, record_id: str, request: Request) -> Response:
        def edit(body: Any) -> dict[str, str]:
            org.update(sobject, record_id, body)
            return {"id": record_id}
        return await _answer(edit, request)

    @app.put(PREFIX + "/api-usage", include_in_schema=False)
    async def api_usage(request: Request) -> Response:
        """Set the daily API counter, e.g. back to 0 as the rolling 24-hour window would."""
        def apply(body: Any) -> dict[str, int]:
            org.set_api_usage(int(body.get("used", 0)), int(body["limit"]) if "limit" in body else None)
            return {"used": org.api_used, "limit": org.api_limit}
        return await _answer(apply, request)

    @app.post(PREFIX + "/sessions/expire", include_in_schema=False)
    async def expire_sessions() -> Response:
        org.expire_sessions()
        return JSONResponse({"status": "expired"})

    @app.post(PREFIX + "/streaming/drop-clients", include_in_schema=False)
    async def drop_clients() -> Response:
        org.drop_streaming_clients()
        return JSONResponse({"status": "dropped"})

    @app.get(PREFIX + "/change-events", include_in_schema=False)
    async def change_events() -> Response:
        return JSONResponse(org.change_events())
