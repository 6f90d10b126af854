"""The engine end to end on a professional-services contract, and the refusals a person must act on."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from revenue_builders import ACCOUNTS, DIMENSIONS, contract, obligation, usd

from q2c.domain.model import (
    BillingType,
    Contract,
    ContractPhase,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Milestone,
    MilestoneStatus,
    RateCard,
    RateCardLine,
)
from q2c.domain.money import Money
from q2c.domain.revenue import (
    AccountMap,
    AllocationRefused,
    Billed,
    ControlTransferred,
    DiscountAttribution,
    EstimateChanged,
    FxRate,
    FxTable,
    HoursToDate,
    InvalidContract,
    InvalidFact,
    MilestoneReached,
    MissingFxRate,
    Period,
    PeriodCalendar,
    PeriodClosed,
    ProgressFact,
    RecognitionMethod,
    RecognitionPolicy,
    RevenueContract,
    billed_from_invoice,
    deferred_revenue_rollforward,
    explain_contract,
    journal_entries,
    milestone_facts,
    recognise,
    recognise_periods,
    revenue_contract_from,
    waterfall,
)

CARD = RateCard(id="RC", currency="USD", lines=(RateCardLine(role="Consultant", rate=usd(150),
                                                             effective_from=date(2026, 1, 1)),))
PHASES = (
    ContractPhase(id="PH-TM", name="Build", billing_type=BillingType.TIME_AND_MATERIALS, amount=usd(20000),
                  service_offering="Implementation"),
    ContractPhase(id="PH-MS", name="Rollout", billing_type=BillingType.MILESTONE, amount=usd(15000), milestones=(
        Milestone(id="MS-1", name="Design", amount=usd(5000), status=MilestoneStatus.ACCEPTED,
                  completed_on=date(2026, 2, 10)),
        Milestone(id="MS-2", name="Go-live", amount=usd(10000)))),
    ContractPhase(id="PH-FF", name="Discovery", billing_type=BillingType.FIXED_FEE, amount=usd(10000)),
    ContractPhase(id="PH-RT", name="Support", billing_type=BillingType.RETAINER, amount=usd(12000)),
)
CONTRACT = Contract(id="C-1", customer_id="CUST-1", opportunity_id="OPP-1", name="Acme", legal_entity="US01",
                    currency="USD", start_date=date(2026, 1, 1), end_date=date(2026, 12, 31), phases=PHASES,
                    rate_card=CARD)


def _rc() -> RevenueContract:
    return revenue_contract_from(CONTRACT, estimated_hours={"PH-FF": Decimal(100)},
                                 ssp={"PH-MS": usd(18000), "PH-FF": usd(12000), "PH-RT": usd(12000)})


def test_contract_phases_become_obligations_with_methods_from_billing_types() -> None:
    rc = revenue_contract_from(CONTRACT, estimated_hours={"PH-FF": Decimal(100)})
    methods = {ob.id: ob.method for ob in rc.obligations}
    assert methods == {"PH-TM": RecognitionMethod.RIGHT_TO_INVOICE, "PH-MS": RecognitionMethod.OUTPUT_MILESTONES,
                       "PH-FF": RecognitionMethod.INPUT_HOURS, "PH-RT": RecognitionMethod.RATABLE_MONTHLY,
                       "PH-RT:overage": RecognitionMethod.RIGHT_TO_INVOICE}  # the retainer's overage, as invoiced
    assert rc.price.total() == usd(37000)  # T&M is variable, recognised as invoiced
    assert rc.allocation.allocated("PH-MS") == usd(15000)  # SSP defaults to the phase amount
    assert rc.allocation.allocated("PH-TM") is None
    assert rc.obligation("PH-RT").start == date(2026, 1, 1) and rc.obligation("PH-RT").end == date(2026, 12, 31)


def test_supplied_ssps_move_the_discount_across_phases() -> None:
    """37,000 over SSPs 18,000 / 12,000 / 12,000 = 42,000: 15,857.14 / 10,571.43 / 10,571.43 (sum 37,000.00)."""
    rc = _rc()
    alloc = rc.allocation
    assert [alloc.allocated(x) for x in ("PH-MS", "PH-FF", "PH-RT")] == [usd("15857.14"), usd("10571.43"),
                                                                         usd("10571.43")]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "contract C-1 phase PH-FF field estimated_hours"),
    ({"estimated_hours": {"PH-FF": Decimal(1)}, "ssp": {"PH-XX": usd(1)}}, "contract C-1: no phase PH-XX"),
    ({"estimated_hours": {"PH-FF": Decimal(1)}, "ssp": {"PH-MS": Money.of(1, "EUR")}},
     "contract C-1 phase PH-MS field ssp: EUR"),
])
def test_bad_input_names_record_and_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidContract, match=message):
        revenue_contract_from(CONTRACT, **kwargs)  # type: ignore[arg-type]


def test_retainer_without_end_date_is_refused() -> None:
    open_ended = CONTRACT.model_copy(update={"end_date": None})
    with pytest.raises(InvalidContract, match="contract C-1 field end_date: a retainer phase"):
        revenue_contract_from(open_ended, estimated_hours={"PH-FF": Decimal(1)})


def _invoice(inv_id: str, on: date, amount: str, *, kind: str = "invoice") -> Invoice:
    """A posted invoice of one T&M line; a credit note's line carries the negated quantity and amount, as
    `billing.credit_notes` builds them."""
    qty = Decimal(-1) if kind == "credit_note" else Decimal(1)
    line = InvoiceLine(description="hours", quantity=qty, unit_price=usd(amount), amount=usd(amount).times(qty),
                       phase_id="PH-TM")
    return Invoice(id=inv_id, contract_id="C-1", customer_id="CUST-1", invoice_date=on, currency="USD", lines=(line,),
                   total=usd(amount).times(qty), status=InvoiceStatus.POSTED, kind=kind)


def test_a_year_of_the_contract_with_invoices_milestones_hours_and_an_estimate_change() -> None:
    rc = _rc()
    facts: list[ProgressFact] = [
        *billed_from_invoice(_invoice("INV-1", date(2026, 1, 31), "6000.00")),
        *billed_from_invoice(_invoice("CN-1", date(2026, 2, 15), "1000.00", kind="credit_note")),
        *milestone_facts(CONTRACT),
        HoursToDate(id="h1", obligation_id="PH-FF", on=date(2026, 1, 31), hours=Decimal(40)),
        HoursToDate(id="h2", obligation_id="PH-FF", on=date(2026, 2, 28), hours=Decimal(60)),
        EstimateChanged(id="e1", obligation_id="PH-FF", on=date(2026, 2, 20), total=Decimal(150),
                        reason="integration scope larger than planned"),
        Billed(id="B-FF", obligation_id="PH-FF", on=date(2026, 1, 5), amount=usd(10000)),
    ]
    jan, feb = recognise_periods(rc, facts, first=Period(2026, 1), last=Period(2026, 2))
    assert jan.obligation("PH-TM").revenue == usd(6000)
    assert feb.obligation("PH-TM").revenue == usd(-1000)  # credit note reverses revenue (right to invoice)
    assert jan.obligation("PH-FF").revenue == usd("4228.57")  # 40/100 of 10,571.43
    ff = feb.obligation("PH-FF")
    kinds = {line.kind: line.amount for line in ff.lines}
    # catch-up: January's 40 hours re-measured against 150: 10,571.43 x 40/150 = 2,819.048 -> 2,819.05,
    # less the 4,228.57 recognised = -1,409.52; progress: 60/150 -> 4,228.57 less 2,819.05 = 1,409.52
    assert kinds["catch_up"] == usd("-1409.52")
    assert kinds["progress"] == usd("1409.52")
    assert ff.cumulative == usd("4228.57")
    assert feb.obligation("PH-MS").cumulative == usd("5285.71")  # 5,000 / 15,000 of 15,857.14
    assert feb.obligation("PH-RT").cumulative == usd("1761.91")  # 2/12 of 10,571.43, rounded once
    text = explain_contract(rc, feb, history=[jan])
    for expected in ("relative standalone selling price", "integration scope larger than planned",
                     "cumulative catch-up", "right-to-invoice", "Balances at 2026-02-28", "Period 2026-01"):
        assert expected in text, expected


def test_acceptance_policy_waits_for_acceptance() -> None:
    rc = revenue_contract_from(CONTRACT, estimated_hours={"PH-FF": Decimal(1)},
                               policy=RecognitionPolicy(milestone_trigger=MilestoneStatus.ACCEPTED))
    facts = [MilestoneReached(id="m2", obligation_id="PH-MS", on=date(2026, 3, 3), milestone_id="MS-2")]
    assert recognise(rc, facts, period=Period(2026, 3)).obligation("PH-MS").cumulative == usd(0)
    accepted = [*facts, MilestoneReached(id="m2a", obligation_id="PH-MS", on=date(2026, 3, 9), milestone_id="MS-2",
                                         status=MilestoneStatus.ACCEPTED)]
    assert recognise(rc, accepted, period=Period(2026, 3)).obligation("PH-MS").cumulative == usd(10000)


def test_facts_that_disagree_or_point_nowhere_are_refused() -> None:
    rc = contract([obligation("A", RecognitionMethod.INPUT_HOURS, 100, estimated_total=Decimal(10))], 100)
    one = HoursToDate(id="h1", obligation_id="A", on=date(2026, 1, 5), hours=Decimal(1))
    other = HoursToDate(id="h1", obligation_id="A", on=date(2026, 1, 5), hours=Decimal(2))
    with pytest.raises(InvalidFact, match="fact h1 field id: delivered twice with different content"):
        recognise(rc, [one, other], period=Period(2026, 1))
    with pytest.raises(InvalidFact, match="fact x field obligation_id: 'B' is not an obligation"):
        recognise(rc, [HoursToDate(id="x", obligation_id="B", on=date(2026, 1, 5), hours=Decimal(1))],
                  period=Period(2026, 1))


def test_discount_attribution_needs_all_three_criteria() -> None:
    weak = DiscountAttribution(("B",), True, False, True, "sales said so")
    rc = contract([obligation("A", RecognitionMethod.POINT_IN_TIME, 40),
                   obligation("B", RecognitionMethod.POINT_IN_TIME, 60)], 90, discount=weak)
    with pytest.raises(AllocationRefused, match=r"32-37\(b\)"):
        _ = rc.allocation


def test_periods_close_and_late_events_move_forward_with_a_note() -> None:
    cal = PeriodCalendar("US01").close(Period(2026, 1)).close(Period(2026, 2))
    assert cal.post_date_for(date(2026, 1, 15)) == date(2026, 3, 1)
    assert cal.post_date_for(date(2026, 3, 15)) == date(2026, 3, 15)
    assert "closed for US01" in cal.place(date(2026, 2, 3)).note
    assert not cal.reopen(Period(2026, 2)).place(date(2026, 2, 3)).late
    rc = contract([obligation("A", RecognitionMethod.INPUT_HOURS, 1000, estimated_total=Decimal(10))], 1000)
    jan = recognise(rc, [], period=Period(2026, 1))
    feb = recognise(rc, [], period=Period(2026, 2), prior=jan)
    late = HoursToDate(id="late", obligation_id="A", on=date(2026, 1, 20), hours=Decimal(5))
    with pytest.raises(PeriodClosed, match="period 2026-02, which is closed for legal entity US01"):
        recognise(rc, [late], period=Period(2026, 2), prior=jan, calendar=cal)
    mar = recognise(rc, [late], period=Period(2026, 3), prior=feb, calendar=cal)
    (line,) = mar.obligation("A").lines
    assert (line.kind, line.amount) == ("late", usd(500))
    assert mar.notes == ("late fact late (HoursToDate, dated 2026-01-20): period 2026-01 is closed for US01; "
                         "recognised in 2026-03, the first open period",)
    with pytest.raises(PeriodClosed):
        journal_entries(feb, accounts=ACCOUNTS, dimensions=DIMENSIONS, calendar=cal)


def test_functional_revenue_per_obligation_adds_up_to_the_translated_total() -> None:
    """Three revenue credits of USD 0.01 from an advance invoice of USD 0.03 at USD1 = EUR0.5. The advance is carried
    at the rate of its day, 0.03 x 0.5 = 0.015, rounded half-up to EUR 0.02, and the revenue released from it is that
    EUR 0.02 (IFRIC 22): at the period-end rate each credit alone would be EUR 0.01 (0.005 rounds up), EUR 0.03 in
    all, so one obligation takes EUR 0.00 and the revenue lines add up to exactly what was released. The receivable
    is remeasured at the period end (EUR 0.02); the entry balances with no rounding line.
    """
    rc = contract([obligation(x, RecognitionMethod.POINT_IN_TIME, 1) for x in "ABC"], "0.03")
    facts: list[ProgressFact] = [Billed(id="b", obligation_id="", on=date(2026, 1, 2), amount=usd("0.03")),
             *(ControlTransferred(id=f"t{x}", obligation_id=x, on=date(2026, 1, 3)) for x in "ABC")]
    fx = FxTable((FxRate("USD", "EUR", Decimal("0.5"), date(2026, 1, 1)),))
    rec = recognise(rc, facts, period=Period(2026, 1), functional_currency="EUR", fx=fx)
    usd_entry, eur_entry = journal_entries(rec, accounts=ACCOUNTS, dimensions=DIMENSIONS)
    assert eur_entry.id == "JE-REV-1-2026-01-EUR"
    revenue = sorted(ln.credit.amount for ln in eur_entry.lines if ln.account == "4000")
    assert revenue == [Decimal("0.01"), Decimal("0.01")]
    assert {ln.account for ln in eur_entry.lines} == {"4000", "1200"}
    assert "advances at the rates of the days they arose (revenue released from them EUR 0.02)" in eur_entry.memo
    assert all(ln.dimensions["legal_entity"] == "US01" and ln.dimensions["department"] == "PS"
               for ln in usd_entry.lines)
    later_rates = FxTable((FxRate("USD", "EUR", Decimal("0.5"), date(2026, 2, 1)),))
    with pytest.raises(MissingFxRate, match="no USD->EUR rate in force on 2026-01-02"):
        recognise(rc, facts, period=Period(2026, 1), functional_currency="EUR", fx=later_rates)


def test_revenue_accounts_by_service_line_and_obligation_dimension() -> None:
    rc = _rc()
    rec = recognise(rc, billed_from_invoice(_invoice("INV-1", date(2026, 1, 31), "600.00")),
                    period=Period(2026, 1))
    accounts = AccountMap(revenue="4000", contract_asset="1250", contract_liability="2300", billing="1200",
                          fx_rounding="7990", revenue_by_service_line={"Implementation": "4100"})
    (entry,) = journal_entries(rec, accounts=accounts, dimensions={"project": "P-1"})
    tm = [ln for ln in entry.lines if ln.dimensions.get("performance_obligation") == "PH-TM"]
    assert tm[0].account == "4100" and tm[0].dimensions["service_line"] == "Implementation"


def test_waterfall_and_deferred_revenue_rollforward_foot() -> None:
    monthly = RecognitionMethod.RATABLE_MONTHLY
    rc = contract([obligation("S", monthly, 1200, start=date(2026, 1, 1), end=date(2026, 12, 31))], 1200)
    facts = [Billed(id="b1", obligation_id="", on=date(2026, 1, 1), amount=usd(600)),
             Billed(id="b2", obligation_id="", on=date(2026, 7, 1), amount=usd(600))]
    history = recognise_periods(rc, facts, first=Period(2026, 1), last=Period(2026, 3))
    wf = waterfall(history, contracts=[rc])
    assert wf.last_actual == Period(2026, 3)
    assert wf.total(Period(2026, 2), "USD") == usd(100) and wf.total(Period(2026, 12), "USD") == usd(100)
    assert len(wf.periods) == 12 and "2026-04*" in wf.render()
    (roll,) = deferred_revenue_rollforward(history, period=Period(2026, 1)).values()
    assert (roll.opening, roll.billings, roll.revenue_recognised, roll.closing) == (usd(0), usd(600), usd(100),
                                                                                    usd(500))
    (roll,) = deferred_revenue_rollforward(history, period=Period(2026, 3)).values()
    assert roll.opening == usd(400) and roll.closing == usd(300)
    assert "Closing deferred revenue" in roll.render()
