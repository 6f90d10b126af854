"""The reports a controller reads, from q2c's own records: WIP, the revenue waterfall, the deferred revenue
roll-forward, remaining performance obligations and invoices by month.

Every figure comes from what the hub holds (rated time, invoices and credit notes, the recognitions the
revenue close posted with their snapshots, the revenue contract versions), never from a system's live
state, so a report for a past date or period reads the same tomorrow. The arithmetic is the domain's
(`domain.billing.wip`, `domain.revenue.reports`, `domain.revenue.remaining`); this module picks the
records, applies the filters and shapes the figures as data (`to_json`, amounts as strings beside their
currency) and as a `Grid` (what CSV writes and a terminal shows).

WIP as of a date reads each entry at the rating the hub holds now (a correction re-rates it) and counts
it billed only by the documents dated on or before that date: time billed later was unbilled then, and
time credited back later was still billed.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from q2c.domain.billing import ProjectWip, RatedTime, billed_entry_ids, wip
from q2c.domain.model import Contract, Invoice, Project
from q2c.domain.money import Money, quantize
from q2c.domain.revenue import (
    Period,
    Recognition,
    RevenueContract,
    Rollforward,
    deferred_revenue_rollforward,
    recognition_from_json,
    waterfall,
)
from q2c.domain.revenue.remaining import RemainingObligation, remaining_obligations
from q2c.store import records, time_entries
from q2c.workflows import contract_versions, invoice_review
from q2c.workflows.hub import Hub
from q2c.workflows.integrity import RECOGNITION

_PERIOD = re.compile(r"\d{4}-\d{2}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SHOWN_KNOWN = 10  # known contracts named in the refusal of an unknown one


class ReportRefused(ValueError):
    """A report asked with an argument it cannot use: `argument` names it (contract, legal_entity, as_of, from,
    to, period) and `problem` says what is wrong with it, so the CLI and the API can each name it their way."""

    def __init__(self, argument: str, problem: str) -> None:
        super().__init__(f"{argument}: {problem}")
        self.argument = argument
        self.problem = problem


def parse_period(text: str, *, argument: str) -> Period:
    """'2026-11' -> Period(2026, 11); anything else is refused naming the argument."""
    try:
        if not _PERIOD.fullmatch(text):
            raise ValueError(text)
        return Period.parse(text)
    except ValueError:
        raise ReportRefused(argument, f"{text!r} is not a period: use YYYY-MM, such as 2026-11") from None


def parse_day(text: str, *, argument: str) -> date:
    """'2026-11-30' -> date(2026, 11, 30); anything else is refused naming the argument."""
    try:
        if not _DAY.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ReportRefused(argument, f"{text!r} is not a date: use YYYY-MM-DD, such as 2026-11-30") from None


def amount_text(money: Money) -> str:
    """The amount to the currency's minor unit, as a string ("-0.00" never shows)."""
    shown = quantize(money.amount, money.currency)
    return str(shown + 0 if shown == 0 else shown)


def _opt(money: Money | None) -> str | None:
    return None if money is None else amount_text(money)


