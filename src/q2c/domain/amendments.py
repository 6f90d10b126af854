"""What changed in a won deal between two readings of it: the amendments a contract modification is made of.

The CRM says only that an opportunity changed; what a controller must decide on is the change in terms:
a line added or removed, a price, cap or estimate changed, the end date moved, a milestone added, changed
or removed, a fixed fee's billing schedule changed (its percentages or dates). Reading two canonical
versions of the same opportunity and listing those, in a stable order, is the first step of the
contract-change workflow (the treatment is chosen from them by `domain.revenue.modifications`, after
approval).

Performance facts are not amendments: a milestone completed, or the stage moving along the pipeline,
changes what has been delivered, not what was agreed, so neither is listed here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from q2c.domain.model import Milestone, Opportunity, OpportunityLine, ScheduledBilling
from q2c.domain.money import Money, quantize


class AmendmentKind(StrEnum):
    LINE_ADDED = "line_added"
    LINE_REMOVED = "line_removed"
    LINE_CHANGED = "line_changed"  # one term of a line: amount, cap, estimate, billing type, offering, schedule
    DEAL_CHANGED = "deal_changed"  # one term of the deal: start or end date, legal entity, customer
    MILESTONE_ADDED = "milestone_added"
    MILESTONE_REMOVED = "milestone_removed"
    MILESTONE_CHANGED = "milestone_changed"  # its amount, due date or name


Value = Money | Decimal | date | str | tuple[ScheduledBilling, ...] | None


@dataclass(frozen=True)
class Amendment:
    """One changed term. `line_id` and `milestone_id` say where it is; `field` is the canonical field name."""

    kind: AmendmentKind
    field: str | None = None
    before: Value = None
    after: Value = None
    line_id: str | None = None
    milestone_id: str | None = None

    def describe(self) -> str:
        where = " ".join(p for p in (f"line {self.line_id}" if self.line_id else "",
                                     f"milestone {self.milestone_id}" if self.milestone_id else "") if p)
        if self.kind in (AmendmentKind.LINE_ADDED, AmendmentKind.MILESTONE_ADDED):
            return f"{where} added ({_show(self.after)})"
        if self.kind in (AmendmentKind.LINE_REMOVED, AmendmentKind.MILESTONE_REMOVED):
            return f"{where} removed ({_show(self.before)})"
        subject = f"{where} {self.field}" if where else f"deal {self.field}"
        return f"{subject}: {_show(self.before)} -> {_show(self.after)}"


# The terms that make up the agreement. What is not listed (a milestone's status and completion date, the
# stage, the close date, the CRM's own update stamp) is a fact of delivery or of the pipeline.
DEAL_TERMS = ("customer_id", "legal_entity", "start_date", "end_date")
LINE_TERMS = ("billing_type", "service_offering", "amount", "cap", "estimated_hours", "service_start", "term_months",
              "overage_rate", "rollover_months", "billing_schedule")
MILESTONE_TERMS = ("name", "amount", "due_date")


def amendments(before: Opportunity, after: Opportunity) -> tuple[Amendment, ...]:
    """Every term that differs between two versions of one opportunity, deal terms first, then per line in
    the order the lines stand in `after` (removed lines last), milestones under their line."""
    if before.id != after.id:
        raise ValueError(f"{before.id} and {after.id} are two opportunities, not two versions of one")
    found = [Amendment(AmendmentKind.DEAL_CHANGED, term, getattr(before, term), getattr(after, term))
             for term in DEAL_TERMS if getattr(before, term) != getattr(after, term)]
    old_lines = {line.id: line for line in before.lines}
    for line in after.lines:
        old = old_lines.pop(line.id, None)
        if old is None:
            found.append(Amendment(AmendmentKind.LINE_ADDED, after=_line_summary(line), line_id=line.id))
            found.extend(Amendment(AmendmentKind.MILESTONE_ADDED, after=_milestone_summary(m), line_id=line.id,
                                   milestone_id=m.id) for m in line.milestones)
            continue
        found.extend(_line_amendments(old, line))
    for old in old_lines.values():
        found.append(Amendment(AmendmentKind.LINE_REMOVED, before=_line_summary(old), line_id=old.id))
    return tuple(found)


def _line_amendments(before: OpportunityLine, after: OpportunityLine) -> Iterator[Amendment]:
    for term in LINE_TERMS:
        if _term(before, term) != _term(after, term):
            yield Amendment(AmendmentKind.LINE_CHANGED, term, getattr(before, term), getattr(after, term),
                            line_id=after.id)
    old: dict[str, Milestone] = {m.id: m for m in before.milestones}
    for milestone in after.milestones:
        was = old.pop(milestone.id, None)
        if was is None:
            yield Amendment(AmendmentKind.MILESTONE_ADDED, after=_milestone_summary(milestone), line_id=after.id,
                            milestone_id=milestone.id)
            continue
        for term in MILESTONE_TERMS:
            if getattr(was, term) != getattr(milestone, term):
                yield Amendment(AmendmentKind.MILESTONE_CHANGED, term, getattr(was, term), getattr(milestone, term),
                                line_id=after.id, milestone_id=milestone.id)
    for was in old.values():
        yield Amendment(AmendmentKind.MILESTONE_REMOVED, before=_milestone_summary(was), line_id=after.id,
                        milestone_id=was.id)


def _term(line: OpportunityLine, term: str) -> object:
    """A line's term as compared: a billing schedule by its dates and percentages (what the customer pays
    when), not by the CRM's record ids or instalment names, so records re-entered alike are no amendment."""
    if term == "billing_schedule":
        return tuple((s.bill_date, s.percent) for s in line.billing_schedule)
    return getattr(line, term)


def _line_summary(line: OpportunityLine) -> str:
    parts: Mapping[str, object] = {"billing type": line.billing_type.value, "amount": line.amount,
                                   "cap": line.cap, "offering": line.service_offering}
    return ", ".join(f"{k} {_show(v)}" for k, v in parts.items() if v is not None)


def _milestone_summary(milestone: Milestone) -> str:
    due = f", due {milestone.due_date.isoformat()}" if milestone.due_date else ""
    return f"{milestone.name}, {_show(milestone.amount)}{due}"


def _show(value: object) -> str:
    if value is None or value == ():
        return "none"
    if isinstance(value, tuple):
        return ", ".join(f"{_show(s.percent)}% on {s.bill_date.isoformat()}" for s in value
                         if isinstance(s, ScheduledBilling))
    if isinstance(value, Money):
        return f"{value.currency} {quantize(value.amount, value.currency):,}"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
