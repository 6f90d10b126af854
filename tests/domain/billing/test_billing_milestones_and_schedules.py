"""Fixed-fee phases: billed by milestone on completion or acceptance, or on a percentage schedule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from billing_engagement import CONTRACT, FF_PHASE, MILESTONES, MS_PHASE, TM_PHASE, eur, usd
from hypothesis import given, settings
from hypothesis import strategies as st

from q2c.domain.billing import (
    CurrencyMismatch,
    InvalidSchedule,
    MilestoneNotBillable,
    NotInMinorUnits,
    Rounding,
    RoundingPolicy,
    WrongPhase,
    instalments_due,
    milestone_invoice,
    schedule_from_percentages,
    schedule_invoice,
)
from q2c.domain.model import MilestoneStatus

ACCEPTED, PENDING, COMPLETED = MILESTONES


def test_accepted_milestone_is_billed_as_one_line() -> None:
    invoice = milestone_invoice(invoice_id="INV-M1", contract=CONTRACT, phase=MS_PHASE, milestone=ACCEPTED,
                                invoice_date=date(2026, 2, 28))
    assert invoice.total == usd("5000.00") and len(invoice.lines) == 1
    line = invoice.lines[0]
    assert (line.milestone_id, line.phase_id, line.quantity, line.amount) == ("MS-1", "PH-MS", Decimal(1),
                                                                              usd("5000.00"))
    assert line.description == "Milestone 'Design signed off' of phase 'Rollout', accepted 2026-02-10"


def test_pending_milestone_cannot_be_billed_and_the_error_names_it() -> None:
    with pytest.raises(MilestoneNotBillable, match="milestone MS-2 'Go-live' of phase PH-MS field status is 'pending'"):
        milestone_invoice(invoice_id="I", contract=CONTRACT, phase=MS_PHASE, milestone=PENDING,
                          invoice_date=date(2026, 3, 31))
    assert issubclass(MilestoneNotBillable, ValueError)


def test_completed_milestone_needs_acceptance_when_the_contract_says_so() -> None:
    milestone_invoice(invoice_id="I", contract=CONTRACT, phase=MS_PHASE, milestone=COMPLETED,
                      invoice_date=date(2026, 3, 31))
    with pytest.raises(MilestoneNotBillable, match="field status is 'completed': this contract bills milestones on"):
        milestone_invoice(invoice_id="I", contract=CONTRACT, phase=MS_PHASE, milestone=COMPLETED,
                          invoice_date=date(2026, 3, 31), require_acceptance=True)


def test_milestone_not_billed_before_completion_twice_or_from_another_phase() -> None:
    with pytest.raises(MilestoneNotBillable, match="field completed_on is 2026-03-20, after the invoice date"):
        milestone_invoice(invoice_id="I", contract=CONTRACT, phase=MS_PHASE, milestone=COMPLETED,
                          invoice_date=date(2026, 3, 19))
    with pytest.raises(MilestoneNotBillable, match="MS-1 'Design signed off' of phase PH-MS has already been billed"):
        milestone_invoice(invoice_id="I", contract=CONTRACT, phase=MS_PHASE, milestone=ACCEPTED,
                          invoice_date=date(2026, 3, 31), billed_milestone_ids={"MS-1"})
    stray = ACCEPTED.model_copy(update={"id": "MS-9"})
    with pytest.raises(MilestoneNotBillable, match=r"MS-9 .* is not one of the phase's milestones"):
        milestone_invoice(invoice_id="I", contract=CONTRACT, phase=MS_PHASE, milestone=stray,
                          invoice_date=date(2026, 3, 31))


def test_milestone_amount_and_phase_checks() -> None:
    with pytest.raises(WrongPhase, match="field billing_type is 'time_and_materials'"):
        milestone_invoice(invoice_id="I", contract=CONTRACT, phase=TM_PHASE, milestone=ACCEPTED,
                          invoice_date=date(2026, 3, 31))
    in_euro = ACCEPTED.model_copy(update={"amount": eur("5000")})
    with pytest.raises(CurrencyMismatch, match="milestone MS-1 field amount is in EUR"):
        milestone_invoice(invoice_id="I", contract=CONTRACT, phase=MS_PHASE, milestone=in_euro,
                          invoice_date=date(2026, 3, 31))
    odd = ACCEPTED.model_copy(update={"amount": usd("5000.005")})
    with pytest.raises(NotInMinorUnits, match="milestone MS-1 field amount"):
        milestone_invoice(invoice_id="I", contract=CONTRACT, phase=MS_PHASE, milestone=odd,
                          invoice_date=date(2026, 3, 31))
    negative = ACCEPTED.model_copy(update={"amount": usd("-1.00")})
    with pytest.raises(MilestoneNotBillable, match="cannot be negative"):
        milestone_invoice(invoice_id="I", contract=CONTRACT, phase=MS_PHASE, milestone=negative,
                          invoice_date=date(2026, 3, 31))


def test_fixed_fee_milestone_is_billable_too() -> None:
    phase = FF_PHASE.model_copy(update={"milestones": (ACCEPTED,)})
    contract = CONTRACT.model_copy(update={"phases": (phase,)})
    invoice = milestone_invoice(invoice_id="I", contract=contract, phase=phase, milestone=ACCEPTED,
                                invoice_date=date(2026, 3, 31))
    assert invoice.total == usd("5000.00")
    assert ACCEPTED.status is MilestoneStatus.ACCEPTED


# --- schedules ----------------------------------------------------------------------------------------------

PLAN = [(date(2026, 1, 31), Decimal("30")), (date(2026, 2, 28), Decimal("30")), (date(2026, 3, 31), Decimal("40"))]


def test_schedule_splits_the_fee_by_percentage() -> None:
    schedule = schedule_from_percentages(FF_PHASE, PLAN)
    assert [(i.id, i.amount) for i in schedule.instalments] == [
        ("PH-FF-1", usd("3000.00")), ("PH-FF-2", usd("3000.00")), ("PH-FF-3", usd("4000.00"))]


def test_last_instalment_absorbs_rounding_so_the_schedule_adds_up_to_the_fee() -> None:
    phase = FF_PHASE.model_copy(update={"amount": usd("100.00")})
    thirds = [(date(2026, 1, d), Decimal("33.3333")) for d in (10, 20)] + [(date(2026, 1, 30), Decimal("33.3334"))]
    schedule = schedule_from_percentages(phase, thirds)
    assert [i.amount for i in schedule.instalments] == [usd("33.33"), usd("33.33"), usd("33.34")]


def test_schedule_invoice_bills_due_unbilled_instalments_only() -> None:
    schedule = schedule_from_percentages(FF_PHASE, PLAN)
    invoice = schedule_invoice(invoice_id="INV-S", contract=CONTRACT, phase=FF_PHASE, schedule=schedule,
                               invoice_date=date(2026, 2, 28), billed_instalment_ids={"PH-FF-1"})
    assert invoice is not None and invoice.total == usd("3000.00")
    assert invoice.lines[0].description == (
        "Phase 'Discovery' instalment 2 of 3 (30% of USD 10,000.00), due 2026-02-28")
    assert schedule_invoice(invoice_id="I", contract=CONTRACT, phase=FF_PHASE, schedule=schedule,
                            invoice_date=date(2026, 1, 30)) is None
    assert [i.id for i in instalments_due(schedule, as_of=date(2026, 12, 31))] == ["PH-FF-1", "PH-FF-2", "PH-FF-3"]


def test_schedule_errors() -> None:
    with pytest.raises(InvalidSchedule, match="percentages add up to 90, not 100"):
        schedule_from_percentages(FF_PHASE, [*PLAN[:2], (date(2026, 3, 31), Decimal(30))])
    with pytest.raises(InvalidSchedule, match="instalment 2 field due_date 2026-01-31 is not after instalment 1"):
        schedule_from_percentages(FF_PHASE, [(date(2026, 1, 31), Decimal(50)), (date(2026, 1, 31), Decimal(50))])
    with pytest.raises(InvalidSchedule, match="instalment 1 field percent is 0"):
        schedule_from_percentages(FF_PHASE, [(date(2026, 1, 31), Decimal(0)), (date(2026, 2, 1), Decimal(100))])
    with pytest.raises(InvalidSchedule, match="has no instalments"):
        schedule_from_percentages(FF_PHASE, [])
    schedule = schedule_from_percentages(FF_PHASE, PLAN)
    changed = FF_PHASE.model_copy(update={"amount": usd("12000.00")})
    contract = CONTRACT.model_copy(update={"phases": (changed,)})
    with pytest.raises(InvalidSchedule, match="rebuild the schedule after a fee change"):
        schedule_invoice(invoice_id="I", contract=contract, phase=changed, schedule=schedule,
                         invoice_date=date(2026, 3, 31))
    with pytest.raises(WrongPhase):
        schedule_invoice(invoice_id="I", contract=CONTRACT, phase=MS_PHASE, schedule=schedule,
                         invoice_date=date(2026, 3, 31))


@settings(max_examples=150, deadline=None)
@given(fee=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2),
       weights=st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=8),
       mode=st.sampled_from(list(Rounding)))
def test_any_schedule_adds_up_to_the_fee(fee: Decimal, weights: list[int], mode: Rounding) -> None:
    percents = [Decimal(w) * 100 / sum(weights) for w in weights]
    percents = [p.quantize(Decimal("0.0001")) for p in percents[:-1]]
    percents.append(Decimal(100) - sum(percents, Decimal(0)))
    plan = [(date(2026, 1, 1).replace(day=n + 1), p) for n, p in enumerate(percents)]
    phase = FF_PHASE.model_copy(update={"amount": usd(str(fee))})
    try:
        schedule = schedule_from_percentages(phase, plan, policy=RoundingPolicy(mode=mode))
    except InvalidSchedule as refused:  # a last share too small to survive rounding is refused, never wrong
        assert "use larger percentages" in str(refused) or "field percent" in str(refused)
        return
    assert sum((i.amount.amount for i in schedule.instalments), Decimal(0)) == fee
    assert all(i.amount.amount >= 0 for i in schedule.instalments)


def test_after_a_fee_change_billed_instalments_stay_and_the_rest_carries_the_new_fee() -> None:
    """20,000 over three months: 6,666.67 + 6,666.67 + 6,666.66. November billed at 6,666.67; the fee rises to
    25,000: December and January carry 25,000 - 6,666.67 = 18,333.33, 9,166.67 + 9,166.66. Cut to 5,000 after
    two months billed (13,333.34): January carries -8,333.34. All three billed, then +1,000: an adjustment
    instalment of 1,000 due with January."""
    from q2c.domain.billing import monthly_schedule, respread

    phase = FF_PHASE.model_copy(update={"amount": usd("20000.00")})
    plan = monthly_schedule(phase, start=date(2026, 11, 2), end=date(2027, 1, 31))
    assert [i.amount for i in plan.instalments] == [usd("6666.67"), usd("6666.67"), usd("6666.66")]
    nov, dec, jan = (i.id for i in plan.instalments)
    raised = respread(monthly_schedule(phase.model_copy(update={"amount": usd("25000.00")}),
                                       start=date(2026, 11, 2), end=date(2027, 1, 31)), {nov: usd("6666.67")})
    assert [i.amount for i in raised.instalments] == [usd("6666.67"), usd("9166.67"), usd("9166.66")]
    cut = respread(monthly_schedule(phase.model_copy(update={"amount": usd("5000.00")}), start=date(2026, 11, 2),
                                    end=date(2027, 1, 31)), {nov: usd("6666.67"), dec: usd("6666.67")})
    assert [i.amount for i in cut.instalments] == [usd("6666.67"), usd("6666.67"), usd("-8333.34")]
    all_billed = {nov: usd("6666.67"), dec: usd("6666.67"), jan: usd("6666.66")}
    more = respread(monthly_schedule(phase.model_copy(update={"amount": usd("21000.00")}), start=date(2026, 11, 2),
                                     end=date(2027, 1, 31)), all_billed)
    assert [(i.id, i.amount, i.due_date) for i in more.instalments][-1] == (f"{phase.id}-adj", usd("1000.00"),
                                                                           date(2027, 1, 31))
    assert sum(i.amount.amount for i in more.instalments) == Decimal("21000.00")
    unchanged = monthly_schedule(phase, start=date(2026, 11, 2), end=date(2027, 1, 31))
    assert respread(unchanged, {nov: usd("6666.67")}) == unchanged
