"""Time approved -> ERP.

Extract: `poll_time` reads time entries changed since the last pass from the time tracker, groups
each page by project and enqueues one work item per (page, project), with the inbox dropping a
group it has seen before. The cursor advances only when a whole pass has been enqueued, because
the tracker sorts by work date, not by update time.

Deliver: `deliver_time` takes a micro-batch of those items, checks every entry (project open,
task known, resource known and rated by the contract's rate card, hours sane, approval state,
edits after billing), rates the valid ones, upserts them to the ERP in one bulk call, and returns
the hub's writes (records, links, audit, exceptions) to commit with the items' completion.

Rating uses the rate card in force under the contract's card id, as the config has it now (see
`reference_data`), at the rate of each entry's work date; the copy on the contract is what was agreed
at setup. A card id the config no longer has holds the project's time in an exception naming the
contract and the card.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from q2c.domain.billing import BillingError, rate_time_entry
from q2c.domain.model import (
    BillingType,
    Contract,
    ContractPhase,
    Project,
    ProjectStatus,
    RateCard,
    TimeEntry,
    TimeEntryStatus,
)
from q2c.domain.naming import SystemNames
from q2c.domain.validation.time_entry import TimeRules, entry_violations, group_by_project, project_violations
from q2c.domain.violations import Violation
from q2c.engine.errors import Rejected
from q2c.engine.hashing import content_hash
from q2c.engine.tracing import change_span
from q2c.engine.worker import Effects, Outcome
from q2c.store import audit, cursors, inbox, links, overrides, queue, records
from q2c.store import exceptions as exception_store
from q2c.store.exceptions import Subject
from q2c.store.queue import WorkItem
from q2c.store.time_entries import BILLED, ENTITY, INVALID, OVER_CAP, OVER_CAP_RULE, PENDING_APPROVAL, POSTED, SYNCED
from q2c.workflows.hub import Hub
from q2c.workflows.ports import Timebill
from q2c.workflows.reference_data import publish_rate_cards, rate_card_problem, rate_cards_in_force
from q2c.workflows.time_corrections import apply_overrides

KIND = "time.deliver"
REMAP_KIND = "time.mapping"  # an entry that could not be read; replaying it re-reads it from the tracker
ACCOUNT_KIND = "time.account"  # the tracker account itself is set up so that time cannot flow as it should
# How far behind the pass start the cursor is kept, to cover clock skew and entries changed mid-pass.
CURSOR_OVERLAP = timedelta(minutes=5)

# Phases whose time is invoiced by the hour; time on the others is covered by a fee (fixed fee, milestones).
BILLED_BY_THE_HOUR = (BillingType.TIME_AND_MATERIALS, BillingType.RETAINER)


def entry_subject(raw: dict[str, Any]) -> Subject:
    """A time entry as an exception's subject: replaying the exception re-delivers this entry."""
    return Subject(ENTITY, str(raw["id"]), {"entries": [raw]})


def subjects_of_item(item: WorkItem) -> list[Subject]:
    """Every entry a time delivery item carries (for an item that fails as a whole)."""
    return [entry_subject(e) for e in item.payload.get("entries", []) if isinstance(e, dict) and "id" in e]


@dataclass
class PollStats:
    pages: int = 0
    entries: int = 0
    groups_enqueued: int = 0
    duplicates: int = 0
    rejects: int = 0
    unchanged: int = 0  # read again (the cursor's overlap, a re-listing) exactly as q2c already holds them


def cursor_name(hub: Hub) -> str:
    """Where the time poll left off, per time tracker (a tracker switched for another starts afresh)."""
    return f"{hub.tracker.names.system}.time_entries.updated_since"


def account_aggregate(hub: Hub) -> str:
    return f"{hub.tracker.names.system}:account"


def check_tracker_account(hub: Hub, *, correlation_id: str | None = None) -> list[Violation]:
    """Hold each problem of the tracker account in an open exception, and close those that are gone."""
    problems = hub.tracker.account_problems()
    with hub.engine.begin() as conn:
        exception_store.resolve_open_for_aggregate(conn, work_kind=ACCOUNT_KIND, aggregate=account_aggregate(hub),
                                                   except_rules=[v.rule for v in problems])
        for v in problems:
            exception_store.raise_exception(conn, v, work_kind=ACCOUNT_KIND, aggregate=account_aggregate(hub),
                                            payload={}, correlation_id=correlation_id or uuid.uuid4().hex)
    return problems


