"""From the canonical `Contract` to a `RevenueContract`: one performance obligation per phase.

The mapping is the firm's default policy for professional services, each choice explained:

* time and materials -> right to invoice (ASC 606-10-55-18 / IFRS 15.B16): revenue is what the
  firm may invoice for the hours worked; its consideration is variable and belongs to that phase;
* milestone -> output method by milestones, weighted by the milestone amounts;
* fixed fee -> input method by hours against the phase's estimated hours;
* retainer -> straight line by month over the retainer's own term (the phase's `term_start` to
  `term_end`; the contract's term for a phase planned without one), allocated the whole retainer: a
  stand-ready series of months (ASC 606-10-25-14(b), 25-15) whose measure of progress is time elapsed,
  because the firm's effort to stand ready for the prepaid hours is even over the term. Overage, billed
  beyond the prepaid hours, is variable consideration that relates entirely to the month it is billed for
  (32-40): it gets its own right-to-invoice obligation keyed `<phase>:overage` (`overage_obligation_id`),
  recognised as invoiced (55-18), so it never disturbs the fee's straight line.

  Unused hours are the customer's unexercised rights (55-46). The policy is the first of 55-48: the firm
  expects to be entitled to them (rollover is limited, and nothing survives the term), so that breakage is
  recognised in proportion to the pattern of rights exercised, which for a stand-ready series is the
  straight line itself: no separate breakage entry, nothing deferred past the term, and the fee is fixed
  and not refundable, so no reversal is probable (55-49, 32-11). Recognising breakage only when hours
  lapse (the remote method of 55-48) would defer each month's fee until its hours are used, an hours-used
  measure at odds with a stand-ready promise. Billing reports the breakage for the controller.

The transaction price is the sum of the fixed consideration (every phase but time and materials),
allocated on standalone selling prices that default to the phase amounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from q2c.domain.model import BillingType, Contract, ContractPhase, MilestoneStatus
from q2c.domain.money import Money
from q2c.domain.revenue.errors import InvalidContract
from q2c.domain.revenue.facts import MilestoneReached
from q2c.domain.revenue.minor_units import to_units
from q2c.domain.revenue.obligations import (
    MilestoneTarget,
    PerformanceObligation,
    RecognitionMethod,
    RecognitionPolicy,
    RevenueContract,
    SspBasis,
    StandaloneSellingPrice,
)
from q2c.domain.revenue.transaction_price import TransactionPrice

METHOD_BY_BILLING_TYPE = {
    BillingType.TIME_AND_MATERIALS: RecognitionMethod.RIGHT_TO_INVOICE,
    BillingType.MILESTONE: RecognitionMethod.OUTPUT_MILESTONES,
    BillingType.FIXED_FEE: RecognitionMethod.INPUT_HOURS,
    BillingType.RETAINER: RecognitionMethod.RATABLE_MONTHLY,
}


def revenue_contract_id(contract_id: str) -> str:
    return f"RC-{contract_id}"


def overage_obligation_id(phase_id: str) -> str:
    """Where a retainer's overage is billed and recognised: invoice lines carry it as their phase key."""
    return f"{phase_id}:overage"


def revenue_contract_from(contract: Contract, *, ssp: Mapping[str, Money] | None = None,
                          estimated_hours: Mapping[str, Decimal] | None = None,
                          policy: RecognitionPolicy | None = None) -> RevenueContract:
    """The revenue contract of a customer contract; refuses what it cannot account for, naming the phase and field."""
    ssp = dict(ssp or {})
    hours = dict(estimated_hours or {})
    phase_ids = {p.id for p in contract.phases}
    for key in list(ssp) + list(hours):
        if key not in phase_ids:
            raise InvalidContract(f"contract {contract.id}: no phase {key} (given a standalone selling price or "
                                  f"estimated hours for it)")
    obligations = []
    fixed = Money.zero(contract.currency)
    for phase in contract.phases:
        where = f"contract {contract.id} phase {phase.id}"
        if phase.amount.currency != contract.currency:
            raise InvalidContract(f"{where} field amount: {phase.amount.currency}, but the contract is in "
                                  f"{contract.currency}")
        to_units(phase.amount, what=f"{where} field amount")
        method = METHOD_BY_BILLING_TYPE[phase.billing_type]
        price = ssp.get(phase.id)
        if price is not None and price.currency != contract.currency:
            raise InvalidContract(f"{where} field ssp: {price.currency}, but the contract is in {contract.currency}")
        ssp_value = (StandaloneSellingPrice.observable(price, "standalone selling price supplied for the phase")
                     if price is not None else StandaloneSellingPrice.contract_price(phase.amount))
        obligations.append(_obligation(contract, phase, method, ssp_value, hours.get(phase.id, phase.estimated_hours),
                                       where))
        if phase.billing_type is BillingType.RETAINER:
            obligations.append(_overage(contract, phase))
        if method is not RecognitionMethod.RIGHT_TO_INVOICE:
            fixed = fixed + phase.amount
    return RevenueContract(
        id=revenue_contract_id(contract.id), contract_id=contract.id, customer_id=contract.customer_id,
        legal_entity=contract.legal_entity, currency=contract.currency, start=contract.start_date,
        end=contract.end_date, obligations=tuple(obligations), price=TransactionPrice(fixed=fixed),
        policy=policy or RecognitionPolicy())


