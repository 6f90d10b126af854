"""Billing: time-and-materials invoice runs from approved unbilled time, milestone billing on completion,
and fixed fees by their billing schedule (percentages on dates, as sold) or else monthly, as invoices in the ERP.

`enqueue_billing` puts one item per active contract on the close lane (ahead of everything else);
`bill_contract` handles one. Rules it keeps:

* Nothing is dated inside a closed period: a run asked for a date in a closed period dates its
  invoices on the first day of the first open period, and the audit trail names the date asked for.
  Only work done up to the date asked for is billed.
* An invoice, once recorded, is never changed by a later run: each run's invoice gets its own id
  (`INV-<phase>-<yyyymmdd>`, then `-2`, `-3`, ... on the same day). A retry after a crash, before the
  run was recorded, re-uses the id, so the ERP upsert repeats instead of raising a second invoice.
* Time over a not-to-exceed cap is never silently dropped: the entries wholly over it, and the part of
  the crossing entry the cap line took off, are held by a `time.over_cap` exception naming each entry.
  Every later run offers them again; when room appears (a change order raised the cap) they are billed
  and the exception closes by itself.
* Release (`billing.release`): under `auto` each invoice goes to the ERP in the run (upsert on its id)
  and is recorded `released`; under `review` it stays a `draft` in q2c, holding its time, its milestone
  or instalment and its share of the cap, until a person approves or rejects it (`invoice_review`).
  Revenue follows the ERP's status, so a draft is never recognised.
* What an invoice bills is read net of the credit notes and void reversals that take it back: a
  milestone or instalment on a voided invoice is billed again, under a new id (`INV-<milestone>-2`).
* A run given `entry_ids` (a re-bill after a credit note) bills those time entries only: no milestone,
  no instalment, no other time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from q2c.domain.billing import (
    HeldBack,
    RatedTime,
    fixed_fee_schedule,
    milestone_invoice,
    respread,
    schedule_invoice,
    time_and_materials_invoice,
    unique_invoice_id,
)
from q2c.domain.model import BillingType, Contract, ContractPhase, Invoice, MilestoneStatus, Project
from q2c.domain.money import Money
from q2c.domain.revenue import Placement
from q2c.domain.violations import Violation
from q2c.engine.errors import Rejected
from q2c.engine.hashing import content_hash
from q2c.engine.worker import Effects
from q2c.store import audit, links, records, time_entries
from q2c.store import exceptions as exception_store
from q2c.store.exceptions import Subject
from q2c.store.queue import WorkItem
from q2c.workflows import contract_versions
from q2c.workflows.hub import Hub
from q2c.workflows.integrity import contract_violations
from q2c.workflows.periods import load_calendar
from q2c.workflows.retainer_billing import bill_retainer_phase

KIND = "billing.contract"
REJECTED_BOOKS = "rejected:"  # the aggregate prefix of rejected drafts: out of the contract's books, still readable
RELEASED, DRAFT = "released", "draft"  # invoice record states the run writes (the ERP's status replaces them)


def enqueue_billing(hub: Hub, *, invoice_date: date) -> int:
    return hub.enqueue_per_contract(KIND, invoice_date=invoice_date.isoformat())


def contract_subject(item: WorkItem) -> list[Subject]:
    """A billing or revenue item that fails as a whole holds up its contract."""
    contract_id = item.payload.get("contract_id")
    return [Subject("contract", str(contract_id))] if contract_id else []


@dataclass
class _Billed:
    invoice: Invoice | None
    phase: ContractPhase
    entry_ids: tuple[str, ...] = ()
    over_cap: list[RatedTime] = field(default_factory=list)  # wholly over the cap, still unbilled
    held_back: tuple[HeldBack, ...] = ()  # billed, with a part the cap keeps back
    released: tuple[HeldBack, ...] = ()
    milestone_id: str | None = None
    explanation: str = ""
    erp_ref: str = ""


@dataclass
class _Run:
    asked: date
    placement: Placement
    project_id: str | None
    billed: list[_Billed] = field(default_factory=list)
    tm_phases: list[str] = field(default_factory=list)  # phases whose over-cap holds are settled by this run
    only: frozenset[str] | None = None  # a re-bill: these time entries and nothing else
    release: str = "auto"
    taken: set[str] = field(default_factory=set)  # invoice ids used so far, rejected drafts' too


def release_policy(hub: Hub, item: WorkItem) -> str:
    """`auto` or `review`: the run's own (a re-bill releases at once) or the configured one."""
    asked = item.payload.get("release")
    return str(asked) if asked in ("auto", "review") else hub.config.billing.release


