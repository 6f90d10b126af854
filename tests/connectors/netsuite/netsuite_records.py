"""Canonical records for the NetSuite adapter tests: a deal, its time, its invoice and its revenue."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from q2c.domain.billing import RatedTime
from q2c.domain.model import (
    BillingTerms,
    BillingType,
    Contract,
    ContractPhase,
    Customer,
    Invoice,
    InvoiceLine,
    JournalEntry,
    JournalLine,
    Project,
    RateCard,
    RateCardLine,
    Task,
    TimeEntry,
    TimeEntryStatus,
)
from q2c.domain.money import Money
from q2c.workflows.ports import Timebill

USD = "USD"
EMAIL = "ada0@firm.example"  # the employee seed_project creates first


def customer(suffix: str = "1", *, name: str | None = None) -> Customer:
    return Customer(id=f"SF-001{suffix}", name=name or f"Acme {suffix} Inc", legal_entity="US01",
                    billing_terms=BillingTerms(payment_terms="Net 30", currency=USD))


def contract(suffix: str = "1") -> Contract:
    return Contract(
        id=f"C-{suffix}", customer_id=f"SF-001{suffix}", opportunity_id=f"SF-006{suffix}", name=f"Acme {suffix} ERP",
        legal_entity="US01", currency=USD, start_date=date(2026, 11, 1), end_date=date(2027, 3, 31),
        phases=(ContractPhase(id=f"PH-{suffix}", name="Build", billing_type=BillingType.TIME_AND_MATERIALS,
                              amount=Money.of("120000", USD), service_offering="Implementation"),),
        rate_card=RateCard(id="RC-1", currency=USD, lines=(
            RateCardLine(role="Consultant", rate=Money.of("180", USD), effective_from=date(2026, 1, 1)),)),
        billing_terms=BillingTerms(payment_terms="Net 30", currency=USD))


def project(suffix: str = "1", *, name: str | None = None) -> Project:
    pid = f"P-{suffix}"
    return Project(id=pid, contract_id=f"C-{suffix}", customer_id=f"SF-001{suffix}", name=name or f"Acme {suffix} ERP",
                   tasks=(Task(id=f"{pid}-BUILD", project_id=pid, code="BUILD", name="Build"),
                          Task(id=f"{pid}-PM", project_id=pid, code="PM", name="Project management")))


def timebill(entry_id: str, *, project_id: str = "P-1", notes: str = "", hours: str = "1.5",
             email: str = EMAIL) -> Timebill:
    entry = TimeEntry(id=entry_id, project_id=project_id, task_code="BUILD", resource_id=email,
                      work_date=date(2026, 11, 3), hours=Decimal(hours), notes=notes,
                      status=TimeEntryStatus.APPROVED, source_updated_at=datetime(2026, 11, 3, 18, tzinfo=UTC))
    rate = Money.of("180.00", USD)
    rated = RatedTime(entry_id=entry_id, project_id=project_id, task_code="BUILD", resource_id=email,
                      role="Consultant", work_date=entry.work_date, hours=entry.hours, rate=rate,
                      amount=Money.of(str(Decimal(hours) * rate.amount), USD), cost_rate=None, cost=None,
                      billable=True, rate_card_id="RC-1", rate_effective_from=date(2026, 1, 1))
    return Timebill(entry, rated, f"{project_id}-BUILD")


def invoice(invoice_id: str, *, suffix: str = "1") -> Invoice:
    return Invoice(id=invoice_id, contract_id=f"C-{suffix}", customer_id=f"SF-001{suffix}",
                   invoice_date=date(2026, 11, 30), currency=USD, total=Money.of("270.00", USD),
                   lines=(InvoiceLine(description="Build: 1.5 h", quantity=Decimal("1.5"),
                                      unit_price=Money.of("180", USD), amount=Money.of("270", USD),
                                      phase_id=f"PH-{suffix}"),))


def journal_entry(entry_id: str, *, memo: str = "Revenue C-1 2026-11: recognised 270.00 USD, billed 270.00 USD",
                  amount: str = "270.00") -> JournalEntry:
    money, zero = Money.of(amount, USD), Money.zero(USD)
    dims = {"contract": "C-1", "performance_obligation": "PO-1"}
    return JournalEntry(id=entry_id, entry_date=date(2026, 11, 30), legal_entity="US01", memo=memo,
                        source="revenue:C-1:2026-11", lines=(
                            JournalLine(account="1200 Accounts Receivable", debit=money, credit=zero, dimensions=dims),
                            JournalLine(account="4000 Services Revenue", debit=zero, credit=money, dimensions=dims)))
