"""Checkpoints on disk: one signed file per anchoring, named by time, written whole or not at all, the newest
few kept, and never one for a trail that does not hold."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from q2c.config import AuditSettings
from q2c.store import audit, audit_anchor, audit_key
from q2c.store.db import create_db_engine, migrate

KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f90" * 2


def add(engine: Engine, n: int) -> None:
    with engine.begin() as conn:
        audit.append(conn, [audit.AuditEntry("q2c", "harvest", "read", "time_entry", f"HV-{i}", "c")
                            for i in range(n)])


def anchor(engine: Engine) -> audit.Anchoring:
    with engine.connect() as conn:
        return audit.anchor(conn)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    migrate(engine)
    (tmp_path / "audit.key").write_text(KEY)
    audit_key.bind(engine, AuditSettings(key_file=tmp_path / "audit.key", anchor_dir=tmp_path / "anchors",
                                         checkpoints_kept=2))
    yield engine
    engine.dispose()


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_checkpoint_is_a_signed_file_named_by_its_time(hub: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "anchors"
    assert anchor(hub).checkpoint is None and files(folder) == []  # an empty trail: nothing to vouch for
    add(hub, 3)
    done = anchor(hub)
    assert done.written and done.checkpoint is not None
    (name,) = files(folder)
    assert name == done.checkpoint.file and re.fullmatch(r"checkpoint-\d{8}T\d{6}\.\d{6}Z-3\.json", name)
    body = json.loads((folder / name).read_text())
    assert {k: body[k] for k in ("seq", "entries", "keyed_from")} == {"seq": 3, "entries": 3, "keyed_from": 1}
    with hub.connect() as conn:
        assert body["hash"] == conn.execute(sa.text("SELECT hash FROM audit_log WHERE seq = 3")).scalar_one()
    assert body["key_id"] == audit_anchor.key_id(KEY.encode()) and len(body["signature"]) == 64
    assert KEY not in (folder / name).read_text()
    unchanged = anchor(hub)
    assert not unchanged.written and unchanged.checkpoint == done.checkpoint and files(folder) == [name]


def test_only_the_newest_checkpoints_are_kept(hub: Engine, tmp_path: Path) -> None:
    written = []
    for _ in range(4):
        add(hub, 1)
        done = anchor(hub)
        assert done.checkpoint is not None
        written.append(done.checkpoint.file)
    assert files(tmp_path / "anchors") == written[-2:]
    with hub.connect() as conn:
        result = audit.verify(conn)
    assert result.ok and result.last_good_checkpoint is not None and result.last_good_checkpoint.seq == 4


def test_a_checkpoint_that_fails_to_land_leaves_no_half_file(hub: Engine, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    add(hub, 2)
    first = anchor(hub).checkpoint
    assert first is not None
    add(hub, 2)

    def disk_full(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)  # the rename that puts a checkpoint in place
    with pytest.raises(OSError, match="No space left"):
        anchor(hub)
    assert files(tmp_path / "anchors") == [first.file]  # the temp file is gone, the earlier checkpoint intact
    monkeypatch.undo()
    with hub.connect() as conn:
        assert audit.verify(conn).last_good_checkpoint == first


def test_a_trail_that_does_not_hold_is_never_vouched_for(hub: Engine, tmp_path: Path) -> None:
    add(hub, 3)
    first = anchor(hub).checkpoint
    add(hub, 2)
    with hub.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET record_id = 'HV-X' WHERE seq = 4"))
    refused = anchor(hub)
    assert not refused.written and not refused.verification.ok
    assert (refused.verification.problem, refused.verification.first_bad_seq) == ("edited", 4)
    assert refused.verification.last_good_checkpoint == first
    assert first is not None and files(tmp_path / "anchors") == [first.file]


def test_an_in_memory_hub_has_no_default_checkpoint_folder() -> None:
    engine = create_db_engine("sqlite://")
    migrate(engine)
    add(engine, 1)
    with pytest.raises(audit_key.AuditKeyMissing, match=r"set audit\.anchor_dir"), engine.connect() as conn:
        audit.anchor(conn)
    with engine.connect() as conn:
        assert audit.verify(conn).ok  # chained under the engine's own key
    engine.dispose()


def test_the_scheduled_round_logs_what_it_did_and_a_break_as_an_error(hub: Engine, tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    add(hub, 2)
    with caplog.at_level("INFO", logger="q2c.audit"):
        done = audit.anchor_scheduled(hub)
    assert done.written and done.checkpoint is not None
    assert f"audit checkpoint {done.checkpoint.file} written (entry 2)" in caplog.text
    add(hub, 1)
    with hub.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq = 3"))
    caplog.clear()
    with caplog.at_level("INFO", logger="q2c.audit"):
        refused = audit.anchor_scheduled(hub)
    assert not refused.written
    (record,) = caplog.records
    assert record.levelname == "ERROR"
    assert record.getMessage().startswith("audit trail broken, no checkpoint written: the chain was cut short")
    assert "cannot vouch for the trail from entry 3 on; the last checkpoint it still matches is the one of" \
           in record.getMessage()
