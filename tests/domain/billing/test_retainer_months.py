"""Retainers over their own term: monthly fees that add up to the whole, rollover for a number of months, and
each month billed once, in arrears, with the balances the earlier months left.

The retainer used throughout: USD 24,000 over November 2026 to February 2027 (4 months, 6,000.00 a month),
40 prepaid hours a month (6,000 / 40 = 150 an hour), overage at 180 an hour, unused hours usable one more month.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from billing_engagement import RATE_CARD, entry, eur, usd
from hypothesis import given, settings
from hypothesis import strategies as st

from q2c.domain.billing import RatedTime, RetainerRefused, UnusedBalance, rate_time_entry, retainer_drawdown
from q2c.domain.billing.retainers import (
    CarriedBalance,
    bill_retainer,
    hours_per_month,
    month_fees,
    months_between,
    retainer_history,
    retainer_months,
    term_end_after,
)
from q2c.domain.model import BillingType, Contract, ContractPhase, Invoice

SUPPORT = ContractPhase(id="C-9-1", name="Support", billing_type=BillingType.RETAINER, amount=usd("24000.00"),
                        retainer_hours=Decimal(40), overage_rate=usd("180.00"), term_start=date(2026, 11, 1),
                        term_end=date(2027, 2, 28), rollover_months=1)
CONTRACT = Contract(id="C-9", customer_id="CUST-9", opportunity_id="OPP-9", name="Support", legal_entity="US01",
                    currency="USD", start_date=date(2026, 11, 1), end_date=date(2027, 6, 30), phases=(SUPPORT,),
                    rate_card=RATE_CARD)


def rated(entry_id: str, hours: str, work_date: date, *, billable: bool = True) -> RatedTime:
    return rate_time_entry(entry(entry_id, hours, work_date, billable=billable), role="Consultant",
                           rate_card=RATE_CARD)


def with_phase(**changes: object) -> tuple[Contract, ContractPhase]:
    phase = SUPPORT.model_copy(update=changes)
    return CONTRACT.model_copy(update={"phases": (phase,)}), phase


class Ledger:
    """What the hub keeps between runs: the invoices recorded and the time they billed."""

    def __init__(self, contract: Contract = CONTRACT, phase: ContractPhase = SUPPORT) -> None:
        self.contract, self.phase = contract, phase
        self.invoices: list[Invoice] = []
        self.unbilled: dict[str, RatedTime] = {}
        self.billed: dict[str, RatedTime] = {}

    def log(self, *items: RatedTime) -> None:
        self.unbilled.update({i.entry_id: i for i in items})

    def run(self, as_of: date, invoice_id: str = "INV") -> Invoice | None:
        result = bill_retainer(invoice_id=f"{invoice_id}-{len(self.invoices) + 1}", contract=self.contract,
                               phase=self.phase, invoices=self.invoices, rated=list(self.unbilled.values()),
                               billed_time=self.billed, as_of=as_of, invoice_date=as_of)
        for entry_id in result.entry_ids:
            self.billed[entry_id] = self.unbilled.pop(entry_id)
        if result.invoice is not None:
            self.invoices.append(result.invoice)
        return result.invoice


def test_the_whole_retainer_is_split_into_monthly_fees_the_last_taking_the_remainder() -> None:
    """10,000.00 / 3 = 3,333.33 (x2) and 3,333.34; 200.00 / 3 = 66.67 (x2) and 66.66: the sum is exact."""
    contract, phase = with_phase(amount=usd("10000.00"), term_start=date(2026, 11, 15),
                                 term_end=term_end_after(date(2026, 11, 15), 3))
    months = retainer_months(contract, phase)
    assert [(m.number, m.start, m.end, m.fee) for m in months] == [
        (1, date(2026, 11, 15), date(2026, 11, 30), usd("3333.33")),  # the first month counts in full
        (2, date(2026, 12, 1), date(2026, 12, 31), usd("3333.33")),
        (3, date(2027, 1, 1), date(2027, 1, 31), usd("3333.34"))]
    assert [m.final for m in months] == [False, False, True] and months[0].instalment_id == "C-9-1-1"
    assert month_fees(usd("200.00"), 3) == (usd("66.67"), usd("66.67"), usd("66.66"))
    with pytest.raises(RetainerRefused, match=re.escape("after 11 fees of 0.01 the last month would be -0.01")):
        month_fees(usd("0.10"), 12)


@settings(max_examples=200, deadline=None)
@given(cents=st.integers(min_value=0, max_value=10**9), months=st.integers(min_value=1, max_value=36))
def test_monthly_fees_always_add_up_to_the_retainer(cents: int, months: int) -> None:
    total = usd(str(Decimal(cents).scaleb(-2)))
    try:
        fees = month_fees(total, months)
    except RetainerRefused:
        # (n - 1) x round(T / n) > T needs T < n (n - 1) / 2 cents: never for a real retainer
        assert cents < months * (months - 1) / 2
        return
    assert sum((f.amount for f in fees), Decimal(0)) == total.amount
    assert len({f.amount for f in fees[:-1]}) <= 1 and all(f.amount >= 0 for f in fees)


def test_term_arithmetic_and_prepaid_hours() -> None:
    assert term_end_after(date(2026, 11, 15), 4) == date(2027, 2, 28)
    assert term_end_after(date(2027, 12, 1), 1) == date(2027, 12, 31)
    assert months_between(date(2026, 11, 2), date(2027, 1, 20)) == 3
    assert hours_per_month(Decimal(160), 4, where="line L") == Decimal(40)
    assert hours_per_month(Decimal(150), 4, where="line L") == Decimal("37.5")
    with pytest.raises(RetainerRefused, match=re.escape("line L: 100 h over 3 months is 33.3333... h a month")):
        hours_per_month(Decimal(100), 3, where="line L")
    with pytest.raises(RetainerRefused, match="ends 2026-10-31, before it starts 2026-11-01"):
        months_between(date(2026, 11, 1), date(2026, 10, 31))
    with pytest.raises(RetainerRefused, match="at least one month"):
        term_end_after(date(2026, 11, 1), 0)


def test_a_phase_planned_without_its_own_term_runs_over_the_contracts() -> None:
    contract, phase = with_phase(term_start=None, term_end=None)
    months = retainer_months(contract, phase)
    assert (months[0].start, months[-1].end, len(months)) == (date(2026, 11, 1), date(2027, 6, 30), 8)
    assert months[0].fee == usd("3000.00")  # 24,000 / 8
    open_ended = contract.model_copy(update={"end_date": None})
    with pytest.raises(RetainerRefused, match="retainer phase C-9-1 field term_end is empty and contract C-9 has no "
                                              "end_date"):
        retainer_months(open_ended, phase)


def test_unused_hours_stay_usable_for_the_rollover_months_and_the_soonest_to_expire_are_drawn_first() -> None:
    """Rollover 2 months. Nov: 30 h of 40 -> 10 h usable until Jan 31. Dec: nothing worked -> Dec's 40 h usable
    until Feb 28. Jan: 45 h of 10 + 40 + 40 = 90: November's 10 first, then 35 of December's, so 5 of December's
    and January's 40 carry on. Feb, the last month: nothing worked, 5 + 40 + 40 = 85 h expire at 150 = 12,750.00."""
    contract, phase = with_phase(rollover_months=2)
    months = retainer_months(contract, phase)

    def month(n: int, work: list[RatedTime], carried: tuple[CarriedBalance, ...]) -> tuple[CarriedBalance, ...]:
        m = months[n - 1]
        p = retainer_drawdown(contract=contract, phase=phase, period_start=m.start, period_end=m.end, rated=work,
                              fee=m.fee, carried=carried, unused=UnusedBalance.ROLLOVER, rollover_months=2,
                              final_period=m.final)
        seen.append(p.breakage.amount)
        return p.carried

    seen: list[Decimal] = []
    nov = month(1, [rated("E-1", "30", date(2026, 11, 5))], ())
    assert [(c.amount, c.usable_until) for c in nov] == [(Decimal(10), date(2027, 1, 31))]
    dec = month(2, [], nov)
    assert [(c.amount, c.usable_until) for c in dec] == [(Decimal(10), date(2027, 1, 31)),
                                                         (Decimal(40), date(2027, 2, 28))]
    jan = month(3, [rated("E-2", "45", date(2027, 1, 6))], dec)
    assert [(c.earned_in, c.amount) for c in jan] == [(date(2026, 12, 1), Decimal(5)), (date(2027, 1, 1), Decimal(40))]
    assert month(4, [], jan) == ()
    assert seen == [0, 0, 0, Decimal("12750.00")]


