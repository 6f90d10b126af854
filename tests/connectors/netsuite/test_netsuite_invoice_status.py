"""The ERP port's invoice side against the sandbox: a credit note goes in as a credit memo applied to the invoice
it credits, and invoice and credit memo status come back by id and by lastmodifieddate."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from netsuite_fixtures import seed_project

from q2c.connectors.netsuite.client import NetSuiteClient, suiteql_date
from q2c.connectors.netsuite.erp import NetSuiteErp
from q2c.domain.billing.credit_notes import credit_note, credit_note_id
from q2c.domain.model import Invoice, InvoiceLine, InvoiceStatus
from q2c.domain.money import Money
from q2c.sandboxes.netsuite.app import NetSuiteSandbox


def _line(entry: str, hours: str, amount: str) -> InvoiceLine:
    return InvoiceLine(description=f"2026-11-03 BUILD Consultant: {hours} h at USD 150.00", quantity=Decimal(hours),
                       unit_price=Money.of("150.00", "USD"), amount=Money.of(amount, "USD"), phase_id="C-1-1",
                       time_entry_ids=(entry,))


def _invoice(invoice_id: str) -> Invoice:
    return Invoice(id=invoice_id, contract_id="C-1", customer_id="CUST-1", invoice_date=date(2026, 11, 30),
                   currency="USD", lines=(_line("E-1", "8", "1200.00"), _line("E-2", "8", "1200.00")),
                   total=Money.of("2400.00", "USD"), status=InvoiceStatus.POSTED)


def test_a_credit_note_is_a_credit_memo_applied_to_its_invoice_and_status_comes_back(
        sandbox: NetSuiteSandbox, client: NetSuiteClient) -> None:
    """Invoice 2 x 1,200 = 2,400; credit of entry E-2: a credit memo of 1,200 (positive lines), applied to the
    invoice, which then owes 1,200 and is Open; paid 1,200, it is Paid In Full. A second invoice is voided."""
    ids = seed_project(sandbox)
    sandbox.state.seed("salesorder", {"entity": ids["customer"], "tranDate": "2026-11-02", "externalId": "C-1"})
    erp = NetSuiteErp(client)
    today = datetime.now(UTC).date()
    first, second = _invoice("INV-C-1-1-20261130"), _invoice("INV-C-1-1-20261130-2")
    internal = erp.upsert_invoice(first, legal_entity="US01", project_id="PRJ-1")
    erp.upsert_invoice(second, legal_entity="US01", project_id="PRJ-1")
    note = credit_note(credit_note_id=credit_note_id(first.id, ()), invoice=first, credit_date=date(2026, 12, 3),
                       entry_ids=["E-2"])
    memo_id = erp.upsert_invoice(note, legal_entity="US01", project_id="PRJ-1")

    memo = sandbox.state.get("creditmemo", memo_id)
    assert memo is not None and memo.external_id == "CN-1-INV-C-1-1-20261130"
    assert [(line["quantity"], line["amount"]) for line in memo.values["item"]] == [(Decimal(8), Decimal("1200.00"))]
    assert memo.values["apply"] == [{"doc": internal, "apply": True, "amount": Decimal("1200.00")}]
    assert sandbox.state.status_name(memo) == "Fully Applied"
    assert erp.invoice_states([first.id, note.id, "INV-UNKNOWN"]) == {first.id: InvoiceStatus.POSTED,
                                                                      note.id: InvoiceStatus.POSTED}

    sandbox.state.pay_invoice(internal)
    sandbox.state.void("invoice", sandbox.state.external["invoice"][second.id])
    assert erp.invoice_states([first.id, second.id]) == {first.id: InvoiceStatus.PAID,
                                                         second.id: InvoiceStatus.VOIDED}
    changed = {c.invoice_id: (c.status, c.changed_on) for c in erp.invoice_changes(today)}
    assert changed == {first.id: (InvoiceStatus.PAID, today), second.id: (InvoiceStatus.VOIDED, today),
                       note.id: (InvoiceStatus.POSTED, today)}
    assert erp.invoice_changes(today + timedelta(days=1)) == []

    late = credit_note(credit_note_id=credit_note_id(first.id, {note.id}), invoice=first.model_copy(
        update={"status": InvoiceStatus.PAID}), credit_date=date(2026, 12, 4), entry_ids=["E-1"])
    assert late.id == "CN-2-INV-C-1-1-20261130"
    unapplied = sandbox.state.get("creditmemo", erp.upsert_invoice(late, legal_entity="US01", project_id="PRJ-1"))
    assert unapplied is not None and "apply" not in unapplied.values  # the invoice is paid: a credit on account
    assert sandbox.state.status_name(unapplied) == "Open"


def test_suiteql_dates_are_read_in_the_default_format_and_iso() -> None:
    assert suiteql_date("12/1/2026") == date(2026, 12, 1)
    assert suiteql_date("2026-12-01 10:00:00") == date(2026, 12, 1)
    assert suiteql_date("1.12.2026") is None and suiteql_date(None) is None
