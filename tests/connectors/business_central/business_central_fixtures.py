"""Canonical records for the Business Central tests: one won deal (Hooli, US01) and rated time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from q2c.connectors.business_central import BusinessCentralErp
from q2c.domain.billing import RatedTime
from q2c.domain.model import (
    BillingTerms,
    BillingType,
    Contract,
    ContractPhase,
    Customer,
    Project,
    RateCard,
    RateCardLine,
    Task,
    TaxProfile,
    TimeEntry,
    TimeEntryStatus,
)
from q2c.domain.money import Money
from q2c.workflows.ports import Timebill


def timebill(entry_id: str = "TG-1001", *, project_id: str = "P-0061x00000AbC", task: str = "DESIGN",
             email: str = "alice@example.com", on: date = date(2026, 11, 17), hours: str = "1.50",
             rate: str = "150.00", currency: str = "USD", billable: bool = True, notes: str = "design work",
             legal_entity: str | None = "US01", offering: str | None = "IMPL") -> Timebill:
    entry = TimeEntry(id=entry_id, project_id=project_id, task_code=task, resource_id=email, work_date=on,
                      hours=Decimal(hours), notes=notes, status=TimeEntryStatus.APPROVED,
                      source_updated_at=datetime(2026, 11, 17, tzinfo=UTC))
    amount = (Decimal(hours) * Decimal(rate)).quantize(Decimal("0.01"))
    rated = RatedTime(entry_id=entry_id, project_id=project_id, task_code=task, resource_id=email, role="Consultant",
                      work_date=on, hours=Decimal(hours), rate=Money.of(rate, currency),
                      amount=Money.of(str(amount), currency), cost_rate=Money.of("80.00", currency),
                      cost=Money.of(str(Decimal(hours) * 80), currency), billable=billable,
                      rate_card_id="RC-1", rate_effective_from=date(2026, 1, 1))
    return Timebill(entry, rated, task_id=None, service_offering=offering, legal_entity=legal_entity)


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


CUSTOMER = Customer(id="001xx0000003AbC", name="Hooli", legal_entity="US01", country="US",
                    tax_profile=TaxProfile(tax_id="US-45-1234567"),
                    billing_terms=BillingTerms(payment_terms="Net 30", currency="USD",
                                               invoice_email="ap@hooli.example"))
CONTRACT = Contract(
    id="C-0061x00000AbC", customer_id=CUSTOMER.id, opportunity_id="0061x00000AbC", name="Hooli data platform",
    legal_entity="US01", currency="USD", start_date=date(2026, 11, 2), end_date=date(2027, 3, 31),
    phases=(ContractPhase(id="C-0061x00000AbC-0", name="IMPL (time_and_materials)",
                          billing_type=BillingType.TIME_AND_MATERIALS, amount=usd("18000.00"), service_offering="IMPL"),
            ContractPhase(id="C-0061x00000AbC-1", name="Advisory (fixed_fee)", billing_type=BillingType.FIXED_FEE,
                          amount=usd("5000.00"), service_offering="ADVISORY")),
    rate_card=RateCard(id="RC-1", currency="USD", lines=(
        RateCardLine(role="Consultant", rate=usd("150.00"), effective_from=date(2026, 1, 1)),)))
PROJECT = Project(id="P-0061x00000AbC", contract_id=CONTRACT.id, customer_id=CUSTOMER.id, name="Hooli data platform",
                  tasks=(Task(id="P-0061x00000AbC-DESIGN", project_id="P-0061x00000AbC", code="DESIGN", name="Design"),
                         Task(id="P-0061x00000AbC-BUILD", project_id="P-0061x00000AbC", code="BUILD", name="Build")))


def set_up(erp: BusinessCentralErp) -> tuple[str, str, str]:
    return (erp.upsert_customer(CUSTOMER), erp.upsert_project(PROJECT, CONTRACT),
            erp.upsert_contract(CONTRACT, project_id=PROJECT.id))