def recheck_tracker_account(hub: Hub, item: WorkItem) -> Effects | None:
    """Replay of an account problem: read the account again; the exception closes once it is fixed."""
    problems = hub.tracker.account_problems()
    if problems:
        raise Rejected(problems)

    def write(conn: Connection) -> None:
        exception_store.resolve_open_for_aggregate(conn, work_kind=ACCOUNT_KIND, aggregate=item.aggregate)

    return write


def poll_time(hub: Hub, *, started_at: datetime | None = None) -> PollStats:
    stats = PollStats()
    tracker = hub.tracker.names.system
    check_tracker_account(hub)
    with hub.engine.connect() as conn:
        stored = cursors.get_cursor(conn, cursor_name(hub))
    since = datetime.fromisoformat(stored) if stored else None
    pass_start = started_at or datetime.now().astimezone()
    high_water: datetime | None = None
    for page in hub.tracker.time_pages(since):
        stats.pages += 1
        stats.entries += len(page.entries)
        if page.high_water and (high_water is None or page.high_water > high_water):
            high_water = page.high_water
        with hub.engine.begin() as conn:
            fresh = _changed(conn, page.entries)
            stats.unchanged += len(page.entries) - len(fresh)
            for project_id, entries in group_by_project(fresh).items():
                dumped = [e.model_dump(mode="json") for e in entries]
                correlation = uuid.uuid4().hex
                # Keyed on content, not on updated_at: a tracker may stamp updates to the second, and two
                # edits within one second must not look like a duplicate delivery.
                key = f"{tracker}:time:{project_id}:{content_hash(dumped)}"
                with change_span("q2c.intake time_entries.changed", correlation, attributes={
                        "q2c.project_id": project_id, "q2c.entries": len(dumped), "q2c.source": tracker}):
                    event_id = inbox.record_event(conn, idempotency_key=key, source=tracker,
                                                  event_type="time_entries.changed",
                                                  aggregate=f"project:{project_id}", correlation_id=correlation)
                    if event_id is None:
                        stats.duplicates += 1
                        continue
                    queue.enqueue(conn, kind=KIND, aggregate=f"project:{project_id}", correlation_id=correlation,
                                  event_id=event_id, priority=queue.PRIORITY_TIME,
                                  payload={"entries": dumped})
                stats.groups_enqueued += 1
            for reject in page.rejects:
                stats.rejects += 1
                for v in reject.violations:
                    exception_store.raise_exception(conn, v, work_kind=REMAP_KIND,
                                                    aggregate=f"{tracker}:{v.record_id}", payload=reject.raw,
                                                    correlation_id=uuid.uuid4().hex,
                                                    subjects=[Subject(ENTITY, v.record_id)])
    if high_water is not None:
        new_cursor = min(high_water, pass_start - CURSOR_OVERLAP) if since is None or high_water > since else since
        if since is None or new_cursor > since:
            with hub.engine.begin() as conn:
                cursors.set_cursor(conn, cursor_name(hub), new_cursor.isoformat())
    return stats


_SETTLED = (*POSTED, PENDING_APPROVAL)  # states whose record is the entry's last word: nothing waits on it


def _entry_hash(raw: Mapping[str, Any]) -> str:
    """An entry's content as q2c compares it: without the tracker's stamp (an edit undone is the same entry)."""
    return content_hash({k: v for k, v in raw.items() if k != "source_updated_at"})


def _changed(conn: Connection, entries: list[TimeEntry]) -> list[TimeEntry]:
    """The entries q2c does not already hold, or carry, exactly as read: an entry read again unchanged (every
    poll reads the cursor's overlap again) is not queued a second time, whether it is recorded already or still
    waiting in an unfinished delivery (during an outage, polls would otherwise queue the same entries again and
    again, and the drain after it would grow with the polls, not the entries). One corrected in q2c by an
    override always goes on; one held by an exception goes on unless a waiting delivery carries it as it is."""
    if not entries:
        return entries
    ids = [e.id for e in entries]
    known = records.get_records(conn, entity=ENTITY, canonical_ids=ids)
    corrected = overrides.active(conn, entity=ENTITY, canonical_ids=[i for i in ids if i in known]) if known else {}
    waiting = _waiting(conn, {e.project_id for e in entries})
    out = []
    for e in entries:
        if e.id in corrected:
            out.append(e)
            continue
        digest = _entry_hash(e.model_dump(mode="json"))
        prev = known.get(e.id)
        if prev is not None and prev.state in _SETTLED and prev.content_hash == digest:
            continue
        if (e.id, digest) in waiting:
            continue
        out.append(e)
    return out


