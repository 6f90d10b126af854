"""The deal rules of a fixed fee billed on a schedule: every problem named by its record and field, all at once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from q2c.domain.model import (
    BillingTerms,
    BillingType,
    Customer,
    Milestone,
    Opportunity,
    OpportunityLine,
    ScheduledBilling,
    TaxProfile,
)
from q2c.domain.money import Money
from q2c.domain.validation.deal import DealReferenceData, deal_violations

REF = DealReferenceData(legal_entities={"US01": "USD"}, service_offerings={"IMPL"}, payment_terms=("Net 30",),
                        rate_card_currencies={"USD"})
NAMES = {"billing_schedule": "Billing_Schedule_Line__c",
         "billing_schedule.percent": "Billing_Schedule_Line__c.Percent__c",
         "billing_schedule.bill_date": "Billing_Schedule_Line__c.Bill_Date__c",
         "end_date": "Opportunity.End_Date__c"}
ACCOUNT = Customer(id="SF-001A", name="Acme Industrial", legal_entity="US01",
                   tax_profile=TaxProfile(tax_id="US-55-1234567"), billing_terms=BillingTerms(payment_terms="Net 30"))


def entry(n: int, when: date, percent: str) -> ScheduledBilling:
    return ScheduledBilling(id=f"SF-a1S{n}", name=f"Step {n}", bill_date=when, percent=Decimal(percent))


SOLD = (entry(1, date(2026, 11, 2), "30"), entry(2, date(2026, 12, 15), "40"), entry(3, date(2027, 1, 31), "30"))
LINE = OpportunityLine(id="SF-00kFF", service_offering="IMPL", billing_type=BillingType.FIXED_FEE,
                       amount=Money.of("50000", "USD"), estimated_hours=Decimal(200), billing_schedule=SOLD)


def deal(line: OpportunityLine = LINE, **changes: Any) -> Opportunity:
    base = Opportunity(id="SF-006A", name="Acme data platform", customer_id="SF-001A", stage="Closed Won",
                       is_won=True, close_date=date(2026, 11, 2), start_date=date(2026, 11, 2),
                       end_date=date(2027, 1, 31), amount=line.amount, lines=(line,))
    return base.model_copy(update=changes)


def found(opportunity: Opportunity) -> list[tuple[str, str, str | None, str]]:
    return [(v.object, v.record_id, v.field, v.rule) for v in
            deal_violations(opportunity, {ACCOUNT.id: ACCOUNT}, REF, system="salesforce", fields=NAMES)]


def test_a_schedule_of_positive_percentages_adding_to_100_inside_the_term_passes() -> None:
    assert found(deal()) == []
    on_the_term_edges = (entry(1, date(2026, 11, 2), "50"), entry(2, date(2027, 1, 31), "50"))
    assert found(deal(LINE.model_copy(update={"billing_schedule": on_the_term_edges}))) == []


def test_every_problem_of_a_schedule_is_named_by_record_and_field_at_once() -> None:
    """Step 1 bills 0% before the term starts; step 2 is on the same day; step 3 after the term ends; the
    percentages add up to 0 + 40 + 45 = 85."""
    broken = (entry(1, date(2026, 10, 30), "0"), entry(2, date(2026, 10, 30), "40"), entry(3, date(2027, 2, 1), "45"))
    obj, percent, bill_date = "Billing_Schedule_Line__c", "Billing_Schedule_Line__c.Percent__c", \
        "Billing_Schedule_Line__c.Bill_Date__c"
    assert found(deal(LINE.model_copy(update={"billing_schedule": broken}))) == [
        (obj, "SF-a1S1", percent, "deal.billing_schedule_percent"),
        (obj, "SF-a1S1", bill_date, "deal.billing_schedule_term"),
        (obj, "SF-a1S2", bill_date, "deal.billing_schedule_order"),
        (obj, "SF-a1S2", bill_date, "deal.billing_schedule_term"),
        (obj, "SF-a1S3", bill_date, "deal.billing_schedule_term"),
        ("OpportunityLineItem", "SF-00kFF", obj, "deal.billing_schedule_total")]
    messages = [v.message for v in deal_violations(deal(LINE.model_copy(update={"billing_schedule": broken})),
                                                   {ACCOUNT.id: ACCOUNT}, REF, system="salesforce", fields=NAMES)]
    assert "instalment 1 of the billing schedule ('Step 1') bills 0% of the fee" in messages[0]
    assert "outside the contract term (2026-11-02 to 2027-01-31)" in messages[1]
    assert "not after the instalment before it (2026-10-30)" in messages[2]
    assert messages[-1].startswith("the billing schedule's percentages add up to 85%, not 100%")


def test_a_schedule_over_100_percent_is_refused() -> None:
    over = (*SOLD, entry(4, date(2027, 1, 31), "0.01"))
    rules = [r for *_, r in found(deal(LINE.model_copy(update={"billing_schedule": over})))]
    assert rules == ["deal.billing_schedule_order", "deal.billing_schedule_total"]


def test_only_a_fixed_fee_without_milestones_is_billed_on_a_schedule() -> None:
    tm = LINE.model_copy(update={"billing_type": BillingType.TIME_AND_MATERIALS})
    assert found(deal(tm)) == [("OpportunityLineItem", "SF-00kFF", "Billing_Schedule_Line__c",
                                "deal.billing_schedule_type")]
    both = LINE.model_copy(update={"milestones": (Milestone(id="SF-a1Q1", name="Go-live",
                                                            amount=Money.of("50000", "USD")),)})
    assert found(deal(both)) == [("OpportunityLineItem", "SF-00kFF", "Billing_Schedule_Line__c",
                                  "deal.billing_schedule_milestones")]


def test_a_scheduled_fixed_fee_needs_no_end_date_but_one_billed_monthly_does() -> None:
    assert found(deal(end_date=None)) == []
    monthly = LINE.model_copy(update={"billing_schedule": ()})
    assert found(deal(monthly, end_date=None)) == [("Opportunity", "SF-006A", "Opportunity.End_Date__c",
                                                    "deal.end_date_missing")]


def test_without_the_crms_names_the_canonical_ones_are_shown() -> None:
    (violation,) = deal_violations(deal(LINE.model_copy(update={"billing_schedule": SOLD[:2]})),
                                   {ACCOUNT.id: ACCOUNT}, REF, system="salesforce")
    assert (violation.object, violation.field) == ("OpportunityLineItem", "billing_schedule")
