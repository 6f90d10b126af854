"""The sides of each reconciliation pair, read fresh from each system through its port (and from q2c's records).

Every pair is keyed by the canonical id both systems hold, so a record is compared with itself:

- `bookings`: the CRM's won deals (a change order added to the deal it amends) <-> the ERP's sales orders,
  by opportunity: amount, currency, number of lines.
- `time`: the tracker's approved entries, priced at the rate q2c rated them <-> the ERP's timebills, by
  entry: project, task, date, hours, rate, amount. An entry deleted or un-approved in the tracker after it
  was synced is in the ERP only; one approved but never posted is in the tracker only.
- `invoices`: q2c's released invoices and credit notes <-> the ERP's, by invoice id: kind, currency, total,
  status, date, line amounts.
- `revenue`: what the engine recognised per contract and period <-> the revenue lines of q2c's journal
  entries in the ERP (credits less debits on the revenue accounts), in the contract's currency.

A record that an open exception names, or that work in the queue is still carrying, is *held*: it is
accounted for, and counted apart from the drifts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from q2c.domain.billing.credit_notes import VOID_PREFIX
from q2c.domain.model import Contract, Invoice, JournalEntry, Project, TimeEntry, TimeEntryStatus
from q2c.domain.money import quantize
from q2c.domain.reconciliation import Measure, PairResult, Side, compare
from q2c.domain.revenue import Period
from q2c.store import exceptions as exception_store
from q2c.store import records, time_entries
from q2c.store.schema import work_items
from q2c.workflows import contract_changes
from q2c.workflows.accounts import account_map
from q2c.workflows.hub import Hub
from q2c.workflows.integrity import JOURNAL, RECOGNITION, revenue_accounts
from q2c.workflows.ports import ErpDocument, journal_currencies

PAIRS = ("bookings", "time", "invoices", "revenue")
OWN_WORK = "reconcile.heal"  # reconciliation's own exceptions: they report a drift, they do not account for it

TIME_FIELDS = ("project", "task", "work_date", "hours", "rate", "amount", "currency")
BOOKING_FIELDS = ("amount", "currency", "lines")
INVOICE_FIELDS = ("kind", "currency", "total", "status", "invoice_date", "line_amounts")
REVENUE_FIELDS = ("revenue", "currency")


@dataclass
class Context:
    """What the pairs read from q2c itself once per run, and what the tracing step needs afterwards."""

    contracts: dict[str, Contract] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    # the tracker's entries that do not match the ERP (approved or not), as the tracker lists them now
    tracker_entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    tracker_time: dict[str, TimeEntry] = field(default_factory=dict)
    erp_documents: dict[str, ErpDocument] = field(default_factory=dict)


def load_context(conn: Connection) -> Context:
    ctx = Context()
    for r in records.list_records(conn, entity="contract"):
        c = Contract.model_validate(r.payload)
        ctx.contracts[c.id] = c
    for r in records.list_records(conn, entity="project"):
        p = Project.model_validate(r.payload)
        ctx.projects[p.id] = p
    return ctx


def in_flight_aggregates(conn: Connection) -> set[str]:
    """Aggregates with work pending or running: their records may not have reached the ERP yet."""
    rows = conn.execute(sa.select(work_items.c.aggregate).where(work_items.c.status.in_(["pending", "running"])))
    return {str(a) for a in rows.scalars()}


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


@lru_cache(maxsize=64)
def _minor_unit(currency: str) -> Decimal:
    """The currency's minor unit as an exponent to quantize to (0.01 for USD), looked up once per currency."""
    return quantize(Decimal(0), currency)


def timebill_amount(hours: Decimal | None, rate: Decimal | None, currency: str | None) -> Decimal | None:
    """Hours at the rate, in the currency's minor units (as an invoice line would show it), rounded half up as
    `domain.money.quantize` rounds."""
    if hours is None or rate is None:
        return None
    return _priced(hours, rate, currency) if currency else hours * rate


@lru_cache(maxsize=1 << 16)
def _priced(hours: Decimal, rate: Decimal, currency: str) -> Decimal:
    """Cached: an account's time comes in few distinct hours (quarter hours) at few rates (a rate card's), so
    a million entries price in a few thousand multiplications. Equal Decimals give the same quantized result,
    however they are written, so sharing the result is exact."""
    return (hours * rate).quantize(_minor_unit(currency), rounding=ROUND_HALF_UP)


