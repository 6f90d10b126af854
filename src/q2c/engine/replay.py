"""Replay from the exception queue: one item, a filter of items, or a time range; optionally with a
corrected payload. Replaying re-enqueues the work under the same aggregate (so ordering holds), marks
the exception replayed, and writes who did it to the audit trail. Replaying twice is a no-op: only
open exceptions are replayed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from q2c.store import audit, queue
from q2c.store import exceptions as exception_store
from q2c.store.exceptions import ExceptionRow


@dataclass(frozen=True)
class ReplayResult:
    exception_id: int
    work_item_id: int | None
    skipped_reason: str | None = None


def replay(engine: Engine, rows: Sequence[ExceptionRow], *, actor: str,
           corrected_payload: dict[str, Any] | None = None) -> list[ReplayResult]:
    results: list[ReplayResult] = []
    queued: dict[tuple[str, str, str], int] = {}  # one exception's payload may cover several rows
    with engine.begin() as conn:
        for row in rows:
            current = exception_store.get(conn, row.id)
            if current is None or current.status != exception_store.OPEN:
                results.append(ReplayResult(row.id, None, f"already {current.status if current else 'gone'}"))
                continue
            payload = corrected_payload if corrected_payload is not None else current.payload
            key = (current.work_kind, current.aggregate, str(sorted(payload.items()))[:2000])
            item_id = queued.get(key)
            if item_id is None:
                item_id = queue.enqueue(conn, kind=current.work_kind, aggregate=current.aggregate, payload=payload,
                                        correlation_id=current.correlation_id, priority=queue.PRIORITY_SETUP,
                                        replay_of=current.work_item_id)
                queued[key] = item_id
            exception_store.mark(conn, current.id, status=exception_store.REPLAYED, replayed_as=item_id)
            v = current.violation
            audit.append(conn, [audit.AuditEntry(
                actor=actor, system=v.system, action="replay", entity=v.object, record_id=v.record_id,
                correlation_id=current.correlation_id,
                before={"exception": current.id, "rule": v.rule},
                after={"work_item": item_id, "corrected": corrected_payload is not None})])
            results.append(ReplayResult(current.id, item_id))
    return results