def _waiting(conn: Connection, project_ids: set[str]) -> set[tuple[str, str]]:
    """(entry id, content hash) of every entry an unfinished delivery of these projects carries."""
    payloads = queue.unfinished_payloads(conn, kind=KIND, aggregates=[f"project:{p}" for p in sorted(project_ids)])
    return {(str(raw["id"]), _entry_hash(raw)) for p in payloads for raw in p.get("entries", [])
            if isinstance(raw, Mapping) and "id" in raw}


@dataclass
class _Plan:
    """What delivery decided for one work item, before and after the ERP write."""

    item: WorkItem
    entries: list[TimeEntry]
    raw: dict[str, dict[str, Any]] = field(default_factory=dict)  # each entry as q2c uses it (overrides applied)
    source: dict[str, dict[str, Any]] = field(default_factory=dict)  # each entry as the tracker sent it
    used: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # entry -> field -> override used
    lapsed: list[tuple[overrides.Override, Any]] = field(default_factory=list)
    to_send: list[Timebill] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)
    pending: list[TimeEntry] = field(default_factory=list)
    invalid: list[tuple[TimeEntry, list[Violation]]] = field(default_factory=list)
    project_problems: list[Violation] = field(default_factory=list)
    blocked: list[TimeEntry] = field(default_factory=list)  # approved entries held back by project_problems
    unchanged: list[str] = field(default_factory=list)  # as posted: a duplicate, our own write, or an edit undone


def _plan(item: WorkItem, active: Mapping[str, list[overrides.Override]]) -> _Plan:
    plan = _Plan(item, [])
    for source in item.payload["entries"]:
        entry_id = str(source["id"])
        applied = apply_overrides(source, active.get(entry_id, []))
        plan.source[entry_id] = source
        plan.raw[entry_id] = applied.raw
        if applied.used:
            plan.used[entry_id] = applied.used
        plan.lapsed.extend(applied.lapsed)
        plan.entries.append(TimeEntry.model_validate(applied.raw))
    return plan


def deliver_time(hub: Hub, items: list[WorkItem]) -> Mapping[int, Outcome]:
    all_ids = [str(e["id"]) for item in items for e in item.payload["entries"]]
    with hub.engine.connect() as conn:
        active = overrides.active(conn, entity=ENTITY, canonical_ids=all_ids)
    plans = [_plan(item, active) for item in items]
    rules = hub.time_rules
    publish_rate_cards(hub)  # the hub's checks then judge this time by the card it is rated with
    cards = rate_cards_in_force(hub)
    project_ids = sorted({e.project_id for p in plans for e in p.entries})
    with hub.engine.connect() as conn:
        known = records.get_records(conn, entity=ENTITY, canonical_ids=all_ids)
        projects = {pid: Project.model_validate(r.payload) for pid, r in
                    records.get_records(conn, entity="project", canonical_ids=project_ids).items()}
        contract_ids = sorted({p.contract_id for p in projects.values()})
        contracts = {cid: Contract.model_validate(r.payload) for cid, r in
                     records.get_records(conn, entity="contract", canonical_ids=contract_ids).items()}
    states = hub.project_states.get(hub.erp, sorted(projects)) if projects else {}
    for pid, state in states.items():
        if state.status is ProjectStatus.CLOSED:
            projects[pid] = projects[pid].model_copy(update={"status": state.status, "closed_on": state.closed_on})
    for plan in plans:
        _check(hub, plan, known, projects, contracts, cards, rules)
    to_send = [t for p in plans for t in p.to_send]
    results = {r.canonical_id: r for r in hub.erp.upsert_timebills(to_send)} if to_send else {}
    return {plan.item.id: _effects(hub, plan, known, results) for plan in plans}


