"""The canonical model: what a customer, contract, project or time entry *is*, whatever system it came from.

Every connector maps to and from these types; the engine and the domain speak nothing else.
Types are immutable (frozen pydantic models) and carry `schema_version` so a stored payload
can always be read back by the code that understands it. Money is `Money` (Decimal + ISO 4217),
calendar dates are `date` (in the legal entity's timezone), instants are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from q2c.domain.money import Money, check_currency

SCHEMA_VERSION = 1


class Canonical(BaseModel):
    """Base of every canonical record: immutable, versioned, with a canonical id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = SCHEMA_VERSION
    id: str = Field(min_length=1, max_length=200)


def utc(value: datetime) -> datetime:
    """Reject naive datetimes; normalise aware ones to UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime must carry a timezone")
    return value.astimezone(UTC)


# --- customers --------------------------------------------------------------------------------


class TaxProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    tax_id: str | None = None
    tax_code: str | None = None  # ERP tax code / schedule, e.g. "US-CA-STD"
    exempt: bool = False
    exemption_certificate: str | None = None


class BillingTerms(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    payment_terms: str | None = None  # "Net 30"
    payment_terms_days: int | None = Field(default=None, ge=0, le=365)
    currency: str | None = None
    invoice_email: str | None = None

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return None if value is None else check_currency(value)


class Customer(Canonical):
    name: str
    parent_id: str | None = None  # canonical id of the parent account (hierarchy)
    legal_entity: str | None = None  # the firm's contracting subsidiary, e.g. "US01"
    country: str | None = None
    tax_profile: TaxProfile | None = None
    billing_terms: BillingTerms | None = None


# --- sales --------------------------------------------------------------------------------------


class BillingType(StrEnum):
    FIXED_FEE = "fixed_fee"
    TIME_AND_MATERIALS = "time_and_materials"
    MILESTONE = "milestone"
    RETAINER = "retainer"


class OpportunityLine(Canonical):
    service_offering: str | None
    billing_type: BillingType
    amount: Money
    estimated_hours: Decimal | None = None
    cap: Money | None = None  # not-to-exceed for time and materials
    milestones: tuple[Milestone, ...] = ()
    billing_schedule: tuple[ScheduledBilling, ...] = ()  # a fixed fee billed by percentages on dates
    # Retainers: `amount` is the whole retainer over its own term, which starts on `service_start` (else the
    # deal's start) and runs `term_months` calendar months (else to the deal's end as it is at set-up);
    # `estimated_hours` are the hours prepaid over that term, `overage_rate` prices hours beyond them, and
    # unused hours of a month may still be used for `rollover_months` more months (none: they expire).
    service_start: date | None = None
    term_months: int | None = Field(default=None, ge=1, le=1200)
    overage_rate: Money | None = None
    rollover_months: int | None = Field(default=None, ge=0, le=1200)


class Opportunity(Canonical):
    name: str
    customer_id: str
    stage: str
    is_won: bool
    close_date: date
    amount: Money
    legal_entity: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    lines: tuple[OpportunityLine, ...] = ()
    source_updated_at: datetime | None = None
    amends_id: str | None = None  # a change order: the canonical id of the won deal whose terms it changes

    @field_validator("source_updated_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else utc(value)


# --- delivery and pricing -----------------------------------------------------------------------


class MilestoneStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    ACCEPTED = "accepted"


class Milestone(Canonical):
    name: str
    amount: Money
    due_date: date | None = None
    status: MilestoneStatus = MilestoneStatus.PENDING
    completed_on: date | None = None


class ScheduledBilling(Canonical):
    """One instalment of a fixed fee billed on a schedule: `percent` of the fee, billed on `bill_date`.

    The id is the CRM record's, so a problem with an instalment names the record to fix."""

    name: str
    bill_date: date
    percent: Decimal


