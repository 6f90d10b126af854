"""`q2c reconcile heal ID`: apply the fix a reconciliation drift proposes, when q2c may.

A fix is a replay of one of q2c's own steps, on data whose owner is clear: write a timebill, invoice,
journal entry or sales order again from q2c's record (q2c owns what it wrote; each is an upsert on
q2c's id, so nothing is created twice), deliver the tracker's entry as it is now through the normal
time path, read an invoice's status from the ERP, compare a deal with its terms, or run a won deal's
setup. Work the fix queues goes through the queue like any other, so a problem it meets is an
exception naming the record. Every heal is audited with who asked for it. A drift without a fix
(the data belongs to someone else) is refused with who must act.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from q2c.domain.billing import RatedTime
from q2c.domain.model import Contract, Invoice, JournalEntry, Project, TimeEntry
from q2c.store import audit, links, queue, records, time_entries
from q2c.store import exceptions as exception_store
from q2c.workflows import contract_changes, invoice_status, project_setup, time_approved
from q2c.workflows.hub import Hub
from q2c.workflows.integrity import JOURNAL
from q2c.workflows.ports import Timebill
from q2c.workflows.reconcile import WORK_KIND
from q2c.workflows.reconcile_trace import (
    CHECK_CHANGE,
    READ_INVOICE_STATUS,
    REPOST_JOURNAL,
    RESEND_CONTRACT,
    RESEND_INVOICE,
    RESEND_TIMEBILL,
    RESYNC_ENTRY,
    SET_UP_DEAL,
)


class HealError(Exception):
    """The drift cannot be healed by q2c; the message says why and who must act."""


def _contract(conn: Connection, contract_id: str) -> Contract:
    rec = records.get_record(conn, entity="contract", canonical_id=contract_id)
    if rec is None:
        raise HealError(f"contract {contract_id} is not in q2c any more; run `q2c reconcile` again")
    return Contract.model_validate(rec.payload)


def _project_of(conn: Connection, contract_id: str) -> Project | None:
    found = records.list_records(conn, entity="project", aggregate=f"contract:{contract_id}")
    return Project.model_validate(found[0].payload) if found else None


def _resend_timebill(hub: Hub, conn: Connection, fix: dict[str, Any], record_id: str) -> str:
    entry_id = str(fix["entry_id"])
    rec = records.get_record(conn, entity=time_entries.ENTITY, canonical_id=entry_id)
    if rec is None or rec.state not in time_entries.POSTED or "rated" not in rec.payload:
        raise HealError(f"time entry {entry_id} is not posted in q2c (state {rec.state if rec else 'unknown'}); "
                        f"run `q2c reconcile` again to see where it stands")
    entry, rated = TimeEntry.model_validate(rec.payload["entry"]), RatedTime.model_validate(rec.payload["rated"])
    project_rec = records.get_record(conn, entity="project", canonical_id=entry.project_id)
    project = Project.model_validate(project_rec.payload) if project_rec is not None else None
    task = next((t for t in project.tasks if t.code == entry.task_code), None) if project else None
    contract = _contract(conn, project.contract_id) if project is not None else None
    phase = next((p for p in contract.phases if task is not None and p.id == task.phase_id), None) if contract else None
    [result] = hub.erp.upsert_timebills([Timebill(
        entry, rated, task.id if task is not None else None,
        service_offering=phase.service_offering if phase is not None else None,
        legal_entity=contract.legal_entity if contract is not None else None)])
    if result.violation is not None:
        raise HealError(f"{hub.erp.names.label} refused the timebill: {result.violation.headline()}")
    links.upsert_links(conn, [links.Link(time_entries.ENTITY, entry_id, hub.erp.names.system,
                                         result.external_id or entry_id, rec.content_hash,
                                         rec.payload["entry"].get("source_updated_at"))])
    return f"timebill {entry_id} written to {hub.erp.names.label} again ({rated.hours} h at {rated.rate})"


def _resync_entry(hub: Hub, conn: Connection, fix: dict[str, Any], record_id: str) -> str:
    entry = fix.get("entry")
    if not entry:
        raise HealError(f"the tracker no longer lists entry {fix['entry_id']}; run `q2c reconcile` again")
    queue.enqueue(conn, kind=time_approved.KIND, aggregate=f"project:{entry['project_id']}",
                  correlation_id=uuid.uuid4().hex, priority=queue.PRIORITY_TIME, payload={"entries": [entry]})
    return f"entry {entry['id']} queued for delivery as {hub.tracker.names.label} holds it now"


def _resend_invoice(hub: Hub, conn: Connection, fix: dict[str, Any], record_id: str) -> str:
    invoice_id = str(fix["invoice_id"])
    rec = records.get_record(conn, entity="invoice", canonical_id=invoice_id)
    if rec is None:
        raise HealError(f"invoice {invoice_id} is not in q2c; run `q2c reconcile` again")
    invoice = Invoice.model_validate(rec.payload)
    contract = _contract(conn, invoice.contract_id)
    project = _project_of(conn, contract.id)
    erp_id = hub.erp.upsert_invoice(invoice, legal_entity=contract.legal_entity,
                                    project_id=project.id if project is not None else None,
                                    offerings={p.id: p.service_offering for p in contract.phases})
    links.upsert_links(conn, [links.Link("invoice", invoice_id, hub.erp.names.system, erp_id, rec.content_hash,
                                         None)])
    return f"invoice {invoice_id} written to {hub.erp.names.label} again ({invoice.total})"


def _read_invoice_status(hub: Hub, conn: Connection, fix: dict[str, Any], record_id: str) -> str:
    rec = records.get_record(conn, entity="invoice", canonical_id=record_id)
    states = hub.erp.invoice_states([record_id])
    if rec is None or record_id not in states:
        raise HealError(f"{hub.erp.names.label} has no status for invoice {record_id}; run `q2c reconcile` again")
    queue.enqueue(conn, kind=invoice_status.KIND, aggregate=rec.aggregate, priority=queue.PRIORITY_CLOSE,
                  correlation_id=uuid.uuid4().hex,
                  payload={"invoice_id": record_id, "status": states[record_id].value,
                           "contract_id": rec.aggregate.removeprefix("contract:")})
    return f"invoice {record_id}: status {states[record_id].value} read from {hub.erp.names.label}, queued"


def _repost_journal(hub: Hub, conn: Connection, fix: dict[str, Any], record_id: str) -> str:
    posted = []
    for journal_id in fix["journal_ids"]:
        rec = records.get_record(conn, entity=JOURNAL, canonical_id=str(journal_id))
        if rec is None:
            raise HealError(f"journal entry {journal_id} is not in q2c; run `q2c reconcile` again")
        entry = JournalEntry.model_validate(rec.payload)
        erp_id = hub.erp.post_journal_entry(entry)
        links.upsert_links(conn, [links.Link(JOURNAL, entry.id, hub.erp.names.system, erp_id, rec.content_hash,
                                             None)])
        posted.append(entry.id)
    return f"journal entries {', '.join(posted)} posted to {hub.erp.names.label} again"


def _resend_contract(hub: Hub, conn: Connection, fix: dict[str, Any], record_id: str) -> str:
    contract = _contract(conn, str(fix["contract_id"]))
    project = _project_of(conn, contract.id)
    if project is None:
        raise HealError(f"contract {contract.id} has no project in q2c; replay its deal setup")
    hub.erp.upsert_contract(contract, project_id=project.id)
    return f"contract {contract.id} written to {hub.erp.names.label}'s sales order again"


def _check_change(hub: Hub, conn: Connection, fix: dict[str, Any], record_id: str) -> str:
    contract_changes.enqueue_check(conn, str(fix["contract_id"]))
    return f"contract {fix['contract_id']} queued for comparison with {hub.crm.names.label}'s deal"


def _set_up_deal(hub: Hub, conn: Connection, fix: dict[str, Any], record_id: str) -> str:
    opportunity_id = str(fix["opportunity_id"])
    queue.enqueue(conn, kind=project_setup.KIND, aggregate=f"opportunity:{opportunity_id}",
                  payload={"opportunity_id": opportunity_id}, correlation_id=uuid.uuid4().hex,
                  priority=queue.PRIORITY_SETUP)
    return f"deal {opportunity_id} queued for setup"


FIXES: dict[str, Callable[[Hub, Connection, dict[str, Any], str], str]] = {
    RESEND_TIMEBILL: _resend_timebill, RESYNC_ENTRY: _resync_entry, RESEND_INVOICE: _resend_invoice,
    READ_INVOICE_STATUS: _read_invoice_status, REPOST_JOURNAL: _repost_journal, RESEND_CONTRACT: _resend_contract,
    CHECK_CHANGE: _check_change, SET_UP_DEAL: _set_up_deal,
}


def heal(hub: Hub, exception_id: int, *, actor: str) -> str:
    """Apply the fix of one open reconciliation exception; returns what was done. Audited."""
    with hub.engine.begin() as conn:
        row = exception_store.get(conn, exception_id)
        if row is None or row.work_kind != WORK_KIND:
            raise HealError(f"exception {exception_id} is not a reconciliation drift (see `q2c reconcile`)")
        if row.status != exception_store.OPEN:
            raise HealError(f"exception {exception_id} is {row.status}, not open: run `q2c reconcile` again")
        fix = row.payload.get("fix")
        if not fix:
            raise HealError(f"q2c cannot heal {row.violation.record_id}: the data belongs to "
                            f"{row.violation.system}. {row.violation.action}")
        kind = fix["kind"]
        apply = FIXES.get(kind)
        if apply is None:
            raise HealError(f"exception {exception_id} proposes an unknown fix {kind!r}")
        done = apply(hub, conn, fix, row.violation.record_id)
        exception_store.mark(conn, exception_id, status=exception_store.RESOLVED)
        audit.append(conn, [audit.AuditEntry(
            actor=actor, system="q2c", action="heal", entity=row.violation.object, record_id=row.violation.record_id,
            correlation_id=row.correlation_id, before={"rule": row.violation.rule, "message": row.violation.message},
            after={"fix": kind, "done": done})])
    return done
