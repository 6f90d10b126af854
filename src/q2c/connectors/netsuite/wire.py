"""JSON on the NetSuite wire with exact decimals.

NetSuite takes hours, rates and amounts as JSON numbers. The standard library would route a
`Decimal` through `float` (or refuse it); here it is written digit for digit, and numbers read
back become `Decimal`, so money never passes through binary floating point on either side.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

_encode_str = json.encoder.encode_basestring_ascii


def dumps(value: Any) -> bytes:
    """Encode dicts, lists, str, int, bool, None and finite Decimal as compact JSON."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts).encode("ascii")


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_encode_str(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send the non-finite number {value} to NetSuite")
        text = format(value, "f")
        out.append(text if text not in ("-0",) else "0")
    elif isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, got {type(key).__name__}")
            out.append(_encode_str(key))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(value, float):
        raise TypeError("floats are not sent to NetSuite: use Decimal for hours, rates and amounts")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def loads(raw: bytes | str) -> Any:
    """Decode JSON, reading every non-integer number as `Decimal`."""
    return json.loads(raw, parse_float=Decimal)
