"""Time-and-materials runs: what is billed, what is skipped, the not-to-exceed cap, write-ups and
write-downs, and the invariants a controller relies on."""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from datetime import date
from decimal import Decimal

import pytest
from billing_engagement import (
    CONTRACT,
    FF_PHASE,
    RATE_CARD,
    TM_PHASE,
    caps_for,
    entry,
    eur,
    generated_card,
    policies,
    rated_times,
    usd,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from q2c.domain.billing import (
    Adjustment,
    AdjustmentKind,
    BillingError,
    CurrencyMismatch,
    HeldBack,
    InvalidAdjustment,
    NotInMinorUnits,
    RatedTime,
    Rounding,
    RoundingPolicy,
    RoundingScope,
    TimeAndMaterialsRun,
    WrongPhase,
    rate_time_entry,
    time_and_materials_invoice,
)
from q2c.domain.billing.rounding import minor_unit
from q2c.domain.model import Contract, ContractPhase
from q2c.domain.money import quantize

INVOICE_DATE = date(2026, 3, 31)


def rated(entry_id: str, hours: str, day: int, *, billable: bool = True, resource: str = "R-1") -> RatedTime:
    return rate_time_entry(entry(entry_id, hours, date(2026, 3, day), billable=billable, resource=resource),
                           role="Consultant", rate_card=RATE_CARD)


def with_cap(cap: str | None) -> tuple[Contract, ContractPhase]:
    phase = TM_PHASE.model_copy(update={"cap": None if cap is None else usd(cap)})
    contract = CONTRACT.model_copy(update={"phases": (phase, *CONTRACT.phases[1:])})
    return contract, phase


def run(time: list[RatedTime], *, cap: str | None = None, billed: str = "0.00",
        policy: RoundingPolicy = RoundingPolicy(), billed_entry_ids: Collection[str] = (),
        adjustments: Sequence[Adjustment] = ()) -> TimeAndMaterialsRun:
    contract, phase = with_cap(cap)
    return time_and_materials_invoice(invoice_id="INV-1", contract=contract, phase=phase, rated=time,
                                      billed_to_date=usd(billed), invoice_date=INVOICE_DATE, policy=policy,
                                      billed_entry_ids=billed_entry_ids, adjustments=adjustments)


def test_one_line_per_entry_in_work_order() -> None:
    result = run([rated("E-2", "2", 5), rated("E-1", "1.5", 3), rated("E-3", "1", 5, resource="R-STAR")])
    invoice = result.invoice
    assert invoice is not None
    assert [line.time_entry_ids for line in invoice.lines] == [("E-1",), ("E-2",), ("E-3",)]
    assert [line.amount for line in invoice.lines] == [usd("225.00"), usd("300.00"), usd("200.00")]
    assert invoice.total == usd("725.00") and invoice.currency == "USD"
    assert invoice.contract_id == "C-1" and invoice.customer_id == "CUST-1" and invoice.invoice_date == INVOICE_DATE
    assert all(line.phase_id == "PH-TM" for line in invoice.lines)
    first = invoice.lines[0]
    assert first.quantity == Decimal("1.5") and first.unit_price == usd("150.00")
    assert first.description == "2026-03-03 BUILD Consultant (R-1): 1.5 h at USD 150.00"
    assert result.billed_entry_ids == ("E-1", "E-2", "E-3")
    assert result.unbillable_over_cap == usd("0") and result.over_cap_entry_ids == ()
    assert result.value_of_time == usd("725.00")
    assert "billed 3 approved billable entries (4.5 h) for USD 725.00" in result.explanation


def test_skips_non_billable_already_billed_and_later_time_with_reasons() -> None:
    later = rate_time_entry(entry("E-4", "1", date(2026, 4, 2)), role="Consultant", rate_card=RATE_CARD)
    result = run([rated("E-1", "1", 3), rated("E-2", "1", 4, billable=False), rated("E-3", "1", 5), later],
                 billed_entry_ids={"E-3"})
    assert result.billed_entry_ids == ("E-1",)
    assert {(s.entry_id, s.reason) for s in result.skipped} == {
        ("E-2", "not billable (entry or task)"), ("E-3", "already billed"),
        ("E-4", "worked 2026-04-02, after the invoice date")}
    assert result.value_of_time == usd("150.00")


def test_nothing_to_bill_gives_no_invoice() -> None:
    result = run([rated("E-1", "1", 3, billable=False)])
    assert result.invoice is None and result.billed_entry_ids == () and result.unbillable_over_cap == usd("0")
    assert run([]).invoice is None


def test_cap_bills_up_to_the_cap_and_reports_the_overrun_with_its_entries() -> None:
    # cap 2000, 500 billed before: 1500 of room. E-1 600, E-2 600 (1200), E-3 600 crosses (300 over), E-4 over.
    time = [rated("E-1", "4", 2), rated("E-2", "4", 3), rated("E-3", "4", 4), rated("E-4", "2", 5)]
    result = run(time, cap="2000.00", billed="500.00")
    invoice = result.invoice
    assert invoice is not None and invoice.total == usd("1500.00")
    assert result.billed_entry_ids == ("E-1", "E-2", "E-3")
    assert result.over_cap_entry_ids == ("E-3", "E-4")
    assert result.unbillable_over_cap == usd("600.00")  # 300 of E-3 and all 300 of E-4
    cap_line = invoice.lines[-1]
    assert cap_line.amount == usd("-300.00") and cap_line.time_entry_ids == ("E-3",)
    assert cap_line.quantity * cap_line.unit_price.amount == cap_line.amount.amount
    assert "Not-to-exceed cap of phase 'Build' reached" in cap_line.description
    assert "E-3, E-4" in result.explanation and "USD 600.00 of time is above the cap" in result.explanation


def test_entry_that_exactly_reaches_the_cap_is_billed_without_a_cap_line() -> None:
    result = run([rated("E-1", "10", 2), rated("E-2", "1", 3)], cap="1500.00")
    assert result.invoice is not None and result.invoice.total == usd("1500.00")
    assert len(result.invoice.lines) == 1 and result.over_cap_entry_ids == ("E-2",)


def test_cap_already_used_up_bills_nothing() -> None:
    result = run([rated("E-1", "1", 2)], cap="1000.00", billed="1200.00")
    assert result.invoice is None and result.over_cap_entry_ids == ("E-1",)
    assert result.unbillable_over_cap == usd("150.00")


def test_write_down_and_write_up_are_their_own_lines_with_the_reason() -> None:
    down = Adjustment(kind=AdjustmentKind.WRITE_DOWN, amount=usd("50.00"), reason="learning curve", entry_id="E-1")
    up = Adjustment(kind=AdjustmentKind.WRITE_UP, amount=usd("20.00"), reason="weekend work", entry_id="E-2")
    result = run([rated("E-1", "2", 2), rated("E-2", "1", 3)], adjustments=[down, up])
    invoice = result.invoice
    assert invoice is not None
    assert [(line.description, line.amount) for line in invoice.lines[1::2]] == [
        ("Write-down of time entry E-1: learning curve", usd("-50.00")),
        ("Write-up of time entry E-2: weekend work", usd("20.00"))]
    assert invoice.lines[0].amount == usd("300.00")  # the original stays
    assert invoice.lines[1].time_entry_ids == ("E-1",)
    assert invoice.total == usd("420.00") == result.value_of_time


def test_cap_sees_adjustments() -> None:
    up = Adjustment(kind=AdjustmentKind.WRITE_UP, amount=usd("100.00"), reason="rush", entry_id="E-1")
    result = run([rated("E-1", "2", 2)], cap="350.00", adjustments=[up])
    assert result.invoice is not None and result.invoice.total == usd("350.00")
    assert result.unbillable_over_cap == usd("50.00")


def test_adjustment_errors() -> None:
    time = [rated("E-1", "1", 2), rated("E-2", "1", 3, billable=False)]
    too_much = Adjustment(kind=AdjustmentKind.WRITE_DOWN, amount=usd("150.01"), reason="x", entry_id="E-1")
    with pytest.raises(InvalidAdjustment, match=r"take time entry E-1 \(USD 150\.00\) below zero"):
        run(time, adjustments=[too_much])
    elsewhere = Adjustment(kind=AdjustmentKind.WRITE_UP, amount=usd("1.00"), reason="x", entry_id="E-2")
    with pytest.raises(InvalidAdjustment, match="time entry E-2, which is not billable unbilled time"):
        run(time, adjustments=[elsewhere])
    on_line = Adjustment(kind=AdjustmentKind.WRITE_UP, amount=usd("1.00"), reason="x", line_number=1)
    with pytest.raises(InvalidAdjustment, match="targets an invoice line"):
        run(time, adjustments=[on_line])
    in_euro = Adjustment(kind=AdjustmentKind.WRITE_UP, amount=eur("1.00"), reason="x", entry_id="E-1")
    with pytest.raises(CurrencyMismatch, match="write-up of time entry E-1 field amount is in EUR"):
        run(time, adjustments=[in_euro])


def test_wrong_phase_and_bad_terms_are_refused() -> None:
    with pytest.raises(WrongPhase, match="field billing_type is 'fixed_fee'"):
        time_and_materials_invoice(invoice_id="I", contract=CONTRACT, phase=FF_PHASE, rated=[],
                                   billed_to_date=usd("0"), invoice_date=INVOICE_DATE)
    stranger = TM_PHASE.model_copy(update={"id": "PH-X"})
    with pytest.raises(WrongPhase, match="phase PH-X is not a phase of contract C-1"):
        time_and_materials_invoice(invoice_id="I", contract=CONTRACT, phase=stranger, rated=[],
                                   billed_to_date=usd("0"), invoice_date=INVOICE_DATE)
    with pytest.raises(NotInMinorUnits, match="phase PH-TM of contract C-1 field cap"):
        run([], cap="100.001")
    with pytest.raises(CurrencyMismatch, match="billed to date on phase PH-TM is in EUR"):
        time_and_materials_invoice(invoice_id="I", contract=CONTRACT, phase=TM_PHASE, rated=[],
                                   billed_to_date=eur("0"), invoice_date=INVOICE_DATE)
    with pytest.raises(BillingError, match="cannot be negative"):
        run([], billed="-1.00")


def test_time_in_another_currency_or_listed_twice_is_refused() -> None:
    one = rated("E-1", "1", 2)
    with pytest.raises(BillingError, match="time entry E-1 is listed twice"):
        run([one, one])
    euro = one.model_copy(update={"rate": eur("150.00"), "amount": eur("150.00")})
    with pytest.raises(CurrencyMismatch, match="time entry E-1 field rate is in EUR"):
        run([euro])


# --- properties ---------------------------------------------------------------------------------------------

prior = st.decimals(min_value=Decimal(0), max_value=Decimal(3000), places=2)


def expected_value(time: list[RatedTime], policy: RoundingPolicy) -> Decimal:
    """Approved billable hours x rate, rounded as the policy says, computed independently."""
    products = [t.hours * t.rate.amount for t in time if t.billable]
    if policy.scope is RoundingScope.PER_LINE:
        return sum((quantize(p, "USD", policy.mode) for p in products), Decimal(0))
    return quantize(sum(products, Decimal(0)), "USD", policy.mode)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), billed=prior, policy=policies)
