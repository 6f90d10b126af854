"""Where the audit key comes from: the config's file or variable, `$Q2C_AUDIT_KEY`, the file made beside a SQLite
database, or (on PostgreSQL without one) nowhere, with the plain SHA-256 chain and a refusal to serve."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from q2c.config import AuditSettings
from q2c.store import audit, audit_key
from q2c.store.audit_key import AuditKeyMissing
from q2c.store.db import create_db_engine, migrate
from q2c.store.schema import audit_head

KEY = "3c9e1f0a7b2d4e6f8091a2b3c4d5e6f7" * 2


def one(first: int = 1) -> list[audit.AuditEntry]:
    return [audit.AuditEntry("q2c", "netsuite", "create", "timebill", f"HV-{first}", "c", after={"hours": "2.00"})]


@pytest.fixture(autouse=True)
def no_key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(audit_key.DEFAULT_KEY_ENV, raising=False)


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    migrate(engine)
    yield engine
    engine.dispose()


def keyed_from(engine: Engine) -> int | None:
    with engine.connect() as conn:
        found = conn.execute(sa.select(audit_head.c.keyed_from)).scalar_one()
    return None if found is None else int(found)


def test_a_sqlite_hub_makes_its_key_file_beside_the_database_on_first_use(sqlite_file: Engine, tmp_path: Path) -> None:
    key_file = tmp_path / "hub.sqlite.audit-key"
    with sqlite_file.connect() as conn:
        assert audit.verify(conn).ok  # reading makes nothing
    assert not key_file.exists()
    with sqlite_file.begin() as conn:
        audit.append(conn, one())
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) == 64
    assert keyed_from(sqlite_file) == 1
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    again = create_db_engine(f"sqlite:///{tmp_path / 'hub.sqlite'}")  # another process: the same key, from the file
    with again.begin() as conn:
        audit.append(conn, one(2))
    with again.connect() as conn:
        result = audit.verify(conn)
    again.dispose()
    assert result.ok and result.entries == 2 and result.keyed_from == 1


def test_a_keyed_trail_whose_key_file_went_missing_is_not_started_over_under_a_new_key(
        sqlite_file: Engine, tmp_path: Path) -> None:
    with sqlite_file.begin() as conn:
        audit.append(conn, one())
    (tmp_path / "hub.sqlite.audit-key").unlink()
    fresh = create_db_engine(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    with pytest.raises(AuditKeyMissing, match=r"keyed from entry 1|under a key from entry 1") as raised, \
            fresh.begin() as conn:
        audit.append(conn, one(2))
    assert "audit.key_file" in str(raised.value) and "audit.key_env" in str(raised.value)
    with pytest.raises(AuditKeyMissing), fresh.connect() as conn:
        audit.verify(conn)
    fresh.dispose()
    assert not (tmp_path / "hub.sqlite.audit-key").exists()


def test_the_environment_key_wins_over_the_file_beside_the_database(
        sqlite_file: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(audit_key.DEFAULT_KEY_ENV, KEY)
    with sqlite_file.begin() as conn:
        audit.append(conn, one())
    assert not (tmp_path / "hub.sqlite.audit-key").exists()
    monkeypatch.delenv(audit_key.DEFAULT_KEY_ENV)
    other = create_db_engine(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    audit_key.bind(other, AuditSettings(key_env="Q2C_TEST_AUDIT_KEY"))
    monkeypatch.setenv("Q2C_TEST_AUDIT_KEY", KEY)
    with other.connect() as conn:
        assert audit.verify(conn).ok  # the same key under another variable's name
    other.dispose()


@pytest.mark.parametrize(("settings", "message"), [
    ({"key_file": "missing.key"}, r"audit\.key_file: .*missing\.key does not exist; create it with `openssl rand"),
    ({"key_env": "Q2C_TEST_UNSET_AUDIT_KEY"}, r"audit\.key_env: \$Q2C_TEST_UNSET_AUDIT_KEY is not set"),
    ({"key_file": "short.key"}, r"audit\.key_file: key file .*short\.key holds 5 characters; an audit key needs at "
                                r"least 32"),
], ids=["missing file", "unset variable", "short key"])
def test_a_configured_key_that_is_not_there_is_an_error_naming_the_key(
        sqlite_file: Engine, tmp_path: Path, settings: dict[str, str], message: str) -> None:
    (tmp_path / "short.key").write_text("short\n")
    resolved = {k: (tmp_path / v if k == "key_file" else v) for k, v in settings.items()}
    audit_key.bind(sqlite_file, AuditSettings.model_validate(resolved))
    with pytest.raises(AuditKeyMissing, match=message), sqlite_file.begin() as conn:
        audit.append(conn, one())
    assert not (tmp_path / "hub.sqlite.audit-key").exists()  # a configured key is never replaced by the default


@pytest.mark.postgres
def test_postgresql_without_a_key_keeps_the_plain_chain_and_refuses_to_serve(pg_url: str, tmp_path: Path) -> None:
    engine = create_db_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE audit_log, audit_head"))
        audit.append(conn, one())
    with engine.connect() as conn:
        result = audit.verify(conn)
        assert result.ok and result.keyed_from is None
        assert result.notes[0].startswith("the trail has no key yet: its 1 entries are plain SHA-256")
        with pytest.raises(AuditKeyMissing, match=r"q2c serve chains the audit trail under a key.*no key: set "
                                                  r"audit\.key_file .* or audit\.key_env"):
            audit.require_key(conn)
        with pytest.raises(AuditKeyMissing, match="a checkpoint is signed with the audit key"):
            audit.anchor(conn)
    (tmp_path / "audit.key").write_text(KEY)
    audit_key.bind(engine, AuditSettings(key_file=tmp_path / "audit.key", anchor_dir=tmp_path / "anchors"))
    with engine.begin() as conn:
        audit.require_key(conn)
        audit.append(conn, one(2))  # from here on under the key
    with engine.connect() as conn:
        keyed = audit.verify(conn)
    assert keyed.ok and keyed.keyed_from == 2
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE audit_log, audit_head"))
    engine.dispose()
