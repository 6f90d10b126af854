"""Reading one Dataverse row's columns, collecting every problem as a `Violation` instead of stopping.

Pure; no I/O. The Web API returns a row as JSON: lookups as `_<column>_value` (a GUID), choices as
integers with their label in the `@OData.Community.Display.V1.FormattedValue` annotation (when the
request asks for annotations), currency and decimal columns as JSON numbers (the client decodes them
as `Decimal`), date-only columns as `YYYY-MM-DD` and date-times as ISO 8601 in UTC (`...Z`).
A problem names the table's logical name, the row's id and the column a person fixes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from pydantic import ValidationError

from q2c.domain.money import Money, UnknownCurrency, check_currency, to_decimal
from q2c.domain.violations import Violation

SYSTEM = "dynamics365_sales"
LABEL = "Dynamics 365 Sales"
FORMATTED = "@OData.Community.Display.V1.FormattedValue"
LOOKUP_TABLE = "@Microsoft.Dynamics.CRM.lookuplogicalname"

T = TypeVar("T")


class MappingError(ValueError):
    """Dataverse rows that cannot become canonical records; `violations` says what to fix, and where."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__("; ".join(v.headline() for v in violations))


def as_guid(value: Any) -> str:
    """A Dataverse row id: a GUID, in the lower-case form the Web API returns."""
    if not isinstance(value, str):
        raise TypeError("not a GUID")
    return str(UUID(value.strip().strip("{}")))


def _as_text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not text")
    return value.strip()


def _as_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("not a boolean")
    return value


def as_datetime(value: Any) -> datetime:
    """An ISO 8601 date-time with its offset (Dataverse answers UTC, `2024-05-31T10:00:00Z`)."""
    if not isinstance(value, str):
        raise TypeError("not a datetime")
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("datetime without a timezone")
    return moment.astimezone(UTC)


def as_date(value: Any) -> date:
    """A date-only column: `YYYY-MM-DD`, or a date-time whose calendar date (as written) is the date."""
    if not isinstance(value, str):
        raise TypeError("not a date")
    return date.fromisoformat(value.strip()[:10])


def whole(value: Any) -> int:
    number = to_decimal(value, what="months")
    if number != number.to_integral_value():
        raise ValueError("not a whole number")
    return int(number)


