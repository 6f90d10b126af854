"""The KPIs from the hub's own records, as daily series (the computations are in `domain/kpis.py`).

Where each one's times come from:

- project setup cycle time: won = when the inbox received the deal's `opportunity.won` event (poll, change
  feed or webhook: the first of them, the others are duplicates at the door); ready = the first audit entry
  of the setup's last step, the write-back of the ERP's ids to the CRM (`write_back`), which is committed
  with the records of the customer, contract and project in the ERP and the tracker. Both carry the
  setup's correlation id, which a replay keeps, so a setup held by an exception counts until it is done.
- approved-to-bill lag: approved = the creation of the first time batch (`time.deliver` work item) that
  carried the entry as approved, i.e. the poll that first saw it approved (the tracker's own approval time
  is not something every tracker reports); billed = the first audit entry of the first invoice that lists
  the entry on a line (`invoice`, written by the billing run, in review or released). Credit notes and
  rejected drafts bill nothing. The day is the day the invoice was written.
- revenue event exception rate: each revenue close work item (not its replays, which keep its correlation
  id) is one event; the exceptions opened for it are those carrying its correlation id or naming one of its
  work items, and at least one when one of them died (its exception went to the queue).
- integration recovery time: the `outage` runs (`workflows/outages.py`), opened -> drained.
- cross-system consistency: the `reconcile` runs' `matched` / `compared`, the last finished run of each day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy.engine import Connection

from q2c.domain.kpis import (
    BilledTime,
    KpiInputError,
    KpiReport,
    Outage,
    Reconciliation,
    RevenueEvent,
    Setup,
    kpi_report,
)
from q2c.domain.model import TimeEntryStatus
from q2c.store import history, records, runs
from q2c.store.queue import DEAD
from q2c.store.time_entries import ENTITY as TIME_ENTRY
from q2c.workflows import billing_run, revenue_close, time_approved
from q2c.workflows.hub import Hub
from q2c.workflows.project_setup import WON_EVENT
from q2c.workflows.runs import OUTAGE, RECONCILE

SETUP_DONE = "write_back"  # the audit action of the setup's last step
INVOICE_WRITTEN = "invoice"  # the audit action of an invoice the billing run wrote
MAX_DAYS = 3660  # ten years of daily rows is as far back as one asks


class SinceTooEarly(ValueError):
    """A `since` so far back that the series would be mostly empty days."""


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), tzinfo=UTC)


def setups(conn: Connection, since: datetime | None) -> list[Setup]:
    return [Setup(c.record_id, c.received_at, c.done_at)
            for c in history.completions(conn, event_type=WON_EVENT, action=SETUP_DONE, since=since)]


def _entry_ids(invoice: records.Record) -> list[str]:
    return [str(e) for line in invoice.payload.get("lines", []) if isinstance(line, Mapping)
            for e in line.get("time_entry_ids", [])]


def billed_time(conn: Connection, since: datetime | None) -> list[BilledTime]:
    written = history.first_audit_at(conn, action=INVOICE_WRITTEN)
    invoices = records.get_records(conn, entity="invoice", canonical_ids=sorted(written))
    first: dict[str, tuple[datetime, str]] = {}  # entry -> when and on which invoice it was first billed
    for invoice_id, at in sorted(written.items(), key=lambda kv: (kv[1], kv[0])):
        invoice = invoices.get(invoice_id)
        if invoice is None or invoice.aggregate.startswith(billing_run.REJECTED_BOOKS) \
                or invoice.payload.get("kind") == "credit_note":
            continue
        for entry_id in _entry_ids(invoice):
            first.setdefault(entry_id, (at, invoice_id))
    wanted = {e: v for e, v in first.items() if since is None or v[0] >= since}
    entries = records.get_records(conn, entity=TIME_ENTRY, canonical_ids=sorted(wanted))
    seen: dict[str, datetime] = {}
    for batch in history.work_of(conn, kind=time_approved.KIND, aggregates=sorted({r.aggregate for r in
                                                                                   entries.values()})):
        for e in batch.payload.get("entries", []):
            if isinstance(e, Mapping) and e.get("id") in wanted and e.get("status") == TimeEntryStatus.APPROVED:
                seen.setdefault(str(e["id"]), batch.created_at)  # oldest batch first: the first sighting
    return [BilledTime(entry_id, seen[entry_id], at, invoice_id)
            for entry_id, (at, invoice_id) in sorted(wanted.items(), key=lambda kv: (kv[1], kv[0]))
            if entry_id in seen]


def revenue_events(conn: Connection, since: datetime | None) -> list[RevenueEvent]:
    work = history.work_of(conn, kind=revenue_close.KIND, since=since)
    events = {w.correlation_id: w for w in work if w.replay_of is None}
    items = {w.id: w for w in work if w.correlation_id in events}  # each event's item and its replays
    linked: dict[str, set[int]] = {c: set() for c in events}
    for link in history.exceptions_of_work(conn, work_item_ids=sorted(items), correlation_ids=sorted(events)):
        item = items.get(link.work_item_id) if link.work_item_id is not None else None
        correlation = link.correlation_id if link.correlation_id in events else (
            item.correlation_id if item is not None else None)
        if correlation is not None:
            linked[correlation].add(link.id)
    died = {w.correlation_id for w in items.values() if w.status == DEAD}
    return [RevenueEvent(w.id, w.created_at, max(len(linked[c]), 1 if c in died else 0))
            for c, w in sorted(events.items(), key=lambda kv: kv[1].id)]


def _stamp(run: runs.Run, name: str) -> datetime | None:
    value = run.stats.get(name)
    if value is None:
        return None
    try:
        stamp = datetime.fromisoformat(str(value))
    except ValueError:
        raise KpiInputError(f"outage run {run.id} field stats.{name}: {value!r} is not an ISO time") from None
    if stamp.tzinfo is None:
        raise KpiInputError(f"outage run {run.id} field stats.{name}: {value!r} has no timezone")
    return stamp


def outages(conn: Connection, since: datetime | None) -> list[Outage]:
    found = []
    for run in reversed(runs.list_runs(conn, kind=OUTAGE, since=since, limit=None)):
        drained = (_stamp(run, "drained_at") or run.finished_at) if run.status == runs.OK else None
        found.append(Outage(str(run.stats.get("system", "")), run.started_at, drained))
    return found


def _count(run: runs.Run, name: str) -> int:
    value: Any = run.stats.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise KpiInputError(f"reconciliation run {run.id} field stats.{name}: expected a count, got {value!r}")
    return value


def reconciliations(conn: Connection, since: datetime | None) -> list[Reconciliation]:
    return [Reconciliation(run.id, run.started_at, _count(run, "compared"), _count(run, "matched"))
            for run in reversed(runs.list_runs(conn, kind=RECONCILE, since=since, limit=None))
            if run.finished_at is not None and run.status not in (runs.RUNNING, runs.FAILED)]


def kpis(hub: Hub, *, since: date | None = None, until: date | None = None) -> KpiReport:
    """Every KPI, one row per UTC day from `since` (else the first day anything was recorded) to `until`
    (else today)."""
    last = until or hub.today()
    if since is not None and (last - since).days > MAX_DAYS:
        raise SinceTooEarly(f"field since: {since.isoformat()} is more than {MAX_DAYS} days before "
                            f"{last.isoformat()}; ask for a later day")
    start = _midnight(since)
    with hub.engine.connect() as conn:
        return kpi_report(setups=setups(conn, start), billed=billed_time(conn, start),
                          revenue=revenue_events(conn, start), outages=outages(conn, start),
                          reconciliations=reconciliations(conn, start), first=since, last=last)
