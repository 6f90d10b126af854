"""`q2c audit anchor` and `q2c audit verify` through the command line: checkpoints written, tampering caught with
exit 3, a missing key or a bad `audit:` section with exit 2; the close's and the server's audit steps; and
`GET /audit/verify` answering in the same shape as `--json`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy.engine import Engine
from test_cli import write_config
from typer.testing import CliRunner, Result

from q2c.config import load_config
from q2c.entrypoints import cli, cli_support
from q2c.entrypoints.http_api import create_app
from q2c.entrypoints.wiring import build_hub
from q2c.store import audit, audit_key
from q2c.store.db import create_db_engine, migrate
from support.api_auth import bearer

KEY = "0b7c2d9e4f1a6b3c8d5e2f9a0b7c4d1e" * 2
AUDIT_SECTION = "\naudit:\n  key_file: audit.key\n  anchor_dir: anchors\n"


@pytest.fixture(autouse=True)
def wide_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (cli, cli_support):
        monkeypatch.setattr(module, "console", Console(width=400, color_system=None))
        monkeypatch.setattr(module, "err", Console(width=400, color_system=None, stderr=True))
    monkeypatch.delenv(audit_key.DEFAULT_KEY_ENV, raising=False)


def q2c(*args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args), env={"Q2C_CONFIG": None})


def with_audit(path: Path, section: str = AUDIT_SECTION) -> Path:
    path.write_text(path.read_text() + section)
    (path.parent / "audit.key").write_text(KEY + "\n")
    return path


@pytest.fixture
def keyed(tmp_path: Path, db_url: str) -> Iterator[tuple[Path, Engine]]:
    """A config with its `audit:` section, and the hub database bound to it as the hub binds it."""
    path = with_audit(write_config(tmp_path / "q2c.yaml", database=db_url))
    engine = create_db_engine(db_url)
    migrate(engine)
    audit_key.bind(engine, load_config(path).audit)
    yield path, engine
    engine.dispose()


def add(engine: Engine, n: int) -> None:
    with engine.begin() as conn:
        audit.append(conn, [audit.AuditEntry("q2c", "netsuite", "create", "invoice", f"INV-{i}", "close")
                            for i in range(n)])


def test_anchor_then_verify_then_a_cut_tail_exits_3_naming_the_checkpoint(keyed: tuple[Path, Engine]) -> None:
    path, engine = keyed
    add(engine, 2)
    first = q2c("audit", "anchor", "-c", str(path))
    assert first.exit_code == 0, first.output
    assert f"audit checkpoint written: {path.parent / 'anchors'}/checkpoint-" in first.stdout
    assert "(entry 2)" in first.stdout
    add(engine, 3)
    assert q2c("audit", "anchor", "-c", str(path)).exit_code == 0
    again = q2c("audit", "anchor", "-c", str(path))
    assert again.exit_code == 0 and "already vouches for entry 5; nothing new to anchor" in again.stdout
    intact = q2c("audit", "verify", "-c", str(path))
    assert intact.exit_code == 0, intact.output
    assert "audit chain intact: 5 entries, keyed from entry 1" in intact.stdout
    assert "last checkpoint: the one of " in intact.stdout and "(entry 5, checkpoint-" in intact.stdout

    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq > 3"))
        conn.execute(sa.text("UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit_log WHERE seq = 3)"))
    broken = q2c("audit", "verify", "-c", str(path))
    assert broken.exit_code == 3
    assert "audit chain broken at entry 4: the trail ends at entry 3, but the checkpoint of " in broken.stderr
    assert "vouches for 5 entries: its tail was cut (3 entries verified before it)" in broken.stderr
    assert "cannot vouch for the trail from entry 4 on; the last checkpoint it still matches is the one of " \
           in broken.stderr and "(entry 2, checkpoint-" in broken.stderr
    as_data = q2c("audit", "verify", "-c", str(path), "--json")
    assert as_data.exit_code == 3
    body = json.loads(as_data.stdout)
    assert (body["ok"], body["problem"], body["first_bad_seq"], body["entries"]) == (False, "truncated", 4, 3)
    assert body["last_good_checkpoint"]["seq"] == 2 and body["latest_checkpoint"]["seq"] == 5
    refused = q2c("audit", "anchor", "-c", str(path))
    assert refused.exit_code == 3 and "no checkpoint written" in refused.stderr
    assert len(list((path.parent / "anchors").iterdir())) == 2


def test_a_wiped_trail_exits_3_although_it_holds_nothing(keyed: tuple[Path, Engine]) -> None:
    path, engine = keyed
    add(engine, 4)
    assert q2c("audit", "anchor", "-c", str(path)).exit_code == 0
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log"))
        conn.execute(sa.text("DELETE FROM audit_head"))
    wiped = q2c("audit", "verify", "-c", str(path))
    assert wiped.exit_code == 3
    assert "audit chain broken at entry 1: the trail holds no entries, but the checkpoint of " in wiped.stderr
    assert "vouches for 4: it was wiped (0 entries verified before it)" in wiped.stderr
    assert "no checkpoint still matches it" in wiped.stderr


def test_the_http_answer_is_the_json_the_command_prints(keyed: tuple[Path, Engine]) -> None:
    path, engine = keyed
    add(engine, 3)
    assert q2c("audit", "anchor", "-c", str(path)).exit_code == 0
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET seq = 9 WHERE seq = 2"))
    printed = json.loads(q2c("audit", "verify", "-c", str(path), "--json").stdout)
    with TestClient(create_app(engine, webhook_secret="s"), headers=bearer(engine)) as client:
        answered = client.get("/audit/verify")
    assert answered.status_code == 200
    assert answered.json() == printed
    assert (printed["problem"], printed["first_bad_seq"], printed["last_good_checkpoint"]) == ("deleted", 2, None)


@pytest.mark.postgres
def test_postgresql_without_a_key_verifies_the_plain_chain_but_neither_anchors_nor_serves(
        tmp_path: Path, pg_url: str) -> None:
    path = write_config(tmp_path / "q2c.yaml", database=pg_url)
    engine = create_db_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE audit_log, audit_head"))
    add(engine, 2)
    plain = q2c("audit", "verify", "-c", str(path))
    assert plain.exit_code == 0 and "audit chain intact: 2 entries" in plain.stdout
    assert "note: the trail has no key yet" in plain.stdout
    refused = q2c("audit", "anchor", "-c", str(path))
    assert refused.exit_code == 2
    assert refused.stderr.startswith("config error audit: a checkpoint is signed with the audit key, but this process "
                                     "has no key: set audit.key_file")
    hub = build_hub(load_config(path), engine=engine)
    with pytest.raises(typer.Exit) as stopped:
        cli._require_audit_key(hub)
    assert stopped.value.exit_code == 2
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE audit_log, audit_head"))
    engine.dispose()


def test_the_close_anchors_the_trail_and_says_when_it_no_longer_holds(keyed: tuple[Path, Engine]) -> None:
    path, engine = keyed
    hub = build_hub(load_config(path), engine=engine)
    cli._require_audit_key(hub)  # the key file is there: the server may start
    add(engine, 3)
    assert cli._anchor_after_close(hub) is True
    (written,) = (path.parent / "anchors").iterdir()
    assert written.name.endswith("-3.json")
    add(engine, 2)
    with engine.begin() as conn:  # after the checkpoint: what the next anchoring checks before it signs
        conn.execute(sa.text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 4"))
    assert cli._anchor_after_close(hub) is False
    assert [p.name for p in (path.parent / "anchors").iterdir()] == [written.name]


@pytest.mark.parametrize(("section", "fragments"), [
    ("\naudit:\n  key_env: Q2C_AUDIT_KEY\n  key_file: audit.key\n",
     ["audit.key_env: and audit.key_file both name the key; keep one"]),
    ("\naudit:\n  key_env: 5f2a9c0e7b3d1f4a6c8e0b2d4f6a8c0e\n",
     ["audit.key_env: looks like a key itself; name the environment variable"]),
    ("\naudit:\n  anchor_every_seconds: -5\n", ["audit.anchor_every_seconds", "greater than or equal to 0"]),
], ids=["two key sources", "the key itself", "negative schedule"])
def test_a_bad_audit_section_exits_2_naming_the_key(tmp_path: Path, section: str, fragments: list[str]) -> None:
    path = with_audit(write_config(tmp_path / "q2c.yaml", database=f"sqlite:///{tmp_path / 'hub.sqlite'}"), section)
    result = q2c("audit", "verify", "-c", str(path))
    assert result.exit_code == 2, result.output
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_a_sqlite_hub_with_no_audit_section_anchors_beside_its_database(tmp_path: Path) -> None:
    path = write_config(tmp_path / "q2c.yaml", database=f"sqlite:///{tmp_path / 'hub.sqlite'}")
    engine = create_db_engine(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    migrate(engine)
    add(engine, 1)
    engine.dispose()
    done = q2c("audit", "anchor", "-c", str(path))
    assert done.exit_code == 0, done.output
    assert (tmp_path / "hub.sqlite.audit-key").exists()
    assert len(list((tmp_path / "hub.sqlite.audit-anchors").iterdir())) == 1
    assert q2c("audit", "verify", "-c", str(path)).exit_code == 0
