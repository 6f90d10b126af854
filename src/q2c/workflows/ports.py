"""The ports the workflows need, in canonical terms. Each connector folder has an adapter that
implements one of them over its vendor client and mapping; a workflow never sees vendor JSON, and
never names a vendor: each port carries its system's `names` (the system's key and label, and its
names for canonical objects and fields), which exceptions, links and the audit trail use.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol, runtime_checkable

from q2c.domain.billing import RatedTime
from q2c.domain.model import (
    Contract,
    Customer,
    Invoice,
    InvoiceStatus,
    JournalEntry,
    Opportunity,
    Project,
    ProjectStatus,
    Resource,
    TimeEntry,
)
from q2c.domain.naming import SystemNames
from q2c.domain.revenue import FxRate
from q2c.domain.violations import Violation


@dataclass(frozen=True)
class Reject:
    """An inbound record that could not even be mapped: the violations and the raw record to replay."""

    violations: tuple[Violation, ...]
    raw: dict[str, Any]


@dataclass(frozen=True)
class TimePage:
    entries: list[Any]  # list[TimeEntry]; Any keeps the port free of pydantic generics in hot loops
    rejects: list[Reject]
    high_water: datetime | None  # the latest source update seen on this page


@dataclass(frozen=True)
class WriteResult:
    """Outcome of one record in a batched ERP write."""

    canonical_id: str
    external_id: str | None
    violation: Violation | None = None
    warnings: tuple[Violation, ...] = ()  # written, but not as given (e.g. a field shortened to fit)


@dataclass(frozen=True)
class Timebill:
    """Approved, rated time on its way to the ERP."""

    entry: TimeEntry
    rated: RatedTime
    task_id: str | None
    # what the ERP's reporting dimensions follow: the offering of the entry's phase, the contract's legal entity
    service_offering: str | None = None
    legal_entity: str | None = None


@dataclass(frozen=True)
class ProjectState:
    status: ProjectStatus
    closed_on: date | None = None


@dataclass(frozen=True)
class Deal:
    opportunity: Opportunity
    customers: Mapping[str, Customer]  # the account and its ancestors, by canonical id
    field_names: Mapping[str, str] = field(default_factory=dict)  # canonical field -> CRM field
    # Whether the CRM approves the deal's current terms as a contract change: None when the CRM names no
    # approval field (a change to a won deal then counts as approved in the CRM).
    change_approved: bool | None = None
    change_effective: date | None = None  # the date the CRM gives the change as effective, if it records one


@dataclass(frozen=True)
class CrmChange:
    """One change to an opportunity in the CRM, as its change feed reported it."""

    opportunity_ids: tuple[str, ...]  # canonical ids
    changed_fields: tuple[str, ...]  # in the CRM's own field names
    values: Mapping[str, Any]
    origin: str  # who made the change (API client or UI)
    by_q2c: bool  # our own write coming back: an echo
    position: int  # replay position, to resume the feed after it
    won: bool = False  # the change made the deal won


@dataclass(frozen=True)
class InvoiceChange:
    """Where one of q2c's invoices or credit notes stands in the ERP now, and the day the ERP last changed it."""

    invoice_id: str  # canonical id (the ERP's external id)
    status: InvoiceStatus
    changed_on: date | None


@dataclass(frozen=True)
class Person:
    """Someone as the ERP or the time tracker lists them, matched to the config's resources by email.

    Not a `Resource`: a resource carries the rate-card role time is rated with, and the config is the
    system of record for that. `roles` are the system's own (the ERP's mapped title or custom field, the
    tracker's business roles), shown beside the config's role and never used to rate time."""

    system_id: str  # the system's own id of the person (NetSuite internal id, Harvest or Toggl user id)
    email: str | None  # lower-cased; None when the system holds none (such a person cannot be matched)
    name: str
    active: bool
    employee_number: str | None = None  # the ERP's employee number (NetSuite: entityId)
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class ErpTimebill:
    """One of q2c's timebills as the ERP holds it now, read back for reconciliation (never cached)."""

    entry_id: str  # canonical time entry id (the timebill's external id)
    system_id: str  # the ERP's own id
    project_id: str | None  # canonical id of the ERP project it is booked on (None: on no project q2c wrote)
    task_code: str | None  # the project task's code (None: on no task)
    work_date: date
    hours: Decimal
    rate: Decimal | None  # bill rate per hour in the contract currency (None: the ERP holds none)
    billable: bool
    billed: bool  # invoiced in the ERP (a timebill on an ERP invoice is locked)


@dataclass(frozen=True)
class ErpLine:
    """A line of a document the ERP holds. Amounts in the document's currency; a journal line carries its
    account number with debit and credit, the others quantity, rate and amount."""

    description: str
    amount: Decimal
    quantity: Decimal | None = None
    rate: Decimal | None = None
    account: str | None = None  # journal: the account number
    debit: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)


ErpDocumentKind = Literal["contract", "invoice", "credit_note", "journal_entry"]


@dataclass(frozen=True)
class ErpDocument:
    """A sales order (the contract), invoice, credit note or journal entry q2c wrote, as the ERP holds it now."""

    kind: ErpDocumentKind
    id: str  # canonical id (the document's external id)
    system_id: str
    currency: str | None
    total: Decimal  # journal: the sum of debits
    status: str | None  # invoices and credit notes: an `InvoiceStatus` value; the others: the ERP's own word
    on: date | None  # the transaction date
    lines: tuple[ErpLine, ...] = ()


