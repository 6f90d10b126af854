"""The sandbox's refusals in Harvest's two error shapes.

Harvest answers a validation failure or an unknown id with `{"message": ...}` (422 or 404), and an
authentication failure with the OAuth shape `{"error", "error_description"}`; a missing User-Agent
is a 400 with a message. FastAPI's own request validation (a path id that is not a number) is put
in the `{"message"}` shape too, so a client never sees a FastAPI-specific body.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import JSONResponse, Response


class HarvestRefusal(Exception):
    """What Harvest answers with `{"message": ...}`: 422 for validation, 404 for an unknown id."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class NotFound(HarvestRefusal):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found", 404)


class Refused(Exception):
    """An answer in another shape than 422 `{"message"}`: auth failures, a missing User-Agent, bad JSON."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.status = status
        self.body = body


def install_error_handlers(app: FastAPI) -> None:
    """Turn the refusals above, and FastAPI's validation errors, into Harvest's answers."""

    @app.exception_handler(HarvestRefusal)
    async def refusal(_: Request, exc: HarvestRefusal) -> Response:
        return JSONResponse({"message": exc.message}, status_code=exc.status)

    @app.exception_handler(Refused)
    async def refused(_: Request, exc: Refused) -> Response:
        return JSONResponse(exc.body, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        return JSONResponse({"message": f"{where or 'request'}: {first.get('msg', 'is invalid')}"},
                            status_code=422)
