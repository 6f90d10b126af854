"""Time-and-materials invoicing from approved, billable, unbilled time, within a not-to-exceed cap.

Lines: one invoice line per time entry ("2026-03-02 BUILD Consultant (R-1): 3.5 h at USD 150.00").
Chosen over one line per (task, rate) because every line then traces to exactly one entry: a
credit note can un-bill any set of entries to the cent, a write-down sits beside its entry, and
the cap can stop part-way through one entry. A customer-facing summary can group lines; the
ERP keeps the entries.

The run, in order:

1. Entries not billable (ERP classification), already billed, or worked after the invoice date
   are skipped, each with its reason. The rest are taken first-worked-first-billed (work date,
   then entry id), so re-running with the same inputs gives the same invoice.
2. Each entry is worth hours x rate (rounded under the policy), plus its write-ups, minus its
   write-downs (each its own line, with its reason).
3. Not-to-exceed cap: what may still be billed is ``cap - billed_to_date`` (never below zero).
   Entries are billed while they fit. The entry that crosses the cap is billed in full followed
   by a "not-to-exceed cap" line taking off the part above the cap, so the invoice stops exactly
   at the cap. Entries after it are not billed. The part above the cap and the entries involved
   are reported as unbillable (``unbillable_over_cap``, ``over_cap_entry_ids``); entries wholly
   over the cap stay unbilled and are billed by a later run if the cap is raised. The crossing
   entry counts as billed: to bill its remainder after a cap increase, credit the invoice and
   re-run. A write-up or write-down on an entry wholly over the cap changes the reported overrun.

Invariant (checked by property tests): billed total - released + unbillable over cap = the value of
the billable time offered under the rounding policy, and billed_to_date + billed total never exceeds
the cap.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from q2c.domain.billing.adjustments import Adjustment
from q2c.domain.billing.errors import BillingError, InvalidAdjustment
from q2c.domain.billing.rating import RatedTime
from q2c.domain.billing.rounding import (
    RoundingPolicy,
    RoundingScope,
    require_currency,
    require_minor_units,
    round_amount,
    settle_lines,
    value_under,
)
from q2c.domain.billing.terms import check_phase, check_rated, work_order
from q2c.domain.model import BillingType, Contract, ContractPhase, Invoice, InvoiceLine
from q2c.domain.money import Money


class SkippedEntry(BaseModel):
    """Time given to the run that it did not bill, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_id: str
    reason: str


class HeldBack(BaseModel):
    """Value of a billed time entry that a not-to-exceed cap kept off its invoice, released when room allows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_id: str
    work_date: date
    amount: Money


class TimeAndMaterialsRun(BaseModel):
    """The outcome of one T&M run for one phase: the invoice (if any) and everything left over."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    invoice: Invoice | None
    billed_entry_ids: tuple[str, ...]
    unbillable_over_cap: Money
    over_cap_entry_ids: tuple[str, ...]
    skipped: tuple[SkippedEntry, ...]
    value_of_time: Money  # billable time offered to the run, under the policy: billed + over cap
    explanation: str
    released: tuple[HeldBack, ...] = ()  # amounts held back earlier that this run bills
    held_back: tuple[HeldBack, ...] = ()  # what stays held back after it (earlier ones not released, new ones)


def _time_line(item: RatedTime, phase: ContractPhase, exact: Decimal) -> InvoiceLine:
    return InvoiceLine(
        description=(f"{item.work_date.isoformat()} {item.task_code} {item.role} ({item.resource_id}): "
                     f"{item.hours:f} h at {item.rate}"),
        quantity=item.hours, unit_price=item.rate, amount=Money(amount=exact, currency=item.currency),
        phase_id=phase.id, time_entry_ids=(item.entry_id,))


def _cap_line(item: RatedTime, phase: ContractPhase, excess: Decimal) -> InvoiceLine:
    price = Money(amount=-excess, currency=item.currency)
    return InvoiceLine(
        description=(f"Not-to-exceed cap of phase '{phase.name}' reached: {excess:f} {item.currency} of "
                     f"time entry {item.entry_id} above the cap not billed"),
        quantity=Decimal(1), unit_price=price, amount=price, phase_id=phase.id, time_entry_ids=(item.entry_id,))


