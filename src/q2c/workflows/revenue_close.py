"""Revenue close: recognise each active contract's revenue for the period through the revenue engine
(T&M as invoiced, milestones on completion, fixed fees by hours against their estimate, ...) and post
the balanced journal entries to the ERP.

The close always starts from what was actually posted: the recognition of the last period posted
for the contract (kept as a snapshot beside its journal entry) is the engine's `prior`, so facts
that arrive late for a closed period are recognised in the first open one, never lost. Before it
posts, the close checks that the revenue in the journal entries q2c posted equals what the engine
recognised to date; when it does not, nothing is posted and an exception says by how much.

Invoice status ('posted') and milestone status are read fresh from the systems that own them.
Journal entry ids derive from contract and period, so a re-run upserts, never doubles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from q2c.domain.dimensions import with_service_line_codes
from q2c.domain.model import Contract, Invoice, JournalEntry, Project
from q2c.domain.money import Money
from q2c.domain.revenue import (
    FxRate,
    FxTable,
    HoursToDate,
    Period,
    PeriodCalendar,
    ProgressFact,
    Recognition,
    RecognitionMethod,
    RevenueContract,
    RevenueError,
    billed_from_invoice,
    explain_contract,
    explain_figures,
    journal_entries,
    milestone_facts,
    recognise,
    recognition_from_json,
    recognition_to_json,
)
from q2c.domain.violations import Violation
from q2c.engine.errors import Rejected
from q2c.engine.hashing import content_hash
from q2c.engine.worker import Effects
from q2c.store import audit, links, records, reference, time_entries
from q2c.store import exceptions as exception_store
from q2c.store.queue import WorkItem
from q2c.workflows import contract_versions
from q2c.workflows.accounts import account_map
from q2c.workflows.billing_run import with_current_milestones
from q2c.workflows.cash_receipts import cash_facts
from q2c.workflows.hub import Hub
from q2c.workflows.integrity import JOURNAL, KEPT, POSTED, RECOGNITION, gl_violation, posted_revenue
from q2c.workflows.periods import PERIOD, load_calendar, set_period_state
from q2c.workflows.ports import journal_currencies

KIND = "revenue.contract"

__all__ = ["KIND", "PERIOD", "account_map", "close_contract", "contract_revenue", "enqueue_revenue_close", "explain",
           "explain_data", "load_calendar", "posted_revenue", "set_period_state"]


def enqueue_revenue_close(hub: Hub, *, period_end: date) -> int:
    return hub.enqueue_per_contract(KIND, period_end=period_end.isoformat())


def fx_table(hub: Hub, conn: Connection) -> FxTable:
    """The dated rates the hub has: those read from the rates file (`q2c reference sync`), and the config's
    `fx_rates`, which win on the same pair and day."""
    rates = {(r.from_currency, r.to_currency, r.on): FxRate(r.from_currency, r.to_currency, r.rate, r.on)
             for r in reference.fx_rates(conn)}
    for r in hub.config.fx_rates:
        rates[(r.from_currency, r.to_currency, r.on)] = FxRate(r.from_currency, r.to_currency, r.rate, r.on)
    return FxTable(tuple(rates[k] for k in sorted(rates)))


def functional_currency(hub: Hub, contract: Contract) -> str | None:
    """The legal entity's currency when it is not the contract's (the books are kept in it), else None."""
    entity = hub.config.legal_entity(contract.legal_entity)
    return entity.currency if entity is not None and entity.currency != contract.currency else None


@dataclass(frozen=True)
class ContractRevenue:
    """One contract's revenue for a period, from the facts the owning systems hold now."""

    contract: Contract
    project_id: str | None
    invoices: list[Invoice]
    revenue_contract: RevenueContract
    recognition: Recognition
    calendar: PeriodCalendar
    prior: Recognition | None
    facts: list[ProgressFact]
    hours_facts: list[HoursToDate]  # kept with the recognition, so the next close sees the same history


def _prior(conn: Connection, contract_id: str, period: Period) -> tuple[Recognition | None, list[HoursToDate]]:
    """The last recognition posted for the contract before `period`, and the hours facts it used."""
    best: records.Record | None = None
    for r in records.list_records(conn, entity=RECOGNITION, aggregate=f"contract:{contract_id}", states=["posted"]):
        label = str(r.payload.get("period", ""))
        if label < period.label and "snapshot" in r.payload and (best is None or label > best.payload["period"]):
            best = r
    if best is None:
        return None, []
    return recognition_from_json(best.payload["snapshot"]), [_hours_from_json(h) for h in
                                                            best.payload.get("hours_facts", [])]