class Reader:
    """Reads one row's columns into typed values, appending a violation for each bad one."""

    def __init__(self, table: str, record: Mapping[str, Any], id_column: str, violations: list[Violation]) -> None:
        self.table = table
        self.record = record
        raw = record.get(id_column)
        self.record_id = str(raw) if raw else "(no id)"
        self.violations = violations

    def flag(self, column: str | None, rule: str, message: str, action: str | None = None) -> None:
        where = f"{column} on {self.table} {self.record_id}" if column else f"{self.table} {self.record_id}"
        self.violations.append(Violation(
            system=SYSTEM, object=self.table, record_id=self.record_id, field=column,
            rule=f"{SYSTEM}.mapping.{rule}", message=message,
            action=action or f"Fix {where} in {LABEL} (sales operations), then replay"))

    def raw(self, column: str, required: bool) -> Any:
        value = self.record.get(column)
        if isinstance(value, str) and not value.strip():
            value = None
        if value is None and required:
            self.flag(column, "required", f"{column} is empty; q2c needs it to set up the work",
                      f"Fill in {column} on {self.table} {self.record_id} in {LABEL} (sales operations), then replay")
        return value

    def typed(self, column: str, required: bool, parse: Callable[[Any], T], rule: str, what: str) -> T | None:
        value = self.raw(column, required)
        if value is None:
            return None
        try:
            return parse(value)
        except (TypeError, ValueError):
            self.flag(column, rule, f"{column} is {value!r}, which is not {what}")
            return None

    def text(self, column: str, *, required: bool = False) -> str | None:
        return self.typed(column, required, _as_text, "text", "text")

    def guid(self, column: str, *, required: bool = False) -> str | None:
        return self.typed(column, required, as_guid, "id", "a GUID")

    def boolean(self, column: str) -> bool | None:
        return self.typed(column, False, _as_bool, "boolean", "true or false")

    def number(self, column: str, *, required: bool = False) -> Decimal | None:
        return self.typed(column, required, lambda v: to_decimal(v, what=column), "number", "a number")

    def whole_number(self, column: str) -> int | None:
        return self.typed(column, False, whole, "whole_number", "a whole number")

    def months(self, column: str, *, minimum: int) -> int | None:
        what = f"a whole number of months ({minimum} or more)"
        value = self.typed(column, False, whole, "months", what)
        if value is not None and value < minimum:
            self.flag(column, "months", f"{column} is {value}, which is not {what}")
            return None
        return value

    def day(self, column: str, *, required: bool = False) -> date | None:
        return self.typed(column, required, as_date, "date", "a date (YYYY-MM-DD)")

    def moment(self, column: str) -> datetime | None:
        return self.typed(column, False, as_datetime, "datetime", "an ISO 8601 date-time with its offset")

    def currency(self, column: str, currencies: Mapping[str, str], *, required: bool = False) -> str | None:
        """A `_transactioncurrencyid_value` lookup, as the ISO code of the currency it names."""
        currency_id = self.guid(column, required=required)
        if currency_id is None:
            return None
        code = currencies.get(currency_id)
        if code is None:
            self.flag(column, "currency", f"{column} names currency {currency_id}, which q2c could not read "
                      "(transactioncurrencies)")
            return None
        try:
            return check_currency(code)
        except UnknownCurrency:
            self.flag(column, "currency", f"{column} is {code!r}, which is not an invoiceable ISO 4217 currency")
            return None

    def money(self, column: str, currency: str | None, *, required: bool = False) -> Money | None:
        amount = self.number(column, required=required)
        if amount is None or currency is None:
            return None
        if amount < 0:
            self.flag(column, "negative", f"{column} is {amount}, a negative amount")
            return None
        return Money(amount=amount, currency=currency)

    def label(self, column: str, *, required: bool = False) -> str | None:
        """A choice column's label (its formatted value), or a text column's text."""
        value = self.raw(column, required)
        if value is None:
            return None
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, int) and not isinstance(value, bool):
            formatted = self.record.get(column + FORMATTED)
            if isinstance(formatted, str) and formatted.strip():
                return formatted.strip()
            self.flag(column, "choice", f"{column} is choice value {value} and Dataverse sent no label for it")
            return None
        self.flag(column, "choice", f"{column} is {value!r}, which is neither a choice nor text")
        return None

    def picklist(self, column: str, choices: Mapping[str, T], *, required: bool = False) -> T | None:
        value = self.label(column, required=required)
        if value is None:
            return None
        found = {k.lower(): v for k, v in choices.items()}.get(value.lower())
        if found is None:
            allowed = ", ".join(repr(c) for c in choices)
            self.flag(column, "choice", f"{column} is {value!r}; q2c understands only {allowed}")
        return found


def build(factory: Callable[[], T], reader: Reader) -> T | None:
    """Construct a canonical record; a rule the model enforces becomes a violation, not a crash."""
    try:
        return factory()
    except ValidationError as exc:
        for error in exc.errors():
            location = ".".join(str(part) for part in error["loc"])
            reader.flag(None, "invalid", f"{location}: {error['msg']}")
        return None


def raise_if(violations: list[Violation]) -> None:
    if violations:
        raise MappingError(violations)


_NET_TERMS = re.compile(r"^\s*net\s*(\d{1,3})\s*$", re.IGNORECASE)
_RECEIPT_TERMS = {"due on receipt", "due upon receipt", "net 0"}


def payment_terms_days(terms: str) -> int | None:
    """'Net 30' -> 30, 'Due on Receipt' -> 0; None when the wording is not one q2c knows."""
    match = _NET_TERMS.match(terms)
    if match:
        return int(match.group(1))
    return 0 if terms.strip().lower() in _RECEIPT_TERMS else None
