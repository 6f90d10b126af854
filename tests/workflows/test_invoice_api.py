"""The invoice routes of the HTTP API over a hub on in-memory systems: review (list, show, approve, reject) and
re-bill, with the one error shape, on SQLite and PostgreSQL.

The deal (see `fakes.deal`): T&M line, Alice (Consultant) 150/h, Bob (Architect) 200/h; Blueprint 5,000.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fakes import FakeWorld, fake_world, usd
from fastapi.testclient import TestClient

from q2c.config import BillingSettings
from q2c.entrypoints.api_invoices import invoices_router
from q2c.entrypoints.http_api import create_app
from q2c.entrypoints.wiring import drain
from q2c.store import exceptions as exception_store
from q2c.store.users import Role
from support.api_auth import bearer

P, C = "P-006A", "C-006A"
TM = f"INV-{C}-1-20261130"


def _client(w: FakeWorld) -> Iterator[TestClient]:
    app = create_app(w.hub.engine, webhook_secret="whsec-test", routers=[invoices_router(w.hub)])
    with TestClient(app, headers=bearer(w.hub.engine, Role.CONTROLLER, "maria")) as client:
        yield client


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> FakeWorld:
    """Alice BUILD Nov 3 8 h x 150 = 1,200, Blueprint completed Nov 20 (5,000), billed Nov 30 under review."""
    w = fake_world(tmp_path, db_url)
    w.hub.config = w.hub.config.model_copy(update={"billing": BillingSettings(release="review")})
    w.set_up()
    alice = w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, 3), "8")
    w.tracker.approve(alice)
    w.sync()
    w.crm.complete_milestone("SF-006A", "SF-M1", date(2026, 11, 20))
    w.close(date(2026, 11, 30))
    return w


def test_drafts_are_listed_shown_rejected_and_approved(world: FakeWorld) -> None:
    for client in _client(world):
        listed = client.get("/invoices", params={"status": "in_review"})
        assert listed.status_code == 200
        assert [(i["id"], i["total"], i["standing"]) for i in listed.json()] == [
            (TM, "1200.00", "in_review"), ("INV-SF-M1", "5000.00", "in_review")]
        assert client.get("/invoices", params={"status": "lost"}).json()["error"]["field"] == "status"

        shown = client.get(f"/invoices/{TM}")
        assert shown.status_code == 200
        body = shown.json()
        assert [ln["amount"] for ln in body["invoice_lines"]] == ["1200.00"]
        assert [h["action"] for h in body["history"]] == ["invoice"]
        missing = client.get("/invoices/INV-NOPE")
        assert missing.status_code == 404 and missing.json()["error"]["field"] == "invoice_id"

        assert client.post(f"/invoices/{TM}/reject", json={"reason": ""}).status_code == 422
        blank = client.post(f"/invoices/{TM}/reject", json={"reason": "   "})
        assert blank.status_code == 400 and blank.json()["error"]["field"] == "reason"
        rejected = client.post(f"/invoices/{TM}/reject", json={"reason": "wrong task"})
        assert rejected.status_code == 200 and len(rejected.json()["unbilled_entries"]) == 1
        conflict = client.post(f"/invoices/{TM}/approve")
        assert conflict.status_code == 409 and "field status is 'rejected'" in conflict.json()["error"]["message"]

        approved = client.post("/invoices/INV-SF-M1/approve")
        assert approved.status_code == 202 and approved.json()["standing"] == "approved"
        drain(world.hub)
        assert client.get("/invoices/INV-SF-M1").json()["standing"] == "released"
        assert world.erp.kind("invoice")["INV-SF-M1"].total == usd("5000.00")
        history = client.get("/invoices/INV-SF-M1").json()["history"]
        assert [(h["action"], h["actor"]) for h in history][1:] == [("approve", "maria"), ("release", "maria")]

        spec = client.get("/openapi.json").json()["paths"]
        documented = {"202", "401", "403", "404", "409", "422"}
        assert set(spec["/invoices/{invoice_id}/approve"]["post"]["responses"]) == documented
        assert set(spec["/invoices/rebill"]["post"]["responses"]) == documented


def test_an_edit_after_billing_is_re_billed_through_the_api(tmp_path: Path, db_url: str) -> None:
    """Released at once (auto): Alice Nov 3 8 h x 150 = 1,200 billed Nov 30, then changed to 6 h. The re-bill
    credits 1,200 (CN-1-INV-C-006A-1-20261130) and bills 6 x 150 = 900 on INV-C-006A-1-20261203."""
    w = fake_world(tmp_path, db_url)
    w.set_up()
    alice = w.tracker.log(P, "BUILD", "alice@example.com", date(2026, 11, 3), "8")
    w.tracker.approve(alice)
    w.sync()
    w.close(date(2026, 11, 30))
    w.tracker.change(alice, hours=Decimal(6))
    w.sync()
    with w.hub.engine.connect() as conn:
        (edited,) = exception_store.search(conn)
    for client in _client(w):
        assert client.post("/invoices/rebill", json={"exception_id": 999}).status_code == 404
        early = client.post("/invoices/rebill", json={"exception_id": edited.id,
                                                      "date": "2026-11-01"})
        assert early.status_code == 409 and early.json()["error"]["field"] == "date"
        queued = client.post("/invoices/rebill", json={"exception_id": edited.id,
                                                       "date": "2026-12-03"})
        assert queued.status_code == 202 and queued.json()["state"] == "requested"
        drain(w.hub)
        totals = {i["id"]: i["total"] for i in client.get("/invoices").json()}
        assert totals == {TM: "1200.00", f"CN-1-{TM}": "-1200.00", f"INV-{C}-1-20261203": "900.00"}
        done = client.post("/invoices/rebill", json={"exception_id": edited.id})
        assert done.status_code == 202 and done.json()["state"] == "done"
        assert done.json()["invoices"] == [f"INV-{C}-1-20261203"]
