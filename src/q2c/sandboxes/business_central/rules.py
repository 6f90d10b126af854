"""What Business Central's pages do with a write: defaults, number series, look-ups, uniqueness, and
the document rules (a posted document is read-only; lines recompute the header's totals).

Documented: "A customerNumber or a customerID must be provided." (OData error codes article); a posted
sales invoice or credit memo keeps its id and takes a number from the posted series (the v2.0 reference's
examples); lines' `lineType` `Account` posts to the G/L account named by `lineObjectNumber`. Recalled or
the sandbox's own: the series formats (C00010, J00010, E0010, S-ORD101001, S-INV100001, S-CR100001), the
wording of messages, and that tax is zero (the demo companies have no tax set-up).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from q2c.sandboxes.business_central.fields import by_number_or_id, money, require_unique, series_number
from q2c.sandboxes.business_central.schema import EntitySet
from q2c.sandboxes.business_central.store import Book, Row, Store
from q2c.sandboxes.business_central.wire import BLANK_DATE, EMPTY_GUID, BcError, dialog

DOCUMENTS = {"salesOrders": ("S-ORD", 101001), "salesInvoices": ("S-INV", 100001),
             "salesCreditMemos": ("S-CR", 100001)}
LINES = {"salesOrderLines": "salesOrders", "salesInvoiceLines": "salesInvoices",
         "salesCreditMemoLines": "salesCreditMemos"}
DOCUMENT_DATE = {"salesOrders": "orderDate", "salesInvoices": "invoiceDate", "salesCreditMemos": "creditMemoDate"}
PARENT_TYPES = {"salesOrders": "Sales Order", "salesOrderLines": "Sales Order Line",
                "salesInvoices": "Sales Invoice", "salesInvoiceLines": "Sales Invoice Line",
                "salesCreditMemos": "Sales Credit Memo", "salesCreditMemoLines": "Sales Credit Memo Line",
                "journalLines": "Journal Line", "generalLedgerEntries": "General Ledger Entry"}


@dataclass
class Write:
    """One create or update: where it happens and, for nested sets, the row it hangs under."""

    store: Store
    book: Book
    spec: EntitySet
    row: Row | None = None  # None on create
    parent_set: str | None = None
    parent: Row | None = None

    def current(self, values: dict[str, Any], name: str) -> Any:
        if name in values:
            return values[name]
        return self.row.values.get(name) if self.row is not None else None


def today(write: Write) -> date:
    return write.store.now().date()


def _numbered(prefix: str, start: int, width: int) -> Callable[[Write, dict[str, Any]], None]:
    def rule(write: Write, values: dict[str, Any]) -> None:
        taken = {str(r.values["number"]) for r in write.book.table(write.spec.name).values()}
        if values.get("number"):
            require_unique(write.book, write.spec, write.spec.caption, write.row, number=values["number"])
        elif write.row is None:
            values["number"] = series_number(write.book, write.spec.name, start, width, prefix, taken)
    return rule


def _currency(write: Write, values: dict[str, Any]) -> None:
    """`currencyCode`/`currencyId` resolved against the company's currencies (its own currency is blank)."""
    if "currencyId" in values and values["currencyId"] != EMPTY_GUID:
        row = by_number_or_id(write.book, "currencies", "Currency", "code", None, values["currencyId"],
                              what="currencyId")
        assert row is not None
        values["currencyCode"] = row.values["code"]
    elif values.get("currencyCode") not in (None, "", write.book.currency):
        row = by_number_or_id(write.book, "currencies", "Currency", "code", values["currencyCode"], None,
                              what="currencyCode")
        assert row is not None
        values["currencyId"] = row.values["id"]
    elif "currencyCode" in values:
        values["currencyCode"], values["currencyId"] = write.book.currency, EMPTY_GUID


def _payment_terms(write: Write, values: dict[str, Any]) -> None:
    if values.get("paymentTermsId") not in (None, EMPTY_GUID):
        by_number_or_id(write.book, "paymentTerms", "Payment Terms", "code", None, values["paymentTermsId"],
                        what="paymentTermsId")


def customer(write: Write, values: dict[str, Any]) -> None:
    _numbered("C", 1, 5)(write, values)  # C00001, C00002 ...
    _currency(write, values)
    _payment_terms(write, values)
    if write.row is None:
        values.setdefault("type", "Company")
        values.setdefault("currencyCode", write.book.currency)


def employee(write: Write, values: dict[str, Any]) -> None:
    _numbered("E", 1, 4)(write, values)
    given = write.current(values, "givenName") or ""
    surname = write.current(values, "surname") or ""
    values["displayName"] = " ".join(p for p in (given, write.current(values, "middleName") or "", surname) if p)
    if write.row is None:
        values.setdefault("status", "Active")


