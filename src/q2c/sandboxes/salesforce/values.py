"""Field values on the wire: JSON request values to stored ones by field type, and stored ones back.

Salesforce's REST API takes and returns numbers as JSON numbers, dates as yyyy-MM-dd and
datetimes as yyyy-MM-ddTHH:mm:ss.SSS+0000 (REST "Valid Date and DateTime Formats": a Z or an
offset, milliseconds optional). Stored values are Decimal, date and timezone-aware datetime;
an empty text value is stored as null, as Salesforce does. A value of the wrong shape is a
JSON_PARSER_ERROR naming the field; a reference must be a well-formed id of the target object.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from q2c.sandboxes.salesforce.errors import ApiFault, fault
from q2c.sandboxes.salesforce.ids import normalize_id
from q2c.sandboxes.salesforce.schema import OBJECTS, FieldSpec

TEXT_TYPES = frozenset({"string", "textarea", "picklist"})
ID_TYPES = frozenset({"id", "reference"})
_OFFSET_WITHOUT_COLON = re.compile(r"[+-]\d{4}$")


def format_datetime(value: datetime, *, zulu: bool = False) -> str:
    moment = value.astimezone(UTC)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond // 1000:03d}"
    return base + ("Z" if zulu else "+0000")


def to_wire(value: Any, *, zulu: bool = False) -> Any:
    """JSON-safe form of a stored value: Salesforce sends numbers as JSON numbers."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return format_datetime(value, zulu=zulu)
    if isinstance(value, date):
        return value.isoformat()
    return value


def parse_datetime(text: str) -> datetime | None:
    """A request's datetime (Z, +hh:mm or +hhmm; without an offset, UTC), or None."""
    normal = text.strip()
    if normal.endswith("Z"):
        normal = normal[:-1] + "+00:00"
    if _OFFSET_WITHOUT_COLON.search(normal):
        normal = normal[:-2] + ":" + normal[-2:]
    try:
        moment = datetime.fromisoformat(normal)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _unparseable(fspec: FieldSpec, raw: Any, what: str) -> ApiFault:
    return fault(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of {what} from value {raw!r} "
                                           "or request may be missing a required field", [fspec.name])


def _text(fspec: FieldSpec, raw: Any) -> str | None:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise _unparseable(fspec, raw, "string")
    text = str(raw)
    if not text:
        return None
    if fspec.length and len(text) > fspec.length:
        raise fault(400, "STRING_TOO_LONG", f"{fspec.label}: data value too large: {text[:40]} (max "
                                            f"length={fspec.length})", [fspec.name])
    if fspec.type == "picklist" and fspec.picklist and text not in fspec.picklist:
        raise fault(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{fspec.label}: bad value for restricted picklist field: {text}", [fspec.name])
    return text


def _reference(fspec: FieldSpec, raw: Any) -> str:
    if not isinstance(raw, str):
        raise _unparseable(fspec, raw, "id")
    rid = normalize_id(raw)
    target = OBJECTS.get(fspec.reference_to or "")
    if rid is None or (target is not None and rid[:3] != target.key_prefix):
        raise fault(400, "MALFORMED_ID", f"{fspec.label}: id value of incorrect type: {raw}", [fspec.name])
    return rid


def _boolean(fspec: FieldSpec, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in {"true", "false"}:
        return raw.lower() == "true"
    raise _unparseable(fspec, raw, "boolean")


def _number(fspec: FieldSpec, raw: Any) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal | str):
        raise _unparseable(fspec, raw, "double")
    try:
        number = Decimal(str(raw))
    except InvalidOperation:
        raise _unparseable(fspec, raw, "double") from None
    if not number.is_finite():
        raise _unparseable(fspec, raw, "double")
    return number


def _date(fspec: FieldSpec, raw: Any) -> date:
    if isinstance(raw, str) and (len(raw) == 10 or raw[10:11] == "T"):
        try:
            return date.fromisoformat(raw[:10])
        except ValueError:
            pass
    raise _unparseable(fspec, raw, "date")


def _datetime(fspec: FieldSpec, raw: Any) -> datetime:
    moment = parse_datetime(raw) if isinstance(raw, str) else None
    if moment is None:
        raise _unparseable(fspec, raw, "datetime")
    return moment


_BY_TYPE: dict[str, Callable[[FieldSpec, Any], Any]] = {
    "string": _text, "textarea": _text, "picklist": _text, "id": _reference, "reference": _reference,
    "boolean": _boolean, "currency": _number, "double": _number, "date": _date, "datetime": _datetime,
}


def coerce(fspec: FieldSpec, raw: Any) -> Any:
    """The stored value of a JSON request value for `fspec`; ApiFault when Salesforce would refuse it.

    A reference is checked for shape and key prefix only: whether the record exists is the org's call.
    """
    if raw is None:
        return None
    return _BY_TYPE[fspec.type](fspec, raw)
