"""Revenue close: recognise each active contract's revenue for the period through the revenue engine
(T&M as invoiced, milestones on completion, ...) and post the balanced journal entries to the ERP.

Invoice status ('posted') and milestone status are read fresh from the systems that own them
first. Journal entry ids derive from contract and period, so a re-run upserts, never doubles.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection

from q2c.domain.model import Contract, Invoice, JournalEntry
from q2c.domain.revenue import (
    AccountMap,
    Period,
    PeriodCalendar,
    Recognition,
    RevenueContract,
    billed_from_invoice,
    explain_contract,
    journal_entries,
    milestone_facts,
    recognise,
    revenue_contract_from,
)
from q2c.domain.violations import Violation
from q2c.engine.hashing import content_hash
from q2c.engine.worker import Effects, Rejected
from q2c.store import audit, links, records
from q2c.store.queue import WorkItem
from q2c.workflows.billing_run import with_current_milestones
from q2c.workflows.hub import Hub

KIND = "revenue.contract"


def enqueue_revenue_close(hub: Hub, *, period_end: date) -> int:
    return hub.enqueue_per_contract(KIND, period_end=period_end.isoformat())


def account_map(hub: Hub) -> AccountMap:
    a = hub.config.revenue_accounts
    return AccountMap(revenue=a.revenue, contract_asset=a.contract_asset, contract_liability=a.contract_liability,
                      billing=a.receivable, fx_rounding=a.fx_rounding)


PERIOD = "period"


def load_calendar(conn: Connection, legal_entity: str) -> PeriodCalendar:
    """The legal entity's closed periods, as the controller closed them (`q2c period close`)."""
    closed = records.list_records(conn, entity=PERIOD, aggregate=f"periods:{legal_entity}", states=["closed"])
    return PeriodCalendar(legal_entity, frozenset(Period.parse(r.payload["period"]) for r in closed))


def set_period_state(hub: Hub, *, legal_entity: str, period: Period, closed: bool, actor: str) -> bool:
    """Close or reopen a period; returns False when it already was in that state. Audited."""
    state = "closed" if closed else "open"
    key = f"{legal_entity}:{period.label}"
    with hub.engine.begin() as conn:
        current = records.get_record(conn, entity=PERIOD, canonical_id=key)
        if (current.state if current else "open") == state:
            return False
        payload = {"legal_entity": legal_entity, "period": period.label}
        records.upsert_records(conn, [records.Record(PERIOD, key, f"periods:{legal_entity}", state, 1,
                                                     content_hash(payload), payload)])
        audit.append(conn, [audit.AuditEntry(actor=actor, system="q2c", action=f"period_{state}", entity=PERIOD,
                                             record_id=key, correlation_id=uuid.uuid4().hex,
                                             before={"state": current.state if current else "open"},
                                             after={"state": state})])
    return True


@dataclass(frozen=True)
class ContractRevenue:
    """One contract's revenue for a period, from the facts the owning systems hold now."""

    contract: Contract
    project_id: str | None
    invoices: list[Invoice]
    revenue_contract: RevenueContract
    recognition: Recognition
    calendar: PeriodCalendar


def contract_revenue(hub: Hub, contract_id: str, period: Period, *, check_open: bool = True) -> ContractRevenue | None:
    """Read the contract, its invoices (status fresh from the ERP) and milestones (fresh from the CRM), and
    recognise its revenue for `period`. None for an unknown contract."""
    with hub.engine.connect() as conn:
        rec = records.get_record(conn, entity="contract", canonical_id=contract_id)
        if rec is None:
            return None
        contract = Contract.model_validate(rec.payload)
        invoices = [Invoice.model_validate(r.payload) for r in
                    records.list_records(conn, entity="invoice", aggregate=f"contract:{contract_id}")]
        project = next((r.canonical_id for r in
                        records.list_records(conn, entity="project", aggregate=f"contract:{contract_id}")), None)
        calendar = load_calendar(conn, contract.legal_entity)
    if check_open and not calendar.is_open(period):
        raise Rejected([Violation(
            system="q2c", object="period", record_id=f"{contract.legal_entity}:{period.label}", field=None,
            rule="revenue.period_closed",
            message=f"period {period.label} is closed for {contract.legal_entity}; revenue of {contract.id} "
                    "cannot be posted into it",
            action=f"Run the revenue close for {calendar.first_open_from(period).label} (late events land there), "
                   f"or have the controller reopen {period.label} with `q2c period reopen`")])
    states = hub.erp.invoice_states([i.id for i in invoices]) if invoices else {}
    invoices = [i.model_copy(update={"status": states.get(i.id, i.status)}) for i in invoices]
    contract = with_current_milestones(hub, contract)
    revenue_contract = revenue_contract_from(contract)
    facts = [f for inv in invoices for f in billed_from_invoice(inv)] + list(milestone_facts(contract))
    recognition = recognise(revenue_contract, facts, period=period, calendar=calendar if check_open else None)
    return ContractRevenue(contract, project, invoices, revenue_contract, recognition, calendar)


