"""The sandbox's own routes under /__sandbox/salesforce/: seed and inspect the org over HTTP.

A real org has nothing like them and the connector never calls them; the demo and `q2c sandbox`
users do, to load records, move the API counter, expire sessions, drop CometD clients and read
the change events, and to change the org's setup the way an admin would in Setup:

- `GET|PUT /org` `{"multicurrency": false, "currency": "EUR"}`: single or multiple currencies and
  the org's currency, while the org holds no records (a new org); afterwards only
  `{"multicurrency": true}`, as Salesforce can enable multiple currencies but never disable them;
- `DELETE /fields/{sobject}/{field}`: delete a custom field;
- `PUT /fields/{sobject}/{field}/access` `{"access": "edit" | "read" | "none"}`: the integration
  user's field-level security on it.

`POST /__sandbox/reset` puts the setup back to the one the sandbox was created with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from q2c.sandboxes.salesforce.catalog import ACCESS_LEVELS
from q2c.sandboxes.salesforce.errors import ApiFault, fault
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

    @app.get(PREFIX + "/org", include_in_schema=False)
    async def org_setup() -> Response:
        return JSONResponse({"multicurrency": org.multicurrency, "currency": org.currency})

    @app.put(PREFIX + "/org", include_in_schema=False)
    async def change_org_setup(request: Request) -> Response:
        def apply(body: Any) -> dict[str, Any]:
            setup = body if isinstance(body, dict) else {}
            wanted, currency = setup.get("multicurrency"), setup.get("currency")
            if wanted is not None and not isinstance(wanted, bool):
                raise fault(400, "INVALID_FIELD", "multicurrency must be true or false", ["multicurrency"])
            if currency is not None and not isinstance(currency, str):
                raise fault(400, "INVALID_FIELD", "currency must be an ISO 4217 code such as EUR", ["currency"])
            try:
                org.configure(multicurrency=wanted, currency=currency)
            except ApiFault:
                if wanted is not True or currency is not None:
                    raise
                org.enable_multicurrency()
            return {"multicurrency": org.multicurrency, "currency": org.currency}
        return await _answer(apply, request)

    @app.delete(PREFIX + "/fields/{sobject}/{field}", include_in_schema=False)
    async def delete_field(sobject: str, field: str) -> Response:
        return await _answer(lambda _: {"deleted": f"{org.spec(sobject).name}.{org.delete_field(sobject, field)}"})

    @app.put(PREFIX + "/fields/{sobject}/{field}/access", include_in_schema=False)
    async def field_access(sobject: str, field: str, request: Request) -> Response:
        def apply(body: Any) -> dict[str, str]:
            access = body.get("access") if isinstance(body, dict) else None
            if access not in ACCESS_LEVELS:
                raise fault(400, "INVALID_FIELD", f"access must be one of {', '.join(ACCESS_LEVELS)}", ["access"])
            name = org.set_field_access(sobject, field, access)
            return {"field": f"{org.spec(sobject).name}.{name}", "access": str(access)}
        return await _answer(apply, request)

    @app.get(PREFIX + "/change-events", include_in_schema=False)
    async def change_events() -> Response:
        return JSONResponse(org.change_events())
