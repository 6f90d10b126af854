"""Review before release: draft invoices wait in q2c until a person approves them into the ERP or rejects them.

Under `billing.release: review` the billing run records each invoice as a `draft` and sends nothing;
the draft already holds its time entries, its milestone or instalment and its share of the cap, so
no later run bills them twice. Then:

* `approve` records who approved it and queues its release (`invoice.release`, on the contract's
  aggregate, so it is ordered with the contract's billing runs). The release upserts it to the ERP on
  its id, so a retry or a second approval never makes a second invoice; an ERP that refuses it leaves
  an exception naming the invoice, and replaying that exception releases it.
* `reject` takes the draft out of the contract's books (its record moves to the aggregate
  `rejected:contract:<id>`, still readable by id, with who rejected it and why on the audit trail):
  its time entries are unbilled again and its milestone or instalment billable again, so the next run
  bills them once they are corrected. Its id is never given to another invoice.

Where an invoice stands (`standing`) is read from what the hub holds: a rejected draft; a draft without
an ERP link is in review; released; then the ERP's own status (posted, paid, voided) once it is read.
`unbill` is the one way a document's time goes back to unbilled (a rejection, a void, a credit).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from q2c.domain.billing import HeldBack, RatedTime
from q2c.domain.model import Contract, Invoice, Project
from q2c.domain.money import Money
from q2c.domain.violations import Violation
from q2c.engine.errors import Rejected
from q2c.engine.hashing import content_hash
from q2c.engine.worker import Effects
from q2c.store import audit, links, queue, records, time_entries
from q2c.store import exceptions as exception_store
from q2c.store.exceptions import Subject
from q2c.store.queue import WorkItem
from q2c.workflows import billing_run
from q2c.workflows.hub import Hub

RELEASE_KIND = "invoice.release"
IN_REVIEW, RELEASED, REJECTED = "in_review", "released", "rejected"
POSTED, PAID, VOIDED = "posted", "paid", "voided"
STANDINGS = (IN_REVIEW, RELEASED, POSTED, PAID, VOIDED, REJECTED)


class ReviewRefused(ValueError):
    """An approval, rejection or re-bill that cannot be done as asked; the message names record and field."""


@dataclass(frozen=True)
class InvoiceView:
    """One invoice or credit note as a reviewer sees it."""

    invoice: Invoice
    contract_id: str
    standing: str
    erp_id: str | None

    def summary(self) -> dict[str, Any]:
        inv = self.invoice
        return {"id": inv.id, "kind": inv.kind, "contract_id": self.contract_id, "customer_id": inv.customer_id,
                "invoice_date": inv.invoice_date.isoformat(), "currency": inv.currency,
                "total": str(inv.total.rounded().amount), "lines": len(inv.lines), "standing": self.standing,
                "erp_id": self.erp_id}


def invoice_subject(item: WorkItem) -> list[Subject]:
    """A release or status item that fails holds up its invoice."""
    invoice_id = item.payload.get("invoice_id")
    return [Subject("invoice", str(invoice_id))] if invoice_id else []


def books(contract_id: str) -> str:
    return f"contract:{contract_id}"


def standing_of(record: records.Record, erp_id: str | None) -> str:
    if record.aggregate.startswith(billing_run.REJECTED_BOOKS):
        return REJECTED
    if record.state in (POSTED, PAID, VOIDED):
        return record.state
    return RELEASED if erp_id else IN_REVIEW


def _views(conn: Connection, hub: Hub, rows: Sequence[records.Record]) -> list[InvoiceView]:
    linked = links.get_links(conn, entity="invoice", system=hub.erp.names.system,
                             canonical_ids=[r.canonical_id for r in rows])
    out = []
    for r in rows:
        link = linked.get(r.canonical_id)
        erp_id = link.external_id if link is not None and link.external_id else None
        contract_id = r.aggregate.removeprefix(billing_run.REJECTED_BOOKS).removeprefix("contract:")
        out.append(InvoiceView(Invoice.model_validate(r.payload), contract_id, standing_of(r, erp_id), erp_id))
    return out


def list_invoices(hub: Hub, *, standing: str | None = None, contract_id: str | None = None) -> list[InvoiceView]:
    """Every invoice and credit note q2c holds (rejected drafts too), oldest first; filtered when asked."""
    if standing is not None and standing not in STANDINGS:
        raise ReviewRefused(f"status {standing!r} is not one of {', '.join(STANDINGS)}")
    with hub.engine.connect() as conn:
        rows = records.list_records(conn, entity="invoice")
        found = _views(conn, hub, rows)
    found = [v for v in found if (standing is None or v.standing == standing)
             and (contract_id is None or v.contract_id == contract_id)]
    return sorted(found, key=lambda v: (v.invoice.invoice_date, v.invoice.id))


def get_invoice(hub: Hub, invoice_id: str) -> InvoiceView | None:
    with hub.engine.connect() as conn:
        record = records.get_record(conn, entity="invoice", canonical_id=invoice_id)
        return None if record is None else _views(conn, hub, [record])[0]


def invoice_history(hub: Hub, invoice_id: str) -> list[dict[str, Any]]:
    """The invoice's audit trail, oldest first: billed, approved, released, rejected, status from the ERP."""
    with hub.engine.connect() as conn:
        return list(reversed(audit.history(conn, record_id=invoice_id, limit=200)))