class Crm(Protocol):
    names: SystemNames

    def won_deal_ids(self, since: datetime | None) -> list[tuple[str, datetime]]: ...  # canonical ids
    def deal(self, opportunity_id: str) -> Deal: ...  # by canonical id
    def write_back(self, deal: Deal, *, customer_number: str, contract_id: str, project_id: str) -> None: ...
    def opportunity_changes(self, after: int | None) -> list[CrmChange]: ...
    def erp_owned_fields(self) -> frozenset[str]: ...


class TimeTracker(Protocol):
    names: SystemNames

    # What in the tracker account keeps approved time from reaching q2c as it should (the approval feature
    # switched off, so nothing is ever approved; a token that cannot see everyone's time). Read once per pass.
    def account_problems(self) -> list[Violation]: ...
    def time_pages(self, since: datetime | None) -> Iterator[TimePage]: ...
    def reread(self, raw: Mapping[str, Any]) -> TimePage: ...
    def set_up_project(self, project: Project, customer: Customer, contract: Contract,
                       team: Sequence[Resource]) -> str: ...
    # Everyone in the tracker account, active or not (reference data: matched to the config by email).
    def people(self) -> list[Person]: ...


JournalCurrencies = Literal["any", "entity"]


class Erp(Protocol):
    """An ERP adapter may also declare `journal_currencies = "entity"` (read with `journal_currencies(erp)`): its
    journals post in the legal entity's currency only (Business Central API v2.0 journal lines carry no
    currency). The revenue close then sends a foreign contract's entity-currency entry alone and keeps the
    contract-currency entry in q2c's books; reconciliation compares the entity-currency entry."""

    names: SystemNames

    def upsert_customer(self, customer: Customer) -> str: ...
    def upsert_project(self, project: Project, contract: Contract) -> str: ...
    def upsert_contract(self, contract: Contract, *, project_id: str) -> str: ...
    def project_states(self, project_ids: Sequence[str]) -> dict[str, ProjectState]: ...
    def upsert_timebills(self, timebills: Sequence[Timebill]) -> list[WriteResult]: ...
    # an invoice, or a credit note (kind "credit_note", applied to the invoice its id names); upsert on the id
    # `offerings` (phase id -> service offering) gives each line the reporting dimensions of its phase
    def upsert_invoice(self, invoice: Invoice, *, legal_entity: str, project_id: str | None,
                       offerings: Mapping[str, str | None] | None = None) -> str: ...
    def invoice_states(self, invoice_ids: Sequence[str]) -> dict[str, InvoiceStatus]: ...
    # q2c's invoices and credit notes the ERP changed on or after `since` (all of them without it)
    def invoice_changes(self, since: date | None) -> list[InvoiceChange]: ...
    def post_journal_entry(self, entry: JournalEntry) -> str: ...
    # The ERP's dated exchange rates entered or changed on or after `since` (all without it): 1 unit of the
    # transaction currency is `rate` units of the base (books) currency from the effective date. An ERP
    # connector without this method offers no rates (`reference.fx_source: erp` is then refused).
    def currency_rates(self, since: date | None) -> list[FxRate]: ...
    # Every employee, active or not, with their employee number (reference data: matched by email).
    def resources(self) -> list[Person]: ...
    # Reconciliation reads, fresh from the ERP: q2c's timebills (those with an external id) page by page,
    # limited to the projects named (canonical ids) when given; and q2c's documents of one kind with lines,
    # limited to the canonical ids named when given.
    def timebills(self, project_ids: Sequence[str] | None = None) -> Iterator[list[ErpTimebill]]: ...
    def documents(self, kind: ErpDocumentKind, ids: Sequence[str] | None = None) -> list[ErpDocument]: ...


def journal_currencies(erp: object) -> JournalCurrencies:
    return "entity" if getattr(erp, "journal_currencies", "any") == "entity" else "any"


# --- change notices: an ERP that pushes word of what changed (optional) ------------------------------------
NoticeKind = Literal["invoice"]  # what a notice can say changed, in canonical terms


@dataclass(frozen=True)
class Notice:
    """What one push from a system asked of q2c: a handshake to answer (`reply`, sent back as the body), word
    that documents of these kinds changed (`changed`: poll them now), or a refusal (`refused`: not from a
    subscription q2c made; answered 401 and nothing is done)."""

    reply: str | None = None
    changed: tuple[NoticeKind, ...] = ()
    refused: str | None = None


@dataclass(frozen=True)
class Subscriptions:
    """Where a system's change subscriptions stand after `keep_subscribed`: how many q2c wants, how many it
    created or renewed now, and when the first of them expires."""

    wanted: int
    created: int
    renewed: int
    expires: datetime | None


@runtime_checkable
class ChangeNotices(Protocol):
    """An ERP that can push notice of changed documents. The notice is a hint: the poll stays the record of
    truth and runs anyway, so a lost or late notice costs a poll interval, never a change."""

    # create what is missing and renew what expires soon; None when the config asks for no notices
    def keep_subscribed(self) -> Subscriptions | None: ...
    # one push as it came: its query parameters and body
    def notice(self, query: Mapping[str, str], body: bytes) -> Notice: ...
