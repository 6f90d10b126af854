"""`POST /webhooks/erp`: where the ERP pushes its change notices (Business Central's webhook subscriptions).

A machine caller with no bearer token: a handshake (`?validationToken=`) is answered 200 with the token as
plain text, a notification carrying q2c's `clientState` is accepted (202) and makes the scheduler poll
invoice status now, anything else is refused (401). The poll, not the notice, changes the books
(`workflows/erp_notices.py`)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from q2c.entrypoints.api_errors import error_body
from q2c.workflows.erp_notices import receive_notice
from q2c.workflows.hub import Hub

PATH = "/webhooks/erp"
MAX_BYTES = 1_000_000  # a notification lists at most 1,000 records before Business Central sends `collection`


def erp_notices_router(hub: Hub, poll_now: Callable[[], None]) -> APIRouter:
    router = APIRouter(tags=["webhooks"])

    @router.post(PATH, status_code=202, summary="A change notice from the ERP (or its subscription handshake)",
                 responses={200: {"description": "The handshake: the validationToken, as text/plain",
                                  "content": {"text/plain": {}}},
                            202: {"description": "A notification from q2c's subscription: invoice status is "
                                                 "polled now"},
                            401: {"description": "Not from q2c's subscription (no or another clientState)"},
                            413: {"description": "The body is over 1 MB"}})
    async def erp_notice(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BYTES:
            return JSONResponse(error_body(413, f"the notification has {len(body)} bytes; at most {MAX_BYTES}"),
                                status_code=413)
        notice = receive_notice(hub, dict(request.query_params), body, poll_now=poll_now)
        if notice.reply is not None:
            return PlainTextResponse(notice.reply, headers={"X-Content-Type-Options": "nosniff"})
        if notice.refused is not None:
            return JSONResponse(error_body(401, notice.refused), status_code=401)
        return Response(status_code=202)

    return router