def _release_line(held: HeldBack, phase: ContractPhase, amount: Decimal) -> InvoiceLine:
    price = Money(amount=amount, currency=held.amount.currency)
    return InvoiceLine(
        description=(f"Released from the not-to-exceed cap of phase '{phase.name}': {amount:f} "
                     f"{held.amount.currency} of time entry {held.entry_id} ({held.work_date.isoformat()}), billed "
                     f"earlier and held back by the cap"),
        quantity=Decimal(1), unit_price=price, amount=price, phase_id=phase.id, time_entry_ids=(held.entry_id,))


def _adjustments_by_entry(adjustments: Sequence[Adjustment], currency: str,
                          offered: Collection[str]) -> dict[str, list[Adjustment]]:
    found: dict[str, list[Adjustment]] = {}
    for adj in adjustments:
        if adj.entry_id is None:
            raise InvalidAdjustment(
                f"{adj.word} of {adj.target} targets an invoice line: apply it to the draft invoice instead")
        if adj.entry_id not in offered:
            raise InvalidAdjustment(
                f"{adj.word} targets time entry {adj.entry_id}, which is not billable unbilled time in this run")
        require_currency(adj.amount, currency, what=f"{adj.word} of {adj.target} field amount")
        found.setdefault(adj.entry_id, []).append(adj)
    return found


