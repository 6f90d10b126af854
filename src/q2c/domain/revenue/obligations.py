"""Steps 1 and 2: the revenue contract and its performance obligations.

A `RevenueContract` is what the engine accounts for: the customer contract's identity, its
performance obligations (each with how progress is measured and its standalone selling price),
its transaction price and the policy choices that govern rounding and progress. It is immutable:
a modification or a re-estimate produces a new version, and `history` keeps the reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING

from q2c.domain.model import MilestoneStatus
from q2c.domain.money import Money, Rounding, check_currency
from q2c.domain.revenue.errors import InvalidContract, where
from q2c.domain.revenue.minor_units import to_units
from q2c.domain.revenue.transaction_price import TransactionPrice

if TYPE_CHECKING:
    from q2c.domain.revenue.allocation import Allocation


class RecognitionMethod(StrEnum):
    """How an obligation's progress toward satisfaction is measured (ASC 606-10-25-30..37, 55-16..21)."""

    POINT_IN_TIME = "point_in_time"  # control passes at once (25-30 / IFRS 15.38)
    INPUT_HOURS = "input_hours"  # hours incurred / total estimated hours
    INPUT_COST = "input_cost"  # cost incurred / total estimated cost (cost-to-cost)
    OUTPUT_MILESTONES = "output_milestones"  # value of milestones reached / value of all milestones
    OUTPUT_UNITS = "output_units"  # units delivered / units promised
    RIGHT_TO_INVOICE = "right_to_invoice"  # practical expedient 55-18 / B16: revenue = amount invoiceable
    RATABLE_DAILY = "ratable_daily"  # straight line by day over the service term
    RATABLE_MONTHLY = "ratable_monthly"  # straight line by whole month over the service term

    @property
    def over_time(self) -> bool:
        return self is not RecognitionMethod.POINT_IN_TIME

    @property
    def ratable(self) -> bool:
        return self in (RecognitionMethod.RATABLE_DAILY, RecognitionMethod.RATABLE_MONTHLY)

    @property
    def needs_estimate(self) -> bool:
        return self in (RecognitionMethod.INPUT_HOURS, RecognitionMethod.INPUT_COST, RecognitionMethod.OUTPUT_UNITS)


class SspBasis(StrEnum):
    """Where a standalone selling price comes from (ASC 606-10-32-32..35 / IFRS 15.77-80)."""

    OBSERVABLE = "observable"  # the price charged when sold separately: the best evidence (32-32)
    ADJUSTED_MARKET = "adjusted_market_assessment"  # 32-34(a)
    EXPECTED_COST_PLUS_MARGIN = "expected_cost_plus_margin"  # 32-34(b)
    RESIDUAL = "residual"  # 32-34(c): only when the price is highly variable or uncertain
    CONTRACT_PRICE = "contract_price"  # the contract's own price, used when no SSP was supplied