def net_billed(documents: Sequence[Invoice], key: str) -> set[str]:
    """Milestone (`key` "milestone_id") or instalment ids billed now: on more invoices than credit documents."""
    count: dict[str, int] = {}
    for doc in documents:
        step = 1 if doc.kind == "invoice" else -1
        for ref in {getattr(line, key) for line in doc.lines if getattr(line, key)}:
            count[ref] = count.get(ref, 0) + step
    return {ref for ref, n in count.items() if n > 0}


def taken_ids(conn: Connection, contract_id: str) -> set[str]:
    """Every invoice id the contract has used, its rejected drafts' too: an id is never given twice."""
    return {r.canonical_id for aggregate in (f"contract:{contract_id}", f"{REJECTED_BOOKS}contract:{contract_id}")
            for r in records.list_records(conn, entity="invoice", aggregate=aggregate)}



def bill_contract(hub: Hub, item: WorkItem) -> Effects | None:
    contract_id = str(item.payload["contract_id"])
    asked = date.fromisoformat(str(item.payload["invoice_date"]))
    with hub.engine.connect() as conn:
        contract_rec = records.get_record(conn, entity="contract", canonical_id=contract_id)
        if contract_rec is None:
            return None
        contract = Contract.model_validate(contract_rec.payload)
        project = next((Project.model_validate(r.payload) for r in
                        records.list_records(conn, entity="project", aggregate=f"contract:{contract_id}")), None)
        invoices = [Invoice.model_validate(r.payload) for r in
                    records.list_records(conn, entity="invoice", aggregate=f"contract:{contract_id}")]
        rated = time_entries.unbilled_rated(conn, project.id) if project is not None else []
        waiting = time_entries.over_cap_ids(conn, project.id) if project is not None else set()
        held = time_entries.held_back(conn, project.id) if project is not None else {}
        calendar = load_calendar(conn, contract.legal_entity)
        broken = contract_violations(conn, contract)
        taken = taken_ids(conn, contract_id)
    if broken:
        raise Rejected(broken)  # nothing is billed for a contract whose time does not add up
    run = _Run(asked, calendar.place(asked), project.id if project is not None else None,
               release=release_policy(hub, item), taken=taken)
    if "entry_ids" in item.payload:
        run.only = frozenset(str(e) for e in item.payload["entry_ids"])
        rated = [r for r in rated if r.entry_id in run.only]
        held = {e: h for e, h in held.items() if e in run.only}
    contract = with_current_milestones(hub, contract)
    for phase in contract.phases:
        if phase.billing_type is BillingType.TIME_AND_MATERIALS and project is not None:
            run.tm_phases.append(phase.id)
            _bill_time(run, contract, phase, project, invoices, rated, waiting, held, taken)
        elif phase.milestones:
            _bill_milestones(run, contract, phase, invoices)
        elif phase.billing_type is BillingType.FIXED_FEE:
            _bill_schedule(run, contract, phase, invoices, taken)
        elif phase.billing_type is BillingType.RETAINER and run.only is None:  # a re-bill bills time only
            retained = bill_retainer_phase(hub, contract, phase, project, invoices, rated, taken, asked=run.asked,
                                           post_date=run.placement.post_date)
            if retained.invoice is not None:
                run.billed.append(_Billed(retained.invoice, phase, retained.entry_ids,
                                          explanation=retained.explanation))
    for b in run.billed:
        if b.invoice is not None and run.release == "auto":
            b.erp_ref = hub.erp.upsert_invoice(b.invoice, legal_entity=contract.legal_entity,
                                               project_id=project.id if project is not None else None,
                                               offerings={p.id: p.service_offering for p in contract.phases})
    return _effects(hub, item, contract, run)


def _dated(run: _Run, invoice: Invoice, taken: set[str]) -> Invoice:
    taken.add(invoice.id)
    return invoice.model_copy(update={"invoice_date": run.placement.post_date})


def _bill_time(run: _Run, contract: Contract, phase: ContractPhase, project: Project, invoices: Sequence[Invoice],
               rated: Sequence[RatedTime], waiting: set[str], held: dict[str, tuple[str, HeldBack]],
               taken: set[str]) -> None:
    """`waiting`: entries already over the cap; those this run does not bill stay over it (and named)."""
    phase_tasks = {t.code for t in project.tasks if t.phase_id in (None, phase.id)}
    offered = [r for r in rated if r.task_code in phase_tasks]
    holds = [h for code, h in held.values() if code in phase_tasks]
    billed_to_date = sum((line.amount for inv in invoices for line in inv.lines if line.phase_id == phase.id),
                         start=Money.zero(contract.currency))
    base = f"INV-{phase.id}-{run.placement.post_date:%Y%m%d}"
    result = time_and_materials_invoice(
        invoice_id=unique_invoice_id(base, taken), contract=contract, phase=phase, rated=offered,
        billed_to_date=billed_to_date, invoice_date=run.asked, held_back=holds)
    invoice = _dated(run, result.invoice, taken) if result.invoice is not None else None
    wholly_over = (set(result.over_cap_entry_ids) | waiting) - set(result.billed_entry_ids)
    run.billed.append(_Billed(invoice, phase, result.billed_entry_ids,
                              [r for r in offered if r.entry_id in wholly_over], result.held_back, result.released,
                              explanation=result.explanation))


