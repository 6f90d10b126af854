"""One error shape for every error the HTTP API answers with, its own and FastAPI's.

`{"error": {"status": 404, "code": "not_found", "message": "...", "field": null}}`: a client reads
one shape whether the request failed validation (422), named a missing exception (404), carried a bad
signature or no valid bearer token (401), lacked the role a route needs (403) or met a database that does
not answer (503). A server error never shows a stack
trace or the database's own words (they can name hosts and users); those go to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.utils import is_body_allowed_for_status_code
from starlette.exceptions import HTTPException

from q2c.entrypoints.api_models import PATTERN_MEANINGS, ErrorDetail, ErrorResponse

log = logging.getLogger("q2c.api")

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "payload_too_large", 422: "validation_error", 500: "internal_error", 503: "unavailable"}
DESCRIPTIONS = {
    400: "The request is well-formed but cannot be done as asked (the message says why).",
    401: "No bearer token, or one that is unknown, revoked or expired, or whose user is disabled "
         "(`WWW-Authenticate: Bearer`).",
    403: "The caller's role is below the one this route needs (the message names it).",
    404: "The record named in the path does not exist.",
    409: "The record is not in a state that allows this (the message says what it is waiting for).",
    413: "The body is over the configured size limit.",
    422: "A parameter or body field is invalid; `field` names it.",
    503: "The database does not answer; try again later.",
}
_LOCATIONS = ("body", "query", "path", "header", "cookie")
_MAX_LISTED = 5  # validation problems spelt out in one message


class ApiError(HTTPException):
    """An error the API raises on purpose, naming the field at fault when there is one."""

    def __init__(self, status: int, message: str, *, field: str | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status, message, headers=headers)
        self.field = field
        self.code = code or CODES.get(status, f"http_{status}")


def error_body(status: int, message: str, *, field: str | None = None, code: str | None = None) -> dict[str, Any]:
    detail = ErrorDetail(status=status, code=code or CODES.get(status, f"http_{status}"), message=message,
                         field=field)
    return ErrorResponse(error=detail).model_dump()


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entries of a route's documented errors, all in the one error shape."""
    return {status: {"model": ErrorResponse, "description": DESCRIPTIONS[status]} for status in statuses}


def field_name(loc: Sequence[int | str]) -> str | None:
    """`("body", "ids", 2)` -> `ids[2]`; `("query", "limit")` -> `limit`; the body as a whole -> None."""
    parts = list(loc[1:]) if loc and loc[0] in _LOCATIONS else list(loc)
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or None


def _problem(error: dict[str, Any]) -> tuple[str | None, str]:
    """The field and the sentence of one pydantic error."""
    ctx = error.get("ctx") or {}
    if error.get("type") == "json_invalid":
        position = error["loc"][-1] if isinstance(error["loc"][-1], int) else None
        where = f" at character {position}" if position is not None else ""
        return None, f"body is not valid JSON ({ctx.get('error', 'decode error')}{where})"
    field = field_name(error["loc"])
    message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    if error.get("type") == "string_pattern_mismatch" and ctx.get("pattern") in PATTERN_MEANINGS:
        message = PATTERN_MEANINGS[ctx["pattern"]]
    return field, (f"field '{field}': {message}" if field else f"body: {message}")


def validation_error_body(errors: Sequence[Any]) -> dict[str, Any]:
    problems = [_problem(dict(e)) for e in errors] or [(None, "the request is invalid")]
    message = "; ".join(sentence for _, sentence in problems[:_MAX_LISTED])
    if len(problems) > _MAX_LISTED:
        message += f"; and {len(problems) - _MAX_LISTED} more"
    return error_body(422, message, field=problems[0][0])


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = getattr(exc, "headers", None)
    if not is_body_allowed_for_status_code(exc.status_code):
        return Response(status_code=exc.status_code, headers=headers)
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    field = exc.field if isinstance(exc, ApiError) else None
    code = exc.code if isinstance(exc, ApiError) else None
    return JSONResponse(error_body(exc.status_code, message, field=field, code=code), status_code=exc.status_code,
                        headers=headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(validation_error_body(exc.errors()), status_code=422)


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
    body = error_body(503, "the database does not answer; try again later (details are in the service log)",
                      code="database_unavailable")
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(error_body(500, "internal error (details are in the service log)"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(sa.exc.OperationalError, _database_unavailable)
    app.add_exception_handler(sa.exc.InterfaceError, _database_unavailable)
    app.add_exception_handler(Exception, _internal_error)