def coded(caption: str) -> Callable[[Write, dict[str, Any]], None]:
    def rule(write: Write, values: dict[str, Any]) -> None:
        if "code" in values:
            values["code"] = str(values["code"]).upper()
            if not values["code"]:
                raise dialog(f"Code must have a value in {caption}: Code=. It cannot be zero or empty.")
            require_unique(write.book, write.spec, caption, write.row, code=values["code"])
        elif write.row is None:
            raise dialog(f"Code must have a value in {caption}: Code=. It cannot be zero or empty.")
    return rule


def journal(write: Write, values: dict[str, Any]) -> None:
    coded("Gen. Journal Batch")(write, values)
    values.setdefault("templateDisplayName", "GENERAL") if write.row is None else None
    if values.get("balancingAccountId") not in (None, EMPTY_GUID):
        account = by_number_or_id(write.book, "accounts", "G/L Account", "number", None, values["balancingAccountId"],
                                  what="balancingAccountId")
        assert account is not None
        values["balancingAccountNumber"] = account.values["number"]


def _due_date(book: Book, terms_id: str, start: date) -> date:
    terms = book.table("paymentTerms").get(terms_id)
    formula = str(terms.values["dueDateCalculation"]) if terms is not None else ""
    match = re.fullmatch(r"(\d+)([DWM])", formula.strip().upper())
    if match is None:
        return start
    count, unit = int(match.group(1)), match.group(2)
    if unit == "M":
        month = start.month - 1 + count
        year, month = start.year + month // 12, month % 12 + 1
        return date(year, month, min(start.day, 28))
    return start + timedelta(days=count * (7 if unit == "W" else 1))


def document(write: Write, values: dict[str, Any]) -> None:
    """A sales order, invoice or credit memo header: the customer, its defaults, dates and a draft number."""
    name = write.spec.name
    if write.row is not None and write.row.values["status"] != "Draft":
        raise dialog(f"You cannot change {write.spec.caption} {write.row.values['number']} because it has been "
                     f"posted (status {write.row.values['status']}).")
    chosen = by_number_or_id(write.book, "customers", "Customer", "number", values.get("customerNumber"),
                             values.get("customerId"), what="customer")
    if chosen is None and write.row is None:
        raise dialog("A customerNumber or a customerID must be provided.")
    if chosen is not None:
        cv = chosen.values
        if cv["blocked"] == "All":
            raise dialog(f"You cannot create this type of document when Customer {cv['number']} is blocked with "
                         f"type All")
        values.update(customerId=cv["id"], customerNumber=cv["number"], customerName=cv["displayName"],
                      billToName=cv["displayName"], billToCustomerId=cv["id"], billToCustomerNumber=cv["number"],
                      sellToAddressLine1=cv["addressLine1"], sellToCity=cv["city"], sellToCountry=cv["country"],
                      billToAddressLine1=cv["addressLine1"], billToCity=cv["city"], billToCountry=cv["country"])
        if "currencyCode" not in values and "currencyId" not in values:
            values["currencyCode"] = cv["currencyCode"] or write.book.currency
        if "paymentTermsId" not in values:
            values["paymentTermsId"] = cv["paymentTermsId"]
    if "currencyCode" in values or "currencyId" in values:
        _currency(write, values)
    _payment_terms(write, values)
    field = DOCUMENT_DATE[name]
    if write.current(values, field) in (None, BLANK_DATE):
        values[field] = today(write)
    if write.current(values, "postingDate") in (None, BLANK_DATE):
        values["postingDate"] = write.current(values, field)
    if name != "salesOrders" and ("paymentTermsId" in values or field in values or write.row is None) and (
            "dueDate" not in values or values["dueDate"] == BLANK_DATE):
        values["dueDate"] = _due_date(write.book, str(write.current(values, "paymentTermsId")),
                                      write.current(values, field))
    if write.row is None:
        prefix, start = DOCUMENTS[name]
        values["status"] = "Draft"
        taken = {str(r.values["number"]) for r in write.book.table(name).values()}
        values["number"] = series_number(write.book, name, start, 6, prefix, taken)


def editable_document(book: Book, header_set: str, header: Row) -> None:
    if header.values.get("status", "Draft") != "Draft":
        raise dialog(f"You cannot change {header_set[:-1]} {header.values['number']} because it has been posted "
                     f"(status {header.values['status']}).")


