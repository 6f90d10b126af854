"""`q2c reconcile`: compare the systems record by record, trace each drift's cause, keep the run.

Each pair (reconcile_pairs) is read fresh from the systems; every drift is traced (reconcile_trace)
and opens an exception naming its record (rule `reconcile.<pair>.<kind>`), with the cause, who must
act and the fix `q2c reconcile heal` applies. A drift gone at the next run closes its exception; the
run and its drifts are stored (`runs`, `drifts`) so drift can be followed over time.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from q2c.config import Step
from q2c.domain.reconciliation import Drift, PairResult
from q2c.domain.violations import Violation
from q2c.store import drifts as drift_store
from q2c.store import exceptions as exception_store
from q2c.store.db import now
from q2c.store.schema import exceptions
from q2c.workflows.hub import Hub
from q2c.workflows.reconcile_pairs import (
    OWN_WORK,
    Context,
    bookings_pair,
    in_flight_aggregates,
    invoices_pair,
    load_context,
    pair_names,
    revenue_pair,
    time_pair,
)
from q2c.workflows.reconcile_trace import Trace, trace
from q2c.workflows.reports import wip_report

WORK_KIND = OWN_WORK  # the exceptions reconciliation opens; `q2c reconcile heal` applies their fix
RULE_PREFIX = "reconcile."


@dataclass(frozen=True)
class TracedDrift:
    drift: Drift
    trace: Trace
    exception_id: int | None = None


@dataclass
class Report:
    run_id: int | None
    pairs: list[PairResult] = field(default_factory=list)
    drifts: list[TracedDrift] = field(default_factory=list)
    wip: dict[str, Any] = field(default_factory=dict)  # approved unbilled time per project, at bill rate and cost

    @property
    def clean(self) -> bool:
        return not self.drifts

    @property
    def compared(self) -> int:
        return sum(p.compared for p in self.pairs)

    @property
    def matched(self) -> int:
        return sum(p.matched + p.held for p in self.pairs)


def _value(value: object) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_value(v) for v in value]
    return value


def values_json(values: Any) -> dict[str, Any] | None:
    return None if values is None else {k: _value(v) for k, v in values.items()}


def value_json(value: object) -> Any:
    """One compared value as JSON (amounts as strings, dates ISO, a tuple of amounts as a list)."""
    return _value(value)


def pair_summary(p: PairResult) -> dict[str, Any]:
    return {"left": p.left, "right": p.right, "compared": p.compared, "matched": p.matched, "held": p.held,
            "missing_left": p.count("missing_left"), "missing_right": p.count("missing_right"),
            "different": p.count("different"),
            "totals": {side: {k: str(v) for k, v in sums.items()} for side, sums in p.totals.items()}}


def _violation(hub: Hub, p: PairResult, d: Drift, t: Trace) -> Violation:
    field = d.differences[0].field if d.differences else None
    return Violation(system=t.owner, object=f"reconciliation:{p.pair}", record_id=d.key, field=field,
                     rule=f"{RULE_PREFIX}{p.pair}.{d.kind}", message=f"{d.headline(p.left, p.right)}. Cause: {t.cause}",
                     action=t.action)


def reconcile(hub: Hub, *, pairs: Sequence[str] | None = None) -> Report:
    """Compare every selected pair; store the run; open an exception per drift, close those gone."""
    selected = pair_names(pairs)
    started = now()
    with hub.engine.connect() as conn:
        ctx: Context = load_context(conn)
        busy = in_flight_aggregates(conn)
        readers = {"bookings": bookings_pair, "time": time_pair, "invoices": invoices_pair, "revenue": revenue_pair}
        results = [readers[name](hub, conn, ctx, busy=busy) for name in selected]
        traced = [(p, d, trace(hub, conn, ctx, d)) for p in results for d in p.drifts]
    report = Report(None, results, wip=wip_report(hub, as_of=hub.today()).to_json())
    correlation = uuid.uuid4().hex
    with hub.engine.begin() as conn:
        found: list[drift_store.DriftRow] = []
        current: set[int] = set()
        for p, d, t in traced:
            exception_id = exception_store.raise_exception(
                conn, _violation(hub, p, d, t), work_kind=WORK_KIND, aggregate=f"reconcile:{p.pair}:{d.key}",
                payload={"pair": p.pair, "record_id": d.key, "kind": d.kind, "fix": t.fix,
                         "left": values_json(d.left), "right": values_json(d.right)},
                correlation_id=correlation)
            current.add(exception_id)
            report.drifts.append(TracedDrift(d, t, exception_id))
            found.append(drift_store.DriftRow(
                p.pair, d.key, d.kind, [{"field": x.field, "left": _value(x.left), "right": _value(x.right)}
                                        for x in d.differences],
                values_json(d.left), values_json(d.right), t.cause, t.owner, t.fix, exception_id))
        _close_gone(conn, selected, current)
        stats = {"pairs": {p.pair: pair_summary(p) for p in results}, "compared": report.compared,
                 "matched": report.matched, "drifts": len(found), "wip": report.wip}
        report.run_id = drift_store.record_run(conn, started_at=started, status="drift" if found else "clean",
                                               stats=stats, found=found)
    return report


def check_invariants(hub: Hub, step: Step) -> Report | None:
    """The declared invariants to check after `step` (`reconciliation.invariants`), as one run; None when
    none is declared for it."""
    pairs = hub.config.reconciliation.pairs_after(step)
    return reconcile(hub, pairs=pairs) if pairs else None


def _close_gone(conn: sa.Connection, pairs: Sequence[str], current: set[int]) -> None:
    """An open reconciliation exception whose drift this run no longer found (or found as another kind) is
    resolved."""
    rows = conn.execute(sa.select(exceptions.c.id, exceptions.c.payload).where(
        exceptions.c.status == exception_store.OPEN, exceptions.c.work_kind == WORK_KIND)).all()
    for r in rows:
        payload = dict(r.payload)
        if payload.get("pair") in pairs and int(r.id) not in current:
            exception_store.mark(conn, int(r.id), status=exception_store.RESOLVED)
