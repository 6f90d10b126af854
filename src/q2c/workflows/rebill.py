"""Credit note and re-bill: billed time edited in the time tracker, taken back to the cent and billed as corrected.

From a `time.edited_after_billing` exception, `request_rebill` queues the work on the contract's aggregate
(`invoice.rebill`, ordered with its billing runs), in two steps:

1. credit: for each invoice that bills the edited entries now, a credit note of exactly their lines (their
   cap and release lines too: `credit_notes.credit_note`), `CN-<n>-<invoice id>`, dated the day asked for
   (the first open day if that is in a closed period). Each goes to the ERP, applied to the invoice it
   credits (left unapplied when that invoice is paid already, as a credit on the customer's account). The
   entries become unbilled, and the exception is replayed: the corrected entries are delivered like any
   edit of unbilled time (rated again at the rate in force on their date, their ERP time records updated).
2. bill: once that delivery is done, a billing run of those entries only, released at once (whoever asked
   for the re-bill has reviewed it), dated like the credit. The exception closes.

A corrected entry that now breaks a rule (approval withdrawn, hours over the limit) is held by the exception
its delivery raises, and is not re-billed: the credit stands and nothing is lost. The credit note and the new
invoice reach the revenue engine like any document: T&M is recognised as invoiced, so the next close
recognises the difference. Each step is idempotent: a retry repeats the ERP upserts on the same ids, and the
hub's side is written once, with the step's completion. Progress is kept on a `rebill` record per exception,
so asking again resumes the work or says it is done.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection

from q2c.domain.billing import CreditNoteRefused
from q2c.domain.billing.credit_notes import (
    CREDITABLE,
    credit_note,
    credit_note_id,
    credited_invoice_id,
    entries_billed_on,
)
from q2c.domain.model import Contract, Invoice, Project
from q2c.domain.violations import Violation
from q2c.engine.errors import Rejected, TransientError
from q2c.engine.hashing import content_hash
from q2c.engine.replay import replay_payload
from q2c.engine.worker import Effects
from q2c.store import audit, links, queue, records, time_entries
from q2c.store import exceptions as exception_store
from q2c.store.queue import WorkItem
from q2c.workflows import billing_run, time_approved
from q2c.workflows.hub import Hub
from q2c.workflows.invoice_review import IN_REVIEW, ReviewRefused, books, record_document, standing_of, unbill
from q2c.workflows.periods import load_calendar

KIND = "invoice.rebill"
RULE = "time.edited_after_billing"
ENTITY = "rebill"  # one record per exception: what the re-bill does and how far it got
REQUESTED, CREDITED, DONE = "requested", "credited", "done"


class RebillRefused(ReviewRefused):
    """A re-bill that cannot be done as asked; the message names the record and field."""


@dataclass(frozen=True)
class RebillStanding:
    exception_id: int
    contract_id: str
    state: str  # requested | credited | done
    entry_ids: tuple[str, ...]
    on: date
    work_item_id: int | None = None
    credit_notes: tuple[str, ...] = ()
    invoices: tuple[str, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)


def _standing(r: records.Record, work_item_id: int | None = None) -> RebillStanding:
    p = r.payload
    return RebillStanding(int(p["exception_id"]), str(p["contract_id"]), r.state, tuple(p["entries"]),
                          date.fromisoformat(p["on"]), work_item_id, tuple(p.get("credit_notes", ())),
                          tuple(p.get("invoices", ())), dict(p))


def rebill_standing(hub: Hub, exception_id: int) -> RebillStanding | None:
    with hub.engine.connect() as conn:
        r = records.get_record(conn, entity=ENTITY, canonical_id=str(exception_id))
    return None if r is None else _standing(r)


def _save(conn: Connection, contract_id: str, exception_id: int, state: str, payload: dict[str, Any]) -> None:
    records.upsert_records(conn, [records.Record(ENTITY, str(exception_id), books(contract_id), state, 1,
                                                 content_hash(payload), payload)])


def request_rebill(hub: Hub, exception_id: int, *, on: date, actor: str) -> RebillStanding:
    """Check the exception and queue its re-bill; asked again, the re-bill under way (or done) is returned."""
    with hub.engine.begin() as conn:
        known = records.get_record(conn, entity=ENTITY, canonical_id=str(exception_id))
        if known is not None:
            return _standing(known)
        row = exception_store.get(conn, exception_id)
        if row is None:
            raise RebillRefused(f"exception {exception_id} does not exist (`q2c exceptions list` shows the ids)")
        if row.violation.rule != RULE:
            raise RebillRefused(f"exception {exception_id} field rule is '{row.violation.rule}': only a {RULE} "
                                "exception is re-billed (replay or resolve the others)")
        if row.status != exception_store.OPEN:
            raise RebillRefused(f"exception {exception_id} field status is '{row.status}': only an open exception "
                                "is re-billed")
        entry_ids = sorted({s.record_id for s in row.open_subjects if s.entity == time_entries.ENTITY})
        found = records.get_records(conn, entity=time_entries.ENTITY, canonical_ids=entry_ids)
        contract_id = None
        latest: date | None = None
        for entry_id in entry_ids:
            r = found.get(entry_id)
            if r is None or r.state != time_entries.BILLED or not r.payload.get("invoice_id"):
                state = r.state if r is not None else "unknown"
                raise RebillRefused(f"time entry {entry_id} field state is '{state}': it is not billed, so there is "
                                    f"nothing to credit (replay exception {exception_id} to deliver the edit)")
            invoice_id = str(r.payload["invoice_id"])
            invoice_rec = records.get_record(conn, entity="invoice", canonical_id=invoice_id)
            if invoice_rec is None:
                raise RebillRefused(f"time entry {entry_id} field invoice_id: invoice {invoice_id} is not in q2c")
            erp = links.get_link(conn, entity="invoice", system=hub.erp.names.system, canonical_id=invoice_id)
            if standing_of(invoice_rec, erp.external_id if erp is not None else None) == IN_REVIEW:
                raise RebillRefused(
                    f"invoice {invoice_id} field status is '{IN_REVIEW}': a draft is not credited. Reject it "
                    f"(`q2c invoices reject {invoice_id} --reason ...`), then replay exception {exception_id}: "
                    "the corrected time is billed by the next run")
            contract_id = invoice_rec.aggregate.removeprefix("contract:")
            day = date.fromisoformat(str(invoice_rec.payload["invoice_date"]))
            latest = day if latest is None or day > latest else latest
        if contract_id is None:
            raise RebillRefused(f"exception {exception_id} holds no open time entry to re-bill")
        if latest is not None and on < latest:
            raise RebillRefused(f"rebill of exception {exception_id} field date: {on.isoformat()} is before the "
                                f"credited invoice's date {latest.isoformat()}")
        payload = {"exception_id": exception_id, "contract_id": contract_id, "entries": entry_ids,
                   "on": on.isoformat(), "actor": actor}
        _save(conn, contract_id, exception_id, REQUESTED, payload)
        correlation = uuid.uuid4().hex
        item_id = queue.enqueue(conn, kind=KIND, aggregate=books(contract_id), priority=queue.PRIORITY_CLOSE,
                                correlation_id=correlation,
                                payload={"exception_id": exception_id, "contract_id": contract_id, "step": "credit"})
        audit.append(conn, [audit.AuditEntry(
            actor=actor, system="q2c", action="rebill_requested", entity="time_entry", record_id=entry_ids[0],
            correlation_id=correlation, before={"exception": exception_id, "rule": RULE},
            after={"entries": entry_ids, "contract": contract_id, "date": on.isoformat(),
                   "work_item": item_id})])
        return RebillStanding(exception_id, contract_id, REQUESTED, tuple(entry_ids), on, item_id)


def rebill_step(hub: Hub, item: WorkItem) -> Effects | None:
    exception_id = int(item.payload["exception_id"])
    with hub.engine.connect() as conn:
        plan = records.get_record(conn, entity=ENTITY, canonical_id=str(exception_id))
    if plan is None:
        return None
    if item.payload.get("step") == "credit" and plan.state == REQUESTED:
        return _credit(hub, item, plan)
    if item.payload.get("step") == "bill" and plan.state == CREDITED:
        return _bill(hub, item, plan)
    return None  # done already: a duplicate or a retry after the step was recorded


def _credit(hub: Hub, item: WorkItem, plan: records.Record) -> Effects:
    p = dict(plan.payload)
    contract_id, entry_ids, actor = str(p["contract_id"]), list(p["entries"]), str(p["actor"])
    erp = hub.erp.names.system
    with hub.engine.connect() as conn:
        row = exception_store.get(conn, int(p["exception_id"]))
        contract = Contract.model_validate(_required(conn, "contract", contract_id).payload)
        project = next((Project.model_validate(r.payload) for r in
                        records.list_records(conn, entity="project", aggregate=books(contract_id))), None)
        documents = [Invoice.model_validate(r.payload) for r in
                     records.list_records(conn, entity="invoice", aggregate=books(contract_id))]
        taken = billing_run.taken_ids(conn, contract_id)
        calendar = load_calendar(conn, contract.legal_entity)
    if row is None or row.status != exception_store.OPEN:
        raise Rejected([_refused("exception", str(p["exception_id"]),
                                 f"exception {p['exception_id']} is no longer open ({row.status if row else 'gone'}):"
                                 " nothing was credited")])
    credit_date = calendar.post_date_for(date.fromisoformat(str(p["on"])))
    wanted = set(entry_ids)
    billing = [d for d in documents if d.kind == "invoice" and wanted & entries_billed_on(d, documents)]
    states = hub.erp.invoice_states([d.id for d in billing]) if billing else {}
    notes: list[Invoice] = []
    for invoice in billing:
        status = states.get(invoice.id, invoice.status)
        if status not in CREDITABLE:
            raise Rejected([_refused("invoice", invoice.id,
                                     f"invoice {invoice.id} field status is '{status}' in {hub.erp.names.label}: "
                                     "only a posted or paid invoice is credited; re-bill once the ERP has posted "
                                     "it")])
        note_id = credit_note_id(invoice.id, taken)
        taken.add(note_id)
        try:
            notes.append(credit_note(credit_note_id=note_id, invoice=invoice.model_copy(update={"status": status}),
                                     credit_date=credit_date,
                                     entry_ids=sorted(wanted & entries_billed_on(invoice, documents))))
        except CreditNoteRefused as exc:
            raise Rejected([_refused("invoice", invoice.id, str(exc))]) from None
    project_id = project.id if project is not None else None
    offerings = {p.id: p.service_offering for p in contract.phases}
    erp_ids = {n.id: hub.erp.upsert_invoice(n, legal_entity=contract.legal_entity, project_id=project_id,
                                            offerings=offerings)
               for n in notes}
    redeliver = replay_payload(row)

    def write(conn: Connection) -> None:
        records.upsert_records(conn, [record_document(n, contract_id, billing_run.RELEASED) for n in notes])
        links.upsert_links(conn, [links.Link("invoice", n.id, erp, erp_ids[n.id],
                                             content_hash(n.model_dump(mode="json")), None) for n in notes])
        freed: list[str] = []
        by_id = {d.id: d for d in billing}
        for note in notes:
            credited = by_id[str(credited_invoice_id(note.id))]
            freed += unbill(conn, hub, contract_id, credited, correlation_id=item.correlation_id,
                            entry_ids=[e for e in entry_ids if any(e in ln.time_entry_ids for ln in note.lines)])
        delivery = queue.enqueue(conn, kind=time_approved.KIND, aggregate=row.aggregate, payload=redeliver,
                                 correlation_id=row.correlation_id, priority=queue.PRIORITY_CLOSE,
                                 replay_of=row.work_item_id)
        exception_store.mark(conn, row.id, status=exception_store.REPLAYED, replayed_as=delivery)
        queue.enqueue(conn, kind=KIND, aggregate=books(contract_id), priority=queue.PRIORITY_CLOSE,
                      correlation_id=item.correlation_id,
                      payload={"exception_id": row.id, "contract_id": contract_id, "step": "bill"})
        _save(conn, contract_id, row.id, CREDITED, {**p, "credit_notes": [n.id for n in notes],
                                                    "credit_date": credit_date.isoformat()})
        trail = [audit.AuditEntry(
            actor=actor, system=erp, action="credit_note", entity="invoice", record_id=n.id,
            correlation_id=item.correlation_id, before=None,
            after={"credits": credited_invoice_id(n.id), "total": str(n.total.amount),
                   "currency": n.currency, "date": n.invoice_date.isoformat(), "erp_id": erp_ids[n.id],
                   "entries": sorted({e for ln in n.lines for e in ln.time_entry_ids}), "exception": row.id})
            for n in notes]
        trail.append(audit.AuditEntry(
            actor=actor, system=row.violation.system, action="replay", entity=row.violation.object,
            record_id=row.violation.record_id, correlation_id=row.correlation_id,
            before={"exception": row.id, "rule": row.violation.rule},
            after={"work_item": delivery, "corrected": False, "records": sorted(set(freed)), "why": "re-bill"}))
        audit.append(conn, trail)

    return write


def _bill(hub: Hub, item: WorkItem, plan: records.Record) -> Effects | None:
    p = dict(plan.payload)
    contract_id, entry_ids = str(p["contract_id"]), list(p["entries"])
    with hub.engine.connect() as conn:
        moving = exception_store.open_subject_ids(conn, entity=time_entries.ENTITY, record_ids=entry_ids,
                                                  in_flight=True)
        held = exception_store.open_subject_ids(conn, entity=time_entries.ENTITY, record_ids=entry_ids)
    if moving - held:
        raise TransientError("q2c", f"re-bill of exception {p['exception_id']}: the corrected time entries "
                                    f"{', '.join(sorted(moving - held))} are still being delivered", retry_after=0.2)
    run = WorkItem(id=item.id, kind=billing_run.KIND, aggregate=item.aggregate, priority=item.priority,
                   attempts=item.attempts, correlation_id=item.correlation_id, replay_of=None,
                   payload={"contract_id": contract_id, "invoice_date": str(p.get("credit_date", p["on"])),
                            "entry_ids": sorted(set(entry_ids) - held), "release": "auto"})
    billed = billing_run.bill_contract(hub, run) if set(entry_ids) - held else None

    def write(conn: Connection) -> None:
        if billed is not None:
            billed(conn)
        now = records.get_records(conn, entity=time_entries.ENTITY, canonical_ids=entry_ids)
        invoices = sorted({str(r.payload["invoice_id"]) for r in now.values()
                           if r.state == time_entries.BILLED and r.payload.get("invoice_id")})
        exception_id = int(p["exception_id"])
        row = exception_store.get(conn, exception_id)
        if row is not None and row.status in (exception_store.OPEN, exception_store.REPLAYED):
            exception_store.mark(conn, exception_id, status=exception_store.RESOLVED)
        _save(conn, contract_id, exception_id, DONE, {**p, "invoices": invoices, "held": sorted(held)})
        audit.append(conn, [audit.AuditEntry(
            actor=str(p["actor"]), system="q2c", action="rebill", entity="time_entry", record_id=entry_ids[0],
            correlation_id=item.correlation_id, before={"exception": exception_id, "rule": RULE},
            after={"credit_notes": list(p.get("credit_notes", [])), "invoices": invoices,
                   "entries": entry_ids, "not_rebilled": sorted(held)})])

    return write


def _required(conn: Connection, entity: str, canonical_id: str) -> records.Record:
    r = records.get_record(conn, entity=entity, canonical_id=canonical_id)
    if r is None:
        raise Rejected([Violation(system="q2c", object=entity, record_id=canonical_id, field=None,
                                  rule="rebill.missing", message=f"{entity} {canonical_id} is not in q2c",
                                  action="Replay the deal setup, then ask for the re-bill again")])
    return r


def _refused(obj: str, record_id: str, message: str) -> Violation:
    return Violation(system="q2c", object=obj, record_id=record_id, field="status" if obj == "invoice" else None,
                     rule="rebill.refused", message=message,
                     action="Correct what the message names, then replay this exception to finish the re-bill")
