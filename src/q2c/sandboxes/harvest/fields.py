"""The values Harvest reads from a request body or query string, refused in its own words.

Harvest's validation messages are full sentences about the field ("Spent date can't be blank",
"Hours is not a number"), answered as 422 `{"message"}`; the wording is from recall of Harvest's
answers, the status and shape from its documentation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from iso4217 import Currency

from q2c.sandboxes.harvest.errors import HarvestRefusal


def label(field: str) -> str:
    """`project_id` -> "Project", `spent_date` -> "Spent date": how Harvest names a field in a message."""
    text = field[:-3] if field.endswith("_id") else field
    return text.replace("_", " ").capitalize()


def required(body: Mapping[str, Any], field: str) -> Any:
    value = body.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise HarvestRefusal(f"{label(field)} can't be blank")
    return value


def as_int(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise HarvestRefusal(f"{label(field)} is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise HarvestRefusal(f"{label(field)} is not a number")


def as_decimal(value: Any, field: str) -> Decimal:
    """A JSON number (read as `Decimal` or int) or a number's text; finite only.

    A float is refused like any other non-number: the JSON reader never makes one, so a float here
    comes from a caller seeding the account in Python, and money and hours never pass through float.
    """
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise HarvestRefusal(f"{label(field)} is not a number") from None
    else:
        raise HarvestRefusal(f"{label(field)} is not a number")
    if not number.is_finite():
        raise HarvestRefusal(f"{label(field)} is not a number")
    return number


def as_optional_decimal(value: Any, field: str) -> Decimal | None:
    return None if value is None or value == "" else as_decimal(value, field)


def as_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "1", 1):
        return True
    if value in ("false", "0", 0):
        return False
    raise HarvestRefusal(f"{label(field)} must be true or false")


def as_date(value: Any, field: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise HarvestRefusal(f"{label(field)} is not a valid date")


def as_optional_date(value: Any, field: str) -> date | None:
    return None if value is None or value == "" else as_date(value, field)


def as_text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise HarvestRefusal(f"{label(field)} must be text")
    return value


def as_currency(value: Any) -> str:
    """An ISO 4217 code a client can be billed in (upper-cased); funds and metals such as XAU have no
    minor unit and are refused, as they are in Harvest's list of currencies."""
    if isinstance(value, str) and len(value) == 3 and value.isalpha():
        code = value.upper()
        try:
            exponent = Currency(code).exponent
        except ValueError:
            exponent = None
        if exponent is not None:
            return code
    raise HarvestRefusal("Currency is not included in the list")


def clock_minutes(value: Any, field: str) -> int:
    """'8:00am' / '17:30' -> minutes after midnight."""
    if not isinstance(value, str):
        raise HarvestRefusal(f"{label(field)} is not a valid time")
    text = value.strip().lower()
    suffix = text[-2:] if text.endswith(("am", "pm")) else ""
    core = text[:-2].strip() if suffix else text
    try:
        hour_text, minute_text = core.split(":") if ":" in core else (core, "0")
        hour, minute = int(hour_text), int(minute_text)
    except ValueError:
        raise HarvestRefusal(f"{label(field)} is not a valid time") from None
    if suffix:
        if not 1 <= hour <= 12:
            raise HarvestRefusal(f"{label(field)} is not a valid time")
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise HarvestRefusal(f"{label(field)} is not a valid time")
    return hour * 60 + minute


def parse_instant(value: str, field: str) -> datetime:
    """An ISO 8601 instant from a query string (a '+' decoded to a space is read back); naive is UTC."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace(" ", "+"))
    except ValueError:
        raise HarvestRefusal(f"{label(field)} is not a valid ISO 8601 date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
