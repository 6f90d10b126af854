"""Billing events for the revenue engine: what an invoice or credit note billed, per phase.

One event per phase on the document, amount = the net of its lines on that phase (negative for a
credit note). The kind follows the phase's billing type, except that milestone lines (and their
adjustments) are ``milestone`` events whatever the phase type; a phase with both kinds of line on
one document gets one event per kind. Event ids are ``<document id>:<phase id>`` (with
``:<kind>`` appended only in that case), so a re-run produces the same events.
"""

from __future__ import annotations

from decimal import Decimal

from q2c.domain.billing.errors import BillingError, CurrencyMismatch
from q2c.domain.model import BillingEvent, BillingEventKind, BillingType, Contract, Invoice
from q2c.domain.money import Money

_KIND = {
    BillingType.TIME_AND_MATERIALS: BillingEventKind.TIME,
    BillingType.FIXED_FEE: BillingEventKind.FIXED_FEE,
    BillingType.MILESTONE: BillingEventKind.MILESTONE,
    BillingType.RETAINER: BillingEventKind.RETAINER,
}


def billing_events(document: Invoice, contract: Contract) -> tuple[BillingEvent, ...]:
    """The billing events of an invoice or credit note, in the order phases first appear on it."""
    doc = f"{document.kind.replace('_', ' ')} {document.id}"
    if document.contract_id != contract.id:
        raise BillingError(f"{doc} is for contract {document.contract_id}, not {contract.id}")
    if document.currency != contract.currency:
        raise CurrencyMismatch(
            f"{doc} is in {document.currency}, contract {contract.id} in {contract.currency}")
    phases = {p.id: p for p in contract.phases}
    sums: dict[tuple[str, BillingEventKind], Decimal] = {}
    for number, line in enumerate(document.lines, start=1):
        if line.phase_id is None or line.phase_id not in phases:
            raise BillingError(
                f"line {number} of {doc} field phase_id is '{line.phase_id}', "
                f"not a phase of contract {contract.id}")
        kind = BillingEventKind.MILESTONE if line.milestone_id else _KIND[phases[line.phase_id].billing_type]
        key = (line.phase_id, kind)
        sums[key] = sums.get(key, Decimal(0)) + line.amount.amount
    multi = {phase for phase, _ in sums if sum(1 for p, _ in sums if p == phase) > 1}
    return tuple(
        BillingEvent(
            id=f"{document.id}:{phase_id}" + (f":{kind}" if phase_id in multi else ""),
            contract_id=contract.id, phase_id=phase_id, kind=kind,
            amount=Money(amount=amount, currency=document.currency), event_date=document.invoice_date,
            invoice_id=document.id)
        for (phase_id, kind), amount in sums.items())