def _check(hub: Hub, plan: _Plan, known: Mapping[str, records.Record], projects: Mapping[str, Project],
           contracts: Mapping[str, Contract], cards: Mapping[str, RateCard], rules: TimeRules) -> None:
    approved: list[TimeEntry] = []
    resources = hub.resources
    tracker, erp = hub.tracker.names, hub.erp.names
    for entry in plan.entries:
        digest = content_hash({k: v for k, v in plan.raw[entry.id].items() if k != "source_updated_at"})
        plan.hashes[entry.id] = digest
        prev = known.get(entry.id)
        if prev is not None and prev.content_hash == digest and prev.state in POSTED:
            plan.unchanged.append(entry.id)  # a duplicate delivery, our own write coming back, or an edit undone
            continue
        if prev is not None and prev.state == BILLED:
            plan.invalid.append((entry, [_edited_after_billing(entry, prev, tracker)]))
            continue
        if entry.status is not TimeEntryStatus.APPROVED:
            if prev is not None and prev.state in (SYNCED, OVER_CAP):  # posted, not yet billed
                plan.invalid.append((entry, [Violation(
                    system=tracker.system, object=tracker.object("time_entry"), record_id=entry.id,
                    field=tracker.field("time_entry", "status"), rule="time.approval_withdrawn",
                    message=f"approval was withdrawn after the entry was posted to {erp.label} ({entry.hours} h on "
                            f"{entry.work_date})",
                    action=f"Re-approve the timesheet in {tracker.label}, or delete the "
                           f"{erp.object('time_entry')} in {erp.label} and resolve")]))
            elif entry.status is TimeEntryStatus.REJECTED:
                plan.invalid.append((entry, [Violation(
                    system=tracker.system, object=tracker.object("time_entry"), record_id=entry.id,
                    field=tracker.field("time_entry", "status"), rule="time.rejected",
                    message="the entry was rejected by its approver",
                    action=f"Correct and resubmit it in {tracker.label}")]))
            else:
                plan.pending.append(entry)
            continue
        approved.append(entry)
    if not approved:
        return
    project_id = approved[0].project_id
    project = projects.get(project_id)
    plan.project_problems = project_violations(project_id, project, approved, tracker=tracker, erp=erp)
    plan.blocked = approved
    if plan.project_problems or project is None:
        return
    contract = contracts.get(project.contract_id)
    if contract is None:
        plan.project_problems = [Violation(
            system="q2c", object="contract", record_id=project.contract_id, field=None, rule="time.contract_missing",
            message=f"project {project.id} has no contract {project.contract_id} in q2c, so its time cannot be rated "
                    f"({len(approved)} entries wait)",
            action="Replay the deal setup of the project's opportunity, then replay these entries")]
        return
    card = cards.get(contract.rate_card.id)
    card_problem = rate_card_problem(contract, card, waiting=len(approved))
    if card_problem is not None or card is None:
        plan.project_problems = [card_problem] if card_problem is not None else []
        return
    plan.blocked = []
    phases = {p.id: p for p in contract.phases}
    for entry in approved:
        resource = resources.get(entry.resource_id)
        problems = entry_violations(entry, project=project, resource=resource, rules=rules, tracker=tracker)
        if not problems and resource is not None:
            task = next((t for t in project.tasks if t.code == entry.task_code), None)
            try:
                rated = rate_time_entry(entry, role=resource.role, rate_card=card, task=task)
            except BillingError as exc:
                problems.append(Violation(
                    system="q2c", object="rate_card", record_id=card.id, field="role",
                    rule="time.not_rateable", message=f"entry {entry.id}: {exc}",
                    action=f"Fix rate card {card.id} so role '{resource.role}' has one rate in force "
                           f"on {entry.work_date} (or correct the resource's role), then replay"))
            else:
                phase = phases.get(task.phase_id) if task is not None and task.phase_id else None
                if rated.billable and phase is None:
                    problems.append(_no_billable_phase(entry, project, contract))
                else:
                    if phase is not None and not bills_by_the_hour(phase):
                        rated = rated.model_copy(update={"billable": False})  # covered by the phase's fee
                    plan.to_send.append(Timebill(entry, rated, task.id if task is not None else None,
                                                 service_offering=phase.service_offering if phase else None,
                                                 legal_entity=contract.legal_entity))
                    continue
        if problems:
            plan.invalid.append((entry, problems))


