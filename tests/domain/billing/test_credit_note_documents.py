"""Credit notes and void reversals as documents: ids that name the invoice they take back, what an invoice still
bills after them, and which invoices may be credited."""

from __future__ import annotations

from datetime import date

import pytest
from billing_engagement import CONTRACT, RATE_CARD, TM_PHASE, entry, usd

from q2c.domain.billing import CreditNoteRefused, rate_time_entry, time_and_materials_invoice
from q2c.domain.billing.credit_notes import (
    credit_note,
    credit_note_id,
    credited_invoice_id,
    entries_billed_on,
    void_reversal,
)
from q2c.domain.model import Invoice, InvoiceStatus

DAY = date(2026, 3, 31)


def invoice(status: InvoiceStatus = InvoiceStatus.POSTED) -> Invoice:
    """E-1 3 h, E-2 2 h, E-3 1 h at the Consultant rate of the card: one line each."""
    time = [rate_time_entry(entry(e, h, date(2026, 3, d)), role="Consultant", rate_card=RATE_CARD)
            for e, h, d in (("E-1", "3", 2), ("E-2", "2", 3), ("E-3", "1", 4))]
    contract = CONTRACT.model_copy(update={"phases": (TM_PHASE,)})
    run = time_and_materials_invoice(invoice_id="INV-P1-20260331", contract=contract, phase=TM_PHASE, rated=time,
                                     billed_to_date=usd("0"), invoice_date=DAY)
    assert run.invoice is not None
    return run.invoice.model_copy(update={"status": status})


def test_credit_note_ids_name_the_invoice_and_count_up() -> None:
    assert credit_note_id("INV-P1-20260331", ()) == "CN-1-INV-P1-20260331"
    assert credit_note_id("INV-P1-20260331", {"CN-1-INV-P1-20260331"}) == "CN-2-INV-P1-20260331"
    assert credited_invoice_id("CN-2-INV-P1-20260331-2") == "INV-P1-20260331-2"
    assert credited_invoice_id("VOID-INV-SF-M1") == "INV-SF-M1"
    assert credited_invoice_id("INV-P1-20260331") is None and credited_invoice_id("CN-X-INV-1") is None


def test_an_invoice_bills_what_no_credit_of_it_took_back() -> None:
    inv = invoice()
    first = credit_note(credit_note_id=credit_note_id(inv.id, ()), invoice=inv, credit_date=DAY, entry_ids=["E-2"])
    other = credit_note(credit_note_id="CN-1-INV-OTHER", invoice=inv.model_copy(update={"id": "INV-OTHER"}),
                        credit_date=DAY, entry_ids=["E-1"])
    assert entries_billed_on(inv, [inv]) == {"E-1", "E-2", "E-3"}
    assert entries_billed_on(inv, [inv, first, other]) == {"E-1", "E-3"}  # a credit of another invoice counts not


def test_a_paid_invoice_is_credited_a_voided_one_is_not() -> None:
    paid = credit_note(credit_note_id="CN-1-INV-P1-20260331", invoice=invoice(InvoiceStatus.PAID), credit_date=DAY,
                       entry_ids=["E-3"])
    assert paid.total == -invoice().lines[2].amount
    with pytest.raises(CreditNoteRefused, match="field status is 'voided'"):
        credit_note(credit_note_id="CN-1-INV-P1-20260331", invoice=invoice(InvoiceStatus.VOIDED), credit_date=DAY)


def test_a_void_reversal_takes_back_every_line_posted() -> None:
    inv = invoice(InvoiceStatus.VOIDED)
    reversal = void_reversal(inv, reversal_date=date(2026, 4, 1))
    assert reversal.id == "VOID-INV-P1-20260331" and reversal.kind == "credit_note"
    assert reversal.status is InvoiceStatus.POSTED and reversal.total == -inv.total
    assert [line.amount for line in reversal.lines] == [-line.amount for line in inv.lines]
    assert reversal.lines[0].description.startswith("Void of invoice INV-P1-20260331: ")
    assert entries_billed_on(inv, [inv, reversal]) == frozenset()
    with pytest.raises(CreditNoteRefused, match="before invoice INV-P1-20260331's date"):
        void_reversal(inv, reversal_date=date(2026, 3, 30))
    with pytest.raises(CreditNoteRefused, match="draft was never posted"):
        void_reversal(invoice(InvoiceStatus.DRAFT), reversal_date=DAY)
