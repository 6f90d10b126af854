"""The hub's own copy of canonical records, with a lifecycle state per record.

States used: time entries as `store.time_entries` describes them; contracts `active`; invoices `draft`,
`posted`. The payload is the canonical model dumped to JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from q2c.store.db import insert_for, now
from q2c.store.links import _chunks
from q2c.store.schema import records


@dataclass(frozen=True)
class Record:
    entity: str
    canonical_id: str
    aggregate: str
    state: str
    schema_version: int
    content_hash: str
    payload: dict[str, Any]


def _row(r: Any) -> Record:
    return Record(r.entity, r.canonical_id, r.aggregate, r.state, r.schema_version, r.content_hash, r.payload)


def get_records(conn: Connection, *, entity: str, canonical_ids: Sequence[str]) -> dict[str, Record]:
    found: dict[str, Record] = {}
    for chunk in _chunks(list(canonical_ids)):
        for r in conn.execute(sa.select(records).where(records.c.entity == entity,
                                                       records.c.canonical_id.in_(chunk))):
            found[r.canonical_id] = _row(r)
    return found


def get_record(conn: Connection, *, entity: str, canonical_id: str) -> Record | None:
    return get_records(conn, entity=entity, canonical_ids=[canonical_id]).get(canonical_id)


def list_records(conn: Connection, *, entity: str, aggregate: str | None = None,
                 states: Sequence[str] | None = None) -> list[Record]:
    query = sa.select(records).where(records.c.entity == entity)
    if aggregate is not None:
        query = query.where(records.c.aggregate == aggregate)
    if states:
        query = query.where(records.c.state.in_(list(states)))
    return [_row(r) for r in conn.execute(query.order_by(records.c.canonical_id))]


def upsert_records(conn: Connection, rows: Sequence[Record]) -> None:
    if not rows:
        return
    stamp = now()
    values = [{"entity": r.entity, "canonical_id": r.canonical_id, "aggregate": r.aggregate, "state": r.state,
               "schema_version": r.schema_version, "content_hash": r.content_hash, "payload": r.payload,
               "updated_at": stamp} for r in rows]
    stmt = insert_for(conn)(records)
    stmt = stmt.on_conflict_do_update(
        index_elements=["entity", "canonical_id"],
        set_={c: getattr(stmt.excluded, c)
              for c in ("aggregate", "state", "schema_version", "content_hash", "payload", "updated_at")},
    )
    conn.execute(stmt, values)


def set_state(conn: Connection, *, entity: str, canonical_ids: Sequence[str], state: str) -> None:
    for chunk in _chunks(list(canonical_ids)):
        conn.execute(records.update().where(records.c.entity == entity, records.c.canonical_id.in_(chunk))
                     .values(state=state, updated_at=now()))


def count_by_state(conn: Connection, *, entity: str) -> dict[str, int]:
    rows = conn.execute(sa.select(records.c.state, sa.func.count()).where(records.c.entity == entity)
                        .group_by(records.c.state)).all()
    return {str(s): int(n) for s, n in rows}