def _reviewable(conn: Connection, hub: Hub, invoice_id: str, verb: str) -> tuple[records.Record, InvoiceView]:
    record = records.get_record(conn, entity="invoice", canonical_id=invoice_id)
    if record is None:
        raise ReviewRefused(f"invoice {invoice_id} does not exist in q2c (`q2c invoices list` shows the ids)")
    view = _views(conn, hub, [record])[0]
    if view.standing != IN_REVIEW:
        where = {RELEASED: "it is in the ERP already", POSTED: "it is posted in the ERP",
                 PAID: "it is paid in the ERP", VOIDED: "it is voided in the ERP",
                 REJECTED: "it was rejected; the next billing run bills its time again"}[view.standing]
        fix = (" To take it back, credit it (`q2c invoices rebill` from an edit) or void it in the ERP."
               if view.standing in (RELEASED, POSTED, PAID) else "")
        raise ReviewRefused(f"invoice {invoice_id} field status is '{view.standing}': only a draft in review is "
                            f"{verb} ({where}).{fix}")
    return record, view


@dataclass(frozen=True)
class Approval:
    invoice_id: str
    work_item_id: int


def approve(hub: Hub, invoice_id: str, *, actor: str) -> Approval:
    """Approve a draft: its release to the ERP is queued (run it with a drain, or let the workers)."""
    with hub.engine.begin() as conn:
        record, view = _reviewable(conn, hub, invoice_id, "approved")
        correlation = uuid.uuid4().hex
        item_id = queue.enqueue(conn, kind=RELEASE_KIND, aggregate=record.aggregate, priority=queue.PRIORITY_CLOSE,
                                correlation_id=correlation,
                                payload={"invoice_id": invoice_id, "contract_id": view.contract_id, "actor": actor})
        audit.append(conn, [audit.AuditEntry(
            actor=actor, system="q2c", action="approve", entity="invoice", record_id=invoice_id,
            correlation_id=correlation, before={"standing": IN_REVIEW},
            after={"total": str(view.invoice.total.amount), "currency": view.invoice.currency,
                   "release": f"queued as work item {item_id}"})])
    return Approval(invoice_id, item_id)


def _contract_and_project(conn: Connection, contract_id: str) -> tuple[Contract | None, Project | None]:
    rec = records.get_record(conn, entity="contract", canonical_id=contract_id)
    project = next((Project.model_validate(r.payload) for r in
                    records.list_records(conn, entity="project", aggregate=books(contract_id))), None)
    return (Contract.model_validate(rec.payload) if rec is not None else None), project


