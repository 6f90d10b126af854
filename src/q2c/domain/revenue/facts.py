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
    """Cash received from the customer against the contract's receivable."""

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
    """Cost incurred to date; `excluded` is the part that does not depict progress (uninstalled materials)."""

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

    Lines without a phase go to `default_obligation`, or are refused naming the invoice line.
    """
    if invoice.status is InvoiceStatus.DRAFT:
        return []
    sign = Decimal(-1) if invoice.kind == "credit_note" else Decimal(1)
    by_phase: dict[str, Decimal] = {}
    for i, line in enumerate(invoice.lines):
        phase = line.phase_id or default_obligation
        if phase is None:
            raise InvalidFact(f"invoice {invoice.id} line {i} field phase_id: needed to know which performance "
                              f"obligation was billed")
        amount = abs(line.amount.amount) * sign
        by_phase[phase] = by_phase.get(phase, Decimal(0)) + amount
    return [Billed(id=f"{invoice.id}:{phase}", obligation_id=phase, on=invoice.invoice_date,
                   amount=Money(amount=amount, currency=invoice.currency), invoice_id=invoice.id)
            for phase, amount in sorted(by_phase.items())]

