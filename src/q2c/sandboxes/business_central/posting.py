"""Posting: sales invoices and credit memos, general journals, payments and cancellations, with the G/L
entries they write.

Documented (v2.0 reference): `salesInvoices({id})/Microsoft.NAV.post`, `salesCreditMemos({id})/Microsoft.NAV.post`,
`journals({id})/Microsoft.NAV.post` and `salesInvoices({id})/Microsoft.NAV.cancel` answer 204 without a
body; a posted invoice keeps its id, shows status `Open` and later `Paid` (or `Canceled`). Recalled: "There
is nothing to post." for a document without lines; posting deletes the journal's lines; the series
formats (PS-INV103001, PS-CR104001); the "out of balance" wording. The sandbox's own: receivables post to
G/L account 1200 and payments to 1000 (the demo chart of accounts).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from q2c.sandboxes.business_central import dims
from q2c.sandboxes.business_central.fields import series_number
from q2c.sandboxes.business_central.rules import LINES
from q2c.sandboxes.business_central.schema import STANDARD, EntitySet, entity_set
from q2c.sandboxes.business_central.store import Book, Row, Store
from q2c.sandboxes.business_central.wire import dialog

RECEIVABLES, CASH = "1200", "1000"


def _spec(name: str) -> EntitySet:
    spec = entity_set(STANDARD, name)
    assert spec is not None
    return spec


def gl_entry(store: Store, book: Book, *, posting_date: date, document_number: str, document_type: str,
             account_number: str, amount: Decimal, description: str, dimensions: dict[str, str]) -> Row:
    """One G/L entry: a positive amount is a debit, a negative one a credit; it keeps the dimensions."""
    account = book.find("accounts", number=account_number)
    if account is None:
        raise dialog(f"The G/L Account does not exist. Identification fields and values: No.='{account_number}'")
    entries = book.table("generalLedgerEntries")
    spec = _spec("generalLedgerEntries")
    row = store.new_row(spec, {
        "entryNumber": len(entries) + 1, "postingDate": posting_date, "documentNumber": document_number,
        "documentType": document_type, "accountId": account.values["id"], "accountNumber": account_number,
        "description": description, "debitAmount": amount if amount > 0 else Decimal(0),
        "creditAmount": -amount if amount < 0 else Decimal(0)})
    store.insert(book, spec, row)
    store.touch(book, _spec("accounts"), account, {"netChange": Decimal(account.values["netChange"]) + amount})
    dim_spec = _spec("dimensionSetLines")
    for code, value_code in dimensions.items():
        dimension = book.find("dimensions", code=code)
        value = dimension and book.find("dimensionValues", dimensionId=dimension.values["id"], code=value_code)
        if dimension is None or value is None:
            continue
        line = store.new_row(dim_spec, {
            "id": dimension.values["id"], "code": code, "displayName": dimension.values["displayName"],
            "parentId": row.values["id"], "parentType": "General Ledger Entry", "valueId": value.values["id"],
            "valueCode": value_code, "valueDisplayName": value.values["displayName"]})
        book.table(dims.TABLE)[dims.key(str(row.values["id"]), str(dimension.values["id"]))] = line
    return row


def _balance(store: Store, book: Book, customer_id: str, delta: Decimal) -> None:
    customer = book.table("customers").get(customer_id)
    if customer is not None:
        store.touch(book, _spec("customers"), customer, {"balanceDue": Decimal(customer.values["balanceDue"]) + delta})


def _document_lines(book: Book, header_set: str, header: Row) -> list[Row]:
    line_set = next(k for k, v in LINES.items() if v == header_set)
    rows = [r for r in book.table(line_set).values() if r.values["documentId"] == header.values["id"]]
    return sorted(rows, key=lambda r: int(r.values["sequence"]))


def post_document(store: Store, book: Book, header_set: str, header: Row) -> None:
    """Post a draft invoice (sign +1: receivable up, revenue credited) or credit memo (sign -1)."""
    if header.values["status"] != "Draft":
        raise dialog(f"{header.values['number']} has already been posted.")
    lines = [r for r in _document_lines(book, header_set, header) if r.values["lineType"] != "Comment"]
    if not lines:
        raise dialog("There is nothing to post.")
    invoice = header_set == "salesInvoices"
    sign = Decimal(1) if invoice else Decimal(-1)
    prefix, start = ("PS-INV", 103001) if invoice else ("PS-CR", 104001)
    taken = {str(r.values["number"]) for r in book.table(header_set).values()}
    number = series_number(book, f"posted {header_set}", start, 6, prefix, taken)
    posting_date = header.values["postingDate"]
    total = sum((Decimal(r.values["amountExcludingTax"]) for r in lines), Decimal(0))
    kind = "Invoice" if invoice else "Credit Memo"
    header_dims = dims.codes(book, str(header.values["id"]))
    gl_entry(store, book, posting_date=posting_date, document_number=number, document_type=kind,
             account_number=RECEIVABLES, amount=sign * total, description=f"{kind} {number}",
             dimensions=header_dims)
    for line in lines:
        gl_entry(store, book, posting_date=posting_date, document_number=number, document_type=kind,
                 account_number=str(line.values["lineObjectNumber"]),
                 amount=-sign * Decimal(line.values["amountExcludingTax"]),
                 description=str(line.values["description"]),
                 dimensions=dims.codes(book, str(header.values["id"]), str(line.values["id"])))
    _balance(store, book, str(header.values["customerId"]), sign * total)
    changes: dict[str, Any] = {"number": number, "status": "Open"}
    if invoice:
        changes["remainingAmount"] = total
    store.touch(book, _spec(header_set), header, changes)
    if not invoice:
        _apply_credit(store, book, header, total)


def _apply_credit(store: Store, book: Book, memo: Row, total: Decimal) -> None:
    """A posted credit memo for a posted invoice closes as much of it as it covers."""
    invoice = book.table("salesInvoices").get(str(memo.values["invoiceId"]))
    if invoice is None or invoice.values["status"] != "Open":
        return
    remaining = Decimal(invoice.values["remainingAmount"]) - total
    if remaining <= 0:
        store.touch(book, _spec("salesInvoices"), invoice, {"remainingAmount": Decimal(0), "status": "Paid"})
        store.touch(book, _spec("salesCreditMemos"), memo, {"status": "Paid"})
    else:
        store.touch(book, _spec("salesInvoices"), invoice, {"remainingAmount": remaining})


def pay_invoice(store: Store, book: Book, invoice: Row, *, paid_on: date | None = None) -> None:
    """A customer payment applied to a posted invoice: cash debited, receivables credited, status Paid."""
    if invoice.values["status"] != "Open":
        raise dialog(f"Invoice {invoice.values['number']} is {invoice.values['status']}, not open: it cannot be paid.")
    amount = Decimal(invoice.values["remainingAmount"])
    day = paid_on or store.now().date()
    number = f"PAY-{invoice.values['number']}"
    gl_entry(store, book, posting_date=day, document_number=number, document_type="Payment", account_number=CASH,
             amount=amount, description=f"Payment {invoice.values['number']}", dimensions={})
    gl_entry(store, book, posting_date=day, document_number=number, document_type="Payment",
             account_number=RECEIVABLES, amount=-amount, description=f"Payment {invoice.values['number']}",
             dimensions={})
    _balance(store, book, str(invoice.values["customerId"]), -amount)
    store.touch(book, _spec("salesInvoices"), invoice, {"remainingAmount": Decimal(0), "status": "Paid"})


def cancel_invoice(store: Store, book: Book, invoice: Row) -> Row:
    """`Microsoft.NAV.cancel`: a corrective credit memo reverses an unpaid posted invoice."""
    if invoice.values["status"] != "Open" or Decimal(invoice.values["remainingAmount"]) != Decimal(
            invoice.values["totalAmountIncludingTax"]):
        state = "fully or partially paid" if invoice.values["status"] in ("Open", "Paid") else invoice.values["status"]
        raise dialog(f"You cannot cancel posted sales invoice {invoice.values['number']} because it is {state}.")
    spec = _spec("salesCreditMemos")
    taken = {str(r.values["number"]) for r in book.table("salesCreditMemos").values()}
    number = series_number(book, "posted salesCreditMemos", 104001, 6, "PS-CR", taken)
    total = Decimal(invoice.values["totalAmountExcludingTax"])
    copied = {k: invoice.values[k] for k in ("customerId", "customerNumber", "customerName", "billToName",
                                             "billToCustomerId", "billToCustomerNumber", "currencyId",
                                             "currencyCode", "paymentTermsId")}
    memo = store.new_row(spec, {**copied, "number": number, "status": "Paid",
                                "creditMemoDate": store.now().date(), "postingDate": store.now().date(),
                                "dueDate": store.now().date(), "invoiceId": invoice.values["id"],
                                "invoiceNumber": invoice.values["number"], "totalAmountExcludingTax": total,
                                "totalAmountIncludingTax": total})
    store.insert(book, spec, memo)
    day = store.now().date()
    gl_entry(store, book, posting_date=day, document_number=number, document_type="Credit Memo",
             account_number=RECEIVABLES, amount=-total, description=f"Cancel {invoice.values['number']}",
             dimensions=dims.codes(book, str(invoice.values["id"])))
    for line in _document_lines(book, "salesInvoices", invoice):
        if line.values["lineType"] == "Account":
            gl_entry(store, book, posting_date=day, document_number=number, document_type="Credit Memo",
                     account_number=str(line.values["lineObjectNumber"]),
                     amount=Decimal(line.values["amountExcludingTax"]),
                     description=str(line.values["description"]),
                     dimensions=dims.codes(book, str(invoice.values["id"]), str(line.values["id"])))
    _balance(store, book, str(invoice.values["customerId"]), -total)
    store.touch(book, _spec("salesInvoices"), invoice, {"remainingAmount": Decimal(0), "status": "Canceled"})
    return memo


def post_journal(store: Store, book: Book, journal: Row) -> None:
    """Post every line of a general journal batch, each document balanced, then empty the batch."""
    lines = sorted((r for r in book.table("journalLines").values() if r.values["journalId"] == journal.values["id"]),
                   key=lambda r: int(r.values["lineNumber"]))
    if not lines:
        raise dialog("There is nothing to post.")
    balance: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for line in lines:
        if not line.values["accountNumber"]:
            raise dialog(f"Account No. must have a value in Gen. Journal Line: Journal Batch Name="
                         f"{journal.values['code']}, Line No.={line.values['lineNumber']}. It cannot be zero or empty.")
        if not line.values["balancingAccountNumber"]:
            balance[(str(line.values["documentNumber"]), line.values["postingDate"])] += Decimal(line.values["amount"])
    for (document, day), amount in balance.items():
        if amount != 0:
            raise dialog(f"Document No. {document} is out of balance by {amount:.2f}. Please check that Posting "
                         f"Date, Document No., Document Type, and Currency are correct for each line ({day}).")
    for line in lines:
        v = line.values
        amount = Decimal(v["amount"])
        line_dims = dims.codes(book, str(v["id"]))
        for kind, number, signed in ((v["accountType"], v["accountNumber"], amount),
                                     (v["balanceAccountType"], v["balancingAccountNumber"], -amount)):
            if not number:
                continue
            customer = book.find("customers", number=number) if kind == "Customer" else None
            account = RECEIVABLES if customer is not None else str(number)
            gl_entry(store, book, posting_date=v["postingDate"], document_number=str(v["documentNumber"]),
                     document_type=" ", account_number=account, amount=signed, description=str(v["description"]),
                     dimensions=line_dims)
            if customer is not None:
                _balance(store, book, str(customer.values["id"]), signed)
    book.journal_documents.update(str(line.values["documentNumber"]).upper() for line in lines)
    spec = _spec("journalLines")
    for line in lines:
        for dim_key in [k for k, r in book.table(dims.TABLE).items() if r.values["parentId"] == line.values["id"]]:
            del book.table(dims.TABLE)[dim_key]
        store.remove(book, spec, str(line.values["id"]))
