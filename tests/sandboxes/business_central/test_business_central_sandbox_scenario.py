"""The story hooks (`ErpScenario`): what they count, hire and delete is what a client sees over the API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from business_central_sandbox_support import created, customer, draft_invoice, error_of, ok

from q2c.sandboxes.business_central.app import BusinessCentralSandbox
from q2c.sandboxes.business_central.scenario import BusinessCentralScenario
from q2c.sandboxes.registry import ErpScenario, sandbox_spec


@pytest.fixture
def story() -> ErpScenario:
    hooks = sandbox_spec("business_central").scenario
    assert hooks is not None
    found: ErpScenario = hooks()
    assert isinstance(found, BusinessCentralScenario)
    return found


@pytest.fixture
def uk01(box: BusinessCentralSandbox) -> str:
    return f"companies({box.company_ids()['UK01']})"


def _job(api: httpx.Client, ext: httpx.Client, company: str, number: str, *tasks: str) -> None:
    created(api.post(f"{company}/projects", json={"number": number, "displayName": f"Job {number}"}))
    for task in tasks:
        created(ext.post(f"{company}/jobTasks", json={"jobNumber": number, "jobTaskNumber": task}))


def _time(ext: httpx.Client, company: str, external_id: str, job: str, task: str, employee: str) -> dict[str, Any]:
    return created(ext.post(f"{company}/timeEntries", json={
        "externalId": external_id, "jobNumber": job, "jobTaskNumber": task, "employeeNumber": employee,
        "postingDate": "2026-11-03", "quantity": 2, "unitPrice": 150}))


def _number_of(api: httpx.Client, company: str, email: str) -> str:
    (person,) = ok(api.get(f"{company}/employees", params={"$filter": f"email eq '{email}'"}))["value"]
    return str(person["number"])


def test_employee_is_hired_once_in_every_company(story: ErpScenario, box: BusinessCentralSandbox,
                                                 api: httpx.Client, us01: str, uk01: str) -> None:
    story.employee(box, first="Alice", last="Ng", email="alice@example.com")
    story.employee(box, first="Bob", last="Stone", email="bob@example.com")
    story.employee(box, first="Alice", last="Ng", email="Alice@Example.com")  # seeded again: no second Alice
    for company in (us01, uk01):
        people = ok(api.get(f"{company}/employees"))["value"]
        assert sorted((p["displayName"], p["email"], p["status"]) for p in people) == [
            ("Alice Ng", "alice@example.com", "Active"), ("Bob Stone", "bob@example.com", "Active")]
        assert len({p["number"] for p in people}) == 2 and all(p["number"] for p in people)


def test_counts_cover_every_company_and_created_keeps_deleted_ones(
        story: ErpScenario, box: BusinessCentralSandbox, api: httpx.Client, ext: httpx.Client, us01: str,
        uk01: str) -> None:
    assert {k: story.count(box, k) for k in ("customer", "project", "task", "contract", "timebill", "invoice",
                                             "journal_entry")} == dict.fromkeys(
        ("customer", "project", "task", "contract", "timebill", "invoice", "journal_entry"), 0)
    story.employee(box, first="Alice", last="Ng", email="alice@example.com")
    customer(api, us01, "C-1")
    customer(api, us01, "C-2")
    customer(api, uk01, "C-1")
    _job(api, ext, us01, "P-1", "100", "200")
    _job(api, ext, uk01, "P-2", "100")
    created(api.post(f"{us01}/salesOrders", json={"customerNumber": "C-1", "orderDate": "2026-11-02"}))
    draft_invoice(api, us01, "C-1", ("40100", "1", "10"), external="inv-1")
    draft_invoice(api, uk01, "C-1", ("40100", "1", "10"), external="inv-2")
    _time(ext, us01, "te-1", "P-1", "100", _number_of(api, us01, "alice@example.com"))
    _time(ext, uk01, "te-2", "P-2", "100", _number_of(api, uk01, "alice@example.com"))
    # C-1 in both companies is one customer (q2c writes each customer to every company under one number)
    assert [story.count(box, k) for k in ("customer", "project", "task", "contract", "timebill", "invoice")] == [
        2, 2, 3, 1, 2, 2]

    gone = ok(api.get(f"{us01}/customers", params={"$filter": "number eq 'C-2'"}))["value"][0]
    assert api.delete(f"{us01}/customers({gone['id']})", headers={"If-Match": "*"}).status_code == 204
    assert story.count(box, "customer") == 1 and story.created(box, "customer") == 2
    assert [story.created(box, k) for k in ("project", "task", "contract", "timebill", "invoice")] == [2, 3, 1, 2, 2]


def test_a_failed_snapshot_batch_creates_nothing(story: ErpScenario, box: BusinessCentralSandbox,
                                                 api: httpx.Client, us01: str) -> None:
    body = {"requests": [
        {"id": "1", "method": "POST", "url": f"{us01}/customers", "body": {"number": "C-OK", "displayName": "A"}},
        {"id": "2", "method": "POST", "url": f"{us01}/customers", "body": {"number": "C-OK", "displayName": "B"}}]}
    answer = ok(api.post("$batch", json=body, headers={"Isolation": "snapshot"}))
    assert [r["status"] for r in answer["responses"]] == [201, 400]
    assert story.count(box, "customer") == 0 and story.created(box, "customer") == 0


def test_journal_entries_are_the_documents_posted(story: ErpScenario, box: BusinessCentralSandbox,
                                                  api: httpx.Client, us01: str, uk01: str) -> None:
    for company, documents in ((us01, ("je-1", "je-2")), (uk01, ("je-1",))):
        journal = ok(api.get(f"{company}/journals?$filter=code eq 'Q2C'"))["value"][0]
        lines = f"{company}/journals({journal['id']})/journalLines"
        for document in documents:  # two lines (debit and credit) for each entry
            for account, amount in (("1250", 100), ("40100", -100)):
                created(api.post(lines, json={"accountNumber": account, "postingDate": "2026-11-30",
                                              "documentNumber": document, "amount": amount,
                                              "description": f"{document}: revenue"}))
        assert story.count(box, "journal_entry") == (0 if company == us01 else 2)  # not posted yet
        assert api.post(f"{company}/journals({journal['id']})/Microsoft.NAV.post").status_code == 204
    customer(api, us01, "C-J")
    invoice = draft_invoice(api, us01, "C-J", ("40100", "1", "10"))
    assert api.post(f"{us01}/salesInvoices({invoice['id']})/Microsoft.NAV.post").status_code == 204
    ledger = ok(api.get(f"{us01}/generalLedgerEntries"))["value"]
    assert len({e["documentNumber"] for e in ledger}) == 3  # the invoice's entries are in the ledger too
    assert story.count(box, "journal_entry") == 3 and story.created(box, "journal_entry") == 3


def test_delete_timebill_as_a_user_would(story: ErpScenario, box: BusinessCentralSandbox, api: httpx.Client,
                                         ext: httpx.Client, us01: str, uk01: str) -> None:
    story.employee(box, first="Alice", last="Ng", email="alice@example.com")
    _job(api, ext, us01, "P-1", "100")
    _job(api, ext, uk01, "P-2", "100")
    kept = _time(ext, us01, "te-a1", "P-1", "100", _number_of(api, us01, "alice@example.com"))
    lost = _time(ext, uk01, "te-b2", "P-2", "100", _number_of(api, uk01, "alice@example.com"))
    assert sorted(story.timebill_ids(box)) == ["te-a1", "te-b2"]

    assert story.delete_timebill(box, "TE-B2") is True  # matched without case: Code values come back upper-cased
    error_of(ext.get(f"{uk01}/timeEntries({lost['id']})"), 404, "BadRequest_NotFound")
    assert ok(ext.get(f"{us01}/timeEntries({kept['id']})"))["externalId"] == "te-a1"
    assert story.timebill_ids(box) == ["te-a1"]
    assert story.count(box, "timebill") == 1 and story.created(box, "timebill") == 2
    assert story.delete_timebill(box, "te-b2") is False
    assert story.delete_timebill(box, "te-nowhere") is False

    again = _time(ext, uk01, "te-b2", "P-2", "100", _number_of(api, uk01, "alice@example.com"))  # written again
    assert again["id"] != lost["id"]
    assert sorted(story.timebill_ids(box)) == ["te-a1", "te-b2"] and story.created(box, "timebill") == 3