def line(write: Write, values: dict[str, Any]) -> None:
    """A document line: an Account line names a posting G/L account; amounts are computed, tax is zero."""
    header_set = LINES[write.spec.name]
    header = write.parent if write.parent is not None else write.book.table(header_set).get(
        str(write.current(values, "documentId")))
    if header is None:
        raise dialog(f"The {header_set[:-1]} does not exist. Identification fields and values: "
                     f"Id='{write.current(values, 'documentId')}'")
    editable_document(write.book, header_set, header)
    values["documentId"] = header.values["id"]
    if write.row is None:
        siblings = [r for r in write.book.table(write.spec.name).values()
                    if r.values["documentId"] == header.values["id"]]
        if not values.get("sequence"):
            values["sequence"] = 10000 * (len(siblings) + 1)
        values.setdefault("lineType", "Item" if "lineObjectNumber" in values or "itemId" in values else "Comment")
    kind = write.current(values, "lineType")
    if kind == "Account":
        account = by_number_or_id(write.book, "accounts", "G/L Account", "number", values.get("lineObjectNumber"),
                                  values.get("accountId"), what="lineObjectNumber")
        if account is not None:
            if account.values["accountType"] != "Posting" or account.values["blocked"]:
                raise BcError(400, "Application_FieldValidationException",
                              f"Account Type must be equal to 'Posting'  in G/L Account: No.="
                              f"{account.values['number']}. Current value is '{account.values['accountType']}'.")
            values.update(lineObjectNumber=account.values["number"], accountId=account.values["id"])
            values.setdefault("description", account.values["displayName"]) if write.row is None else None
        elif write.row is None:
            raise dialog("You must specify a lineObjectNumber or an accountId for a line of type Account.")
    elif kind == "Comment":
        values.update(quantity=Decimal(0), unitPrice=Decimal(0))
    elif kind != "Account":
        number = write.current(values, "lineObjectNumber")
        raise dialog(f"The {kind} does not exist. Identification fields and values: No.='{number}'")
    quantity = Decimal(write.current(values, "quantity") or 0)
    price = Decimal(write.current(values, "unitPrice") or 0)
    gross = money(quantity * price)
    if "discountPercent" in values and "discountAmount" not in values:
        values["discountAmount"] = money(gross * Decimal(values["discountPercent"]) / 100)
    amount = gross - Decimal(write.current(values, "discountAmount") or 0)
    values.update(amountExcludingTax=amount, taxPercent=Decimal(0), totalTaxAmount=Decimal(0),
                  amountIncludingTax=amount, netAmount=amount, netTaxAmount=Decimal(0), netAmountIncludingTax=amount)


def recompute_totals(store: Store, book: Book, header_set: str, header: Row) -> None:
    """The header's totals as the sum of its lines (a change to a line notifies the header's subscribers)."""
    from q2c.sandboxes.business_central.schema import STANDARD, entity_set

    line_set = next(k for k, v in LINES.items() if v == header_set)
    lines = [r for r in book.table(line_set).values() if r.values["documentId"] == header.values["id"]]
    total = sum((Decimal(r.values["amountExcludingTax"]) for r in lines), Decimal(0))
    spec = entity_set(STANDARD, header_set)
    assert spec is not None
    changes: dict[str, Any] = {"totalAmountExcludingTax": total, "totalTaxAmount": Decimal(0),
                               "totalAmountIncludingTax": total}
    if spec.prop("remainingAmount") is not None and header.values["status"] == "Draft":
        changes["remainingAmount"] = total
    store.touch(book, spec, header, changes)


def journal_line(write: Write, values: dict[str, Any]) -> None:
    journal_row = write.parent if write.parent is not None else write.book.table("journals").get(
        str(write.current(values, "journalId")))
    if journal_row is None:
        raise dialog(f"The Gen. Journal Batch does not exist. Identification fields and values: "
                     f"Id='{write.current(values, 'journalId')}'")
    values.update(journalId=journal_row.values["id"], journalDisplayName=journal_row.values["displayName"])
    if write.row is None:
        siblings = [r for r in write.book.table("journalLines").values()
                    if r.values["journalId"] == journal_row.values["id"]]
        if not values.get("lineNumber"):
            values["lineNumber"] = 10000 * (len(siblings) + 1)
        values.setdefault("accountType", "G/L Account")
        if write.current(values, "postingDate") in (None, BLANK_DATE):
            values["postingDate"] = today(write)
    for kind_field, id_field, number_field in (("accountType", "accountId", "accountNumber"),
                                               ("balanceAccountType", "balancingAccountId", "balancingAccountNumber")):
        kind = write.current(values, kind_field) or "G/L Account"
        if id_field not in values and number_field not in values:
            continue
        table, caption = ("customers", "Customer") if kind == "Customer" else ("accounts", "G/L Account")
        if kind not in ("G/L Account", "Customer"):
            raise dialog(f"{kind_field} {kind} is not set up in this company.")
        row = by_number_or_id(write.book, table, caption, "number", values.get(number_field), values.get(id_field),
                              what=number_field)
        if row is not None:
            values.update({id_field: row.values["id"], number_field: row.values["number"]})


