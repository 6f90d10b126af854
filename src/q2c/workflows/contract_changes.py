"""Contract changes (workflow 5): an approved change of a won deal's terms reaches the ERP contract, the
project, billing and revenue, with its accounting treatment and an audit trail; nothing else does.

One work item per contract (`contract.change`, ordered with its billing and revenue items) compares the
CRM's deal, and any won change-order opportunity that amends it, with the terms in force
(`contract_versions`). A difference is one change record holding the whole difference; a newer
difference supersedes an open one. Each pass then decides, from the change and its plan:

* not approved in the CRM (the configured approval field says no) -> `pending_approval`, held;
* q2c will not apply it (a changed customer, a removed line, a deal the rules refuse) -> `blocked`;
* the facts do not decide the treatment and no controller has chosen -> `needs_treatment`;
* it reaches into a closed period, or moves the open period's revenue beyond the configured threshold,
  and two different people have not approved it in q2c -> `needs_second_approval`;
* otherwise it is applied, in one step: the ERP project, tasks and contract, the time tracker's project,
  then (in the same transaction as the item's acknowledgement) the contract, project, terms, the
  revenue contract's new version, the change record and the audit trail. A retry repeats the upserts.

Every held state but `pending_approval` (which waits for the CRM's own process) is an open exception
naming the change; applying or rejecting the change closes it. A rejected change is remembered, so the
same terms are not raised again until the CRM's deal changes once more.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.engine import Connection

from q2c.domain.amendments import amendments
from q2c.domain.model import Contract, Customer, Opportunity, Project
from q2c.domain.naming import SystemNames
from q2c.domain.revenue import ModificationTreatment
from q2c.domain.violations import Violation
from q2c.engine.hashing import content_hash
from q2c.engine.worker import Effects
from q2c.store import audit, cursors, links, queue, records
from q2c.store import exceptions as exception_store
from q2c.store.exceptions import Subject
from q2c.store.queue import WorkItem
from q2c.workflows import contract_versions
from q2c.workflows.change_plan import Plan, needs_second_approval, plan_change
from q2c.workflows.contract_versions import DealTerms
from q2c.workflows.hub import Hub

KIND = "contract.change"
CHANGE = "contract_change"
HELD_RULE = "contract.change_held"


class State(StrEnum):
    PENDING_APPROVAL = "pending_approval"
    BLOCKED = "blocked"
    NEEDS_TREATMENT = "needs_treatment"
    NEEDS_SECOND_APPROVAL = "needs_second_approval"
    APPLIED = "applied"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"


OPEN_STATES = (State.PENDING_APPROVAL, State.BLOCKED, State.NEEDS_TREATMENT, State.NEEDS_SECOND_APPROVAL)
ENDED_STATES = (State.APPLIED, State.REJECTED, State.SUPERSEDED)


class ChangeError(ValueError):
    """A request about a change that cannot be met (unknown id, already applied, a missing answer)."""


POLL_CURSOR = "contract_changes.last_full_poll"


def poll_contract_changes(hub: Hub, *, force: bool = True) -> int:
    """The poll behind the change feed: every active contract's terms compared with the CRM's deal (each
    check reads the deal, so the scheduler runs it every `contract_changes.poll_seconds`, `force=False`, and
    relies on the CRM's change events in between; `q2c sync` and `q2c changes detect` always run it)."""
    now = datetime.now(UTC)
    with hub.engine.begin() as conn:
        last = cursors.get_cursor(conn, POLL_CURSOR)
        if not force and last is not None and \
                (now - datetime.fromisoformat(last)).total_seconds() < hub.config.contract_changes.poll_seconds:
            return 0
        cursors.set_cursor(conn, POLL_CURSOR, now.isoformat())
    return enqueue_change_checks(hub)


def poll_contract_changes_when_due(hub: Hub) -> int:
    """The scheduler's poll: at most every `contract_changes.poll_seconds`."""
    return poll_contract_changes(hub, force=False)


def enqueue_change_checks(hub: Hub, contract_ids: list[str] | None = None) -> int:
    """One `contract.change` item per active contract (or per contract given)."""
    with hub.engine.begin() as conn:
        ids = contract_ids if contract_ids is not None else [
            c.canonical_id for c in records.list_records(conn, entity="contract", states=["active"])]
        for contract_id in ids:
            enqueue_check(conn, contract_id)
    return len(ids)


def enqueue_check(conn: Connection, contract_id: str, **payload: str) -> None:
    queue.enqueue(conn, kind=KIND, aggregate=f"contract:{contract_id}", priority=queue.PRIORITY_SETUP,
                  payload={"contract_id": contract_id, **payload}, correlation_id=uuid.uuid4().hex)


def contract_of_opportunity(conn: Connection, opportunity_id: str, *, crm: SystemNames) -> str | None:
    """The contract set up from a deal, by the link set-up recorded to the CRM's opportunity."""
    link = links.find_by_external(conn, entity="contract", system=crm.system,
                                  external_id=crm.external_id(opportunity_id))
    return None if link is None else link.canonical_id


# --- the work item ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Loaded:
    contract: Contract
    project: Project
    terms: DealTerms | None  # None: set up before terms were stored
    changes: list[records.Record]


def _load(conn: Connection, contract_id: str) -> _Loaded | None:
    rec = records.get_record(conn, entity="contract", canonical_id=contract_id)
    if rec is None:
        return None
    contract = Contract.model_validate(rec.payload)
    project_rec = next(iter(records.list_records(conn, entity="project", aggregate=f"contract:{contract_id}")), None)
    if project_rec is None:
        return None
    terms = contract_versions.load_terms(conn, contract_id)
    changes = records.list_records(conn, entity=CHANGE, aggregate=f"contract:{contract_id}")
    changes.sort(key=lambda r: int(r.payload["number"]))
    return _Loaded(contract, Project.model_validate(project_rec.payload), terms, changes)


def check_contract(hub: Hub, item: WorkItem) -> Effects | None:
    """Find, decide and (when it may) apply the change of one contract's terms."""
    contract_id = str(item.payload["contract_id"])
    with hub.engine.connect() as conn:
        loaded = _load(conn, contract_id)
    if loaded is None:
        return None
    deal = hub.crm.deal(loaded.contract.opportunity_id)
    if loaded.terms is None:
        return _record_baseline(hub, item, loaded, deal.opportunity)
    terms = loaded.terms
    crm_terms = DealTerms(deal.opportunity, tuple(hub.crm.deal(co.id).opportunity for co in terms.change_orders))
    open_change = next((c for c in reversed(loaded.changes) if c.state in OPEN_STATES), None)
    # a won change order not yet applied stays part of what the CRM asks for, on every later pass
    change_order = item.payload.get("change_order") or (open_change.payload.get("change_order")
                                                         if open_change is not None else None)
    if change_order and change_order not in {co.id for co in terms.change_orders}:
        crm_terms = DealTerms(crm_terms.deal, (*crm_terms.change_orders, hub.crm.deal(str(change_order)).opportunity))
    wanted = _terms_hash(crm_terms)
    if _terms_hash(terms) == wanted or not _differs(terms, crm_terms):
        return _supersede(hub, item, open_change, "the CRM's deal is back to the terms in force") \
            if open_change is not None else None
    rejected = next((c for c in reversed(loaded.changes) if c.payload.get("after_hash") == wanted
                     and c.state == State.REJECTED), None)
    if rejected is not None and open_change is None:
        return None  # the same terms were rejected: nothing to raise until the CRM's deal changes again
    if open_change is not None and open_change.payload.get("after_hash") != wanted:
        superseded = open_change
        open_change = None
    else:
        superseded = None
    number = len(loaded.changes) + 1
    change: dict[str, Any] = dict(open_change.payload) if open_change is not None else {
        "id": f"CHG-{contract_id}-{number}", "number": number, "contract_id": contract_id,
        "opportunity_id": loaded.contract.opportunity_id, "detected_at": _now(), "approvals": [],
        "before": terms.to_json(), "after": crm_terms.to_json(), "after_hash": wanted,
        "change_order": change_order,
        "source": f"change order {change_order}" if change_order else f"{hub.crm.names.system} deal"}
    # a won change order is approved by its win; an edit of the deal itself by the CRM's approval field
    deal_edited = bool(amendments(terms.deal, crm_terms.deal))
    approved_in_crm = not deal_edited or deal.change_approved is not False
    change["crm_approved"] = approved_in_crm
    effective = _effective(change, deal.change_effective, deal.opportunity, hub)
    change["effective"] = effective.isoformat()
    chosen = _chosen(change)
    plan = plan_change(hub, change_id=change["id"], contract=loaded.contract, project=loaded.project,
                       customers=dict(deal.customers), before=terms, after=crm_terms, effective=effective,
                       chosen=chosen[0] if chosen else None, chosen_by=chosen[1] if chosen else None,
                       reason=chosen[2] if chosen else "")
    state, why = _decide(hub, change, plan, approved_in_crm)
    change["plan"] = plan.to_json()
    change["why_held"] = why
    if state is None:
        _write_to_systems(hub, plan, deal.customers)
        return _applied(hub, item, change, plan, crm_terms, superseded)
    return _held(hub, item, change, state, why, superseded)


def _differs(a: DealTerms, b: DealTerms) -> bool:
    return bool(amendments(a.effective(), b.effective())) or len(a.change_orders) != len(b.change_orders)


def _terms_hash(terms: DealTerms) -> str:
    """What the terms say, leaving out what is not a term (update stamps, milestone status)."""
    data = terms.to_json()
    for opp in (data["deal"], *data["change_orders"]):
        for key in ("source_updated_at", "stage", "is_won", "close_date"):
            opp.pop(key, None)
        for line in opp.get("lines", []):
            for m in line.get("milestones", []):
                m.pop("status", None)
                m.pop("completed_on", None)
    return content_hash(data)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _effective(change: dict[str, Any], crm_date: date | None, opportunity: Opportunity, hub: Hub) -> date:
    """The date the change takes effect: as a controller set it, else as the CRM records it, else the date the
    CRM last changed the deal, else today."""
    for approval in reversed(change.get("approvals", [])):
        if approval.get("effective"):
            return date.fromisoformat(str(approval["effective"]))
    if crm_date is not None:
        return crm_date
    if opportunity.source_updated_at is not None:
        return opportunity.source_updated_at.date()
    return hub.today()


def _chosen(change: dict[str, Any]) -> tuple[ModificationTreatment, str, str] | None:
    for approval in reversed(change.get("approvals", [])):
        if approval.get("treatment"):
            return ModificationTreatment(approval["treatment"]), str(approval["by"]), str(approval.get("reason", ""))
    return None


def _decide(hub: Hub, change: dict[str, Any], plan: Plan, approved_in_crm: bool) -> tuple[State | None, str]:
    if not approved_in_crm:
        return State.PENDING_APPROVAL, "the CRM has not approved the change yet"
    if plan.assessment.blocked or plan.problems:
        return State.BLOCKED, "; ".join((*plan.assessment.blocked, *plan.problems))
    if plan.treatment is None:
        return State.NEEDS_TREATMENT, plan.assessment.question
    second = needs_second_approval(plan, hub.config.contract_changes.second_approval_over)
    people = {str(a["by"]) for a in change.get("approvals", [])}
    if second is not None and len(people) < 2:
        asked = "two people" if not people else f"a second person (approved by {', '.join(sorted(people))})"
        return State.NEEDS_SECOND_APPROVAL, f"{second}: it needs the approval of {asked} in q2c"
    return None, ""


def _write_to_systems(hub: Hub, plan: Plan, customers: Any) -> None:
    """The ERP's project, tasks and contract lines, and the time tracker's project: upserts on canonical ids."""
    contract, project = plan.after, plan.project_after
    hub.erp.upsert_project(project, contract)
    hub.erp.upsert_contract(contract, project_id=project.id)
    customer: Customer | None = customers.get(contract.customer_id)
    if customer is not None:
        roles = {r for o in hub.config.service_offerings for p in contract.phases
                 if o.code == p.service_offering for r in o.roles}
        team = [r for r in hub.resources.values() if not roles or r.role in roles]
        hub.tracker.set_up_project(project, customer, contract, team)


def _record(change: dict[str, Any], state: State) -> records.Record:
    payload = {**change, "state": state.value}
    return records.Record(CHANGE, str(change["id"]), f"contract:{change['contract_id']}", state.value, 1,
                          content_hash(payload), payload)


def _subject(change: dict[str, Any]) -> list[Subject]:
    return [Subject(CHANGE, str(change["id"]))]


def _record_baseline(hub: Hub, item: WorkItem, loaded: _Loaded, opportunity: Opportunity) -> Effects:
    def write(conn: Connection) -> None:
        records.upsert_records(conn, [contract_versions.terms_record(loaded.contract.id, DealTerms(opportunity))])
        audit.append(conn, [audit.AuditEntry(
            actor=hub.actor, system=hub.crm.names.system, action="terms_recorded", entity="contract",
            record_id=loaded.contract.id, correlation_id=item.correlation_id,
            after={"note": "set up before its terms were stored: the CRM's terms now are the terms in force"})])

    return write


def _supersede(hub: Hub, item: WorkItem, change: records.Record, why: str) -> Effects:
    def write(conn: Connection) -> None:
        payload = {**change.payload, "ended": {"at": _now(), "why": why}}
        records.upsert_records(conn, [_record(payload, State.SUPERSEDED)])
        audit.append(conn, [audit.AuditEntry(actor=hub.actor, system="q2c", action="change_superseded",
                                             entity=CHANGE, record_id=change.canonical_id,
                                             correlation_id=item.correlation_id, after={"why": why})])
        exception_store.resolve_open_for_aggregate(conn, work_kind=KIND, aggregate=item.aggregate)

    return write


def _held(hub: Hub, item: WorkItem, change: dict[str, Any], state: State, why: str,
          superseded: records.Record | None) -> Effects:
    def write(conn: Connection) -> None:
        before = records.get_record(conn, entity=CHANGE, canonical_id=str(change["id"]))
        if superseded is not None:
            records.upsert_records(conn, [_record({**superseded.payload, "ended": {
                "at": _now(), "why": f"superseded by {change['id']}: the CRM's deal changed again"}},
                State.SUPERSEDED)])
        records.upsert_records(conn, [_record(change, state)])
        exception_store.resolve_open_for_aggregate(conn, work_kind=KIND, aggregate=item.aggregate)
        if state is not State.PENDING_APPROVAL:
            v = Violation(system="q2c", object="contract change", record_id=str(change["id"]), field=None,
                          rule=HELD_RULE, message=f"contract change {change['id']} of {change['contract_id']} is "
                                                  f"held ({state.value}): {why}",
                          action=_action(state, str(change["id"])))
            exception_store.raise_exception(conn, v, work_kind=KIND, aggregate=item.aggregate,
                                            payload={"contract_id": change["contract_id"]},
                                            correlation_id=item.correlation_id, subjects=_subject(change))
        if before is None or before.state != state.value or superseded is not None:
            audit.append(conn, [audit.AuditEntry(
                actor=hub.actor, system="q2c", action="change_held", entity=CHANGE, record_id=str(change["id"]),
                correlation_id=item.correlation_id, before=None if before is None else {"state": before.state},
                after={"state": state.value, "why": why, "amendments": change["plan"]["amendments"]})])

    return write


def _action(state: State, change_id: str) -> str:
    if state is State.NEEDS_TREATMENT:
        return f"A controller chooses the treatment: `q2c changes apply {change_id} --treatment ...` (see `q2c " \
               f"changes show {change_id}`), or rejects it with `q2c changes reject {change_id}`"
    if state is State.NEEDS_SECOND_APPROVAL:
        return f"A second person reviews the plan (`q2c changes show {change_id}`) and approves it with `q2c " \
               f"changes apply {change_id}`, or rejects it"
    return f"Correct the deal in the CRM (q2c raises the change again when it changes), or reject {change_id}"


def _applied(hub: Hub, item: WorkItem, change: dict[str, Any], plan: Plan, terms: DealTerms,
             superseded: records.Record | None) -> Effects:
    assert plan.revenue_after is not None and plan.decision is not None
    erp = hub.erp.names.system

    def write(conn: Connection) -> None:
        contract, project = plan.after, plan.project_after
        rows: list[records.Record] = []
        for entity, record, state in (("contract", contract, "active"), ("project", project, "open")):
            payload = record.model_dump(mode="json")
            rows.append(records.Record(entity, record.id, f"contract:{contract.id}", state, record.schema_version,
                                       content_hash(payload), payload))
        rows.append(contract_versions.terms_record(contract.id, terms))
        assert plan.revenue_after is not None
        rows.extend(contract_versions.revenue_records(contract.id, plan.revenue_after, change_id=str(change["id"])))
        done = {**change, "applied": {"at": _now(), "by": hub.actor, "treatment": plan.treatment,
                                      "version": plan.revenue_after.version}}
        if superseded is not None:
            rows.append(_record({**superseded.payload, "ended": {
                "at": _now(), "why": f"superseded by {change['id']}: the CRM's deal changed again"}},
                State.SUPERSEDED))
        rows.append(_record(done, State.APPLIED))
        records.upsert_records(conn, rows)
        for entity, record in (("contract", contract), ("project", project)):
            existing = links.get_link(conn, entity=entity, system=erp, canonical_id=record.id)
            if existing is not None:
                links.upsert_links(conn, [links.Link(entity, record.id, erp, existing.external_id,
                                                     content_hash(record.model_dump(mode="json")), None)])
        audit.append(conn, [audit.AuditEntry(
            actor=hub.actor, system=erp, action="contract_change", entity="contract", record_id=contract.id,
            correlation_id=item.correlation_id,
            before={"phases": change["plan"]["phases"]["before"], "contract": change["plan"]["contract"]["before"]},
            after={"change": change["id"], "phases": change["plan"]["phases"]["after"],
                   "contract": change["plan"]["contract"]["after"], "treatment": change["plan"]["treatment"],
                   "paragraph": change["plan"]["paragraph"], "reason": change["plan"]["reason"],
                   "revenue_contract_version": plan.revenue_after.version, "approvals": change.get("approvals", []),
                   "effective": change["effective"], "catch_up": change["plan"]["revenue"]["catch_up"],
                   "lands_in": change["plan"]["revenue"]["period"]})])
        exception_store.resolve_open_for_aggregate(conn, work_kind=KIND, aggregate=item.aggregate)

    return write


# --- what a person does ------------------------------------------------------------------------------------


def get_change(conn: Connection, change_id: str) -> records.Record:
    rec = records.get_record(conn, entity=CHANGE, canonical_id=change_id)
    if rec is None:
        raise ChangeError(f"contract change {change_id} does not exist (see `q2c changes list`)")
    return rec


def list_changes(conn: Connection, *, include_ended: bool = False) -> list[records.Record]:
    states = None if include_ended else [s.value for s in OPEN_STATES]
    rows = records.list_records(conn, entity=CHANGE, states=states)
    return sorted(rows, key=lambda r: (str(r.payload["contract_id"]), int(r.payload["number"])))


def approve(hub: Hub, change_id: str, *, actor: str, treatment: ModificationTreatment | None = None,
            reason: str = "", effective: date | None = None) -> None:
    """Record a person's approval (with the treatment they choose and the effective date they set, if any) and
    queue the contract's change check, which applies the change when nothing else holds it."""
    with hub.engine.begin() as conn:
        rec = get_change(conn, change_id)
        if rec.state not in {s.value for s in OPEN_STATES}:
            raise ChangeError(f"contract change {change_id} is {rec.state}: there is nothing to approve")
        if rec.state == State.NEEDS_TREATMENT and treatment is None:
            raise ChangeError(f"contract change {change_id} needs its treatment chosen: {rec.payload['why_held']}")
        approval = {"by": actor, "at": _now(), "treatment": None if treatment is None else treatment.value,
                    "reason": reason, "effective": None if effective is None else effective.isoformat()}
        payload = {**rec.payload, "approvals": [*rec.payload.get("approvals", []), approval]}
        records.upsert_records(conn, [_record(payload, State(rec.state))])
        audit.append(conn, [audit.AuditEntry(actor=actor, system="q2c", action="change_approved", entity=CHANGE,
                                             record_id=change_id, correlation_id=uuid.uuid4().hex,
                                             after=approval)])
        enqueue_check(conn, str(rec.payload["contract_id"]))


def reject(hub: Hub, change_id: str, *, actor: str, reason: str) -> None:
    """The change is not applied; the same terms are not raised again until the CRM's deal changes."""
    if not reason.strip():
        raise ChangeError("say why the change is rejected (--reason)")
    with hub.engine.begin() as conn:
        rec = get_change(conn, change_id)
        if rec.state not in {s.value for s in OPEN_STATES}:
            raise ChangeError(f"contract change {change_id} is {rec.state}: it cannot be rejected")
        payload = {**rec.payload, "ended": {"at": _now(), "by": actor, "why": reason}}
        records.upsert_records(conn, [_record(payload, State.REJECTED)])
        audit.append(conn, [audit.AuditEntry(actor=actor, system="q2c", action="change_rejected", entity=CHANGE,
                                             record_id=change_id, correlation_id=uuid.uuid4().hex,
                                             before={"state": rec.state}, after={"why": reason})])
        exception_store.resolve_open_for_aggregate(conn, work_kind=KIND,
                                                   aggregate=f"contract:{rec.payload['contract_id']}")