# --- time ------------------------------------------------------------------------------------------
def time_pair(hub: Hub, conn: Connection, ctx: Context, *, busy: set[str]) -> PairResult:
    """The ERP's timebills are read first, so that of the tracker's entries only those that do not match are
    kept for tracing: memory follows the drifts, not the account's size."""
    currency_of = {pid: ctx.contracts[p.contract_id].currency for pid, p in ctx.projects.items()
                   if p.contract_id in ctx.contracts}
    rated: dict[str, tuple[Decimal, str]] = {}
    for r in records.list_records(conn, entity=time_entries.ENTITY):
        if r.state in time_entries.POSTED and "rated" in r.payload:
            rate = r.payload["rated"]["rate"]
            rated[r.canonical_id] = (Decimal(str(rate["amount"])), str(rate["currency"]))
    right: dict[str, tuple[object, ...]] = {}
    for bills in hub.erp.timebills():
        for t in bills:
            currency = currency_of.get(t.project_id or "")
            right[t.entry_id] = (t.project_id, t.task_code, t.work_date, t.hours, t.rate,
                                 timebill_amount(t.hours, t.rate, currency), currency)
    left: dict[str, tuple[object, ...]] = {}
    for page in hub.tracker.time_pages(None):
        for e in page.entries:
            if e.status is TimeEntryStatus.APPROVED:
                rate, currency = rated.get(e.id, (None, currency_of.get(e.project_id)))
                amount = timebill_amount(e.hours, rate, currency)
                values = (e.project_id, e.task_code, e.work_date, e.hours, rate, amount, currency)
                left[e.id] = values
                if right.get(e.id) == values:
                    continue
            elif e.id not in right:
                continue
            ctx.tracker_time[e.id] = e
            ctx.tracker_entries[e.id] = {"status": e.status.value, "updated_at": e.source_updated_at.isoformat()}
    return compare("time", TIME_FIELDS, Side(hub.tracker.names.label, left), Side(hub.erp.names.label, right),
                   measures=[Measure("hours"), Measure("amount", "currency")],
                   held=time_held(conn, left, right, busy=busy))


def time_held(conn: Connection, left: Mapping[str, tuple[object, ...]], right: Mapping[str, tuple[object, ...]],
              *, busy: set[str]) -> set[str]:
    """The entries accounted for: every entry an open exception holds (read once: they are few), and those of
    projects with work in flight."""
    held = exception_store.open_subject_ids(conn, entity=time_entries.ENTITY,
                                            except_rules=[time_entries.OVER_CAP_RULE], in_flight=True)
    moving = {a.removeprefix("project:") for a in busy if a.startswith("project:")}
    if moving:
        held |= {k for side in (left, right) for k, v in side.items() if v[0] in moving}
    return held


# --- bookings --------------------------------------------------------------------------------------
def bookings_pair(hub: Hub, conn: Connection, ctx: Context, *, busy: set[str]) -> PairResult:
    booked: dict[str, tuple[Decimal, str, int]] = {}
    contract_of = {c.opportunity_id: c for c in ctx.contracts.values()}
    for opp_id, _ in hub.crm.won_deal_ids(None):
        opp = hub.crm.deal(opp_id).opportunity
        key = opp.amends_id or opp.id  # a won change order adds to the deal it amends
        amount, currency, lines = booked.get(key, (Decimal(0), opp.amount.currency, 0))
        booked[key] = (amount + opp.amount.amount, currency, lines + len(opp.lines))
    left: dict[str, tuple[object, ...]] = dict(booked.items())
    orders = hub.erp.documents("contract", sorted(ctx.contracts))
    right: dict[str, tuple[object, ...]] = {}
    for d in orders:
        ctx.erp_documents[f"contract:{d.id}"] = d
        contract = ctx.contracts.get(d.id)
        key = contract.opportunity_id if contract is not None else f"salesorder:{d.id}"
        right[key] = (d.total, d.currency, len(d.lines))
    named = exception_store.open_record_ids(conn, sorted(left), except_work_kind=OWN_WORK)
    held = {opp for opp in left if opp not in contract_of and (f"opportunity:{opp}" in busy or opp in named)}
    held |= {c.opportunity_id for c in ctx.contracts.values() if f"contract:{c.id}" in busy}
    # a contract change q2c holds (waiting for approval, treatment or a second person) accounts for the CRM's
    # new terms until it is applied or rejected
    changing = {str(r.payload.get("contract_id")) for r in contract_changes.list_changes(conn)}
    held |= {c.opportunity_id for c in ctx.contracts.values() if c.id in changing}
    return compare("bookings", BOOKING_FIELDS, Side(hub.crm.names.label, left), Side(hub.erp.names.label, right),
                   measures=[Measure("amount", "currency")], held=held)


