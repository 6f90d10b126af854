"""Console sessions in the store and at the door, on SQLite and PostgreSQL: an idle session ends, a used one lives
on, signing out deletes it, it is refused with its token or user; the cookie's flags; the forms' CSRF tokens.

These run in-process (Starlette's test client); tests/console/test_console_browser.py drives a real browser.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from q2c.entrypoints.http_api import create_app
from q2c.store import audit
from q2c.store import sessions as session_store
from q2c.store import users as user_store
from q2c.store.db import now
from q2c.store.sessions import console_sessions
from q2c.store.users import Caller, Role
from support.api_auth import make_caller


def _caller(engine: Engine, token: str) -> Caller:
    with engine.connect() as conn:
        caller = user_store.identify(conn, token).caller
    assert caller is not None
    return caller


def test_an_idle_session_ends_and_a_used_one_lives_on(db: Engine) -> None:
    _, token = make_caller(db, Role.VIEWER, "ida")
    start = now()
    idle = timedelta(hours=8)
    caller = _caller(db, token)
    with db.begin() as conn:
        opened = session_store.open_session(conn, caller, idle=idle, at=start)
    with db.connect() as conn:
        found = session_store.find(conn, opened.session_id, at=start + timedelta(hours=7))
        assert found.caller is not None and found.caller.name == "ida" and found.csrf_token == opened.csrf_token
        assert found.row_id is not None
        late = session_store.find(conn, opened.session_id, at=start + timedelta(hours=8, seconds=1))
        assert late.caller is None and late.refused == "the session has ended: it was idle too long"
        stored = conn.execute(sa.select(console_sessions)).one()
        assert stored.session_hash != opened.session_id and opened.session_id not in stored.session_hash
    with db.begin() as conn:
        session_store.touch(conn, found.row_id, idle=idle, at=start + timedelta(hours=7))
    with db.connect() as conn:
        assert session_store.find(conn, opened.session_id, at=start + timedelta(hours=14)).caller is not None
        assert session_store.find(conn, opened.session_id, at=start + timedelta(hours=15, seconds=1)).caller is None
    with db.begin() as conn:  # signing in again clears the sessions that have ended
        session_store.open_session(conn, caller, idle=idle, at=start + timedelta(hours=16))
        assert conn.execute(sa.select(sa.func.count()).select_from(console_sessions)).scalar_one() == 1


def test_a_session_is_refused_with_its_token_or_user_and_signing_out_deletes_it(db: Engine) -> None:
    _, token = make_caller(db, Role.OPERATOR, "uma")
    caller = _caller(db, token)
    with db.begin() as conn:
        kept = session_store.open_session(conn, caller)
        other = session_store.open_session(conn, caller)
    with db.begin() as conn:
        user_store.set_active(conn, "uma", False, actor="cli:test")
    with db.connect() as conn:
        assert session_store.find(conn, kept.session_id).refused == "user uma is disabled"
    with db.begin() as conn:
        user_store.set_active(conn, "uma", True, actor="cli:test")
        assert session_store.find(conn, kept.session_id).caller is not None
        user_store.revoke_token(conn, caller.token_id, actor="cli:test")
        assert session_store.find(conn, kept.session_id).refused == \
            "the token this session was signed in with has been revoked"
        assert session_store.close(conn, other.session_id, caller) is True
        assert session_store.close(conn, other.session_id, caller) is False
        trail = [(e["actor"], e["action"], e["entity"]) for e in audit.history(conn, limit=20)
                 if e["entity"] == "console_session"]
        assert trail == [("uma", "signed_out", "console_session")] + [("uma", "signed_in", "console_session")] * 2
        assert session_store.find(conn, other.session_id).refused == \
            "the session is not known (signed out, or never signed in)"


@pytest.fixture
def client(db: Engine) -> TestClient:
    return TestClient(create_app(db, webhook_secret="s"), base_url="https://q2c.example")


def _sign_in(client: TestClient, token: str) -> None:
    page = client.get("/console/login")
    login_token = page.cookies["q2c_console_login"]
    assert f'value="{login_token}"' in page.text
    answer = client.post("/console/login", data={"csrf": login_token, "token": token}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/"


def test_the_session_cookie_is_httponly_strict_and_secure_over_https(db: Engine, client: TestClient) -> None:
    _, token = make_caller(db, Role.VIEWER, "sam")
    page = client.get("/console/login")
    login_token = page.cookies["q2c_console_login"]
    answer = client.post("/console/login", data={"csrf": login_token, "token": token}, follow_redirects=False)
    (cookie,) = [c for c in answer.headers.get_list("set-cookie") if c.startswith("q2c_console=")]
    assert token not in cookie
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite=strict", "path=/console"} <= flags
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    plain = TestClient(create_app(db, webhook_secret="s"))  # over http the cookie cannot be Secure
    page = plain.get("/console/login")
    answer = plain.post("/console/login", data={"csrf": page.cookies["q2c_console_login"], "token": token},
                        follow_redirects=False)
    (cookie,) = [c for c in answer.headers.get_list("set-cookie") if c.startswith("q2c_console=")]
    assert "secure" not in {p.strip().lower() for p in cookie.split(";")}


def test_the_sign_in_form_needs_its_own_csrf_token(db: Engine, client: TestClient) -> None:
    _, token = make_caller(db, Role.VIEWER, "tia")
    answer = client.post("/console/login", data={"token": token}, follow_redirects=False)
    assert answer.status_code == 403 and "CSRF token" in answer.text
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(console_sessions)).scalar_one() == 0


def test_pages_without_a_session_send_the_browser_to_sign_in(db: Engine, client: TestClient) -> None:
    filtered = ("/console/exceptions?status=open&rule=time.*", "/console/exceptions%3Fstatus%3Dopen%26rule%3Dtime.%2A")
    for path, back in [("/console/", "/console/"), ("/console/exceptions/1", "/console/exceptions/1"), filtered]:
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/login?next=" + back
        assert f'name="next" value="{path.replace("&", "&amp;")}"' in client.get(answer.headers["location"]).text
    answer = client.post("/console/exceptions/1/resolve", data={"reason": "x"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    assert client.get("/console/login?next=https://evil.example/").text.count("evil.example") == 0


def test_bad_filters_and_missing_exceptions_are_told_on_a_page(db: Engine, client: TestClient) -> None:
    _, token = make_caller(db, Role.OPERATOR, "ned")
    _sign_in(client, token)
    wrong = client.get("/console/exceptions?status=warning")
    assert wrong.status_code == 400 and "status &#39;warning&#39;: use one of open, resolved" in wrong.text
    assert client.get("/console/runs?kind=nope").status_code == 400
    assert client.get("/console/exceptions/0").status_code == 400
    missing = client.get("/console/exceptions/999999")
    assert missing.status_code == 404 and "Exception 999999 does not exist." in missing.text
    csrf = client.get("/console/").text.split('name="csrf" value="')[1].split('"')[0]
    gone = client.post("/console/exceptions/999999/resolve", data={"csrf": csrf, "reason": "x"},
                       follow_redirects=False)
    assert gone.status_code == 404
    assert client.post("/console/exceptions/999999/resolve", content=b'{"csrf": "x"}',
                       headers={"content-type": "application/json"}).status_code == 415


def test_a_database_that_does_not_answer_is_a_503_page() -> None:
    from q2c.store.db import create_db_engine

    gone = create_db_engine("postgresql://postgres@127.0.0.1:1/none")  # nothing listens on port 1
    client = TestClient(create_app(gone, webhook_secret="s"))
    client.cookies.set("q2c_console", "whatever", path="/console")
    answer = client.get("/console/")
    assert answer.status_code == 503 and "database does not answer" in answer.text
    gone.dispose()
