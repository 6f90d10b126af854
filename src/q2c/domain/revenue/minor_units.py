"""Money as whole minor units (cents) for exact arithmetic, and back.

Every amount the engine stores or posts is a whole number of the currency's minor unit; the
arithmetic between (allocation, spreading, progress) is done on Python integers, so nothing
depends on Decimal context precision and the numpy fast path can reproduce it bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from q2c.domain.money import Money, currency_exponent


def to_units(money: Money, *, what: str) -> int:
    """Whole minor units of an amount; refuses USD 10.005 (naming `what`)."""
    exp = currency_exponent(money.currency)
    scaled = money.amount.scaleb(exp)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{what} is {money.amount} {money.currency}, which has more than {exp} decimals")
    return int(scaled)


def from_units(units: int, currency: str) -> Money:
    """A Money of `units` minor units, with exactly the currency's decimals (USD 12.30)."""
    exp = currency_exponent(currency)
    return Money(amount=Decimal(units).scaleb(-exp), currency=currency)


def round_half_up(value: Fraction) -> int:
    """Nearest integer, halves away from zero (0.5 -> 1, -0.5 -> -1): the invoicing default."""
    num, den = value.numerator, value.denominator  # den > 0
    if num >= 0:
        return (2 * num + den) // (2 * den)
    return -((-2 * num + den) // (2 * den))


def round_half_even(value: Fraction) -> int:
    """Nearest integer, halves to even (banker's rounding)."""
    return round(value)


def largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` minor units in proportion to non-negative integer `weights`, summing exactly.

    Each share is first the floor of total x weight / sum(weights); the units left over go, one
    each, to the shares with the largest remainders, ties to the earlier position. A share never
    differs from its exact proportion by one unit or more, and the result is reproducible.
    """
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise ValueError("weights must not all be zero")
    shares: list[int] = []
    remainders: list[int] = []
    for w in weights:
        q, r = divmod(total * w, weight_sum)
        shares.append(q)
        remainders.append(r)
    left = total - sum(shares)  # 0 <= left < len(weights)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        shares[i] += 1
    return shares
