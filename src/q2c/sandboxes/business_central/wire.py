"""Business Central's wire conventions: its error body, ETags, OData headers and JSON values.

Documented (learn.microsoft.com, "Error codes" for OData web services): errors are
`{"error": {"code": "...", "message": "..."}}` with codes such as `BadRequest_NotFound`,
`BadRequest_ResourceNotFound`, `BadRequest_InvalidToken` (no concurrency token), `Request_EntityChanged`
(stale token), `BadRequest_MethodNotAllowed`, `Internal_RecordNotFound`, `Internal_EntityWithSameKeyExists`,
`Application_DialogException`, `Application_FieldValidationException`; the message ends with
`  CorrelationId:  <guid>.` (the $batch article's example). Recalled: blank dates are `0001-01-01`, blank
datetimes `0001-01-01T00:00:00Z` and blank GUIDs all zeros; ETags are weak, `W/"JzQ0O..."` (base64 of a
quoted row version), which a client treats as opaque.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from starlette.responses import Response

from q2c.sandboxes.kit import render_json

Json = dict[str, Any]
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
BLANK_DATE = date(1, 1, 1)
ODATA_JSON = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"


class BcError(Exception):
    """An answer Business Central gives instead of the resource: status, error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> Json:
        return {"error": {"code": self.code, "message": f"{self.message}  CorrelationId:  {uuid.uuid4()}."}}


def not_found(entity: str, key: str) -> BcError:
    return BcError(404, "BadRequest_NotFound",
                   f"The {entity} does not exist. Identification fields and values: Id='{key}'")


def dialog(message: str) -> BcError:
    return BcError(400, "Application_DialogException", message)


def field_error(message: str) -> BcError:
    return BcError(400, "Application_FieldValidationException", message)


def bad_request(message: str) -> BcError:
    return BcError(400, "BadRequest", message)


def etag(row_id: str, version: int) -> str:
    """A weak ETag in Business Central's shape: base64 of a quoted, length-prefixed row version."""
    inner = f"{row_id}:{version}"
    token = base64.b64encode(f"'{len(inner) + 21};{base64.b64encode(inner.encode()).decode()};{version}0;'"
                             .encode()).decode()
    return f'W/"{token}"'


def wire_value(value: Any) -> Any:
    """A stored value as Business Central writes it (dates ISO, datetimes `Z`, decimals exact)."""
    if isinstance(value, datetime):
        text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        return ("0001-01-01T00:00:00" if value.year == 1 else text) + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: wire_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wire_value(v) for v in value]
    return value


def json_answer(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """An OData JSON response; `Decimal` values reach the wire without passing through float."""
    merged = {"OData-Version": "4.0", **(headers or {})}
    if body is None:
        return Response(status_code=status, headers=merged)
    return Response(render_json(wire_value(body)).encode(), status_code=status, media_type=ODATA_JSON,
                    headers=merged)


def error_answer(error: BcError, headers: Mapping[str, str] | None = None) -> Response:
    return json_answer(error.status, error.body(), headers)


def parse_body(raw: bytes) -> Any:
    """A request body as JSON with decimals kept exact; an empty body is None."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("The request body is not valid JSON.") from None


def now() -> datetime:
    return datetime.now(UTC)
