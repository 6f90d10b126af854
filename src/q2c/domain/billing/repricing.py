"""Re-pricing after a rate change with a past effective date: unbilled time only, previewed first.

`reprice_preview` rates every unbilled entry again from the changed card (same role, same work
date, same rounding) and shows, per entry whose rate or amount moves, the old and new rate and
amount and the difference, plus the totals. Billed entries are never re-priced: they are listed as
untouched (a billed entry changes only through a credit note and a new invoice), and those the
changed card would price differently are shown with the figures they keep and the ones they would
have had, so a reader sees what the change does not reach. `apply_reprice` then swaps in exactly
the previewed figures, and refuses a preview that no longer matches the rated time it is applied to.
Applying a preview and previewing again finds nothing to change.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from q2c.domain.billing.errors import BillingError, CurrencyMismatch, StalePreview
from q2c.domain.billing.rating import RatedTime, rate_for
from q2c.domain.billing.rounding import RoundingPolicy, round_amount
from q2c.domain.model import RateCard
from q2c.domain.money import Money


class RepriceChange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_id: str
    project_id: str
    role: str
    work_date: date
    hours: Decimal
    old_rate: Money
    new_rate: Money
    old_amount: Money
    new_amount: Money
    difference: Money
    old: RatedTime
    new: RatedTime


class RepricePreview(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rate_card_id: str
    changes: tuple[RepriceChange, ...]
    unchanged_entry_ids: tuple[str, ...]
    billed_untouched_entry_ids: tuple[str, ...]
    total_difference: Money
    # Billed entries the card now prices differently: `old` is what they keep, `new` what they would have had.
    billed_untouched: tuple[RepriceChange, ...] = ()

    @property
    def old_total(self) -> Money:
        """What the re-priced entries are worth now."""
        return Money(amount=sum((c.old_amount.amount for c in self.changes), Decimal(0)),
                     currency=self.total_difference.currency)

    @property
    def new_total(self) -> Money:
        """What they are worth at the rates in force on their work dates."""
        return Money(amount=sum((c.new_amount.amount for c in self.changes), Decimal(0)),
                     currency=self.total_difference.currency)

    @property
    def hours(self) -> Decimal:
        """Hours of the re-priced entries."""
        return sum((c.hours for c in self.changes), Decimal(0))


def _rerate(item: RatedTime, card: RateCard, policy: RoundingPolicy) -> RatedTime:
    line = rate_for(card, role=item.role, resource_id=item.resource_id, on=item.work_date)
    cur = card.currency
    cost = None if line.cost_rate is None else Money(
        amount=round_amount(item.hours * line.cost_rate.amount, cur, policy), currency=cur)
    amount = Money(amount=round_amount(item.hours * line.rate.amount, cur, policy), currency=cur)
    return item.model_copy(update={
        "rate": line.rate, "amount": amount, "cost_rate": line.cost_rate, "cost": cost, "rate_card_id": card.id,
        "rate_effective_from": line.effective_from})


def _change(item: RatedTime, new: RatedTime) -> RepriceChange:
    return RepriceChange(
        entry_id=item.entry_id, project_id=item.project_id, role=item.role, work_date=item.work_date,
        hours=item.hours, old_rate=item.rate, new_rate=new.rate, old_amount=item.amount, new_amount=new.amount,
        difference=new.amount - item.amount, old=item, new=new)


def _moved(item: RatedTime, new: RatedTime) -> bool:
    return new.rate != item.rate or new.amount != item.amount or new.cost != item.cost


def reprice_preview(rated: Sequence[RatedTime], *, rate_card: RateCard, billed_entry_ids: Collection[str],
                    policy: RoundingPolicy = RoundingPolicy()) -> RepricePreview:
    """What the changed card would do to unbilled time, per entry and in total, before anything changes."""
    changes: list[RepriceChange] = []
    unchanged: list[str] = []
    untouched: list[str] = []
    billed_moved: list[RepriceChange] = []
    for item in sorted(rated, key=lambda r: (r.work_date, r.entry_id)):
        if item.currency != rate_card.currency:
            raise CurrencyMismatch(
                f"time entry {item.entry_id} is rated in {item.currency}, rate card {rate_card.id} is in "
                f"{rate_card.currency}")
        if item.entry_id in billed_entry_ids:
            untouched.append(item.entry_id)
            try:
                would = _rerate(item, rate_card, policy)
            except BillingError:
                continue  # billed time is not re-priced, so a card that no longer prices it is no problem
            if _moved(item, would):
                billed_moved.append(_change(item, would))
            continue
        new = _rerate(item, rate_card, policy)
        if not _moved(item, new):
            unchanged.append(item.entry_id)
            continue
        changes.append(_change(item, new))
    total = sum((c.difference.amount for c in changes), Decimal(0))
    return RepricePreview(rate_card_id=rate_card.id, changes=tuple(changes), unchanged_entry_ids=tuple(unchanged),
                          billed_untouched_entry_ids=tuple(untouched),
                          total_difference=Money(amount=total, currency=rate_card.currency),
                          billed_untouched=tuple(billed_moved))


def apply_reprice(rated: Sequence[RatedTime], preview: RepricePreview) -> tuple[RatedTime, ...]:
    """The rated time with the previewed changes applied, in the order given."""
    by_id = {c.entry_id: c for c in preview.changes}
    current = {r.entry_id: r for r in rated}
    for entry_id, change in by_id.items():
        if current.get(entry_id) != change.old:
            raise StalePreview(
                f"time entry {entry_id} changed since the re-pricing preview for rate card {preview.rate_card_id} "
                "was made: preview again")
    return tuple(by_id[r.entry_id].new if r.entry_id in by_id else r for r in rated)
