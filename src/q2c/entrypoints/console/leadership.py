"""The Leadership page's charts: what was sold, delivered, billed and recognised, and the KPIs over time.

Every figure comes through the functions the reports and the API use, never a query of its own:

- sold backlog: each contract's value as sold (the sum of its phases, from the contract q2c holds from the
  CRM), beside what was billed (`invoice_review.list_invoices`), recognised (`reports.waterfall_report`) and
  what remains to perform (`reports.rpo_report`, the remaining performance obligations);
- delivery progress: approved hours billed (the hours on the invoices' time lines, net of credit notes) and
  approved hours not billed yet (`reports.wip_report`), per contract;
- billed and unbilled per month: the documents of each month (`reports.invoices_report`) beside the WIP at
  that month's end (`reports.wip_report(as_of=month end)`, at bill rate);
- recognised revenue per period: the waterfall's totals, as the revenue engine posted them;
- the KPIs: `workflows.kpis.kpis`, the daily series `GET /kpis` gives.

One chart per currency where amounts are drawn: amounts in two currencies are never added up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup

from q2c.domain.model import Contract
from q2c.domain.revenue import Period
from q2c.entrypoints.console.charts import Series, bars, lines
from q2c.store import records
from q2c.workflows import invoice_review, kpis, reports
from q2c.workflows.hub import Hub


@dataclass(frozen=True)
class Chart:
    title: str
    svg: Markup
    note: str


def _hours(value: float) -> str:
    return f"{value:,.2f} h"


def _percent(value: float) -> str:
    return f"{value:.1f} %"


def _seconds(value: float) -> str:
    return f"{value:,.2f} s"


def _sign(view: invoice_review.InvoiceView) -> int:
    return -1 if view.invoice.kind == "credit_note" else 1


def _booked(hub: Hub) -> list[invoice_review.InvoiceView]:
    """The documents that count as billed: every one but the drafts rejected in review (as the reports have it)."""
    return [v for v in invoice_review.list_invoices(hub) if v.standing != invoice_review.REJECTED]


def _contracts(hub: Hub) -> list[Contract]:
    with hub.engine.connect() as conn:
        return sorted((Contract.model_validate(r.payload) for r in records.list_records(conn, entity="contract")),
                      key=lambda c: c.id)


def backlog(hub: Hub, period: Period, documents: list[invoice_review.InvoiceView]) -> list[Chart]:
    contracts = _contracts(hub)
    waterfall = reports.waterfall_report(hub)
    recognised = {x.contract_id: x.total.amount for x in waterfall.lines}
    remaining: dict[str, Decimal] = defaultdict(Decimal)
    for line in reports.rpo_report(hub, period=period).lines:
        remaining[line.obligation.contract_id] += line.obligation.remaining.amount
    billed: dict[str, Decimal] = defaultdict(Decimal)
    for v in documents:
        billed[v.contract_id] += _sign(v) * v.invoice.total.amount
    out = []
    for currency in sorted({c.currency for c in contracts}):
        mine = [c for c in contracts if c.currency == currency]
        labels = [c.id for c in mine]
        sold = [sum((p.amount.amount for p in c.phases), Decimal(0)) for c in mine]
        series = [Series("sold (contract value)", sold), Series("billed", [billed[c.id] for c in mine]),
                  Series("recognised", [recognised.get(c.id, Decimal(0)) for c in mine]),
                  Series(f"remaining obligations at {period.label}", [remaining[c.id] for c in mine])]
        title = f"Sold backlog per contract ({currency})"
        out.append(Chart(title, bars(f"backlog-{currency}", title, labels, series),
                         "Remaining obligations leave out what is recognised as invoiced (time and materials)."))
    return out


def delivery(hub: Hub, documents: list[invoice_review.InvoiceView]) -> Chart:
    billed: dict[str, Decimal] = defaultdict(Decimal)
    for v in documents:
        for line in v.invoice.lines:
            if line.time_entry_ids:
                billed[v.contract_id] += _sign(v) * line.quantity
    unbilled: dict[str, Decimal] = defaultdict(Decimal)
    for wip_line in reports.wip_report(hub, as_of=hub.today()).lines:
        unbilled[wip_line.contract_id] += wip_line.project.hours
    labels = sorted(set(billed) | set(unbilled))
    title = "Delivery: approved hours, billed and not yet billed"
    series = [Series("approved and billed", [billed[c] for c in labels]),
              Series("approved, not billed (WIP)", [unbilled[c] for c in labels])]
    return Chart(title, bars("delivery", title, labels, series, stacked=True, formatter=_hours),
                 "Hours on the invoices' time lines (credit notes take theirs back) and approved time not billed.")


def billed_unbilled(hub: Hub, today_period: Period) -> list[Chart]:
    months = reports.invoices_report(hub).totals
    periods = sorted({m.month for m in months} | {today_period})
    wip_at = {p: reports.wip_report(hub, as_of=min(p.end, hub.today())) for p in periods}
    out = []
    currencies = sorted({m.currency for m in months} | {t.currency for w in wip_at.values() for t in w.totals})
    for currency in currencies:
        invoiced = {m.month: m.total.amount for m in months if m.currency == currency}
        unbilled = {p: next((t.at_bill_rate.amount for t in w.totals if t.currency == currency), Decimal(0))
                    for p, w in wip_at.items()}
        title = f"Billed and unbilled per month ({currency})"
        series = [Series("billed (invoices, net of credit notes)", [invoiced.get(p, Decimal(0)) for p in periods]),
                  Series("unbilled at month end (WIP at bill rate)", [unbilled[p] for p in periods])]
        out.append(Chart(title, bars(f"billed-{currency}", title, [p.label for p in periods], series),
                         "Drafts in review count as billed, as WIP counts them."))
    return out


def revenue(hub: Hub) -> list[Chart]:
    waterfall = reports.waterfall_report(hub)
    out = []
    for total in waterfall.totals:
        title = f"Revenue recognised per period ({total.currency})"
        labels = [p.label for p in waterfall.periods]
        values = [total.amounts[p].amount if p in total.amounts else None for p in waterfall.periods]
        out.append(Chart(title, bars(f"revenue-{total.currency}", title, labels, [Series("recognised", values)]),
                         "As the revenue close posted it."))
    return out


def _pct(values: Iterable[float | None]) -> list[float | None]:
    return [None if v is None else v * 100 for v in values]


def kpi_charts(hub: Hub) -> list[Chart]:
    report = kpis.kpis(hub)
    days = [d.isoformat() for d in report.days]
    shares = [Series("cross-system consistency (matched / compared)",
                     _pct(r.share for r in report.cross_system_consistency)),
              Series("revenue events with exceptions", _pct(r.rate for r in report.revenue_event_exception_rate))]
    setup = [Series("p50", [r.p50_seconds for r in report.project_setup_cycle_time]),
             Series("p90", [r.p90_seconds for r in report.project_setup_cycle_time])]
    lag = [Series("mean", [r.mean_hours for r in report.approved_to_bill_lag]),
           Series("p90", [r.p90_hours for r in report.approved_to_bill_lag])]
    recovery = [Series("mean", [r.mean_seconds for r in report.integration_recovery_time]),
                Series("max", [r.max_seconds for r in report.integration_recovery_time])]
    specs = [("kpi-shares", "Consistency and revenue exception rate (%, per day)", shares, _percent),
             ("kpi-setup", "Project setup cycle time (seconds, per day)", setup, _seconds),
             ("kpi-lag", "Approved-to-bill lag (hours, per day)", lag, _hours),
             ("kpi-recovery", "Integration recovery time (seconds, per day)", recovery, _seconds)]
    return [Chart(title, lines(key, title, days, series, formatter=fmt), "") for key, title, series, fmt in specs]


@dataclass(frozen=True)
class Leadership:
    period: Period
    backlog: list[Chart]
    delivery: Chart
    billed: list[Chart]
    revenue: list[Chart]
    kpis: list[Chart]


def leadership(hub: Hub) -> Leadership:
    period = Period.of(hub.today())
    documents = _booked(hub)
    return Leadership(period, backlog(hub, period, documents), delivery(hub, documents),
                      billed_unbilled(hub, period), revenue(hub), kpi_charts(hub))
