"""Sales documents, their lines and dimensions, the post actions, journals and the G/L entries they write."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from business_central_sandbox_support import created, customer, draft_invoice, error_of, ok

from q2c.sandboxes.business_central.app import BusinessCentralSandbox


def _entries(api: httpx.Client, company: str, document: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = ok(api.get(f"{company}/generalLedgerEntries", params={
        "$filter": f"documentNumber eq '{document}'", "$expand": "dimensionSetLines"}))["value"]
    return entries


def test_invoice_lines_dimensions_post_and_ledger(api: httpx.Client, us01: str, box: BusinessCentralSandbox) -> None:
    customer(api, us01, "C-INV", paymentTermsId=ok(api.get(f"{us01}/paymentTerms?$filter=code eq '30 DAYS'"))
             ["value"][0]["id"])
    invoice = draft_invoice(api, us01, "C-INV", ("40100", "10", "150.25"), ("40200", "1", "999.99"))
    assert invoice["status"] == "Draft" and invoice["number"].startswith("S-INV")
    assert invoice["totalAmountExcludingTax"] == 2502.49 and invoice["dueDate"] == "2026-12-30"
    path = f"{us01}/salesInvoices({invoice['id']})"
    lines = ok(api.get(f"{path}/salesInvoiceLines"))["value"]
    assert [line["sequence"] for line in lines] == [10000, 20000]
    assert lines[0]["amountExcludingTax"] == 1502.5 and lines[0]["accountId"]
    created(api.post(f"{path}/dimensionSetLines", json={"code": "LEGALENTITY", "valueCode": "US01"}))
    created(api.post(f"{path}/salesInvoiceLines({lines[0]['id']})/dimensionSetLines",
                     json={"code": "SERVICEOFFERING", "valueCode": "IMPL"}))
    error_of(api.post(f"{path}/dimensionSetLines", json={"code": "LEGALENTITY", "valueCode": "UK01"}), 400,
             "Internal_EntityWithSameKeyExists")
    error_of(api.post(f"{path}/dimensionSetLines", json={"code": "LEGALENTITY", "valueCode": "XX"}), 400,
             "Application_DialogException")
    expanded = ok(api.get(path, params={"$expand": "salesInvoiceLines($expand=dimensionSetLines),dimensionSetLines"}))
    assert expanded["dimensionSetLines"][0]["valueCode"] == "US01"
    assert expanded["salesInvoiceLines"][0]["dimensionSetLines"][0]["parentType"] == "Sales Invoice Line"

    assert api.post(f"{path}/Microsoft.NAV.post").status_code == 204
    posted = ok(api.get(path))
    assert posted["status"] == "Open" and posted["number"].startswith("PS-INV") and posted["id"] == invoice["id"]
    assert posted["remainingAmount"] == 2502.49
    entries = _entries(api, us01, posted["number"])
    debit = [e for e in entries if e["accountNumber"] == "1200"]
    assert debit[0]["debitAmount"] == 2502.49 and debit[0]["documentType"] == "Invoice"
    revenue = {e["accountNumber"]: e for e in entries if e["accountNumber"] != "1200"}
    assert revenue["40100"]["creditAmount"] == 1502.5 and revenue["40200"]["creditAmount"] == 999.99
    assert {d["code"]: d["valueCode"] for d in revenue["40100"]["dimensionSetLines"]} == {
        "LEGALENTITY": "US01", "SERVICEOFFERING": "IMPL"}
    assert box.records("US01", "customers")[0]["balanceDue"] == Decimal("2502.49")

    message = error_of(api.patch(path, json={"externalDocumentNumber": "x"}, headers={"If-Match": "*"}), 400,
                       "Application_DialogException")
    assert "posted" in message
    error_of(api.post(f"{path}/salesInvoiceLines", json={"lineType": "Account", "lineObjectNumber": "40100"}), 400,
             "Application_DialogException")
    error_of(api.delete(path, headers={"If-Match": "*"}), 400, "Application_DialogException")
    error_of(api.post(f"{path}/Microsoft.NAV.post"), 400, "Application_DialogException")

    box.mark_paid("US01", invoice["id"])
    paid = ok(api.get(path))
    assert paid["status"] == "Paid" and paid["remainingAmount"] == 0


def test_invoice_rules(api: httpx.Client, us01: str) -> None:
    message = error_of(api.post(f"{us01}/salesInvoices", json={"externalDocumentNumber": "x"}), 400,
                       "Application_DialogException")
    assert message.startswith("A customerNumber or a customerID must be provided.")
    customer(api, us01, "C-R")
    empty = created(api.post(f"{us01}/salesInvoices", json={"customerNumber": "C-R"}))
    assert "nothing to post" in error_of(api.post(f"{us01}/salesInvoices({empty['id']})/Microsoft.NAV.post"), 400,
                                         "Application_DialogException")
    # a deep insert is one transaction: a bad line leaves no header behind
    bad = {"customerNumber": "C-R", "externalDocumentNumber": "deep-bad",
           "salesInvoiceLines": [{"lineType": "Account", "lineObjectNumber": "99999", "quantity": 1}]}
    error_of(api.post(f"{us01}/salesInvoices", json=bad), 400, "Application_DialogException")
    found = ok(api.get(f"{us01}/salesInvoices?$filter=externalDocumentNumber eq 'deep-bad'"))["value"]
    assert found == []
    line = created(api.post(f"{us01}/salesInvoices({empty['id']})/salesInvoiceLines",
                            json={"lineType": "Account", "lineObjectNumber": "40300", "quantity": 3,
                                  "unitPrice": 10}))
    assert ok(api.get(f"{us01}/salesInvoices({empty['id']})"))["totalAmountIncludingTax"] == 30
    ok(api.patch(f"{us01}/salesInvoiceLines({line['id']})", json={"quantity": 4}, headers={"If-Match": "*"}))
    assert ok(api.get(f"{us01}/salesInvoices({empty['id']})"))["totalAmountExcludingTax"] == 40
    assert api.delete(f"{us01}/salesInvoices({empty['id']})/salesInvoiceLines({line['id']})",
                      headers={"If-Match": "*"}).status_code == 204
    assert ok(api.get(f"{us01}/salesInvoices({empty['id']})"))["totalAmountExcludingTax"] == 0


def test_cancel_makes_a_corrective_credit_memo(api: httpx.Client, us01: str) -> None:
    customer(api, us01, "C-CAN")
    invoice = draft_invoice(api, us01, "C-CAN", ("40100", "2", "50"))
    path = f"{us01}/salesInvoices({invoice['id']})"
    assert api.post(f"{path}/Microsoft.NAV.post").status_code == 204
    assert api.post(f"{path}/Microsoft.NAV.cancel").status_code == 204
    assert ok(api.get(path))["status"] == "Canceled"
    memos = ok(api.get(f"{us01}/salesCreditMemos?$filter=invoiceId eq {invoice['id']}"))["value"]
    assert memos[0]["totalAmountIncludingTax"] == 100 and memos[0]["number"].startswith("PS-CR")


def test_credit_memo_post_closes_the_invoice(api: httpx.Client, us01: str) -> None:
    customer(api, us01, "C-CM")
    invoice = draft_invoice(api, us01, "C-CM", ("40100", "1", "80"))
    api.post(f"{us01}/salesInvoices({invoice['id']})/Microsoft.NAV.post")
    memo = created(api.post(f"{us01}/salesCreditMemos", json={
        "customerNumber": "C-CM", "invoiceId": invoice["id"], "externalDocumentNumber": "cm-1",
        "salesCreditMemoLines": [{"lineType": "Account", "lineObjectNumber": "40100", "quantity": 1,
                                  "unitPrice": 80}]}))
    assert memo["status"] == "Draft"
    assert api.post(f"{us01}/salesCreditMemos({memo['id']})/Microsoft.NAV.post").status_code == 204
    posted = ok(api.get(f"{us01}/salesCreditMemos({memo['id']})"))
    assert posted["number"].startswith("PS-CR")
    assert ok(api.get(f"{us01}/salesInvoices({invoice['id']})"))["status"] == "Paid"
    entries = _entries(api, us01, posted["number"])
    assert {e["accountNumber"]: (e["debitAmount"], e["creditAmount"]) for e in entries} == {
        "1200": (0, 80), "40100": (80, 0)}


def test_sales_orders_with_lines(api: httpx.Client, us01: str) -> None:
    customer(api, us01, "C-SO")
    order = created(api.post(f"{us01}/salesOrders", json={
        "customerNumber": "C-SO", "externalDocumentNumber": "so-1", "orderDate": "2026-10-01",
        "salesOrderLines": [{"lineType": "Account", "lineObjectNumber": "40400", "quantity": 1, "unitPrice": 5000}]}))
    assert order["number"].startswith("S-ORD") and order["totalAmountExcludingTax"] == 5000
    lines = ok(api.get(f"{us01}/salesOrders({order['id']})/salesOrderLines"))["value"]
    assert lines[0]["lineObjectNumber"] == "40400"
    assert api.delete(f"{us01}/salesOrders({order['id']})", headers={"If-Match": "*"}).status_code == 204
    assert ok(api.get(f"{us01}/salesOrderLines"))["value"] == []


def test_journal_post_writes_balanced_ledger_entries(api: httpx.Client, us01: str) -> None:
    journal = ok(api.get(f"{us01}/journals?$filter=code eq 'Q2C'"))["value"][0]
    lines = f"{us01}/journals({journal['id']})/journalLines"
    first = created(api.post(lines, json={"accountNumber": "1250", "postingDate": "2026-11-30",
                                          "documentNumber": "REV-1", "amount": 1000.5, "description": "Unbilled"}))
    assert first["lineNumber"] == 10000 and first["accountType"] == "G/L Account" and first["accountId"]
    created(api.post(f"{lines}({first['id']})/dimensionSetLines", json={"code": "SERVICEOFFERING",
                                                                        "valueCode": "ADVISORY"}))
    second = created(api.post(lines, json={"accountNumber": "4000", "postingDate": "2026-11-30",
                                           "documentNumber": "REV-1", "amount": -1000.4}))
    assert "out of balance" in error_of(api.post(f"{us01}/journals({journal['id']})/Microsoft.NAV.post"), 400,
                                        "Application_DialogException")
    ok(api.patch(f"{lines}({second['id']})", json={"amount": -1000.5}, headers={"If-Match": "*"}))
    assert api.post(f"{us01}/journals({journal['id']})/Microsoft.NAV.post").status_code == 204
    assert ok(api.get(lines))["value"] == []
    entries = {e["accountNumber"]: e for e in _entries(api, us01, "REV-1")}
    assert entries["1250"]["debitAmount"] == 1000.5 and entries["4000"]["creditAmount"] == 1000.5
    assert entries["1250"]["dimensionSetLines"][0]["valueCode"] == "ADVISORY"
    account = ok(api.get(f"{us01}/accounts?$filter=number eq '1250'"))["value"][0]
    assert account["netChange"] == 1000.5
    with_balancing = created(api.post(lines, json={"accountNumber": "1000", "balancingAccountNumber": "2400",
                                                   "documentNumber": "REV-2", "amount": 10}))
    assert with_balancing["balancingAccountId"]
    assert api.post(f"{us01}/journals({journal['id']})/Microsoft.NAV.post").status_code == 204
    assert {e["accountNumber"] for e in _entries(api, us01, "REV-2")} == {"1000", "2400"}
    assert "nothing to post" in error_of(api.post(f"{us01}/journals({journal['id']})/Microsoft.NAV.post"), 400,
                                         "Application_DialogException")
