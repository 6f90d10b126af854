"""The report routes of the HTTP API over the controller's books (see `controller_books`; the figures are computed
there and in test_controller_reports): JSON, `?format=csv`, and 422 in the one error shape naming the parameter.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from controller_books import controller_books
from fakes import fake_world
from fastapi.testclient import TestClient

from q2c.entrypoints.api_reports import reports_router
from q2c.entrypoints.http_api import create_app
from q2c.entrypoints.wiring import hub_routers
from q2c.store.users import Role
from support.api_auth import bearer


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    w = controller_books(Path(tmp_path_factory.mktemp("api-books")))
    app = create_app(w.hub.engine, webhook_secret="whsec-test", routers=[reports_router(w.hub)])
    with TestClient(app, headers=bearer(w.hub.engine, Role.VIEWER)) as c:
        yield c


def test_wip_as_json_and_as_csv(client: TestClient) -> None:
    """As of Nov 15 the Nov 30 invoice is after the day: P-006A 3 entries, 21 h, 3,400.00, at cost 1,595.00."""
    answer = client.get("/reports/wip", params={"as_of": "2026-11-15"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "as_of": "2026-11-15",
        "projects": [{"project_id": "P-006A", "contract_id": "C-006A", "legal_entity": "US01", "currency": "USD",
                      "entries": 3, "hours": "21", "at_bill_rate": "3400.00", "at_cost": "1595.00",
                      "oldest_work_date": "2026-11-03", "entries_without_cost": []}],
        "totals": [{"currency": "USD", "entries": 3, "hours": "21", "at_bill_rate": "3400.00",
                    "at_cost": "1595.00"}]}
    as_csv = client.get("/reports/wip", params={"as_of": "2026-12-15", "legal_entity": "UK01", "format": "csv"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.splitlines() == [
        "project_id,contract_id,legal_entity,currency,entries,hours,at_bill_rate,at_cost,oldest_work_date",
        "P-007B,C-007B,UK01,GBP,2,12.5,1700.00,850.00,2026-12-10"]


def test_waterfall_rollforward_rpo_and_invoices(client: TestClient) -> None:
    waterfall = client.get("/reports/waterfall", params={"from": "2026-12", "to": "2026-12"}).json()
    assert (waterfall["from"], waterfall["to"], waterfall["periods"]) == ("2026-12", "2026-12", ["2026-12"])
    assert [(c["contract_id"], c["currency"], c["periods"], c["total"]) for c in waterfall["contracts"]] == [
        ("C-006A", "USD", {"2026-12": "5000.00"}, "5000.00"), ("C-007B", "GBP", {"2026-12": "1700.00"}, "1700.00")]

    november = client.get("/reports/rollforward", params={"period": "2026-11"}).json()
    assert november == {"period": "2026-11", "contracts_posted": 2, "contracts": [
        {"contract_id": "C-006A", "legal_entity": "US01", "currency": "USD", "opening": "0.00", "billed": "13600.00",
         "recognised": "10600.00", "reclassified": "0.00", "closing": "3000.00"}], "totals": [
        {"currency": "USD", "contracts": 1, "opening": "0.00", "billed": "13600.00", "recognised": "10600.00",
         "reclassified": "0.00", "closing": "3000.00"}]}

    rpo = client.get("/reports/rpo", params={"period": "2026-11", "contract_id": "C-006A"}).json()
    assert [(o["obligation_id"], o["allocated"], o["recognised"], o["remaining"], o["within_12_months"], o["later"])
            for o in rpo["obligations"]] == [("C-006A-2", "15000.00", "5000.00", "10000.00", None, None),
                                             ("C-006A-3", "10000.00", "2000.00", "8000.00", None, None)]
    assert rpo["totals"] == [{"currency": "USD", "remaining": "18000.00", "within_12_months": "0.00",
                              "later": "0.00", "unscheduled": "18000.00"}]
    assert rpo["right_to_invoice"] == [{"contract_id": "C-006A", "obligation_id": "C-006A-1"}]

    invoices = client.get("/reports/invoices", params={"legal_entity": "US01"}).json()
    assert [(m["month"], m["status"], m["invoices"], m["credit_notes"], m["credited"], m["total"])
            for m in invoices["months"]] == [("2026-11", "paid", 1, 0, "0.00", "5000.00"),
                                             ("2026-11", "posted", 2, 0, "0.00", "8600.00"),
                                             ("2026-12", "posted", 2, 1, "-1200.00", "3000.00")]
    as_csv = client.get("/reports/invoices", params={"format": "csv", "contract_id": "C-007B"})
    assert as_csv.text == ("month,currency,status,invoices,credit_notes,invoiced,credited,total\n"
                           "2026-12,GBP,posted,1,0,1700.00,0.00,1700.00\n")


@pytest.mark.parametrize(("path", "params", "field", "says"), [
    ("/reports/rollforward", {"period": "2026-13"}, "period", "'2026-13' is not a period: use YYYY-MM"),
    ("/reports/rpo", {"period": "2026-1"}, "period", "'2026-1' is not a period: use YYYY-MM"),
    ("/reports/rpo", {}, "period", "Field required"),
    ("/reports/wip", {"as_of": "2026-02-30"}, "as_of", "'2026-02-30' is not a date: use YYYY-MM-DD"),
    ("/reports/wip", {"contract_id": "C-NOPE"}, "contract_id", "'C-NOPE' is not a contract q2c holds"),
    ("/reports/invoices", {"legal_entity": "DE01"}, "legal_entity", "'DE01' is not a legal entity q2c knows"),
    ("/reports/waterfall", {"from": "2026-12", "to": "2026-11"}, "to", "2026-11 is before the first period"),
    ("/reports/waterfall", {"from": "dec"}, "from", "'dec' is not a period"),
    ("/reports/invoices", {"format": "xml"}, "format", "'json' or 'csv'"),
])
def test_a_bad_query_value_is_422_naming_the_parameter(client: TestClient, path: str, params: dict[str, str],
                                                       field: str, says: str) -> None:
    answer = client.get(path, params=params)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert (error["status"], error["code"], error["field"]) == (422, "validation_error", field)
    assert error["message"].startswith(f"field '{field}': ") and says in error["message"]


def test_the_routes_are_documented_and_served_with_the_hubs_routers(client: TestClient, tmp_path: Path) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for name in ("wip", "waterfall", "rollforward", "rpo", "invoices"):
        responses = paths[f"/reports/{name}"]["get"]["responses"]
        assert set(responses) == {"200", "401", "403", "422", "503"}
        assert set(responses["200"]["content"]) == {"application/json", "text/csv"}
        assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    served = {route.path for router in hub_routers(fake_world(tmp_path).hub) for route in router.routes}  # type: ignore[attr-defined]
    assert {"/reports/wip", "/reports/waterfall", "/reports/rollforward", "/reports/rpo",
            "/reports/invoices"} <= served
