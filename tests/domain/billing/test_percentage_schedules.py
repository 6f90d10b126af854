"""A fixed fee billed by the schedule it was sold with: percentages of the fee on dates, and what a change of
the fee does to the instalments not billed yet (they keep their relative percentages)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from q2c.domain.billing import InvalidSchedule, fixed_fee_schedule, respread, schedule_invoice
from q2c.domain.model import BillingType, Contract, ContractPhase, RateCard, ScheduledBilling
from q2c.domain.money import Money

START, END = date(2026, 11, 2), date(2027, 1, 31)


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def scheduled(*plan: tuple[date, str]) -> tuple[ScheduledBilling, ...]:
    return tuple(ScheduledBilling(id=f"SF-a1S{n}", name=f"Instalment {n}", bill_date=when, percent=Decimal(p))
                 for n, (when, p) in enumerate(plan, start=1))


SOLD = scheduled((date(2026, 11, 2), "30"), (date(2026, 12, 15), "40"), (date(2027, 1, 31), "30"))
PHASE = ContractPhase(id="C-1-1", name="Data platform (fixed_fee)", billing_type=BillingType.FIXED_FEE,
                      amount=usd("50000.00"), estimated_hours=Decimal(200), billing_schedule=SOLD)
CONTRACT = Contract(id="C-1", customer_id="SF-001A", opportunity_id="SF-006A", name="Acme data platform",
                    legal_entity="US01", currency="USD", start_date=START, end_date=END, phases=(PHASE,),
                    rate_card=RateCard(id="RC-USD", currency="USD", lines=()))


def amounts(schedule_phase: ContractPhase, billed: dict[str, Money] | None = None) -> list[Money]:
    schedule = fixed_fee_schedule(schedule_phase, start=START, end=END)
    if billed is not None:
        schedule = respread(schedule, billed, proportional=True)
    return [i.amount for i in schedule.instalments]


def test_the_fee_is_billed_by_the_schedule_it_was_sold_with() -> None:
    """50,000 x 30% = 15,000 on Nov 2; x 40% = 20,000 on Dec 15; the last 50,000 - 35,000 = 15,000 on Jan 31."""
    schedule = fixed_fee_schedule(PHASE, start=START, end=END)
    assert [(i.id, i.due_date, i.percent, i.amount) for i in schedule.instalments] == [
        ("C-1-1-1", date(2026, 11, 2), Decimal(30), usd("15000.00")),
        ("C-1-1-2", date(2026, 12, 15), Decimal(40), usd("20000.00")),
        ("C-1-1-3", date(2027, 1, 31), Decimal(30), usd("15000.00"))]


def test_the_last_instalment_takes_the_rounding_so_the_schedule_adds_up_to_the_fee() -> None:
    """100.00 at 33.333% twice: 33.3330 -> 33.33 each; the last 100.00 - 66.66 = 33.34."""
    phase = PHASE.model_copy(update={"amount": usd("100.00"), "billing_schedule": scheduled(
        (date(2026, 11, 2), "33.333"), (date(2026, 12, 1), "33.333"), (date(2027, 1, 4), "33.334"))})
    assert amounts(phase) == [usd("33.33"), usd("33.33"), usd("33.34")]


def test_without_a_schedule_the_fee_is_billed_monthly_and_needs_the_term() -> None:
    """60,000 without a schedule over Nov-Jan: 20,000 at each month's end, as before schedules existed."""
    monthly = PHASE.model_copy(update={"amount": usd("60000.00"), "billing_schedule": ()})
    schedule = fixed_fee_schedule(monthly, start=START, end=END)
    assert [(i.due_date, i.amount) for i in schedule.instalments] == [
        (date(2026, 11, 30), usd("20000.00")), (date(2026, 12, 31), usd("20000.00")),
        (date(2027, 1, 31), usd("20000.00"))]
    with pytest.raises(InvalidSchedule, match="phase C-1-1: a fixed fee billed monthly needs the contract's end"):
        fixed_fee_schedule(monthly, start=START, end=None)
    assert fixed_fee_schedule(PHASE, start=START, end=None).instalments[-1].amount == usd("15000.00")


def test_a_broken_schedule_is_refused_naming_the_instalment() -> None:
    short = PHASE.model_copy(update={"billing_schedule": SOLD[:2]})
    with pytest.raises(InvalidSchedule, match="percentages add up to 70, not 100"):
        fixed_fee_schedule(short, start=START, end=END)
    same_day = PHASE.model_copy(update={"billing_schedule": scheduled(
        (date(2026, 11, 2), "50"), (date(2026, 11, 2), "50"))})
    with pytest.raises(InvalidSchedule, match="instalment 2 field due_date 2026-11-02 is not after"):
        fixed_fee_schedule(same_day, start=START, end=END)


