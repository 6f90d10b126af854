"""Rules a won deal must pass before anything is created in the ERP or the time tracker.

The customer hierarchy, tax profile, legal entity, service offerings and billing terms are checked
against the firm's reference data. Each violation names the CRM record and field to fix; `fields`
maps canonical field names to the names people see in the CRM (and "billing_schedule" to the CRM's
object holding a fixed fee's billing schedule, whose records a schedule problem names).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal

from q2c.domain.billing.errors import RetainerRefused
from q2c.domain.billing.retainers import hours_per_month, months_between, term_end_after
from q2c.domain.model import BillingType, Customer, Opportunity, OpportunityLine
from q2c.domain.violations import Violation

MAX_HIERARCHY_DEPTH = 6


@dataclass(frozen=True)
class DealReferenceData:
    legal_entities: Mapping[str, str]  # code -> functional currency
    service_offerings: Collection[str]
    payment_terms: Collection[str]
    rate_card_currencies: Collection[str]


def deal_violations(opportunity: Opportunity, customers: Mapping[str, Customer], ref: DealReferenceData, *,
                    system: str, fields: Mapping[str, str] | None = None) -> list[Violation]:
    """All violations of one won deal; `customers` holds the account and its ancestors by canonical id.

    `system` is the CRM's name (where the deal is fixed); `fields` its names for canonical fields."""
    add = Findings(system, fields or {})
    customer = customers.get(opportunity.customer_id)
    if customer is None:
        add("Opportunity", opportunity.id, "customer_id", "deal.customer_missing",
            f"the opportunity's account {opportunity.customer_id} could not be read",
            "Check that the opportunity has an account the integration user can see")
        return add.found
    check_hierarchy(customer, customers, add)
    allowed = ", ".join(sorted(ref.legal_entities))
    if opportunity.legal_entity and opportunity.legal_entity not in ref.legal_entities:
        add("Opportunity", opportunity.id, "legal_entity", "deal.legal_entity_unknown",
            f"legal entity '{opportunity.legal_entity}' on the opportunity is not one of the firm's entities",
            f"Use one of: {allowed}")
    elif not opportunity.legal_entity and not customer.legal_entity:
        add("Account", customer.id, "legal_entity", "customer.legal_entity_missing",
            f"account '{customer.name}' has no contracting legal entity",
            f"Set the legal entity on the account in the CRM (one of: {allowed})")
    elif not opportunity.legal_entity and customer.legal_entity not in ref.legal_entities:
        add("Account", customer.id, "legal_entity", "customer.legal_entity_unknown",
            f"legal entity '{customer.legal_entity}' is not one of the firm's entities", f"Use one of: {allowed}")
    tax = customer.tax_profile
    if tax is None or (not tax.exempt and not tax.tax_id):
        add("Account", customer.id, "tax_profile.tax_id", "customer.tax_id_missing",
            f"account '{customer.name}' has no tax id and is not marked tax exempt",
            "Enter the customer's tax id (or mark it exempt with a certificate) on the account in the CRM")
    elif tax.exempt and not tax.exemption_certificate:
        add("Account", customer.id, "tax_profile.exemption_certificate", "customer.exemption_unsupported",
            f"account '{customer.name}' is marked tax exempt without an exemption certificate",
            "Attach the exemption certificate number on the account, or clear the exemption")
    terms = customer.billing_terms
    if terms is None or not terms.payment_terms:
        add("Account", customer.id, "billing_terms.payment_terms", "customer.payment_terms_missing",
            f"account '{customer.name}' has no payment terms",
            f"Set payment terms: {', '.join(sorted(ref.payment_terms))}")
    elif terms.payment_terms not in ref.payment_terms:
        add("Account", customer.id, "billing_terms.payment_terms", "customer.payment_terms_unknown",
            f"payment terms '{terms.payment_terms}' are not offered",
            f"Use one of: {', '.join(sorted(ref.payment_terms))}")
    currency = opportunity.amount.currency
    if currency not in ref.rate_card_currencies:
        add("Opportunity", opportunity.id, "currency", "deal.no_rate_card",
            f"no rate card is priced in {currency}",
            f"Add a {currency} rate card to the q2c config or sell in {', '.join(sorted(ref.rate_card_currencies))}")
    if not opportunity.lines:
        add("Opportunity", opportunity.id, "lines", "deal.no_lines", "the won deal has no line items",
            "Add the sold services as line items")
    for line in opportunity.lines:
        check_line(opportunity, line, ref, add)
        check_line_terms(opportunity, line, add)
    start = opportunity.start_date or opportunity.close_date
    if opportunity.end_date is not None and opportunity.end_date < start:
        add("Opportunity", opportunity.id, "end_date", "deal.end_before_start",
            f"the deal ends {opportunity.end_date.isoformat()}, before it starts {start.isoformat()}",
            "Correct the start or end date on the opportunity")
    return add.found


