"""Corrections made in q2c to fields another system owns.

A controller who fixes a time entry from the exception queue (the entry names a person who is
not on the rate card; it was really Alice) changes a field the time tracker owns, and q2c does
not write to the tracker's approved, locked time. The correction is kept here instead: every
later read of the record applies it, so the next poll does not mistake the tracker's unchanged
value for an edit. It holds while the tracker still shows the value that was corrected
(`source_value`); once the tracker itself changes the field, the owner has spoken and the
override lapses (audited by the caller).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from q2c.store.db import insert_for, now
from q2c.store.links import _chunks
from q2c.store.schema import overrides

ACTIVE, LAPSED = "active", "lapsed"


@dataclass(frozen=True)
class Override:
    entity: str
    canonical_id: str
    field: str
    value: Any  # what q2c uses instead
    source_value: Any  # what the owning system showed when the correction was made
    actor: str
    reason: str


def put(conn: Connection, rows: Sequence[Override]) -> None:
    if not rows:
        return
    stamp = now()
    stmt = insert_for(conn)(overrides)
    stmt = stmt.on_conflict_do_update(
        index_elements=["entity", "canonical_id", "field"],
        set_={"value": stmt.excluded.value, "source_value": stmt.excluded.source_value, "status": ACTIVE,
              "actor": stmt.excluded.actor, "reason": stmt.excluded.reason, "created_at": stmt.excluded.created_at,
              "lapsed_at": None})
    conn.execute(stmt, [{"entity": r.entity, "canonical_id": r.canonical_id, "field": r.field, "value": r.value,
                         "source_value": r.source_value, "status": ACTIVE, "actor": r.actor, "reason": r.reason,
                         "created_at": stamp} for r in rows])


def active(conn: Connection, *, entity: str, canonical_ids: Sequence[str]) -> dict[str, list[Override]]:
    found: dict[str, list[Override]] = {}
    for chunk in _chunks(list(canonical_ids)):
        for r in conn.execute(sa.select(overrides).where(overrides.c.entity == entity, overrides.c.status == ACTIVE,
                                                         overrides.c.canonical_id.in_(chunk))
                              .order_by(overrides.c.canonical_id, overrides.c.field)):
            found.setdefault(r.canonical_id, []).append(
                Override(r.entity, r.canonical_id, r.field, r.value, r.source_value, r.actor, r.reason))
    return found


def lapse(conn: Connection, *, entity: str, canonical_id: str, field: str) -> None:
    conn.execute(overrides.update().where(overrides.c.entity == entity, overrides.c.canonical_id == canonical_id,
                                          overrides.c.field == field, overrides.c.status == ACTIVE)
                 .values(status=LAPSED, lapsed_at=now()))


def count(conn: Connection, *, entity: str) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(overrides).where(
        overrides.c.entity == entity, overrides.c.status == ACTIVE)).scalar_one())
