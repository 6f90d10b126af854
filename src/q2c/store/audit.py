"""Append-only audit trail, chained under a key the database does not hold, checked against checkpoints kept
outside it.

Each entry's hash is an HMAC-SHA256, under the audit key (`audit_key.py`), of its content and the previous
entry's hash: changing, removing or reordering a past entry breaks the chain, and someone who can write to
the database but lacks the key cannot recompute it. Entries written before the trail had a key keep their
plain SHA-256 hashes; the head records where the key takes over (`keyed_from`) and every checkpoint repeats
it. Signed checkpoints of the head (`audit_anchor.py`) live outside the database, so a cut tail, a wiped
trail or one rewritten even with the key is seen against the newest of them.

`verify` names what it finds (edited, deleted, reordered, recomputed, truncated, wiped, rewritten), the
first entry it can no longer vouch for and the last checkpoint the trail still matches. Appends take the
chain head row under a lock (`FOR UPDATE` on PostgreSQL; SQLite writers are serial), so concurrent workers
extend one chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from q2c.store import audit_anchor
from q2c.store.audit_anchor import Checkpoint, Unreadable
from q2c.store.audit_key import AuditKeyMissing, TrailKeeping, keeping_for
from q2c.store.db import as_utc, insert_for, is_postgres, now
from q2c.store.schema import audit_head, audit_log

__all__ = ["GENESIS", "Anchoring", "AuditEntry", "AuditKeyMissing", "Finding", "Verification", "anchor",
           "anchor_scheduled", "append", "history", "require_key", "verify"]

GENESIS = "0" * 64
log = logging.getLogger("q2c.audit")
HOW_TO_KEY = "set audit.key_file or audit.key_env"


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


def _body(prev_hash: str, seq: int, at: datetime, e: AuditEntry | Any) -> bytes:
    stamp = as_utc(at)
    body = json.dumps(
        [seq, stamp.isoformat() if stamp else None, e.actor, e.system, e.action, e.entity, e.record_id,
         e.correlation_id, e.before, e.after],
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return (prev_hash + body).encode()


def _digest(prev_hash: str, seq: int, at: datetime, e: AuditEntry | Any) -> str:
    """The plain SHA-256 of entries written before the trail had a key."""
    return hashlib.sha256(_body(prev_hash, seq, at, e)).hexdigest()


def _keyed_digest(key: bytes, prev_hash: str, seq: int, at: datetime, e: AuditEntry | Any) -> str:
    return hmac.new(key, _body(prev_hash, seq, at, e), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class _Head:
    seq: int
    hash: str
    keyed_from: int | None


def _head(conn: Connection, *, lock: bool = False) -> _Head | None:
    query = sa.select(audit_head.c.seq, audit_head.c.hash, audit_head.c.keyed_from).where(audit_head.c.id == 1)
    if lock and is_postgres(conn):
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        return None
    return _Head(int(row.seq), str(row.hash), None if row.keyed_from is None else int(row.keyed_from))


def _writing_key(keeping: TrailKeeping, keyed_from: int | None) -> bytes | None:
    """The key to chain with: made beside a SQLite file only while no entry is keyed yet (a keyed trail whose
    key went missing must not quietly start over under a new one)."""
    key = keeping.key(create=keyed_from is None)
    if key is None and keyed_from is not None:
        raise keeping.missing(f"the audit trail is chained under a key from entry {keyed_from}")
    return key


def append(conn: Connection, entries: Sequence[AuditEntry]) -> None:
    if not entries:
        return
    conn.execute(insert_for(conn)(audit_head).values(id=1, seq=0, hash=GENESIS)
                 .on_conflict_do_nothing(index_elements=["id"]))
    head = _head(conn, lock=True)
    assert head is not None
    seq, prev, keyed_from = head.seq, str(head.hash), head.keyed_from
    key = _writing_key(keeping_for(conn), keyed_from)
    if key is not None and keyed_from is None:
        keyed_from = seq + 1  # the switch-over: plain SHA-256 before this entry, HMAC from it on
    at = now()
    rows = []
    for e in entries:
        seq += 1
        digest = _keyed_digest(key, prev, seq, at, e) if key is not None else _digest(prev, seq, at, e)
        rows.append({"seq": seq, "at": at, "actor": e.actor, "system": e.system, "action": e.action,
                     "entity": e.entity, "record_id": e.record_id, "correlation_id": e.correlation_id,
                     "before": e.before, "after": e.after, "prev_hash": prev, "hash": digest})
        prev = digest
    conn.execute(audit_log.insert(), rows)
    conn.execute(audit_head.update().where(audit_head.c.id == 1).values(seq=seq, hash=prev, keyed_from=keyed_from))


def require_key(conn: Connection) -> TrailKeeping:
    """The trail's key must be at hand (made beside a SQLite file if need be): `q2c serve` refuses without."""
    keeping = keeping_for(conn)
    head = _head(conn)
    if _writing_key(keeping, head.keyed_from if head is not None else None) is None:
        raise keeping.missing("q2c serve chains the audit trail under a key and anchors it on a schedule")
    return keeping