def test_billed_plus_unbillable_is_the_value_of_the_time_and_the_cap_holds(
        data: st.DataObject, billed: Decimal, policy: RoundingPolicy) -> None:
    time = data.draw(rated_times(policy=policy))
    cap = data.draw(caps_for(time, billed))
    result = run(time, cap=None if cap is None else str(cap), billed=str(billed), policy=policy)
    total = result.invoice.total.amount if result.invoice is not None else Decimal(0)
    assert total + result.unbillable_over_cap.amount == expected_value(time, policy) == result.value_of_time.amount
    assert result.unbillable_over_cap.amount >= 0
    if result.invoice is not None:
        assert sum((line.amount.amount for line in result.invoice.lines), Decimal(0)) == total
        assert all(line.amount.amount == quantize(line.amount.amount, "USD") for line in result.invoice.lines)
    if cap is not None:
        assert billed + total <= max(cap, billed)  # never billed past the cap
        if result.unbillable_over_cap.amount > 0:
            assert billed + total == max(cap, billed)  # billed right up to it
    else:
        assert result.over_cap_entry_ids == ()
    billable = {t.entry_id for t in time if t.billable}
    assert set(result.billed_entry_ids) | set(result.over_cap_entry_ids) == billable
    assert len(set(result.billed_entry_ids) & set(result.over_cap_entry_ids)) <= 1  # only the crossing entry


