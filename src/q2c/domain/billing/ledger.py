"""What has been billed so far, read back from the invoices and credit notes themselves.

Derived rather than stored so that a cap check or a WIP report can never disagree with the
documents the customer received: a phase's billed-to-date is the sum of its lines on invoices and
credit notes; a time entry is billed while it sits on more invoices than credit notes.
Draft documents count: a draft invoice already holds its entries and its share of the cap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from decimal import Decimal

from q2c.domain.billing.errors import CurrencyMismatch
from q2c.domain.model import Invoice
from q2c.domain.money import Money


def billed_to_date(documents: Iterable[Invoice], *, phase_id: str, currency: str) -> Money:
    """Net amount billed on a phase: invoice lines minus credit note lines (credit lines are negative)."""
    total = Decimal(0)
    for doc in documents:
        if doc.currency != currency:
            raise CurrencyMismatch(
                f"{doc.kind.replace('_', ' ')} {doc.id} is in {doc.currency}, the phase bills in {currency}")
        total += sum((line.amount.amount for line in doc.lines if line.phase_id == phase_id), Decimal(0))
    return Money(amount=total, currency=currency)


def billed_entry_ids(documents: Iterable[Invoice]) -> frozenset[str]:
    """Time entries billed now: on more invoices than credit notes."""
    net: Counter[str] = Counter()
    for doc in documents:
        step = 1 if doc.kind == "invoice" else -1
        for entry_id in {e for line in doc.lines for e in line.time_entry_ids}:
            net[entry_id] += step
    return frozenset(e for e, n in net.items() if n > 0)


def unique_invoice_id(base: str, taken: Collection[str]) -> str:
    """`base`, or `base-2`, `-3`, ... when taken: an invoice id, once given, is never given again (a re-run
    after a crash re-uses the id it recorded, so the ERP upsert repeats instead of raising a second invoice)."""
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"