@dataclass(frozen=True)
class StandaloneSellingPrice:
    """A standalone selling price with the basis and evidence that support it."""

    basis: SspBasis
    amount: Money | None  # None only for the residual approach
    evidence: str
    cost: Money | None = None  # expected cost plus margin
    margin: Decimal | None = None  # as a fraction of cost, e.g. 0.25
    range_low: Money | None = None  # residual: the observable range the residual must fall in
    range_high: Money | None = None
    weight: Money | None = None  # residual shared by several obligations: their relative estimate (32-35)

    @classmethod
    def observable(cls, amount: Money, evidence: str) -> StandaloneSellingPrice:
        return cls(SspBasis.OBSERVABLE, amount, evidence)

    @classmethod
    def adjusted_market(cls, amount: Money, evidence: str) -> StandaloneSellingPrice:
        return cls(SspBasis.ADJUSTED_MARKET, amount, evidence)

    @classmethod
    def cost_plus_margin(cls, cost: Money, margin: Decimal, evidence: str) -> StandaloneSellingPrice:
        """SSP = expected cost x (1 + margin), rounded half-up to the minor unit."""
        amount = cost.times(Decimal(1) + margin).rounded(Rounding.HALF_UP)
        return cls(SspBasis.EXPECTED_COST_PLUS_MARGIN, amount, evidence, cost=cost, margin=margin)

    @classmethod
    def residual(cls, evidence: str, *, range_low: Money | None = None, range_high: Money | None = None,
                 weight: Money | None = None) -> StandaloneSellingPrice:
        return cls(SspBasis.RESIDUAL, None, evidence, range_low=range_low, range_high=range_high, weight=weight)

    @classmethod
    def contract_price(cls, amount: Money) -> StandaloneSellingPrice:
        return cls(SspBasis.CONTRACT_PRICE, amount,
                   "no standalone selling price supplied: the contract price of the phase is used; this holds only "
                   "if it is the price charged when sold separately (ASC 606-10-32-32 / IFRS 15.77)")

    def describe(self) -> str:
        if self.basis is SspBasis.RESIDUAL:
            return f"residual approach ({self.evidence})"
        if self.basis is SspBasis.EXPECTED_COST_PLUS_MARGIN:
            if self.cost is None or self.margin is None:
                return f"expected cost plus a margin: {self.amount} ({self.evidence})"
            return (f"expected cost {self.cost} plus a margin of {self.margin * 100:f}% = {self.amount} "
                    f"({self.evidence})")
        label = {SspBasis.OBSERVABLE: "observable price", SspBasis.ADJUSTED_MARKET: "adjusted market assessment",
                 SspBasis.CONTRACT_PRICE: "contract price"}[self.basis]
        return f"{label} {self.amount} ({self.evidence})"


@dataclass(frozen=True)
class MilestoneTarget:
    """A milestone of an output-method obligation; its value weighs its share of progress."""

    id: str
    name: str
    value: Money


@dataclass(frozen=True)
class ClosedPart:
    """The satisfied part of an obligation at a modification, kept at what it earned under the terms before it.

    `earned` is measured as of the modification date (facts dated on or before it), so progress between
    the last closed period and the modification belongs to the old terms (ASC 606-10-25-13 / IFRS 15.21).
    """

    modification_id: str
    on: date
    paragraph: str
    earned: Money
    credit: Money  # a concession on what was already transferred (Example 5 Case B), reducing revenue now
    measured: str  # how `earned` was measured, in words


@dataclass(frozen=True)
class PerformanceObligation:
    """A distinct good or service (or series) promised in the contract (ASC 606-10-25-14 / IFRS 15.22)."""

    id: str
    name: str
    method: RecognitionMethod
    ssp: StandaloneSellingPrice
    start: date | None = None  # ratable: first day of service
    end: date | None = None  # ratable: last day of service (inclusive)
    estimated_total: Decimal | None = None  # hours, cost (currency units) or units at inception
    excluded_cost_estimate: Decimal = Decimal(0)  # cost-to-cost: uninstalled materials at zero margin (55-21(b))
    milestones: tuple[MilestoneTarget, ...] = ()
    phase_id: str | None = None
    service_line: str | None = None
    measured_by: str | None = None  # whose progress facts measure it (a remaining part after a modification)
    input_baseline: Decimal = Decimal(0)  # inputs consumed before this obligation began
    terminated_at: Money | None = None  # the satisfied part at a modification, kept at the revenue it earned
    closed: ClosedPart | None = None  # how and when `terminated_at` was fixed
    estimates_after: date | None = None  # remaining part: estimate facts dated on or before belong to the old terms
    transferred_milestones: tuple[str, ...] = ()  # remaining part: milestones reached before the modification

    @property
    def facts_key(self) -> str:
        return self.measured_by or self.id


class ModificationTreatment(StrEnum):
    SEPARATE_CONTRACT = "separate_contract"
    TERMINATION_AND_NEW_CONTRACT = "termination_and_new_contract"
    CUMULATIVE_CATCH_UP = "cumulative_catch_up"


