"""JSON as NetSuite's REST web services write and read it, with numbers kept exact.

NetSuite sends and takes hours, rates and amounts as JSON numbers. The standard library would
turn them into binary floats on the way in and cannot write a `Decimal` on the way out, so the
sandbox writes its own: every number read is a `Decimal` (integers stay `int`), and a `Decimal`
is written digit for digit as a JSON number. `NaN` and `Infinity` are not JSON, and NetSuite's
parser refuses them, so they are refused here too. Floats never occur inside the sandbox, so
meeting one is a bug and raises.

Response media types are the ones NetSuite's REST API declares (`application/vnd.oracle.
resource+json` with `type=singular`, `collection` or `error`); the OAuth 2.0 token endpoint and
RESTlets answer plain `application/json`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from starlette.responses import Response

SINGULAR = "application/vnd.oracle.resource+json; type=singular"
COLLECTION = "application/vnd.oracle.resource+json; type=collection"
ERROR = "application/vnd.oracle.resource+json; type=error"
PLAIN = "application/json"


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON of dicts, lists, tuples, str, int, bool, None and finite `Decimal`."""
    out: list[str] = []
    _emit(value, out)
    return "".join(out).encode("utf-8")


def _emit(value: Any, out: list[str]) -> None:
    if value is None or isinstance(value, bool):
        out.append({None: "null", True: "true", False: "false"}[value])
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        out.append(_number(value))
    elif isinstance(value, Mapping):
        _emit_object(value, out)
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            out.append("," if index else "")
            _emit(item, out)
        out.append("]")
    else:
        raise TypeError(f"the NetSuite sandbox does not write {type(value).__name__} as JSON (numbers are Decimal)")


def _emit_object(value: Mapping[Any, Any], out: list[str]) -> None:
    out.append("{")
    for index, (key, item) in enumerate(value.items()):
        if not isinstance(key, str):
            raise TypeError(f"a JSON object key must be a string, not {type(key).__name__}")
        out.append(("," if index else "") + json.dumps(key, ensure_ascii=False) + ":")
        _emit(item, out)
    out.append("}")


def _number(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value} is not a JSON number")
    return format(value, "f")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(raw: bytes | str) -> Any:
    """Parse JSON; fractions and exponents become `Decimal`, `NaN`/`Infinity` are refused."""
    return json.loads(raw, parse_float=Decimal, parse_constant=_no_constants)


def json_response(body: Any, status: int = 200, *, media_type: str = PLAIN,
                  headers: Mapping[str, str] | None = None) -> Response:
    return Response(dumps(body), status_code=status, media_type=media_type, headers=dict(headers or {}))