def test_each_month_is_billed_once_in_arrears_with_what_the_month_before_left() -> None:
    """Nov: 30 h -> fee 6,000.00, 10 h roll over. A run on Dec 15 bills nothing (December has not ended).
    Dec: a late Nov 27 entry 4 h and Dec 2 5 h: 9 h from November's 10, 1 h expires (breakage 150.00), Dec's 40
    roll over. Jan: 86 h of 80 -> 6 h overage x 180 = 1,080.00 on the entry that crosses (Jan 18). A re-run on
    Jan 31 bills nothing again. Feb: one run on Mar 3 settles the last month: 25 h, 15 h expire (2,250.00)."""
    ledger = Ledger()
    ledger.log(rated("N-1", "8", date(2026, 11, 3)), rated("N-2", "8", date(2026, 11, 4)),
               rated("N-3", "6", date(2026, 11, 5)), rated("N-4", "8", date(2026, 11, 10)),
               rated("N-X", "3", date(2026, 11, 6), billable=False))
    nov = ledger.run(date(2026, 11, 30))
    assert nov is not None and nov.total == usd("6000.00") and len(nov.lines) == 1
    (fee,) = nov.lines
    assert (fee.instalment_id, fee.phase_id, fee.time_entry_ids) == ("C-9-1-1", "C-9-1", ("N-1", "N-2", "N-3", "N-4"))
    assert fee.description == ("Retainer 'Support' month 1 of 4 2026-11-01..2026-11-30: prepaid 40 h; 0 h carried in, "
                               "30 h used, 10 h rolled over, 0 h expired")
    assert "N-X" in ledger.unbilled  # not billable: never drawn
    assert ledger.run(date(2026, 12, 15)) is None

    ledger.log(rated("N-5", "4", date(2026, 11, 27)), rated("D-1", "5", date(2026, 12, 2)))
    dec = ledger.run(date(2026, 12, 31))
    assert dec is not None and dec.total == usd("6000.00") and dec.lines[0].time_entry_ids == ("N-5", "D-1")
    assert "10 h carried in, 9 h used, 40 h rolled over, 1 h expired" in dec.lines[0].description

    ledger.log(*(rated(f"J-{d}", "8", date(2027, 1, d)) for d in (4, 5, 6, 7, 8, 11, 12, 13, 14, 15)),
               rated("J-18", "6", date(2027, 1, 18)))
    jan = ledger.run(date(2027, 1, 31))
    assert jan is not None and jan.total == usd("7080.00")
    fee, overage = jan.lines
    assert (overage.phase_id, overage.instalment_id, overage.time_entry_ids) == ("C-9-1:overage", "C-9-1-3-overage",
                                                                               ("J-18",))
    assert (overage.quantity, overage.unit_price, overage.amount) == (Decimal(6), usd("180.00"), usd("1080.00"))
    assert ledger.run(date(2027, 1, 31)) is None

    ledger.log(rated("F-1", "8", date(2027, 2, 2)), rated("F-2", "8", date(2027, 2, 3)),
               rated("F-3", "9", date(2027, 2, 4)))
    feb = ledger.run(date(2027, 3, 3))
    assert feb is not None and feb.total == usd("6000.00") and "month 4 of 4" in feb.lines[0].description
    assert "25 h used, 0 h rolled over, 15 h expired" in feb.lines[0].description
    periods = retainer_history(CONTRACT, SUPPORT, ledger.invoices, ledger.billed)
    assert [p.breakage for p in periods] == [usd("0"), usd("150.00"), usd("0"), usd("2250.00")]
    assert [p.overage_amount for p in periods] == [usd("0"), usd("0"), usd("1080.00"), usd("0")]
    assert sum((i.total.amount for i in ledger.invoices), Decimal(0)) == Decimal("25080.00")
    assert ledger.run(date(2027, 6, 30)) is None  # every month of the term is billed


