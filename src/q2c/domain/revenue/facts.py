"""Progress facts: what happened on a contract, as reported by billing, delivery and project control.

Each fact has a stable id (the invoice line, the time-tracker export, the milestone acceptance).
The engine treats the facts as a set keyed by id: the same fact delivered twice changes nothing,
and the same id with different content is refused, because it means two systems disagree.
Quantities "to date" are cumulative, so a replay or a reordering can never double-count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from q2c.domain.model import Invoice, InvoiceStatus, MilestoneStatus
from q2c.domain.money import Money
from q2c.domain.revenue.errors import InvalidFact


@dataclass(frozen=True)
class Fact:
    id: str
    obligation_id: str  # the obligation (or contract phase) it concerns; "" for contract-level cash
    on: date  # the date it happened (not the date it was reported)


@dataclass(frozen=True)
class Billed(Fact):
    """An amount invoiced (negative for a credit note). For a right-to-invoice obligation it is also its revenue."""

    amount: Money
    invoice_id: str = ""


@dataclass(frozen=True)
class Collected(Fact):
    """Cash received from the customer: it settles the receivable, and beyond what was billed it is an advance."""

    amount: Money


@dataclass(frozen=True)
class MilestoneReached(Fact):
    milestone_id: str
    status: MilestoneStatus = MilestoneStatus.COMPLETED


@dataclass(frozen=True)
class HoursToDate(Fact):
    """Hours incurred on the obligation from its start up to and including `on`."""

    hours: Decimal


@dataclass(frozen=True)
class CostToDate(Fact):
    """Cost incurred to date; `excluded` is the part that does not depict progress (uninstalled materials).

    `excluded` needs the obligation's estimate of such cost (`excluded_cost_estimate`, or `excluded_total`
    on an estimate): without it the engine cannot apply ASC 606-10-55-21(b) and refuses the fact.
    """

    cost: Decimal
    excluded: Decimal = Decimal(0)


@dataclass(frozen=True)
class UnitsDelivered(Fact):
    """Units delivered to date."""

    units: Decimal


@dataclass(frozen=True)
class ControlTransferred(Fact):
    """The customer obtained control (point-in-time obligations; 25-30 / IFRS 15.38)."""


@dataclass(frozen=True)
class EstimateChanged(Fact):
    """A new estimate of total hours, cost or units; applied by cumulative catch-up (ASC 606-10-25-35)."""

    total: Decimal
    reason: str
    excluded_total: Decimal | None = None  # cost-to-cost: revised uninstalled-materials cost


@dataclass(frozen=True)
class Completed(Fact):
    """The obligation is fully satisfied, whatever the inputs say (e.g. the last hour was under the estimate)."""


ProgressFact = Billed | Collected | MilestoneReached | HoursToDate | CostToDate | UnitsDelivered | \
    ControlTransferred | EstimateChanged | Completed


def distinct_facts(facts: Iterable[ProgressFact]) -> list[ProgressFact]:
    """The facts once each, in (date, id) order; a reused id with other content is refused."""
    seen: dict[str, ProgressFact] = {}
    for fact in facts:
        if not fact.id:
            raise InvalidFact(f"{type(fact).__name__} on {fact.on} for {fact.obligation_id} field id: empty")
        known = seen.get(fact.id)
        if known is None:
            seen[fact.id] = fact
        elif known != fact:
            raise InvalidFact(f"fact {fact.id} field id: delivered twice with different content "
                              f"({known!r} then {fact!r}); the sending systems disagree")
    return sorted(seen.values(), key=lambda f: (f.on, f.id))


def billed_from_invoice(invoice: Invoice, *, default_obligation: str | None = None) -> list[Billed]:
    """Billed facts from a posted invoice or credit note, one per phase, keyed by invoice and phase.

    Each line counts with its own sign: a not-to-exceed cap line (negative on an invoice) reduces what
    was billed, and a credit note, whose lines mirror the credited invoice's with negated amounts, counts
    as it stands (so crediting a cap line adds it back). Lines without a phase go to
    `default_obligation`, or are refused naming the invoice line; lines that do not add up to the
    invoice total are refused naming the total.
    """
    if invoice.status is InvoiceStatus.DRAFT:
        return []
    by_phase: dict[str, Decimal] = {}
    total = Decimal(0)
    for i, line in enumerate(invoice.lines):
        phase = line.phase_id or default_obligation
        if phase is None:
            raise InvalidFact(f"invoice {invoice.id} line {i} field phase_id: needed to know which performance "
                              f"obligation was billed")
        if line.amount.currency != invoice.currency:
            raise InvalidFact(f"invoice {invoice.id} line {i} field amount: {line.amount.currency}, but the invoice "
                              f"is in {invoice.currency}")
        by_phase[phase] = by_phase.get(phase, Decimal(0)) + line.amount.amount
        total += line.amount.amount
    if invoice.total.currency != invoice.currency or invoice.total.amount != total:
        raise InvalidFact(f"invoice {invoice.id} field total: {invoice.total}, but its lines add up to "
                          f"{Money(amount=total, currency=invoice.currency)}")
    return [Billed(id=f"{invoice.id}:{phase}", obligation_id=phase, on=invoice.invoice_date,
                   amount=Money(amount=amount, currency=invoice.currency), invoice_id=invoice.id)
            for phase, amount in sorted(by_phase.items())]