def _bill_milestones(run: _Run, contract: Contract, phase: ContractPhase, invoices: Sequence[Invoice]) -> None:
    if run.only is not None:
        return  # a re-bill bills time only
    billed = net_billed(invoices, "milestone_id")
    used = run.taken
    for milestone in phase.milestones:
        if milestone.status is MilestoneStatus.PENDING or milestone.id in billed:
            continue
        if milestone.completed_on is not None and milestone.completed_on > run.asked:
            continue  # reached after the date asked for: the next run bills it
        invoice_id = unique_invoice_id(f"INV-{milestone.id}", used)  # billed again after a void: under a new id
        used.add(invoice_id)
        invoice = milestone_invoice(invoice_id=invoice_id, contract=contract, phase=phase,
                                    milestone=milestone, invoice_date=run.asked)
        run.billed.append(_Billed(invoice.model_copy(update={"invoice_date": run.placement.post_date}), phase,
                                  milestone_id=milestone.id,
                                  explanation=f"milestone '{milestone.name}' {milestone.status.value}"))


def _bill_schedule(run: _Run, contract: Contract, phase: ContractPhase, invoices: Sequence[Invoice],
                   taken: set[str]) -> None:
    if run.only is not None or (contract.end_date is None and not phase.billing_schedule):
        return  # a re-bill bills time; a fixed fee billed monthly without the contract term is refused at setup
    billed_amounts: dict[str, Money] = {}
    for inv in invoices:
        for line in inv.lines:
            if line.instalment_id and line.phase_id == phase.id:
                billed_amounts[line.instalment_id] = billed_amounts.get(
                    line.instalment_id, Money.zero(contract.currency)) + line.amount
    billed_amounts = {i: m for i, m in billed_amounts.items() if m.amount}  # taken back in full (a void): due again
    # after a change of the fee or the term, what is billed stays billed and the rest carries the new fee: over
    # the open months equally, or over the open instalments of a schedule sold in percentages in proportion
    schedule = respread(fixed_fee_schedule(phase, start=contract.start_date, end=contract.end_date),
                        billed_amounts, proportional=bool(phase.billing_schedule))
    billed = set(billed_amounts)
    base = f"INV-{phase.id}-{run.placement.post_date:%Y%m%d}"
    invoice = schedule_invoice(invoice_id=unique_invoice_id(base, taken), contract=contract, phase=phase,
                               schedule=schedule, invoice_date=run.asked, billed_instalment_ids=billed)
    if invoice is not None:
        run.billed.append(_Billed(_dated(run, invoice, taken), phase,
                                  explanation=f"{len(invoice.lines)} instalment(s) of the fixed fee due by "
                                              f"{run.asked.isoformat()}"))


def with_current_milestones(hub: Hub, contract: Contract) -> Contract:
    """The contract's milestones with their status as the CRM holds it now (the deal's and its change orders').

    Only the milestones of the terms in force count: one the CRM added since is part of a contract change
    that is not applied yet (see `contract_versions.with_milestone_status`)."""
    if not any(p.milestones for p in contract.phases):
        return contract
    with hub.engine.connect() as conn:
        terms = contract_versions.load_terms(conn, contract.id)
    deals = [contract.opportunity_id, *(co.id for co in (terms.change_orders if terms else ()))]
    live = {m.id: m for opportunity_id in deals for line in hub.crm.deal(opportunity_id).opportunity.lines
            for m in line.milestones}
    return contract_versions.with_milestone_status(contract, live)