def test_one_run_settles_every_month_that_has_ended_on_one_invoice() -> None:
    """Nov 30 h, Dec 45 h: a first run on Jan 1 bills both: Nov's fee (10 h roll over), Dec's fee with 45 h of
    10 + 40 = 50, so nothing is over; 5 h of December roll into January."""
    ledger = Ledger()
    ledger.log(rated("N-1", "30", date(2026, 11, 3)), rated("D-1", "45", date(2026, 12, 3)))
    invoice = ledger.run(date(2027, 1, 1))
    assert invoice is not None and invoice.total == usd("12000.00")
    assert [line.instalment_id for line in invoice.lines] == ["C-9-1-1", "C-9-1-2"]
    assert [line.time_entry_ids for line in invoice.lines] == [("N-1",), ("D-1",)]
    (_, december) = retainer_history(CONTRACT, SUPPORT, ledger.invoices, ledger.billed)
    assert (december.carried_in, december.drawn, december.carried_out, december.expired) == tuple(
        map(Decimal, (10, 45, 5, 0)))


def test_an_amount_retainer_draws_its_monthly_fee_down_at_rate_card_value() -> None:
    """9,000.00 over Nov-Jan: 3,000.00 a month. Nov: 20 h x 160 = 3,200.00 -> 200.00 over, at rate card value."""
    contract, phase = with_phase(amount=usd("9000.00"), retainer_hours=None, overage_rate=None,
                                 term_end=date(2027, 1, 31), rollover_months=None)
    ledger = Ledger(contract, phase)
    ledger.log(rated("N-1", "12", date(2026, 11, 3)), rated("N-2", "8", date(2026, 11, 4)))
    invoice = ledger.run(date(2026, 11, 30))
    assert invoice is not None and invoice.total == usd("3200.00")
    fee, overage = invoice.lines
    assert "prepaid USD 3,000.00" in fee.description and fee.time_entry_ids == ("N-1",)
    assert (overage.amount, overage.time_entry_ids, overage.phase_id) == (usd("200.00"), ("N-2",), "C-9-1:overage")


