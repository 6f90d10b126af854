"""A retainer line becomes a phase with its own term and prepaid hours a month; bad terms are refused at set-up,
naming the line and field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from q2c.domain.engagement import TaskTemplate, keep_retainer_term, plan_engagement
from q2c.domain.model import (
    BillingTerms,
    BillingType,
    Customer,
    Opportunity,
    OpportunityLine,
    RateCard,
    RateCardLine,
    TaxProfile,
)
from q2c.domain.money import Money
from q2c.domain.validation.deal import DealReferenceData, deal_violations


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


CUSTOMER = Customer(id="SF-001A", name="Northwind", legal_entity="US01", tax_profile=TaxProfile(tax_id="94-1"),
                    billing_terms=BillingTerms(payment_terms="Net 30"))
CARD = RateCard(id="RC", currency="USD", lines=(RateCardLine(role="Consultant", rate=usd("150.00"),
                                                             effective_from=date(2026, 1, 1)),))
CATALOGUE = {"Advisory": (TaskTemplate("ADV", "Advisory"),)}
REF = DealReferenceData(legal_entities={"US01": "USD"}, service_offerings={"Advisory"}, payment_terms={"Net 30"},
                        rate_card_currencies={"USD"})
RETAINER = OpportunityLine(id="SF-00kRET", service_offering="Advisory", billing_type=BillingType.RETAINER,
                           amount=usd("24000.00"), estimated_hours=Decimal(160), service_start=date(2026, 11, 15),
                           term_months=4, overage_rate=usd("180.00"), rollover_months=1)


def deal(*lines: OpportunityLine, **changes: Any) -> Opportunity:
    base = Opportunity(id="SF-006A", name="Northwind support", customer_id="SF-001A", stage="Closed Won",
                       is_won=True, close_date=date(2026, 10, 28), amount=usd("24000.00"),
                       start_date=date(2026, 11, 1), end_date=date(2027, 6, 30), lines=lines or (RETAINER,))
    return base.model_copy(update=changes)


def plan(opportunity: Opportunity) -> Any:
    contract, _ = plan_engagement(opportunity, CUSTOMER, legal_entity="US01", rate_card=CARD,
                                  offering_tasks=CATALOGUE)
    return contract.phases[0]


def violations(opportunity: Opportunity) -> list[tuple[str, str | None, str]]:
    return [(v.rule, v.field, v.message) for v in deal_violations(opportunity, {CUSTOMER.id: CUSTOMER}, REF,
                                                                  system="salesforce")]


def test_the_phase_carries_the_retainers_own_term_and_prepaid_hours_a_month() -> None:
    """Service date Nov 15 + 4 months: Nov to Feb, 2027-02-28; 160 h / 4 = 40 h a month."""
    phase = plan(deal())
    assert (phase.term_start, phase.term_end, phase.retainer_hours) == (date(2026, 11, 15), date(2027, 2, 28), 40)
    assert (phase.amount, phase.overage_rate, phase.rollover_months) == (usd("24000.00"), usd("180.00"), 1)
    assert violations(deal()) == []


def test_without_term_months_a_retainer_runs_to_the_deals_end_as_it_is_at_set_up() -> None:
    """No service date, no term: Nov 1 to Jun 30, 8 months, 160 / 8 = 20 h a month."""
    line = RETAINER.model_copy(update={"service_start": None, "term_months": None})
    phase = plan(deal(line))
    assert (phase.term_start, phase.term_end, phase.retainer_hours) == (date(2026, 11, 1), date(2027, 6, 30), 20)


def test_an_unchanged_retainer_line_keeps_its_term_when_the_deal_end_moves() -> None:
    """Nov 15 to the deal's end Jun 30: 8 months, 20 h. The deal's end moves to 2028-02-29: planned afresh that is
    16 months of 10 h, but the line did not change, so the phase keeps Jun 30 and 20 h. Changing the line to
    5 months (32 h) does change it: to 2027-03-31."""
    line = RETAINER.model_copy(update={"term_months": None})
    kept = plan(deal(line))
    moved = plan(deal(line, end_date=date(2028, 2, 29)))
    assert (moved.term_end, moved.retainer_hours) == (date(2028, 2, 29), Decimal(10))
    unchanged = keep_retainer_term(kept, moved, before=line, after=line)
    assert (unchanged.term_end, unchanged.retainer_hours) == (date(2027, 6, 30), Decimal(20))
    shorter = line.model_copy(update={"term_months": 5})
    changed = keep_retainer_term(kept, plan(deal(shorter, end_date=date(2028, 2, 29))), before=line, after=shorter)
    assert (changed.term_end, changed.retainer_hours) == (date(2027, 3, 31), Decimal(32))


def test_retainer_terms_that_cannot_be_billed_are_refused_naming_line_and_field() -> None:
    no_end = deal(RETAINER.model_copy(update={"term_months": None}), end_date=None)
    assert [(r, f) for r, f, _ in violations(no_end)] == [("deal.end_date_missing", "end_date")]
    uneven = deal(RETAINER.model_copy(update={"estimated_hours": Decimal(100), "term_months": 3}))
    ((rule, field, message),) = violations(uneven)
    assert (rule, field) == ("deal.retainer_hours", "estimated_hours")
    assert "retainer line SF-00kRET: 100 h over 3 months is 33.3333... h a month" in message
    late = deal(RETAINER.model_copy(update={"term_months": None, "service_start": date(2027, 7, 1)}))
    assert violations(late) == [("deal.retainer_term", "service_start",
                                 "the retainer starts 2027-07-01, after the deal ends 2027-06-30")]
    euros = deal(RETAINER.model_copy(update={"overage_rate": Money.of("180.00", "EUR")}))
    assert [(r, f) for r, f, _ in violations(euros)] == [("deal.overage_rate_currency", "overage_rate")]
