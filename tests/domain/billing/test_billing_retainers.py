"""Retainers: prepaid hours or amount per period, drawdown, overage, rollover, expiry and breakage."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from billing_engagement import AMOUNT_RETAINER, CONTRACT, HOURS_RETAINER, RATE_CARD, TM_PHASE, entry, usd
from hypothesis import given, settings
from hypothesis import strategies as st

from q2c.domain.billing import (
    NotInMinorUnits,
    RatedTime,
    RetainerPeriod,
    RetainerRefused,
    RetainerUnit,
    UnusedBalance,
    WrongPhase,
    rate_time_entry,
    retainer_drawdown,
    retainer_invoice,
)
from q2c.domain.model import ContractPhase

MARCH = (date(2026, 3, 1), date(2026, 3, 31))


def rated(entry_id: str, hours: str, work_date: date, *, billable: bool = True) -> RatedTime:
    return rate_time_entry(entry(entry_id, hours, work_date, billable=billable), role="Consultant",
                           rate_card=RATE_CARD)


def draw(phase: ContractPhase, time: list[RatedTime], **terms: object) -> RetainerPeriod:
    return retainer_drawdown(contract=CONTRACT, phase=phase, period_start=MARCH[0], period_end=MARCH[1],
                             rated=time, **terms)  # type: ignore[arg-type]


def test_hours_retainer_overage_billed_at_the_overage_rate() -> None:
    period = draw(HOURS_RETAINER, [rated("E-1", "12", date(2026, 3, 3)), rated("E-2", "10", date(2026, 3, 10))])
    assert period.unit is RetainerUnit.HOURS
    assert (period.available, period.used, period.drawn, period.overage) == (20, 22, 20, 2)
    assert period.overage_amount == usd("440.00") and period.overage_entry_ids == ("E-2",)
    assert period.entry_ids == ("E-1", "E-2") and period.unused == 0 and period.breakage == usd("0")
    assert "Overage 2 h at USD 220.00 = USD 440.00 (entries E-2)" in period.explanation


def test_unused_hours_expire_as_breakage_at_the_prepaid_price_per_hour() -> None:
    period = draw(HOURS_RETAINER, [rated("E-1", "15", date(2026, 3, 3))])
    assert (period.unused, period.carried_out, period.expired) == (5, 0, 5)
    assert period.breakage == usd("1000.00")  # 5 h x (4000 / 20)
    assert period.overage_amount == usd("0")


def test_rollover_up_to_a_maximum_and_the_rest_expires() -> None:
    period = draw(HOURS_RETAINER, [rated("E-1", "15", date(2026, 3, 3))], unused=UnusedBalance.ROLLOVER,
                  max_carryover=Decimal(3))
    assert (period.carried_out, period.expired, period.breakage) == (3, 2, usd("400.00"))
    april = retainer_drawdown(contract=CONTRACT, phase=HOURS_RETAINER, period_start=date(2026, 4, 1),
                              period_end=date(2026, 4, 30), rated=[rated("E-2", "22", date(2026, 4, 2))],
                              carried_in=period.carried_out, unused=UnusedBalance.ROLLOVER)
    assert (april.available, april.overage, april.overage_amount) == (23, 0, usd("0"))
    assert april.unused == 1 and april.carried_out == 1 and april.breakage == usd("0")


def test_final_period_expires_everything_even_with_rollover() -> None:
    period = draw(HOURS_RETAINER, [], unused=UnusedBalance.ROLLOVER, carried_in=Decimal(4), final_period=True)
    assert (period.available, period.carried_out, period.expired, period.breakage) == (24, 0, 24, usd("4800.00"))


def test_amount_retainer_draws_down_rate_card_value_and_bills_the_excess() -> None:
    time = [rated("E-1", "12", date(2026, 3, 3)), rated("E-2", "10", date(2026, 3, 10))]  # 1800 + 1500
    period = draw(AMOUNT_RETAINER, time)
    assert period.unit is RetainerUnit.AMOUNT
    assert (period.available, period.used, period.overage) == (Decimal("3000.00"), Decimal("3300.00"), 300)
    assert period.overage_amount == usd("300.00") and period.overage_entry_ids == ("E-2",)
    under = draw(AMOUNT_RETAINER, time[:1])
    assert under.breakage == usd("1200.00") and under.overage_entry_ids == ()


def test_only_billable_unbilled_time_inside_the_period_draws_down() -> None:
    time = [rated("E-1", "1", date(2026, 2, 28)), rated("E-2", "2", date(2026, 3, 1)),
            rated("E-3", "3", date(2026, 3, 31)), rated("E-4", "4", date(2026, 4, 1)),
            rated("E-5", "5", date(2026, 3, 5), billable=False), rated("E-6", "6", date(2026, 3, 6))]
    period = draw(HOURS_RETAINER, time, billed_entry_ids={"E-6"})
    assert period.entry_ids == ("E-2", "E-3") and period.used == 5


def test_retainer_invoice_bills_fee_and_overage() -> None:
    period = draw(HOURS_RETAINER, [rated("E-1", "12", date(2026, 3, 3)), rated("E-2", "10", date(2026, 3, 10))])
    invoice = retainer_invoice(invoice_id="INV-R", contract=CONTRACT, phase=HOURS_RETAINER, period=period,
                               invoice_date=date(2026, 3, 31))
    assert invoice is not None and invoice.total == usd("4440.00")
    fee, overage = invoice.lines
    assert fee.description == "Retainer 'Support hours' 2026-03-01..2026-03-31: prepaid 20 h"
    assert (overage.quantity, overage.unit_price, overage.amount) == (Decimal(2), usd("220.00"), usd("440.00"))
    assert overage.time_entry_ids == ("E-2",)
    only_overage = retainer_invoice(invoice_id="INV-R", contract=CONTRACT, phase=HOURS_RETAINER, period=period,
                                    invoice_date=date(2026, 3, 31), include_fee=False)
    assert only_overage is not None and only_overage.total == usd("440.00")
    quiet = draw(HOURS_RETAINER, [])
    assert retainer_invoice(invoice_id="I", contract=CONTRACT, phase=HOURS_RETAINER, period=quiet,
                            invoice_date=date(2026, 3, 31), include_fee=False) is None
    amount_period = draw(AMOUNT_RETAINER, [rated("E-1", "22", date(2026, 3, 3))])
    amount_invoice = retainer_invoice(invoice_id="I", contract=CONTRACT, phase=AMOUNT_RETAINER,
                                      period=amount_period, invoice_date=date(2026, 3, 31))
    assert amount_invoice is not None and amount_invoice.total == usd("3300.00")


def test_retainer_errors_name_the_phase_and_field() -> None:
    no_rate = HOURS_RETAINER.model_copy(update={"overage_rate": None})
    contract = CONTRACT.model_copy(update={"phases": (no_rate,)})
    with pytest.raises(RetainerRefused, match="retainer phase PH-RH field overage_rate is empty, but 1 h"):
        retainer_drawdown(contract=contract, phase=no_rate, period_start=MARCH[0], period_end=MARCH[1],
                          rated=[rated("E-1", "21", date(2026, 3, 3))])
    with pytest.raises(RetainerRefused, match="period ends 2026-03-01 before it starts 2026-03-31"):
        retainer_drawdown(contract=CONTRACT, phase=HOURS_RETAINER, period_start=MARCH[1], period_end=MARCH[0],
                          rated=[])
    with pytest.raises(RetainerRefused, match="cannot be negative"):
        draw(HOURS_RETAINER, [], carried_in=Decimal(-1))
    with pytest.raises(NotInMinorUnits, match="retainer phase PH-RA carried-in balance"):
        draw(AMOUNT_RETAINER, [], carried_in=Decimal("0.001"))
    zero = HOURS_RETAINER.model_copy(update={"retainer_hours": Decimal(0)})
    with pytest.raises(RetainerRefused, match="field retainer_hours is 0"):
        retainer_drawdown(contract=CONTRACT.model_copy(update={"phases": (zero,)}), phase=zero,
                          period_start=MARCH[0], period_end=MARCH[1], rated=[])
    with pytest.raises(WrongPhase, match="a retainer drawdown bills only retainer phases"):
        draw(TM_PHASE, [])
    period = draw(HOURS_RETAINER, [])
    with pytest.raises(RetainerRefused, match="retainer period of phase PH-RH cannot be invoiced on phase PH-RA"):
        retainer_invoice(invoice_id="I", contract=CONTRACT, phase=AMOUNT_RETAINER, period=period,
                         invoice_date=date(2026, 3, 31))


@settings(max_examples=100, deadline=None)
@given(months=st.lists(st.lists(st.decimals(min_value=Decimal(0), max_value=Decimal(9), places=2), max_size=5),
                       min_size=1, max_size=6),
       cap=st.one_of(st.none(), st.decimals(min_value=Decimal(0), max_value=Decimal(30), places=1)))
def test_every_prepaid_hour_is_drawn_expired_or_still_carried(months: list[list[Decimal]],
                                                              cap: Decimal | None) -> None:
    carried = Decimal(0)
    drawn = expired = Decimal(0)
    start = date(2026, 1, 1)
    for n, hours in enumerate(months):
        end = start + timedelta(days=27)
        time = [rated(f"E-{n}-{i}", str(h), start + timedelta(days=i)) for i, h in enumerate(hours)]
        period = retainer_drawdown(contract=CONTRACT, phase=HOURS_RETAINER, period_start=start, period_end=end,
                                   rated=time, carried_in=carried, unused=UnusedBalance.ROLLOVER,
                                   max_carryover=cap, final_period=n == len(months) - 1)
        assert period.used == period.drawn + period.overage == sum(hours, Decimal(0))
        assert period.available == period.drawn + period.unused
        assert period.unused == period.carried_out + period.expired
        assert period.overage_amount.amount == (period.overage * Decimal("220.00")).quantize(Decimal("0.01"))
        carried = period.carried_out
        drawn += period.drawn
        expired += period.expired
        start = end + timedelta(days=1)
    assert carried == 0  # the final period leaves nothing behind
    assert drawn + expired == 20 * len(months)
