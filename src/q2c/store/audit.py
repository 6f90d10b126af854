"""Append-only, hash-chained audit trail.

Each entry's hash covers its content and the previous entry's hash, so changing, removing or
reordering any past entry breaks every hash after it; `verify` finds the first break. Appends
take the chain head row under a lock (`FOR UPDATE` on PostgreSQL; SQLite writers are serial),
so concurrent workers extend one chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from q2c.store.db import as_utc, insert_for, is_postgres, now
from q2c.store.schema import audit_head, audit_log

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    actor: str  # "q2c", "q2c:replay by alice", a worker name
    system: str  # system written to or read from
    action: str  # "create", "update", "replay", "exception", "invoice", ...
    entity: str
    record_id: str
    correlation_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def _digest(prev_hash: str, seq: int, at: datetime, e: AuditEntry | Any) -> str:
    stamp = as_utc(at)
    body = json.dumps(
        [seq, stamp.isoformat() if stamp else None, e.actor, e.system, e.action, e.entity, e.record_id,
         e.correlation_id, e.before, e.after],
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def append(conn: Connection, entries: Sequence[AuditEntry]) -> None:
    if not entries:
        return
    conn.execute(insert_for(conn)(audit_head).values(id=1, seq=0, hash=GENESIS)
                 .on_conflict_do_nothing(index_elements=["id"]))
    head_q = sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
    if is_postgres(conn):
        head_q = head_q.with_for_update()
    head = conn.execute(head_q).one()
    seq, prev = int(head.seq), str(head.hash)
    at = now()
    rows = []
    for e in entries:
        seq += 1
        digest = _digest(prev, seq, at, e)
        rows.append({"seq": seq, "at": at, "actor": e.actor, "system": e.system, "action": e.action,
                     "entity": e.entity, "record_id": e.record_id, "correlation_id": e.correlation_id,
                     "before": e.before, "after": e.after, "prev_hash": prev, "hash": digest})
        prev = digest
    conn.execute(audit_log.insert(), rows)
    conn.execute(audit_head.update().where(audit_head.c.id == 1).values(seq=seq, hash=prev))


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    first_bad_seq: int | None
    reason: str


def verify(conn: Connection, *, batch: int = 5000) -> Verification:
    """Recompute the chain from the start; report the first entry that does not match."""
    prev, expected_seq, checked, last = GENESIS, 1, 0, 0
    while True:
        rows = conn.execute(sa.select(audit_log).where(audit_log.c.seq > last)
                            .order_by(audit_log.c.seq).limit(batch)).all()
        if not rows:
            break
        for r in rows:
            if r.seq != expected_seq:
                return Verification(False, checked, expected_seq, f"entry {expected_seq} is missing")
            if r.prev_hash != prev:
                return Verification(False, checked, r.seq, f"entry {r.seq} does not follow entry {r.seq - 1}")
            if _digest(prev, r.seq, r.at, r) != r.hash:
                return Verification(False, checked, r.seq, f"entry {r.seq} was altered after it was written")
            prev, expected_seq, checked, last = r.hash, expected_seq + 1, checked + 1, r.seq
    head = conn.execute(sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).first()
    if head is not None and (int(head.seq) != last or head.hash != prev):
        return Verification(False, checked, last + 1, "the chain was cut short after its last entry")
    return Verification(True, checked, None, "chain intact")


def history(conn: Connection, *, record_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    query = sa.select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
    if record_id is not None:
        query = query.where(audit_log.c.record_id == record_id)
    return [dict(r._mapping) for r in conn.execute(query)]
