"""Invoices and credit notes: a draft with G/L account lines and their dimension sets, posted; status and
changes read back; a credit memo applied to the invoice it credits; a lost post answer settled by reading."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from business_central_fixtures import CONTRACT, set_up

from q2c.connectors.business_central import BusinessCentralErp, BusinessCentralSettings
from q2c.domain.model import Invoice, InvoiceLine, InvoiceStatus
from q2c.domain.money import Money
from q2c.engine.errors import RecordRejected, TransientError
from q2c.sandboxes.business_central.app import BusinessCentralSandbox
from q2c.sandboxes.kit import Faults

INVOICE_ID = "INV-C-0061x00000AbC-0-20261130"


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def invoice(invoice_id: str = INVOICE_ID, *, kind: str = "invoice") -> Invoice:
    """9.75 h of design at 150.00 = 1,462.50 and 2.25 h of build at 200.00 = 450.00: 1,912.50."""
    sign = Decimal(-1) if kind == "credit_note" else Decimal(1)
    lines = (InvoiceLine(description="Design", quantity=sign * Decimal("9.75"), unit_price=usd("150.00"),
                         amount=usd(str(sign * Decimal("1462.50"))), phase_id="C-0061x00000AbC-0",
                         time_entry_ids=("TG-1", "TG-2")),
             InvoiceLine(description="Build", quantity=sign * Decimal("2.25"), unit_price=usd("200.00"),
                         amount=usd(str(sign * Decimal("450.00"))), phase_id="C-0061x00000AbC-0",
                         time_entry_ids=("TG-3",)))
    return Invoice(id=invoice_id, contract_id=CONTRACT.id, customer_id=CONTRACT.customer_id,
                   invoice_date=date(2026, 11, 30), currency="USD", lines=lines,
                   total=usd(str(sign * Decimal("1912.50"))), kind=kind)


OFFERINGS = {"C-0061x00000AbC-0": "IMPL"}


def test_business_central_invoice_is_posted_with_lines_and_dimensions(
        erp: BusinessCentralErp, box: BusinessCentralSandbox, settings: BusinessCentralSettings) -> None:
    set_up(erp)
    us01 = settings.companies["US01"]
    system_id = erp.upsert_invoice(invoice(), legal_entity="US01", project_id="P-0061x00000AbC", offerings=OFFERINGS)
    assert erp.upsert_invoice(invoice(), legal_entity="US01", project_id="P-0061x00000AbC",
                              offerings=OFFERINGS) == system_id  # posted: left as it is
    (held,) = [i for i in box.records(us01, "salesInvoices") if i["externalDocumentNumber"] == INVOICE_ID.upper()]
    assert (held["id"], held["status"], held["totalAmountExcludingTax"]) == (system_id, "Open", Decimal("1912.50"))
    lines = [ln for ln in box.records(us01, "salesInvoiceLines") if ln["documentId"] == system_id]
    assert sorted((ln["lineType"], ln["lineObjectNumber"], ln["quantity"], ln["unitPrice"]) for ln in lines) == [
        ("Account", "40100", Decimal("2.25"), Decimal("200.00")), ("Account", "40100", Decimal("9.75"),
                                                                    Decimal("150.00"))]
    dims = {(d["parentId"], d["code"], d["valueCode"]) for d in box.records(us01, "dimensionSetLines")}
    for line in lines:
        assert {(line["id"], "SERVICEOFFERING", "IMPL"), (line["id"], "LEGALENTITY", "US01")} <= dims
    assert erp.invoice_states([INVOICE_ID, "INV-NONE"]) == {INVOICE_ID: InvoiceStatus.POSTED}
    (doc,) = erp.documents("invoice")
    assert (doc.id, doc.total, doc.status, doc.on) == (INVOICE_ID, Decimal("1912.50"), "posted", date(2026, 11, 30))
    assert sorted(ln.amount for ln in doc.lines) == [Decimal("450.00"), Decimal("1462.50")]

    box.mark_paid(us01, system_id, paid_on=date(2026, 12, 10))
    changes = erp.invoice_changes(None)
    assert [(c.invoice_id, c.status) for c in changes] == [(INVOICE_ID, InvoiceStatus.PAID)]
    assert erp.invoice_changes(date(2000, 1, 1)) == changes and erp.invoice_changes(date(2100, 1, 1)) == []


def test_business_central_credit_note_is_a_posted_credit_memo_applied_to_its_invoice(
        erp: BusinessCentralErp, box: BusinessCentralSandbox, settings: BusinessCentralSettings) -> None:
    set_up(erp)
    us01 = settings.companies["US01"]
    invoice_system_id = erp.upsert_invoice(invoice(), legal_entity="US01", project_id=None, offerings=OFFERINGS)
    credit_id = f"CN-1-{INVOICE_ID}"
    memo_id = erp.upsert_invoice(invoice(credit_id, kind="credit_note"), legal_entity="US01", project_id=None,
                                 offerings=OFFERINGS)
    (memo,) = [m for m in box.records(us01, "salesCreditMemos") if m["id"] == memo_id]
    assert memo["invoiceId"] == invoice_system_id and memo["status"] != "Draft"
    (doc,) = erp.documents("credit_note", [credit_id])
    assert doc.total == Decimal("-1912.50") and sorted(ln.amount for ln in doc.lines) == [Decimal("-1462.50"),
                                                                                           Decimal("-450.00")]
    states = erp.invoice_states([INVOICE_ID, credit_id])
    assert states[credit_id] in (InvoiceStatus.POSTED, InvoiceStatus.PAID)


def test_business_central_lost_answers_never_create_or_post_twice(
        erp: BusinessCentralErp, box: BusinessCentralSandbox, settings: BusinessCentralSettings) -> None:
    """A third of the answers are lost after the sandbox did the work (`malformed_rate`, seeded): each upsert
    either settles within the call or leaves a transient error for the engine; one clean rerun then finds
    what was done. Every invoice exists once, posted, with its whole total."""
    set_up(erp)
    us01 = settings.companies["US01"]
    erp.upsert_invoice(invoice(), legal_entity="US01", project_id=None, offerings=OFFERINGS)  # token in hand
    ids = [f"{INVOICE_ID}-{n}" for n in range(1, 9)]
    lost = 0
    for n, invoice_id in enumerate(ids):
        box.set_faults(Faults(malformed_rate=0.35, seed=n))
        try:
            erp.upsert_invoice(invoice(invoice_id), legal_entity="US01", project_id=None, offerings=OFFERINGS)
        except TransientError:
            lost += 1
        box.set_faults(Faults())
        erp.upsert_invoice(invoice(invoice_id), legal_entity="US01", project_id=None, offerings=OFFERINGS)
    assert box.stats.garbled > len(ids)  # answers were lost along the way
    held = [i for i in box.records(us01, "salesInvoices") if i["externalDocumentNumber"] in {i.upper() for i in ids}]
    assert sorted(i["customerPurchaseOrderReference"] for i in held) == sorted(ids)  # none twice
    assert {i["status"] for i in held} == {"Open"}
    assert {i["totalAmountExcludingTax"] for i in held} == {Decimal("1912.50")}
    assert lost <= len(ids)


def test_business_central_refusal_names_the_record_and_field(erp: BusinessCentralErp) -> None:
    """A sales order for a customer Business Central does not have: its own message, on the contract."""
    stranger = CONTRACT.model_copy(update={"id": "C-NOCUSTOMER", "customer_id": "001NOSUCHCUSTOMER"})
    with pytest.raises(RecordRejected) as caught:
        erp.upsert_contract(stranger, project_id="P-NONE")
    violation = caught.value.violation
    assert (violation.system, violation.object, violation.record_id) == ("business_central", "contract",
                                                                         "C-NOCUSTOMER")
    assert "Customer" in violation.message and "CorrelationId" not in violation.message
