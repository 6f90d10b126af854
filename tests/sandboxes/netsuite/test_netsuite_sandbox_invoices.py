"""Invoices after they are written: paid by a customer payment and credited by a credit memo through the REST
record service (each applied with its `apply` sublist), voided as an accountant does it, and read back by
SuiteQL, status and lastmodifieddate included. Plain httpx, as any client of NetSuite's protocol."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from netsuite_sandbox_calls import Caller, first_detail

from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.netsuite.app import NetSuiteSandbox


def _invoice(caller: Caller, project: dict[str, Any], external_id: str, amount: int) -> str:
    answer = caller.record("PUT", f"invoice/eid:{external_id}", {
        "entity": {"id": project["customer"]}, "tranDate": "2026-11-30", "subsidiary": {"id": project["subsidiary"]},
        "item": {"items": [{"item": {"id": "10"}, "quantity": 1, "rate": amount, "amount": amount}]}})
    assert answer.status_code == 204, answer.text
    return answer.headers["Location"].rsplit("/", 1)[1]


def _status(caller: Caller, external_id: str) -> tuple[str, str]:
    (row,) = caller.rows(f"SELECT type, status, BUILTIN.DF(status) AS shown FROM transaction WHERE externalid = "
                         f"'{external_id}'")
    return row["status"], row["shown"]


def test_a_customer_payment_applied_in_full_makes_the_invoice_paid(caller: Caller, project: dict[str, Any]) -> None:
    invoice = _invoice(caller, project, "INV-1", 1200)
    assert _status(caller, "INV-1") == ("A", "Open")
    over = caller.record("POST", "customerpayment", {"customer": {"id": project["customer"]}, "payment": 1300,
                                                     "apply": {"items": [{"doc": {"id": invoice}, "apply": True,
                                                                          "amount": 1300}]}})
    assert over.status_code == 400 and "has 1200 due" in first_detail(over)["detail"]
    part = caller.record("POST", "customerpayment", {"customer": {"id": project["customer"]}, "payment": 200,
                                                     "apply": {"items": [{"doc": {"id": invoice}, "apply": True,
                                                                          "amount": 200}]}})
    assert part.status_code == 204 and _status(caller, "INV-1") == ("A", "Open")
    rest = caller.record("POST", "customerpayment", {"customer": {"id": project["customer"]}, "payment": 1000,
                                                     "apply": {"items": [{"doc": {"id": invoice}, "apply": True,
                                                                          "amount": 1000}]}})
    assert rest.status_code == 204 and _status(caller, "INV-1") == ("B", "Paid In Full")


def test_a_credit_memo_applied_reduces_what_the_invoice_owes(caller: Caller, project: dict[str, Any]) -> None:
    invoice = _invoice(caller, project, "INV-2", 3600)
    memo = caller.record("PUT", "creditmemo/eid:CN-1-INV-2", {
        "entity": {"id": project["customer"]}, "tranDate": "2026-12-03", "subsidiary": {"id": project["subsidiary"]},
        "item": {"items": [{"item": {"id": "10"}, "quantity": 8, "rate": 150, "amount": 1200}]},
        "apply": {"items": [{"doc": {"id": invoice}, "apply": True, "amount": 1200}]}})
    assert memo.status_code == 204, memo.text
    assert _status(caller, "CN-1-INV-2") == ("B", "Fully Applied")
    assert _status(caller, "INV-2") == ("A", "Open")
    (row,) = caller.rows("SELECT type, foreigntotal FROM transaction WHERE externalid = 'CN-1-INV-2'")
    assert row == {"type": "CustCred", "foreigntotal": "1200"}
    paid = caller.record("POST", "customerpayment", {"customer": {"id": project["customer"]}, "payment": 2400,
                                                     "apply": {"items": [{"doc": {"id": invoice}, "apply": True,
                                                                          "amount": 2400}]}})
    assert paid.status_code == 204 and _status(caller, "INV-2") == ("B", "Paid In Full")


def test_a_void_zeroes_the_invoice_and_nothing_changes_it_afterwards(server: SandboxServer, caller: Caller,
                                                                     sandbox: NetSuiteSandbox,
                                                                     project: dict[str, Any]) -> None:
    before = datetime.now(UTC).date()
    invoice = _invoice(caller, project, "INV-3", 900)
    paid = _invoice(caller, project, "INV-4", 500)
    sandbox.state.pay_invoice(paid)
    voided = httpx.post(server.url + "/__sandbox/netsuite/void", json={"type": "invoice", "externalId": "INV-3"})
    assert voided.status_code == 200 and voided.json()["status"] == "Voided"
    refused = httpx.post(server.url + "/__sandbox/netsuite/void", json={"type": "invoice", "id": paid})
    assert refused.status_code == 400 and "payments or credits applied" in refused.json()["error"]
    (row,) = caller.rows("SELECT status, foreigntotal, lastmodifieddate FROM transaction WHERE externalid = 'INV-3'")
    assert row["status"] == "V" and row["foreigntotal"] == "0"
    day = f"{before.month}/{before.day}/{before.year}"
    changed = caller.rows(f"SELECT externalid FROM transaction WHERE type IN ('CustInvc', 'CustCred') AND "
                          f"lastmodifieddate >= '{day}' ORDER BY lastmodifieddate")
    assert {r["externalid"] for r in changed} == {"INV-3", "INV-4"}
    again = caller.record("PUT", "invoice/eid:INV-3", {"memo": "try again"})
    assert again.status_code == 400 and "voided" in first_detail(again)["detail"]
    credit = caller.record("POST", "creditmemo", {
        "entity": {"id": project["customer"]}, "tranDate": "2026-12-03",
        "item": {"items": [{"item": {"id": "10"}, "amount": 100}]},
        "apply": {"items": [{"doc": {"id": invoice}, "apply": True, "amount": 100}]}})
    assert credit.status_code == 400 and "voided" in first_detail(credit)["detail"]
