"""JSON in and out, and Toggl's refusals.

Toggl answers JSON with `application/json; charset=utf-8`; an error body is a bare JSON string
(`"'since' and 'before' can not be present simultaneously"`, seen on a real 400), and a request
without credentials gets 401 with an empty body. Rates are decimals, so every number with a
fraction is read into `Decimal` and written back from it, never through float.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from q2c.sandboxes.kit import render_json as render

Json = dict[str, Any]
JSON_MEDIA = "application/json; charset=utf-8"


class TogglRefusal(Exception):
    """An answer other than 2xx: `message` goes out as a JSON string (or an empty body for 401)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(render(body).encode(), status_code=status, media_type=JSON_MEDIA, headers=dict(headers or {}))


def refusal_response(exc: TogglRefusal) -> Response:
    if exc.status == 401:
        return Response(b"", status_code=401, headers={"X-Authorization-Missing": "true"})
    return json_response(exc.message, exc.status)


async def body_of(request: Request) -> Json:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw, parse_float=Decimal)
    except ValueError:
        raise TogglRefusal(400, "Invalid JSON input") from None
    if not isinstance(parsed, dict):
        raise TogglRefusal(400, "Invalid JSON input")
    return parsed


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TogglRefusal)
    async def refused(_: Request, exc: TogglRefusal) -> Response:
        return refusal_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        return json_response(f"Invalid {where or 'request'}", 400)


# --- fields of a request body -------------------------------------------------------------------


def as_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TogglRefusal(400, f"Invalid '{name}' value")
    try:
        return int(value)
    except ValueError:
        raise TogglRefusal(400, f"Invalid '{name}' value") from None


def optional_int(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(name)
    return None if value is None else as_int(value, name)


def as_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TogglRefusal(400, f"Invalid '{name}' value")
    return value


def as_date(value: Any, name: str) -> date:
    try:
        return date.fromisoformat(str(value)[:10]) if isinstance(value, str) and len(value) >= 10 else _bad(name)
    except ValueError:
        return _bad(name)


def as_instant(value: Any, name: str) -> datetime:
    """An RFC 3339 instant (a zone is required), as UTC."""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00")) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.utcoffset() is None:
        raise TogglRefusal(400, f"Invalid '{name}' value: it must be an RFC 3339 date and time with a zone")
    return parsed.astimezone(UTC)


def _bad(name: str) -> date:
    raise TogglRefusal(400, f"Invalid '{name}' value: it must be a date as YYYY-MM-DD")


def stamp(moment: datetime) -> str:
    """An instant as Toggl writes `start`/`stop`: seconds, `+00:00`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def local(moment: datetime, zone: str) -> str:
    """An instant as Toggl returns `start`/`stop`: "set into the appropriate timezone according to the setting
    in user profile" (API overview, engineering.toggl.com/docs), seconds and an offset."""
    return moment.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")


def stamp_at(moment: datetime) -> str:
    """An update time as Toggl writes `at`: microseconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
