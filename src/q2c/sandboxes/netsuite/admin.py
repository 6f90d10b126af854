"""The sandbox's own routes under /__sandbox/netsuite/: what an administrator would change in the UI.

No NetSuite account has them and the connector never calls them. `PUT .../setup` changes the
account's set-up one key at a time (role permissions, the integration record's boxes and state,
the RESTlet deployment's status and audience; see setup.py), so a test can break exactly one thing
that first contact must notice; `GET .../login-audit-trail` lists refused logins with the detail
NetSuite's Login Audit Trail would show; `POST .../void` is an accountant pressing Void on an invoice or
credit memo (`{"type": "invoice", "externalId": "INV-1"}` or `"id"`): the REST record service offers no
void, the UI and SuiteScript's N/transaction do.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from q2c.sandboxes.netsuite.state import NetSuiteState

PREFIX = "/__sandbox/netsuite"


def install_admin(app: FastAPI, state: NetSuiteState) -> None:
    @app.get(PREFIX + "/setup", include_in_schema=False)
    async def get_setup() -> dict[str, Any]:
        return state.setup.shown()

    @app.put(PREFIX + "/setup", include_in_schema=False)
    async def put_setup(request: Request) -> Response:
        body = await request.json()
        if not isinstance(body, dict):
            return JSONResponse({"error": "the body is an object of setup keys"}, status_code=400)
        try:
            state.setup.changed(body)
        except (TypeError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(state.setup.shown())

    @app.post(PREFIX + "/void", include_in_schema=False)
    async def void(request: Request) -> Response:
        body = await request.json()
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            return JSONResponse({"error": "the body names the record: {type, id} or {type, externalId}"},
                                status_code=400)
        rtype = body["type"].lower()
        internal = (state.internal_id(rtype, str(body["externalId"])) if "externalId" in body
                    else str(body.get("id", "")))
        if internal is None or state.records.get(rtype, {}).get(internal) is None:
            return JSONResponse({"error": f"no {rtype} {body.get('externalId', body.get('id'))}"}, status_code=404)
        try:
            record = state.void(rtype, internal)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"id": record.id, "tranId": record.tran_id, "status": state.status_name(record)})

    @app.get(PREFIX + "/login-audit-trail", include_in_schema=False)
    async def login_audit_trail() -> list[dict[str, str]]:
        return list(state.login_audit)
