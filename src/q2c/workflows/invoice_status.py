"""Invoices coming back: where released invoices and credit notes stand in the ERP (posted, paid, voided).

`poll_invoice_status` asks the ERP for the documents it changed since the last poll (NetSuite: SuiteQL on
`lastmodifieddate`; the ERP pushes nothing) and queues one `invoice.status` item per document whose
status moved, on its contract's aggregate, so a status change is ordered with the contract's billing
runs. The serve scheduler polls with the time poll; `q2c invoices refresh` polls once.

`apply_invoice_status` reads the status fresh and brings the hub in step, audited:

* posted or paid: the invoice record says so (revenue counts a paid invoice as billed, like a posted one;
  cash is recorded with `q2c cash record`, so a payment is not counted twice);
* voided: the ERP took the invoice back. q2c books the void as a reversal of the whole invoice
  (`VOID-<invoice id>`, dated the invoice's own date, or the first open day when its period is closed:
  a direct void takes the invoice back as of its date), so the revenue engine recognises the reduction
  at the next close and closed periods stay closed; its time entries are unbilled again and its
  milestone or instalment billable again, so the next run bills them on a new invoice (after review,
  under `review`);
* a credit note voided in the ERP stays in force in q2c, and an exception says so: q2c's books and the
  ERP's now differ, and only a person can say which is right.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.engine import Connection

from q2c.domain.billing.credit_notes import VOID_PREFIX, void_reversal
from q2c.domain.model import Contract, Invoice, InvoiceStatus
from q2c.domain.violations import Violation
from q2c.engine.worker import Effects
from q2c.store import audit, cursors, queue, records
from q2c.store import exceptions as exception_store
from q2c.store.exceptions import Subject
from q2c.store.queue import WorkItem
from q2c.workflows import billing_run
from q2c.workflows.hub import Hub
from q2c.workflows.invoice_review import record_document, unbill
from q2c.workflows.periods import load_calendar

KIND = "invoice.status"
CREDIT_VOIDED_RULE = "invoice.credit_voided"
_FOLLOWED = (InvoiceStatus.POSTED, InvoiceStatus.PAID, InvoiceStatus.VOIDED)  # a draft in the ERP changes nothing


def cursor_name(hub: Hub) -> str:
    return f"{hub.erp.names.system}.invoices.modified_since"


@dataclass
class StatusPoll:
    seen: int = 0  # documents the ERP reported changed
    queued: int = 0  # whose status moved: one work item each


def _moved(conn: Connection, record: records.Record, status: InvoiceStatus) -> bool:
    if status not in _FOLLOWED or record.aggregate.startswith(billing_run.REJECTED_BOOKS):
        return False
    if status is InvoiceStatus.VOIDED and record.payload.get("kind") == "invoice":
        # revenue close may have written "voided" already; the void is booked once its reversal exists
        return records.get_record(conn, entity="invoice", canonical_id=VOID_PREFIX + record.canonical_id) is None
    return record.state != status.value


def poll_invoice_status(hub: Hub) -> StatusPoll:
    """Queue the status changes the ERP reports since the last poll; the cursor moves to the latest change day."""
    stats = StatusPoll()
    with hub.engine.connect() as conn:
        stored = cursors.get_cursor(conn, cursor_name(hub))
    since = date.fromisoformat(stored) if stored else None
    changes = hub.erp.invoice_changes(since)
    stats.seen = len(changes)
    latest = since
    with hub.engine.begin() as conn:
        known = records.get_records(conn, entity="invoice", canonical_ids=[c.invoice_id for c in changes])
        for change in changes:
            record = known.get(change.invoice_id)
            if change.changed_on is not None and (latest is None or change.changed_on > latest):
                latest = change.changed_on
            if record is None or not _moved(conn, record, change.status):
                continue  # not q2c's, or nothing new
            queue.enqueue(conn, kind=KIND, aggregate=record.aggregate, priority=queue.PRIORITY_CLOSE,
                          correlation_id=uuid.uuid4().hex,
                          payload={"invoice_id": change.invoice_id, "status": change.status.value,
                                   "contract_id": record.aggregate.removeprefix("contract:")})
            stats.queued += 1
        if latest is not None and latest != since:
            cursors.set_cursor(conn, cursor_name(hub), latest.isoformat())
    return stats


def apply_invoice_status(hub: Hub, item: WorkItem) -> Effects | None:
    """Bring one invoice (or credit note) in step with the status the ERP gives it now."""
    invoice_id = str(item.payload["invoice_id"])
    erp = hub.erp.names.system
    with hub.engine.connect() as conn:
        record = records.get_record(conn, entity="invoice", canonical_id=invoice_id)
        if record is None or record.aggregate.startswith(billing_run.REJECTED_BOOKS):
            return None
        contract_id = record.aggregate.removeprefix("contract:")
        contract_rec = records.get_record(conn, entity="contract", canonical_id=contract_id)
        if contract_rec is None:
            return None
        contract = Contract.model_validate(contract_rec.payload)
        calendar = load_calendar(conn, contract.legal_entity)
    status = hub.erp.invoice_states([invoice_id]).get(invoice_id)  # fresh: the queued status may be stale
    if status is None:
        return None
    with hub.engine.connect() as conn:
        if not _moved(conn, record, status):
            return None
    invoice = Invoice.model_validate(record.payload)
    before = record.state
    now = invoice.model_copy(update={"status": status})
    reversal = None
    if status is InvoiceStatus.VOIDED and invoice.kind == "invoice":
        reversal = void_reversal(now, reversal_date=calendar.post_date_for(invoice.invoice_date))

    def write(conn: Connection) -> None:
        rows = [record_document(now, contract_id, status.value)]
        after: dict[str, object] = {"status": status.value}
        if reversal is not None:
            rows.append(record_document(reversal, contract_id, InvoiceStatus.POSTED.value))
        records.upsert_records(conn, rows)
        if reversal is not None:
            freed = unbill(conn, hub, contract_id, invoice, correlation_id=item.correlation_id)
            after.update(reversal=reversal.id, reversal_date=reversal.invoice_date.isoformat(),
                         reversed_total=str(reversal.total.amount), unbilled_entries=list(freed),
                         milestones_billable_again=sorted({ln.milestone_id for ln in invoice.lines
                                                           if ln.milestone_id}),
                         instalments_billable_again=sorted({ln.instalment_id for ln in invoice.lines
                                                            if ln.instalment_id}))
        if status is InvoiceStatus.VOIDED and invoice.kind == "credit_note":
            exception_store.raise_exception(
                conn, Violation(
                    system=erp, object=hub.erp.names.object("credit_note"), record_id=invoice_id, field="status",
                    rule=CREDIT_VOIDED_RULE,
                    message=f"credit note {invoice_id} ({invoice.total}) was voided in {hub.erp.names.label}; q2c "
                            "still counts the credit, so q2c's billing and the ERP's now differ by that much",
                    action=f"If the credit stands, issue it again in {hub.erp.names.label} and resolve this; if it "
                           "was wrong, bill the credited time again on a new invoice and resolve this"),
                work_kind=KIND, aggregate=record.aggregate, payload=dict(item.payload),
                correlation_id=item.correlation_id, subjects=[Subject("invoice", invoice_id)])
        audit.append(conn, [audit.AuditEntry(
            actor=hub.actor, system=erp, action="invoice_status", entity="invoice", record_id=invoice_id,
            correlation_id=item.correlation_id, before={"state": before}, after=after)])

    return write
