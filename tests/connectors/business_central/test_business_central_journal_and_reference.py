"""Revenue journal entries posted through the Q2C batch; project status; employees; exchange rates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from business_central_fixtures import PROJECT, set_up

from q2c.connectors.business_central import BusinessCentralErp, BusinessCentralSettings
from q2c.connectors.business_central.mapping import code20
from q2c.domain.model import JournalEntry, JournalLine, ProjectStatus
from q2c.domain.money import Money
from q2c.engine.errors import RecordRejected
from q2c.sandboxes.business_central.app import BusinessCentralSandbox
from q2c.sandboxes.kit import Faults


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


ENTRY = JournalEntry(
    id="JE-REV-C-0061x00000AbC-2026-11", entry_date=date(2026, 11, 30), legal_entity="US01",
    memo="Revenue C-0061x00000AbC November 2026", source="revenue:C-0061x00000AbC:2026-11", lines=(
        JournalLine(account="1250 Unbilled Receivables", debit=usd("1800.00"), credit=usd("0")),
        JournalLine(account="4000 Services Revenue", debit=usd("0"), credit=usd("1800.00"),
                    dimensions={"service_line": "IMPL"})))


def test_business_central_journal_entry_is_posted_once_with_its_dimensions(
        erp: BusinessCentralErp, box: BusinessCentralSandbox, settings: BusinessCentralSettings) -> None:
    us01 = settings.companies["US01"]
    erp.resources()  # the token in hand, so the next answer lost is the connector's own
    box.set_faults(Faults(malformed_next=1))  # the G/L look-up's answer is lost and asked again
    number = erp.post_journal_entry(ENTRY)
    box.set_faults(Faults())
    assert number == code20(ENTRY.id) and erp.post_journal_entry(ENTRY) == number
    entries = [e for e in box.records(us01, "generalLedgerEntries") if e["documentNumber"] == number]
    assert sorted((e["accountNumber"], e["debitAmount"], e["creditAmount"]) for e in entries) == [
        ("1250", Decimal("1800.00"), Decimal("0")), ("4000", Decimal("0"), Decimal("1800.00"))]
    revenue = next(e for e in entries if e["accountNumber"] == "4000")
    dims = {(d["code"], d["valueCode"]) for d in box.records(us01, "dimensionSetLines")
            if d["parentId"] == revenue["id"]}
    assert dims == {("SERVICEOFFERING", "IMPL"), ("LEGALENTITY", "US01")}
    (doc,) = erp.documents("journal_entry")
    assert doc.currency == "USD"  # the company's local currency, from companyInformation
    assert (doc.id, doc.total, doc.on) == (ENTRY.id, Decimal("1800.00"), date(2026, 11, 30))
    assert sorted((ln.account, ln.debit, ln.credit) for ln in doc.lines) == [
        ("1250", Decimal("1800.00"), Decimal("0")), ("4000", Decimal("0"), Decimal("1800.00"))]


def test_business_central_project_states_employees_and_rates(
        erp: BusinessCentralErp, box: BusinessCentralSandbox, settings: BusinessCentralSettings) -> None:
    set_up(erp)
    assert erp.project_states([PROJECT.id]) == {PROJECT.id: erp.project_states([PROJECT.id])[PROJECT.id]}
    assert erp.project_states([PROJECT.id])[PROJECT.id].status is ProjectStatus.OPEN
    us01, uk01 = settings.companies["US01"], settings.companies["UK01"]
    box.add_employee(us01, "E0001", "Alice", "Adams", email="Alice@Example.com", jobTitle="Consultant")
    box.add_employee(uk01, "E0101", "Alice", "Adams", email="alice@example.com", status="Inactive")
    box.add_employee(uk01, "E0102", "Bob", "Baker", email="bob@example.com", status="Inactive")
    people = {p.email: p for p in erp.resources()}
    assert (people["alice@example.com"].active, people["alice@example.com"].employee_number,
            people["alice@example.com"].roles) == (True, "E0001", ("Consultant",))
    assert not people["bob@example.com"].active
    box.add_exchange_rate(us01, "EUR", date(2026, 12, 1), Decimal("100"), Decimal("108.00"))
    # a blank relationalCurrencyCode is the company's local currency, read from companyInformation
    rates = {(r.from_currency, r.to_currency, r.on): r.rate for r in erp.currency_rates(None)}
    assert rates[("EUR", "USD", date(2026, 12, 1))] == Decimal("1.08")
    assert rates[("USD", "GBP", date(2026, 1, 1))] == Decimal("0.7874")


def gbp(amount: str) -> Money:
    return Money.of(amount, "GBP")


# A GBP contract of US01 (a USD company): the revenue close makes the contract-currency entry and its
# functional-currency copy, translated at the close's rate (here 1 GBP = 1.25 USD).
GBP_ENTRY = JournalEntry(
    id="JE-REV-C-0061x00000GbP-2026-11", entry_date=date(2026, 11, 30), legal_entity="US01",
    memo="Revenue C-0061x00000GbP November 2026", source="revenue:C-0061x00000GbP:2026-11", lines=(
        JournalLine(account="1250 Unbilled Receivables", debit=gbp("1000.00"), credit=gbp("0")),
        JournalLine(account="4000 Services Revenue", debit=gbp("0"), credit=gbp("1000.00"))))
USD_COPY = GBP_ENTRY.model_copy(update={"id": f"{GBP_ENTRY.id}-USD", "lines": (
    JournalLine(account="1250 Unbilled Receivables", debit=usd("1250.00"), credit=usd("0")),
    JournalLine(account="4000 Services Revenue", debit=usd("0"), credit=usd("1250.00")))})


def test_business_central_foreign_currency_entry_is_refused_before_anything_is_sent(
        erp: BusinessCentralErp, box: BusinessCentralSandbox, settings: BusinessCentralSettings) -> None:
    us01 = settings.companies["US01"]
    lines_before = len(box.records(us01, "journalLines"))
    with pytest.raises(RecordRejected) as caught:
        erp.post_journal_entry(GBP_ENTRY)
    violation = caught.value.violation
    assert (violation.record_id, violation.field, violation.rule) == (
        GBP_ENTRY.id, "currency", "business_central.journal_currency_not_local")
    assert "GBP" in violation.message and "USD" in violation.message
    assert USD_COPY.id in violation.action  # what to do: post the entity-currency copy
    assert len(box.records(us01, "journalLines")) == lines_before
    assert not [e for e in box.records(us01, "generalLedgerEntries") if e["documentNumber"] == code20(GBP_ENTRY.id)]
    # the functional-currency copy is in the company's currency and posts as it stands
    number = erp.post_journal_entry(USD_COPY)
    posted = [e for e in box.records(us01, "generalLedgerEntries") if e["documentNumber"] == number]
    assert sorted((e["accountNumber"], e["debitAmount"], e["creditAmount"]) for e in posted) == [
        ("1250", Decimal("1250.00"), Decimal("0")), ("4000", Decimal("0"), Decimal("1250.00"))]
    (doc,) = erp.documents("journal_entry", [USD_COPY.id])
    assert (doc.currency, doc.total) == ("USD", Decimal("1250.00"))
    # in UK01 (GBP) the GBP entry is the local one and posts
    uk = GBP_ENTRY.model_copy(update={"id": "JE-REV-C-0061x00000UkK-2026-11", "legal_entity": "UK01"})
    assert erp.post_journal_entry(uk) == code20(uk.id)


def test_business_central_completed_project_reads_closed(
        erp: BusinessCentralErp, box: BusinessCentralSandbox, settings: BusinessCentralSettings) -> None:
    set_up(erp)
    us01 = settings.companies["US01"]
    assert erp.project_states([PROJECT.id])[PROJECT.id].status is ProjectStatus.OPEN
    box.complete_project(us01, code20(PROJECT.id).upper(), ending=date(2027, 3, 31))
    state = erp.project_states([PROJECT.id, "P-NOT-THERE"])
    assert set(state) == {PROJECT.id}  # keyed by q2c's id, in its own case
    assert (state[PROJECT.id].status, state[PROJECT.id].closed_on) == (ProjectStatus.CLOSED, date(2027, 3, 31))