# --- invoices --------------------------------------------------------------------------------------
_ERP_STATES = ("posted", "paid", "voided", "credited")


def q2c_invoice_status(state: str, invoice: Invoice) -> str:
    """Where q2c believes the invoice stands in the ERP: released means posted until the ERP says otherwise; an
    invoice q2c credited in full reads as paid there (the credit settled it, as a payment would)."""
    if state == "credited":
        return "paid"
    if state in _ERP_STATES:
        return state
    return "posted" if state == "released" else invoice.status.value


def _invoice_values(kind: str, currency: str | None, total: Decimal, status: str | None, on: object,
                    amounts: list[Decimal]) -> tuple[object, ...]:
    """A voided document's amounts are not compared: the ERP zeroes them, q2c keeps them beside a reversal."""
    if status == "voided":
        return (kind, currency, None, status, on, None)
    return (kind, currency, total, status, on, tuple(sorted(amounts)))


def invoices_pair(hub: Hub, conn: Connection, ctx: Context, *, busy: set[str]) -> PairResult:
    left: dict[str, tuple[object, ...]] = {}
    for r in records.list_records(conn, entity="invoice"):
        if r.state == "draft" or not r.aggregate.startswith("contract:"):
            continue  # a draft waits for review in q2c; a rejected draft is out of the books
        if r.canonical_id.startswith(VOID_PREFIX):
            continue  # q2c's own booking of a void the ERP made: it has no document of its own there
        inv = Invoice.model_validate(r.payload)
        left[inv.id] = _invoice_values(inv.kind, inv.currency, inv.total.amount, q2c_invoice_status(r.state, inv),
                                       inv.invoice_date, [line.amount.amount for line in inv.lines])
    right: dict[str, tuple[object, ...]] = {}
    for kind in ("invoice", "credit_note"):
        for d in hub.erp.documents(kind):
            ctx.erp_documents[f"invoice:{d.id}"] = d
            right[d.id] = _invoice_values(kind, d.currency, d.total, d.status, d.on, [ln.amount for ln in d.lines])
    held = exception_store.open_record_ids(conn, sorted(left), except_work_kind=OWN_WORK)
    held |= {k for k, r in records.get_records(conn, entity="invoice", canonical_ids=sorted(left)).items()
             if r.aggregate in busy}
    return compare("invoices", INVOICE_FIELDS, Side("q2c", left), Side(hub.erp.names.label, right),
                   measures=[Measure("total", "currency")], held=held)


# --- revenue ---------------------------------------------------------------------------------------
def account_number(account: str) -> str:
    """The config names accounts '<number> <name>'; an ERP line carries the number."""
    return account.split(maxsplit=1)[0] if account.strip() else ""


