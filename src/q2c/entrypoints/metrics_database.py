"""The figures /metrics reads from the database at each scrape: the queue, the exception queue and the
latest reconciliation of each pair.

Read at scrape time rather than counted as they happen, so they are true whichever process of the hub
enqueued, delivered or reconciled: every worker on every machine writes to the same tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from sqlalchemy.engine import Connection

from q2c.store import drifts as drift_store
from q2c.store import exceptions as exception_store
from q2c.store import queue
from q2c.store.db import as_utc, now
from q2c.store.schema import exceptions, runs, work_items
from q2c.workflows.reconcile_pairs import PAIRS
from q2c.workflows.reconcile_trace import KINDS as DRIFT_KINDS

# the lanes by name; an item of any other priority is labelled with its number
LANES = {queue.PRIORITY_CLOSE: "close", queue.PRIORITY_SETUP: "setup", queue.PRIORITY_TIME: "time",
         queue.PRIORITY_REFERENCE: "reference"}
RUNS_PER_READ = 20
RUNS_SCANNED = 500  # how far back a pair's latest run is looked for: a pair not reconciled in as many runs is left out
PAIR_COUNTS = {  # the counts of a pair's summary besides its drifts, and what each says
    "compared": "Records the pair's latest reconciliation run compared",
    "matched": "Records that matched in the pair's latest reconciliation run",
    "held": "Records that did not match in the pair's latest reconciliation run but are accounted for "
            "(an open exception names them, or work for them is in flight)",
}


def lane(priority: int) -> str:
    return LANES.get(priority, str(priority))


def queue_families(conn: Connection, *, overdue_after: timedelta) -> list[Metric]:
    """Pending, running and dead items per lane and kind; the oldest pending item's age; the dead items whose
    exception is still open and the overdue retries, as /health counts them."""
    items = GaugeMetricFamily("q2c_queue_items", "Work items by lane, kind and status (pending, running, dead)",
                              labels=["lane", "kind", "status"])
    oldest = GaugeMetricFamily("q2c_queue_oldest_pending_age_seconds",
                               "Seconds since the oldest pending work item of the lane and kind was enqueued",
                               labels=["lane", "kind"])
    w = work_items.c
    rows = conn.execute(sa.select(w.priority, w.kind, w.status, sa.func.count(), sa.func.min(w.created_at))
                        .where(w.status.in_([queue.PENDING, queue.RUNNING, queue.DEAD]))
                        .group_by(w.priority, w.kind, w.status).order_by(w.priority, w.kind, w.status)).all()
    at = now()
    for priority, kind, status, count, first in rows:
        items.add_metric([lane(int(priority)), str(kind), str(status)], int(count))
        created = as_utc(first)
        if status == queue.PENDING and created is not None:
            oldest.add_metric([lane(int(priority)), str(kind)], max((at - created).total_seconds(), 0.0))
    awaiting = GaugeMetricFamily("q2c_queue_dead_awaiting_replay_items",
                                 "Dead work items whose exception is still open (nobody has fixed and replayed them)",
                                 value=queue.dead_awaiting_replay(conn))
    overdue = GaugeMetricFamily("q2c_queue_overdue_retry_items",
                                f"Retries due more than {overdue_after.total_seconds():g} s ago that no worker took",
                                value=queue.overdue_retries(conn, older_than=overdue_after))
    return [items, oldest, awaiting, overdue]


def exception_families(conn: Connection) -> list[Metric]:
    """The open exceptions per rule (and the system whose record it is)."""
    family = GaugeMetricFamily("q2c_open_exceptions", "Open exceptions in the exception queue by rule and system",
                               labels=["rule", "system"])
    e = exceptions.c
    rows = conn.execute(sa.select(e.rule, e.system, sa.func.count()).where(e.status == exception_store.OPEN)
                        .group_by(e.rule, e.system).order_by(e.rule, e.system)).all()
    for rule, system, count in rows:
        family.add_metric([str(rule), str(system)], int(count))
    return [family]


def latest_pair_runs(conn: Connection) -> dict[str, drift_store.RunRow]:
    """Each pair's latest reconciliation run: the newest run that compared it (a run may cover some pairs only)."""
    found: dict[str, drift_store.RunRow] = {}
    before: int | None = None
    for _ in range(RUNS_SCANNED // RUNS_PER_READ):
        query = sa.select(runs).where(runs.c.kind == drift_store.RUN_KIND)
        if before is not None:
            query = query.where(runs.c.id < before)
        page = conn.execute(query.order_by(runs.c.id.desc()).limit(RUNS_PER_READ)).all()
        for r in page:
            pairs = r.stats.get("pairs") if isinstance(r.stats, Mapping) else None
            if not isinstance(pairs, Mapping):
                raise ValueError(f"reconciliation run {r.id} field stats.pairs: expected an object of pairs, "
                                 f"got {pairs!r}")
            row = drift_store.RunRow(int(r.id), str(r.status), as_utc(r.started_at) or now(),
                                     as_utc(r.finished_at), dict(r.stats))
            for pair in pairs:
                found.setdefault(str(pair), row)
        if len(page) < RUNS_PER_READ or set(PAIRS) <= set(found):
            break
        before = int(page[-1].id)
    return found


def _count(run: drift_store.RunRow, pair: str, summary: Mapping[str, Any], name: str) -> int:
    value = summary.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"reconciliation run {run.id} field stats.pairs.{pair}.{name}: expected a count, "
                         f"got {value!r}")
    return value


def reconciliation_families(conn: Connection) -> list[Metric]:
    """Per pair, what its latest reconciliation run found: drifts by kind, records compared, matched and held,
    and when the run finished."""
    drifts = GaugeMetricFamily("q2c_reconciliation_drifts",
                               "Drifts found by the pair's latest reconciliation run, by kind "
                               "(missing_left, missing_right, different)", labels=["pair", "kind"])
    counts = {name: GaugeMetricFamily(f"q2c_reconciliation_{name}_records", meaning, labels=["pair"])
              for name, meaning in PAIR_COUNTS.items()}
    finished = GaugeMetricFamily("q2c_reconciliation_last_run_timestamp_seconds",
                                 "When the pair's latest reconciliation run finished (Unix time)", labels=["pair"])
    for pair, run in sorted(latest_pair_runs(conn).items()):
        summary = run.stats["pairs"][pair]
        if not isinstance(summary, Mapping):
            raise ValueError(f"reconciliation run {run.id} field stats.pairs.{pair}: expected an object, "
                             f"got {summary!r}")
        for kind in DRIFT_KINDS:
            drifts.add_metric([pair, kind], _count(run, pair, summary, kind))
        for name, family in counts.items():
            family.add_metric([pair], _count(run, pair, summary, name))
        finished.add_metric([pair], (run.finished_at or run.started_at).timestamp())
    return [drifts, *counts.values(), finished]
