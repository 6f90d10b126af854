"""Invoices become billed facts with their signs: a not-to-exceed cap line reduces what was billed, and a credit
note counts as it stands (its lines already negated), so crediting a cap line adds it back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from revenue_builders import contract, obligation, usd

from q2c.domain.billing.credit_notes import credit_note
from q2c.domain.model import Invoice, InvoiceLine, InvoiceStatus
from q2c.domain.revenue import InvalidFact, Period, RecognitionMethod, billed_from_invoice, recognise_periods


def _line(description: str, hours: str, amount: str, entry: str) -> InvoiceLine:
    return InvoiceLine(description=description, quantity=Decimal(hours), unit_price=usd(150), amount=usd(amount),
                       phase_id="TM", time_entry_ids=(entry,))


def _capped_invoice() -> Invoice:
    """11 hours at 150 = 1,650 of time against a not-to-exceed cap leaving 1,100 of room: the billing run adds a
    cap line of -550 on the entry that crossed the cap (as `billing.time_and_materials` does)."""
    lines = (_line("TE-1 design", "6.6666", "1000.00", "TE-1"), _line("TE-2 build", "4.3334", "650.00", "TE-2"),
             InvoiceLine(description="not-to-exceed cap", quantity=Decimal(1), unit_price=usd(-550),
                         amount=usd(-550), phase_id="TM", time_entry_ids=("TE-2",)))
    return Invoice(id="INV-TM-20260131", contract_id="C-1", customer_id="CUST-1", invoice_date=date(2026, 1, 31),
                   currency="USD", lines=lines, total=usd(1100), status=InvoiceStatus.POSTED)


def _posted(note: Invoice) -> Invoice:
    return note.model_copy(update={"status": InvoiceStatus.POSTED})


def test_a_cap_line_reduces_what_was_billed_and_a_full_credit_note_takes_back_the_net() -> None:
    invoice = _capped_invoice()
    (billed,) = billed_from_invoice(invoice)
    assert billed.amount == usd(1100) and billed.id == "INV-TM-20260131:TM"  # 1,650 - 550, not 1,650 + 550
    full = _posted(credit_note(credit_note_id="CN-1", invoice=invoice, credit_date=date(2026, 2, 10)))
    (credited,) = billed_from_invoice(full)
    assert credited.amount == usd(-1100)
    rc = contract([obligation("TM", RecognitionMethod.RIGHT_TO_INVOICE, None)], 0)
    jan, feb = recognise_periods(rc, [billed, credited], first=Period(2026, 1), last=Period(2026, 2))
    assert (jan.revenue, feb.revenue, feb.cumulative) == (usd(1100), usd(-1100), usd(0))
    assert "after credit notes of USD 1,100.00" in feb.obligation("TM").progress_text


def test_crediting_the_entry_behind_the_cap_line_adds_the_cap_back() -> None:
    """Crediting TE-2 takes back its 650 of time and its -550 cap line, which on the credit note is +550: the credit
    is 650 - 550 = 100 (the time TE-2 really billed), and right-to-invoice revenue falls by 100, not by 1,200."""
    invoice = _capped_invoice()
    note = _posted(credit_note(credit_note_id="CN-2", invoice=invoice, credit_date=date(2026, 2, 10),
                               entry_ids=["TE-2"]))
    assert sorted(line.amount.amount for line in note.lines) == [Decimal("-650.00"), Decimal("550.00")]
    (credited,) = billed_from_invoice(note)
    assert credited.amount == usd(-100)


def test_a_draft_bills_nothing_and_lines_that_do_not_add_up_are_refused() -> None:
    invoice = _capped_invoice()
    assert billed_from_invoice(invoice.model_copy(update={"status": InvoiceStatus.DRAFT})) == []
    wrong = invoice.model_copy(update={"total": usd(2200)})
    with pytest.raises(InvalidFact, match=r"invoice INV-TM-20260131 field total: USD 2,200.00, but its lines add up "
                                          r"to USD 1,100.00"):
        billed_from_invoice(wrong)
    no_phase = invoice.model_copy(update={"lines": (invoice.lines[0].model_copy(update={"phase_id": None}),
                                                    *invoice.lines[1:])})
    with pytest.raises(InvalidFact, match="invoice INV-TM-20260131 line 0 field phase_id"):
        billed_from_invoice(no_phase)
    assert billed_from_invoice(no_phase, default_obligation="TM")[0].amount == usd(1100)