def _hours_to_json(fact: HoursToDate) -> dict[str, str]:
    return {"id": fact.id, "obligation_id": fact.obligation_id, "on": fact.on.isoformat(), "hours": str(fact.hours)}


def _hours_from_json(data: dict[str, str]) -> HoursToDate:
    return HoursToDate(id=data["id"], obligation_id=data["obligation_id"], on=date.fromisoformat(data["on"]),
                       hours=Decimal(data["hours"]))


def hours_to_date(conn: Connection, project: Project | None, rc: RevenueContract, period: Period) -> list[HoursToDate]:
    """Hours of posted time on each hours-measured obligation's tasks, worked up to the period end."""
    wanted = [ob for ob in rc.obligations if ob.method is RecognitionMethod.INPUT_HOURS and ob.phase_id]
    if project is None or not wanted:
        return []
    task_phase = {t.code: t.phase_id for t in project.tasks}
    totals: dict[str, Decimal] = {ob.facts_key: Decimal(0) for ob in wanted}
    by_phase = {ob.phase_id: ob.facts_key for ob in wanted}
    for r in time_entries.of_project(conn, project.id, states=time_entries.POSTED):
        entry = r.payload.get("entry", {})
        key = by_phase.get(task_phase.get(str(entry.get("task_code"))))
        if key is not None and date.fromisoformat(str(entry["work_date"])) <= period.end:
            totals[key] += Decimal(str(entry["hours"]))
    return [HoursToDate(id=f"hours:{key}:{period.end.isoformat()}", obligation_id=key, on=period.end, hours=hours)
            for key, hours in sorted(totals.items())]


def contract_revenue(hub: Hub, contract_id: str, period: Period, *, check_open: bool = True,
                     terms: tuple[Contract, RevenueContract] | None = None) -> ContractRevenue | None:
    """Read the contract, its invoices (status fresh from the ERP), milestones (fresh from the CRM), hours and
    the last posted recognition, and recognise its revenue for `period` under the revenue contract version in
    force (or under `terms`, a contract and revenue contract proposed by a change, to show its effect).
    None for an unknown contract."""
    with hub.engine.connect() as conn:
        rec = records.get_record(conn, entity="contract", canonical_id=contract_id)
        if rec is None:
            return None
        contract = Contract.model_validate(rec.payload)
        revenue_contract = contract_versions.stored_revenue_contract(conn, contract)
        if terms is not None:
            contract, revenue_contract = terms
        invoices = [Invoice.model_validate(r.payload) for r in
                    records.list_records(conn, entity="invoice", aggregate=f"contract:{contract_id}")]
        project = next((Project.model_validate(r.payload) for r in
                        records.list_records(conn, entity="project", aggregate=f"contract:{contract_id}")), None)
        calendar = load_calendar(conn, contract.legal_entity)
        prior, earlier_hours = _prior(conn, contract_id, period)
        hours_now = hours_to_date(conn, project, revenue_contract, period)
        cash = cash_facts(conn, contract_id)
        fx = fx_table(hub, conn)
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
    hours_facts = [*earlier_hours, *(h for h in hours_now if h.id not in {e.id for e in earlier_hours})]
    facts: list[ProgressFact] = [f for inv in invoices for f in billed_from_invoice(inv)]
    facts += list(milestone_facts(contract))
    facts += hours_facts
    facts += cash
    functional = functional_currency(hub, contract)
    try:
        recognition = recognise(revenue_contract, facts, period=period, prior=prior,
                                calendar=calendar if check_open else None, functional_currency=functional,
                                fx=fx if functional is not None else None)
    except RevenueError as exc:
        raise Rejected([Violation(
            system="q2c", object="contract", record_id=contract.id, field=None, rule="revenue.refused",
            message=f"the revenue engine cannot recognise {contract.id} for {period}: {exc}",
            action="Correct what the message names (a rate, a fact, the contract's terms), then replay")]) from None
    return ContractRevenue(contract, project.id if project is not None else None, invoices, revenue_contract,
                           recognition, calendar, prior, facts, hours_facts)


def explain(hub: Hub, contract_id: str, period: Period) -> str | None:
    """The contract's numbers in plain words (allocation, progress, catch-ups), for a controller."""
    revenue = contract_revenue(hub, contract_id, period, check_open=False)
    if revenue is None:
        return None
    return explain_contract(revenue.revenue_contract, revenue.recognition)


