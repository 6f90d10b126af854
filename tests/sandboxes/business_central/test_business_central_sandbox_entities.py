"""Create, read, update and delete on every writable entity set; read-only sets refuse writes."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from business_central_sandbox_support import created, customer, error_of, ok

from q2c.sandboxes.business_central.app import BusinessCentralSandbox


def _crud(api: httpx.Client, path: str, body: dict[str, object], change: dict[str, object]) -> dict[str, object]:
    made = created(api.post(path, json=body))
    assert made["@odata.etag"].startswith('W/"')
    for key, value in body.items():
        assert made[key] == value, key
    one = ok(api.get(f"{path}({made['id']})"))
    assert one["id"] == made["id"] and one["@odata.context"].endswith(f"/{path.split('/')[-1]}/$entity")
    changed = ok(api.patch(f"{path}({made['id']})", json=change, headers={"If-Match": one["@odata.etag"]}))
    for key, value in change.items():
        assert changed[key] == value, key
    assert changed["@odata.etag"] != one["@odata.etag"]
    assert api.delete(f"{path}({made['id']})", headers={"If-Match": changed["@odata.etag"]}).status_code == 204
    error_of(api.get(f"{path}({made['id']})"), 404, "BadRequest_NotFound")
    return changed


@pytest.mark.parametrize(("set_name", "body", "change"), [
    ("customers", {"number": "C-ACME", "displayName": "Acme Corp", "taxRegistrationNumber": "US-1"},
     {"displayName": "Acme Corporation", "email": "ap@acme.example"}),
    ("projects", {"number": "P-100", "displayName": "ERP rollout"}, {"displayName": "ERP rollout phase 2"}),
    ("employees", {"number": "E-7", "givenName": "Ada", "surname": "Lovelace"}, {"jobTitle": "Consultant"}),
    ("currencies", {"code": "JPY", "displayName": "Yen", "amountRoundingPrecision": 1},
     {"displayName": "Japanese yen"}),
    ("paymentTerms", {"code": "60 DAYS", "displayName": "Net 60", "dueDateCalculation": "60D"},
     {"displayName": "Net sixty"}),
    ("journals", {"code": "REVREC", "displayName": "Revenue recognition"}, {"displayName": "Rev rec"}),
])
def test_standard_sets_round_trip(api: httpx.Client, us01: str, set_name: str, body: dict[str, object],
                                  change: dict[str, object]) -> None:
    _crud(api, f"{us01}/{set_name}", body, change)


def test_numbers_come_from_a_series_when_not_given_and_must_be_unique(api: httpx.Client, us01: str) -> None:
    first = created(api.post(f"{us01}/customers", json={"displayName": "No number"}))
    assert first["number"].startswith("C")
    customer(api, us01, "DUP-1")
    message = error_of(api.post(f"{us01}/customers", json={"number": "DUP-1"}), 400,
                       "Internal_EntityWithSameKeyExists")
    assert "DUP-1" in message


def test_customer_currency_is_checked_against_the_company(api: httpx.Client, us01: str) -> None:
    gbp = customer(api, us01, "C-GBP", currencyCode="GBP")
    assert gbp["currencyCode"] == "GBP" and gbp["currencyId"] != "00000000-0000-0000-0000-000000000000"
    error_of(api.post(f"{us01}/customers", json={"number": "C-X", "currencyCode": "XXX"}), 400,
             "Application_DialogException")


def test_time_registration_entries_read_and_write(api: httpx.Client, us01: str, box: BusinessCentralSandbox) -> None:
    box.add_employee("US01", "E-1", "Grace", "Hopper")
    created(api.post(f"{us01}/projects", json={"number": "P-1", "displayName": "Audit"}))
    entry = created(api.post(f"{us01}/timeRegistrationEntries",
                             json={"employeeNumber": "E-1", "jobNumber": "P-1", "date": "2026-11-02",
                                   "quantity": 7.5}))
    assert entry["status"] == "Open" and entry["quantity"] == 7.5 and entry["date"] == "2026-11-02"
    assert entry["employeeId"] == box.records("US01", "employees")[0]["id"]
    assert "lastModfiedDateTime" in entry  # the property's name as Microsoft documents it
    patched = ok(api.patch(f"{us01}/timeRegistrationEntries({entry['id']})", json={"quantity": 8},
                           headers={"If-Match": "*"}))
    assert patched["quantity"] == 8
    error_of(api.post(f"{us01}/timeRegistrationEntries", json={"quantity": 1}), 400, "Application_DialogException")


@pytest.mark.parametrize("set_name", ["accounts", "generalLedgerEntries", "dimensions", "dimensionValues",
                                      "currencyExchangeRates", "companies"])
def test_read_only_sets_refuse_writes(api: httpx.Client, us01: str, set_name: str) -> None:
    path = "companies" if set_name == "companies" else f"{us01}/{set_name}"
    error_of(api.post(path, json={}), 405, "BadRequest_MethodNotAllowed")


def test_reference_data_is_seeded_as_the_contract_says(api: httpx.Client, us01: str) -> None:
    accounts = {a["number"] for a in ok(api.get(f"{us01}/accounts"))["value"]}
    assert {"1000", "1200", "1250", "2400", "2450", "4000", "5900", "7980", "7990", "40100", "40200", "40300",
            "40400"} <= accounts
    terms = {t["code"]: t["dueDateCalculation"] for t in ok(api.get(f"{us01}/paymentTerms"))["value"]}
    assert terms["30 DAYS"] == "30D" and terms["14 DAYS"] == "14D"
    dims = {d["code"] for d in ok(api.get(f"{us01}/dimensions"))["value"]}
    assert dims == {"SERVICEOFFERING", "LEGALENTITY"}
    journals = {j["code"] for j in ok(api.get(f"{us01}/journals"))["value"]}
    assert "Q2C" in journals
    rates = ok(api.get(f"{us01}/currencyExchangeRates?$filter=currencyCode eq 'GBP'"))["value"]
    assert rates[0]["relationalExchangeRateAmount"] == 1.27 and rates[0]["startingDate"] == "2026-01-01"


def test_dimension_values_under_their_dimension(api: httpx.Client, us01: str) -> None:
    dim = ok(api.get(f"{us01}/dimensions?$filter=code eq 'SERVICEOFFERING'"))["value"][0]
    values = ok(api.get(f"{us01}/dimensions({dim['id']})/dimensionValues"))["value"]
    assert {v["code"] for v in values} == {"IMPL", "ADVISORY", "SUPPORT", "TRAINING"}
    assert all(v["dimensionId"] == dim["id"] for v in values)


def test_extension_job_tasks_and_time_entries(ext: httpx.Client, api: httpx.Client, us01: str,
                                              box: BusinessCentralSandbox) -> None:
    box.add_employee("US01", "R-1", "Alan", "Turing")
    created(api.post(f"{us01}/projects", json={"number": "PRJ-9", "displayName": "Migration"}))
    task = created(ext.post(f"{us01}/jobTasks", json={"jobNumber": "PRJ-9", "jobTaskNumber": "100",
                                                      "description": "Design"}))
    assert task["jobTaskType"] == "Posting"
    error_of(ext.post(f"{us01}/jobTasks", json={"jobNumber": "PRJ-9", "jobTaskNumber": "100"}), 400,
             "Internal_EntityWithSameKeyExists")
    error_of(ext.post(f"{us01}/jobTasks", json={"jobNumber": "NOPE", "jobTaskNumber": "1"}), 400,
             "Application_DialogException")
    body = {"externalId": "te-1", "jobNumber": "PRJ-9", "jobTaskNumber": "100", "employeeNumber": "R-1",
            "postingDate": "2026-11-03", "quantity": 1.25, "unitPrice": 180.10, "currencyCode": "USD",
            "chargeable": True, "serviceOffering": "IMPL", "legalEntity": "US01"}
    entry = created(ext.post(f"{us01}/timeEntries", json=body))
    second = created(ext.post(f"{us01}/timeEntries", json={**body, "externalId": "te-2", "quantity": 2}))
    assert entry["totalPrice"] == 225.13 and entry["invoiced"] is False
    error_of(ext.post(f"{us01}/timeEntries", json=body), 400, "Internal_EntityWithSameKeyExists")
    found = ok(ext.get(f"{us01}/timeEntries?$filter=externalId eq 'te-1'"))["value"]
    assert [e["id"] for e in found] == [entry["id"]]
    error_of(ext.get(f"{us01}/timeEntries?$filter=externalId in ('te-1','te-2')"), 400, "BadRequest")
    both = ok(ext.get(f"{us01}/timeEntries?$filter=externalId in ('te-1','te-2')&$schemaversion=2.1"))["value"]
    assert {e["id"] for e in both} == {entry["id"], second["id"]}
    box.mark_time_invoiced("US01", entry["id"])
    message = error_of(ext.patch(f"{us01}/timeEntries({entry['id']})", json={"quantity": 2},
                                 headers={"If-Match": "*"}), 400, "Application_DialogException")
    assert "invoiced" in message
    assert box.records("US01", "timeEntries")[0]["totalPrice"] == Decimal("225.13")
    # the extension's sets are not on the standard route, nor the standard ones on the extension's
    error_of(api.get(f"{us01}/timeEntries"), 404, "BadRequest_ResourceNotFound")
    error_of(ext.get(f"{us01}/customers"), 404, "BadRequest_ResourceNotFound")


def test_jobs_page_shows_project_status(ext: httpx.Client, api: httpx.Client, us01: str,
                                        box: BusinessCentralSandbox) -> None:
    created(api.post(f"{us01}/projects", json={"number": "PRJ-C", "displayName": "Closing"}))
    jobs = ok(ext.get(f"{us01}/jobs", params={"$filter": "number in ('PRJ-C','OTHER')",
                                                                   "$schemaversion": "2.1"}))["value"]
    assert [(j["number"], j["description"], j["status"], j["endingDate"]) for j in jobs] == [
        ("PRJ-C", "Closing", "Open", "0001-01-01")]
    box.complete_project("US01", "PRJ-C")
    job = ok(ext.get(f"{us01}/jobs", params={"$filter": "number eq 'PRJ-C'"}))["value"][0]
    assert job["status"] == "Completed" and job["endingDate"] != "0001-01-01"
    error_of(ext.post(f"{us01}/jobs", json={}), 405, "BadRequest_MethodNotAllowed")
    project = ok(api.get(f"{us01}/projects", params={"$filter": "number eq 'PRJ-C'"}))["value"][0]
    assert set(project) == {"@odata.etag", "id", "number", "displayName", "lastModifiedDateTime"}


def test_company_information_gives_the_local_currency(api: httpx.Client, box: BusinessCentralSandbox) -> None:
    for code, currency in (("US01", "USD"), ("UK01", "GBP")):
        info = ok(api.get(f"companies({box.company_ids()[code]})/companyInformation"))["value"]
        assert len(info) == 1 and info[0]["currencyCode"] == currency
        assert info[0]["currentFiscalYearStartDate"] == "2026-01-01"


def test_extension_and_document_sets_round_trip(api: httpx.Client, ext: httpx.Client, us01: str,
                                                box: BusinessCentralSandbox) -> None:
    box.add_employee("US01", "R-3", "Dorothy", "Vaughan")
    created(api.post(f"{us01}/projects", json={"number": "P-RT"}))
    _crud(ext, f"{us01}/jobTasks", {"jobNumber": "P-RT", "jobTaskNumber": "200", "description": "Build"},
          {"description": "Build and test"})
    created(ext.post(f"{us01}/jobTasks", json={"jobNumber": "P-RT", "jobTaskNumber": "300"}))
    changed = _crud(ext, f"{us01}/timeEntries",
                    {"externalId": "te-rt", "jobNumber": "P-RT", "jobTaskNumber": "300", "employeeNumber": "R-3",
                     "postingDate": "2026-11-04", "quantity": 2, "unitPrice": 99.5},
                    {"quantity": 3, "description": "more"})
    assert changed["totalPrice"] == 298.5
    customer(api, us01, "C-RT")
    customer(api, us01, "C-RT2")
    for set_name, date_field in (("salesInvoices", "invoiceDate"), ("salesOrders", "orderDate"),
                                 ("salesCreditMemos", "creditMemoDate")):
        _crud(api, f"{us01}/{set_name}", {"customerNumber": "C-RT", "externalDocumentNumber": "EXT-1",
                                          date_field: "2026-11-15"},
              {"customerNumber": "C-RT2", "externalDocumentNumber": "EXT-2"})