@dataclass(frozen=True)
class Grid:
    """A report as rows of plain strings: what CSV writes (with its header row) and a terminal table shows."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    amounts: frozenset[str] = frozenset()  # the columns that hold amounts or counts (aligned right)

    def as_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return out.getvalue()


# --- scope: which contracts a report covers ---------------------------------------------------------------


def _contracts(conn: Connection, hub: Hub, *, contract_id: str | None, legal_entity: str | None) -> list[Contract]:
    """The contracts in scope, by id; an unknown contract or legal entity is refused naming the argument."""
    every = [Contract.model_validate(r.payload) for r in records.list_records(conn, entity="contract")]
    if contract_id is not None and contract_id not in {c.id for c in every}:
        known = [c.id for c in every]
        shown = ", ".join(known[:_SHOWN_KNOWN]) + (" …" if len(known) > _SHOWN_KNOWN else "")
        raise ReportRefused("contract", f"{contract_id!r} is not a contract q2c holds"
                                        + (f" (known: {shown})" if known else " (it holds none yet)"))
    if legal_entity is not None:
        entities = sorted({e.code for e in hub.config.legal_entities} | {c.legal_entity for c in every})
        if legal_entity not in entities:
            raise ReportRefused("legal_entity", f"{legal_entity!r} is not a legal entity q2c knows (known: "
                                                f"{', '.join(entities) or 'none'})")
    return [c for c in every if (contract_id is None or c.id == contract_id)
            and (legal_entity is None or c.legal_entity == legal_entity)]


def _books(contract_id: str) -> str:
    return f"contract:{contract_id}"


def _recognitions(conn: Connection, contract_id: str) -> list[Recognition]:
    """The recognitions posted for the contract, one per period, oldest first."""
    rows = records.list_records(conn, entity=RECOGNITION, aggregate=_books(contract_id), states=["posted"])
    return sorted((recognition_from_json(r.payload["snapshot"]) for r in rows if "snapshot" in r.payload),
                  key=lambda rec: rec.period)


# --- WIP ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WipLine:
    contract_id: str
    legal_entity: str
    project: ProjectWip

    @property
    def currency(self) -> str:
        return self.project.at_bill_rate.currency


@dataclass(frozen=True)
class WipTotal:
    currency: str
    entry_count: int
    hours: Decimal
    at_bill_rate: Money
    at_cost: Money


@dataclass(frozen=True)
class WipByProject:
    """Approved billable time not billed as of a date, per project, with totals per currency."""

    as_of: date
    lines: tuple[WipLine, ...]
    totals: tuple[WipTotal, ...]

    def to_json(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(),
                "projects": [{"project_id": x.project.project_id, "contract_id": x.contract_id,
                              "legal_entity": x.legal_entity, "currency": x.currency,
                              "entries": x.project.entry_count, "hours": f"{x.project.hours:f}",
                              "at_bill_rate": amount_text(x.project.at_bill_rate),
                              "at_cost": amount_text(x.project.at_cost),
                              "oldest_work_date": x.project.oldest_work_date.isoformat(),
                              "entries_without_cost": list(x.project.entries_without_cost)} for x in self.lines],
                "totals": [{"currency": t.currency, "entries": t.entry_count, "hours": f"{t.hours:f}",
                            "at_bill_rate": amount_text(t.at_bill_rate), "at_cost": amount_text(t.at_cost)}
                           for t in self.totals]}

    def grid(self) -> Grid:
        return Grid(f"WIP as of {self.as_of.isoformat()}",
                    ("project_id", "contract_id", "legal_entity", "currency", "entries", "hours", "at_bill_rate",
                     "at_cost", "oldest_work_date"),
                    tuple((x.project.project_id, x.contract_id, x.legal_entity, x.currency,
                           str(x.project.entry_count), f"{x.project.hours:f}", amount_text(x.project.at_bill_rate),
                           amount_text(x.project.at_cost), x.project.oldest_work_date.isoformat())
                          for x in self.lines),
                    frozenset({"entries", "hours", "at_bill_rate", "at_cost"}))

    def totals_grid(self) -> Grid:
        return Grid("total per currency", ("currency", "entries", "hours", "at_bill_rate", "at_cost"),
                    tuple((t.currency, str(t.entry_count), f"{t.hours:f}", amount_text(t.at_bill_rate),
                           amount_text(t.at_cost)) for t in self.totals),
                    frozenset({"entries", "hours", "at_bill_rate", "at_cost"}))


def wip_report(hub: Hub, *, as_of: date, contract_id: str | None = None,
               legal_entity: str | None = None) -> WipByProject:
    """WIP as of `as_of`: the approved time in the ERP (synced, over a cap, billed), dated on or before it and
    not on the documents (invoices net of credit notes, drafts in review included) dated on or before it."""
    rated: list[RatedTime] = []
    documents: list[Invoice] = []
    home: dict[str, Contract] = {}
    with hub.engine.connect() as conn:
        for contract in _contracts(conn, hub, contract_id=contract_id, legal_entity=legal_entity):
            documents += [Invoice.model_validate(r.payload) for r in
                          records.list_records(conn, entity="invoice", aggregate=_books(contract.id))]
            for p in records.list_records(conn, entity="project", aggregate=_books(contract.id)):
                project = Project.model_validate(p.payload)
                home[project.id] = contract
                rated += [RatedTime.model_validate(r.payload["rated"]) for r in
                          time_entries.of_project(conn, project.id, states=time_entries.POSTED) if "rated" in r.payload]
    billed = billed_entry_ids(d for d in documents if d.invoice_date <= as_of)
    lines: list[WipLine] = []
    totals: list[WipTotal] = []
    for currency in sorted({r.currency for r in rated}):
        found = wip([r for r in rated if r.currency == currency], billed_entry_ids=billed, as_of=as_of)
        if found.at_bill_rate is None or found.at_cost is None:
            continue
        lines += [WipLine(home[p.project_id].id, home[p.project_id].legal_entity, p) for p in found.projects]
        totals.append(WipTotal(currency, sum(p.entry_count for p in found.projects), found.hours,
                               found.at_bill_rate, found.at_cost))
    return WipByProject(as_of, tuple(sorted(lines, key=lambda x: x.project.project_id)), tuple(totals))


# --- revenue waterfall --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaterfallLine:
    """Revenue recognised per period for one contract (`contract_id` empty: the total of a currency)."""

    contract_id: str
    legal_entity: str
    currency: str
    amounts: dict[Period, Money]

    @property
    def total(self) -> Money:
        return sum(self.amounts.values(), Money.zero(self.currency))


@dataclass(frozen=True)
class RevenueWaterfall:
    """Revenue recognised per contract and period, as posted by the revenue close, with totals per currency."""

    first: Period | None
    last: Period | None
    periods: tuple[Period, ...]
    lines: tuple[WaterfallLine, ...]
    totals: tuple[WaterfallLine, ...]

    def to_json(self) -> dict[str, Any]:
        def shown(line: WaterfallLine) -> dict[str, Any]:
            return {"currency": line.currency, "periods": {p.label: amount_text(m) for p, m in line.amounts.items()},
                    "total": amount_text(line.total)}

        return {"from": None if self.first is None else self.first.label,
                "to": None if self.last is None else self.last.label, "periods": [p.label for p in self.periods],
                "contracts": [{"contract_id": x.contract_id, "legal_entity": x.legal_entity, **shown(x)}
                              for x in self.lines],
                "totals": [shown(t) for t in self.totals]}

    def _rows(self, lines: Iterable[WaterfallLine], *, named: bool) -> tuple[tuple[str, ...], ...]:
        return tuple(((x.contract_id, x.legal_entity) if named else ()) + (x.currency,)
                     + tuple(amount_text(x.amounts[p]) if p in x.amounts else "" for p in self.periods)
                     + (amount_text(x.total),) for x in lines)

    def grid(self) -> Grid:
        labels = tuple(p.label for p in self.periods)
        return Grid("revenue recognised", ("contract_id", "legal_entity", "currency", *labels, "total"),
                    self._rows(self.lines, named=True), frozenset({*labels, "total"}))

    def totals_grid(self) -> Grid:
        labels = tuple(p.label for p in self.periods)
        return Grid("total per currency", ("currency", *labels, "total"), self._rows(self.totals, named=False),
                    frozenset({*labels, "total"}))


def waterfall_report(hub: Hub, *, first: Period | None = None, last: Period | None = None,
                     contract_id: str | None = None, legal_entity: str | None = None) -> RevenueWaterfall:
    """Revenue recognised per contract for the periods `first` to `last` (both included; open-ended without)."""
    if first is not None and last is not None and last < first:
        raise ReportRefused("to", f"{last} is before the first period asked for ({first})")
    with hub.engine.connect() as conn:
        contracts = _contracts(conn, hub, contract_id=contract_id, legal_entity=legal_entity)
        posted = [rec for c in contracts for rec in _recognitions(conn, c.id)
                  if (first is None or rec.period >= first) and (last is None or rec.period <= last)]
    entity = {c.id: c.legal_entity for c in contracts}
    shape = waterfall(posted)
    per_contract: dict[str, WaterfallLine] = {}
    for row in shape.rows:
        line = per_contract.setdefault(row.contract_id, WaterfallLine(row.contract_id, entity[row.contract_id],
                                                                      row.currency, {}))
        for period, money in row.amounts.items():
            line.amounts[period] = line.amounts.get(period, Money.zero(row.currency)) + money
    currencies = sorted({x.currency for x in per_contract.values()})
    totals = tuple(WaterfallLine("", "", cur, {p: shape.total(p, cur) for p in shape.periods
                                               if any(p in x.amounts for x in per_contract.values()
                                                      if x.currency == cur)}) for cur in currencies)
    return RevenueWaterfall(first, last, shape.periods, tuple(per_contract[k] for k in sorted(per_contract)), totals)


# --- deferred revenue roll-forward --------------------------------------------------------------------------


@dataclass(frozen=True)
class RollforwardLine:
    contract_id: str
    legal_entity: str
    figures: Rollforward


_ROLL_COLUMNS = ("opening", "billed", "recognised", "reclassified", "closing")


def _roll_figures(r: Rollforward) -> tuple[str, ...]:
    return tuple(amount_text(m) for m in (r.opening, r.billings, r.revenue_recognised, r.reclassified, r.closing))


@dataclass(frozen=True)
class DeferredRevenueRollforward:
    """Contract liabilities over one period: opening + billed - recognised + reclassified = closing, per contract
    in a liability position at the opening or the closing, with totals per currency."""

    period: Period
    posted: int  # contracts in scope with revenue posted for the period (the others are not in the figures)
    lines: tuple[RollforwardLine, ...]
    totals: tuple[Rollforward, ...]

    def to_json(self) -> dict[str, Any]:
        def shown(r: Rollforward) -> dict[str, Any]:
            return {"currency": r.currency, **dict(zip(_ROLL_COLUMNS, _roll_figures(r), strict=True))}

        return {"period": self.period.label, "contracts_posted": self.posted,
                "contracts": [{"contract_id": x.contract_id, "legal_entity": x.legal_entity, **shown(x.figures)}
                              for x in self.lines],
                "totals": [{**shown(t), "contracts": t.contracts} for t in self.totals]}

    def grid(self) -> Grid:
        return Grid(f"deferred revenue {self.period}", ("contract_id", "legal_entity", "currency", *_ROLL_COLUMNS),
                    tuple((x.contract_id, x.legal_entity, x.figures.currency, *_roll_figures(x.figures))
                          for x in self.lines), frozenset(_ROLL_COLUMNS))

    def totals_grid(self) -> Grid:
        return Grid("total per currency", ("currency", "contracts", *_ROLL_COLUMNS),
                    tuple((t.currency, str(t.contracts), *_roll_figures(t)) for t in self.totals),
                    frozenset({"contracts", *_ROLL_COLUMNS}))


def rollforward_report(hub: Hub, *, period: Period, contract_id: str | None = None,
                       legal_entity: str | None = None) -> DeferredRevenueRollforward:
    """The deferred revenue roll-forward of `period`, from the recognitions posted for it."""
    with hub.engine.connect() as conn:
        contracts = _contracts(conn, hub, contract_id=contract_id, legal_entity=legal_entity)
        posted = {c.id: rec for c in contracts for rec in _recognitions(conn, c.id) if rec.period == period}
    entity = {c.id: c.legal_entity for c in contracts}
    lines = tuple(RollforwardLine(cid, entity[cid], figures) for cid in sorted(posted)
                  for figures in deferred_revenue_rollforward([posted[cid]], period=period).values())
    totals = deferred_revenue_rollforward([posted[cid] for cid in sorted(posted)], period=period)
    return DeferredRevenueRollforward(period, len(posted), lines, tuple(totals[cur] for cur in sorted(totals)))


# --- remaining performance obligations ----------------------------------------------------------------------


@dataclass(frozen=True)
class RpoLine:
    legal_entity: str
    currency: str
    obligation: RemainingObligation


@dataclass(frozen=True)
class RpoTotal:
    """`remaining` = `within_12_months` + `later` + `unscheduled` (the part whose timing follows progress)."""

    currency: str
    remaining: Money
    within_12_months: Money
    later: Money
    unscheduled: Money


@dataclass(frozen=True)
class RemainingObligationsReport:
    """The transaction price allocated to obligations not yet satisfied at a period end, per contract and
    obligation; `right_to_invoice` lists the (contract, obligation) pairs left out under the expedient."""

    as_of: Period
    lines: tuple[RpoLine, ...]
    totals: tuple[RpoTotal, ...]
    right_to_invoice: tuple[tuple[str, str], ...]

    def to_json(self) -> dict[str, Any]:
        return {"period": self.as_of.label,
                "obligations": [{"contract_id": x.obligation.contract_id, "obligation_id": x.obligation.obligation_id,
                                 "name": x.obligation.name, "method": x.obligation.method.value,
                                 "legal_entity": x.legal_entity, "currency": x.currency,
                                 "allocated": amount_text(x.obligation.allocated),
                                 "recognised": amount_text(x.obligation.recognised),
                                 "remaining": amount_text(x.obligation.remaining),
                                 "within_12_months": _opt(x.obligation.within_12_months),
                                 "later": _opt(x.obligation.later)} for x in self.lines],
                "totals": [{"currency": t.currency, "remaining": amount_text(t.remaining),
                            "within_12_months": amount_text(t.within_12_months), "later": amount_text(t.later),
                            "unscheduled": amount_text(t.unscheduled)} for t in self.totals],
                "right_to_invoice": [{"contract_id": c, "obligation_id": o} for c, o in self.right_to_invoice]}

    def grid(self) -> Grid:
        columns = ("contract_id", "obligation_id", "name", "method", "legal_entity", "currency", "allocated",
                   "recognised", "remaining", "within_12_months", "later")
        return Grid(f"remaining performance obligations at the end of {self.as_of}", columns,
                    tuple((x.obligation.contract_id, x.obligation.obligation_id, x.obligation.name,
                           x.obligation.method.value, x.legal_entity, x.currency, amount_text(x.obligation.allocated),
                           amount_text(x.obligation.recognised), amount_text(x.obligation.remaining),
                           _opt(x.obligation.within_12_months) or "", _opt(x.obligation.later) or "")
                          for x in self.lines), frozenset(columns[6:]))

    def totals_grid(self) -> Grid:
        columns = ("currency", "remaining", "within_12_months", "later", "unscheduled")
        return Grid("total per currency", columns,
                    tuple((t.currency, *(amount_text(m) for m in (t.remaining, t.within_12_months, t.later,
                                                                    t.unscheduled))) for t in self.totals),
                    frozenset(columns[1:]))


def _version(conn: Connection, contract: Contract, recognition: Recognition | None) -> RevenueContract:
    """The revenue contract version the recognition was made under (the one in force without it)."""
    if recognition is not None:
        for rc in contract_versions.versions(conn, contract.id):
            if rc.version == recognition.version:
                return rc
    return contract_versions.stored_revenue_contract(conn, contract)


def _signed(conn: Connection, contract: Contract) -> date:
    """When the contract came to exist: the deal's close date as agreed, else the contract's start."""
    terms = contract_versions.load_terms(conn, contract.id)
    return terms.deal.close_date if terms is not None else contract.start_date


def rpo_report(hub: Hub, *, period: Period, contract_id: str | None = None,
               legal_entity: str | None = None) -> RemainingObligationsReport:
    """Remaining performance obligations at the end of `period`: each contract signed by then, against the last
    recognition posted on or before it."""
    found: list[tuple[Contract, RevenueContract, Recognition | None]] = []
    with hub.engine.connect() as conn:
        for contract in _contracts(conn, hub, contract_id=contract_id, legal_entity=legal_entity):
            if _signed(conn, contract) > period.end:
                continue
            last = next((r for r in reversed(_recognitions(conn, contract.id)) if r.period <= period), None)
            found.append((contract, _version(conn, contract, last), last))
    lines: list[RpoLine] = []
    expedient: list[tuple[str, str]] = []
    for contract, rc, last in sorted(found, key=lambda f: f[0].id):
        remaining = remaining_obligations(rc, last, as_of=period)
        lines += [RpoLine(contract.legal_entity, rc.currency, ob) for ob in remaining.obligations]
        expedient += [(contract.id, ob_id) for ob_id in remaining.right_to_invoice]
    return RemainingObligationsReport(period, tuple(lines), _rpo_totals(lines), tuple(expedient))


def _rpo_totals(lines: Sequence[RpoLine]) -> tuple[RpoTotal, ...]:
    out = []
    for cur in sorted({x.currency for x in lines}):
        zero = Money.zero(cur)
        mine = [x.obligation for x in lines if x.currency == cur]
        out.append(RpoTotal(
            cur, sum((o.remaining for o in mine), zero),
            sum((o.within_12_months for o in mine if o.within_12_months is not None), zero),
            sum((o.later for o in mine if o.later is not None), zero),
            sum((o.remaining for o in mine if o.within_12_months is None), zero)))
    return tuple(out)


# --- invoices by month --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceMonth:
    """Documents of one month in one currency (`status` None: every status); credit notes count negative."""

    month: Period
    currency: str
    status: str | None
    invoices: int
    credit_notes: int
    invoiced: Money  # the invoices' totals
    credited: Money  # the credit notes' totals (negative)

    @property
    def total(self) -> Money:
        return self.invoiced + self.credited


_MONTH_COLUMNS = ("month", "currency", "status", "invoices", "credit_notes", "invoiced", "credited", "total")
_MONTH_FIGURES = frozenset(_MONTH_COLUMNS[3:])


def _month_row(x: InvoiceMonth) -> tuple[str, ...]:
    return (x.month.label, x.currency, x.status or "all", str(x.invoices), str(x.credit_notes),
            amount_text(x.invoiced), amount_text(x.credited), amount_text(x.total))


@dataclass(frozen=True)
class InvoicesByMonth:
    """Invoices and credit notes by month of their date, currency and where they stand (in review, released,
    posted, paid, voided); drafts rejected in review are out of the books and out of the report."""

    lines: tuple[InvoiceMonth, ...]
    totals: tuple[InvoiceMonth, ...]

    def to_json(self) -> dict[str, Any]:
        def shown(x: InvoiceMonth) -> dict[str, Any]:
            return {"month": x.month.label, "currency": x.currency,
                    **({"status": x.status} if x.status is not None else {}), "invoices": x.invoices,
                    "credit_notes": x.credit_notes, "invoiced": amount_text(x.invoiced),
                    "credited": amount_text(x.credited), "total": amount_text(x.total)}

        return {"months": [shown(x) for x in self.lines], "totals": [shown(x) for x in self.totals]}

    def grid(self) -> Grid:
        return Grid("invoices by month", _MONTH_COLUMNS, tuple(_month_row(x) for x in self.lines), _MONTH_FIGURES)

    def totals_grid(self) -> Grid:
        return Grid("total per month and currency", _MONTH_COLUMNS, tuple(_month_row(x) for x in self.totals),
                    _MONTH_FIGURES)


def _month_lines(views: Sequence[invoice_review.InvoiceView], *, by_status: bool) -> tuple[InvoiceMonth, ...]:
    groups: dict[tuple[Period, str, str | None], list[Invoice]] = {}
    for v in views:
        key = (Period.of(v.invoice.invoice_date), v.invoice.currency, v.standing if by_status else None)
        groups.setdefault(key, []).append(v.invoice)
    return tuple(InvoiceMonth(month, cur, status, sum(d.kind == "invoice" for d in docs),
                              sum(d.kind == "credit_note" for d in docs),
                              sum((d.total for d in docs if d.kind == "invoice"), Money.zero(cur)),
                              sum((d.total for d in docs if d.kind == "credit_note"), Money.zero(cur)))
                 for (month, cur, status), docs in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1],
                                                                                          g[0][2] or "")))


def invoices_report(hub: Hub, *, contract_id: str | None = None, legal_entity: str | None = None) -> InvoicesByMonth:
    """Invoices and credit notes per month, currency and status, with totals per month and currency."""
    with hub.engine.connect() as conn:
        scope = {c.id for c in _contracts(conn, hub, contract_id=contract_id, legal_entity=legal_entity)}
    views = [v for v in invoice_review.list_invoices(hub) if v.contract_id in scope
             and v.standing != invoice_review.REJECTED]
    return InvoicesByMonth(_month_lines(views, by_status=True), _month_lines(views, by_status=False))
