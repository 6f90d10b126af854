"""Credit notes un-bill exactly the time they cover; the ledger reads billed-to-date back from documents."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from billing_engagement import (
    CONTRACT,
    MILESTONES,
    MS_PHASE,
    RATE_CARD,
    TM_PHASE,
    caps_for,
    entry,
    policies,
    rated_times,
    usd,
)
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from q2c.domain.billing import (
    Adjustment,
    AdjustmentKind,
    CreditNoteRefused,
    CurrencyMismatch,
    RatedTime,
    RoundingPolicy,
    RoundingScope,
    TimeAndMaterialsRun,
    billed_entry_ids,
    billed_to_date,
    credit_note,
    credited_entry_ids,
    milestone_invoice,
    rate_time_entry,
    time_and_materials_invoice,
)
from q2c.domain.model import Invoice, InvoiceLine, InvoiceStatus
from q2c.domain.money import Money

DAY = date(2026, 3, 31)


def rated(entry_id: str, hours: str, day: int) -> RatedTime:
    return rate_time_entry(entry(entry_id, hours, date(2026, 3, day)), role="Consultant", rate_card=RATE_CARD)


def bill(time: list[RatedTime], *, cap: Decimal | None = None, billed: Money = usd("0"), invoice_id: str = "INV-1",
         policy: RoundingPolicy = RoundingPolicy(), already: frozenset[str] = frozenset(),
         adjustments: tuple[Adjustment, ...] = ()) -> TimeAndMaterialsRun:
    phase = TM_PHASE.model_copy(update={"cap": None if cap is None else usd(str(cap))})
    contract = CONTRACT.model_copy(update={"phases": (phase,)})
    return time_and_materials_invoice(invoice_id=invoice_id, contract=contract, phase=phase, rated=time,
                                      billed_to_date=billed, invoice_date=DAY, policy=policy,
                                      billed_entry_ids=already, adjustments=adjustments)


def posted(result: TimeAndMaterialsRun) -> Invoice:
    assert result.invoice is not None
    return result.invoice.model_copy(update={"status": InvoiceStatus.POSTED})


def test_full_credit_mirrors_every_line_with_negative_amounts() -> None:
    invoice = posted(bill([rated("E-1", "2", 2), rated("E-2", "1", 3)]))
    note = credit_note(credit_note_id="CN-1", invoice=invoice, credit_date=date(2026, 4, 5))
    assert note.kind == "credit_note" and note.total == usd("-450.00") and note.invoice_date == date(2026, 4, 5)
    for original, mirror in zip(invoice.lines, note.lines, strict=True):
        assert mirror.amount == -original.amount and mirror.quantity == -original.quantity
        assert mirror.unit_price == original.unit_price and mirror.time_entry_ids == original.time_entry_ids
        assert mirror.description == f"Credit of invoice INV-1: {original.description}"
    assert credited_entry_ids(note) == ("E-1", "E-2")


def test_partial_credit_takes_back_an_entry_with_its_adjustments_and_cap_line() -> None:
    down = Adjustment(kind=AdjustmentKind.WRITE_DOWN, amount=usd("30.00"), reason="rework", entry_id="E-1")
    invoice = posted(bill([rated("E-1", "2", 2), rated("E-2", "4", 3)], cap=Decimal("500.00"), adjustments=(down,)))
    assert invoice.total == usd("500.00")  # 300 - 30 + 230 of E-2's 600
    note = credit_note(credit_note_id="CN-1", invoice=invoice, credit_date=DAY, entry_ids=["E-2"])
    assert note.total == usd("-230.00") and len(note.lines) == 2  # the time line and its cap line
    note_1 = credit_note(credit_note_id="CN-2", invoice=invoice, credit_date=DAY, entry_ids=["E-1"])
    assert note_1.total == usd("-270.00") and credited_entry_ids(note_1) == ("E-1",)


def test_credit_then_rebill_restores_the_same_total() -> None:
    time = [rated("E-1", "2", 2), rated("E-2", "4", 3), rated("E-3", "1", 4)]
    first = bill(time, cap=Decimal("800.00"))
    invoice = posted(first)
    note = credit_note(credit_note_id="CN-1", invoice=invoice, credit_date=DAY, entry_ids=["E-2"])
    documents = [invoice, note]
    assert billed_entry_ids(documents) == {"E-1"}
    again = bill(time, cap=Decimal("800.00"), billed=billed_to_date(documents, phase_id="PH-TM", currency="USD"),
                 already=billed_entry_ids(documents), invoice_id="INV-2")
    assert again.invoice is not None and again.invoice.total == -note.total
    assert again.billed_entry_ids == ("E-2",)


def test_milestone_invoice_can_be_credited_whole_but_not_by_entry() -> None:
    invoice = milestone_invoice(invoice_id="INV-M", contract=CONTRACT, phase=MS_PHASE, milestone=MILESTONES[0],
                                invoice_date=DAY).model_copy(update={"status": InvoiceStatus.POSTED})
    note = credit_note(credit_note_id="CN-M", invoice=invoice, credit_date=DAY)
    assert note.total == usd("-5000.00") and note.lines[0].milestone_id == "MS-1"
    with pytest.raises(CreditNoteRefused, match="time entries E-1 are not billed on invoice INV-M"):
        credit_note(credit_note_id="CN-M", invoice=invoice, credit_date=DAY, entry_ids=["E-1"])


def test_credit_note_refusals() -> None:
    draft = bill([rated("E-1", "2", 2)]).invoice
    assert draft is not None
    with pytest.raises(CreditNoteRefused, match="invoice INV-1 field status is 'draft'"):
        credit_note(credit_note_id="CN", invoice=draft, credit_date=DAY)
    invoice = draft.model_copy(update={"status": InvoiceStatus.POSTED})
    with pytest.raises(CreditNoteRefused, match="field status is 'credited'"):
        credit_note(credit_note_id="CN", invoice=invoice.model_copy(update={"status": InvoiceStatus.CREDITED}),
                    credit_date=DAY)
    with pytest.raises(CreditNoteRefused, match="credit date 2026-03-30 is before invoice INV-1's date"):
        credit_note(credit_note_id="CN", invoice=invoice, credit_date=date(2026, 3, 30))
    with pytest.raises(CreditNoteRefused, match="is the id of the invoice it credits"):
        credit_note(credit_note_id="INV-1", invoice=invoice, credit_date=DAY)
    with pytest.raises(CreditNoteRefused, match="no time entries given"):
        credit_note(credit_note_id="CN", invoice=invoice, credit_date=DAY, entry_ids=[])
    note = credit_note(credit_note_id="CN", invoice=invoice, credit_date=DAY)
    with pytest.raises(CreditNoteRefused, match="CN is a credit note: credit notes are not credited"):
        credit_note(credit_note_id="CN-2", invoice=note.model_copy(update={"status": InvoiceStatus.POSTED}),
                    credit_date=DAY)
    with pytest.raises(CreditNoteRefused, match="INV-1 is an invoice, not a credit note"):
        credited_entry_ids(invoice)
    grouped_line = InvoiceLine(description="2 entries", quantity=Decimal(3), unit_price=usd("150.00"),
                               amount=usd("450.00"), phase_id="PH-TM", time_entry_ids=("E-1", "E-2"))
    grouped = invoice.model_copy(update={"lines": (grouped_line,), "total": usd("450.00")})
    with pytest.raises(CreditNoteRefused, match="line 1 of invoice INV-1 also bills time entries E-2"):
        credit_note(credit_note_id="CN", invoice=grouped, credit_date=DAY, entry_ids=["E-1"])


def test_ledger_counts_invoices_minus_credit_notes() -> None:
    invoice = posted(bill([rated("E-1", "2", 2), rated("E-2", "1", 3)]))
    note = credit_note(credit_note_id="CN-1", invoice=invoice, credit_date=DAY, entry_ids=["E-1"])
    assert billed_to_date([invoice, note], phase_id="PH-TM", currency="USD") == usd("150.00")
    assert billed_to_date([invoice, note], phase_id="PH-MS", currency="USD") == usd("0")
    assert billed_entry_ids([invoice, note]) == {"E-2"}
    with pytest.raises(CurrencyMismatch, match="invoice INV-1 is in USD, the phase bills in EUR"):
        billed_to_date([invoice], phase_id="PH-TM", currency="EUR")


# --- property: credit + re-invoice restores the total ---------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(data=st.data(), policy=policies)
def test_full_credit_and_rebill_gives_back_the_same_invoice(data: st.DataObject, policy: RoundingPolicy) -> None:
    time = data.draw(rated_times(min_size=1, policy=policy))
    cap = data.draw(caps_for(time))
    first = bill(time, cap=cap, policy=policy)
    assume(first.invoice is not None)
    invoice = posted(first)
    note = credit_note(credit_note_id="CN-1", invoice=invoice, credit_date=DAY)
    documents = [invoice, note]
    assert billed_entry_ids(documents) == frozenset()
    again = bill(time, cap=cap, policy=policy, billed=billed_to_date(documents, phase_id="PH-TM", currency="USD"))
    assert again.invoice is not None
    assert again.invoice.total == invoice.total == -note.total
    assert again.invoice.lines == invoice.lines and again.billed_entry_ids == first.billed_entry_ids


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_partial_credit_and_rebill_restores_the_total_per_line(data: st.DataObject) -> None:
    policy = RoundingPolicy(scope=RoundingScope.PER_LINE)
    time = data.draw(rated_times(min_size=1, policy=policy))
    cap = data.draw(caps_for(time))
    first = bill(time, cap=cap, policy=policy)
    assume(first.invoice is not None and first.billed_entry_ids)
    invoice = posted(first)
    chosen = data.draw(st.lists(st.sampled_from(first.billed_entry_ids), min_size=1, unique=True))
    note = credit_note(credit_note_id="CN-1", invoice=invoice, credit_date=DAY, entry_ids=chosen)
    assert set(credited_entry_ids(note)) == set(chosen)
    documents = [invoice, note]
    again = bill(time, cap=cap, policy=policy, invoice_id="INV-2", already=billed_entry_ids(documents),
                 billed=billed_to_date(documents, phase_id="PH-TM", currency="USD"))
    rebilled = again.invoice.total if again.invoice is not None else usd("0")
    assert rebilled == -note.total
    assert invoice.total + note.total + rebilled == invoice.total
    assert set(chosen) <= set(again.billed_entry_ids)
