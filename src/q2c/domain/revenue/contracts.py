"""From the canonical `Contract` to a `RevenueContract`: one performance obligation per phase.

The mapping is the firm's default policy for professional services, each choice explained:

* time and materials -> right to invoice (ASC 606-10-55-18 / IFRS 15.B16): revenue is what the
  firm may invoice for the hours worked; its consideration is variable and belongs to that phase;
* milestone -> output method by milestones, weighted by the milestone amounts;
* fixed fee -> input method by hours against the phase's estimated hours;
* retainer -> straight line by month over the contract term (a stand-ready series).

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
        if contract.end_date is None:
            raise InvalidContract(f"contract {contract.id} field end_date: a retainer phase ({phase.id}) is "
                                  f"recognised over the contract term and needs the contract's end date")
        return PerformanceObligation(**common, start=contract.start_date, end=contract.end_date)  # type: ignore[arg-type]
    return PerformanceObligation(**common)  # type: ignore[arg-type]


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
