"""A database writer's tampering with the audit trail, made with direct SQL, and what `verify` names.

The trail under test has eight entries and two signed checkpoints (A after entry 2, B after entry 5), on
SQLite and on PostgreSQL. Each case edits the tables the way someone with database access but (unless said)
without the key would, and checks the kind of break, the first entry that can no longer be vouched for and
the last checkpoint the trail still matches.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from q2c.config import AuditSettings
from q2c.store import audit, audit_key
from q2c.store.audit_anchor import Checkpoint
from q2c.store.db import create_db_engine, migrate
from q2c.store.schema import audit_log

KEY = "6f1d0c3b9a8e7f60514233241506978a6f1d0c3b9a8e7f60514233241506978a"


def entries(first: int, n: int) -> list[audit.AuditEntry]:
    return [audit.AuditEntry(actor="q2c", system="netsuite", action="create", entity="timebill",
                             record_id=f"HV-{i}", correlation_id=f"c-{i}", after={"hours": "8.00"})
            for i in range(first, first + n)]


@dataclass
class Trail:
    engine: Engine
    folder: Path
    a: Checkpoint
    b: Checkpoint

    def verify(self) -> audit.Verification:
        with self.engine.connect() as conn:
            return audit.verify(conn)

    def sql(self, *statements: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement), params)


def anchored(engine: Engine) -> Checkpoint:
    with engine.connect() as conn:
        done = audit.anchor(conn)
    assert done.written and done.checkpoint is not None, done.verification
    return done.checkpoint


@pytest.fixture
def trail(db_url: str, tmp_path: Path) -> Iterator[Trail]:
    engine = create_db_engine(db_url)
    migrate(engine)
    (tmp_path / "audit.key").write_text(KEY + "\n")
    audit_key.bind(engine, AuditSettings(key_file=tmp_path / "audit.key", anchor_dir=tmp_path / "anchors"))
    with engine.begin() as conn:
        audit.append(conn, entries(1, 2))
    a = anchored(engine)
    with engine.begin() as conn:
        audit.append(conn, entries(3, 3))
    b = anchored(engine)
    with engine.begin() as conn:
        audit.append(conn, entries(6, 3))
    yield Trail(engine, tmp_path / "anchors", a, b)
    engine.dispose()


def test_an_untouched_trail_is_intact_and_vouched_for_up_to_the_newest_checkpoint(trail: Trail) -> None:
    result = trail.verify()
    assert result.ok and result.entries == 8 and result.keyed_from == 1
    assert result.last_good_checkpoint == trail.b and result.unanchored == 3
    assert (trail.a.seq, trail.b.seq) == (2, 5)


def rehash_from(conn: Connection, seq: int, digest: Any) -> None:
    """What a writer does to hide an edit: recompute every hash from `seq` on and move the head."""
    rows = conn.execute(sa.select(audit_log).where(audit_log.c.seq >= seq).order_by(audit_log.c.seq)).all()
    prev = conn.execute(sa.text("SELECT hash FROM audit_log WHERE seq = :seq"),
                        {"seq": seq - 1}).scalar_one_or_none() or audit.GENESIS
    for r in rows:
        new = digest(prev, r.seq, r.at, r)
        conn.execute(sa.text("UPDATE audit_log SET prev_hash = :prev, hash = :hash WHERE seq = :seq"),
                     {"prev": prev, "hash": new, "seq": r.seq})
        prev = new
    conn.execute(sa.text("UPDATE audit_head SET hash = :hash"), {"hash": prev})


def edit(t: Trail) -> None:
    t.sql("UPDATE audit_log SET actor = 'mallory' WHERE seq = 6")


def delete_from_the_middle(t: Trail) -> None:
    t.sql("DELETE FROM audit_log WHERE seq = 4")


def reorder(t: Trail) -> None:
    t.sql("UPDATE audit_log SET seq = -1 WHERE seq = 6", "UPDATE audit_log SET seq = 6 WHERE seq = 7",
          "UPDATE audit_log SET seq = 7 WHERE seq = -1")


def recompute_without_the_key(t: Trail) -> None:
    """Entry 3 changed, and the chain from it recomputed the only way a writer without the key can: plain SHA-256."""
    with t.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3"))
        rehash_from(conn, 3, audit._digest)


def recompute_under_a_guessed_key(t: Trail) -> None:
    with t.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3"))
        rehash_from(conn, 3, lambda *a: audit._keyed_digest(b"0" * 64, *a))


def truncate(t: Trail) -> None:
    t.sql("DELETE FROM audit_log WHERE seq > 3",
          "UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit_log WHERE seq = 3)")


def wipe(t: Trail) -> None:
    t.sql("DELETE FROM audit_log", "DELETE FROM audit_head")


def rewrite_with_the_key(t: Trail) -> None:
    """A writer who also holds the key: the chain is consistent again, only the checkpoint shows it."""
    key = KEY.encode()
    with t.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3"))
        rehash_from(conn, 3, lambda *a: audit._keyed_digest(key, *a))


# (tampering, problem named, first bad entry, last checkpoint still matching, entries verified before it)
CASES = {
    "edited": (edit, "edited", 6, "b", 5),
    "deleted": (delete_from_the_middle, "deleted", 4, "a", 3),
    "reordered": (reorder, "reordered", 6, "b", 5),
    "recomputed without the key": (recompute_without_the_key, "recomputed", 3, "a", 2),
    "recomputed under a guessed key": (recompute_under_a_guessed_key, "recomputed", 3, "a", 2),
    "truncated": (truncate, "truncated", 4, "a", 3),
    "wiped": (wipe, "wiped", 1, None, 0),
    "rewritten with the key": (rewrite_with_the_key, "rewritten", 3, "a", 2),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_tampering_is_named_with_its_first_bad_entry_and_last_good_checkpoint(trail: Trail, case: str) -> None:
    tamper, problem, first_bad, good, verified = CASES[case]
    tamper(trail)
    result = trail.verify()
    assert not result.ok
    assert (result.problem, result.first_bad_seq) == (problem, first_bad), result.findings
    assert result.last_good_checkpoint == (getattr(trail, good) if good else None)
    assert result.entries == verified
    assert f"from entry {first_bad} on" in result.vouching()


def test_the_messages_say_what_happened(trail: Trail) -> None:
    reorder(trail)
    assert trail.verify().reason == "entry 6 follows entry 7, not entry 5: entries were reordered"
    reorder(trail)  # swapped back: intact again
    assert trail.verify().ok
    recompute_without_the_key(trail)
    recomputed = trail.verify()
    assert recomputed.reason.startswith("entries 3 to 8 were recomputed without the key (with plain SHA-256, where "
                                        "the key was due)")
    assert [f.kind for f in recomputed.findings] == ["recomputed", "rewritten"]  # B no longer matches either
    assert recomputed.vouching() == ("cannot vouch for the trail from entry 3 on; the last checkpoint it still "
                                     f"matches is the one {trail.a.headline()}")


def test_a_wiped_trail_is_not_intact_even_once_new_entries_follow(trail: Trail) -> None:
    wipe(trail)
    assert trail.verify().reason == (f"the trail holds no entries, but the checkpoint {trail.b.headline()} vouches "
                                     "for 5: it was wiped")
    with trail.engine.begin() as conn:
        audit.append(conn, entries(1, 9))  # a fresh chain, longer than the old one
    result = trail.verify()
    assert (result.ok, result.problem, result.first_bad_seq) == (False, "rewritten", 1)


def test_a_moved_switch_over_point_is_caught_by_the_checkpoints(trail: Trail) -> None:
    """Claiming the whole trail predates the key, and recomputing it with plain SHA-256, is a keyless rewrite."""
    with trail.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_head SET keyed_from = NULL"))
        conn.execute(sa.text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1"))
        rehash_from(conn, 1, audit._digest)
    result = trail.verify()
    assert (result.problem, result.first_bad_seq, result.last_good_checkpoint) == ("recomputed", 1, None)
    assert any("switch-over" in f.message or f.kind == "rewritten" for f in result.findings)


def test_a_checkpoint_vouches_only_while_its_file_is_the_one_signed(trail: Trail) -> None:
    path = trail.folder / trail.b.file
    body = json.loads(path.read_text())
    path.write_text(json.dumps({**body, "seq": 4, "entries": 4}))
    result = trail.verify()
    assert (result.ok, result.problem, result.first_bad_seq) == (False, "checkpoint", None)
    assert result.reason == f"checkpoint file {trail.b.file} does not match its signature: it was altered or forged"
    assert result.last_good_checkpoint == trail.a


def test_another_key_says_so_instead_of_blaming_the_writer(trail: Trail, tmp_path: Path) -> None:
    other = tmp_path / "other.key"
    other.write_text("f" * 64)
    audit_key.bind(trail.engine, AuditSettings(key_file=other, anchor_dir=trail.folder))
    result = trail.verify()
    assert (result.problem, result.first_bad_seq) == ("recomputed", 1)
    assert f"or key file {other} is not the key the trail was written with" in result.reason
    assert all("is signed with another key" in f.message for f in result.findings if f.kind == "checkpoint")
    assert len([f for f in result.findings if f.kind == "checkpoint"]) == 2


LEGACY_AT = datetime(2026, 11, 30, 17, 45, 12, 250000, tzinfo=UTC)


def legacy_rows(conn: Connection, n: int) -> str:
    """Entries as q2c wrote them before the trail had a key: SHA-256 over the previous hash and the entry."""
    prev = "0" * 64
    for seq in range(1, n + 1):
        body = json.dumps([seq, LEGACY_AT.isoformat(), "q2c", "netsuite", "create", "timebill", f"HV-{seq}", "c", None,
                           {"hours": "1.50"}], sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256((prev + body).encode()).hexdigest()
        conn.execute(audit_log.insert().values(seq=seq, at=LEGACY_AT, actor="q2c", system="netsuite", action="create",
                                               entity="timebill", record_id=f"HV-{seq}", correlation_id="c",
                                               before=None, after={"hours": "1.50"}, prev_hash=prev, hash=digest))
        prev = digest
    return prev


@pytest.fixture
def legacy_db(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        head = legacy_rows(conn, 3)
        conn.execute(sa.text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 3, :hash)"), {"hash": head})
    (tmp_path / "audit.key").write_text(KEY)
    audit_key.bind(engine, AuditSettings(key_file=tmp_path / "audit.key", anchor_dir=tmp_path / "anchors"))
    yield engine
    engine.dispose()


def test_legacy_sha256_entries_still_verify_and_the_key_takes_over_after_them(legacy_db: Engine) -> None:
    with legacy_db.connect() as conn:
        before = audit.verify(conn)
    assert before.ok and before.entries == 3 and before.keyed_from is None
    with legacy_db.begin() as conn:
        audit.append(conn, entries(4, 2))
    with legacy_db.connect() as conn:
        after = audit.verify(conn)
        anchored_at = audit.anchor(conn).checkpoint
    assert after.ok and after.entries == 5 and after.keyed_from == 4
    assert "entries 1 to 3 were written before the trail had a key (plain SHA-256)" in after.notes
    assert anchored_at is not None and anchored_at.keyed_from == 4
    with legacy_db.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET record_id = 'HV-99' WHERE seq = 2"))
    with legacy_db.connect() as conn:
        broken = audit.verify(conn)
    assert (broken.problem, broken.first_bad_seq, broken.last_good_checkpoint) == ("edited", 2, None)


def test_a_trail_written_before_the_upgrade_verifies_after_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real path: a database at revision 0004 (no `keyed_from`), its SHA-256 rows, then `migrate`."""
    from alembic import command

    monkeypatch.delenv(audit_key.DEFAULT_KEY_ENV, raising=False)  # the key made beside the file, then

    from q2c.store.db import alembic_config

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    command.upgrade(alembic_config(url), "0004")
    engine = create_db_engine(url)
    with engine.begin() as conn:
        head = legacy_rows(conn, 4)
        conn.execute(sa.text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 4, :hash)"), {"hash": head})
    migrate(engine)
    with engine.begin() as conn:
        audit.append(conn, entries(5, 1))
    with engine.connect() as conn:
        result = audit.verify(conn)
    engine.dispose()
    assert result.ok and result.entries == 5 and result.keyed_from == 5
    assert (tmp_path / "old.sqlite.audit-key").exists()
