"""Who may call which route of the whole API (the hub's routers included), read from the app's own route table,
with a caller of each role; and the approver of a contract change is the authenticated caller, so one person
cannot give a change both of the approvals it needs. On SQLite and PostgreSQL.

Each route is called with path values that name nothing (exception 999999, change CHG-nope, legal entity XX99)
and an empty body, so an allowed call ends in 404, 409 or 422 without changing anything, and a refused one in
403 before the body or the path is looked at.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fakes import FakeWorld, fake_world
from fastapi import FastAPI
from fastapi.testclient import TestClient
from test_contract_changes import OPP, P, amend, changes, check

from q2c.domain.revenue import Period
from q2c.entrypoints.auth import OPEN_ROUTES, route_roles
from q2c.entrypoints.http_api import create_app
from q2c.entrypoints.wiring import drain, hub_routers
from q2c.store.db import create_db_engine
from q2c.store.schema import audit_log
from q2c.store.users import Role
from q2c.workflows.periods import set_period_state
from support.api_auth import bearer

# Every route of the API and the role it needs (None: open). A route added without a line here fails
# `test_the_table_is_the_apps_own`; one added without a role cannot even be built (`create_app` refuses it).
TABLE: dict[tuple[str, str], Role | None] = {
    ("GET", "/docs"): None,
    ("GET", "/redoc"): None,
    ("GET", "/health"): None,
    ("GET", "/metrics"): None,
    ("POST", "/webhooks/salesforce/opportunity-won"): None,
    ("GET", "/exceptions"): Role.VIEWER,
    ("GET", "/exceptions/{exception_id}"): Role.VIEWER,
    ("POST", "/exceptions/{exception_id}/replay"): Role.OPERATOR,
    ("POST", "/exceptions/replay"): Role.OPERATOR,
    ("POST", "/exceptions/{exception_id}/resolve"): Role.OPERATOR,
    ("POST", "/exceptions/{exception_id}/ignore"): Role.OPERATOR,
    ("GET", "/audit/verify"): Role.VIEWER,
    ("GET", "/changes"): Role.VIEWER,
    ("GET", "/changes/{change_id}"): Role.VIEWER,
    ("POST", "/changes/{change_id}/apply"): Role.CONTROLLER,
    ("POST", "/changes/{change_id}/reject"): Role.CONTROLLER,
    ("GET", "/reference"): Role.VIEWER,
    ("POST", "/reference/reprice"): Role.CONTROLLER,
    ("GET", "/invoices"): Role.VIEWER,
    ("GET", "/invoices/{invoice_id}"): Role.VIEWER,
    ("POST", "/invoices/{invoice_id}/approve"): Role.CONTROLLER,
    ("POST", "/invoices/{invoice_id}/reject"): Role.CONTROLLER,
    ("POST", "/invoices/rebill"): Role.CONTROLLER,
    ("GET", "/reports/wip"): Role.VIEWER,
    ("GET", "/reports/waterfall"): Role.VIEWER,
    ("GET", "/reports/rollforward"): Role.VIEWER,
    ("GET", "/reports/rpo"): Role.VIEWER,
    ("GET", "/reports/invoices"): Role.VIEWER,
    ("POST", "/reconciliation"): Role.OPERATOR,
    ("GET", "/reconciliation"): Role.VIEWER,
    ("GET", "/reconciliation/runs"): Role.VIEWER,
    ("GET", "/reconciliation/runs/{run_id}"): Role.VIEWER,
    ("POST", "/reconciliation/heal/{exception_id}"): Role.CONTROLLER,
    ("GET", "/periods/{legal_entity}/{period}"): Role.VIEWER,
    ("POST", "/periods/{legal_entity}/{period}/close"): Role.CONTROLLER,
    ("GET", "/runs"): Role.VIEWER,
    ("GET", "/runs/{run_id}"): Role.VIEWER,
    ("GET", "/kpis"): Role.VIEWER,
}
NOTHING = {"exception_id": "999999", "change_id": "CHG-nope", "invoice_id": "INV-nope", "run_id": "999999",
           "legal_entity": "XX99", "period": "2026-11"}
BODIES = {("POST", "/reconciliation"): {"pairs": ["no-such-pair"]},  # refused (400) before anything is read
          ("POST", "/exceptions/{exception_id}/resolve"): {"reason": "handled in NetSuite"},
          ("POST", "/exceptions/{exception_id}/ignore"): {"reason": "a test deal"}}


def _app_routes() -> list[tuple[str, str]]:
    """The routes of an app built as `q2c serve` builds it, read at collection time from its own table."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        w = fake_world(Path(tmp))
        try:
            return sorted(route_roles(create_app(w.hub.engine, webhook_secret="s", routers=hub_routers(w.hub))))
        finally:
            w.hub.engine.dispose()


