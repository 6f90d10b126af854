"""Reconciliation runs and what each found (`drifts`), so drift can be followed over time.

A run is a row of `runs` (kind `reconcile`) whose stats hold the figures of every pair; each drift
it found is a row here, naming its record, what differs (field, both values), the cause traced from
q2c's own history, who owns the fix, and the fix itself when q2c can apply it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from q2c.store import runs as run_store
from q2c.store.db import as_utc, now
from q2c.store.schema import drifts, runs

RUN_KIND = "reconcile"


@dataclass(frozen=True)
class DriftRow:
    pair: str
    record_id: str
    kind: str
    differences: list[dict[str, Any]]
    left_values: dict[str, Any] | None
    right_values: dict[str, Any] | None
    cause: str
    owner: str
    fix: dict[str, Any] | None
    exception_id: int | None = None
    id: int | None = None
    run_id: int | None = None


@dataclass(frozen=True)
class RunRow:
    id: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    stats: dict[str, Any]


def record_run(conn: Connection, *, started_at: datetime, status: str, stats: dict[str, Any],
               found: Sequence[DriftRow]) -> int:
    """One finished reconciliation run and its drifts; returns the run id."""
    run_id = run_store.record_run(conn, kind=RUN_KIND, status=status, started_at=started_at, stats=stats,
                                  finished_at=now())
    stamp = now()
    if found:
        conn.execute(drifts.insert(), [{
            "run_id": run_id, "pair": d.pair, "record_id": d.record_id, "kind": d.kind,
            "differences": d.differences, "left_values": d.left_values, "right_values": d.right_values,
            "cause": d.cause, "owner": d.owner, "fix": d.fix, "exception_id": d.exception_id, "created_at": stamp}
            for d in found])
    return run_id


def _run(r: Any) -> RunRow:
    return RunRow(int(r.id), str(r.status), as_utc(r.started_at) or now(), as_utc(r.finished_at), dict(r.stats))


def runs_list(conn: Connection, *, limit: int = 20) -> list[RunRow]:
    rows = conn.execute(sa.select(runs).where(runs.c.kind == RUN_KIND).order_by(runs.c.id.desc()).limit(limit))
    return [_run(r) for r in rows]


def get_run(conn: Connection, run_id: int) -> RunRow | None:
    r = conn.execute(sa.select(runs).where(runs.c.id == run_id, runs.c.kind == RUN_KIND)).first()
    return None if r is None else _run(r)


def _drift(r: Any) -> DriftRow:
    return DriftRow(str(r.pair), str(r.record_id), str(r.kind), list(r.differences), r.left_values, r.right_values,
                    str(r.cause), str(r.owner), r.fix, None if r.exception_id is None else int(r.exception_id),
                    int(r.id), int(r.run_id))


def of_run(conn: Connection, run_id: int, *, pair: str | None = None) -> list[DriftRow]:
    query = sa.select(drifts).where(drifts.c.run_id == run_id)
    if pair is not None:
        query = query.where(drifts.c.pair == pair)
    return [_drift(r) for r in conn.execute(query.order_by(drifts.c.pair, drifts.c.record_id))]


def history(conn: Connection, *, pair: str, record_id: str) -> list[DriftRow]:
    """Every run's drift for one record, oldest first: when it began, how it changed."""
    query = sa.select(drifts).where(drifts.c.pair == pair, drifts.c.record_id == record_id).order_by(drifts.c.id)
    return [_drift(r) for r in conn.execute(query)]
