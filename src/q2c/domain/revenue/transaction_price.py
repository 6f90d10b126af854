"""Step 3: the transaction price — fixed consideration plus constrained variable consideration.

Variable consideration is estimated by the expected value (the probability-weighted sum of the
possible amounts) or the most likely amount (the single most likely outcome), whichever better
predicts the amount (ASC 606-10-32-8 / IFRS 15.53). The constraint (ASC 606-10-32-11 / IFRS 15.56)
is a judgement, not arithmetic: the accountant states how much of the estimate is included because a
significant reversal of cumulative revenue is highly probable (US GAAP: probable) not to occur, and
why. The engine records that judgement with its reason and never makes it by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from q2c.domain.money import Money
from q2c.domain.revenue.errors import InvalidContract
from q2c.domain.revenue.minor_units import from_units, round_half_up, to_units


class EstimateMethod(StrEnum):
    EXPECTED_VALUE = "expected_value"  # many similar contracts, a range of outcomes (32-8(a) / 53(a))
    MOST_LIKELY_AMOUNT = "most_likely_amount"  # two outcomes, e.g. a bonus won or not (32-8(b) / 53(b))


@dataclass(frozen=True)
class Outcome:
    """One possible amount of variable consideration and its probability (0..1)."""

    amount: Money
    probability: Decimal


@dataclass(frozen=True)
class ConstraintJudgement:
    """How much of the estimate is included in the transaction price, and why.

    `included` None means the whole estimate is included. Otherwise it is the amount included; it
    can only lower the estimate (the constraint never adds revenue).
    """

    included: Money | None
    reason: str

    @classmethod
    def unconstrained(cls, reason: str) -> ConstraintJudgement:
        return cls(None, reason)

    @classmethod
    def limit_to(cls, amount: Money, reason: str) -> ConstraintJudgement:
        return cls(amount, reason)

    @classmethod
    def exclude(cls, currency: str, reason: str) -> ConstraintJudgement:
        return cls(Money.zero(currency), reason)


@dataclass(frozen=True)
class VariableConsideration:
    """A bonus, penalty, concession or other amount that depends on a future event."""

    id: str
    description: str
    method: EstimateMethod
    outcomes: tuple[Outcome, ...]
    constraint: ConstraintJudgement
    applies_to: tuple[str, ...] = ()  # obligations it relates to entirely (32-40 / IFRS 15.85); () = all
    applies_to_reason: str = ""

    def check(self, contract_id: str, currency: str) -> None:
        where = f"revenue contract {contract_id} variable consideration {self.id}"
        if not self.outcomes:
            raise InvalidContract(f"{where} field outcomes: at least one possible amount is needed")
        total = Decimal(0)
        for i, outcome in enumerate(self.outcomes):
            if outcome.amount.currency != currency:
                raise InvalidContract(f"{where} field outcomes[{i}].amount: {outcome.amount.currency}, but the "
                                      f"contract is in {currency}")
            to_units(outcome.amount, what=f"{where} field outcomes[{i}].amount")
            if not Decimal(0) <= outcome.probability <= Decimal(1):
                raise InvalidContract(f"{where} field outcomes[{i}].probability: {outcome.probability} is not "
                                      f"between 0 and 1")
            total += outcome.probability
        if total != Decimal(1):
            raise InvalidContract(f"{where} field outcomes: probabilities add up to {total}, not 1")
        if self.method is EstimateMethod.MOST_LIKELY_AMOUNT:
            best = max(o.probability for o in self.outcomes)
            if sum(1 for o in self.outcomes if o.probability == best) > 1:
                raise InvalidContract(f"{where} field outcomes: two amounts share the highest probability "
                                      f"{best}; the most likely amount is undefined, use the expected value")
        if not self.constraint.reason.strip():
            raise InvalidContract(f"{where} field constraint.reason: the constraint judgement needs its reason")
        if self.constraint.included is not None:
            if self.constraint.included.currency != currency:
                raise InvalidContract(f"{where} field constraint.included: {self.constraint.included.currency}, "
                                      f"but the contract is in {currency}")
            included = to_units(self.constraint.included, what=f"{where} field constraint.included")
            if included > to_units(self.estimate(), what=where):
                raise InvalidContract(
                    f"{where} field constraint.included: {self.constraint.included} is more than the estimate "
                    f"{self.estimate()}; the constraint can only lower the estimate (ASC 606-10-32-11)")

    def estimate(self) -> Money:
        """The estimate before the constraint, rounded half-up to the minor unit."""
        currency = self.outcomes[0].amount.currency
        if self.method is EstimateMethod.MOST_LIKELY_AMOUNT:
            return max(self.outcomes, key=lambda o: o.probability).amount
        exact = sum((Fraction(to_units(o.amount, what="outcome")) * Fraction(o.probability)
                     for o in self.outcomes), Fraction(0))
        return from_units(round_half_up(exact), currency)

    def included(self) -> Money:
        """The amount that goes into the transaction price."""
        return self.estimate() if self.constraint.included is None else self.constraint.included

    def explain(self) -> str:
        estimate = self.estimate()
        if self.method is EstimateMethod.EXPECTED_VALUE:
            parts = " + ".join(f"{o.amount} x {o.probability}" for o in self.outcomes)
            how = f"expected value {parts} = {estimate}"
        else:
            best = max(self.outcomes, key=lambda o: o.probability)
            how = f"most likely amount {best.amount} (probability {best.probability})"
        included = self.included()
        if included == estimate:
            judgement = f"included in full: {self.constraint.reason}"
        else:
            judgement = (f"constrained to {included} ({(estimate - included)} left out until the uncertainty "
                         f"is resolved): {self.constraint.reason}")
        target = f"; relates only to {', '.join(self.applies_to)}" if self.applies_to else ""
        return f"{self.description} [{self.id}]: {how}; {judgement}{target}"


@dataclass(frozen=True)
class TransactionPrice:
    """Fixed consideration plus the included part of each variable amount."""

    fixed: Money
    variable: tuple[VariableConsideration, ...] = ()

    def check(self, contract_id: str, currency: str) -> None:
        if self.fixed.currency != currency:
            raise InvalidContract(f"revenue contract {contract_id} field transaction_price.fixed: "
                                  f"{self.fixed.currency}, but the contract is in {currency}")
        to_units(self.fixed, what=f"revenue contract {contract_id} field transaction_price.fixed")
        seen: set[str] = set()
        for vc in self.variable:
            if vc.id in seen:
                raise InvalidContract(f"revenue contract {contract_id} variable consideration {vc.id}: id used twice")
            seen.add(vc.id)
            vc.check(contract_id, currency)
        if self.total().amount < 0:
            raise InvalidContract(f"revenue contract {contract_id} field transaction_price: total {self.total()} "
                                  f"is negative")

    def total(self) -> Money:
        total = self.fixed
        for vc in self.variable:
            total = total + vc.included()
        return total

    def replace_variable(self, revised: VariableConsideration) -> TransactionPrice:
        """The same price with one variable amount re-estimated (32-42 / IFRS 15.59: at each reporting date)."""
        if all(vc.id != revised.id for vc in self.variable):
            return TransactionPrice(self.fixed, (*self.variable, revised))
        return TransactionPrice(self.fixed, tuple(revised if vc.id == revised.id else vc for vc in self.variable))
