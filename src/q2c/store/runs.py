"""One row per run of the hub's work (a sync, a billing run, a revenue close, a reconciliation, an outage), with
its figures.

Generic on purpose: a run is a kind, a status, when it started and finished, and a JSON object of figures
that the kind's own code defines. A run is started `running` and finished `ok` or `failed`, so one that a
killed process never finished stays visible as `running`; a kind that knows its figures only at the end may
record the finished run in one call (`record_run`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from q2c.store.db import as_utc, now
from q2c.store.schema import runs

RUNNING, OK, FAILED = "running", "ok", "failed"
MAX_KIND_LENGTH = 40  # the width of the kind column
MAX_STATUS_LENGTH = 16  # ... of the status column


@dataclass(frozen=True)
class Run:
    id: int
    kind: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    stats: dict[str, Any]

    @property
    def duration_seconds(self) -> float | None:
        return None if self.finished_at is None else (self.finished_at - self.started_at).total_seconds()

    def summary(self) -> dict[str, Any]:
        """The run as JSON-ready data (`q2c runs ... --json`)."""
        return {"id": self.id, "kind": self.kind, "status": self.status, "started_at": self.started_at.isoformat(),
                "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
                "duration_seconds": self.duration_seconds, "stats": self.stats}


def _checked(kind: str | None, status: str | None, stats: dict[str, Any] | None) -> None:
    if kind is not None and not 0 < len(kind) <= MAX_KIND_LENGTH:
        raise ValueError(f"run field kind: {kind!r} must be 1 to {MAX_KIND_LENGTH} characters")
    if status is not None and not 0 < len(status) <= MAX_STATUS_LENGTH:
        raise ValueError(f"run field status: {status!r} must be 1 to {MAX_STATUS_LENGTH} characters")
    if stats is not None:
        try:
            json.dumps(stats, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"run field stats: not a JSON object of plain values ({exc})") from None


def _utc(value: datetime | None, name: str) -> datetime:
    """Every time the hub stores is UTC (SQLite keeps the wall time as given, so it must be UTC already)."""
    if value is None:
        return now()
    if value.tzinfo is None:
        raise ValueError(f"run field {name}: {value.isoformat()} has no timezone; give a UTC time")
    return value.astimezone(UTC)


def start_run(conn: Connection, *, kind: str, stats: dict[str, Any] | None = None,
              started_at: datetime | None = None) -> int:
    """A run begins (`running`); returns its id."""
    _checked(kind, None, stats)
    row = conn.execute(runs.insert().values(kind=kind, status=RUNNING, started_at=_utc(started_at, "started_at"),
                                            stats=stats or {}).returning(runs.c.id)).one()
    return int(row.id)


def update_stats(conn: Connection, run_id: int, stats: dict[str, Any]) -> bool:
    """Replace the figures of a run still `running` (one that reports progress); False if it is not."""
    _checked(None, None, stats)
    result = conn.execute(runs.update().where(runs.c.id == run_id, runs.c.status == RUNNING).values(stats=stats))
    return result.rowcount == 1


def finish_run(conn: Connection, run_id: int, *, status: str, stats: dict[str, Any],
               finished_at: datetime | None = None) -> bool:
    """A running run ends with `status` and its figures; False if it had already ended (it stays as it was)."""
    _checked(None, status, stats)
    if status == RUNNING:
        raise ValueError(f"run {run_id} field status: a run finishes as {OK!r} or {FAILED!r}, not {RUNNING!r}")
    result = conn.execute(runs.update().where(runs.c.id == run_id, runs.c.status == RUNNING)
                          .values(status=status, finished_at=_utc(finished_at, "finished_at"), stats=stats))
    return result.rowcount == 1


def record_run(conn: Connection, *, kind: str, status: str, started_at: datetime, stats: dict[str, Any],
               finished_at: datetime | None = None) -> int:
    """A run already finished, in one write; returns its id."""
    _checked(kind, status, stats)
    row = conn.execute(runs.insert().values(kind=kind, status=status, started_at=_utc(started_at, "started_at"),
                                            finished_at=_utc(finished_at, "finished_at"), stats=stats)
                       .returning(runs.c.id)).one()
    return int(row.id)


def discard_run(conn: Connection, run_id: int) -> bool:
    """Forget a run still `running` that turned out to do nothing worth keeping (a poll that found nothing)."""
    result = conn.execute(runs.delete().where(runs.c.id == run_id, runs.c.status == RUNNING))
    return result.rowcount == 1


def _run(r: Any) -> Run:
    started = as_utc(r.started_at)
    assert started is not None  # the column is NOT NULL
    return Run(int(r.id), str(r.kind), str(r.status), started, as_utc(r.finished_at), dict(r.stats or {}))


def get_run(conn: Connection, run_id: int) -> Run | None:
    r = conn.execute(sa.select(runs).where(runs.c.id == run_id)).first()
    return None if r is None else _run(r)


def list_runs(conn: Connection, *, kind: str | None = None, status: str | None = None,
              since: datetime | None = None, limit: int | None = 50) -> list[Run]:
    """Runs newest first (by start), filtered by kind, status and start time; `limit=None` for all of them."""
    query = sa.select(runs)
    if kind is not None:
        query = query.where(runs.c.kind == kind)
    if status is not None:
        query = query.where(runs.c.status == status)
    if since is not None:
        query = query.where(runs.c.started_at >= _utc(since, "since"))
    query = query.order_by(runs.c.started_at.desc(), runs.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [_run(r) for r in conn.execute(query)]
