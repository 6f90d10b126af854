"""Write-ups and write-downs on invoice lines, and the billing events the revenue engine reads."""

from __future__ import annotations

from datetime import date

import pytest
from billing_engagement import CONTRACT, MILESTONES, MS_PHASE, RATE_CARD, TM_PHASE, entry, eur, usd

from q2c.domain.billing import (
    Adjustment,
    AdjustmentKind,
    BillingError,
    CurrencyMismatch,
    InvalidAdjustment,
    NotInMinorUnits,
    adjust_invoice,
    billing_events,
    credit_note,
    milestone_invoice,
    rate_time_entry,
    time_and_materials_invoice,
)
from q2c.domain.model import BillingEventKind, Invoice, InvoiceStatus

DAY = date(2026, 3, 31)


def milestone_draft() -> Invoice:
    return milestone_invoice(invoice_id="INV-M", contract=CONTRACT, phase=MS_PHASE, milestone=MILESTONES[0],
                             invoice_date=DAY)


def test_adjustment_needs_a_reason_a_positive_amount_and_one_target() -> None:
    with pytest.raises(InvalidAdjustment, match="write-down of time entry E-1 field reason is empty"):
        Adjustment(kind=AdjustmentKind.WRITE_DOWN, amount=usd("10.00"), reason="  ", entry_id="E-1")
    with pytest.raises(InvalidAdjustment, match=r"field amount is USD 0\.00: give a positive amount"):
        Adjustment(kind=AdjustmentKind.WRITE_UP, amount=usd("0.00"), reason="r", entry_id="E-1")
    with pytest.raises(InvalidAdjustment, match="must target exactly one time entry or one invoice line"):
        Adjustment(kind=AdjustmentKind.WRITE_UP, amount=usd("1.00"), reason="r")
    with pytest.raises(InvalidAdjustment, match="must target exactly one"):
        Adjustment(kind=AdjustmentKind.WRITE_UP, amount=usd("1.00"), reason="r", entry_id="E-1", line_number=1)
    with pytest.raises(InvalidAdjustment, match="field line_number is 0"):
        Adjustment(kind=AdjustmentKind.WRITE_UP, amount=usd("1.00"), reason="r", line_number=0)
    with pytest.raises(NotInMinorUnits, match="write-up of line 1 field amount"):
        Adjustment(kind=AdjustmentKind.WRITE_UP, amount=usd("1.001"), reason="r", line_number=1)
    kind_from_text = Adjustment(kind="write_up", amount=usd("1.00"), reason="r", line_number=1)  # type: ignore[arg-type]
    assert kind_from_text.kind is AdjustmentKind.WRITE_UP


def test_line_adjustment_keeps_the_original_and_sits_after_it() -> None:
    draft = milestone_draft()
    down = Adjustment(kind=AdjustmentKind.WRITE_DOWN, amount=usd("500.00"), reason="late delivery", line_number=1)
    adjusted = adjust_invoice(draft, [down])
    assert adjusted.lines[0] == draft.lines[0]
    line = adjusted.lines[1]
    assert line.description == "Write-down of line 1: late delivery"
    assert (line.amount, line.unit_price, line.milestone_id, line.phase_id) == (usd("-500.00"), usd("-500.00"),
                                                                                 "MS-1", "PH-MS")
    assert adjusted.total == usd("4500.00")


def test_line_adjustment_refusals() -> None:
    draft = milestone_draft()
    too_much = Adjustment(kind=AdjustmentKind.WRITE_DOWN, amount=usd("5000.01"), reason="r", line_number=1)
    with pytest.raises(InvalidAdjustment, match=r"take line 1 of invoice INV-M \(USD 5,000.00\) below zero"):
        adjust_invoice(draft, [too_much])
    missing = Adjustment(kind=AdjustmentKind.WRITE_UP, amount=usd("1.00"), reason="r", line_number=2)
    with pytest.raises(InvalidAdjustment, match="targets line 2 of invoice INV-M, which has 1 lines"):
        adjust_invoice(draft, [missing])
    by_entry = Adjustment(kind=AdjustmentKind.WRITE_UP, amount=usd("1.00"), reason="r", entry_id="E-1")
    with pytest.raises(InvalidAdjustment, match="apply it in the time-and-materials run"):
        adjust_invoice(draft, [by_entry])
    posted = draft.model_copy(update={"status": InvoiceStatus.POSTED})
    up = Adjustment(kind=AdjustmentKind.WRITE_UP, amount=usd("1.00"), reason="r", line_number=1)
    with pytest.raises(InvalidAdjustment, match="invoice INV-M is posted: only draft invoices"):
        adjust_invoice(posted, [up])
    in_euro = Adjustment(kind=AdjustmentKind.WRITE_UP, amount=eur("1.00"), reason="r", line_number=1)
    with pytest.raises(CurrencyMismatch):
        adjust_invoice(draft, [in_euro])


def test_billing_events_per_phase_and_kind_for_invoices_and_credit_notes() -> None:
    time = [rate_time_entry(entry("E-1", "2", date(2026, 3, 2)), role="Consultant", rate_card=RATE_CARD)]
    run = time_and_materials_invoice(invoice_id="INV-T", contract=CONTRACT, phase=TM_PHASE, rated=time,
                                     billed_to_date=usd("0"), invoice_date=DAY)
    assert run.invoice is not None
    (event,) = billing_events(run.invoice, CONTRACT)
    assert (event.id, event.kind, event.amount, event.phase_id, event.invoice_id, event.event_date) == (
        "INV-T:PH-TM", BillingEventKind.TIME, usd("300.00"), "PH-TM", "INV-T", DAY)
    posted = milestone_draft().model_copy(update={"status": InvoiceStatus.POSTED})
    note = credit_note(credit_note_id="CN-M", invoice=posted, credit_date=DAY)
    (credit_event,) = billing_events(note, CONTRACT)
    assert credit_event.kind is BillingEventKind.MILESTONE and credit_event.amount == usd("-5000.00")
    assert billing_events(run.invoice, CONTRACT) == billing_events(run.invoice, CONTRACT)


def test_billing_events_refuse_foreign_documents() -> None:
    draft = milestone_draft()
    with pytest.raises(BillingError, match="invoice INV-M is for contract C-1, not C-2"):
        billing_events(draft, CONTRACT.model_copy(update={"id": "C-2"}))
    stray = draft.model_copy(update={"lines": (draft.lines[0].model_copy(update={"phase_id": "PH-X"}),)})
    with pytest.raises(BillingError, match="line 1 of invoice INV-M field phase_id is 'PH-X'"):
        billing_events(stray, CONTRACT)
