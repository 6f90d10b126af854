"""The link table: canonical id <-> a system's id, with the hash of what q2c last wrote there.

`content_hash` answers "has this changed since we last wrote it?" (idempotent upserts, no
needless writes) and "is this inbound change our own write coming back?" (echo suppression).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from q2c.store.db import insert_for, now
from q2c.store.schema import links


@dataclass(frozen=True)
class Link:
    entity: str
    canonical_id: str
    system: str
    external_id: str
    content_hash: str
    source_version: str | None


def _chunks(ids: Sequence[str], size: int = 900) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def get_links(conn: Connection, *, entity: str, system: str, canonical_ids: Sequence[str]) -> dict[str, Link]:
    found: dict[str, Link] = {}
    for chunk in _chunks(list(canonical_ids)):
        rows = conn.execute(sa.select(links).where(links.c.entity == entity, links.c.system == system,
                                                   links.c.canonical_id.in_(chunk)))
        for r in rows:
            found[r.canonical_id] = Link(r.entity, r.canonical_id, r.system, r.external_id, r.content_hash,
                                         r.source_version)
    return found


def get_link(conn: Connection, *, entity: str, system: str, canonical_id: str) -> Link | None:
    return get_links(conn, entity=entity, system=system, canonical_ids=[canonical_id]).get(canonical_id)


def find_by_external(conn: Connection, *, entity: str, system: str, external_id: str) -> Link | None:
    r = conn.execute(sa.select(links).where(links.c.entity == entity, links.c.system == system,
                                            links.c.external_id == external_id)).first()
    if r is None:
        return None
    return Link(r.entity, r.canonical_id, r.system, r.external_id, r.content_hash, r.source_version)


def upsert_links(conn: Connection, rows: Sequence[Link], *, at: datetime | None = None) -> None:
    if not rows:
        return
    stamp = at or now()
    values = [{"entity": r.entity, "canonical_id": r.canonical_id, "system": r.system,
               "external_id": r.external_id, "content_hash": r.content_hash,
               "source_version": r.source_version, "updated_at": stamp} for r in rows]
    stmt = insert_for(conn)(links)
    stmt = stmt.on_conflict_do_update(
        index_elements=["entity", "canonical_id", "system"],
        set_={"external_id": stmt.excluded.external_id, "content_hash": stmt.excluded.content_hash,
              "source_version": stmt.excluded.source_version, "updated_at": stmt.excluded.updated_at},
    )
    conn.execute(stmt, values)


def count(conn: Connection, *, entity: str, system: str) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(links)
                            .where(links.c.entity == entity, links.c.system == system)).scalar_one())