def time_and_materials_invoice(
    *,
    invoice_id: str,
    contract: Contract,
    phase: ContractPhase,
    rated: Sequence[RatedTime],
    billed_to_date: Money,
    invoice_date: date,
    policy: RoundingPolicy = RoundingPolicy(),
    billed_entry_ids: Collection[str] = (),
    adjustments: Sequence[Adjustment] = (),
    held_back: Sequence[HeldBack] = (),
) -> TimeAndMaterialsRun:
    """Bill the phase's approved, billable, unbilled time up to its cap (see module docstring)."""
    check_phase(contract, phase, (BillingType.TIME_AND_MATERIALS,), run="time-and-materials run")
    check_rated(contract, rated)
    currency = contract.currency
    require_currency(billed_to_date, currency, what=f"billed to date on phase {phase.id}")
    require_minor_units(billed_to_date, what=f"billed to date on phase {phase.id}")
    if billed_to_date.amount < 0:
        raise BillingError(f"billed to date on phase {phase.id} is {billed_to_date}: it cannot be negative")

    already = set(billed_entry_ids)
    skipped: list[SkippedEntry] = []
    offered: list[RatedTime] = []
    for item in work_order(rated):
        if item.entry_id in already:
            skipped.append(SkippedEntry(entry_id=item.entry_id, reason="already billed"))
        elif not item.billable:
            skipped.append(SkippedEntry(entry_id=item.entry_id, reason="not billable (entry or task)"))
        elif item.work_date > invoice_date:
            skipped.append(SkippedEntry(
                entry_id=item.entry_id, reason=f"worked {item.work_date.isoformat()}, after the invoice date"))
        else:
            offered.append(item)
    by_entry = _adjustments_by_entry(adjustments, currency, {i.entry_id for i in offered})
    for held in held_back:
        require_currency(held.amount, currency, what=f"amount held back of time entry {held.entry_id}")
        require_minor_units(held.amount, what=f"amount held back of time entry {held.entry_id}")
        if held.amount.amount <= 0:
            raise BillingError(f"amount held back of time entry {held.entry_id} is {held.amount}: it must be positive")
        if held.entry_id in {i.entry_id for i in offered}:
            raise BillingError(f"time entry {held.entry_id} is offered as unbilled time and as held back by the cap")

    per_line = policy.scope is RoundingScope.PER_LINE
    room = None if phase.cap is None else max(phase.cap.amount - billed_to_date.amount, Decimal(0))
    lines: list[InvoiceLine] = []
    worth: list[Decimal] = []  # each offered entry's value, exact or rounded as the scope says
    billed: list[str] = []
    over: list[str] = []
    running = Decimal(0)
    released: list[HeldBack] = []
    still_held: list[HeldBack] = []
    cap_line_at: tuple[int, RatedTime] | None = None
    for held in sorted(held_back, key=lambda h: (h.work_date, h.entry_id)):
        amount = held.amount.amount if room is None else min(held.amount.amount, max(room - running, Decimal(0)))
        if amount > 0:
            lines.append(_release_line(held, phase, amount))
            released.append(held.model_copy(update={"amount": Money(amount=amount, currency=currency)}))
            running += amount
        if amount < held.amount.amount:
            still_held.append(held.model_copy(update={"amount": Money(amount=held.amount.amount - amount,
                                                                      currency=currency)}))
    released_total = running
    for item in offered:
        exact = round_amount(item.exact_amount, currency, policy) if per_line else item.exact_amount
        value = exact + sum((a.signed for a in by_entry.get(item.entry_id, [])), Decimal(0))
        if value < 0:
            raise InvalidAdjustment(
                f"write-downs take time entry {item.entry_id} ({item.amount}) below zero")
        worth.append(value)
        if room is not None and running >= room and value > 0:
            over.append(item.entry_id)
            continue
        billed.append(item.entry_id)
        lines.append(_time_line(item, phase, exact))
        lines.extend(adj.line(phase_id=phase.id, time_entry_ids=(item.entry_id,))
                     for adj in by_entry.get(item.entry_id, []))
        running += value
        if room is not None and running > room:
            cap_line_at = (len(lines), item)  # what it holds back is known once the lines are settled
            lines.append(_cap_line(item, phase, running - room))
            over.append(item.entry_id)
            running = room

    value_of_time = value_under(worth, currency, policy)
    amounts, total = settle_lines([line.amount.amount for line in lines], currency, policy)
    if cap_line_at is not None and amounts[cap_line_at[0]] < 0:
        item = cap_line_at[1]
        still_held.append(HeldBack(entry_id=item.entry_id, work_date=item.work_date,
                                   amount=Money(amount=-amounts[cap_line_at[0]], currency=currency)))
    invoice = None
    if billed or released:
        invoice = Invoice(
            id=invoice_id, contract_id=contract.id, customer_id=contract.customer_id, invoice_date=invoice_date,
            currency=currency,
            lines=tuple(line.model_copy(update={"amount": Money(amount=a, currency=currency)})
                        for line, a in zip(lines, amounts, strict=True)),
            total=Money(amount=total, currency=currency))
    over_cap = Money(amount=value_of_time - (total - released_total), currency=currency)
    run = TimeAndMaterialsRun(
        invoice=invoice, billed_entry_ids=tuple(billed), unbillable_over_cap=over_cap,
        over_cap_entry_ids=tuple(over), skipped=tuple(skipped),
        value_of_time=Money(amount=value_of_time, currency=currency), explanation="",
        released=tuple(released), held_back=tuple(still_held))
    return run.model_copy(update={"explanation": _explain(run, phase, billed_to_date, policy, offered)})


def _explain(run: TimeAndMaterialsRun, phase: ContractPhase, billed_to_date: Money, policy: RoundingPolicy,
             offered: list[RatedTime]) -> str:
    hours = sum((i.hours for i in offered if i.entry_id in set(run.billed_entry_ids)), Decimal(0))
    total = run.invoice.total if run.invoice is not None else Money.zero(billed_to_date.currency)
    parts = [f"Phase '{phase.name}' ({phase.id}): billed {len(run.billed_entry_ids)} approved billable "
             f"entries ({hours:f} h) for {total}."]
    if phase.cap is not None:
        parts.append(f"Not-to-exceed cap {phase.cap}, billed before this run {billed_to_date}.")
    if run.released:
        parts.append(f"Released {sum((h.amount.amount for h in run.released), Decimal(0)):f} held back by the cap "
                     f"earlier (entries {', '.join(h.entry_id for h in run.released)}).")
    if run.over_cap_entry_ids:
        parts.append(f"{run.unbillable_over_cap} of time is above the cap and not billed "
                     f"(entries {', '.join(run.over_cap_entry_ids)}).")
    if run.skipped:
        parts.append(f"{len(run.skipped)} entries skipped (see skipped).")
    parts.append(f"Rounding: {policy.describe()}.")
    return " ".join(parts)
