"""`/__sandbox/business_central/`: what a person does in the web client, seen through the API."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from business_central_sandbox_support import created, customer, draft_invoice, error_of, ok

from q2c.sandboxes.business_central.app import BusinessCentralSandbox
from q2c.sandboxes.kit import SandboxServer

ADMIN = "/__sandbox/business_central"


@pytest.fixture
def admin(server: SandboxServer, ca_path: Path) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, verify=ssl.create_default_context(cafile=str(ca_path))) as client:
        yield client


def test_pay_and_edit_behind_the_clients_back(api: httpx.Client, admin: httpx.Client, us01: str,
                                              box: BusinessCentralSandbox) -> None:
    made = customer(api, us01, "c-lower")
    assert made["number"] == "C-LOWER"  # a Code field is kept in capitals
    invoice = draft_invoice(api, us01, "C-LOWER", ("40100", "1", "10"), external="q2c-inv-9")
    assert invoice["externalDocumentNumber"] == "Q2C-INV-9"
    api.post(f"{us01}/salesInvoices({invoice['id']})/Microsoft.NAV.post")
    assert ok(admin.post(f"{ADMIN}/companies/US01/salesInvoices/{invoice['id']}/pay", json={})) == {"ok": True}
    assert ok(api.get(f"{us01}/salesInvoices({invoice['id']})"))["status"] == "Paid"
    error_of(admin.post(f"{ADMIN}/companies/US01/salesInvoices/{invoice['id']}/pay", json={}), 400,
             "Application_DialogException")

    edited = ok(admin.patch(f"{ADMIN}/companies/US01/customers/{made['id']}", json={"displayName": "Renamed"}))
    assert edited["displayName"] == "Renamed"
    stale = api.patch(f"{us01}/customers({made['id']})", json={"city": "Bath"},
                      headers={"If-Match": made["@odata.etag"]})
    error_of(stale, 412, "Request_EntityChanged")
    assert ok(admin.delete(f"{ADMIN}/companies/US01/customers/{made['id']}")) == {"ok": True}
    error_of(api.get(f"{us01}/customers({made['id']})"), 404, "BadRequest_NotFound")
    assert admin.get(f"{ADMIN}/companies/US01/nosuch").status_code == 200  # an empty table
    assert admin.delete(f"{ADMIN}/companies/US01/customers/{made['id']}").status_code == 404


def test_seed_employees_rates_and_read_tables(api: httpx.Client, admin: httpx.Client, us01: str) -> None:
    person = ok(admin.post(f"{ADMIN}/companies/US01/employees",
                           json={"number": "E-9", "givenName": "Mary", "surname": "Jackson"}))
    assert person["displayName"] == "Mary Jackson"
    assert ok(api.get(f"{us01}/employees?$filter=number eq 'E-9'"))["value"][0]["id"] == person["id"]
    rate = ok(admin.post(f"{ADMIN}/companies/US01/currencyExchangeRates", json={
        "currencyCode": "EUR", "startingDate": "2026-12-01", "exchangeRateAmount": "1",
        "relationalExchangeRateAmount": "1.0912"}))
    rows = ok(api.get(f"{us01}/currencyExchangeRates?$filter=currencyCode eq 'EUR' and startingDate ge 2026-06-01"))
    assert [r["id"] for r in rows["value"]] == [rate["id"]]
    assert rows["value"][0]["relationalExchangeRateAmount"] == 1.0912
    employees = admin.get(f"{ADMIN}/companies/US01/employees").json()
    assert [e["number"] for e in employees] == ["E-9"]
    everything = ok(admin.get(f"{ADMIN}/state"))
    assert [e["number"] for e in everything["companies"]["US01"]["tables"]["employees"]] == ["E-9"]
    assert everything["companies"]["UK01"]["tables"]["companyInformation"][0]["currencyCode"] == "GBP"


def test_time_invoiced_and_reset(api: httpx.Client, ext: httpx.Client, admin: httpx.Client, us01: str,
                                 box: BusinessCentralSandbox) -> None:
    box.add_employee("US01", "R-2", "Kath", "Johnson")
    created(api.post(f"{us01}/projects", json={"number": "P-T"}))
    entry = created(ext.post(f"{us01}/timeEntries", json={"externalId": "te-x", "jobNumber": "P-T",
                                                          "employeeNumber": "R-2", "postingDate": "2026-11-01",
                                                          "quantity": 1, "unitPrice": 100}))
    ok(admin.post(f"{ADMIN}/companies/US01/timeEntries/{entry['id']}/invoice"))
    assert ok(ext.get(f"{us01}/timeEntries({entry['id']})"))["invoiced"] is True
    error_of(ext.delete(f"{us01}/timeEntries({entry['id']})", headers={"If-Match": "*"}), 400,
             "Application_DialogException")
    assert admin.post("/__sandbox/reset").status_code == 200
    assert ok(ext.get(f"{us01}/timeEntries"))["value"] == []
    assert box.company_ids()["US01"] == us01[len("companies("):-1]
    assert len(ok(api.get(f"{us01}/accounts"))["value"]) >= 13
