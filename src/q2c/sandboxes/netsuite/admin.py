"""The sandbox's own routes under /__sandbox/netsuite/: what an administrator would change in the UI.

No NetSuite account has them and the connector never calls them. `PUT .../setup` changes the
account's set-up one key at a time (role permissions, the integration record's boxes and state,
the RESTlet deployment's status and audience; see setup.py), so a test can break exactly one thing
that first contact must notice; `GET .../login-audit-trail` lists refused logins with the detail
NetSuite's Login Audit Trail would show.
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

    @app.get(PREFIX + "/login-audit-trail", include_in_schema=False)
    async def login_audit_trail() -> list[dict[str, str]]:
        return list(state.login_audit)