def revenue_pair(hub: Hub, conn: Connection, ctx: Context, *, busy: set[str]) -> PairResult:
    left: dict[str, tuple[object, ...]] = {}
    for r in records.list_records(conn, entity=RECOGNITION, states=["posted"]):
        contract_id = r.aggregate.removeprefix("contract:")
        left[f"{contract_id}:{r.payload['period']}"] = (Decimal(str(r.payload["recognised"])),
                                                        str(r.payload["currency"]))
    journals = {r.canonical_id: r for r in records.list_records(conn, entity=JOURNAL, states=["posted"])}
    names = revenue_accounts(account_map(hub))
    revenue_numbers = {account_number(a) for a in names}
    compared = _compared_currencies(hub, ctx, journals)
    for key, (revenue_then, currency) in _functional_revenue(ctx, journals, compared, names).items():
        left[key] = (revenue_then, currency)
    sums: dict[str, tuple[Decimal, str]] = {}
    for d in hub.erp.documents("journal_entry"):
        ctx.erp_documents[f"journal:{d.id}"] = d
        mine = journals.get(d.id)
        if mine is None:
            sums[f"journal:{d.id}"] = (sum((ln.credit - ln.debit for ln in d.lines), Decimal(0)), d.currency or "")
            continue
        entry = JournalEntry.model_validate(mine.payload)
        contract = ctx.contracts.get(mine.aggregate.removeprefix("contract:"))
        if contract is None or d.currency != compared.get(contract.id, contract.currency):
            continue  # the other copy of a foreign contract's entry: one currency is compared
        key = f"{contract.id}:{Period.of(entry.entry_date).label}"
        revenue = sum((ln.credit - ln.debit for ln in d.lines if (ln.account or "") in revenue_numbers), Decimal(0))
        currency = compared.get(contract.id, contract.currency)
        prior = sums.get(key, (Decimal(0), currency))[0]
        sums[key] = (prior + revenue, currency)
    right: dict[str, tuple[object, ...]] = dict(sums.items())
    for key, values in left.items():  # a period the engine recognised nothing in posts no entry
        if key not in right and values[0] == 0:
            right[key] = (Decimal(0), values[1])
    held = {k for k in left if f"contract:{k.rsplit(':', 1)[0]}" in busy}
    return compare("revenue", REVENUE_FIELDS, Side("q2c revenue engine", left), Side(hub.erp.names.label, right),
                   measures=[Measure("revenue", "currency")], held=held)


def _compared_currencies(hub: Hub, ctx: Context, journals: Mapping[str, records.Record]) -> dict[str, str]:
    """Contract id -> the currency its revenue is compared in, for the contracts whose ERP holds only the
    entity-currency copy of their entries (`journal_currencies == "entity"`): that copy's currency."""
    if journal_currencies(hub.erp) != "entity":
        return {}
    out: dict[str, str] = {}
    for r in journals.values():
        contract = ctx.contracts.get(r.aggregate.removeprefix("contract:"))
        lines = r.payload.get("lines") or []
        currency = str(lines[0]["debit"]["currency"]) if lines else ""
        if contract is not None and currency and currency != contract.currency:
            out[contract.id] = currency
    return out


def _functional_revenue(ctx: Context, journals: Mapping[str, records.Record], compared: Mapping[str, str],
                        names: set[str]) -> dict[str, tuple[Decimal, str]]:
    """'contract:period' -> the revenue of q2c's entity-currency entries, for the contracts compared so: what
    the engine's translation put in the books (the entries are made from the recognition, in one pass)."""
    out: dict[str, tuple[Decimal, str]] = {}
    for r in journals.values():
        contract_id = r.aggregate.removeprefix("contract:")
        currency = compared.get(contract_id)
        entry = JournalEntry.model_validate(r.payload) if currency is not None else None
        if entry is None or not entry.lines or entry.lines[0].debit.currency != currency:
            continue
        key = f"{contract_id}:{Period.of(entry.entry_date).label}"
        revenue = sum((ln.credit.amount - ln.debit.amount for ln in entry.lines if ln.account in names), Decimal(0))
        out[key] = (out.get(key, (Decimal(0), currency))[0] + revenue, currency)
    return out


def journal_periods(journals: Mapping[str, records.Record]) -> dict[str, str]:
    """Journal entry id -> 'contract:period' (for tracing a revenue drift back to the entries behind it)."""
    out = {}
    for jid, r in journals.items():
        entry = JournalEntry.model_validate(r.payload)
        out[jid] = f"{r.aggregate.removeprefix('contract:')}:{Period.of(entry.entry_date).label}"
    return out


def pair_names(selected: Sequence[str] | None) -> list[str]:
    if not selected:
        return list(PAIRS)
    unknown = [p for p in selected if p not in PAIRS]
    if unknown:
        raise ValueError(f"unknown reconciliation pair {', '.join(unknown)}; known: {', '.join(PAIRS)}")
    return list(selected)
