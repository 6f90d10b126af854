"""Amendments: what changed in a won deal between two readings of it, in the deal's own terms."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from q2c.domain.amendments import Amendment, AmendmentKind, amendments
from q2c.domain.model import BillingType, Milestone, MilestoneStatus, Opportunity, OpportunityLine
from q2c.domain.money import Money


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


TM = OpportunityLine(id="L-TM", service_offering="IMPL", billing_type=BillingType.TIME_AND_MATERIALS,
                     amount=usd("30000.00"), estimated_hours=Decimal(200), cap=usd("32000.00"))
MS = OpportunityLine(id="L-MS", service_offering="IMPL", billing_type=BillingType.MILESTONE, amount=usd("10000.00"),
                     milestones=(Milestone(id="M-1", name="Blueprint", amount=usd("10000.00"),
                                           due_date=date(2026, 10, 31)),))
WON = Opportunity(id="SF-006A", name="Acme", customer_id="SF-001A", stage="Closed Won", is_won=True,
                  close_date=date(2026, 9, 1), start_date=date(2026, 9, 1), end_date=date(2026, 11, 30),
                  amount=usd("40000.00"), legal_entity="US01", lines=(TM, MS))


def test_the_scope_change_of_the_deal_life_is_four_amendments() -> None:
    """T&M raised from 30,000 to 40,000 with its cap from 32,000 to 42,000, the end date a month later, and
    a 5,000 milestone added to the milestone line: four terms, each with its before and after."""
    changed = WON.model_copy(update={
        "end_date": date(2026, 12, 31), "amount": usd("55000.00"), "lines": (
            TM.model_copy(update={"amount": usd("40000.00"), "cap": usd("42000.00")}),
            MS.model_copy(update={"amount": usd("15000.00"), "milestones": (
                *MS.milestones, Milestone(id="M-2", name="Hypercare", amount=usd("5000.00")))}))})
    assert amendments(WON, changed) == (
        Amendment(AmendmentKind.DEAL_CHANGED, "end_date", date(2026, 11, 30), date(2026, 12, 31)),
        Amendment(AmendmentKind.LINE_CHANGED, "amount", usd("30000.00"), usd("40000.00"), line_id="L-TM"),
        Amendment(AmendmentKind.LINE_CHANGED, "cap", usd("32000.00"), usd("42000.00"), line_id="L-TM"),
        Amendment(AmendmentKind.LINE_CHANGED, "amount", usd("10000.00"), usd("15000.00"), line_id="L-MS"),
        Amendment(AmendmentKind.MILESTONE_ADDED, after="Hypercare, USD 5,000.00", line_id="L-MS",
                  milestone_id="M-2"),
    )
    assert [a.describe() for a in amendments(WON, changed)][:3] == [
        "deal end_date: 2026-11-30 -> 2026-12-31",
        "line L-TM amount: USD 30,000.00 -> USD 40,000.00",
        "line L-TM cap: USD 32,000.00 -> USD 42,000.00"]


def test_lines_and_milestones_added_and_removed() -> None:
    extra = OpportunityLine(id="L-FF", service_offering="IMPL", billing_type=BillingType.FIXED_FEE,
                            amount=usd("8000.00"), estimated_hours=Decimal(40))
    changed = WON.model_copy(update={"lines": (MS.model_copy(update={"milestones": ()}), extra)})
    assert [(a.kind, a.line_id, a.milestone_id) for a in amendments(WON, changed)] == [
        (AmendmentKind.MILESTONE_REMOVED, "L-MS", "M-1"),
        (AmendmentKind.LINE_ADDED, "L-FF", None),
        (AmendmentKind.LINE_REMOVED, "L-TM", None)]
    removed = amendments(WON, changed)[-1]
    assert removed.describe() == ("line L-TM removed (billing type time_and_materials, amount USD 30,000.00, "
                                  "cap USD 32,000.00, offering IMPL)")


def test_a_milestone_moved_or_repriced_is_a_change_of_that_milestone() -> None:
    moved = MS.milestones[0].model_copy(update={"due_date": date(2026, 11, 15), "amount": usd("9000.00")})
    changed = WON.model_copy(update={"lines": (TM, MS.model_copy(update={"milestones": (moved,)}))})
    assert [(a.kind, a.field, a.before, a.after) for a in amendments(WON, changed)] == [
        (AmendmentKind.MILESTONE_CHANGED, "amount", usd("10000.00"), usd("9000.00")),
        (AmendmentKind.MILESTONE_CHANGED, "due_date", date(2026, 10, 31), date(2026, 11, 15))]


def test_delivery_and_pipeline_facts_are_not_amendments() -> None:
    """A milestone completed, the stage or close date moving, the CRM's stamp: what was delivered or when,
    not what was agreed."""
    done = MS.milestones[0].model_copy(update={"status": MilestoneStatus.COMPLETED,
                                               "completed_on": date(2026, 10, 30)})
    changed = WON.model_copy(update={"stage": "Closed Won - Delivered", "close_date": date(2026, 9, 2),
                                     "lines": (TM, MS.model_copy(update={"milestones": (done,)}))})
    assert amendments(WON, changed) == ()
    assert amendments(WON, WON) == ()


def test_the_same_amount_written_differently_is_no_change() -> None:
    changed = WON.model_copy(update={"lines": (TM.model_copy(update={"amount": usd("30000")}), MS)})
    assert amendments(WON, changed) == ()


def test_two_different_opportunities_are_refused() -> None:
    with pytest.raises(ValueError, match="SF-006A and SF-006B are two opportunities"):
        amendments(WON, WON.model_copy(update={"id": "SF-006B"}))