def _no_billable_phase(entry: TimeEntry, project: Project, contract: Contract) -> Violation:
    task = next((t for t in project.tasks if t.code == entry.task_code), None)
    return Violation(
        system="q2c", object="task", record_id=task.id if task is not None else f"{project.id}-{entry.task_code}",
        field="phase_id", rule="time.no_billable_phase",
        message=f"entry {entry.id} ({entry.hours} h on {entry.work_date}) is billable, but task {entry.task_code} of "
                f"project {project.id} belongs to no phase of contract {contract.id}, so it would never be invoiced",
        action=f"Move the entry in the time tracker to a task of one of the contract's phases "
               f"({', '.join(p.id for p in contract.phases)}), or mark it non-billable, then replay")


def bills_by_the_hour(phase: ContractPhase) -> bool:
    return phase.billing_type in BILLED_BY_THE_HOUR


def _edited_after_billing(entry: TimeEntry, prev: records.Record, tracker: SystemNames) -> Violation:
    before = prev.payload.get("entry", {})
    changes = [f"{k} {before.get(k)} -> {v}" for k, v in entry.model_dump(mode="json").items()
               if k in ("hours", "work_date", "task_code", "billable", "resource_id") and before.get(k) != v]
    invoice = prev.payload.get("invoice_id") or "an invoice"
    return Violation(
        system=tracker.system, object=tracker.object("time_entry"), record_id=entry.id,
        field=tracker.field("time_entry", "hours"), rule="time.edited_after_billing",
        message=f"the entry was changed in {tracker.label} after it was billed on {invoice} "
                f"({'; '.join(changes) or 'edited'})",
        action=f"Revert the edit in {tracker.label}, or credit the entry's lines on {invoice} and re-bill the "
               "corrected time with `q2c invoices rebill <this exception's id>`")