def job_task(write: Write, values: dict[str, Any]) -> None:
    job = write.current(values, "jobNumber")
    if write.book.find("projects", number=job) is None:
        raise dialog(f"The Job does not exist. Identification fields and values: No.='{job}'")
    if not write.current(values, "jobTaskNumber"):
        raise dialog("Job Task No. must have a value in Job Task. It cannot be zero or empty.")
    require_unique(write.book, write.spec, "Job Task", write.row, jobNumber=job,
                   jobTaskNumber=write.current(values, "jobTaskNumber"))
    if write.row is None:
        values.setdefault("jobTaskType", "Posting")


def time_entry(write: Write, values: dict[str, Any]) -> None:
    """q2c's rated time: unique `externalId`, existing job, task and resource; an invoiced entry is frozen."""
    if write.row is not None and write.row.values["invoiced"]:
        raise dialog(f"Time entry {write.row.values['externalId']} has been invoiced and can no longer be changed.")
    if not write.current(values, "externalId"):
        raise dialog("externalId must have a value in Time Entry. It cannot be zero or empty.")
    require_unique(write.book, write.spec, "Time Entry", write.row, externalId=write.current(values, "externalId"))
    job = write.current(values, "jobNumber")
    if write.book.find("projects", number=job) is None:
        raise dialog(f"The Job does not exist. Identification fields and values: No.='{job}'")
    task = write.current(values, "jobTaskNumber")
    if task and write.book.find("jobTasks", jobNumber=job, jobTaskNumber=task) is None:
        raise dialog(f"The Job Task does not exist. Identification fields and values: Job No.='{job}',"
                     f"Job Task No.='{task}'")
    person = write.current(values, "employeeNumber")
    if write.book.find("employees", number=person) is None:
        raise dialog(f"The Resource does not exist. Identification fields and values: No.='{person}'")
    if write.current(values, "postingDate") in (None, BLANK_DATE):
        raise dialog("Posting Date must have a value in Job Journal Line. It cannot be zero or empty.")
    code = write.current(values, "currencyCode") or write.book.currency
    if code != write.book.currency and write.book.find("currencies", code=code) is None:
        raise dialog(f"The Currency does not exist. Identification fields and values: Code='{code}'")
    values["currencyCode"] = code
    values["totalPrice"] = money(Decimal(write.current(values, "quantity") or 0) *
                                 Decimal(write.current(values, "unitPrice") or 0))


def time_registration(write: Write, values: dict[str, Any]) -> None:
    person = by_number_or_id(write.book, "employees", "Employee", "number", values.get("employeeNumber"),
                             values.get("employeeId"), what="employee")
    if person is None and write.row is None:
        raise dialog("An employeeNumber or an employeeId must be provided.")
    if person is not None:
        values.update(employeeId=person.values["id"], employeeNumber=person.values["number"])
    job = by_number_or_id(write.book, "projects", "Job", "number", values.get("jobNumber"), values.get("jobId"),
                          what="job")
    if job is not None:
        values.update(jobId=job.values["id"], jobNumber=job.values["number"])
    task = write.current(values, "jobTaskNumber")
    if task and write.book.find("jobTasks", jobNumber=write.current(values, "jobNumber"), jobTaskNumber=task) is None:
        raise dialog(f"The Job Task does not exist. Identification fields and values: "
                     f"Job No.='{write.current(values, 'jobNumber')}',Job Task No.='{task}'")
    if write.row is None:
        values["lineNumber"] = 10000 * (len(write.book.table("timeRegistrationEntries")) + 1)
        values["status"] = "Open"
        values.setdefault("unitOfMeasureCode", "HOUR")
        if values.get("date") in (None, BLANK_DATE):
            values["date"] = today(write)


def project(write: Write, values: dict[str, Any]) -> None:
    """A job: the standard page shows number and name; the extension's `jobs` page also its status."""
    _numbered("J", 10, 5)(write, values)
    if "displayName" in values:
        values["description"] = values["displayName"]
    if write.row is None:
        values.update(status="Open", endingDate=BLANK_DATE)


RULES: dict[str, Callable[[Write, dict[str, Any]], None]] = {
    "customers": customer, "projects": project, "employees": employee,
    "timeRegistrationEntries": time_registration, "salesOrders": document, "salesInvoices": document,
    "salesCreditMemos": document, "salesOrderLines": line, "salesInvoiceLines": line, "salesCreditMemoLines": line,
    "journals": journal, "journalLines": journal_line, "currencies": coded("Currency"),
    "paymentTerms": coded("Payment Terms"), "jobTasks": job_task, "timeEntries": time_entry,
}