@dataclass(frozen=True)
class Finding:
    """One thing wrong with the trail: what (`kind`), from which entry on, in words."""

    kind: str  # edited, deleted, reordered, relinked, recomputed, truncated, wiped, rewritten, head, checkpoint
    first_bad_seq: int | None
    message: str


# When two findings start at one entry, the one that explains the others comes first.
_PRECEDENCE = ("wiped", "truncated", "deleted", "reordered", "recomputed", "relinked", "edited", "rewritten", "head",
               "checkpoint")


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int  # entries verified before the first bad one (all of them when ok)
    first_bad_seq: int | None
    reason: str
    problem: str | None = None  # the kind of the first finding
    findings: tuple[Finding, ...] = ()
    last_good_checkpoint: Checkpoint | None = None  # the newest checkpoint the trail still matches, before the break
    latest_checkpoint: Checkpoint | None = None  # the newest checkpoint signed with the key
    keyed_from: int | None = None
    unanchored: int = 0  # entries after the last good checkpoint
    notes: tuple[str, ...] = ()  # what an intact trail still cannot show

    def as_dict(self) -> dict[str, Any]:
        """The one shape `q2c audit verify --json` and `GET /audit/verify` answer in."""
        return {"ok": self.ok, "entries": self.entries, "first_bad_seq": self.first_bad_seq, "reason": self.reason,
                "problem": self.problem,
                "findings": [{"kind": f.kind, "first_bad_seq": f.first_bad_seq, "message": f.message}
                             for f in self.findings],
                "last_good_checkpoint": self.last_good_checkpoint.as_dict() if self.last_good_checkpoint else None,
                "latest_checkpoint": self.latest_checkpoint.as_dict() if self.latest_checkpoint else None,
                "keyed_from": self.keyed_from, "unanchored": self.unanchored, "notes": list(self.notes)}

    def vouching(self) -> str:
        """Since when the trail can no longer be vouched for, and on what it still can."""
        good = self.last_good_checkpoint
        held = (f"the last checkpoint it still matches is the one {good.headline()}" if good is not None
                else "no checkpoint still matches it")
        if self.first_bad_seq is None:
            return held
        return f"cannot vouch for the trail from entry {self.first_bad_seq} on; {held}"


@dataclass
class _Walk:
    """What one pass over the entries saw, kept small however long the trail is."""

    key: bytes | None
    keyed_from: int | None
    wanted: set[int]
    last_seq: int = 0
    last_hash: str = GENESIS
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (first missing, next present)
    links: list[tuple[int, str]] = field(default_factory=list)  # (seq, the prev_hash it carries)
    first_bad_digest: int | None = None
    bad_digests: int = 0
    run_start: int | None = None  # the current run of bad digests reaching the end of the trail
    run_length: int = 0
    run_unkeyed: int = 0  # ... of which carry a valid plain SHA-256 where the key was due
    hash_at: dict[int, str] = field(default_factory=dict)

    def see(self, r: Any) -> None:  # a row of audit_log
        expected = self.last_seq + 1
        if r.seq != expected:
            if len(self.gaps) < 10:
                self.gaps.append((expected, r.seq))
        elif r.prev_hash != self.last_hash and len(self.links) < 10:
            self.links.append((r.seq, r.prev_hash))
        keyed = self.keyed_from is not None and r.seq >= self.keyed_from
        if keyed:
            if self.key is None:
                raise AuditKeyMissing("unreachable: keyed entries are walked with a key")
            good = hmac.compare_digest(_keyed_digest(self.key, r.prev_hash, r.seq, r.at, r), r.hash)
        else:
            good = _digest(r.prev_hash, r.seq, r.at, r) == r.hash
        if good:
            self.run_start, self.run_length, self.run_unkeyed = None, 0, 0
        else:
            self.bad_digests += 1
            self.first_bad_digest = self.first_bad_digest or r.seq
            if self.run_start is None:
                self.run_start = r.seq
            self.run_length += 1
            self.run_unkeyed += keyed and _digest(r.prev_hash, r.seq, r.at, r) == r.hash
        if r.seq in self.wanted:
            self.hash_at[r.seq] = r.hash
        self.last_seq, self.last_hash = r.seq, r.hash


