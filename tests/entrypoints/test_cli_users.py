"""`q2c users` and `q2c tokens`: the first admin made from the command line, a token printed once and kept only
as its hash, and what disabling, a new role and revoking do at the API's door. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from rich.console import Console
from test_cli import write_config
from typer.testing import CliRunner, Result

from q2c.entrypoints import cli, cli_support
from q2c.entrypoints.http_api import create_app
from q2c.store import users as user_store
from q2c.store.db import create_db_engine
from q2c.store.schema import audit_log
from q2c.store.users import api_tokens


@pytest.fixture(autouse=True)
def wide_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (cli, cli_support):
        monkeypatch.setattr(module, "console", Console(width=400, color_system=None))
        monkeypatch.setattr(module, "err", Console(width=400, color_system=None, stderr=True))


@pytest.fixture
def config(tmp_path: Path, db_url: str) -> Path:
    return write_config(tmp_path / "q2c.yaml", database=db_url)


def q2c(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli.app, [*args, "--config", str(config)], env={"Q2C_CONFIG": None, "USER": "root"})


def test_the_first_admin_and_their_token_from_the_command_line(config: Path, db_url: str) -> None:
    assert "q2c users add admin --role admin" in q2c(config, "users", "list").stdout
    added = q2c(config, "users", "add", "admin", "--role", "admin")
    assert added.exit_code == 0, added.output
    made = q2c(config, "tokens", "create", "admin", "--name", "laptop")
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert secret.startswith("q2c_") and "\n" not in secret  # stdout is the token alone, for a script to keep
    assert "shown only this once" in made.stderr

    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.select(api_tokens.c.token_hash)).scalar_one() == user_store.hash_token(secret)
            trail = conn.execute(sa.select(audit_log.c.actor, audit_log.c.action).order_by(audit_log.c.seq)).all()
        assert [tuple(t) for t in trail] == [("cli:root", "user_added"), ("cli:root", "token_created")]
        api = TestClient(create_app(engine, webhook_secret="s"), headers={"Authorization": f"Bearer {secret}"})
        assert api.get("/exceptions").status_code == 200

        listed = json.loads(q2c(config, "tokens", "list", "--json").stdout)
        assert [(t["id"], t["user"], t["name"], t["revoked_at"]) for t in listed] == [(1, "admin", "laptop", None)]
        assert listed[0]["last_used_at"] is not None and secret not in json.dumps(listed)
        users = json.loads(q2c(config, "users", "list", "--json").stdout)
        assert [(u["name"], u["role"], u["active"], u["live_tokens"]) for u in users] == [("admin", "admin", True, 1)]

        assert q2c(config, "users", "role", "admin", "viewer").exit_code == 0
        assert api.post("/exceptions/replay", json={"rule": "time.*"}).status_code == 403
        assert q2c(config, "users", "disable", "admin").exit_code == 0
        assert api.get("/exceptions").status_code == 401
        assert q2c(config, "users", "enable", "admin").exit_code == 0
        assert api.get("/exceptions").status_code == 200
        assert q2c(config, "tokens", "revoke", "1").exit_code == 0
        assert api.get("/exceptions").status_code == 401
        assert "revoked" in q2c(config, "tokens", "list").stdout
    finally:
        engine.dispose()


def test_bad_input_is_exit_2_naming_what_is_wrong(config: Path) -> None:
    assert q2c(config, "users", "add", "ana", "--role", "viewer").exit_code == 0
    cases = {
        ("users", "add", "ana", "--role", "viewer"): "user 'ana' already exists",
        ("users", "add", "bob", "--role", "owner"): "role 'owner' is not a role; allowed: viewer, operator, "
                                                   "controller, admin",
        ("users", "add", "q2c", "--role", "admin"): "user name 'q2c' is reserved",
        ("users", "add", "cli:bob", "--role", "admin"): "user name 'cli:bob'",
        ("users", "role", "nobody", "admin"): "user 'nobody' does not exist",
        ("users", "disable", "nobody"): "user 'nobody' does not exist",
        ("tokens", "create", "nobody"): "user 'nobody' does not exist",
        ("tokens", "revoke", "999"): "token 999 does not exist",
        ("tokens", "list", "--user", "nobody"): "user 'nobody' does not exist",
    }
    for args, message in cases.items():
        result = q2c(config, *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in " ".join(result.stderr.split()), (args, result.stderr)
    assert q2c(config, "users", "disable", "ana").exit_code == 0
    refused = q2c(config, "tokens", "create", "ana")
    assert refused.exit_code == 2 and "user 'ana' is disabled" in refused.stderr
