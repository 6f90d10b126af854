"""The plan of a contract change: everything it would do, worked out before anything is written.

A controller approves numbers, not intentions, so the plan shows the contract's phases before and after
(what the ERP's contract lines become), the caps and milestones billing will use, the treatment and why,
the revenue contract's allocation before and after, and the revenue of the first open period under the
old and the new terms, with the catch-up and any closed period the change reaches back into.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from q2c.domain.amended_engagement import amend_engagement, phase_ids_by_line
from q2c.domain.amendments import Amendment, amendments
from q2c.domain.change_orders import Assessment, ChangeTerms, assess, change_terms, next_version
from q2c.domain.engagement import TaskTemplate
from q2c.domain.model import BillingType, Contract, Customer, Project
from q2c.domain.money import Money
from q2c.domain.revenue import (
    InvalidContract,
    ModificationTreatment,
    Period,
    Recognition,
    RevenueContract,
    RevenueError,
    TreatmentDecision,
    revenue_contract_from,
)
from q2c.domain.validation.deal import deal_violations
from q2c.engine.errors import Rejected
from q2c.store import records, time_entries
from q2c.workflows.contract_versions import DealTerms, stored_revenue_contract
from q2c.workflows.hub import Hub
from q2c.workflows.integrity import RECOGNITION
from q2c.workflows.periods import load_calendar
from q2c.workflows.project_setup import reference_data
from q2c.workflows.revenue_close import contract_revenue


@dataclass(frozen=True)
class Plan:
    change_id: str
    contract_id: str
    effective: date
    found: tuple[Amendment, ...]
    before: Contract
    after: Contract
    project_after: Project
    terms: ChangeTerms
    assessment: Assessment
    treatment: ModificationTreatment | None = None
    decision: TreatmentDecision | None = None
    notes: tuple[str, ...] = ()
    revenue_before: RevenueContract | None = None
    revenue_after: RevenueContract | None = None
    period: Period | None = None
    old_terms: Recognition | None = None  # the open period under the terms in force
    new_terms: Recognition | None = None  # the same period under the change
    closed_touched: tuple[str, ...] = ()
    over_cap_held: Money | None = None
    problems: tuple[str, ...] = field(default_factory=tuple)  # why it cannot be applied as it stands
    tasks_before: frozenset[str] = frozenset()
    posted: tuple[tuple[str, str, bool], ...] = ()  # (period, revenue posted, period closed), oldest first

    @property
    def revenue_delta(self) -> Money | None:
        if self.old_terms is None or self.new_terms is None:
            return None
        return self.new_terms.revenue - self.old_terms.revenue

    @property
    def catch_up(self) -> Money | None:
        if self.old_terms is None or self.new_terms is None:
            return None
        return _catch_ups(self.new_terms) - _catch_ups(self.old_terms)

    def to_json(self) -> dict[str, Any]:
        return {
            "effective": self.effective.isoformat(),
            "amendments": [a.describe() for a in self.found],
            "phases": {"before": [_phase(p) for p in self.before.phases],
                       "after": [_phase(p) for p in self.after.phases]},
            "contract": {"before": _terms(self.before), "after": _terms(self.after)},
            "added_tasks": sorted({t.code for t in self.project_after.tasks} - self.tasks_before),
            "facts": list(self.assessment.facts),
            "question": self.assessment.question,
            "blocked": list(self.assessment.blocked) + list(self.problems),
            "treatment": None if self.treatment is None else self.treatment.value,
            "paragraph": None if self.decision is None else self.decision.paragraph,
            "reason": None if self.decision is None else self.decision.reason,
            "notes": list(self.notes),
            "allocation": _allocation(self.revenue_before, self.revenue_after),
            "revenue": None if self.period is None else {
                "period": self.period.label,
                "old_terms": _money(self.old_terms.revenue if self.old_terms else None),
                "new_terms": _money(self.new_terms.revenue if self.new_terms else None),
                "difference": _money(self.revenue_delta), "catch_up": _money(self.catch_up),
                "obligations": _obligations(self.old_terms, self.new_terms)},
            "schedule": self.schedule(),
            "closed_periods_touched": list(self.closed_touched),
            "over_cap_held": _money(self.over_cap_held),
            "version": None if self.revenue_after is None else self.revenue_after.version,
        }


    def schedule(self) -> list[dict[str, Any]]:
        """The revenue schedule per period: what is posted (a change never moves it: a catch-up lands in the open
        period), the open period on the old and the new terms, and the fixed consideration left to recognise
        after it, on each."""
        rows: list[dict[str, Any]] = [{"period": label, "posted": amount, "closed": closed}
                                      for label, amount, closed in self.posted]
        if self.period is None or self.old_terms is None or self.new_terms is None:
            return rows
        rows.append({"period": self.period.label, "old_terms": _money(self.old_terms.revenue),
                     "new_terms": _money(self.new_terms.revenue)})
        rows.append({"period": f"after {self.period.label}",
                     "old_terms": _money(_left(self.revenue_before, self.old_terms)),
                     "new_terms": _money(_left(self.revenue_after, self.new_terms))})
        return rows


def _left(rc: RevenueContract | None, rec: Recognition) -> Money | None:
    """Fixed consideration allocated but not yet recognised once `rec` is posted (T&M is recognised as invoiced)."""
    if rc is None:
        return None
    allocated = {ob.id: rc.allocation.allocated(ob.id) for ob in rc.obligations}
    total = sum((a.amount for a in allocated.values() if a is not None), Decimal(0))
    done = sum((ob.cumulative.amount for ob in rec.obligations if allocated.get(ob.obligation_id) is not None),
               Decimal(0))
    return Money(amount=total - done, currency=rec.currency)


def _catch_ups(rec: Recognition) -> Money:
    return sum((ln.amount for ob in rec.obligations for ln in ob.lines if ln.kind == "catch_up"),
               start=Money.zero(rec.currency))


def _money(m: Money | None) -> str | None:
    return None if m is None else str(m.rounded().amount)


def _phase(p: Any) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "billing_type": p.billing_type.value, "amount": str(p.amount.amount),
            "cap": None if p.cap is None else str(p.cap.amount),
            "estimated_hours": None if p.estimated_hours is None else str(p.estimated_hours),
            "milestones": [{"id": m.id, "name": m.name, "amount": str(m.amount.amount)} for m in p.milestones]}


def _terms(c: Contract) -> dict[str, Any]:
    return {"start_date": c.start_date.isoformat(), "end_date": None if c.end_date is None else c.end_date.isoformat()}


def _allocation(before: RevenueContract | None, after: RevenueContract | None) -> list[dict[str, Any]]:
    rows = []
    for rc, side in ((before, "before"), (after, "after")):
        if rc is None:
            continue
        for ob in rc.obligations:
            allocated = rc.allocation.allocated(ob.id)
            rows.append({"side": side, "obligation": ob.id, "name": ob.name, "method": ob.method.value,
                         "allocated": None if allocated is None else str(allocated.amount)})
    return rows


def _obligations(old: Recognition | None, new: Recognition | None) -> list[dict[str, Any]]:
    if old is None or new is None:
        return []
    before = {ob.obligation_id: ob for ob in old.obligations}
    out = []
    for ob in new.obligations:
        was = before.get(ob.obligation_id)
        out.append({"obligation": ob.obligation_id, "old_terms": _money(was.revenue if was else None),
                    "new_terms": _money(ob.revenue), "cumulative": _money(ob.cumulative),
                    "lines": [{"kind": ln.kind, "amount": _money(ln.amount), "reason": ln.reason}
                              for ln in ob.lines]})
    return out


def plan_change(hub: Hub, *, change_id: str, contract: Contract, project: Project, customers: dict[str, Customer],
                before: DealTerms, after: DealTerms, effective: date,
                chosen: ModificationTreatment | None = None, chosen_by: str | None = None,
                reason: str = "") -> Plan:
    """The plan of replacing the terms `before` with `after`, effective on `effective`."""
    old, new = before.effective(), after.effective()
    found = amendments(old, new)
    customer = customers.get(contract.customer_id)
    problems = [v.headline() for v in deal_violations(new, customers, reference_data(hub),
                                                      system=hub.crm.names.system)] if customer else []
    if customer is None:
        problems.append(f"the CRM no longer shows the contract's customer {contract.customer_id}")
        customer = Customer(id=contract.customer_id, name=contract.name)
    offerings = {o.code: [TaskTemplate(t.code, t.name, t.billable) for t in o.tasks]
                 for o in hub.config.service_offerings}
    amended, project_after = amend_engagement(contract, project, before=old, after=new, customer=customer,
                                              rate_card=contract.rate_card, offering_tasks=offerings,
                                              source_id=hub.crm.names.external_id(contract.opportunity_id))
    lines = {**phase_ids_by_line(contract, old), **phase_ids_by_line(amended, new)}
    terms = change_terms(contract, amended, found, lines)
    assessment = assess(found, terms, contract, amended)
    plan = Plan(change_id, contract.id, effective, found, contract, amended, project_after, terms, assessment,
                problems=tuple(problems), tasks_before=frozenset(t.code for t in project.tasks))
    treatment = chosen or assessment.treatment
    if assessment.blocked or problems or treatment is None:
        return plan
    with hub.engine.connect() as conn:
        current = stored_revenue_contract(conn, contract)
        calendar = load_calendar(conn, contract.legal_entity)
        posted_rows = {str(r.payload.get("period")): str(r.payload.get("recognised")) for r in records.list_records(
            conn, entity=RECOGNITION, aggregate=f"contract:{contract.id}", states=["posted"])}
        posted = sorted(posted_rows)
        held = _over_cap(conn, project, contract)
    period = calendar.first_open_from(Period.of(effective))  # where the next close puts the catch-up
    try:
        fresh = revenue_contract_from(amended)
        old_terms = contract_revenue(hub, contract.id, period, check_open=False)
        assert old_terms is not None
        version, decision, notes = next_version(
            current, fresh, change_id=change_id, approved_on=effective, description="; ".join(
                a.describe() for a in found), treatment=treatment, terms=terms, before=contract, after=amended,
            facts=old_terms.facts, chosen_by=chosen_by, reason=reason)
        new_terms = contract_revenue(hub, contract.id, period, check_open=False, terms=(amended, version))
        assert new_terms is not None
    except (RevenueError, InvalidContract) as exc:
        return _with(plan, treatment=treatment, problems=(*problems, f"the revenue engine refuses it: {exc}"))
    except Rejected as exc:
        return _with(plan, treatment=treatment, problems=(*problems, *(v.headline() for v in exc.violations)))
    planned = _with(plan, treatment=treatment, decision=decision, notes=notes, revenue_before=current,
                    posted=tuple((p, posted_rows[p], not calendar.is_open(Period.parse(p))) for p in posted),
                    revenue_after=version, period=period, old_terms=old_terms.recognition,
                    new_terms=new_terms.recognition, over_cap_held=held)
    closed = [label for label in posted if not calendar.is_open(Period.parse(label))]
    touched = []
    if not calendar.is_open(Period.of(effective)):
        touched.append(Period.of(effective).label)
    if planned.catch_up is not None and planned.catch_up.amount != 0:
        touched.extend(p for p in closed if p not in touched)
    return _with(planned, closed_touched=tuple(touched))


def _with(plan: Plan, **changes: Any) -> Plan:
    from dataclasses import replace

    return replace(plan, **changes)


def _over_cap(conn: Any, project: Project, contract: Contract) -> Money | None:
    """Approved time a cap holds back now, which a raised cap lets the next billing run bill."""
    if not any(p.billing_type is BillingType.TIME_AND_MATERIALS and p.cap is not None for p in contract.phases):
        return None
    waiting = time_entries.over_cap_ids(conn, project.id)
    total = sum((r.amount.amount for r in time_entries.unbilled_rated(conn, project.id) if r.entry_id in waiting),
                Decimal(0))
    total += sum((h.amount.amount for _, h in time_entries.held_back(conn, project.id).values()), Decimal(0))
    return Money(amount=total, currency=contract.currency)


def needs_second_approval(plan: Plan, threshold: Decimal | None) -> str | None:
    """Why the plan needs a second person, or None."""
    if plan.closed_touched:
        return f"it reaches back into closed period(s) {', '.join(plan.closed_touched)}"
    delta = plan.revenue_delta
    if threshold is not None and delta is not None and abs(delta.amount) > threshold:
        return (f"it moves the revenue of {plan.period} by {delta}, more than the {threshold} a single approver "
                "may move (contract_changes.second_approval_over)")
    return None