@settings(max_examples=100, deadline=None)
@given(data=st.data(), policy=policies, seed=st.integers())
def test_same_inputs_in_any_order_give_the_same_invoice(data: st.DataObject, policy: RoundingPolicy,
                                                        seed: int) -> None:
    time = data.draw(rated_times(policy=policy))
    cap = data.draw(caps_for(time))
    shuffled = list(time)
    random.Random(seed).shuffle(shuffled)
    first = run(time, cap=None if cap is None else str(cap), policy=policy)
    again = run(shuffled, cap=None if cap is None else str(cap), policy=policy)
    assert first == again
    assert first.model_dump(mode="json") == again.model_dump(mode="json")


@settings(max_examples=150, deadline=None)
@given(data=st.data(), mode=st.sampled_from(list(Rounding)))
def test_per_line_and_per_invoice_totals_differ_within_the_documented_bound(data: st.DataObject,
                                                                           mode: Rounding) -> None:
    time = data.draw(rated_times())
    per_line = run(time, policy=RoundingPolicy(mode=mode))
    per_invoice = run(time, policy=RoundingPolicy(mode=mode, scope=RoundingScope.PER_INVOICE))
    if per_line.invoice is None:
        assert per_invoice.invoice is None
        return
    assert per_invoice.invoice is not None
    lines = len(per_line.invoice.lines)
    gap = abs(per_line.invoice.total.amount - per_invoice.invoice.total.amount)
    assert gap <= minor_unit("USD") * ((lines + 1) // 2)


def test_per_invoice_rounding_rounds_once_and_keeps_lines_adding_up() -> None:
    card = generated_card([Decimal("10.005")])
    time = [rate_time_entry(entry(f"E-{n}", "1", date(2026, 3, n)), role="Role0", rate_card=card) for n in (1, 2, 3)]
    per_line = run(time)
    per_invoice = run(time, policy=RoundingPolicy(scope=RoundingScope.PER_INVOICE))
    assert per_line.invoice is not None and per_invoice.invoice is not None
    assert per_line.invoice.total == usd("30.03")
    assert per_invoice.invoice.total == usd("30.02")  # 30.015 rounded once
    assert [line.amount for line in per_invoice.invoice.lines] == [usd("10.00"), usd("10.01"), usd("10.01")]
    assert "Rounding: half-up, once per invoice." in per_invoice.explanation
    bankers = run(time, policy=RoundingPolicy(mode=Rounding.BANKERS))
    assert bankers.invoice is not None and bankers.invoice.total == usd("30.00")  # 10.005 -> 10.00 each


def test_per_invoice_rounding_stops_exactly_at_the_cap() -> None:
    card = generated_card([Decimal("33.333")])
    time = [rate_time_entry(entry(f"E-{n}", "1", date(2026, 3, n)), role="Role0", rate_card=card) for n in (1, 2, 3)]
    result = run(time, cap="70.00", policy=RoundingPolicy(scope=RoundingScope.PER_INVOICE))
    assert result.invoice is not None and result.invoice.total == usd("70.00")
    assert result.unbillable_over_cap == usd("30.00")  # 99.999 -> 100.00 of time, 70.00 billed
    assert result.over_cap_entry_ids == ("E-3",)


# --- held back by the cap, released when a change order raises it ---------------------------------------------


def test_the_part_of_the_crossing_entry_above_the_cap_is_held_back_and_released_when_the_cap_rises() -> None:
    """Cap 1,000. E-1 4 h x 150 = 600 fits; E-2 4 h = 600 crosses: 400 billed, 200 held back; E-3 2 h = 300
    is wholly over. The cap rises to 2,000 (1,000 billed so far, 1,000 of room): the next run releases
    E-2's 200 first, on its own line, then bills E-3's 300: 500, and nothing is left held or over."""
    first = run([rated("E-1", "4", 2), rated("E-2", "4", 3), rated("E-3", "2", 4)], cap="1000.00")
    assert first.invoice is not None and first.invoice.total == usd("1000.00")
    (held,) = first.held_back
    assert (held.entry_id, held.amount) == ("E-2", usd("200.00")) and first.over_cap_entry_ids == ("E-2", "E-3")
    assert first.unbillable_over_cap == usd("500.00")  # 200 held of E-2 + 300 of E-3

    contract, phase = with_cap("2000.00")
    second = time_and_materials_invoice(invoice_id="INV-2", contract=contract, phase=phase,
                                        rated=[rated("E-3", "2", 4)], billed_to_date=usd("1000.00"),
                                        invoice_date=INVOICE_DATE, held_back=first.held_back)
    assert second.invoice is not None and second.invoice.total == usd("500.00")
    release, e3 = second.invoice.lines
    assert release.amount == usd("200.00") and release.time_entry_ids == ("E-2",)
    assert "Released from the not-to-exceed cap" in release.description and "E-2" in release.description
    assert e3.amount == usd("300.00") and second.released == (held,) and second.held_back == ()
    assert second.unbillable_over_cap == usd("0.00")


def test_a_release_is_limited_by_the_room_and_the_rest_stays_held() -> None:
    """300 held back, only 120 of room: 120 released, 180 still held, new time wholly over the cap."""
    contract, phase = with_cap("1120.00")
    held = HeldBack(entry_id="E-2", work_date=date(2026, 3, 3), amount=usd("300.00"))
    result = time_and_materials_invoice(invoice_id="INV-2", contract=contract, phase=phase,
                                        rated=[rated("E-9", "1", 9)], billed_to_date=usd("1000.00"),
                                        invoice_date=INVOICE_DATE, held_back=[held])
    assert result.invoice is not None and result.invoice.total == usd("120.00")
    assert [h.amount for h in result.released] == [usd("120.00")]
    assert [h.amount for h in result.held_back] == [usd("180.00")] and result.over_cap_entry_ids == ("E-9",)


def test_held_back_amounts_are_checked() -> None:
    contract, phase = with_cap("1000.00")
    for bad, message in ((HeldBack(entry_id="E-1", work_date=date(2026, 3, 2), amount=usd("0.00")), "positive"),
                         (HeldBack(entry_id="E-1", work_date=date(2026, 3, 2), amount=eur("5.00")), "EUR")):
        with pytest.raises((BillingError, CurrencyMismatch), match=message):
            time_and_materials_invoice(invoice_id="INV-2", contract=contract, phase=phase, rated=[],
                                       billed_to_date=usd("0.00"), invoice_date=INVOICE_DATE, held_back=[bad])
    with pytest.raises(BillingError, match="offered as unbilled time and as held back"):
        time_and_materials_invoice(
            invoice_id="INV-2", contract=contract, phase=phase, rated=[rated("E-1", "1", 2)],
            billed_to_date=usd("0.00"), invoice_date=INVOICE_DATE,
            held_back=[HeldBack(entry_id="E-1", work_date=date(2026, 3, 2), amount=usd("5.00"))])


@settings(max_examples=100, deadline=None)
@given(data=st.data(), policy=policies)
def test_over_two_runs_billed_plus_held_plus_over_is_the_value_of_the_time(data: st.DataObject,
                                                                          policy: RoundingPolicy) -> None:
    """Run 1 under a cap, run 2 under a raised cap with what run 1 left: nothing is lost or billed twice."""
    time = data.draw(rated_times(policy=policy))
    cap = data.draw(caps_for(time, Decimal(0)))
    raise_by = data.draw(st.decimals(min_value=Decimal(0), max_value=Decimal(5000), places=2))
    first = run(time, cap=None if cap is None else str(cap), policy=policy)
    billed_1 = first.invoice.total.amount if first.invoice is not None else Decimal(0)
    left = [t for t in time if t.entry_id in set(first.over_cap_entry_ids) - set(first.billed_entry_ids)]
    contract, phase = with_cap(None if cap is None else str(cap + raise_by))
    second = time_and_materials_invoice(invoice_id="INV-2", contract=contract, phase=phase, rated=left,
                                        billed_to_date=usd(str(billed_1)), invoice_date=INVOICE_DATE,
                                        policy=policy, held_back=first.held_back)
    billed_2 = second.invoice.total.amount if second.invoice is not None else Decimal(0)
    held = sum((h.amount.amount for h in second.held_back), Decimal(0))
    over = sum((t.amount.amount for t in left if t.entry_id in second.over_cap_entry_ids
                and t.entry_id not in second.billed_entry_ids), Decimal(0))
    if policy.scope is RoundingScope.PER_LINE:
        assert billed_1 + billed_2 + held + over == expected_value(time, policy)
    if cap is not None:
        assert billed_1 + billed_2 <= cap + raise_by
