"""Rating: which rate applies to a piece of work, and what the work is worth.

Rate card rules (the card's system of record owns it, the hub's config or the ERP; q2c only reads it,
and live contracts are rated with the card in force, not the copy agreed at setup):

* A line applies to a role, optionally narrowed to one resource (an override), and is in force
  from ``effective_from`` to ``effective_to`` inclusive (open-ended when ``effective_to`` is None).
* The rate in force on the *work date* applies, not the rate on the invoice date.
* A resource override in force beats the role rate; if the override is not in force on the work
  date the role rate applies again.
* Among lines of the same specificity in force on the date, the latest ``effective_from`` wins;
  two such lines starting on the same day make the card ambiguous (`OverlappingRates`).
* No line in force raises `NoRateInForce`, naming card, role, resource and date.

Billable classification is ERP-owned: an approved entry is billable when the entry is flagged
billable *and* its task is billable. Only approved time is rated.

Amounts: ``amount = hours x rate`` and ``cost = hours x cost_rate``, each rounded to the minor
unit under the policy's mode. Invoicing re-derives the exact product, so the policy's scope
(per line or per invoice) decides the invoice, not this per-entry figure.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from q2c.domain.billing.errors import InvalidRateCard, NoRateInForce, OverlappingRates, TimeNotRateable
from q2c.domain.billing.rounding import RoundingPolicy, round_amount
from q2c.domain.model import RateCard, RateCardLine, Task, TimeEntry, TimeEntryStatus
from q2c.domain.money import Money
from q2c.domain.violations import Violation


class RatedTime(BaseModel):
    """An approved time entry priced from the rate card in force on its work date."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_id: str
    project_id: str
    task_code: str
    resource_id: str
    role: str
    work_date: date
    hours: Decimal
    rate: Money
    amount: Money
    cost_rate: Money | None
    cost: Money | None
    billable: bool
    rate_card_id: str
    rate_effective_from: date

    @property
    def currency(self) -> str:
        return self.rate.currency

    @property
    def exact_amount(self) -> Decimal:
        """hours x rate before any rounding: what invoicing starts from."""
        return self.hours * self.rate.amount


def _in_force(line: RateCardLine, on: date) -> bool:
    return line.effective_from <= on and (line.effective_to is None or on <= line.effective_to)


def rate_for(rate_card: RateCard, *, role: str, resource_id: str | None, on: date) -> RateCardLine:
    """The rate card line that prices work by this role (and resource) on this date."""
    in_force = [line for line in rate_card.lines if line.role == role and _in_force(line, on)]
    overrides = [line for line in in_force if resource_id is not None and line.resource_id == resource_id]
    candidates = overrides or [line for line in in_force if line.resource_id is None]
    if not candidates:
        raise NoRateInForce(rate_card_id=rate_card.id, role=role, resource_id=resource_id, on=on)
    latest = max(line.effective_from for line in candidates)
    winners = [line for line in candidates if line.effective_from == latest]
    if len(winners) > 1:
        level = f"resource {resource_id} override" if overrides else "role rate"
        rates = ", ".join(str(line.rate) for line in winners)
        raise OverlappingRates(
            f"rate card {rate_card.id} has {len(winners)} lines for role '{role}' ({level}) all effective "
            f"from {latest.isoformat()} and in force on {on.isoformat()} ({rates}): end or remove all but one")
    line = winners[0]
    for field, money in (("rate", line.rate), ("cost_rate", line.cost_rate)):
        if money is not None and money.currency != rate_card.currency:
            raise InvalidRateCard(
                f"rate card {rate_card.id} line for role '{role}' effective {line.effective_from.isoformat()}: "
                f"{field} is in {money.currency} but the card is in {rate_card.currency}")
    return line


def rate_card_violations(rate_card: RateCard, *, system: str = "erp") -> list[Violation]:
    """Everything wrong with a card at once, for the reference-data refresh to report."""
    found: list[Violation] = []

    def add(index: int, field: str, rule: str, message: str) -> None:
        found.append(Violation(
            system=system, object="rate_card", record_id=rate_card.id, field=f"lines[{index}].{field}", rule=rule,
            message=message, action="Correct the rate card line in the ERP; the next refresh picks it up"))

    seen: dict[tuple[str, str | None, date], int] = {}
    for i, line in enumerate(rate_card.lines):
        who = f"role '{line.role}'" + (f" resource {line.resource_id}" if line.resource_id else "")
        for field, money in (("rate", line.rate), ("cost_rate", line.cost_rate)):
            if money is None:
                continue
            if money.currency != rate_card.currency:
                add(i, field, "rate_card.currency",
                    f"{who}: {field} is in {money.currency}, the card is in {rate_card.currency}")
            if money.amount < 0:
                add(i, field, "rate_card.negative", f"{who}: {field} {money} is negative")
        if line.effective_to is not None and line.effective_to < line.effective_from:
            add(i, "effective_to", "rate_card.dates",
                f"{who}: ends {line.effective_to.isoformat()} before it starts {line.effective_from.isoformat()}")
        key = (line.role, line.resource_id, line.effective_from)
        if key in seen:
            add(i, "effective_from", "rate_card.overlap",
                f"{who}: starts {line.effective_from.isoformat()}, the same day as line {seen[key]}")
        else:
            seen[key] = i
    return found


def classify_billable(entry: TimeEntry, task: Task | None = None) -> bool:
    """ERP-owned classification: billable only if the entry and its task both are."""
    if task is not None and (task.code != entry.task_code or task.project_id != entry.project_id):
        raise TimeNotRateable(
            f"time entry {entry.id} field task_code is '{entry.task_code}' on project {entry.project_id}, "
            f"but the task given is '{task.code}' on project {task.project_id}")
    return entry.billable and (task is None or task.billable)


def rate_time_entry(entry: TimeEntry, *, role: str, rate_card: RateCard,
                    policy: RoundingPolicy = RoundingPolicy(), task: Task | None = None) -> RatedTime:
    """Price one approved entry at the rate in force on its work date."""
    if entry.status is not TimeEntryStatus.APPROVED:
        raise TimeNotRateable(
            f"time entry {entry.id} field status is '{entry.status}': only approved time is rated and billed")
    if entry.hours < 0:
        raise TimeNotRateable(f"time entry {entry.id} field hours is {entry.hours}: hours cannot be negative")
    billable = classify_billable(entry, task)
    line = rate_for(rate_card, role=role, resource_id=entry.resource_id, on=entry.work_date)
    currency = rate_card.currency
    amount = Money(amount=round_amount(entry.hours * line.rate.amount, currency, policy), currency=currency)
    cost = None
    if line.cost_rate is not None:
        cost = Money(amount=round_amount(entry.hours * line.cost_rate.amount, currency, policy), currency=currency)
    return RatedTime(
        entry_id=entry.id, project_id=entry.project_id, task_code=entry.task_code, resource_id=entry.resource_id,
        role=role, work_date=entry.work_date, hours=entry.hours, rate=line.rate, amount=amount,
        cost_rate=line.cost_rate, cost=cost, billable=billable, rate_card_id=rate_card.id,
        rate_effective_from=line.effective_from)