def explain_data(hub: Hub, contract_id: str, period: Period) -> dict[str, Any] | None:
    """The same figures as data (`q2c revenue explain --json`)."""
    revenue = contract_revenue(hub, contract_id, period, check_open=False)
    if revenue is None:
        return None
    return explain_figures(revenue.revenue_contract, revenue.recognition)


def close_contract(hub: Hub, item: WorkItem) -> Effects | None:
    period = Period.of(date.fromisoformat(str(item.payload["period_end"])))
    revenue = contract_revenue(hub, str(item.payload["contract_id"]), period)
    if revenue is None:
        return None
    contract, calendar = revenue.contract, revenue.calendar
    accounts = account_map(hub)
    with hub.engine.connect() as conn:
        posted_before = posted_revenue(conn, contract.id, contract.currency, accounts, before=period)
    before = revenue.prior.cumulative if revenue.prior is not None else Money.zero(contract.currency)
    mismatch = gl_violation(contract, engine_cumulative=before, posted=posted_before, period=period)
    if mismatch is not None:
        raise Rejected([mismatch])
    plan = hub.config.dimension_plan  # the firm's reporting codes: location of the entity, class of the line
    dims = {"legal_entity": contract.legal_entity, "project": revenue.project_id or "", "contract": contract.id,
            **plan.codes(legal_entity=contract.legal_entity)}
    functional = functional_currency(hub, contract)
    entries = [with_service_line_codes(e, plan) for e in journal_entries(
        revenue.recognition, accounts=accounts, dimensions=dims, calendar=calendar,
        functional_currency=functional)]
    posted = {e.id: hub.erp.post_journal_entry(e) for e in entries if sent_to_erp(hub, e, functional)}
    return _effects(hub, item, contract, revenue, entries, posted)


def entry_currency(entry: JournalEntry) -> str:
    return entry.lines[0].debit.currency if entry.lines else ""


def sent_to_erp(hub: Hub, entry: JournalEntry, functional: str | None) -> bool:
    """Every entry, unless the ERP posts journals in the entity's currency only and the contract is in
    another: then only the entity-currency copy is sent, and the contract-currency entry is kept in q2c."""
    return functional is None or journal_currencies(hub.erp) == "any" or entry_currency(entry) == functional


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


def _effects(hub: Hub, item: WorkItem, contract: Contract, revenue: ContractRevenue, entries: Sequence[JournalEntry],
             posted: dict[str, str]) -> Effects:
    recognition = revenue.recognition
    erp = hub.erp.names.system

    def write(conn: Connection) -> None:
        summary = recognition_summary(recognition)
        payload = {**summary, "snapshot": recognition_to_json(recognition),
                   "hours_facts": [_hours_to_json(h) for h in revenue.hours_facts],
                   "journal_entries": sorted(posted)}
        key = f"{contract.id}:{recognition.period.label}"
        rows = [records.Record(RECOGNITION, key, f"contract:{contract.id}", "posted", 1, content_hash(payload),
                               payload)]
        for inv in revenue.invoices:
            inv_payload = inv.model_dump(mode="json")
            rows.append(records.Record("invoice", inv.id, f"contract:{contract.id}", inv.status.value,
                                       inv.schema_version, content_hash(inv_payload), inv_payload))
        for e in entries:
            e_payload = e.model_dump(mode="json")
            rows.append(records.Record(JOURNAL, e.id, f"contract:{contract.id}", POSTED if e.id in posted else KEPT,
                                       e.schema_version, content_hash(e_payload), e_payload))
        records.upsert_records(conn, rows)
        links.upsert_links(conn, [links.Link(JOURNAL, e.id, erp, posted[e.id],
                                             content_hash(e.model_dump(mode="json")), None)
                                  for e in entries if e.id in posted])
        audit.append(conn, [audit.AuditEntry(
            actor=hub.actor, system=erp, action="revenue", entity="contract", record_id=contract.id,
            correlation_id=item.correlation_id,
            before=None if revenue.prior is None else {"period": revenue.prior.period.label,
                                                       "cumulative": str(revenue.prior.cumulative.amount)},
            after={"period": summary["period"], "recognised": summary["recognised"],
                   "cumulative": summary["cumulative"], "journal_entries": sorted(posted),
                   **({"kept_in_q2c": sorted(e.id for e in entries if e.id not in posted)}
                      if len(posted) < len(entries) else {}),
                   "notes": list(recognition.notes)})])
        exception_store.resolve_open_for_aggregate(conn, work_kind=KIND, aggregate=item.aggregate)

    return write
