"""Replay from the exception queue: one item, a filter of items, or a time range; optionally with a
corrected payload. Replaying re-enqueues the work under the same aggregate (so ordering holds), marks
the exception and its subjects replayed, and writes who did it to the audit trail. Replaying twice is
a no-op: only open exceptions are replayed.

A corrected payload may only correct what the exception is about. Each kind of work that accepts
corrections says how (`CorrectionPolicy`): which records the payload must hold (exactly those the
exception holds up: a correction never invents a record) and which fields the exception's rule
lets a person change. Fields owned by another system become overrides, which later reads respect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from q2c.store import audit, overrides, queue
from q2c.store import exceptions as exception_store
from q2c.store.exceptions import ExceptionRow


class CorrectionRefused(ValueError):
    """A corrected payload that changes more than its exception is about; the message names record and field."""


@dataclass(frozen=True)
class Correction:
    """An accepted correction: the payload to deliver and the overrides that make it stick."""

    payload: dict[str, Any]
    overrides: tuple[overrides.Override, ...] = ()
    changes: tuple[dict[str, Any], ...] = field(default=())  # {record, field, before, after} for the audit


class CorrectionPolicy(Protocol):
    def __call__(self, row: ExceptionRow, corrected: Mapping[str, Any], *, actor: str) -> Correction: ...


@dataclass(frozen=True)
class ReplayResult:
    exception_id: int
    work_item_id: int | None
    skipped_reason: str | None = None


def replay_payload(row: ExceptionRow) -> dict[str, Any]:
    """What re-delivers every record the exception holds up (its open subjects), or its payload as stored."""
    parts = [s.payload for s in row.open_subjects if s.payload is not None]
    if not parts:
        return dict(row.payload)
    base = {k: v for k, v in row.payload.items() if not isinstance(v, list)}
    return exception_store.merge_payloads(base, parts)


def replay(engine: Engine, rows: Sequence[ExceptionRow], *, actor: str,
           corrected_payload: Mapping[str, Any] | None = None,
           corrections: Mapping[str, CorrectionPolicy] | None = None) -> list[ReplayResult]:
    """Re-enqueue the open exceptions among `rows`; raises CorrectionRefused for a bad corrected payload."""
    if corrected_payload is not None:
        open_rows = [r for r in rows if r.status == exception_store.OPEN]
        if len(open_rows) != 1:
            raise CorrectionRefused(f"a corrected payload corrects one open exception; {len(open_rows)} were selected")
    results: list[ReplayResult] = []
    queued: dict[tuple[str, str, str], int] = {}  # one payload may cover several exceptions
    with engine.begin() as conn:
        for row in rows:
            current = exception_store.get(conn, row.id)
            if current is None or current.status != exception_store.OPEN:
                results.append(ReplayResult(row.id, None, f"already {current.status if current else 'gone'}"))
                continue
            correction = None
            if corrected_payload is not None:
                policy = (corrections or {}).get(current.work_kind)
                if policy is None:
                    raise CorrectionRefused(
                        f"exception {current.id} ({current.violation.rule}) cannot be replayed with a corrected "
                        f"payload: fix the record in {current.violation.system} and replay it without one")
                correction = policy(current, corrected_payload, actor=actor)
                overrides.put(conn, correction.overrides)
            payload = correction.payload if correction is not None else replay_payload(current)
            key = (current.work_kind, current.aggregate, str(sorted(payload.items()))[:2000])
            item_id = queued.get(key)
            if item_id is None:
                item_id = queue.enqueue(conn, kind=current.work_kind, aggregate=current.aggregate, payload=payload,
                                        correlation_id=current.correlation_id, priority=queue.PRIORITY_SETUP,
                                        replay_of=current.work_item_id)
                queued[key] = item_id
            exception_store.mark(conn, current.id, status=exception_store.REPLAYED, replayed_as=item_id)
            v = current.violation
            after: dict[str, Any] = {"work_item": item_id, "corrected": correction is not None,
                                     "records": [s.record_id for s in current.open_subjects]}
            if correction is not None:
                after["changes"] = list(correction.changes)
            audit.append(conn, [audit.AuditEntry(
                actor=actor, system=v.system, action="replay", entity=v.object, record_id=v.record_id,
                correlation_id=current.correlation_id, before={"exception": current.id, "rule": v.rule},
                after=after)])
            results.append(ReplayResult(current.id, item_id))
    return results