def over_cap_violation(contract: Contract, phase: ContractPhase, over: Sequence[RatedTime],
                       held: Sequence[HeldBack]) -> Violation:
    amount = sum((r.amount.amount for r in over), Decimal(0)) + sum((h.amount.amount for h in held), Decimal(0))
    hours = sum((r.hours for r in over), Decimal(0))
    ids = [r.entry_id for r in over] + [h.entry_id for h in held]
    shown = ", ".join(ids[:8]) + (" …" if len(ids) > 8 else "")
    parts = [f"{len(over)} entries ({hours:f} h) wholly over it"] if over else []
    parts += [f"{Money(amount=sum((h.amount.amount for h in held), Decimal(0)), currency=contract.currency)} "
              f"held back of {len(held)} billed entr{'y' if len(held) == 1 else 'ies'}"] if held else []
    return Violation(
        system="q2c", object="contract", record_id=contract.id, field=f"phases[{phase.id}].cap",
        rule=time_entries.OVER_CAP_RULE,
        message=f"{Money(amount=amount, currency=contract.currency)} of approved time is over the not-to-exceed cap "
                f"{phase.cap} of phase '{phase.name}' and not billed: {'; '.join(parts)} ({shown})",
        action="Write it off (ignore this exception), or have the cap raised by an approved change order: the "
               "next billing run then bills it and this exception closes by itself")


def _effects(hub: Hub, item: WorkItem, contract: Contract, run: _Run) -> Effects | None:
    erp = hub.erp.names.system

    def write(conn: Connection) -> None:
        trail: list[audit.AuditEntry] = []
        held_now: dict[str, list[int]] = {}  # entry -> over-cap exceptions holding it after this run
        for b in run.billed:
            entries = records.get_records(conn, entity=time_entries.ENTITY, canonical_ids=[
                *b.entry_ids, *(r.entry_id for r in b.over_cap), *(h.entry_id for h in b.held_back),
                *(h.entry_id for h in b.released)])
            for entry_id in entries:
                held_now.setdefault(entry_id, [])
            if b.invoice is not None:
                payload = b.invoice.model_dump(mode="json")
                digest = content_hash(payload)
                released = run.release == "auto"
                records.upsert_records(conn, [records.Record("invoice", b.invoice.id, f"contract:{contract.id}",
                                                             RELEASED if released else DRAFT,
                                                             b.invoice.schema_version, digest, payload)])
                if released:
                    links.upsert_links(conn, [links.Link("invoice", b.invoice.id, erp, b.erp_ref, digest, None)])
                after: dict[str, Any] = {"total": str(b.invoice.total.amount), "currency": b.invoice.currency,
                                         "invoice_date": b.invoice.invoice_date.isoformat(),
                                         "entries": len(b.entry_ids), "milestone": b.milestone_id,
                                         "why": b.explanation,
                                         "release": "released to the ERP" if released else "draft, in review"}
                if run.placement.late:
                    after["asked_for"] = run.asked.isoformat()
                    after["note"] = run.placement.note
                trail.append(audit.AuditEntry(actor=hub.actor, system=erp, action="invoice", entity="invoice",
                                              record_id=b.invoice.id, correlation_id=item.correlation_id,
                                              after=after))
            _mark_time(conn, entries, b)
            if b.over_cap or b.held_back:
                v = over_cap_violation(contract, b.phase, b.over_cap, b.held_back)
                # Replaying it re-runs this contract's billing: after a cap increase that bills the time.
                subjects = [Subject(time_entries.ENTITY, e) for e in
                            [*(r.entry_id for r in b.over_cap), *(h.entry_id for h in b.held_back)]]
                rerun = {k: x for k, x in item.payload.items() if k in ("contract_id", "invoice_date")}  # a whole run
                exception_id = exception_store.raise_exception(
                    conn, v, work_kind=KIND, aggregate=item.aggregate, payload=rerun,
                    correlation_id=item.correlation_id, subjects=subjects)
                for s in subjects:
                    held_now[s.record_id] = [exception_id]
                trail.append(audit.AuditEntry(
                    actor=hub.actor, system="q2c", action="over_cap", entity="contract", record_id=contract.id,
                    correlation_id=item.correlation_id,
                    after={"rule": v.rule, "message": v.message, "entries": [s.record_id for s in subjects]}))
        exception_store.settle_subjects(conn, entity=time_entries.ENTITY, current=held_now,
                                        rules=[time_entries.OVER_CAP_RULE])
        exception_store.resolve_open_for_aggregate(conn, work_kind=KIND, aggregate=item.aggregate,
                                                   except_rules=[time_entries.OVER_CAP_RULE])
        audit.append(conn, trail)

    return write


def _mark_time(conn: Connection, entries: dict[str, records.Record], b: _Billed) -> None:
    """Billed entries become billed on the invoice; what the cap keeps back is remembered on the entry."""
    time_entries.record_billing(conn, entries, invoice_id=b.invoice.id if b.invoice is not None else None,
                                billed=b.entry_ids, over_cap=[x.entry_id for x in b.over_cap],
                                held={h.entry_id: h.amount.amount for h in b.held_back},
                                released=[h.entry_id for h in b.released])
