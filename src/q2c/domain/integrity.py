"""The rules a controller signs off on, as checks over what the hub holds. Pure: no I/O.

1. Nothing is lost: every approved time entry is posted, or an open exception names it; time over a
   not-to-exceed cap (wholly, or the part held back of a billed entry) is named by an open exception.
2. The GL equals the engine: revenue in the posted journal entries equals the revenue recognised,
   per contract, cumulatively (checked by the revenue close, which owns both figures).
3. Billing adds up: per time-and-materials phase, billed + unbilled = the approved billable hours x
   the rate in force on each work date; and every unbilled entry carries that rate.

Each broken rule is a `Violation` naming the contract (or the entry) and the amount it is out by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from q2c.domain.billing import BillingError, RatedTime, rate_for
from q2c.domain.billing.rounding import RoundingPolicy, round_amount
from q2c.domain.model import BillingType, Contract, Invoice, RateCard
from q2c.domain.money import Money
from q2c.domain.violations import Violation


class Standing(StrEnum):
    """Where an approved time entry stands in the hub."""

    UNBILLED = "unbilled"  # posted to the ERP, not yet invoiced (includes time waiting over a cap)
    BILLED = "billed"  # invoiced (a part may be held back by a cap)
    HELD = "held"  # not posted: a problem holds it


@dataclass(frozen=True)
class HeldTime:
    """One approved time entry as the hub holds it."""

    entry_id: str
    standing: Standing
    rated: RatedTime | None  # None when it could not be rated
    phase_id: str | None  # the phase its task belongs to
    held_back: Decimal = Decimal(0)  # billed, but this much kept off the invoice by the cap
    over_cap: bool = False  # unbilled because the phase's cap is reached
    named: bool = False  # an open exception names it


def unaccounted_time(time: Sequence[HeldTime], *, where: str) -> list[Violation]:
    """Rule 1: approved time that is neither posted nor named by an open exception."""
    out = []
    for t in time:
        why = None
        if t.standing is Standing.HELD and not t.named:
            why = "is not in the ERP and no open exception names it"
        elif t.over_cap and not t.named:
            why = "waits over the not-to-exceed cap and no open exception names it"
        elif t.held_back > 0 and not t.named:
            why = f"has {t.held_back} held back by the cap and no open exception names it"
        if why is not None:
            out.append(Violation(
                system="q2c", object="time_entry", record_id=t.entry_id, field=None, rule="integrity.unaccounted",
                message=f"approved time entry {t.entry_id} on {where} {why}",
                action="Replay the entry from the time tracker (`q2c sync time`), or report this to the "
                       "integration engineer with the entry id"))
    return out


def billing_balance(contract: Contract, time: Sequence[HeldTime], invoices: Sequence[Invoice]) -> list[Violation]:
    """Rule 3, per time-and-materials phase, to the cent."""
    out = []
    zero = Money.zero(contract.currency)
    for phase in contract.phases:
        if phase.billing_type is not BillingType.TIME_AND_MATERIALS:
            continue
        mine = [t for t in time if t.phase_id == phase.id and t.rated is not None and t.rated.billable
                and t.standing is not Standing.HELD]
        approved = sum((t.rated.amount for t in mine if t.rated is not None), start=zero)
        unbilled = sum((t.rated.amount for t in mine if t.rated is not None and t.standing is Standing.UNBILLED),
                       start=zero)
        held = Money(amount=sum((t.held_back for t in mine), Decimal(0)), currency=contract.currency)
        # credit-note lines carry their own (negative) sign
        billed = sum((line.amount for inv in invoices for line in inv.lines if line.phase_id == phase.id), start=zero)
        if billed + unbilled + held != approved:
            off = approved - (billed + unbilled + held)
            out.append(Violation(
                system="q2c", object="contract", record_id=contract.id, field=f"phases[{phase.id}]",
                rule="integrity.billing_mismatch",
                message=f"phase '{phase.name}': billed {billed} + unbilled {unbilled} + held back by the cap {held} "
                        f"= {billed + unbilled + held}, but the approved billable time at its rates is {approved}: "
                        f"{off} unaccounted",
                action="Compare the phase's invoices with its time (`q2c exceptions list`, the ERP's timebills); "
                       "nothing is billed for this contract until it adds up"))
    return out


def rate_drift(contract: Contract, time: Sequence[HeldTime], rate_card: RateCard | None = None) -> list[Violation]:
    """Rule 3, the rate half: unbilled time carries the rate in force on its work date under the contract's card
    (`rate_card`: the card in force under its id, when it is not the copy the contract kept from its setup)."""
    card = rate_card or contract.rate_card
    out = []
    for t in time:
        r = t.rated
        if r is None or t.standing is not Standing.UNBILLED:
            continue
        try:
            line = rate_for(card, role=r.role, resource_id=r.resource_id, on=r.work_date)
        except BillingError as exc:
            out.append(_rate_violation(contract, r, f"no rate applies any more: {exc}"))
            continue
        expected = round_amount(r.hours * line.rate.amount, contract.currency, RoundingPolicy())
        if line.rate != r.rate or expected != r.amount.amount:
            out.append(_rate_violation(contract, r, f"rated {r.hours} h x {r.rate} = {r.amount}, but the rate in "
                                                    f"force on {r.work_date} is {line.rate} ({expected})"))
    return out


def _rate_violation(contract: Contract, r: RatedTime, why: str) -> Violation:
    return Violation(system="q2c", object="time_entry", record_id=r.entry_id, field="rate",
                     rule="integrity.rate_mismatch", message=f"entry {r.entry_id} on {contract.id}: {why}",
                     action=f"Re-price the unbilled time of {contract.id} to rate card {contract.rate_card.id} before "
                            "billing it")