def _effects(hub: Hub, plan: _Plan, known: Mapping[str, records.Record], results: Mapping[str, Any]) -> Outcome:
    item = plan.item
    aggregate = item.aggregate

    def record(entry: TimeEntry, state: str, rated: dict[str, Any] | None = None) -> records.Record:
        payload: dict[str, Any] = {"entry": plan.raw[entry.id]}
        if rated is not None:
            payload["rated"] = rated
        if entry.id in plan.used:
            payload["overrides"] = plan.used[entry.id]
        return records.Record(ENTITY, entry.id, aggregate, state, entry.schema_version, plan.hashes[entry.id], payload)

    def keep_or(entry: TimeEntry, state: str) -> records.Record | None:
        """A posted entry keeps its record (the ERP still has that version); others take `state`."""
        prev = known.get(entry.id)
        return None if prev is not None and prev.state in POSTED else record(entry, state)

    erp = hub.erp.names

    def write(conn: Connection) -> None:
        rows: list[records.Record] = []
        link_rows: list[links.Link] = []
        trail: list[audit.AuditEntry] = []
        problems: list[tuple[Violation, list[TimeEntry]]] = []
        warnings: list[Violation] = []
        posted: list[dict[str, Any]] = []  # one audit entry for the batch, listing each timebill before/after
        # entry -> the exceptions it still breaks after this delivery; an entry back as it was posted (an edit
        # or a withdrawal undone in the tracker) breaks none of them any more
        settled: dict[str, list[int]] = {entry_id: [] for entry_id in plan.unchanged}
        for timebill in plan.to_send:
            entry = timebill.entry
            settled[entry.id] = []
            result = results.get(entry.id)
            if result is None or result.violation is not None:
                v = result.violation if result is not None else Violation(
                    system=erp.system, object=erp.object("time_entry"), record_id=entry.id, field=None,
                    rule="erp.no_result", message=f"{erp.label} returned no result for this entry",
                    action="Replay the entry")
                problems.append((v, [entry]))
                kept = keep_or(entry, INVALID)
                if kept is not None:
                    rows.append(kept)
                continue
            prev = known.get(entry.id)
            rated = timebill.rated.model_dump(mode="json")
            rows.append(record(entry, SYNCED, rated))
            link_rows.append(links.Link(ENTITY, entry.id, erp.system, result.external_id or entry.id,
                                        plan.hashes[entry.id], plan.raw[entry.id].get("source_updated_at")))
            posted.append({"id": entry.id, "erp_id": result.external_id,
                           "before": _summary(prev.payload) if prev is not None and prev.state != INVALID else None,
                           "after": rated, **({"overrides": plan.used[entry.id]} if entry.id in plan.used else {})})
            warnings.extend(result.warnings)
        for entry in plan.pending:
            settled[entry.id] = []
            rows.append(record(entry, PENDING_APPROVAL))
        for entry, violations in plan.invalid:
            settled[entry.id] = []
            kept = keep_or(entry, INVALID)
            if kept is not None:
                rows.append(kept)
            problems.extend((v, [entry]) for v in violations)
        if plan.project_problems:
            for entry in plan.blocked:
                settled[entry.id] = []
                kept = keep_or(entry, INVALID)
                if kept is not None:
                    rows.append(kept)
            problems.extend((v, plan.blocked) for v in plan.project_problems)
        records.upsert_records(conn, rows)
        links.upsert_links(conn, link_rows)
        for v, entries in problems:
            exception_id = exception_store.raise_exception(
                conn, v, work_kind=KIND, aggregate=aggregate, correlation_id=item.correlation_id,
                payload={"entries": [plan.source[e.id] for e in entries]}, work_item_id=item.id,
                subjects=[entry_subject(plan.source[e.id]) for e in entries])
            for e in entries:
                settled.setdefault(e.id, []).append(exception_id)
            trail.append(audit.AuditEntry(actor=hub.actor, system=v.system, action="exception", entity=v.object,
                                          record_id=v.record_id, correlation_id=item.correlation_id,
                                          after={"rule": v.rule, "message": v.message,
                                                 "records": [e.id for e in entries]}))
        for w in warnings:
            exception_store.raise_exception(
                conn, w, work_kind=KIND, aggregate=aggregate, correlation_id=item.correlation_id, payload={},
                work_item_id=item.id, subjects=[Subject(ENTITY, w.record_id)], status=exception_store.WARNING)
            trail.append(audit.AuditEntry(actor=hub.actor, system=w.system, action="warning", entity=w.object,
                                          record_id=w.record_id, correlation_id=item.correlation_id,
                                          after={"rule": w.rule, "field": w.field, "message": w.message}))
        exception_store.settle_subjects(conn, entity=ENTITY, current=settled, except_rules=[OVER_CAP_RULE])
        for o, now in plan.lapsed:
            overrides.lapse(conn, entity=o.entity, canonical_id=o.canonical_id, field=o.field)
            trail.append(audit.AuditEntry(
                actor=hub.actor, system="q2c", action="override_lapsed", entity=ENTITY, record_id=o.canonical_id,
                correlation_id=item.correlation_id,
                before={"field": o.field, "value": o.value, "corrected": o.source_value, "by": o.actor},
                after={"field": o.field, "tracker_value": now,
                       "why": "the time tracker changed the field itself; its value counts again"}))
        if posted:
            trail.append(audit.AuditEntry(
                actor=hub.actor, system=erp.system, action="upsert", entity=erp.object("time_entry"),
                record_id=aggregate,
                correlation_id=item.correlation_id, before=None,
                after={"work_item": item.id, "count": len(posted), "timebills": posted}))
        audit.append(conn, trail)

    return write


def _summary(payload: dict[str, Any]) -> dict[str, Any]:
    summary = payload.get("rated") or {"hours": payload.get("entry", {}).get("hours")}
    return dict(summary)


def remap_time_entry(hub: Hub, item: WorkItem) -> Effects | None:
    """Replay of an unreadable entry: read it again (or take the corrected payload) and deliver it if it maps."""
    page = hub.tracker.reread(item.payload)
    if page.rejects:
        raise Rejected([v for r in page.rejects for v in r.violations])

    def write(conn: Connection) -> None:
        for project_id, entries in group_by_project(page.entries).items():
            queue.enqueue(conn, kind=KIND, aggregate=f"project:{project_id}", correlation_id=item.correlation_id,
                          priority=queue.PRIORITY_TIME, replay_of=item.id,
                          payload={"entries": [e.model_dump(mode="json") for e in entries]})
        exception_store.resolve_open_for_aggregate(conn, work_kind=REMAP_KIND, aggregate=item.aggregate)

    return write
