"""SOQL literals for the queries the connector builds.

The connector renders every value through `literal()`, so a name with an apostrophe can never
break or widen a query (SOQL and SOSL Reference, "Quoted String Escape Sequences").
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b",
            "\f": "\\f"}


def literal(value: str | int | Decimal | bool | date | datetime | None) -> str:
    """Render a Python value as a SOQL literal. Floats are refused: money and hours are Decimal."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        if isinstance(value, Decimal) and not value.is_finite():
            raise ValueError(f"cannot render {value} in SOQL")
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("SOQL datetimes must carry a timezone")
        moment = value.astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + "".join(_ESCAPES.get(ch, ch) for ch in value) + "'"
    raise TypeError(f"cannot render {type(value).__name__} as a SOQL literal")
