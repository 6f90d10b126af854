"""Write-ups and write-downs: a change to what an entry or an invoice line bills, with a reason.

An adjustment never edits the original: it is its own invoice line ("Write-down of time entry
E-7: duplicate of E-6", quantity 1, unit price -USD 150.00) placed after the line it adjusts and
carrying the same phase, milestone and time entries, so the original amount, the change and the
reason all stay on the invoice, and a credit note for those entries takes the adjustment back too.

* An adjustment targets exactly one time entry (applied inside a time-and-materials run, where
  the not-to-exceed cap sees it) or one line of a draft invoice (`adjust_invoice`, 1-based line
  number; no cap check there: use entry adjustments for capped time).
* The amount is positive and in the currency's minor units; the kind gives the sign.
* A reason is required. A write-down may not take its target below zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from q2c.domain.billing.errors import InvalidAdjustment
from q2c.domain.billing.rounding import require_currency, require_minor_units
from q2c.domain.model import Invoice, InvoiceLine, InvoiceStatus
from q2c.domain.money import Money


class AdjustmentKind(StrEnum):
    WRITE_UP = "write_up"
    WRITE_DOWN = "write_down"


@dataclass(frozen=True)
class Adjustment:
    """A reasoned change to the billed amount of one time entry or one invoice line."""

    kind: AdjustmentKind
    amount: Money
    reason: str
    entry_id: str | None = None
    line_number: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", AdjustmentKind(self.kind))
        target = self.target
        if (self.entry_id is None) == (self.line_number is None):
            raise InvalidAdjustment(f"{self.word} must target exactly one time entry or one invoice line")
        if not self.reason.strip():
            raise InvalidAdjustment(f"{self.word} of {target} field reason is empty: say why the amount changes")
        if self.amount.amount <= 0:
            raise InvalidAdjustment(
                f"{self.word} of {target} field amount is {self.amount}: "
                "give a positive amount, the kind sets the sign")
        require_minor_units(self.amount, what=f"{self.word} of {target} field amount")
        if self.line_number is not None and self.line_number < 1:
            raise InvalidAdjustment(f"{self.word} field line_number is {self.line_number}: lines count from 1")

    @property
    def word(self) -> str:
        return "write-up" if self.kind is AdjustmentKind.WRITE_UP else "write-down"

    @property
    def target(self) -> str:
        return f"time entry {self.entry_id}" if self.entry_id is not None else f"line {self.line_number}"

    @property
    def signed(self) -> Decimal:
        return self.amount.amount if self.kind is AdjustmentKind.WRITE_UP else -self.amount.amount

    def line(self, original: InvoiceLine | None = None, *, phase_id: str | None = None,
             time_entry_ids: tuple[str, ...] = ()) -> InvoiceLine:
        """The invoice line that records this adjustment beside what it adjusts."""
        verb = self.word.capitalize()
        price = Money(amount=self.signed, currency=self.amount.currency)
        return InvoiceLine(
            description=f"{verb} of {self.target}: {self.reason.strip()}", quantity=Decimal(1), unit_price=price,
            amount=price,
            phase_id=original.phase_id if original is not None else phase_id,
            milestone_id=original.milestone_id if original is not None else None,
            time_entry_ids=original.time_entry_ids if original is not None else time_entry_ids)


def adjust_invoice(invoice: Invoice, adjustments: Sequence[Adjustment]) -> Invoice:
    """A draft invoice with each line adjustment placed after its line; the total moves by the sum."""
    if invoice.kind != "invoice" or invoice.status is not InvoiceStatus.DRAFT:
        raise InvalidAdjustment(
            f"{invoice.kind.replace('_', ' ')} {invoice.id} is {invoice.status}: only draft invoices are adjusted; "
            "credit a posted invoice instead")
    after: dict[int, list[Adjustment]] = {}
    for adj in adjustments:
        if adj.line_number is None:
            raise InvalidAdjustment(
                f"{adj.word} of {adj.target} targets a time entry: apply it in the time-and-materials run")
        if adj.line_number > len(invoice.lines):
            raise InvalidAdjustment(
                f"{adj.word} targets line {adj.line_number} of invoice {invoice.id}, "
                f"which has {len(invoice.lines)} lines")
        require_currency(adj.amount, invoice.currency, what=f"{adj.word} of {adj.target} field amount")
        after.setdefault(adj.line_number, []).append(adj)
    lines: list[InvoiceLine] = []
    for number, original in enumerate(invoice.lines, start=1):
        lines.append(original)
        net = original.amount.amount
        for adj in after.get(number, []):
            net += adj.signed
            lines.append(adj.line(original))
        if number in after and net < 0:
            raise InvalidAdjustment(
                f"write-downs take line {number} of invoice {invoice.id} ({original.amount}) below zero")
    total = sum((line.amount.amount for line in lines), Decimal(0))
    return invoice.model_copy(update={
        "lines": tuple(lines), "total": Money(amount=total, currency=invoice.currency)})