class RateCardLine(BaseModel):
    """One price: a role (or one named resource) at a rate, in force from a date."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str
    resource_id: str | None = None  # a resource-specific override of the role rate
    rate: Money
    cost_rate: Money | None = None
    effective_from: date
    effective_to: date | None = None  # inclusive; None means open-ended


class RateCard(Canonical):
    currency: str
    lines: tuple[RateCardLine, ...]

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return check_currency(value)


class ContractPhase(Canonical):
    name: str
    billing_type: BillingType
    amount: Money  # fee for fixed fee / milestone; the whole retainer over its term; estimate for T&M
    cap: Money | None = None  # not-to-exceed (T&M)
    milestones: tuple[Milestone, ...] = ()
    billing_schedule: tuple[ScheduledBilling, ...] = ()  # a fixed fee billed by percentages on dates (else monthly)
    service_offering: str | None = None
    estimated_hours: Decimal | None = None  # the hours sold (input method of a fixed fee; T&M estimate)
    retainer_hours: Decimal | None = None  # prepaid hours per month of a retainer (None: an amount retainer)
    overage_rate: Money | None = None
    # A retainer's own term (first and last day, whole calendar months from the month of the first), fixed at
    # set-up so that a later change of the contract's end date does not stretch it; None: the contract's term
    # (phases planned before retainers carried their own).
    term_start: date | None = None
    term_end: date | None = None
    rollover_months: int | None = Field(default=None, ge=0)  # months unused retainer hours stay usable


class Contract(Canonical):
    customer_id: str
    opportunity_id: str
    name: str
    legal_entity: str
    currency: str
    start_date: date
    end_date: date | None = None
    phases: tuple[ContractPhase, ...]
    rate_card: RateCard
    billing_terms: BillingTerms | None = None

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return check_currency(value)


class ProjectStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Task(Canonical):
    project_id: str
    code: str
    name: str
    billable: bool = True
    phase_id: str | None = None


class Project(Canonical):
    contract_id: str
    customer_id: str
    name: str
    status: ProjectStatus = ProjectStatus.OPEN
    closed_on: date | None = None
    tasks: tuple[Task, ...] = ()


class Resource(Canonical):
    name: str
    email: str | None = None
    role: str
    employee_number: str | None = None
    active: bool = True


class TimeEntryStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


class TimeEntry(Canonical):
    project_id: str
    task_code: str
    resource_id: str
    work_date: date
    hours: Decimal
    notes: str = ""
    status: TimeEntryStatus
    billable: bool = True
    locked: bool = False
    billed: bool = False
    source_updated_at: datetime

    @field_validator("source_updated_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return utc(value)


# --- billing and accounting ---------------------------------------------------------------------


class InvoiceLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str
    quantity: Decimal
    unit_price: Money
    amount: Money
    phase_id: str | None = None
    milestone_id: str | None = None
    instalment_id: str | None = None  # a fixed fee billed by schedule: which instalment
    time_entry_ids: tuple[str, ...] = ()


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    POSTED = "posted"
    CREDITED = "credited"
    PAID = "paid"  # posted, and settled in full in the ERP (a payment or a credit applied to it)
    VOIDED = "voided"  # taken back in the ERP by a void; q2c books the void as a reversal beside it


class Invoice(Canonical):
    contract_id: str
    customer_id: str
    invoice_date: date
    currency: str
    lines: tuple[InvoiceLine, ...]
    total: Money
    status: InvoiceStatus = InvoiceStatus.DRAFT
    kind: Literal["invoice", "credit_note"] = "invoice"

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return check_currency(value)


class BillingEventKind(StrEnum):
    TIME = "time"
    MILESTONE = "milestone"
    RETAINER = "retainer"
    FIXED_FEE = "fixed_fee"


class BillingEvent(Canonical):
    contract_id: str
    phase_id: str
    kind: BillingEventKind
    amount: Money
    event_date: date
    invoice_id: str | None = None


class JournalLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    account: str
    debit: Money
    credit: Money
    dimensions: dict[str, str] = Field(default_factory=dict)


class JournalEntry(Canonical):
    entry_date: date
    legal_entity: str
    memo: str
    lines: tuple[JournalLine, ...]
    source: str  # what produced it, e.g. "revenue:C-1:2026-11"


def dump(record: BaseModel) -> dict[str, Any]:
    """JSON-safe dict of a canonical record (Decimals as strings, dates ISO)."""
    return record.model_dump(mode="json")


OpportunityLine.model_rebuild()
