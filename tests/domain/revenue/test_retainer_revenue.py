"""A retainer's revenue is consistent with its billing: the whole retainer straight line over the retainer's own
term, overage as invoiced, breakage inside the straight line (ASC 606-10-55-48, first sentence)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from q2c.domain.billing import RatedTime, rate_time_entry
from q2c.domain.billing.retainers import bill_retainer, retainer_months
from q2c.domain.model import (
    BillingType,
    Contract,
    ContractPhase,
    Invoice,
    InvoiceStatus,
    RateCard,
    RateCardLine,
    TimeEntry,
    TimeEntryStatus,
)
from q2c.domain.money import Money
from q2c.domain.revenue import (
    Period,
    ProgressFact,
    RecognitionMethod,
    billed_from_invoice,
    recognise_periods,
    revenue_contract_from,
)


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


CARD = RateCard(id="RC", currency="USD", lines=(RateCardLine(role="Consultant", rate=usd("150.00"),
                                                             effective_from=date(2026, 1, 1)),))
SUPPORT = ContractPhase(id="C-9-1", name="Support", billing_type=BillingType.RETAINER, amount=usd("24000.00"),
                        retainer_hours=Decimal(40), overage_rate=usd("180.00"), term_start=date(2026, 11, 1),
                        term_end=date(2027, 2, 28), rollover_months=1)
CONTRACT = Contract(id="C-9", customer_id="CUST-9", opportunity_id="OPP-9", name="Support", legal_entity="US01",
                    currency="USD", start_date=date(2026, 11, 1), end_date=date(2027, 6, 30), phases=(SUPPORT,),
                    rate_card=CARD)


def rated(entry_id: str, hours: str, day: date) -> RatedTime:
    entry = TimeEntry(id=entry_id, project_id="P-9", task_code="BUILD", resource_id="R-1", work_date=day,
                      hours=Decimal(hours), status=TimeEntryStatus.APPROVED,
                      source_updated_at=datetime(2027, 3, 1, tzinfo=UTC))
    return rate_time_entry(entry, role="Consultant", rate_card=CARD)


def billed_month_by_month(contract: Contract, phase: ContractPhase, work: dict[date, list[RatedTime]]) -> list[Invoice]:
    """One run at each month end, as the billing run does; each invoice is then posted in the ERP."""
    invoices: list[Invoice] = []
    billed: dict[str, RatedTime] = {}
    waiting: dict[str, RatedTime] = {}
    for month in retainer_months(contract, phase):
        waiting.update({r.entry_id: r for r in work.get(month.end, [])})
        run = bill_retainer(invoice_id=f"INV-{month.number}", contract=contract, phase=phase, invoices=invoices,
                            rated=list(waiting.values()), billed_time=billed, as_of=month.end, invoice_date=month.end)
        billed.update({e: waiting.pop(e) for e in run.entry_ids})
        assert run.invoice is not None
        invoices.append(run.invoice.model_copy(update={"status": InvoiceStatus.POSTED}))
    return invoices


def test_the_retainer_is_one_obligation_over_its_own_term_and_its_overage_another_as_invoiced() -> None:
    rc = revenue_contract_from(CONTRACT)
    retainer, overage = rc.obligations
    assert (retainer.id, retainer.method, retainer.start, retainer.end) == (
        "C-9-1", RecognitionMethod.RATABLE_MONTHLY, date(2026, 11, 1), date(2027, 2, 28))
    assert rc.allocation.allocated("C-9-1") == usd("24000.00")  # the whole retainer, not a month's fee
    assert (overage.id, overage.method, overage.phase_id) == ("C-9-1:overage", RecognitionMethod.RIGHT_TO_INVOICE,
                                                              "C-9-1")
    assert rc.allocation.allocated("C-9-1:overage") is None and rc.price.total() == usd("24000.00")
    later = CONTRACT.model_copy(update={"end_date": date(2027, 12, 31)})  # the deal's end moved: the term did not
    assert revenue_contract_from(later).obligation("C-9-1").end == date(2027, 2, 28)
    planned_before = CONTRACT.model_copy(update={"phases": (SUPPORT.model_copy(update={"term_start": None,
                                                                                        "term_end": None}),)})
    assert revenue_contract_from(planned_before).obligation("C-9-1").end == date(2027, 6, 30)


def test_revenue_equals_billing_at_every_month_end() -> None:
    """Nov 30 h, Dec 9 h, Jan 86 h (6 h over: 1,080.00), Feb 25 h (15 h expire): invoices 6,000.00, 6,000.00,
    7,080.00 and 6,000.00; revenue 24,000 x 1/4 a month plus January's overage as invoiced, the same figures, so
    no contract asset or liability is left at any month end. The 1 h and 15 h that expired (150.00 and 2,250.00)
    are already in the straight line: no revenue line of their own."""
    work = {date(2026, 11, 30): [rated("N-1", "30", date(2026, 11, 3))],
            date(2026, 12, 31): [rated("D-1", "9", date(2026, 12, 2))],
            date(2027, 1, 31): [rated("J-1", "80", date(2027, 1, 4)), rated("J-2", "6", date(2027, 1, 18))],
            date(2027, 2, 28): [rated("F-1", "25", date(2027, 2, 2))]}
    invoices = billed_month_by_month(CONTRACT, SUPPORT, work)
    assert [i.total for i in invoices] == [usd("6000.00"), usd("6000.00"), usd("7080.00"), usd("6000.00")]
    facts: list[ProgressFact] = [f for i in invoices for f in billed_from_invoice(i)]
    assert {f.obligation_id for f in facts} == {"C-9-1", "C-9-1:overage"}
    months = recognise_periods(revenue_contract_from(CONTRACT), facts, first=Period(2026, 11), last=Period(2027, 3))
    assert [m.revenue for m in months] == [usd("6000.00"), usd("6000.00"), usd("7080.00"), usd("6000.00"),
                                           usd("0.00")]
    assert [m.obligation("C-9-1:overage").revenue for m in months] == [usd("0"), usd("0"), usd("1080.00"), usd("0"),
                                                                       usd("0")]
    assert all(m.cumulative == m.billed_to_date for m in months)
    assert months[0].obligation("C-9-1").progress_text == \
        "1 of 4 months of service (2026-11-01 to 2027-02-28), straight line"


def test_uneven_fees_and_the_straight_line_differ_by_a_cent_in_between_and_meet_at_the_end() -> None:
    """10,000.00 over 3 months. Billing: 3,333.33, 3,333.33 and the remainder 3,333.34. Revenue: the cumulative
    straight line rounded once, 3,333.33 / 6,666.67 / 10,000.00, so 3,333.33, 3,333.34, 3,333.33. At the end of
    month 2 revenue is 6,666.67 against 6,666.66 billed: a contract asset of 0.01; at the end both are 10,000.00."""
    phase = SUPPORT.model_copy(update={"amount": usd("10000.00"), "term_end": date(2027, 1, 31)})
    contract = CONTRACT.model_copy(update={"phases": (phase,)})
    invoices = billed_month_by_month(contract, phase, {})
    assert [i.total for i in invoices] == [usd("3333.33"), usd("3333.33"), usd("3333.34")]
    facts: list[ProgressFact] = [f for i in invoices for f in billed_from_invoice(i)]
    months = recognise_periods(revenue_contract_from(contract), facts, first=Period(2026, 11), last=Period(2027, 1))
    assert [m.revenue for m in months] == [usd("3333.33"), usd("3333.34"), usd("3333.33")]
    assert [m.cumulative - m.billed_to_date for m in months] == [usd("0"), usd("0.01"), usd("0")]
