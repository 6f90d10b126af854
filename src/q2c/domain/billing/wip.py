"""Work in progress: approved billable time not yet billed, at bill rate and at cost, by project.

As of a date: entries worked on or before ``as_of`` that are billable and not in
``billed_entry_ids`` (the entries billed as of that date; `ledger.billed_entry_ids` derives them
from the documents dated up to it). Amounts are the sums of the rated entries' rounded amounts
and costs, so WIP per project equals the sum of what the entries show. Entries rated without a
cost rate are listed per project rather than silently counted as zero cost. All time must be in
one currency.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from q2c.domain.billing.errors import CurrencyMismatch
from q2c.domain.billing.rating import RatedTime
from q2c.domain.money import Money


class ProjectWip(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    project_id: str
    entry_count: int
    hours: Decimal
    at_bill_rate: Money
    at_cost: Money
    entries_without_cost: tuple[str, ...]
    oldest_work_date: date


class WipReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    as_of: date
    currency: str | None  # None when there is no unbilled time at all
    projects: tuple[ProjectWip, ...]
    hours: Decimal
    at_bill_rate: Money | None
    at_cost: Money | None


def wip(rated: Sequence[RatedTime], *, billed_entry_ids: Collection[str], as_of: date) -> WipReport:
    """Unbilled approved billable time as of a date, per project (sorted by project id)."""
    open_time = sorted((r for r in rated if r.billable and r.work_date <= as_of and r.entry_id not in billed_entry_ids),
                       key=lambda r: (r.project_id, r.work_date, r.entry_id))
    currencies = sorted({r.currency for r in open_time})
    if len(currencies) > 1:
        raise CurrencyMismatch(f"WIP as of {as_of.isoformat()} mixes currencies {', '.join(currencies)}: "
                               "report each currency separately")
    if not open_time:
        return WipReport(as_of=as_of, currency=None, projects=(), hours=Decimal(0), at_bill_rate=None, at_cost=None)
    currency = currencies[0]
    by_project: dict[str, list[RatedTime]] = {}
    for item in open_time:
        by_project.setdefault(item.project_id, []).append(item)
    projects = tuple(
        ProjectWip(
            project_id=project_id, entry_count=len(items),
            hours=sum((i.hours for i in items), Decimal(0)),
            at_bill_rate=Money(amount=sum((i.amount.amount for i in items), Decimal(0)), currency=currency),
            at_cost=Money(amount=sum((i.cost.amount for i in items if i.cost is not None), Decimal(0)),
                          currency=currency),
            entries_without_cost=tuple(i.entry_id for i in items if i.cost is None),
            oldest_work_date=items[0].work_date)
        for project_id, items in by_project.items())
    return WipReport(
        as_of=as_of, currency=currency, projects=projects, hours=sum((p.hours for p in projects), Decimal(0)),
        at_bill_rate=Money(amount=sum((p.at_bill_rate.amount for p in projects), Decimal(0)), currency=currency),
        at_cost=Money(amount=sum((p.at_cost.amount for p in projects), Decimal(0)), currency=currency))