@dataclass(frozen=True)
class ModificationBasis:
    """What a later change in the transaction price is allocated to (ASC 606-10-32-45 / IFRS 15.90).

    After a termination and new contract (25-13(a) / 15.21(a)), a change in variable consideration
    promised before the modification goes to the obligations identified before it, on the basis of
    `before`: the share of each obligation satisfied at the modification (`satisfied`) is recognised
    on its closed part at once, the rest goes to the remaining obligations (15.90(a), Example 6). After
    a modification that is part of the existing contract (25-13(b)), obligations already satisfied are
    closed and a change goes only to those unsatisfied immediately after it (15.90(b)).
    """

    modification_id: str
    on: date
    treatment: ModificationTreatment
    before: RevenueContract  # the version before the modification
    satisfied: tuple[tuple[str, Fraction], ...] = ()  # earlier obligation -> share satisfied at the modification

    def share_satisfied(self, obligation_id: str) -> Fraction:
        for ob_id, share in self.satisfied:
            if ob_id == obligation_id:
                return share
        return Fraction(0)


class DiscountCriteria(StrEnum):
    REGULARLY_SOLD_SEPARATELY = "32-37(a): each good or service (or bundle) is regularly sold separately"
    BUNDLE_REGULARLY_DISCOUNTED = "32-37(b): a bundle of some of them is regularly sold at a discount"
    DISCOUNT_SUBSTANTIALLY_SAME = "32-37(c): that discount is substantially the same as the contract's"


@dataclass(frozen=True)
class DiscountAttribution:
    """Evidence that the whole discount belongs to some, not all, obligations (32-37 / IFRS 15.82)."""

    obligation_ids: tuple[str, ...]
    regularly_sold_separately: bool
    bundle_regularly_discounted: bool
    discount_substantially_same: bool
    evidence: str
    amount: Money | None = None  # required when a residual obligation is present (the discount is then observed)

    def missing_criteria(self) -> list[DiscountCriteria]:
        missing = []
        if not self.regularly_sold_separately:
            missing.append(DiscountCriteria.REGULARLY_SOLD_SEPARATELY)
        if not self.bundle_regularly_discounted:
            missing.append(DiscountCriteria.BUNDLE_REGULARLY_DISCOUNTED)
        if not self.discount_substantially_same:
            missing.append(DiscountCriteria.DISCOUNT_SUBSTANTIALLY_SAME)
        return missing


@dataclass(frozen=True)
class RecognitionPolicy:
    """The entity's configurable choices; each is named in the explanation of a contract."""

    rounding: Rounding = Rounding.HALF_UP  # cumulative revenue to date is rounded to the minor unit this way
    progress_decimals: int | None = None  # measure of progress rounded to this many decimals (None: exact ratio)
    milestone_trigger: MilestoneStatus = MilestoneStatus.COMPLETED  # ACCEPTED when acceptance is substantive


@dataclass(frozen=True)
class ContractChange:
    """One entry of a contract's history: what changed, when, under which paragraph, and why."""

    on: date
    version: int
    paragraph: str
    text: str


