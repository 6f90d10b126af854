"""A contract's balances in the legal entity's functional currency, by IAS 21 / IFRIC 22 / ASC 830.

* Billings and cash are translated at the rate of their own dates (IAS 21.21-22 / ASC 830-20-30-1).
* A contract liability is non-monetary: each part of it is carried at the rate of the day it arose (an
  advance invoiced, or cash received beyond what was billed), never remeasured (IAS 21.23(b)); revenue
  released from it is translated at that historical rate, oldest part first (IFRIC 22.8-9).
* The receivable and the contract asset are monetary (rights to a determinable amount of currency) and
  are remeasured at the period-end rate (IAS 21.23(a) / ASC 830-20-35-1); so is a loss provision. The
  difference is an exchange gain or loss (IAS 21.28), on its own account.
* Revenue not covered by an advance is translated at the rate in force at the period end, the date the
  engine recognises it (load a period rate dated the month end if that is your policy, IAS 21.22).

Within a period the dated events (billings, cash) are applied in date order, then the period's revenue.
The closing balances are carried to the next period in the recognition (and its snapshot), so the
functional balances always equal what the journals posted: nothing is left orphaned by a rate change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from q2c.domain.money import Money, currency_exponent
from q2c.domain.revenue.errors import RevenueError
from q2c.domain.revenue.facts import Billed, Collected
from q2c.domain.revenue.fx import FxRate, FxTable
from q2c.domain.revenue.minor_units import from_units, largest_remainder, round_half_up, to_units
from q2c.domain.revenue.periods import Period


@dataclass(frozen=True)
class AdvanceLayer:
    """Part of the contract liability, at the rate of the day it arose."""

    arose_on: date
    amount: Money  # transaction currency
    functional: Money
    rate: Decimal


@dataclass(frozen=True)
class FunctionalBalances:
    """The contract's balances in the functional currency at a period end, as the journals posted them."""

    currency: str
    receivable: Money
    contract_asset: Money
    contract_liability: Money  # the sum of the layers
    loss_provision: Money
    layers: tuple[AdvanceLayer, ...] = ()

    @classmethod
    def zero(cls, currency: str) -> FunctionalBalances:
        z = Money.zero(currency)
        return cls(currency, z, z, z, z)


@dataclass(frozen=True)
class FunctionalPeriod:
    """One period in the functional currency: opening and closing balances and the movements between."""

    currency: str
    closing_rate: FxRate
    opening: FunctionalBalances
    closing: FunctionalBalances
    cash: Money  # collections, each at the rate of its date
    revenue: tuple[tuple[str, Money], ...]  # per obligation
    released: Money  # the part of the revenue released from advances, at their historical rates
    loss_charge: Money  # charge (+) or release (-) of the loss provision, at the period-end rate
    exchange_difference: Money  # gain (+) or loss (-): remeasurement of monetary balances and settlements
    rates: tuple[FxRate, ...]  # every rate used, the period-end rate last

    @property
    def total_revenue(self) -> Money:
        total = from_units(0, self.currency)
        for _, amount in self.revenue:
            total = total + amount
        return total

    def revenue_of(self, obligation_id: str) -> Money:
        for ob_id, amount in self.revenue:
            if ob_id == obligation_id:
                return amount
        return Money.zero(self.currency)


def translate_units(units: int, from_cur: str, to_cur: str, rate: Decimal) -> int:
    """`units` minor units of `from_cur` in minor units of `to_cur`, rounded half-up."""
    scale = Fraction(10) ** (currency_exponent(to_cur) - currency_exponent(from_cur))
    return round_half_up(Fraction(units) * Fraction(rate) * scale)


@dataclass
class _Layer:
    arose_on: date
    units: int
    functional: int
    rate: Decimal


@dataclass(frozen=True)
class ContractTotals:
    """Transaction-currency totals to date: billed, collected, recognised (minor units)."""

    billed: int
    collected: int
    recognised: int

    @property
    def received_or_due(self) -> int:
        """Consideration billed (an unconditional right) or received, whichever is more."""
        return max(self.billed, self.collected)

    @property
    def liability(self) -> int:
        return max(self.received_or_due - self.recognised, 0)

    @property
    def asset(self) -> int:
        return max(self.recognised - self.received_or_due, 0)

    @property
    def receivable(self) -> int:
        return max(self.billed - self.collected, 0)