def release_invoice(hub: Hub, item: WorkItem) -> Effects | None:
    """An approved draft (or credit note) into the ERP: upsert on its id, then recorded released."""
    invoice_id = str(item.payload["invoice_id"])
    erp = hub.erp.names.system
    with hub.engine.connect() as conn:
        record = records.get_record(conn, entity="invoice", canonical_id=invoice_id)
        link = links.get_link(conn, entity="invoice", system=erp, canonical_id=invoice_id)
        if record is None or record.aggregate.startswith(billing_run.REJECTED_BOOKS) or link is not None:
            return None  # rejected meanwhile, or released already (a retry after the write was recorded)
        contract_id = record.aggregate.removeprefix("contract:")
        contract, project = _contract_and_project(conn, contract_id)
    if contract is None:
        raise Rejected([Violation(
            system="q2c", object="invoice", record_id=invoice_id, field="contract_id", rule="invoice.no_contract",
            message=f"invoice {invoice_id} belongs to contract {contract_id}, which q2c does not hold",
            action="Replay the deal setup of the contract's opportunity, then replay this release")])
    invoice = Invoice.model_validate(record.payload)
    erp_id = hub.erp.upsert_invoice(invoice, legal_entity=contract.legal_entity,
                                    project_id=project.id if project is not None else None,
                                    offerings={p.id: p.service_offering for p in contract.phases})
    actor = str(item.payload.get("actor") or hub.actor)

    def write(conn: Connection) -> None:
        records.upsert_records(conn, [records.Record("invoice", invoice_id, record.aggregate, billing_run.RELEASED,
                                                     record.schema_version, record.content_hash, record.payload)])
        links.upsert_links(conn, [links.Link("invoice", invoice_id, erp, erp_id, record.content_hash, None)])
        exception_store.settle_subjects(conn, entity="invoice", current={invoice_id: []})
        audit.append(conn, [audit.AuditEntry(
            actor=actor, system=erp, action="release", entity="invoice", record_id=invoice_id,
            correlation_id=item.correlation_id, before={"standing": IN_REVIEW},
            after={"erp_id": erp_id, "kind": invoice.kind, "total": str(invoice.total.amount),
                   "currency": invoice.currency})])

    return write


@dataclass(frozen=True)
class Rejection:
    invoice_id: str
    unbilled: tuple[str, ...]  # time entries billable again
    milestone_ids: tuple[str, ...]
    instalment_ids: tuple[str, ...]


def reject(hub: Hub, invoice_id: str, *, actor: str, reason: str) -> Rejection:
    """Reject a draft: out of the contract's books, its time unbilled and its milestone billable again; audited."""
    why = reason.strip()
    if not why:
        raise ReviewRefused(f"invoice {invoice_id} field reason: say why it is rejected (it goes on the audit trail "
                            "and tells whoever corrects the time what to fix)")
    with hub.engine.begin() as conn:
        record, view = _reviewable(conn, hub, invoice_id, "rejected")
        invoice = view.invoice
        correlation = uuid.uuid4().hex
        unbilled = unbill(conn, hub, view.contract_id, invoice, correlation_id=correlation)
        records.upsert_records(conn, [records.Record(
            "invoice", invoice_id, f"{billing_run.REJECTED_BOOKS}{record.aggregate}", REJECTED,
            record.schema_version, record.content_hash, record.payload)])
        exception_store.settle_subjects(conn, entity="invoice", current={invoice_id: []})
        milestones = tuple(sorted({line.milestone_id for line in invoice.lines if line.milestone_id}))
        instalments = tuple(sorted({line.instalment_id for line in invoice.lines if line.instalment_id}))
        audit.append(conn, [audit.AuditEntry(
            actor=actor, system="q2c", action="reject", entity="invoice", record_id=invoice_id,
            correlation_id=correlation, before={"standing": IN_REVIEW, "total": str(invoice.total.amount),
                                                "currency": invoice.currency},
            after={"standing": REJECTED, "reason": why, "unbilled_entries": list(unbilled),
                   "milestones_billable_again": list(milestones), "instalments_billable_again": list(instalments)})])
    return Rejection(invoice_id, unbilled, milestones, instalments)