def test_a_history_that_does_not_add_up_is_refused_naming_the_month() -> None:
    ledger = Ledger()
    ledger.log(rated("N-1", "30", date(2026, 11, 3)), rated("D-1", "52", date(2026, 12, 3)))
    ledger.run(date(2026, 12, 31))  # Nov and Dec on one invoice: Dec has 2 h of overage
    with pytest.raises(RetainerRefused, match="month 1: entry N-1 on invoice INV-1 is not among the phase's billed"):
        retainer_history(CONTRACT, SUPPORT, ledger.invoices, {})
    edited = {**ledger.billed, "D-1": rated("D-1", "51", date(2026, 12, 3))}
    with pytest.raises(RetainerRefused, match="month 2: invoice INV-1 bills 2 h of overage, but its entries give 1 h"):
        retainer_history(CONTRACT, SUPPORT, ledger.invoices, edited)
    (invoice,) = ledger.invoices
    only_december = invoice.model_copy(update={"lines": invoice.lines[1:]})
    with pytest.raises(RetainerRefused, match="retainer phase C-9-1: month 2 is billed but month 1 is not"):
        retainer_history(CONTRACT, SUPPORT, [only_december], ledger.billed)
    credit = invoice.model_copy(update={"id": "CN-1", "kind": "credit_note"})
    # a credit note mirrors the invoice's lines: the months stay billed, nothing is replayed twice
    assert len(retainer_history(CONTRACT, SUPPORT, [invoice, credit], ledger.billed)) == 2


def test_retainer_drawdown_refuses_bad_balances_naming_the_phase() -> None:
    m = retainer_months(CONTRACT, SUPPORT)[0]
    layer = CarriedBalance(earned_in=m.start, amount=Decimal(1), usable_until=None, prepaid_fee=m.fee,
                           prepaid_allowance=m.allowance)
    with pytest.raises(RetainerRefused, match="retainer phase C-9-1: give the carried-in balance once"):
        retainer_drawdown(contract=CONTRACT, phase=SUPPORT, period_start=m.start, period_end=m.end, rated=[],
                          carried=[layer], carried_in=Decimal(1))
    with pytest.raises(RetainerRefused, match="retainer phase C-9-1 field rollover_months is -1"):
        retainer_drawdown(contract=CONTRACT, phase=SUPPORT, period_start=m.start, period_end=m.end, rated=[],
                          rollover_months=-1)
    with pytest.raises(RetainerRefused, match="retainer phase C-9-1 fee is in EUR"):
        retainer_drawdown(contract=CONTRACT, phase=SUPPORT, period_start=m.start, period_end=m.end, rated=[],
                          fee=eur("6000.00"))