def explain(hub: Hub, contract_id: str, period: Period) -> str | None:
    """The contract's numbers in plain words (allocation, progress, catch-ups), for a controller."""
    revenue = contract_revenue(hub, contract_id, period, check_open=False)
    if revenue is None:
        return None
    return explain_contract(revenue.revenue_contract, revenue.recognition)


def close_contract(hub: Hub, item: WorkItem) -> Effects | None:
    period = Period.of(date.fromisoformat(str(item.payload["period_end"])))
    revenue = contract_revenue(hub, str(item.payload["contract_id"]), period)
    if revenue is None:
        return None
    contract, calendar = revenue.contract, revenue.calendar
    dims = {"legal_entity": contract.legal_entity, "project": revenue.project_id or "", "contract": contract.id}
    entries = journal_entries(revenue.recognition, accounts=account_map(hub), dimensions=dims, calendar=calendar)
    posted = {e.id: hub.erp.post_journal_entry(e) for e in entries}
    return _effects(hub, item, contract, revenue.invoices, revenue.recognition, entries, posted)


def recognition_summary(recognition: Recognition) -> dict[str, Any]:
    return {
        "period": recognition.period.label, "currency": recognition.currency,
        "recognised": str(recognition.revenue.amount), "cumulative": str(recognition.cumulative.amount),
        "billed_to_date": str(recognition.billed_to_date.amount),
        "obligations": [{"id": ob.obligation_id, "name": ob.name, "method": str(ob.method),
                         "allocated": None if ob.allocated is None else str(ob.allocated.amount),
                         "progress": ob.progress_text, "revenue": str(ob.revenue.amount),
                         "cumulative": str(ob.cumulative.amount),
                         "lines": [{"kind": ln.kind, "amount": str(ln.amount.amount), "reason": ln.reason}
                                   for ln in ob.lines]}
                        for ob in recognition.obligations],
        "notes": list(recognition.notes),
    }


def _effects(hub: Hub, item: WorkItem, contract: Contract, invoices: list[Invoice], recognition: Recognition,
             entries: list[JournalEntry], posted: dict[str, str]) -> Effects:
    def write(conn: Connection) -> None:
        summary = recognition_summary(recognition)
        key = f"{contract.id}:{recognition.period.label}"
        rows = [records.Record("revenue_recognition", key, f"contract:{contract.id}", "posted", 1,
                               content_hash(summary), summary)]
        for inv in invoices:
            payload = inv.model_dump(mode="json")
            rows.append(records.Record("invoice", inv.id, f"contract:{contract.id}", inv.status.value,
                                       inv.schema_version, content_hash(payload), payload))
        for e in entries:
            payload = e.model_dump(mode="json")
            rows.append(records.Record("journal_entry", e.id, f"contract:{contract.id}", "posted", e.schema_version,
                                       content_hash(payload), payload))
        records.upsert_records(conn, rows)
        links.upsert_links(conn, [links.Link("journal_entry", e.id, "netsuite", posted[e.id],
                                             content_hash(e.model_dump(mode="json")), None) for e in entries])
        audit.append(conn, [audit.AuditEntry(
            actor=hub.actor, system="netsuite", action="revenue", entity="contract", record_id=contract.id,
            correlation_id=item.correlation_id,
            after={"period": summary["period"], "recognised": summary["recognised"],
                   "cumulative": summary["cumulative"], "journal_entries": sorted(posted)})])

    return write
