"""JSON in and out: numbers are `Decimal` inside the sandbox and plain JSON numbers on the wire.

Harvest sends amounts and hours as JSON numbers (`"hours": 2.11`). Reading them with the standard
parser would make binary floats; here every number with a fraction (and NaN or Infinity, which are
then refused as "not a number") is read straight into `Decimal`, and written back from it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from q2c.sandboxes.harvest.errors import Refused
from q2c.sandboxes.kit import render_json as render

Json = dict[str, Any]
JSON_MEDIA = "application/json; charset=utf-8"


def read_json(raw: str | bytes) -> Any:
    """Parse JSON text; fractions and the non-finite constants become `Decimal`, never float."""
    return json.loads(raw, parse_float=Decimal, parse_constant=Decimal)


def json_response(body: Any, status: int = 200) -> Response:
    return Response(render(body).encode(), status_code=status, media_type=JSON_MEDIA)


async def body_of(request: Request) -> Json:
    """The request's JSON object (an empty body is an empty object); anything else is a 400."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        parsed = read_json(raw)
    except ValueError:
        raise Refused(400, {"message": "The request body is not valid JSON"}) from None
    if not isinstance(parsed, dict):
        raise Refused(400, {"message": "The request body must be a JSON object"})
    return parsed
