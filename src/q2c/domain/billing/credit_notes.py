"""Credit notes: take back an invoice, or the time of some of its entries, to the cent.

* A credit note mirrors the invoice lines it takes back: same description (prefixed with the
  invoice it credits), same unit price, negated quantity and negated amount, same phase,
  milestone and time entries. No re-rating, no re-rounding: the credit is exactly what was billed.
* Without ``entry_ids`` the whole invoice is credited (total = minus the invoice total).
* With ``entry_ids`` only the lines of those entries are credited, including their write-ups,
  write-downs and not-to-exceed cap lines, so the credit equals what those entries billed net.
  A line that covers several entries is credited whole or not at all: asking for part of it is
  refused.
* The credited entries become unbilled again (`credited_entry_ids`); a re-run of the same time
  with the same rates and cap room reproduces the credited amount.
* Only a posted (or paid) invoice is credited (a draft is simply discarded, a voided one is already
  taken back), never a credit note, and not before the invoice date.
* A credit note's id names the invoice it credits (`CN-<n>-<invoice id>`), so what an invoice still
  bills can always be read back from the documents themselves (`entries_billed_on`).
* A void in the ERP is booked as a reversal of the whole invoice (`void_reversal`, id
  `VOID-<invoice id>`): a dated fact like any credit, so a closed period stays closed and the
  revenue engine sees the void as an event of the period it lands in, never as an edit of history.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from datetime import date
from decimal import Decimal

from q2c.domain.billing.errors import CreditNoteRefused
from q2c.domain.model import Invoice, InvoiceLine, InvoiceStatus
from q2c.domain.money import Money

CREDITABLE = (InvoiceStatus.POSTED, InvoiceStatus.PAID)
_CREDIT_ID = re.compile(r"CN-(\d+)-(.+)")
VOID_PREFIX = "VOID-"


def _mirror(line: InvoiceLine, invoice_id: str, *, word: str = "Credit") -> InvoiceLine:
    return line.model_copy(update={
        "description": f"{word} of invoice {invoice_id}: {line.description}",
        "quantity": -line.quantity,
        "amount": -line.amount,
    })


def credit_note_id(invoice_id: str, taken: Collection[str]) -> str:
    """`CN-<n>-<invoice id>` with the first n not taken: the id says which invoice the note credits."""
    n = 1
    while f"CN-{n}-{invoice_id}" in taken:
        n += 1
    return f"CN-{n}-{invoice_id}"


def credited_invoice_id(document_id: str) -> str | None:
    """The invoice a credit note (`CN-<n>-<id>`) or a void reversal (`VOID-<id>`) takes back; None otherwise."""
    if document_id.startswith(VOID_PREFIX):
        return document_id.removeprefix(VOID_PREFIX) or None
    match = _CREDIT_ID.fullmatch(document_id)
    return match.group(2) if match else None


def entries_billed_on(invoice: Invoice, documents: Iterable[Invoice]) -> frozenset[str]:
    """Time entries on the invoice's lines that no credit note or void reversal of it has taken back."""
    on_invoice = {e for line in invoice.lines for e in line.time_entry_ids}
    taken_back = {e for doc in documents if doc.kind == "credit_note" and credited_invoice_id(doc.id) == invoice.id
                  for line in doc.lines for e in line.time_entry_ids}
    return frozenset(on_invoice - taken_back)


def void_reversal(invoice: Invoice, *, reversal_date: date) -> Invoice:
    """The ERP's void of an invoice, as q2c books it: every line taken back, dated `reversal_date`.

    Posted from the start: the ERP has already taken the invoice back (nothing is sent for it).
    """
    if invoice.kind != "invoice":
        raise CreditNoteRefused(f"{invoice.id} is a credit note: a void of it is not reversed here")
    if invoice.status is InvoiceStatus.DRAFT:
        raise CreditNoteRefused(f"invoice {invoice.id} field status is 'draft': a draft was never posted, so a void "
                                "of it has nothing to reverse")
    if reversal_date < invoice.invoice_date:
        raise CreditNoteRefused(f"void date {reversal_date.isoformat()} is before invoice {invoice.id}'s date "
                                f"{invoice.invoice_date.isoformat()}")
    return Invoice(id=f"{VOID_PREFIX}{invoice.id}", contract_id=invoice.contract_id, customer_id=invoice.customer_id,
                   invoice_date=reversal_date, currency=invoice.currency,
                   lines=tuple(_mirror(line, invoice.id, word="Void") for line in invoice.lines),
                   total=-invoice.total, status=InvoiceStatus.POSTED, kind="credit_note")


def credit_note(*, credit_note_id: str, invoice: Invoice, credit_date: date,
                entry_ids: Sequence[str] | None = None) -> Invoice:
    """A credit note for the whole invoice, or for the lines of the given time entries."""
    if invoice.kind != "invoice":
        raise CreditNoteRefused(f"{invoice.id} is a credit note: credit notes are not credited")
    if invoice.status not in CREDITABLE:
        raise CreditNoteRefused(
            f"invoice {invoice.id} field status is '{invoice.status}': only a posted or paid invoice is credited "
            "(discard a draft; a credited or voided invoice is already taken back)")
    if credit_note_id == invoice.id:
        raise CreditNoteRefused(f"credit note id {credit_note_id} is the id of the invoice it credits")
    if credit_date < invoice.invoice_date:
        raise CreditNoteRefused(
            f"credit date {credit_date.isoformat()} is before invoice {invoice.id}'s date "
            f"{invoice.invoice_date.isoformat()}")

    if entry_ids is None:
        lines = tuple(_mirror(line, invoice.id) for line in invoice.lines)
        total = -invoice.total
    else:
        wanted = set(entry_ids)
        if not wanted:
            raise CreditNoteRefused(f"credit of invoice {invoice.id}: no time entries given")
        on_invoice = {e for line in invoice.lines for e in line.time_entry_ids}
        missing = sorted(wanted - on_invoice)
        if missing:
            raise CreditNoteRefused(f"time entries {', '.join(missing)} are not billed on invoice {invoice.id}")
        chosen: list[InvoiceLine] = []
        for number, line in enumerate(invoice.lines, start=1):
            covered = wanted.intersection(line.time_entry_ids)
            if not covered:
                continue
            if len(covered) != len(line.time_entry_ids):
                rest = ", ".join(e for e in line.time_entry_ids if e not in wanted)
                raise CreditNoteRefused(
                    f"line {number} of invoice {invoice.id} also bills time entries {rest}: credit them too "
                    "or credit the whole invoice")
            chosen.append(_mirror(line, invoice.id))
        lines = tuple(chosen)
        total = Money(amount=sum((line.amount.amount for line in lines), Decimal(0)), currency=invoice.currency)
    return Invoice(id=credit_note_id, contract_id=invoice.contract_id, customer_id=invoice.customer_id,
                   invoice_date=credit_date, currency=invoice.currency, lines=lines, total=total,
                   status=InvoiceStatus.DRAFT, kind="credit_note")


def credited_entry_ids(credit: Invoice) -> tuple[str, ...]:
    """The time entries a credit note makes unbilled again, in line order."""
    if credit.kind != "credit_note":
        raise CreditNoteRefused(f"{credit.id} is an invoice, not a credit note")
    return tuple(dict.fromkeys(e for line in credit.lines for e in line.time_entry_ids))
