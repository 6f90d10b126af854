"""Rounding: explicit, configurable, and the same everywhere in billing.

A `RoundingPolicy` has two parts:

* ``mode`` – `Rounding.HALF_UP` (the invoicing default: 0.005 -> 0.01, and -0.005 -> -0.01, so
  a credit note mirrors its invoice to the cent) or `Rounding.BANKERS` (half to even).
* ``scope`` – where rounding happens:

  - ``PER_LINE`` (default): every line amount is rounded to the currency's minor unit; the
    invoice total is the sum of the rounded lines.
  - ``PER_INVOICE``: lines are priced at full precision, the invoice total is that exact sum
    rounded once; the rounding is then spread back over the lines by largest remainder (the
    lines rounded furthest the other way move by one minor unit; of equally far lines the earlier
    moves) so that the lines still add up to the total, every line amount is payable as it
    stands, and no line is more than one minor unit from its exact amount.

Bound between the two scopes for the same lines: the totals differ by at most
``(n + 1) // 2`` minor units for ``n`` lines (each line rounding moves at most half a unit, the
single invoice rounding at most half a unit, and both totals are whole units).

Amounts that come from a contract (fees, caps, milestone amounts, write-ups) are never rounded
here: they must already be in minor units, or billing refuses them with `NotInMinorUnits`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from q2c.domain.billing.errors import CurrencyMismatch, NotInMinorUnits
from q2c.domain.money import Money, Rounding, currency_exponent, quantize


class RoundingScope(StrEnum):
    PER_LINE = "per_line"
    PER_INVOICE = "per_invoice"


class RoundingPolicy(BaseModel):
    """How amounts computed from hours x rate become payable amounts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Rounding = Rounding.HALF_UP
    scope: RoundingScope = RoundingScope.PER_LINE

    def describe(self) -> str:
        mode = "half-up" if self.mode is Rounding.HALF_UP else "banker's (half-even)"
        where = "per line" if self.scope is RoundingScope.PER_LINE else "once per invoice"
        return f"{mode}, {where}"


def minor_unit(currency: str) -> Decimal:
    """The smallest payable amount of a currency (0.01 USD, 1 JPY, 0.001 BHD)."""
    return Decimal(1).scaleb(-currency_exponent(currency))


def require_minor_units(money: Money, *, what: str) -> None:
    """Refuse a contract amount that cannot be paid as it stands (USD 10.005)."""
    if money.amount != quantize(money.amount, money.currency):
        raise NotInMinorUnits(
            f"{what} is {money.amount} {money.currency}, which has more decimals than "
            f"{money.currency} allows ({currency_exponent(money.currency)})")


def require_currency(money: Money, currency: str, *, what: str) -> None:
    if money.currency != currency:
        raise CurrencyMismatch(f"{what} is in {money.currency}, but the contract bills in {currency}")


def round_amount(amount: Decimal, currency: str, policy: RoundingPolicy) -> Decimal:
    """One amount to the minor unit under the policy's mode (scope does not apply to one amount)."""
    return quantize(amount, currency, policy.mode)


def value_under(exact: Sequence[Decimal], currency: str, policy: RoundingPolicy) -> Decimal:
    """What a set of line amounts is worth once rounded under the policy."""
    if policy.scope is RoundingScope.PER_LINE:
        return sum((round_amount(a, currency, policy) for a in exact), Decimal(0))
    return round_amount(sum(exact, Decimal(0)), currency, policy)


def settle_lines(exact: Sequence[Decimal], currency: str,
                 policy: RoundingPolicy) -> tuple[tuple[Decimal, ...], Decimal]:
    """Payable line amounts and their total; the lines always add up to the total."""
    rounded = [round_amount(a, currency, policy) for a in exact]
    if policy.scope is RoundingScope.PER_LINE:
        return tuple(rounded), sum(rounded, Decimal(0))
    total = round_amount(sum(exact, Decimal(0)), currency, policy)
    unit = minor_unit(currency)
    units_to_move = int((total - sum(rounded, Decimal(0))) / unit)
    if units_to_move:
        step = unit if units_to_move > 0 else -unit
        # The lines rounded furthest away from the direction we must move go first.
        remainders = [(a - r) * (1 if units_to_move > 0 else -1) for a, r in zip(exact, rounded, strict=True)]
        order = sorted(range(len(exact)), key=lambda i: (-remainders[i], i))
        for i in order[:abs(units_to_move)]:
            rounded[i] += step
    return tuple(rounded), total