def _walk(conn: Connection, walk: _Walk, *, upto: int | None, batch: int) -> None:
    while True:
        query = sa.select(audit_log).where(audit_log.c.seq > walk.last_seq).order_by(audit_log.c.seq).limit(batch)
        if upto is not None:
            query = query.where(audit_log.c.seq <= upto)
        rows = conn.execute(query).all()
        for r in rows:
            walk.see(r)
        if len(rows) < batch:
            return


def _hash_of(conn: Connection, seq: int) -> str | None:
    return conn.execute(sa.select(audit_log.c.hash).where(audit_log.c.seq == seq)).scalar_one_or_none()


def _chain_findings(conn: Connection, walk: _Walk, keeping: TrailKeeping) -> list[Finding]:
    found: list[Finding] = []
    for missing, present in walk.gaps:
        what = f"entry {missing} is missing" if present == missing + 1 else \
            f"entries {missing} to {present - 1} are missing"
        found.append(Finding("deleted", missing, f"{what}: deleted from the trail"))
    for seq, prev_hash in walk.links:
        follows = conn.execute(sa.select(audit_log.c.seq).where(audit_log.c.hash == prev_hash)).scalars().first()
        if follows is not None and follows != seq - 1:
            found.append(Finding("reordered", seq, f"entry {seq} follows entry {follows}, not entry {seq - 1}: "
                                                   "entries were reordered"))
        else:
            found.append(Finding("relinked", seq, f"entry {seq} does not follow entry {seq - 1}: the entry before "
                                                  "it was removed or replaced"))
    if walk.first_bad_digest is not None:
        recomputed = walk.run_start if walk.run_length >= 2 else None
        isolated = walk.bad_digests - (walk.run_length if recomputed is not None else 0)
        if isolated:
            more = f" (and {isolated - 1} more {'entry' if isolated == 2 else 'entries'})" if isolated > 1 else ""
            found.append(Finding("edited", walk.first_bad_digest,
                                 f"entry {walk.first_bad_digest} was altered after it was written{more}"))
        if recomputed is not None:
            how = (" (with plain SHA-256, where the key was due)" if walk.run_unkeyed == walk.run_length else "")
            found.append(Finding("recomputed", recomputed, (
                f"entries {recomputed} to {walk.last_seq} were recomputed without the key{how}: they link to each "
                "other, but none carries a valid HMAC")
                + (f" (or {keeping.source} is not the key the trail was written with)"
                   if recomputed == walk.keyed_from else "")))
    return found


def _head_findings(conn: Connection, walk: _Walk, head: _Head | None) -> list[Finding]:
    if head is None:
        if walk.last_seq:
            return [Finding("head", walk.last_seq + 1, f"the chain head is missing while the trail holds entries up "
                                                       f"to {walk.last_seq}")]
        return []
    if head.seq > walk.last_seq:
        if walk.last_seq == 0:
            return [Finding("wiped", 1, f"the trail holds no entries, but its head says {head.seq}: it was wiped")]
        return [Finding("truncated", walk.last_seq + 1, f"the chain was cut short after its last entry: the trail "
                                                        f"ends at entry {walk.last_seq}, its head says {head.seq}")]
    if head.hash != walk.last_hash:
        return [Finding("head", walk.last_seq, f"the chain head does not match entry {walk.last_seq}")]
    beyond = conn.execute(sa.select(sa.func.min(audit_log.c.seq)).where(audit_log.c.seq > head.seq)).scalar()
    if beyond is not None:
        now_head = _head(conn)
        if now_head is None or int(now_head.seq) < int(beyond):
            return [Finding("head", int(beyond), f"entries from {beyond} on were added without moving the chain head")]
    return []


