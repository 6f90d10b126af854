"""What the Finance page shows, gathered through the functions the reports, the API and the CLI use.

Nothing here queries the database itself: WIP, the waterfall, the roll-forward, the remaining obligations and
the invoices are `workflows.reports` (so the page shows what `q2c report ...` and `GET /reports/...` show),
the drafts to review are `invoice_review.list_invoices`, the contract changes `contract_changes.list_changes`,
the reconciliation `store.drifts`, and close readiness `close_readiness.readiness` for every legal entity in the
current and the previous period.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from q2c.domain.revenue import Period
from q2c.store import drifts
from q2c.workflows import close_readiness, contract_changes, invoice_review, reports
from q2c.workflows.hub import Hub

RECONCILE_LOOKBACK = 20  # runs searched for the latest one that found drifts


@dataclass(frozen=True)
class ChangeView:
    """A contract change as the page lists it: what the plan says, in a line or two."""

    change_id: str
    contract_id: str
    state: str
    effective: str
    treatment: str
    paragraph: str
    reason: str
    catch_up: str
    lands_in: str
    action: str


@dataclass(frozen=True)
class Reconciliation:
    latest: drifts.RunRow | None
    latest_drifts: list[drifts.DriftRow]
    with_drifts: drifts.RunRow | None  # the newest recent run that found drifts, when the latest found none
    their_drifts: list[drifts.DriftRow]


@dataclass(frozen=True)
class Finance:
    period: Period
    previous: Period
    readiness: list[close_readiness.Readiness]
    wip: reports.WipByProject
    drafts: list[invoice_review.InvoiceView]
    invoices: reports.InvoicesByMonth
    waterfall: reports.RevenueWaterfall
    rollforwards: list[reports.DeferredRevenueRollforward]
    rpo: reports.RemainingObligationsReport
    changes: list[ChangeView]
    reconciliation: Reconciliation
    checks: Mapping[str, str]


def legal_entities(hub: Hub, rpo: reports.RemainingObligationsReport) -> list[str]:
    """The entities configured, and any a contract names that the configuration does not."""
    return sorted({e.code for e in hub.config.legal_entities} | {line.legal_entity for line in rpo.lines})


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def change_view(payload: Mapping[str, Any], state: str) -> ChangeView:
    plan = payload.get("plan") if isinstance(payload.get("plan"), Mapping) else {}
    assert isinstance(plan, Mapping)
    revenue = plan.get("revenue") if isinstance(plan.get("revenue"), Mapping) else {}
    assert isinstance(revenue, Mapping)
    return ChangeView(_text(payload.get("id")), _text(payload.get("contract_id")), state,
                      _text(payload.get("effective")), _text(plan.get("treatment")), _text(plan.get("paragraph")),
                      _text(plan.get("reason")), _text(revenue.get("catch_up")), _text(revenue.get("period")),
                      _text(payload.get("action")))


def _reconciliation(hub: Hub) -> Reconciliation:
    with hub.engine.connect() as conn:
        recent = drifts.runs_list(conn, limit=RECONCILE_LOOKBACK)
        latest = recent[0] if recent else None
        found = drifts.of_run(conn, latest.id) if latest is not None else []
        if latest is None or found:
            return Reconciliation(latest, found, None, [])
        for run in recent[1:]:
            theirs = drifts.of_run(conn, run.id)
            if theirs:
                return Reconciliation(latest, found, run, theirs)
    return Reconciliation(latest, found, None, [])


def finance(hub: Hub, *, period: Period | None = None) -> Finance:
    """The page's figures for `period` (default: the current one) and the one before it."""
    current = period or Period.of(hub.today())
    previous = current.previous()
    rpo = reports.rpo_report(hub, period=current)
    readiness = [close_readiness.readiness(hub, entity, p) for entity in legal_entities(hub, rpo)
                 for p in (current, previous)]
    with hub.engine.connect() as conn:
        changes = [change_view(r.payload, r.state) for r in contract_changes.list_changes(conn, include_ended=True)]
    as_of = min(hub.today(), current.end)
    return Finance(
        period=current, previous=previous, readiness=readiness,
        wip=reports.wip_report(hub, as_of=as_of),
        drafts=invoice_review.list_invoices(hub, standing=invoice_review.IN_REVIEW),
        invoices=reports.invoices_report(hub),
        waterfall=reports.waterfall_report(hub),
        rollforwards=[reports.rollforward_report(hub, period=p) for p in (current, previous)],
        rpo=rpo, changes=changes, reconciliation=_reconciliation(hub), checks=close_readiness.CHECKS)