APP_ROUTES = _app_routes()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[FakeWorld, FastAPI]]:
    """One hub and its whole API per backend for the module (PostgreSQL: a database of its own)."""
    tmp = tmp_path_factory.mktemp("roles")
    if request.param == "sqlite":
        w = fake_world(tmp)
        yield w, create_app(w.hub.engine, webhook_secret="s", routers=hub_routers(w.hub))
        w.hub.engine.dispose()
        return
    admin = create_db_engine(request.getfixturevalue("pg_url"))
    name = f"q2c_roles_{uuid.uuid4().hex[:10]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    w = fake_world(tmp, admin.url.set(database=name).render_as_string(hide_password=False))
    try:
        yield w, create_app(w.hub.engine, webhook_secret="s", routers=hub_routers(w.hub))
    finally:
        w.hub.engine.dispose()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def call(client: TestClient, method: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    url = re.sub(r"\{(\w+)\}", lambda m: NOTHING[m.group(1)], path)
    body = BODIES.get((method, path), {}) if method == "POST" else None
    return client.request(method, url, json=body, headers=headers or {})


def test_the_table_is_the_apps_own(served: tuple[FakeWorld, FastAPI]) -> None:
    _, app = served
    assert route_roles(app) == TABLE
    # /webhooks/erp is mounted only for an ERP that pushes change notices (tests/e2e/test_invoice_status_pushed...)
    assert {path for (_, path), role in TABLE.items() if role is None} == set(OPEN_ROUTES) - {"/webhooks/erp"}


@pytest.mark.parametrize(("method", "path"), APP_ROUTES, ids=[f"{m} {p}" for m, p in APP_ROUTES])
def test_each_route_with_each_role(served: tuple[FakeWorld, FastAPI], method: str, path: str) -> None:
    """No token: 401 with the challenge; a role below the route's: 403 naming it; the route's role or above:
    past the door (what the route itself says of the nothing it was asked about)."""
    w, app = served
    needed = TABLE[(method, path)]  # a route missing from the table fails here
    client = TestClient(app, raise_server_exceptions=False)
    anonymous = call(client, method, path)
    if needed is None:
        assert anonymous.status_code not in (401, 403) or path.startswith("/webhooks/"), anonymous.text
        return
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert anonymous.json()["error"]["code"] == "unauthorized"
    for role in Role:
        answer = call(client, method, path, bearer(w.hub.engine, role))
        if role.includes(needed):
            assert answer.status_code not in (401, 403, 500), (role, answer.text)
        else:
            assert answer.status_code == 403, (role, answer.text)
            error = answer.json()["error"]
            assert error["code"] == "forbidden" and f"needs the {needed.value} role" in error["message"]
            assert f"is {role.value}" in error["message"]


def test_who_may_replay_release_and_approve(served: tuple[FakeWorld, FastAPI]) -> None:
    """The lines of the role table people ask about, spelt out."""
    w, app = served
    client = TestClient(app)
    viewer, operator, controller = (bearer(w.hub.engine, r) for r in (Role.VIEWER, Role.OPERATOR, Role.CONTROLLER))
    assert client.post("/exceptions/999999/replay", json={}, headers=viewer).status_code == 403
    assert client.post("/exceptions/999999/replay", json={}, headers=operator).status_code == 404
    assert client.post("/exceptions/replay", json={"rule": "time.*"}, headers=viewer).status_code == 403
    assert client.post("/invoices/INV-nope/approve", headers=viewer).status_code == 403
    assert client.post("/invoices/INV-nope/approve", headers=operator).status_code == 403
    assert client.post("/invoices/INV-nope/approve", headers=controller).status_code == 404
    assert client.post("/changes/CHG-nope/apply", json={}, headers=operator).status_code == 403
    assert client.post("/changes/CHG-nope/apply", json={}, headers=controller).status_code == 404
    assert client.post("/periods/US01/2026-11/close", json={}, headers=operator).status_code == 403
    assert client.get("/exceptions", headers=viewer).status_code == 200


def _held_for_two(tmp_path: Path, db_url: str) -> tuple[FakeWorld, str]:
    """November closed, then a change effective Nov 15: it reaches into a closed period, so two people must
    approve it in q2c."""
    w = fake_world(tmp_path, db_url)
    w.set_up()
    nov = [w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, d), "8") for d in (3, 4)]
    w.tracker.approve(*nov)
    w.sync()
    w.crm.complete_milestone(OPP, "SF-M1", date(2026, 11, 20))
    w.close(date(2026, 11, 30))
    set_period_state(w.hub, legal_entity="US01", period=Period(2026, 11), closed=True, actor="controller")
    w.crm.effective[OPP] = date(2026, 11, 15)
    amend(w)
    check(w)
    (held,) = changes(w)
    assert held.state == "needs_second_approval"
    return w, held.canonical_id