def _checkpoint_findings(conn: Connection, walk: _Walk, good: list[Checkpoint], bad: list[Unreadable],
                         keyed_from_db: int | None, *, start: int,
                         chain: list[Finding]) -> tuple[list[Finding], list[Checkpoint]]:
    """Each signed checkpoint against the trail: (what does not match, the checkpoints that do). A checkpoint
    the trail no longer matches dates the rewrite after the one before it, unless the chain itself shows where
    (a keyless rewrite breaks the HMACs at the very entry)."""
    found: list[Finding] = []
    matching: list[Checkpoint] = []
    cut: Finding | None = None  # only the checkpoint that vouches for the most says how much is gone
    for c in good:
        if c.seq < start:
            continue
        actual = walk.hash_at.get(c.seq) if c.seq <= walk.last_seq else _hash_of(conn, c.seq)
        earlier = matching[-1].seq if matching else 0
        if actual is None:
            if c.seq <= walk.last_seq:
                continue  # inside a gap, which is reported as deleted entries
            if walk.last_seq == 0:
                cut = Finding("wiped", 1, f"the trail holds no entries, but the checkpoint {c.headline()} vouches "
                                          f"for {c.entries}: it was wiped")
            else:
                cut = Finding("truncated", walk.last_seq + 1, f"the trail ends at entry {walk.last_seq}, but the "
                                                              f"checkpoint {c.headline()} vouches for {c.entries} "
                                                              "entries: its tail was cut")
        elif actual != c.hash:
            shown = [f.first_bad_seq for f in chain
                     if f.first_bad_seq is not None and earlier < f.first_bad_seq <= c.seq]
            found.append(Finding("rewritten", min(shown, default=earlier + 1),
                                 f"entry {c.seq} is not the one the checkpoint {c.headline()} signed: the trail "
                                 f"after entry {earlier} was rewritten since"))
        else:
            if c.keyed_from is not None and c.keyed_from != keyed_from_db:
                found.append(Finding("rewritten", min(c.keyed_from, keyed_from_db or c.keyed_from),
                                     f"the trail says it is keyed from entry {keyed_from_db}, the checkpoint "
                                     f"{c.headline()} signed entry {c.keyed_from}: the switch-over point was moved"))
            matching.append(c)
    found += [cut] if cut is not None else []
    found += [Finding("checkpoint", None, f"checkpoint file {b.file} {b.why}") for b in bad]
    return found, matching


def _conclude(conn: Connection, walk: _Walk, findings: list[Finding], matching: list[Checkpoint],
              latest: Checkpoint | None, *, notes: list[str]) -> Verification:
    findings = sorted(dict.fromkeys(findings),
                      key=lambda f: (f.first_bad_seq is None, f.first_bad_seq or 0, _PRECEDENCE.index(f.kind)))
    if not findings:
        good = matching[-1] if matching else None
        return Verification(True, walk.last_seq, None, "chain intact", last_good_checkpoint=good,
                            latest_checkpoint=latest, keyed_from=walk.keyed_from,
                            unanchored=walk.last_seq - (good.seq if good else 0), notes=tuple(notes))
    first = findings[0]
    bad_seq = first.first_bad_seq
    good = next((c for c in reversed(matching) if bad_seq is None or c.seq < bad_seq), None)
    if bad_seq is None:
        entries = walk.last_seq
    else:
        entries = int(conn.execute(sa.select(sa.func.count()).select_from(audit_log)
                                   .where(audit_log.c.seq < bad_seq)).scalar_one())
    return Verification(False, entries, bad_seq, first.message, problem=first.kind, findings=tuple(findings),
                        last_good_checkpoint=good, latest_checkpoint=latest, keyed_from=walk.keyed_from,
                        unanchored=max(walk.last_seq - (good.seq if good else 0), 0), notes=tuple(notes))


