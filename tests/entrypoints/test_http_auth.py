"""Bearer tokens at the API's door: who is let in, who is turned away and with what answer, what a token's use
records, and that an app with a route stating no role cannot be built. On SQLite and PostgreSQL (`db`)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from q2c.entrypoints.http_api import create_app
from q2c.store import users as user_store
from q2c.store.db import now
from q2c.store.users import Role, api_tokens


def _user(db: Engine, name: str, role: Role, **token: object) -> tuple[int, str]:
    with db.begin() as conn:
        user_store.add_user(conn, name, role, actor="cli:root")
        made, secret = user_store.create_token(conn, name, name="laptop", actor="cli:root", **token)  # type: ignore[arg-type]
    return made.id, secret


def _as(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def client(db: Engine) -> TestClient:
    return TestClient(create_app(db, webhook_secret="s"))


def _refused(response: object, fragment: str) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    error = response.json()["error"]
    assert error["status"] == 401 and error["code"] == "unauthorized" and fragment in error["message"]


def test_no_token_or_another_scheme_is_401_with_the_challenge(client: TestClient) -> None:
    _refused(client.get("/exceptions"), "needs a bearer token")
    _refused(client.get("/exceptions", headers={"Authorization": "Basic YWRtaW46YWRtaW4="}), "needs a bearer token")
    _refused(client.get("/exceptions", headers={"Authorization": "Bearer"}), "needs a bearer token")
    assert client.get("/exceptions").headers["www-authenticate"] == "Bearer"


def test_an_unknown_token_is_401(client: TestClient, db: Engine) -> None:
    _user(db, "ana", Role.VIEWER)
    unknown = client.get("/exceptions", headers=_as(user_store.new_token()))
    _refused(unknown, "the bearer token is not known")
    assert unknown.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_a_revoked_token_is_401_at_once_and_the_users_other_tokens_still_work(client: TestClient, db: Engine) -> None:
    token_id, secret = _user(db, "ana", Role.VIEWER)
    with db.begin() as conn:
        _, other = user_store.create_token(conn, "ana", name="ci", actor="cli:root")
    assert client.get("/exceptions", headers=_as(secret)).status_code == 200
    with db.begin() as conn:
        user_store.revoke_token(conn, token_id, actor="cli:root")
    _refused(client.get("/exceptions", headers=_as(secret)), "the bearer token has been revoked")
    assert client.get("/exceptions", headers=_as(other)).status_code == 200


def test_a_disabled_user_is_401_until_enabled_again(client: TestClient, db: Engine) -> None:
    _, secret = _user(db, "ana", Role.OPERATOR)
    with db.begin() as conn:
        user_store.set_active(conn, "ana", False, actor="cli:root")
    _refused(client.get("/exceptions", headers=_as(secret)), "user ana is disabled")
    with db.begin() as conn:
        user_store.set_active(conn, "ana", True, actor="cli:root")
    assert client.get("/exceptions", headers=_as(secret)).status_code == 200


def test_an_expired_token_is_401(client: TestClient, db: Engine) -> None:
    _, secret = _user(db, "ana", Role.VIEWER, expires_at=now() - timedelta(seconds=1))
    _refused(client.get("/exceptions", headers=_as(secret)), "the bearer token has expired")


def test_a_role_change_counts_from_the_next_call(client: TestClient, db: Engine) -> None:
    _, secret = _user(db, "ana", Role.OPERATOR)
    assert client.post("/exceptions/999999/replay", headers=_as(secret)).status_code == 404
    with db.begin() as conn:
        user_store.set_role(conn, "ana", Role.VIEWER, actor="cli:root")
    refused = client.post("/exceptions/999999/replay", headers=_as(secret))
    assert refused.status_code == 403
    assert refused.json()["error"] == {"status": 403, "code": "forbidden", "field": None,
                                       "message": "this needs the operator role (or one above it); ana is viewer"}


def test_a_use_is_recorded_to_the_minute_without_a_write_on_every_call(client: TestClient, db: Engine) -> None:
    token_id, secret = _user(db, "ana", Role.VIEWER)

    def last_used() -> object:
        with db.connect() as conn:
            return conn.execute(sa.select(api_tokens.c.last_used_at).where(api_tokens.c.id == token_id)).scalar()

    assert last_used() is None
    client.get("/exceptions", headers=_as(secret))
    first = last_used()
    assert first is not None
    client.get("/exceptions", headers=_as(secret))
    assert last_used() == first  # under a minute later: not written again
    with db.begin() as conn:
        conn.execute(api_tokens.update().values(last_used_at=now() - timedelta(minutes=2)))
    client.get("/exceptions", headers=_as(secret))
    assert last_used() != first


def test_the_token_is_kept_only_as_its_hash(db: Engine) -> None:
    token_id, secret = _user(db, "ana", Role.VIEWER)
    assert secret.startswith("q2c_") and len(secret) >= 40
    with db.connect() as conn:
        row = conn.execute(sa.select(api_tokens).where(api_tokens.c.id == token_id)).one()
        kept = user_store.get_token(conn, token_id)
    assert secret not in [str(v) for v in row]
    assert row.token_hash == user_store.hash_token(secret)
    assert kept is not None and kept.created_at.tzinfo is not None and kept.user_name == "ana"


def test_the_open_routes_take_no_token(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200
    assert client.post("/webhooks/salesforce/opportunity-won", content=b"{}").json()["error"]["message"] \
        .startswith("missing X-Q2C-Timestamp")  # its own signature check, not a token


def test_an_app_with_a_route_that_states_no_role_is_not_built(db: Engine) -> None:
    router = APIRouter()

    @router.get("/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="route GET /forgotten states no role"):
        create_app(db, webhook_secret="s", routers=[router])


def test_start_up_says_how_to_make_the_first_admin(db: Engine, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="q2c.api"), TestClient(create_app(db, webhook_secret="s")):
        pass
    assert "q2c users add admin --role admin && q2c tokens create admin" in caplog.text
    caplog.clear()
    _user(db, "root", Role.ADMIN)
    with caplog.at_level(logging.WARNING, logger="q2c.api"), TestClient(create_app(db, webhook_secret="s")):
        pass
    assert "first admin" not in caplog.text and "no active admin" not in caplog.text


def test_replay_records_the_callers_name(client: TestClient, db: Engine) -> None:
    from q2c.domain.violations import Violation
    from q2c.store.exceptions import raise_exception
    from q2c.store.schema import audit_log

    violation = Violation(system="harvest", object="time_entry", record_id="HV-1", field="task", rule="time.task",
                          message="no task", action="Fix it")
    with db.begin() as conn:
        exception_id = raise_exception(conn, violation, work_kind="time.deliver", aggregate="project:P-1",
                                       correlation_id="c", payload={"entry_ids": [1]})
    _, secret = _user(db, "ops.lead@firm.example", Role.OPERATOR)
    assert client.post(f"/exceptions/{exception_id}/replay", headers=_as(secret)).status_code == 200
    with db.connect() as conn:
        actors = conn.execute(sa.select(audit_log.c.actor).where(audit_log.c.action == "replay")).scalars().all()
    assert actors == ["ops.lead@firm.example"]