def translate(*, what: str, currency: str, functional: str, fx: FxTable, period: Period,
              opening: FunctionalBalances, before: ContractTotals, events: Sequence[Billed | Collected],
              revenue: Sequence[tuple[str, int]], provision_before: int, provision: int) -> FunctionalPeriod:
    """The functional-currency period of a contract from its opening balances and the period's events."""
    layers = [_Layer(x.arose_on, to_units(x.amount, what="layer"), to_units(x.functional, what="layer"), x.rate)
              for x in opening.layers]
    if sum(x.units for x in layers) != before.liability:
        raise RevenueError(f"{what}: the functional balances carried from the previous period hold a contract "
                           f"liability of {from_units(sum(x.units for x in layers), currency)}, but the recognition "
                           f"holds {from_units(before.liability, currency)}; recognise from the same prior")
    billed, collected, recognised = before.billed, before.collected, before.recognised
    cash = 0
    used: list[FxRate] = []

    def release(units: int) -> int:
        out = 0
        while units > 0:
            first = layers[0]
            if first.units <= units:
                out += first.functional
                units -= first.units
                layers.pop(0)
            else:
                part = round_half_up(Fraction(first.functional * units, first.units))
                out += part
                layers[0] = _Layer(first.arose_on, first.units - units, first.functional - part, first.rate)
                units = 0
        return out

    def move(after: ContractTotals, on: date, rate: Decimal, before_now: ContractTotals) -> None:
        grown = after.liability - before_now.liability
        if grown > 0:
            layers.append(_Layer(on, grown, translate_units(grown, currency, functional, rate), rate))
        elif grown < 0:
            release(-grown)

    for fact in sorted(events, key=lambda f: (f.on, f.id)):
        rate = fx.rate(currency, functional, fact.on)
        if rate not in used:
            used.append(rate)
        units = to_units(fact.amount, what=f"fact {fact.id} field amount")
        now = ContractTotals(billed, collected, recognised)
        if isinstance(fact, Collected):
            collected += units
            cash += translate_units(units, currency, functional, rate.rate)
        else:
            billed += units
        move(ContractTotals(billed, collected, recognised), fact.on, rate.rate, now)

    closing_rate = fx.rate(currency, functional, period.end)
    if closing_rate not in used:
        used.append(closing_rate)
    r_close = closing_rate.rate
    in_period = sum(units for _, units in revenue)
    now = ContractTotals(billed, collected, recognised)
    recognised += in_period
    after = ContractTotals(billed, collected, recognised)
    released_units = max(now.liability - after.liability, 0)
    released = release(released_units) if released_units else 0
    if after.liability > now.liability:
        grown = after.liability - now.liability
        layers.append(_Layer(period.end, grown, translate_units(grown, currency, functional, r_close), r_close))
    total_revenue = released + translate_units(in_period - released_units, currency, functional, r_close)
    split = _split(total_revenue, revenue, currency, functional, r_close)

    def f(units: int) -> Money:
        return from_units(units, functional)

    receivable = translate_units(after.receivable, currency, functional, r_close)
    asset = translate_units(after.asset, currency, functional, r_close)
    liability = sum(x.functional for x in layers)
    provision_f = translate_units(provision, currency, functional, r_close)
    loss_charge = translate_units(provision - provision_before, currency, functional, r_close)
    o = opening
    gain = (cash + receivable - to_units(o.receivable, what="r") + asset - to_units(o.contract_asset, what="a")
            - (liability - to_units(o.contract_liability, what="l")) - total_revenue + loss_charge
            - (provision_f - to_units(o.loss_provision, what="p")))
    closing = FunctionalBalances(
        functional, f(receivable), f(asset), f(liability), f(provision_f),
        tuple(AdvanceLayer(x.arose_on, from_units(x.units, currency), f(x.functional), x.rate) for x in layers))
    return FunctionalPeriod(
        currency=functional, closing_rate=closing_rate, opening=opening, closing=closing, cash=f(cash),
        revenue=tuple((ob_id, f(units)) for ob_id, units in split), released=f(released), loss_charge=f(loss_charge),
        exchange_difference=f(gain), rates=tuple(sorted(used, key=lambda r: (r.on, r.rate))))


def _split(total: int, revenue: Sequence[tuple[str, int]], currency: str, functional: str,
           rate: Decimal) -> list[tuple[str, int]]:
    """Functional revenue per obligation adding up to `total`: each at the period-end rate, and the effect of the
    historical rates of advances shared by the obligations whose revenue has the sign of the period's."""
    base = [(ob_id, translate_units(units, currency, functional, rate)) for ob_id, units in revenue]
    diff = total - sum(units for _, units in base)
    if not diff:
        return base
    net = sum(units for _, units in revenue)
    takers = [i for i, (_, units) in enumerate(revenue) if units and (units > 0) == (net > 0)] if net else []
    if not takers:
        takers = [max(range(len(revenue)), key=lambda i: (abs(revenue[i][1]), -i))]
    shares = largest_remainder(abs(diff), [abs(revenue[i][1]) or 1 for i in takers])
    out = list(base)
    for i, share in zip(takers, shares, strict=True):
        out[i] = (out[i][0], out[i][1] + (share if diff > 0 else -share))
    return out