def _obligation(contract: Contract, phase: ContractPhase, method: RecognitionMethod, ssp: StandaloneSellingPrice,
                hours: Decimal | None, where: str) -> PerformanceObligation:
    common = {"id": phase.id, "name": phase.name, "method": method, "ssp": ssp, "phase_id": phase.id,
              "service_line": phase.service_offering}
    if method is RecognitionMethod.INPUT_HOURS:
        if hours is None or hours <= 0:
            raise InvalidContract(f"{where} field estimated_hours: a fixed-fee phase is recognised by hours and "
                                  f"needs its estimated total hours (positive)")
        return PerformanceObligation(**common, estimated_total=hours)  # type: ignore[arg-type]
    if method is RecognitionMethod.OUTPUT_MILESTONES:
        if not phase.milestones:
            raise InvalidContract(f"{where} field milestones: a milestone phase needs its milestones")
        targets = tuple(MilestoneTarget(m.id, m.name, m.amount) for m in phase.milestones)
        return PerformanceObligation(**common, milestones=targets)  # type: ignore[arg-type]
    if method is RecognitionMethod.RATABLE_MONTHLY:
        start = phase.term_start or contract.start_date
        end = phase.term_end or contract.end_date
        if end is None:
            raise InvalidContract(f"contract {contract.id} field end_date: a retainer phase ({phase.id}) is "
                                  f"recognised over its term and needs the term's end (phase field term_end, "
                                  f"else the contract's end date)")
        if end < start:
            raise InvalidContract(f"{where} field term_end: {end.isoformat()} is before the term's start "
                                  f"{start.isoformat()}")
        return PerformanceObligation(**common, start=start, end=end)  # type: ignore[arg-type]
    return PerformanceObligation(**common)  # type: ignore[arg-type]


def _overage(contract: Contract, phase: ContractPhase) -> PerformanceObligation:
    """The retainer's overage: variable consideration for the hours beyond the prepaid ones, as invoiced."""
    ssp = StandaloneSellingPrice(
        SspBasis.CONTRACT_PRICE, Money.zero(contract.currency),
        "overage beyond the prepaid hours is variable consideration allocated entirely to the month it is billed "
        "for (ASC 606-10-32-40) and recognised as invoiced (55-18); it takes no share of the fixed price")
    return PerformanceObligation(id=overage_obligation_id(phase.id), name=f"{phase.name} overage",
                                 method=RecognitionMethod.RIGHT_TO_INVOICE, ssp=ssp, phase_id=phase.id,
                                 service_line=phase.service_offering)


def milestone_facts(contract: Contract) -> list[MilestoneReached]:
    """Facts for the milestones the contract already shows as completed or accepted (with their dates)."""
    facts = []
    for phase in contract.phases:
        for m in phase.milestones:
            if m.status is MilestoneStatus.PENDING:
                continue
            if m.completed_on is None:
                raise InvalidContract(f"contract {contract.id} phase {phase.id} milestone {m.id} field completed_on: "
                                      f"a {m.status.value} milestone needs the date it was reached")
            facts.append(MilestoneReached(id=f"{m.id}:{m.status.value}", obligation_id=phase.id, on=m.completed_on,
                                          milestone_id=m.id, status=m.status))
    return facts