@dataclass(frozen=True)
class RevenueContract:
    """A contract as the revenue engine sees it. Immutable; changes produce a new version."""

    id: str
    contract_id: str
    customer_id: str
    legal_entity: str
    currency: str
    start: date
    end: date | None
    obligations: tuple[PerformanceObligation, ...]
    price: TransactionPrice
    discount: DiscountAttribution | None = None
    policy: RecognitionPolicy = field(default_factory=RecognitionPolicy)
    version: int = 1
    history: tuple[ContractChange, ...] = ()
    basis: ModificationBasis | None = None  # the last modification, for changes in the price after it

    def __post_init__(self) -> None:
        check_currency(self.currency)
        self.check()

    def obligation(self, obligation_id: str) -> PerformanceObligation:
        for ob in self.obligations:
            if ob.id == obligation_id:
                return ob
        raise InvalidContract(f"{where(self.id, obligation_id)}: no such performance obligation")

    @cached_property
    def allocation(self) -> Allocation:
        """Step 4, computed once per version."""
        from q2c.domain.revenue.allocation import allocate

        return allocate(self)

    def check(self) -> None:
        if not self.obligations:
            raise InvalidContract(f"{where(self.id, field='obligations')}: at least one performance obligation")
        ids = [ob.id for ob in self.obligations]
        for ob_id in ids:
            if ids.count(ob_id) > 1:
                raise InvalidContract(f"{where(self.id, ob_id)}: obligation id used twice")
        self.price.check(self.id, self.currency)
        for vc in self.price.variable:
            for target in vc.applies_to:
                if target not in ids:
                    raise InvalidContract(f"revenue contract {self.id} variable consideration {vc.id} field "
                                          f"applies_to: no obligation {target}")
        for ob in self.obligations:
            self._check_obligation(ob)
        if self.discount is not None:
            for target in self.discount.obligation_ids:
                if target not in ids:
                    raise InvalidContract(f"{where(self.id, field='discount.obligation_ids')}: no obligation {target}")
        if self.basis is not None:
            kept = {vc.id for vc in self.price.variable}
            for vc in self.basis.before.price.variable:
                if vc.id not in kept:
                    raise InvalidContract(
                        f"revenue contract {self.id} variable consideration {vc.id} field price.variable: promised "
                        f"before modification {self.basis.modification_id}, it must stay in the price (re-estimate "
                        f"it, to zero if need be) so a change in it is allocated as ASC 606-10-32-45 requires")

    def _check_obligation(self, ob: PerformanceObligation) -> None:
        def bad(field_name: str, message: str) -> InvalidContract:
            return InvalidContract(f"{where(self.id, ob.id, field_name)}: {message}")

        for name, money in (("ssp.amount", ob.ssp.amount), ("terminated_at", ob.terminated_at),
                            ("ssp.weight", ob.ssp.weight)):
            if money is not None:
                if money.currency != self.currency:
                    raise bad(name, f"{money.currency}, but the contract is in {self.currency}")
                to_units(money, what=where(self.id, ob.id, name))
                if money.amount < 0:
                    raise bad(name, f"{money} is negative")
        if ob.ssp.basis is not SspBasis.RESIDUAL and ob.ssp.amount is None:
            raise bad("ssp.amount", f"a {ob.ssp.basis.value} standalone selling price needs an amount")
        if not ob.ssp.evidence.strip():
            raise bad("ssp.evidence", "say what supports the standalone selling price")
        if ob.ssp.basis is SspBasis.EXPECTED_COST_PLUS_MARGIN and (ob.ssp.cost is None or ob.ssp.margin is None):
            raise bad("ssp.cost" if ob.ssp.cost is None else "ssp.margin",
                      "an expected-cost-plus-margin price needs the expected cost and the margin it was built from "
                      "(StandaloneSellingPrice.cost_plus_margin)")
        if ob.closed is not None and ob.terminated_at is None:
            raise bad("terminated_at", "a closed part needs the amount it is kept at")
        if ob.terminated_at is not None:
            return
        if ob.method.ratable:
            if ob.start is None or ob.end is None:
                raise bad("start" if ob.start is None else "end", "a ratable obligation needs its service term")
            if ob.end < ob.start:
                raise bad("end", f"{ob.end} is before the start {ob.start}")
        if ob.method.needs_estimate and (ob.estimated_total is None or ob.estimated_total <= 0):
            raise bad("estimated_total", f"{ob.method.value} needs a positive total estimate")
        if ob.method is RecognitionMethod.OUTPUT_MILESTONES:
            if not ob.milestones:
                raise bad("milestones", "an output method by milestones needs at least one milestone")
            if sum(to_units(m.value, what=where(self.id, ob.id, f"milestones[{m.id}].value"))
                   for m in ob.milestones) <= 0:
                raise bad("milestones", "the milestones' values add up to zero")
        if ob.method is RecognitionMethod.INPUT_COST and ob.estimated_total is not None \
                and not Decimal(0) <= ob.excluded_cost_estimate < ob.estimated_total:
            raise bad("excluded_cost_estimate", "must be at least 0 and below the total cost estimate")
