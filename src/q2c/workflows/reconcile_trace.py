"""Why two systems disagree about a record, traced from q2c's own history, and what would fix it.

For each drift the trace reads what q2c holds of the record (its copy, the link with what q2c last
wrote and when, the audit trail) beside both systems' values, and names the most likely cause: which
system changed which field after q2c wrote it, or which write or read never happened. The fix is one
q2c can replay when the owner of the data is clear (`q2c reconcile heal`); otherwise the trace says
who must act and how.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from q2c.domain.reconciliation import DIFFERENT, MISSING_LEFT, MISSING_RIGHT, Drift
from q2c.store import audit, cursors, links, records, time_entries
from q2c.workflows import contract_changes
from q2c.workflows.contract_versions import load_terms
from q2c.workflows.hub import Hub
from q2c.workflows.integrity import JOURNAL
from q2c.workflows.reconcile_pairs import Context
from q2c.workflows.time_approved import cursor_name

# Fixes q2c can apply (workflows/reconcile_heal.py), each a replay of q2c's own step.
RESEND_TIMEBILL = "resend_timebill"  # write the timebill again from q2c's record (q2c owns the ERP's copy)
RESYNC_ENTRY = "resync_entry"  # deliver the tracker's entry as it is now, through the normal time path
RESEND_INVOICE = "resend_invoice"  # write q2c's invoice to the ERP again (an upsert on its id)
READ_INVOICE_STATUS = "read_invoice_status"  # read the status the ERP holds (the ERP owns it)
REPOST_JOURNAL = "repost_journal"  # post q2c's journal entries again (upserts on their ids)
RESEND_CONTRACT = "resend_contract"  # write the contract in force to the ERP's sales order again
CHECK_CHANGE = "check_contract_change"  # compare the CRM's deal with the terms in force now
SET_UP_DEAL = "set_up_deal"  # run the won deal's setup


@dataclass(frozen=True)
class Trace:
    cause: str
    owner: str  # the system that owns the data to fix ("q2c" when q2c's own write is what is missing)
    fix: dict[str, Any] | None  # {"kind": ..., ...}; None: a person must act (`action` says who and how)
    action: str


def _written(conn: Connection, entity: str, system: str, record_id: str) -> str | None:
    link = links.get_link(conn, entity=entity, system=system, canonical_id=record_id)
    if link is None:
        return None
    return f"q2c wrote it (the ERP's record {link.external_id})"


def _last_audit(conn: Connection, record_id: str) -> str:
    rows = audit.history(conn, record_id=record_id, limit=1)
    if not rows:
        return ""
    r = rows[0]
    return f" (last in the audit trail: {r['action']} by {r['actor']}, entry {r['seq']})"


def trace(hub: Hub, conn: Connection, ctx: Context, drift: Drift) -> Trace:
    tracer = {"time": _time, "invoices": _invoice, "revenue": _revenue, "bookings": _booking}[drift.pair]
    return tracer(hub, conn, ctx, drift)


# --- time ------------------------------------------------------------------------------------------
def _time(hub: Hub, conn: Connection, ctx: Context, drift: Drift) -> Trace:
    tracker, erp = hub.tracker.names.label, hub.erp.names.label
    erp_system = hub.erp.names.system
    key = drift.key
    mine = records.get_record(conn, entity=time_entries.ENTITY, canonical_id=key)
    wrote = _written(conn, time_entries.ENTITY, erp_system, key)
    resend: dict[str, Any] = {"kind": RESEND_TIMEBILL, "entry_id": key}
    now_held = ctx.tracker_time.get(key)
    resync = {"kind": RESYNC_ENTRY, "entry_id": key,
              "entry": now_held.model_dump(mode="json") if now_held is not None else None}
    if drift.kind == MISSING_RIGHT:
        if mine is not None and mine.state in time_entries.POSTED and wrote:
            return Trace(f"{wrote}{_last_audit(conn, key)}; {erp} no longer holds it: it was deleted in {erp}",
                         "q2c", resend, "`q2c reconcile heal` writes the timebill again from q2c's record")
        with_cursor = cursors.get_cursor(conn, cursor_name(hub))
        seen = ctx.tracker_entries.get(key, {})
        if mine is None:
            return Trace(f"approved in {tracker} (updated {seen.get('updated_at', '?')}) but never read by q2c; the "
                         f"time poll's cursor stands at {with_cursor or 'its start'}", "q2c", resync,
                         f"`q2c reconcile heal` delivers the entry as {tracker} holds it now")
        return Trace(f"q2c holds it as {mine.state} (it never saw the approval, updated "
                     f"{seen.get('updated_at', '?')} in {tracker}); the time poll's cursor stands at "
                     f"{with_cursor or 'its start'}", "q2c", resync,
                     f"`q2c reconcile heal` delivers the entry as {tracker} holds it now")
    if drift.kind == MISSING_LEFT:
        now = ctx.tracker_entries.get(key)
        billed = mine is not None and mine.state == time_entries.BILLED
        consequence = (f"; it is billed on {mine.payload.get('invoice_id')}: credit it with "
                       f"`q2c invoices rebill`" if billed and mine is not None else "")
        if mine is None:
            return Trace(f"{erp} holds a timebill with q2c's id {key} that q2c never wrote", erp_system, None,
                         f"Find who created it in {erp} and delete it there, or ask q2c's operator")
        what = (f"deleted in {tracker}" if now is None else
                f"its approval was withdrawn in {tracker} (status {now['status']} now)")
        return Trace(f"{wrote or 'q2c posted it'}{_last_audit(conn, key)}; afterwards it was {what}{consequence}",
                     hub.tracker.names.system, None,
                     f"Restore or re-approve the entry in {tracker}; or, if it should not count, delete the timebill "
                     f"in {erp} and resolve" + (" (credit the invoice first)" if billed else ""))
    fields = {d.field for d in drift.differences}
    posted = (mine.payload.get("entry", {}) if mine is not None else {})
    right = drift.right or {}
    entry_fields = {"project": "project_id", "task": "task_code", "work_date": "work_date", "hours": "hours"}
    moved = [f for f in fields if f in entry_fields]
    if moved and posted and all(str(posted.get(entry_fields[f])) == str(right.get(f)) for f in moved):
        return Trace(f"{', '.join(sorted(moved))} changed in {tracker} after q2c posted the entry, and the change "
                     f"never reached q2c{_last_audit(conn, key)}", hub.tracker.names.system, resync,
                     f"`q2c reconcile heal` delivers the entry as {tracker} holds it now (an entry already billed "
                     f"then waits for a person, as any late edit does)")
    return Trace(f"{', '.join(sorted(fields))} changed in {erp} after q2c wrote the timebill "
                 f"({wrote or 'no write recorded'}){_last_audit(conn, key)}; {tracker} owns the hours and q2c the rate",
                 "q2c", resend, "`q2c reconcile heal` writes the timebill again from q2c's record")


# --- invoices --------------------------------------------------------------------------------------
def _invoice(hub: Hub, conn: Connection, ctx: Context, drift: Drift) -> Trace:
    erp = hub.erp.names.label
    key = drift.key
    wrote = _written(conn, "invoice", hub.erp.names.system, key)
    resend = {"kind": RESEND_INVOICE, "invoice_id": key}
    if drift.kind == MISSING_RIGHT:
        cause = (f"{wrote}; {erp} no longer holds it: it was deleted in {erp}" if wrote else
                 f"released in q2c but never written to {erp}")
        return Trace(cause + _last_audit(conn, key), "q2c", resend, "`q2c reconcile heal` writes the invoice again")
    if drift.kind == MISSING_LEFT:
        return Trace(f"{erp} holds an invoice with q2c's id {key} that q2c does not hold", hub.erp.names.system,
                     None, f"Find who created it in {erp}; void it there if it should not exist")
    fields = {d.field for d in drift.differences}
    if fields == {"status"}:
        return Trace(f"{erp} changed the status to {(drift.right or {}).get('status')} and q2c has not read it "
                     f"since", hub.erp.names.system, {"kind": READ_INVOICE_STATUS},
                     f"`q2c reconcile heal` reads invoice status from {erp}")
    status = (drift.right or {}).get("status")
    if status in ("paid", "voided"):
        return Trace(f"{', '.join(sorted(fields))} changed in {erp} after q2c wrote it ({wrote}), and it is {status} "
                     f"there now", hub.erp.names.system, None,
                     "Credit and re-bill it with `q2c invoices rebill` once finance agrees what the customer owes")
    return Trace(f"{', '.join(sorted(fields - {'status'}))} changed in {erp} after q2c wrote it "
                 f"({wrote or 'no write recorded'}){_last_audit(conn, key)}", "q2c", resend,
                 "`q2c reconcile heal` writes q2c's invoice again (q2c owns its lines)")


# --- revenue ---------------------------------------------------------------------------------------
def _journals_of(conn: Connection, key: str) -> list[str]:
    contract_id, period = key.rsplit(":", 1)
    posted = records.list_records(conn, entity=JOURNAL, aggregate=f"contract:{contract_id}", states=["posted"])
    return sorted(r.canonical_id for r in posted if str(r.payload.get("entry_date", ""))[:7] == period)


def _revenue(hub: Hub, conn: Connection, ctx: Context, drift: Drift) -> Trace:
    erp = hub.erp.names.label
    if drift.kind == MISSING_LEFT:
        return Trace(f"{erp} holds revenue for {drift.key} that the revenue engine did not recognise",
                     hub.erp.names.system, None,
                     f"Find the journal in {erp} that is not q2c's and reverse it there, or reopen the period and "
                     f"replay the revenue close")
    entries = _journals_of(conn, drift.key)
    if not entries:
        return Trace(f"the revenue close recorded {drift.key} but posted no journal entries for it", "q2c", None,
                     "Replay the contract's revenue close (`q2c exceptions list --rule revenue`, or `q2c close`)")
    seen = [e for e in entries if f"journal:{e}" in ctx.erp_documents]
    gone = [e for e in entries if e not in seen]
    cause = (f"q2c posted {', '.join(entries)}; {erp} " +
             (f"no longer holds {', '.join(gone)}" if gone else "holds other amounts on the revenue accounts"))
    return Trace(cause + _last_audit(conn, entries[0]), "q2c", {"kind": REPOST_JOURNAL, "journal_ids": entries},
                 "`q2c reconcile heal` posts q2c's journal entries again (upserts on their ids)")


# --- bookings --------------------------------------------------------------------------------------
def _booking(hub: Hub, conn: Connection, ctx: Context, drift: Drift) -> Trace:
    crm, erp = hub.crm.names.label, hub.erp.names.label
    contract = next((c for c in ctx.contracts.values() if c.opportunity_id == drift.key), None)
    if drift.kind == MISSING_RIGHT:
        if contract is None:
            return Trace(f"won in {crm} but never set up by q2c", "q2c", {"kind": SET_UP_DEAL,
                                                                          "opportunity_id": drift.key},
                         "`q2c reconcile heal` runs the deal's setup")
        return Trace(f"{_written(conn, 'contract', hub.erp.names.system, contract.id) or 'q2c set it up'}; "
                     f"{erp} no longer holds its sales order", "q2c",
                     {"kind": RESEND_CONTRACT, "contract_id": contract.id},
                     "`q2c reconcile heal` writes the contract in force to the sales order again")
    if drift.kind == MISSING_LEFT or contract is None:
        return Trace(f"{erp} holds a sales order for {drift.key}, but {crm} lists no such won deal now (reopened or "
                     f"lost after setup?)", hub.crm.names.system, None,
                     f"Check the opportunity in {crm}; if the deal is off, close the project and contract in {erp}")
    pending = [r for r in contract_changes.list_changes(conn) if r.payload.get("contract_id") == contract.id]
    if pending:
        change = pending[0]
        return Trace(f"{crm} changed the deal; q2c holds the change as {change.canonical_id} ({change.state}), not "
                     f"applied yet, so {erp} still has the terms in force", "q2c", None,
                     f"Review and apply or reject it: `q2c changes show {change.canonical_id}`")
    terms = load_terms(conn, contract.id)
    in_force = terms.effective().amount.amount if terms is not None else None
    left, right = drift.left or {}, drift.right or {}
    if in_force is not None and in_force == right.get("amount") and in_force != left.get("amount"):
        return Trace(f"{crm} changed the deal after its terms were agreed ({in_force} in force) and q2c has not "
                     f"compared them since", "q2c", {"kind": CHECK_CHANGE, "contract_id": contract.id},
                     "`q2c reconcile heal` compares the deal with the terms in force (a change then waits for "
                     "approval, as any change does)")
    return Trace(f"the sales order in {erp} was changed after q2c wrote it "
                 f"({_written(conn, 'contract', hub.erp.names.system, contract.id) or 'no write recorded'})"
                 f"{_last_audit(conn, contract.id)}", "q2c", {"kind": RESEND_CONTRACT, "contract_id": contract.id},
                 "`q2c reconcile heal` writes the contract in force to the sales order again")


KINDS = (MISSING_LEFT, MISSING_RIGHT, DIFFERENT)
