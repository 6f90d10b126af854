"""`/__sandbox/dynamics365_sales/`: what a salesperson does in the app (create, edit, delete rows, win a
deal), reads for tests and the demo, and levers no real org has (advance its clock, expire tokens)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from q2c.sandboxes.dynamics365_sales.errors import DataverseError, bad_request
from q2c.sandboxes.dynamics365_sales.tables import TABLES
from q2c.sandboxes.kit import render_json

if TYPE_CHECKING:
    from q2c.sandboxes.dynamics365_sales.app import DataverseSandbox

PREFIX = "/__sandbox/dynamics365_sales"


def _json(value: Any, status: int = 200) -> Response:
    return Response(render_json(value), status_code=status, media_type="application/json")


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    value = json.loads(raw, parse_float=Decimal) if raw.strip() else {}
    if not isinstance(value, dict):
        raise bad_request("The admin request body must be a JSON object.")
    return value


def _table(name: str) -> str:
    if name in TABLES:
        return name
    for table in TABLES.values():
        if table.entity_set == name:
            return table.logical
    raise DataverseError(404, "0x80040217", f"No table {name!r}; tables: {', '.join(TABLES)}")


def install_admin(app: FastAPI, box: DataverseSandbox) -> None:
    def guarded(handler: Any) -> Any:
        async def run(request: Request) -> Response:
            try:
                return await handler(request)  # type: ignore[no-any-return]
            except DataverseError as error:
                return JSONResponse(error.body(), status_code=error.status)
        return run

    async def list_rows(request: Request) -> Response:
        return _json({"value": box.rows(_table(request.path_params["table"]))})

    async def create_row(request: Request) -> Response:
        table = _table(request.path_params["table"])
        row = box.ui_create(table, await _body(request))
        return _json(box.read(table, row[TABLES[table].primary_id]), 201)

    async def get_row(request: Request) -> Response:
        return _json(box.read(_table(request.path_params["table"]), request.path_params["row_id"]))

    async def update_row(request: Request) -> Response:
        table = _table(request.path_params["table"])
        box.ui_update(table, request.path_params["row_id"], await _body(request))
        return _json(box.read(table, request.path_params["row_id"]))

    async def delete_row(request: Request) -> Response:
        box.ui_delete(_table(request.path_params["table"]), request.path_params["row_id"])
        return Response(status_code=204)

    async def win(request: Request) -> Response:
        body = await _body(request)
        row = box.win(request.path_params["row_id"], status=int(body.get("status", 3)),
                      actual_revenue=body.get("actualrevenue"), actual_end=body.get("actualend"))
        return _json(box.read("opportunity", row["opportunityid"]))

    async def clock(request: Request) -> Response:
        body = await _body(request)
        box.advance_clock(float(body.get("advance_seconds", 0)))
        return _json({"now": box.org.clock().isoformat()})

    async def expire_tokens(request: Request) -> Response:
        box.tenant.expire_tokens()
        return _json({"status": "expired"})

    async def info(request: Request) -> Response:
        return _json({"tenant_id": box.tenant_id, "client_id": box.client_id,
                      "application_user_id": box.application_user_id(), "salesperson_id": box.salesperson_id,
                      "currencies": {c["isocurrencycode"]: c["transactioncurrencyid"]
                                     for c in box.org.table_rows("transactioncurrency")}})

    for path, handler, methods in (
            ("/org", info, ["GET"]),
            ("/tables/{table}", list_rows, ["GET"]), ("/tables/{table}", create_row, ["POST"]),
            ("/tables/{table}/{row_id}", get_row, ["GET"]), ("/tables/{table}/{row_id}", update_row, ["PATCH"]),
            ("/tables/{table}/{row_id}", delete_row, ["DELETE"]),
            ("/opportunities/{row_id}/win", win, ["POST"]), ("/clock", clock, ["POST"]),
            ("/tokens/expire", expire_tokens, ["POST"])):
        app.add_api_route(PREFIX + path, guarded(handler), methods=methods, include_in_schema=False)