def _check(conn: Connection, keeping: TrailKeeping, key: bytes | None, *, from_latest: bool,
           batch: int) -> Verification:
    head = _head(conn)  # first: entries appended while the walk runs are past it, not a break
    keyed_from_db = head.keyed_from if head is not None else None
    folder = keeping.anchor_dir
    if key is None and folder is not None and audit_anchor.checkpoint_files(folder):
        raise keeping.missing(f"checkpoints in {folder} vouch for the trail")
    good, bad = audit_anchor.read(folder, key) if key is not None and folder is not None else ([], [])
    latest = good[-1] if good else None
    trusted = next((c.keyed_from for c in reversed(good) if c.keyed_from is not None), None)
    keyed_from = trusted or keyed_from_db
    upto = head.seq if head is not None else None
    if key is None and keyed_from is not None and (upto is None or upto >= keyed_from):
        raise keeping.missing(f"the audit trail is chained under a key from entry {keyed_from}")
    walk = _Walk(key=key, keyed_from=keyed_from, wanted={c.seq for c in good})
    start = 0
    findings: list[Finding] = []
    if from_latest and latest is not None and (upto is None or latest.seq <= upto):
        start = latest.seq
        if _hash_of(conn, latest.seq) == latest.hash:  # vouched for already: walk on from there
            walk.last_seq, walk.last_hash, walk.hash_at[latest.seq] = latest.seq, latest.hash, latest.hash
        else:
            start = 0
    _walk(conn, walk, upto=upto, batch=batch)
    findings += _chain_findings(conn, walk, keeping)
    findings += _head_findings(conn, walk, head)
    if keyed_from_db is not None and head is not None and keyed_from_db > head.seq:
        findings.append(Finding("head", head.seq + 1, f"the head says the key takes over at entry "
                                                           f"{keyed_from_db}, past its last entry {head.seq}"))
    more, matching = _checkpoint_findings(conn, walk, good, bad, keyed_from_db, start=start, chain=findings)
    findings += more
    notes = []
    if keyed_from is None and walk.last_seq:
        notes.append(f"the trail has no key yet: its {walk.last_seq} entries are plain SHA-256, which anyone who can "
                     f"write to the database can recompute ({keeping.source}; {HOW_TO_KEY})")
    elif keyed_from is not None and keyed_from > 1:
        notes.append(f"entries 1 to {keyed_from - 1} were written before the trail had a key (plain SHA-256)")
    if latest is None and walk.last_seq:
        notes.append("no checkpoint yet, so a cut tail or a wiped trail would go unseen: run `q2c audit anchor`")
    return _conclude(conn, walk, findings, matching, latest, notes=notes)


def verify(conn: Connection, *, batch: int = 5000) -> Verification:
    """Recompute the whole chain and hold it against every checkpoint; name what is wrong and since when."""
    keeping = keeping_for(conn)
    return _check(conn, keeping, keeping.key(create=False), from_latest=False, batch=batch)


@dataclass(frozen=True)
class Anchoring:
    checkpoint: Checkpoint | None  # the one written, or the newest when the head has not moved since
    written: bool
    verification: Verification


def anchor(conn: Connection, *, batch: int = 5000) -> Anchoring:
    """Sign the chain's head into a new checkpoint, after checking every entry since the newest one (a broken
    trail is never vouched for: nothing is written then). AuditKeyMissing without a key or a folder."""
    keeping = keeping_for(conn)
    head = _head(conn)
    key = _writing_key(keeping, head.keyed_from if head is not None else None)
    if key is None:
        raise keeping.missing("a checkpoint is signed with the audit key")
    folder = keeping.folder()
    result = _check(conn, keeping, key, from_latest=True, batch=batch)
    latest = result.latest_checkpoint
    if not result.ok or head is None or head.seq == 0:
        return Anchoring(latest, False, result)
    if latest is not None and latest.seq == head.seq and latest.hash == head.hash:
        return Anchoring(latest, False, result)
    checkpoint = Checkpoint(seq=head.seq, hash=str(head.hash), entries=head.seq, keyed_from=head.keyed_from,
                            at=now(), key_id=audit_anchor.key_id(key))
    return Anchoring(audit_anchor.write(folder, checkpoint, key, keep=keeping.checkpoints_kept), True, result)


def anchor_scheduled(engine: Engine) -> Anchoring:
    """One round of `q2c serve`'s anchoring: a checkpoint written is logged, a trail that no longer holds is
    logged as an error naming the break (and checked again next round); a missing key raises AuditKeyMissing."""
    with engine.connect() as conn:
        done = anchor(conn)
    result = done.verification
    if not result.ok:
        log.error("audit trail broken, no checkpoint written: %s; %s", result.reason, result.vouching())
    elif done.written and done.checkpoint is not None:
        log.info("audit checkpoint %s written (entry %d)", done.checkpoint.file, done.checkpoint.seq)
    return done


def history(conn: Connection, *, record_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    query = sa.select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
    if record_id is not None:
        query = query.where(audit_log.c.record_id == record_id)
    return [dict(r._mapping) for r in conn.execute(query)]
