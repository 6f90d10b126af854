"""Reconciliation and close readiness through the HTTP API, over the in-memory systems.

November as in `test_invoice_status.november` (22 h, T&M 3,600; Blueprint 5,000; revenue 8,600; booked 35,000).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from fakes import FakeWorld
from fastapi.testclient import TestClient
from test_invoice_status import november

from q2c.entrypoints.api_reconcile import reconcile_router
from q2c.entrypoints.http_api import create_app
from q2c.entrypoints.wiring import drain
from q2c.store.users import Role
from support.api_auth import bearer


def client(w: FakeWorld) -> TestClient:
    return TestClient(create_app(w.hub.engine, webhook_secret="whsec-test", routers=[reconcile_router(w.hub)]),
                      headers=bearer(w.hub.engine, Role.CONTROLLER))


def test_a_drift_is_found_healed_and_gone_through_the_api(tmp_path: Path, db_url: str) -> None:
    """HV-3 (6 h x 200 = 1,200) is lost in the ERP: the run finds it (time: 2 matched, 1 missing in the ERP;
    ERP total 16 h, 2,400), the CSV names it, the heal writes it again and the next run is clean."""
    w, _ = november(tmp_path, db_url)
    del w.erp.records["timebill"]["HV-3"]
    with client(w) as api:
        assert api.get("/reconciliation").status_code == 404
        found = api.post("/reconciliation", json={"pairs": ["time"]}).json()
        assert found["clean"] is False and list(found["pairs"]) == ["time"]
        pair = found["pairs"]["time"]
        assert (pair["matched"], pair["missing_right"]) == (2, 1)
        assert pair["totals"]["the ERP"] == {"hours": "16", "amount USD": "2400.00"}
        [drift] = found["drifts"]
        assert drift["record_id"] == "HV-3" and drift["fix"] == "resend_timebill"
        rows = list(csv.reader(io.StringIO(api.get(f"/reconciliation/runs/{found['run_id']}?format=csv").text)))
        assert rows[0][:4] == ["run", "pair", "record", "kind"] and rows[1][1:4] == ["time", "HV-3", "missing_right"]
        assert api.get("/reconciliation").json()["run_id"] == found["run_id"]
        healed = api.post(f"/reconciliation/heal/{drift['exception_id']}")
        assert healed.status_code == 200 and "HV-3" in healed.json()["done"]
        again = api.post(f"/reconciliation/heal/{drift['exception_id']}")
        assert again.status_code == 409 and again.json()["error"]["field"] == "exception_id"
        drain(w.hub)
        assert api.post("/reconciliation", json={}).json()["clean"] is True
        assert [r["drifts"] for r in api.get("/reconciliation/runs").json()] == [0, 1]
        assert api.post("/reconciliation", json={"pairs": ["cash"]}).status_code == 400
        assert api.get("/reconciliation/runs/999").status_code == 404


def test_close_readiness_and_a_refused_close_through_the_api(tmp_path: Path, db_url: str) -> None:
    """A deleted ERP invoice is a drift on US01's contract: November is blocked (7 of 8 checks clear: 88%),
    the close is 409, a forced close without a reason 400, with one it closes."""
    w, _ = november(tmp_path, db_url)
    del w.erp.records["invoice"]["INV-C-006A-1-20261130"]
    with client(w) as api:
        api.post("/reconciliation", json={})
        status = api.get("/periods/US01/2026-11").json()
        assert status["score"] == 88 and status["checks"]["reconciliation_drifts"]["count"] == 1
        refused = api.post("/periods/US01/2026-11/close")
        assert refused.status_code == 409 and "1 blockers" in refused.json()["error"]["message"]
        no_reason = api.post("/periods/US01/2026-11/close", json={"force": True})
        assert no_reason.status_code == 400 and no_reason.json()["error"]["field"] == "reason"
        done = api.post("/periods/US01/2026-11/close",
                        json={"force": True, "reason": "invoice re-sent in December"})
        assert done.status_code == 200 and done.json()["forced"] is True
        assert api.get("/periods/XX99/2026-11").status_code == 404
        assert api.get("/periods/US01/2026-13").status_code == 422
