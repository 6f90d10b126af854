"""Column values on the wire: checking what a client writes, and rendering what a read returns.

Money and decimals stay `Decimal` from the JSON text to the answer; date-only columns are ISO dates;
date-time columns are UTC and render as `2026-12-01T21:13:25Z`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from q2c.sandboxes.dynamics365_sales.errors import VALIDATION, bad_request
from q2c.sandboxes.dynamics365_sales.tables import Column, Table

MONEY_MIN, MONEY_MAX = Decimal("-922337203685477"), Decimal("922337203685477")


def coerce(table: Table, column: Column, value: Any) -> Any:
    """The stored form of a written value, or a 400 naming the table and column."""
    if value is None:
        return None
    where = f"{table.logical}.{column.name}"
    kind = column.kind
    if kind in ("string", "memo"):
        if not isinstance(value, str):
            raise bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.String' "
                              f"for {where}.")
        if column.max_length is not None and len(value) > column.max_length:
            raise bad_request(f"A validation error occurred.  The length of the '{column.name}' attribute of the "
                              f"'{table.logical}' entity exceeded the maximum allowed length of "
                              f"'{column.max_length}'.", code=VALIDATION)
        return value
    if kind in ("integer", "picklist", "state", "status", "bigint"):
        if isinstance(value, bool) or not isinstance(value, int | Decimal) or int(value) != value:
            raise bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.Int32' for {where}.")
        whole = int(value)
        if kind in ("picklist", "state", "status") and whole not in column.options:
            raise bad_request(f"A validation error occurred. The value {whole} of '{column.name}' on record of "
                              f"type '{table.logical}' is outside the valid range. Accepted Values: "
                              f"{','.join(str(k) for k in column.options)}")
        return whole
    if kind in ("decimal", "money"):
        if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            raise bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.Decimal' for "
                              f"{where}.")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.Decimal' for "
                              f"{where}.") from None
        if kind == "money" and not MONEY_MIN <= number <= MONEY_MAX:
            raise bad_request(f"A validation error occurred. The value of '{column.name}' on record of type "
                              f"'{table.logical}' is outside the valid range.")
        return number.quantize(Decimal(1).scaleb(-column.precision)) if kind == "money" else number
    if kind == "boolean":
        if not isinstance(value, bool):
            raise bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.Boolean' for "
                              f"{where}.")
        return value
    if kind == "uniqueidentifier":
        return parse_guid(value, where)
    if kind == "dateonly":
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            raise bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.Date' for "
                              f"{where}.") from None
    if kind == "datetime":
        return parse_datetime(value, where)
    raise bad_request(f"The column {where} cannot be written directly.")


def parse_guid(value: Any, where: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.Guid' for "
                          f"{where}.") from None


def parse_datetime(value: Any, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTimeOffset' "
                          f"for {where}.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def render(value: Any) -> Any:
    """The JSON value a read returns (Decimal stays Decimal for `render_json`)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def formatted(column: Column, value: Any, *, symbol: str = "$") -> str | None:
    """The `OData.Community.Display.V1.FormattedValue` annotation a UI would show."""
    if value is None:
        return None
    if column.kind in ("picklist", "state", "status"):
        return column.options.get(int(value))
    if column.kind == "money":
        amount = Decimal(value)
        text = f"{abs(amount):,.2f}"
        return f"-{symbol}{text}" if amount < 0 else f"{symbol}{text}"
    if column.kind == "decimal":
        return f"{Decimal(value):,.{column.precision}f}"
    if column.kind == "boolean":
        return "Yes" if value else "No"
    if column.kind in ("integer", "bigint"):
        return f"{int(value):,}"
    if column.kind == "datetime" and isinstance(value, datetime):
        return f"{value.month}/{value.day}/{value.year} {value.strftime('%I:%M %p').lstrip('0')}"
    if column.kind == "dateonly" and isinstance(value, date):
        return f"{value.month}/{value.day}/{value.year}"
    return None