def test_each_instalment_is_invoiced_once_when_its_date_has_come() -> None:
    """Nov 30: only Nov 2's 15,000 is due; Dec 31: Dec 15's 20,000 (Nov's billed); Jan 31: the last 15,000."""
    schedule = fixed_fee_schedule(PHASE, start=START, end=END)
    billed: list[str] = []
    totals = []
    for close in (date(2026, 11, 30), date(2026, 12, 31), date(2027, 1, 31)):
        invoice = schedule_invoice(invoice_id=f"INV-{close:%Y%m%d}", contract=CONTRACT, phase=PHASE,
                                   schedule=schedule, invoice_date=close, billed_instalment_ids=billed)
        assert invoice is not None
        billed += [line.instalment_id for line in invoice.lines if line.instalment_id]
        totals.append(invoice.total)
    assert totals == [usd("15000.00"), usd("20000.00"), usd("15000.00")]
    assert schedule_invoice(invoice_id="INV-again", contract=CONTRACT, phase=PHASE, schedule=schedule,
                            invoice_date=date(2027, 2, 28), billed_instalment_ids=billed) is None
    first = schedule_invoice(invoice_id="INV-1", contract=CONTRACT, phase=PHASE, schedule=schedule,
                             invoice_date=date(2026, 11, 2))
    assert first is not None
    assert first.lines[0].description == ("Phase 'Data platform (fixed_fee)' instalment 1 of 3 (30% of "
                                          "USD 50,000.00), due 2026-11-02")


def test_a_raised_fee_keeps_what_is_billed_and_the_open_instalments_keep_their_percentages() -> None:
    """November's 15,000 is billed; the fee rises to 60,000. Left: 60,000 - 15,000 = 45,000, spread 40 : 30 over
    the open instalments: 45,000 x 40/70 = 25,714.2857 -> 25,714.29, the last 45,000 - 25,714.29 = 19,285.71
    (still 4 : 3). An equal spread would have given 22,500 + 22,500 and moved money from December to January."""
    raised = PHASE.model_copy(update={"amount": usd("60000.00")})
    nov = "C-1-1-1"
    assert amounts(raised, {nov: usd("15000.00")}) == [usd("15000.00"), usd("25714.29"), usd("19285.71")]
    spread = respread(fixed_fee_schedule(raised, start=START, end=END), {nov: usd("15000.00")}, proportional=True)
    assert spread.instalments[1].percent == Decimal("42.85715")  # 25,714.29 / 60,000, as the invoice line says
    equal = respread(fixed_fee_schedule(raised, start=START, end=END), {nov: usd("15000.00")})
    assert [i.amount for i in equal.instalments] == [usd("15000.00"), usd("22500.00"), usd("22500.00")]


def test_a_cut_fee_after_two_instalments_leaves_the_last_one_the_rest_or_a_credit() -> None:
    """15,000 and 20,000 billed (35,000). Fee cut to 45,000: the last instalment is 45,000 - 35,000 = 10,000.
    Cut to 30,000: it is 30,000 - 35,000 = -5,000, a credit. Unchanged fee: the schedule as sold."""
    billed = {"C-1-1-1": usd("15000.00"), "C-1-1-2": usd("20000.00")}
    assert amounts(PHASE.model_copy(update={"amount": usd("45000.00")}), billed)[-1] == usd("10000.00")
    assert amounts(PHASE.model_copy(update={"amount": usd("30000.00")}), billed)[-1] == usd("-5000.00")
    sold = fixed_fee_schedule(PHASE, start=START, end=END)
    assert respread(sold, billed, proportional=True) == sold


@given(st.lists(st.integers(min_value=1, max_value=40), min_size=2, max_size=8),
       st.integers(min_value=0, max_value=7), st.integers(min_value=1, max_value=5_000_000))
def test_a_respread_always_bills_the_new_fee_and_keeps_the_open_instalments_in_proportion(
        weights: list[int], billed_count: int, new_fee_cents: int) -> None:
    """Any schedule of whole percentages (the last takes what the others leave of 100), any number billed, any
    new fee: billed instalments stay, everything adds up to the new fee, and the open ones but the last are
    within a cent of their share of what is left."""
    percents = [Decimal(w) for w in weights[:-1]]
    if sum(percents) >= 100:
        return
    percents.append(Decimal(100) - sum(percents))
    phase = PHASE.model_copy(update={"billing_schedule": scheduled(
        *((START + timedelta(days=7 * n), str(p)) for n, p in enumerate(percents)))})
    sold = fixed_fee_schedule(phase, start=START, end=END)
    billed = {i.id: i.amount for i in sold.instalments[:min(billed_count, len(percents) - 1)]}
    new_fee = Money(amount=Decimal(new_fee_cents) / 100, currency="USD")
    try:
        rescheduled = fixed_fee_schedule(phase.model_copy(update={"amount": new_fee}), start=START, end=END)
    except InvalidSchedule as exc:  # a fee too small for these percentages (0.05 in six parts): refused, named
        assert "after rounding the earlier instalments the last" in str(exc)
        return
    spread = respread(rescheduled, billed, proportional=True)
    assert sum((i.amount.amount for i in spread.instalments), Decimal(0)) == new_fee.amount
    assert all(spread.instalments[n].amount == billed[i] for n, i in enumerate(billed))
    open_ = [i for i in sold.instalments if i.id not in billed]
    left = new_fee.amount - sum((m.amount for m in billed.values()), Decimal(0))
    weight = sum((i.percent for i in open_), Decimal(0))
    for planned, now in zip(open_[:-1], spread.instalments[len(billed):-1], strict=True):
        assert abs(now.amount.amount - left * planned.percent / weight) <= Decimal("0.005")