def unbill(conn: Connection, hub: Hub, contract_id: str, document: Invoice, *, correlation_id: str,
           entry_ids: Sequence[str] | None = None) -> tuple[str, ...]:
    """The time a document billed (or only `entry_ids` of it) goes back to unbilled; returns those entries.

    An entry billed on the document is `synced` again (no invoice, nothing held back by the cap): the next
    run offers it whole. An entry billed on an earlier invoice whose part held back by the cap this document
    released gets that part held back again, and the cap's exception names it again.
    """
    on_document = {e for line in document.lines for e in line.time_entry_ids}
    wanted = on_document if entry_ids is None else on_document & set(entry_ids)
    found = records.get_records(conn, entity=time_entries.ENTITY, canonical_ids=sorted(wanted))
    rows: list[records.Record] = []
    freed: list[str] = []
    held_again: dict[str, tuple[str | None, Decimal]] = {}  # entry -> (phase, amount held back again)
    for entry_id, r in sorted(found.items()):
        if r.state != time_entries.BILLED:
            continue
        payload = dict(r.payload)
        if payload.get("invoice_id") == document.id:
            payload.pop("invoice_id", None)
            payload.pop("held_back", None)
            rows.append(records.Record(r.entity, r.canonical_id, r.aggregate, time_entries.SYNCED, r.schema_version,
                                       r.content_hash, payload))
            freed.append(entry_id)
        else:  # billed elsewhere: this document only released what the cap had held back of it
            lines = [line for line in document.lines if entry_id in line.time_entry_ids]
            amount = sum((line.amount.amount for line in lines), Decimal(0))
            if amount > 0:
                payload["held_back"] = str(Decimal(payload.get("held_back", "0")) + amount)
                rows.append(records.Record(r.entity, r.canonical_id, r.aggregate, r.state, r.schema_version,
                                           r.content_hash, payload))
                held_again[entry_id] = (lines[0].phase_id, Decimal(payload["held_back"]))
    records.upsert_records(conn, rows)
    exception_store.settle_subjects(conn, entity=time_entries.ENTITY, current={e: [] for e in freed},
                                    rules=[time_entries.OVER_CAP_RULE])
    if held_again:
        _hold_again(conn, hub, contract_id, found, held_again, correlation_id)
    return tuple(freed)


def _hold_again(conn: Connection, hub: Hub, contract_id: str, found: dict[str, records.Record],
                held: dict[str, tuple[str | None, Decimal]], correlation_id: str) -> None:
    """The cap's exception names again the parts of entries it holds back once more."""
    contract, _ = _contract_and_project(conn, contract_id)
    if contract is None:
        return
    for phase in contract.phases:
        parts = []
        for entry_id, (phase_id, amount) in held.items():
            if phase_id != phase.id or "rated" not in found[entry_id].payload:
                continue
            rated = RatedTime.model_validate(found[entry_id].payload["rated"])
            parts.append(HeldBack(entry_id=entry_id, work_date=rated.work_date,
                                  amount=Money(amount=amount, currency=contract.currency)))
        if not parts:
            continue
        v = billing_run.over_cap_violation(contract, phase, [], parts)
        exception_store.raise_exception(
            conn, v, work_kind=billing_run.KIND, aggregate=books(contract_id), correlation_id=correlation_id,
            payload={"contract_id": contract_id, "invoice_date": hub.today().isoformat()},
            subjects=[Subject(time_entries.ENTITY, p.entry_id) for p in parts])


def record_document(invoice: Invoice, contract_id: str, state: str) -> records.Record:
    """An invoice or credit note as the hub keeps it, in the contract's books."""
    payload = invoice.model_dump(mode="json")
    return records.Record("invoice", invoice.id, books(contract_id), state, invoice.schema_version,
                          content_hash(payload), payload)