def test_one_person_cannot_give_both_approvals_by_changing_a_name(tmp_path: Path, db_url: str) -> None:
    """Carol approves; her second try is refused (409) and a body naming someone else is refused (422): the
    approver is the token's user. The change stays held until Dave, a second controller, approves it."""
    w, change_id = _held_for_two(tmp_path, db_url)
    app = create_app(w.hub.engine, webhook_secret="s", routers=hub_routers(w.hub))
    carol = bearer(w.hub.engine, Role.CONTROLLER, "carol")
    dave = bearer(w.hub.engine, Role.CONTROLLER, "dave")
    client = TestClient(app)

    first = client.post(f"/changes/{change_id}/apply", json={}, headers=carol)
    assert first.status_code == 202, first.text
    drain(w.hub)
    as_dave = client.post(f"/changes/{change_id}/apply", json={"actor": "dave"}, headers=carol)
    assert as_dave.status_code == 422 and as_dave.json()["error"]["field"] == "actor"
    assert "the actor is the authenticated caller" in as_dave.json()["error"]["message"]
    again = client.post(f"/changes/{change_id}/apply", json={}, headers=carol)
    assert again.status_code == 409 and "carol has approved it already" in again.json()["error"]["message"]
    drain(w.hub)
    shown = client.get(f"/changes/{change_id}", headers=carol).json()
    assert shown["state"] == "needs_second_approval"
    assert [a["by"] for a in shown["approvals"]] == ["carol"]

    assert client.post(f"/changes/{change_id}/apply", json={}, headers=dave).status_code == 202
    drain(w.hub)
    shown = client.get(f"/changes/{change_id}", headers=dave).json()
    assert shown["state"] == "applied"
    assert [a["by"] for a in shown["approvals"]] == ["carol", "dave"]
    with w.hub.engine.connect() as conn:
        trail = conn.execute(sa.select(audit_log.c.actor).where(audit_log.c.action == "change_approved")
                             .order_by(audit_log.c.seq)).scalars().all()
    assert trail == ["carol", "dave"]  # the users' names, as the audit trail records them
