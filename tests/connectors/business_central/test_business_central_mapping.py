"""Canonical records to Business Central bodies and back (pure): ids in Code fields, lines, signs, statuses."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from q2c.connectors.business_central import odata
from q2c.connectors.business_central.client import dumps
from q2c.connectors.business_central.mapping import (
    canonical_of,
    code20,
    document_lines,
    invoice_header,
    invoice_status,
    journal_entry_id,
    journal_line_bodies,
)
from q2c.connectors.business_central.settings import CompanyReferences, DimensionCodes
from q2c.domain.model import Invoice, InvoiceLine, InvoiceStatus, JournalEntry, JournalLine
from q2c.domain.money import Money
from q2c.engine.errors import RecordRejected

REFS = CompanyReferences(invoice_accounts={"time_and_materials": "40100", "milestone": "40400"},
                         default_invoice_account="40100",
                         dimensions=DimensionCodes(service_offering="SERVICEOFFERING", legal_entity="LEGALENTITY"))


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def test_business_central_ids_fit_code20_and_a_long_one_is_a_stable_digest() -> None:
    assert code20("P-0061x00000AbC") == "P-0061x00000AbC"
    long_id = "JE-REV-C-0061x00000AbC-2026-11"
    assert code20(long_id) == code20(long_id) and len(code20(long_id)) == 20 and code20(long_id).startswith("Q2C")
    assert code20(long_id) != code20(long_id + "-GBP")
    assert canonical_of("P-0061X00000ABC", ["P-0061x00000AbC"]) == "P-0061x00000AbC"  # Code fields are upper case


def _invoice(kind: str = "invoice") -> Invoice:
    sign = -1 if kind == "credit_note" else 1
    lines = (InvoiceLine(description="Design, 7.5 h", quantity=Decimal(sign) * Decimal("7.5"), unit_price=usd("150.00"),
                         amount=usd(str(sign * Decimal("1125.00"))), phase_id="C-1-0", time_entry_ids=("TG-1",)),
             InvoiceLine(description="Kick-off milestone", quantity=Decimal(sign), unit_price=usd("333.33"),
                         amount=usd(str(sign * Decimal("333.34"))), phase_id="C-1-1", milestone_id="M-1"))
    total = sum((ln.amount.amount for ln in lines), Decimal(0))
    return Invoice(id="CN-1-INV-C-1-0-20261130" if sign < 0 else "INV-C-1-0-20261130", contract_id="C-1",
                   customer_id="001xx0000003AbC", invoice_date=date(2026, 11, 30), currency="USD", lines=lines,
                   total=usd(str(total)), kind=kind)


def test_business_central_invoice_lines_are_account_lines_with_their_dimension_set() -> None:
    lines = document_lines(_invoice(), refs=REFS, legal_entity="US01", offerings={"C-1-0": "impl"}, sign=1)
    assert [ln.body for ln in lines] == [
        {"lineType": "Account", "lineObjectNumber": "40100", "description": "Design, 7.5 h",
         "quantity": Decimal("7.5"), "unitPrice": Decimal("150.00")},
        # 1 x 333.33 is not the line's 333.34: it goes in as 1 at its amount, so the totals agree
        {"lineType": "Account", "lineObjectNumber": "40400", "description": "Kick-off milestone",
         "quantity": Decimal(1), "unitPrice": Decimal("333.34")}]
    assert lines[0].dimensions == (("SERVICEOFFERING", "IMPL"), ("LEGALENTITY", "US01"))
    assert lines[1].dimensions == (("LEGALENTITY", "US01"),)  # the phase has no offering


def test_business_central_credit_memo_lines_are_positive() -> None:
    lines = document_lines(_invoice("credit_note"), refs=REFS, legal_entity="US01", offerings={}, sign=-1)
    assert [(ln.body["quantity"], ln.body["unitPrice"]) for ln in lines] == [
        (Decimal("7.5"), Decimal("150.00")), (Decimal(1), Decimal("333.34"))]
    header = invoice_header(_invoice("credit_note"), customer_number="001xx0000003AbC")
    assert header["creditMemoDate"] == "2026-11-30" and "invoiceDate" not in header


def test_business_central_line_without_account_is_refused_naming_the_key() -> None:
    with pytest.raises(RecordRejected) as caught:
        document_lines(_invoice(), refs=CompanyReferences(), legal_entity="US01", offerings={}, sign=1)
    assert caught.value.violation.field == "lines[0]" and "invoice_accounts" in caught.value.violation.action


@pytest.mark.parametrize(("status", "canonical"), [
    ("Draft", InvoiceStatus.DRAFT), ("In Review", InvoiceStatus.DRAFT), ("Open", InvoiceStatus.POSTED),
    ("Paid", InvoiceStatus.PAID), ("Canceled", InvoiceStatus.VOIDED), ("Corrective", InvoiceStatus.CREDITED)])
def test_business_central_invoice_status_in_q2c_words(status: str, canonical: InvoiceStatus) -> None:
    assert invoice_status(status, record_id="INV-1") is canonical


def test_business_central_journal_lines_carry_the_entry_id_and_amount_signs() -> None:
    entry = JournalEntry(id="JE-REV-C-0061x00000AbC-2026-11", entry_date=date(2026, 11, 30), legal_entity="US01",
                         memo="Revenue November", source="revenue:C-1:2026-11", lines=(
                             JournalLine(account="1250 Unbilled Receivables", debit=usd("1800.00"), credit=usd("0")),
                             JournalLine(account="4000 Services Revenue", debit=usd("0"), credit=usd("1800.00"),
                                         dimensions={"service_line": "IMPL"})))
    number = code20(entry.id)
    bodies = journal_line_bodies(entry, document_number=number)
    assert [(b["accountNumber"], b["amount"]) for b, _ in bodies] == [("1250", Decimal("1800.00")),
                                                                       ("4000", Decimal("-1800.00"))]
    assert bodies[1][1] == {"service_line": "IMPL"}
    description = bodies[0][0]["description"]
    assert journal_entry_id(description, number) == entry.id
    assert journal_entry_id(description, "OTHER") is None


def test_business_central_error_body_names_the_field_and_drops_the_correlation_id() -> None:
    error = odata.parse_error({"error": {"code": "Internal_RecordNotFound", "message": (
        "The field Customer No. of table Sales Header contains a value (X1) that cannot be found in the related "
        "table (Customer).  CorrelationId:  0a1b2c3d-aaaa-bbbb-cccc-000000000000.")}}, 400)
    assert error.code == "Internal_RecordNotFound" and error.field == "Customer No."
    assert "CorrelationId" not in error.message and error.correlation_id == "0a1b2c3d-aaaa-bbbb-cccc-000000000000"
    assert odata.one_of("externalId", ["a'b", "c"]) == "externalId in ('a''b','c')"


def test_business_central_decimals_go_out_as_json_numbers() -> None:
    sent = dumps({"quantity": Decimal("1.50"), "lines": [{"unitPrice": Decimal("150.00")}], "text": "1.5"})
    assert sent == b'{"quantity":1.50,"lines":[{"unitPrice":150.00}],"text":"1.5"}'
    assert json.loads(sent, parse_float=Decimal)["quantity"] == Decimal("1.50")