def check_line_terms(opportunity: Opportunity, line: OpportunityLine, add: Findings) -> None:
    """What billing and revenue recognition will need from the line, checked before anything is written."""
    if line.billing_type is BillingType.FIXED_FEE:
        if line.estimated_hours is None or line.estimated_hours <= 0:
            add("OpportunityLineItem", line.id, "estimated_hours", "deal.estimated_hours_missing",
                f"a fixed-fee line is recognised as its hours are worked, against the hours sold, but the line has "
                f"{'none' if line.estimated_hours is None else line.estimated_hours}",
                "Enter the estimated hours of the fixed fee on the line item (positive)")
        if not line.milestones and not line.billing_schedule and opportunity.end_date is None:
            add("Opportunity", opportunity.id, "end_date", "deal.end_date_missing",
                f"line {line.id} is a fixed fee without milestones, billed in monthly instalments over the contract "
                "term, but the deal has no end date",
                "Set the contract's end date on the opportunity (or add the fee's milestones)")
    if line.billing_type is BillingType.RETAINER:
        check_retainer_terms(opportunity, line, add)
    if line.billing_schedule:
        check_billing_schedule(opportunity, line, add)


def check_billing_schedule(opportunity: Opportunity, line: OpportunityLine, add: Findings) -> None:
    """A fixed fee billed on a schedule: positive percentages adding up to exactly 100, on dates strictly
    increasing inside the contract term, so the instalments bill the whole fee, each once, while the contract
    runs. Each instalment's problem names its own record."""
    schedule_object = add.names.get("billing_schedule", "billing_schedule")
    fix = f"Correct the line's billing schedule ({schedule_object} records of line {line.id}) in the CRM"
    if line.billing_type is not BillingType.FIXED_FEE:
        add("OpportunityLineItem", line.id, "billing_schedule", "deal.billing_schedule_type",
            f"the line is billed as {line.billing_type.value} but has a billing schedule of "
            f"{len(line.billing_schedule)} instalment(s); only a fixed fee is billed on a schedule",
            f"Remove the line's {schedule_object} records, or make the line a fixed fee")
        return
    if line.milestones:
        add("OpportunityLineItem", line.id, "billing_schedule", "deal.billing_schedule_milestones",
            f"the fixed fee has both milestones ({len(line.milestones)}) and a billing schedule; it is billed by "
            "one of them", "Keep either the milestones or the billing schedule on the line")
    start = opportunity.start_date or opportunity.close_date
    end = opportunity.end_date
    previous = None
    for n, instalment in enumerate(line.billing_schedule, start=1):
        label = f"instalment {n} of the billing schedule ('{instalment.name}')"
        if instalment.percent <= 0:
            add(schedule_object, instalment.id, "billing_schedule.percent", "deal.billing_schedule_percent",
                f"{label} bills {instalment.percent}% of the fee; each instalment must bill a positive percentage",
                f"{fix}: give it a percentage above 0, or delete it")
        when = instalment.bill_date
        if previous is not None and when <= previous:
            add(schedule_object, instalment.id, "billing_schedule.bill_date", "deal.billing_schedule_order",
                f"{label} is billed on {when.isoformat()}, not after the instalment before it "
                f"({previous.isoformat()}); the dates must be strictly increasing", f"{fix}: move its date")
        if when < start or (end is not None and when > end):
            term = f"{start.isoformat()} to {end.isoformat()}" if end is not None else f"from {start.isoformat()}"
            add(schedule_object, instalment.id, "billing_schedule.bill_date", "deal.billing_schedule_term",
                f"{label} is billed on {when.isoformat()}, outside the contract term ({term})",
                f"{fix}: bill it inside the term, or correct the deal's start or end date")
        previous = when
    total = sum((i.percent for i in line.billing_schedule), Decimal(0))
    if total != 100:
        add("OpportunityLineItem", line.id, "billing_schedule", "deal.billing_schedule_total",
            f"the billing schedule's percentages add up to {total.normalize():f}%, not 100%; the fee would be "
            f"billed {'short' if total < 100 else 'over'}", f"{fix} so that its percentages add up to 100")


def check_retainer_terms(opportunity: Opportunity, line: OpportunityLine, add: Findings) -> None:
    """A retainer's own term (service date + term months, else to the deal's end) and its prepaid hours."""
    start = line.service_start or opportunity.start_date or opportunity.close_date
    if line.term_months is None and opportunity.end_date is None:
        add("Opportunity", opportunity.id, "end_date", "deal.end_date_missing",
            f"line {line.id} is a retainer, recognised straight line over its term, but it has no term months "
            "and the deal has no end date", "Set the retainer's term months on the line item, or the contract's "
            "end date on the opportunity")
        return
    end = term_end_after(start, line.term_months) if line.term_months is not None else opportunity.end_date
    assert end is not None
    if end < start:
        add("OpportunityLineItem", line.id, "service_start", "deal.retainer_term",
            f"the retainer starts {start.isoformat()}, after the deal ends {end.isoformat()}",
            "Correct the line's service date, or give the retainer its term months")
    elif line.estimated_hours is not None:
        try:
            hours_per_month(line.estimated_hours, months_between(start, end), where=f"retainer line {line.id}")
        except RetainerRefused as exc:
            add("OpportunityLineItem", line.id, "estimated_hours", "deal.retainer_hours", str(exc),
                "Enter the hours prepaid over the whole term so that they divide evenly into its months")
    if line.overage_rate is not None and line.overage_rate.currency != line.amount.currency:
        add("OpportunityLineItem", line.id, "overage_rate", "deal.overage_rate_currency",
            f"overage rate {line.overage_rate} is not in the line currency {line.amount.currency}",
            "Give the overage rate in the deal currency")



