"""Close readiness per legal entity and period: everything that stands between the books and a clean close.

Each kind of blocker is one check over q2c's records for the entity's contracts and projects; the
readiness score is the share of checks that are clear. `close_period` refuses while any blocker stands,
unless the controller forces it with a reason, which the audit trail keeps with the blockers it overrode.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from q2c.domain.model import Contract, Invoice, Project
from q2c.domain.revenue import Period
from q2c.store import audit, records, time_entries
from q2c.store import exceptions as exception_store
from q2c.workflows import contract_changes
from q2c.workflows.hub import Hub
from q2c.workflows.periods import set_period_state
from q2c.workflows.reconcile_pairs import OWN_WORK
from q2c.workflows.reference_data import contract_fx_gap, fx_table

CHECKS = {
    "open_exceptions": "open exceptions on the entity's contracts, projects, time or invoices of the period",
    "unapproved_time": "time dated in the period submitted but not approved",
    "unbilled_time": "approved billable time dated up to the period end, not billed",
    "draft_invoices": "invoices of the period waiting in review, not released to the ERP",
    "reconciliation_drifts": "drifts the last reconciliation found on the entity's records",
    "pending_changes": "contract changes waiting for approval or treatment",
    "missing_fx_rates": "FX rates the close needs and q2c does not have",
    "revenue_not_closed": "active contracts whose revenue close for the period has not run",
}


@dataclass(frozen=True)
class Blocker:
    check: str
    record_id: str
    detail: str


@dataclass
class Readiness:
    legal_entity: str
    period: Period
    closed: bool
    blockers: list[Blocker] = field(default_factory=list)

    def by_check(self) -> dict[str, list[Blocker]]:
        return {name: [b for b in self.blockers if b.check == name] for name in CHECKS}

    @property
    def score(self) -> int:
        """Percent of the checks that are clear."""
        clear = sum(1 for found in self.by_check().values() if not found)
        return int((Decimal(clear) * 100 / len(CHECKS)).to_integral_value())

    @property
    def ready(self) -> bool:
        return not self.blockers

    def to_json(self) -> dict[str, Any]:
        return {"legal_entity": self.legal_entity, "period": self.period.label, "closed": self.closed,
                "ready": self.ready, "score": self.score,
                "checks": {name: {"what": CHECKS[name], "count": len(found),
                                  "blockers": [{"record_id": b.record_id, "detail": b.detail} for b in found]}
                           for name, found in self.by_check().items()}}


class CloseRefused(Exception):
    def __init__(self, readiness: Readiness) -> None:
        self.readiness = readiness
        super().__init__(f"{readiness.legal_entity} {readiness.period.label} has {len(readiness.blockers)} blockers "
                         f"(readiness {readiness.score}%); resolve them, or force the close with a reason")


def _in(period: Period, day: date | str | None) -> bool:
    if day is None:
        return False
    return Period.of(day if isinstance(day, date) else date.fromisoformat(str(day)[:10])) == period


def readiness(hub: Hub, legal_entity: str, period: Period) -> Readiness:
    with hub.engine.connect() as conn:
        closed = records.get_record(conn, entity="period", canonical_id=f"{legal_entity}:{period.label}")
        out = Readiness(legal_entity, period, closed is not None and closed.state == "closed")
        contracts = [Contract.model_validate(r.payload) for r in records.list_records(conn, entity="contract")]
        mine = {c.id: c for c in contracts if c.legal_entity == legal_entity}
        projects = [Project.model_validate(r.payload) for r in records.list_records(conn, entity="project")]
        project_ids = {p.id for p in projects if p.contract_id in mine}
        out.blockers += _time(conn, period, project_ids)
        out.blockers += _invoices(conn, period, mine)
        out.blockers += _exceptions(conn, period, mine, project_ids)
        out.blockers += [Blocker("pending_changes", str(r.payload.get("contract_id")),
                                 f"change {r.canonical_id} is {r.state}")
                         for r in contract_changes.list_changes(conn) if r.payload.get("contract_id") in mine]
        table = fx_table(hub, conn)
        for c in mine.values():
            gap = contract_fx_gap(hub, conn, c, table)
            if gap is not None:
                out.blockers.append(Blocker("missing_fx_rates", c.id, gap.message))
        active = {r.canonical_id for r in records.list_records(conn, entity="contract", states=["active"])}
        for c in mine.values():
            if c.id in active and c.start_date <= period.end and records.get_record(
                    conn, entity="revenue_recognition", canonical_id=f"{c.id}:{period.label}") is None:
                out.blockers.append(Blocker("revenue_not_closed", c.id, f"no revenue recognised for {period.label}"))
    return out


def _time(conn: Connection, period: Period, project_ids: set[str]) -> list[Blocker]:
    out: list[Blocker] = []
    for pid in sorted(project_ids):
        for r in time_entries.of_project(conn, pid):
            entry = r.payload.get("entry", {})
            day = entry.get("work_date")
            if r.state == time_entries.PENDING_APPROVAL and _in(period, day):
                out.append(Blocker("unapproved_time", r.canonical_id,
                                   f"{entry.get('hours')} h on {day} by {entry.get('resource_id')} waits for approval"))
            elif (r.state in (time_entries.SYNCED, time_entries.OVER_CAP) and day is not None
                  and str(day) <= period.end.isoformat() and r.payload.get("rated", {}).get("billable")):
                out.append(Blocker("unbilled_time", r.canonical_id,
                                   f"{entry.get('hours')} h on {day} approved, not billed ({r.state})"))
    return out


def _invoices(conn: Connection, period: Period, contracts: dict[str, Contract]) -> list[Blocker]:
    out = []
    for r in records.list_records(conn, entity="invoice", states=["draft"]):
        inv = Invoice.model_validate(r.payload)
        if inv.contract_id in contracts and inv.invoice_date <= period.end and r.aggregate.startswith("contract:"):
            out.append(Blocker("draft_invoices", inv.id, f"{inv.total} dated {inv.invoice_date} waits in review"))
    return out


def _exceptions(conn: Connection, period: Period, contracts: dict[str, Contract], project_ids: set[str]
                ) -> list[Blocker]:
    aggregates = {f"contract:{c}" for c in contracts} | {f"project:{p}" for p in project_ids}
    out = []
    for row in exception_store.search(conn, status=exception_store.OPEN, limit=100_000):
        v = row.violation
        if row.work_kind == OWN_WORK:
            payload = row.payload
            touches = (v.record_id in contracts or v.record_id.split(":")[0] in contracts
                       or any(c.opportunity_id == v.record_id for c in contracts.values())
                       or _entry_of(conn, v.record_id, project_ids) or _invoice_of(conn, v.record_id, contracts))
            if touches:
                out.append(Blocker("reconciliation_drifts", v.record_id,
                                   f"[{v.rule}] exception {row.id} ({payload.get('pair')})"))
            continue
        dated = [s for s in row.subjects if s.entity == time_entries.ENTITY]
        if row.aggregate in aggregates and (not dated or any(_entry_in(conn, s.record_id, period) for s in dated)):
            out.append(Blocker("open_exceptions", v.record_id, f"[{v.rule}] exception {row.id}: {v.message}"))
    return out


def _entry_in(conn: Connection, entry_id: str, period: Period) -> bool:
    r = records.get_record(conn, entity=time_entries.ENTITY, canonical_id=entry_id)
    return r is not None and _in(period, r.payload.get("entry", {}).get("work_date"))


def _entry_of(conn: Connection, entry_id: str, project_ids: set[str]) -> bool:
    r = records.get_record(conn, entity=time_entries.ENTITY, canonical_id=entry_id)
    return r is not None and r.aggregate.removeprefix("project:") in project_ids


def _invoice_of(conn: Connection, invoice_id: str, contracts: dict[str, Contract]) -> bool:
    r = records.get_record(conn, entity="invoice", canonical_id=invoice_id)
    return r is not None and r.aggregate.removeprefix("contract:") in contracts


def close_period(hub: Hub, legal_entity: str, period: Period, *, actor: str, force: bool = False,
                 reason: str | None = None) -> tuple[bool, Readiness]:
    """Close the period when nothing blocks it, or when forced with a reason (audited with the blockers it
    overrode). Returns (changed, readiness)."""
    found = readiness(hub, legal_entity, period)
    if found.blockers and not force:
        raise CloseRefused(found)
    if force and found.blockers and not (reason and reason.strip()):
        raise ValueError("a forced close needs --reason: say why the period closes with blockers open")
    changed = set_period_state(hub, legal_entity=legal_entity, period=period, closed=True, actor=actor)
    if changed and found.blockers:
        with hub.engine.begin() as conn:
            audit.append(conn, [audit.AuditEntry(
                actor=actor, system="q2c", action="period_forced", entity="period",
                record_id=f"{legal_entity}:{period.label}", correlation_id=uuid.uuid4().hex, before=None,
                after={"reason": reason, "score": found.score,
                       "blockers": [{"check": b.check, "record_id": b.record_id, "detail": b.detail}
                                    for b in found.blockers]})])
    return changed, found
