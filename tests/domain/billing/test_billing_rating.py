"""Rate cards: the rate in force on the work date, overrides, overlaps, and rating approved time."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from billing_engagement import RATE_CARD, entry, eur, usd

from q2c.domain.billing import (
    InvalidRateCard,
    NoRateInForce,
    OverlappingRates,
    Rounding,
    RoundingPolicy,
    TimeNotRateable,
    classify_billable,
    rate_card_violations,
    rate_for,
    rate_time_entry,
)
from q2c.domain.model import RateCard, RateCardLine, Task, TimeEntryStatus


def test_role_rate_in_force_on_the_work_date() -> None:
    assert rate_for(RATE_CARD, role="Consultant", resource_id="R-1", on=date(2026, 2, 1)).rate == usd("150.00")
    assert rate_for(RATE_CARD, role="Consultant", resource_id="R-1", on=date(2026, 7, 1)).rate == usd("160.00")


def test_effective_to_is_inclusive() -> None:
    assert rate_for(RATE_CARD, role="Consultant", resource_id=None, on=date(2026, 6, 30)).rate == usd("150.00")


def test_resource_override_beats_role_rate_only_while_in_force() -> None:
    on_march = rate_for(RATE_CARD, role="Consultant", resource_id="R-STAR", on=date(2026, 3, 31))
    assert on_march.rate == usd("200.00") and on_march.resource_id == "R-STAR"
    assert rate_for(RATE_CARD, role="Consultant", resource_id="R-STAR", on=date(2026, 4, 1)).rate == usd("150.00")
    # another resource's override never applies
    assert rate_for(RATE_CARD, role="Consultant", resource_id="R-1", on=date(2026, 3, 15)).rate == usd("150.00")


def test_latest_effective_from_wins_among_lines_in_force() -> None:
    card = RateCard(id="RC-2", currency="USD", lines=(
        RateCardLine(role="Dev", rate=usd("100"), effective_from=date(2026, 1, 1)),
        RateCardLine(role="Dev", rate=usd("110"), effective_from=date(2026, 5, 1)),
    ))
    assert rate_for(card, role="Dev", resource_id=None, on=date(2026, 4, 30)).rate == usd("100")
    assert rate_for(card, role="Dev", resource_id=None, on=date(2026, 5, 1)).rate == usd("110")


def test_no_rate_in_force_names_card_role_resource_and_date() -> None:
    with pytest.raises(NoRateInForce) as caught:
        rate_for(RATE_CARD, role="Consultant", resource_id="R-9", on=date(2025, 12, 31))
    message = str(caught.value)
    assert "RC-1" in message and "'Consultant'" in message and "R-9" in message and "2025-12-31" in message
    assert isinstance(caught.value, ValueError)
    with pytest.raises(NoRateInForce, match="'Designer'"):
        rate_for(RATE_CARD, role="Designer", resource_id=None, on=date(2026, 2, 1))


def test_same_day_lines_of_same_specificity_are_an_error_naming_card_and_role() -> None:
    card = RateCard(id="RC-3", currency="USD", lines=(
        RateCardLine(role="Dev", rate=usd("100"), effective_from=date(2026, 1, 1)),
        RateCardLine(role="Dev", rate=usd("105"), effective_from=date(2026, 1, 1)),
        RateCardLine(role="Dev", resource_id="R-1", rate=usd("120"), effective_from=date(2026, 1, 1)),
        RateCardLine(role="Dev", resource_id="R-1", rate=usd("125"), effective_from=date(2026, 1, 1)),
    ))
    with pytest.raises(OverlappingRates, match=r"rate card RC-3 .* role 'Dev' \(role rate\)"):
        rate_for(card, role="Dev", resource_id="R-2", on=date(2026, 2, 1))
    with pytest.raises(OverlappingRates, match=r"role 'Dev' \(resource R-1 override\)"):
        rate_for(card, role="Dev", resource_id="R-1", on=date(2026, 2, 1))


def test_line_in_another_currency_is_refused() -> None:
    card = RateCard(id="RC-4", currency="USD", lines=(
        RateCardLine(role="Dev", rate=eur("100"), effective_from=date(2026, 1, 1)),))
    with pytest.raises(InvalidRateCard, match=r"RC-4.*rate is in EUR but the card is in USD"):
        rate_for(card, role="Dev", resource_id=None, on=date(2026, 2, 1))


def test_rate_card_violations_list_every_problem_with_its_line() -> None:
    card = RateCard(id="RC-5", currency="USD", lines=(
        RateCardLine(role="Dev", rate=usd("100"), effective_from=date(2026, 1, 1)),
        RateCardLine(role="Dev", rate=usd("-1"), cost_rate=eur("5"), effective_from=date(2026, 1, 1),
                     effective_to=date(2025, 1, 1)),
    ))
    found = {(v.field, v.rule) for v in rate_card_violations(card)}
    assert found == {("lines[1].rate", "rate_card.negative"), ("lines[1].cost_rate", "rate_card.currency"),
                     ("lines[1].effective_to", "rate_card.dates"), ("lines[1].effective_from", "rate_card.overlap")}
    assert all(v.record_id == "RC-5" for v in rate_card_violations(card))
    assert rate_card_violations(RATE_CARD) == []


def test_rating_prices_hours_at_the_rate_and_cost_of_the_work_date() -> None:
    rated = rate_time_entry(entry("E-1", "2.5", date(2026, 7, 2)), role="Consultant", rate_card=RATE_CARD)
    assert (rated.rate, rated.amount, rated.cost_rate, rated.cost) == (
        usd("160.00"), usd("400.00"), usd("85.00"), usd("212.50"))
    assert rated.rate_effective_from == date(2026, 7, 1) and rated.rate_card_id == "RC-1"
    assert rated.billable and rated.entry_id == "E-1" and rated.project_id == "P-1" and rated.task_code == "BUILD"
    no_cost = rate_time_entry(entry("E-2", "1", date(2026, 2, 2)), role="Architect", rate_card=RATE_CARD)
    assert no_cost.cost is None and no_cost.cost_rate is None


def test_rating_rounds_each_entry_under_the_policy_mode() -> None:
    card = RateCard(id="RC-6", currency="USD", lines=(
        RateCardLine(role="Dev", rate=usd("100.01"), effective_from=date(2026, 1, 1)),))
    e = entry("E-1", "0.25", date(2026, 2, 2))  # 25.0025: no tie
    tie = entry("E-2", "0.5", date(2026, 2, 2))  # 50.005: a tie
    assert rate_time_entry(e, role="Dev", rate_card=card).amount == usd("25.00")
    assert rate_time_entry(tie, role="Dev", rate_card=card).amount == usd("50.01")
    bankers = RoundingPolicy(mode=Rounding.BANKERS)
    assert rate_time_entry(tie, role="Dev", rate_card=card, policy=bankers).amount == usd("50.00")
    assert rate_time_entry(tie, role="Dev", rate_card=card).exact_amount == Decimal("50.005")


def test_only_approved_time_is_rated() -> None:
    for status in (TimeEntryStatus.SUBMITTED, TimeEntryStatus.REJECTED):
        with pytest.raises(TimeNotRateable, match=f"time entry E-1 field status is '{status}'"):
            rate_time_entry(entry("E-1", "1", date(2026, 2, 2), status=status), role="Consultant",
                            rate_card=RATE_CARD)


def test_negative_hours_are_refused() -> None:
    with pytest.raises(TimeNotRateable, match="time entry E-1 field hours is -1"):
        rate_time_entry(entry("E-1", "-1", date(2026, 2, 2)), role="Consultant", rate_card=RATE_CARD)


def test_rating_an_entry_with_no_rate_raises_no_rate_in_force() -> None:
    with pytest.raises(NoRateInForce, match="2025-06-01"):
        rate_time_entry(entry("E-1", "1", date(2025, 6, 1)), role="Consultant", rate_card=RATE_CARD)


def test_billable_only_when_entry_and_task_are_billable() -> None:
    task = Task(id="T-1", project_id="P-1", code="BUILD", name="Build", billable=True)
    internal = task.model_copy(update={"billable": False})
    assert classify_billable(entry("E-1", "1", date(2026, 2, 2)), task)
    assert not classify_billable(entry("E-1", "1", date(2026, 2, 2)), internal)
    assert not classify_billable(entry("E-1", "1", date(2026, 2, 2), billable=False), task)
    rated = rate_time_entry(entry("E-1", "1", date(2026, 2, 2)), role="Consultant", rate_card=RATE_CARD,
                            task=internal)
    assert not rated.billable and rated.amount == usd("150.00")


def test_task_of_another_code_is_refused() -> None:
    other = Task(id="T-2", project_id="P-1", code="TEST", name="Test")
    with pytest.raises(TimeNotRateable, match="time entry E-1 field task_code is 'BUILD'"):
        classify_billable(entry("E-1", "1", date(2026, 2, 2)), other)
