"""Fixed-fee and milestone phases billed by milestone, on completion or on acceptance.

* A pending milestone cannot be billed (`MilestoneNotBillable`, naming milestone and status).
* By default a completed milestone may be billed; with ``require_acceptance=True`` (contracts
  that bill on customer sign-off) only an accepted one may.
* Not before the work is done: an invoice dated before the milestone's ``completed_on`` is refused.
* A milestone is billed once: pass the ids already billed and a second attempt is refused.
* The line is the milestone amount as agreed (it must already be in minor units; nothing to round).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from decimal import Decimal

from q2c.domain.billing.errors import MilestoneNotBillable
from q2c.domain.billing.rounding import require_currency, require_minor_units
from q2c.domain.billing.terms import check_phase
from q2c.domain.model import BillingType, Contract, ContractPhase, Invoice, InvoiceLine, Milestone, MilestoneStatus


def check_milestone_billable(phase: ContractPhase, milestone: Milestone, *, invoice_date: date,
                             require_acceptance: bool = False, billed_milestone_ids: Collection[str] = ()) -> None:
    """Raise `MilestoneNotBillable` unless this milestone may be invoiced on this date."""
    name = f"milestone {milestone.id} '{milestone.name}' of phase {phase.id}"
    if all(m.id != milestone.id for m in phase.milestones):
        raise MilestoneNotBillable(f"{name} is not one of the phase's milestones")
    if milestone.status is MilestoneStatus.PENDING:
        raise MilestoneNotBillable(
            f"{name} field status is 'pending': it can be billed once it is completed"
            + (" and accepted" if require_acceptance else ""))
    if require_acceptance and milestone.status is not MilestoneStatus.ACCEPTED:
        raise MilestoneNotBillable(
            f"{name} field status is '{milestone.status}': this contract bills milestones on acceptance")
    if milestone.completed_on is not None and milestone.completed_on > invoice_date:
        raise MilestoneNotBillable(
            f"{name} field completed_on is {milestone.completed_on.isoformat()}, after the invoice date "
            f"{invoice_date.isoformat()}")
    if milestone.id in billed_milestone_ids:
        raise MilestoneNotBillable(f"{name} has already been billed")


def milestone_invoice(*, invoice_id: str, contract: Contract, phase: ContractPhase, milestone: Milestone,
                      invoice_date: date, require_acceptance: bool = False,
                      billed_milestone_ids: Collection[str] = ()) -> Invoice:
    """One invoice line for a completed (or accepted) milestone of a fixed-fee or milestone phase."""
    check_phase(contract, phase, (BillingType.MILESTONE, BillingType.FIXED_FEE), run="milestone invoice")
    check_milestone_billable(phase, milestone, invoice_date=invoice_date, require_acceptance=require_acceptance,
                             billed_milestone_ids=billed_milestone_ids)
    what = f"milestone {milestone.id} field amount"
    require_currency(milestone.amount, contract.currency, what=what)
    require_minor_units(milestone.amount, what=what)
    if milestone.amount.amount < 0:
        raise MilestoneNotBillable(f"{what} is {milestone.amount}: a milestone amount cannot be negative")
    done = f", {milestone.status} {milestone.completed_on.isoformat()}" if milestone.completed_on else ""
    line = InvoiceLine(
        description=f"Milestone '{milestone.name}' of phase '{phase.name}'{done}",
        quantity=Decimal(1), unit_price=milestone.amount, amount=milestone.amount,
        phase_id=phase.id, milestone_id=milestone.id)
    return Invoice(id=invoice_id, contract_id=contract.id, customer_id=contract.customer_id,
                   invoice_date=invoice_date, currency=contract.currency, lines=(line,), total=milestone.amount)
