"""Money: a `Decimal` amount with an ISO 4217 currency, and explicit rounding.

Floats never touch money. Arithmetic between different currencies is an error,
not a silent conversion; conversion goes through a dated FX rate elsewhere.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from typing import Any

from iso4217 import Currency as _Iso4217
from pydantic import BaseModel, ConfigDict, field_validator


class UnknownCurrency(ValueError):
    """Raised for a code that is not an active ISO 4217 currency."""


@lru_cache(maxsize=512)
def currency_exponent(code: str) -> int:
    """Minor-unit digits of an ISO 4217 currency (USD 2, JPY 0, BHD 3)."""
    try:
        exponent = _Iso4217(code).exponent
    except ValueError as exc:
        raise UnknownCurrency(f"'{code}' is not an ISO 4217 currency code") from exc
    if exponent is None:  # funds and metals (XAU, XDR): not invoiceable
        raise UnknownCurrency(f"'{code}' has no minor unit and cannot be invoiced")
    return int(exponent)


def check_currency(code: str) -> str:
    """Return the upper-cased code if it is an invoiceable ISO 4217 currency."""
    if not isinstance(code, str) or len(code) != 3 or not code.isalpha():
        raise UnknownCurrency(f"'{code}' is not a three-letter ISO 4217 currency code")
    upper = code.upper()
    currency_exponent(upper)
    return upper


class Rounding(StrEnum):
    """Rounding rules offered to finance; half-up is the invoicing default."""

    HALF_UP = "half_up"
    BANKERS = "bankers"

    @property
    def decimal_mode(self) -> str:
        return ROUND_HALF_UP if self is Rounding.HALF_UP else ROUND_HALF_EVEN


def to_decimal(value: Any, *, what: str = "amount") -> Decimal:
    """Parse a number from a payload into `Decimal` without passing through binary float error.

    Vendor JSON carries numbers as floats (hours 2.11): `str()` of the float is the
    shortest repr, which is the decimal the vendor meant.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValueError(f"{what} must be a number, got a boolean")
    elif isinstance(value, int | float | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError(f"{what} '{value}' is not a number") from exc
    else:
        raise ValueError(f"{what} must be a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{what} must be finite, got {value}")
    return result


def quantize(amount: Decimal, currency: str, rounding: Rounding = Rounding.HALF_UP) -> Decimal:
    """Round an amount to the currency's minor unit."""
    exp = Decimal(1).scaleb(-currency_exponent(currency))
    return amount.quantize(exp, rounding=rounding.decimal_mode)


class Money(BaseModel):
    """An amount in one currency. Immutable; arithmetic keeps full precision until `rounded()`."""

    model_config = ConfigDict(frozen=True)

    amount: Decimal
    currency: str

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> str:
        return check_currency(value)

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, value: Any) -> Decimal:
        return to_decimal(value)

    @classmethod
    def of(cls, amount: Any, currency: str) -> Money:
        return cls(amount=to_decimal(amount), currency=currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(amount=Decimal(0), currency=currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency} without an FX rate")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def times(self, factor: Decimal) -> Money:
        return Money(amount=self.amount * factor, currency=self.currency)

    def rounded(self, rounding: Rounding = Rounding.HALF_UP) -> Money:
        return Money(amount=quantize(self.amount, self.currency, rounding), currency=self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __str__(self) -> str:
        """Shown as invoiced: rounded half-up to the minor unit (formatting alone would round half-even)."""
        shown = quantize(self.amount, self.currency, Rounding.HALF_UP)
        return f"{self.currency} {shown:,.{currency_exponent(self.currency)}f}"