class Findings:
    """The violations found so far, with the CRM's names for canonical fields."""

    def __init__(self, system: str, names: Mapping[str, str]) -> None:
        self.system = system
        self.names = names
        self.found: list[Violation] = []

    def __call__(self, obj: str, record: str, field: str, rule: str, message: str, action: str) -> None:
        self.found.append(Violation(system=self.system, object=obj, record_id=record,
                                    field=self.names.get(field, field), rule=rule, message=message, action=action))


def check_hierarchy(customer: Customer, customers: Mapping[str, Customer], add: Findings) -> None:
    seen: list[str] = [customer.id]
    current = customer
    while current.parent_id is not None:
        if current.parent_id in seen:
            add("Account", current.id, "parent_id", "customer.hierarchy_cycle",
                f"account hierarchy loops: {' -> '.join([*seen, current.parent_id])}",
                "Fix the Parent Account so the hierarchy has a top")
            break
        parent = customers.get(current.parent_id)
        if parent is None:
            add("Account", current.id, "parent_id", "customer.parent_missing",
                f"parent account {current.parent_id} of '{current.name}' could not be read",
                "Check the Parent Account exists and is visible to the integration user")
            break
        if (current is customer and parent.legal_entity and customer.legal_entity
                and parent.legal_entity != customer.legal_entity):
            add("Account", customer.id, "legal_entity", "customer.hierarchy_entity_mismatch",
                f"'{customer.name}' contracts with {customer.legal_entity} but its parent '{parent.name}' with "
                f"{parent.legal_entity}",
                "Align the legal entity with the parent account, or detach the account from the parent")
        seen.append(parent.id)
        if len(seen) > MAX_HIERARCHY_DEPTH:
            add("Account", customer.id, "parent_id", "customer.hierarchy_too_deep",
                f"account hierarchy is deeper than {MAX_HIERARCHY_DEPTH} levels", "Flatten the hierarchy")
            break
        current = parent


def check_line(opportunity: Opportunity, line: OpportunityLine, ref: DealReferenceData, add: Findings) -> None:
    if not line.service_offering:
        add("OpportunityLineItem", line.id, "service_offering", "deal.offering_missing",
            "the line has no service offering", "Pick the service offering on the line item")
    elif line.service_offering not in ref.service_offerings:
        add("OpportunityLineItem", line.id, "service_offering", "deal.offering_unknown",
            f"service offering '{line.service_offering}' is not in the catalogue",
            f"Use one of: {', '.join(sorted(ref.service_offerings))}")
    if line.amount.currency != opportunity.amount.currency:
        add("OpportunityLineItem", line.id, "amount", "deal.line_currency",
            f"line is in {line.amount.currency}, the deal in {opportunity.amount.currency}",
            "Price every line in the deal currency")
    if line.amount.amount < 0:
        add("OpportunityLineItem", line.id, "amount", "deal.line_negative", f"line amount {line.amount} is negative",
            "Correct the line price")
    if line.billing_type is BillingType.MILESTONE:
        if not line.milestones:
            add("OpportunityLineItem", line.id, "milestones", "deal.milestones_missing",
                "a milestone line has no milestones", "Add the milestones with their amounts")
        else:
            total = sum((m.amount.amount for m in line.milestones), start=line.amount.amount * 0)
            if total != line.amount.amount:
                add("OpportunityLineItem", line.id, "milestones", "deal.milestones_sum",
                    f"milestones add up to {total} but the line is {line.amount.amount}",
                    "Make the milestone amounts add up to the line price")
    for m in line.milestones:
        if m.amount.currency != line.amount.currency:
            add("Opportunity_Milestone__c", m.id, "milestones", "deal.milestone_currency",
                f"milestone '{m.name}' is in {m.amount.currency}, its line in {line.amount.currency}",
                "Price the milestone in the deal currency")
    if line.cap is not None and line.cap.currency != line.amount.currency:
        add("OpportunityLineItem", line.id, "cap", "deal.cap_currency",
            f"cap {line.cap} is not in the line currency {line.amount.currency}", "Give the cap in the deal currency")
    if line.billing_type is BillingType.TIME_AND_MATERIALS and line.cap is not None and line.cap.amount <= 0:
        add("OpportunityLineItem", line.id, "cap", "deal.cap_not_positive", f"cap {line.cap} must be above zero",
            "Correct or clear the not-to-exceed cap")
