"""In-memory systems behind the workflow ports, for fast tests of the service layer.

Each fake keeps what a real system would keep (records by external id, time entries with their
update stamps, invoice status) and nothing more, so the workflows run exactly as they do against
the sandboxes, minus HTTP.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from q2c.config import HubConfig, parse_config
from q2c.connectors.netsuite.auth import generate_m2m_keypair
from q2c.domain.model import (
    BillingTerms,
    BillingType,
    Contract,
    Customer,
    Invoice,
    InvoiceStatus,
    JournalEntry,
    Milestone,
    MilestoneStatus,
    Opportunity,
    OpportunityLine,
    Project,
    ProjectStatus,
    Resource,
    TaxProfile,
    TimeEntry,
    TimeEntryStatus,
)
from q2c.domain.money import Money
from q2c.domain.naming import SystemNames
from q2c.domain.revenue import FxRate
from q2c.domain.violations import Violation
from q2c.engine.errors import FeedGap
from q2c.store.db import create_db_engine, migrate
from q2c.workflows.hub import Hub
from q2c.workflows.ports import (
    CrmChange,
    Deal,
    ErpDocument,
    ErpDocumentKind,
    ErpLine,
    ErpTimebill,
    InvoiceChange,
    Person,
    ProjectState,
    Timebill,
    TimePage,
    WriteResult,
)


def usd(amount: str | int) -> Money:
    return Money.of(amount, "USD")


@dataclass
class FakeCrm:
    names = SystemNames(system="crm", label="the CRM", id_prefix="SF-")
    opportunities: dict[str, Opportunity] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    written_back: dict[str, dict[str, str]] = field(default_factory=dict)

    def won_deal_ids(self, since: datetime | None) -> list[tuple[str, datetime]]:
        stamp = datetime(2026, 11, 2, tzinfo=UTC)
        return [(o.id, stamp) for o in self.opportunities.values() if o.is_won]

    # opportunity -> whether a change of its terms is approved (absent: the CRM names no approval field)
    approved: dict[str, bool] = field(default_factory=dict)
    effective: dict[str, date] = field(default_factory=dict)

    def deal(self, opportunity_id: str) -> Deal:
        opportunity = self.opportunities[opportunity_id]
        return Deal(opportunity=opportunity, customers=dict(self.customers),
                    change_approved=self.approved.get(opportunity_id), change_effective=self.effective.get(
                        opportunity_id))

    def write_back(self, deal: Deal, *, customer_number: str, contract_id: str, project_id: str) -> None:
        self.written_back[deal.opportunity.id] = {"customer": customer_number, "contract": contract_id,
                                                  "project": project_id}

    changes: list[CrmChange] = field(default_factory=list)
    retained_from: int = 0  # the oldest change position the CRM still keeps
    owned: frozenset[str] = frozenset()

    def opportunity_changes(self, after: int | None) -> list[CrmChange]:
        if after is not None and after + 1 < self.retained_from:
            raise FeedGap("crm", f"position {after} is older than the oldest kept, {self.retained_from}")
        start = self.retained_from if after is None else after + 1
        return [c for c in self.changes if c.position >= start]

    def erp_owned_fields(self) -> frozenset[str]:
        return self.owned

    def complete_milestone(self, opportunity_id: str, milestone_id: str, on: date) -> None:
        opp = self.opportunities[opportunity_id]
        lines = tuple(line.model_copy(update={"milestones": tuple(
            m.model_copy(update={"status": MilestoneStatus.COMPLETED, "completed_on": on}) if m.id == milestone_id
            else m for m in line.milestones)}) for line in opp.lines)
        self.opportunities[opportunity_id] = opp.model_copy(update={"lines": lines})


@dataclass
class FakeTracker:
    """Time entries as the tracker holds them; every change stamps `source_updated_at` one second later."""

    names = SystemNames(system="tracker", label="the time tracker", id_prefix="HV-")
    entries: dict[str, TimeEntry] = field(default_factory=dict)
    clock: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    problems: list[Violation] = field(default_factory=list)  # what account_problems() reports

    def _stamp(self) -> datetime:
        return datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=next(self.clock))

    def log(self, project_id: str, task_code: str, resource_id: str, work_date: date, hours: str) -> str:
        entry_id = f"HV-{next(self.ids)}"
        self.entries[entry_id] = TimeEntry(id=entry_id, project_id=project_id, task_code=task_code,
                                           resource_id=resource_id, work_date=work_date, hours=Decimal(hours),
                                           status=TimeEntryStatus.SUBMITTED, source_updated_at=self._stamp())
        return entry_id

    def change(self, entry_id: str, **fields: Any) -> None:
        self.entries[entry_id] = self.entries[entry_id].model_copy(
            update={**fields, "source_updated_at": self._stamp()})

    def approve(self, *entry_ids: str) -> None:
        for entry_id in entry_ids:
            self.change(entry_id, status=TimeEntryStatus.APPROVED)

    def account_problems(self) -> list[Violation]:
        return list(self.problems)

    def time_pages(self, since: datetime | None) -> Iterator[TimePage]:
        changed = [e for e in self.entries.values() if since is None or e.source_updated_at > since]
        if changed:
            yield TimePage(sorted(changed, key=lambda e: e.id), [], max(e.source_updated_at for e in changed))

    def reread(self, raw: Mapping[str, Any]) -> TimePage:
        entry = self.entries.get(str(raw.get("id")))
        return TimePage([entry] if entry is not None else [], [], None)

    def set_up_project(self, project: Project, customer: Customer, contract: Contract,
                       team: Sequence[Resource]) -> str:
        return f"tracker-{project.id}"

    users: dict[str, bool] = field(default_factory=dict)  # who people() lists: email -> active

    def people(self) -> list[Person]:
        return [Person(system_id=f"U-{_number(email)}", email=email, name=_name(email), active=active)
                for email, active in sorted(self.users.items())]


@dataclass
class FakeErp:
    names = SystemNames(system="erp", label="the ERP", objects={"time_entry": "time record"})
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # record type -> external id -> record
    employees: set[str] = field(default_factory=set)
    closed_projects: set[str] = field(default_factory=set)

    def _put(self, kind: str, external_id: str, record: Any) -> str:
        self.records.setdefault(kind, {})[external_id] = record
        return f"{kind}:{external_id}"

    def upsert_customer(self, customer: Customer) -> str:
        return self._put("customer", customer.id, customer)

    def upsert_project(self, project: Project, contract: Contract) -> str:
        return self._put("job", project.id, project)

    def upsert_contract(self, contract: Contract, *, project_id: str) -> str:
        return self._put("salesorder", contract.id, contract)

    def project_states(self, project_ids: Sequence[str]) -> dict[str, ProjectState]:
        return {p: ProjectState(ProjectStatus.CLOSED if p in self.closed_projects else ProjectStatus.OPEN)
                for p in project_ids}

    def upsert_timebills(self, timebills: Sequence[Timebill]) -> list[WriteResult]:
        out = []
        for t in timebills:
            if t.rated.resource_id not in self.employees:
                from q2c.domain.violations import Violation

                out.append(WriteResult(t.entry.id, None, Violation(
                    system="netsuite", object="employee", record_id=t.rated.resource_id, field="email",
                    rule="time.employee_missing", message=f"no employee {t.rated.resource_id} (entry {t.entry.id})",
                    action="Create the employee, then replay")))
                continue
            out.append(WriteResult(t.entry.id, self._put("timebill", t.entry.id, t)))
        return out

    # invoice or credit note id -> (status other than posted, the day it changed): what finance did in the ERP
    invoice_events: dict[str, tuple[InvoiceStatus, date]] = field(default_factory=dict)
    written_on: dict[str, date] = field(default_factory=dict)  # the day each invoice or credit note was last written
    today: date = date(2026, 11, 30)

    def upsert_invoice(self, invoice: Invoice, *, legal_entity: str, project_id: str | None,
                       offerings: Mapping[str, str | None] | None = None) -> str:
        if self.invoice_events.get(invoice.id, (None,))[0] is InvoiceStatus.VOIDED:
            from q2c.domain.violations import Violation
            from q2c.engine.errors import RecordRejected

            raise RecordRejected(Violation(system="erp", object="invoice", record_id=invoice.id, field=None,
                                           rule="erp.voided", message="the invoice is voided and cannot change",
                                           action="Bill the time on a new invoice"))
        self.written_on[invoice.id] = self.today
        return self._put("creditmemo" if invoice.kind == "credit_note" else "invoice", invoice.id, invoice)

    def _documents(self) -> dict[str, Invoice]:
        return {**self.records.get("invoice", {}), **self.records.get("creditmemo", {})}

    def invoice_states(self, invoice_ids: Sequence[str]) -> dict[str, InvoiceStatus]:
        held = self._documents()
        return {i: self.invoice_events.get(i, (InvoiceStatus.POSTED,))[0] for i in invoice_ids if i in held}

    def invoice_changes(self, since: date | None) -> list[InvoiceChange]:
        out = []
        for i in self._documents():
            status, on = self.invoice_events.get(i, (InvoiceStatus.POSTED, self.written_on.get(i, self.today)))
            if since is None or on >= since:
                out.append(InvoiceChange(i, status, on))
        return sorted(out, key=lambda c: (c.changed_on or date.min, c.invoice_id))

    def pay(self, invoice_id: str, on: date) -> None:
        self.invoice_events[invoice_id] = (InvoiceStatus.PAID, on)

    def void(self, invoice_id: str, on: date) -> None:
        self.invoice_events[invoice_id] = (InvoiceStatus.VOIDED, on)

    def post_journal_entry(self, entry: JournalEntry) -> str:
        return self._put("journalentry", entry.id, entry)

    # the ERP's dated exchange rates, each with the day it was entered or last changed there; a rate it reports
    # that cannot be read refuses the read, as the NetSuite mapping does (`unreadable_rate`)
    rates: list[tuple[FxRate, date]] = field(default_factory=list)
    unreadable_rate: Violation | None = None
    rate_reads: list[date | None] = field(default_factory=list)  # the `since` of each read

    def currency_rates(self, since: date | None) -> list[FxRate]:
        self.rate_reads.append(since)
        if self.unreadable_rate is not None:
            from q2c.engine.errors import RecordRejected

            raise RecordRejected(self.unreadable_rate)
        return [rate for rate, entered in self.rates if since is None or entered >= since]

    former_employees: set[str] = field(default_factory=set)  # listed by resources() as inactive

    def resources(self) -> list[Person]:
        staff = {**{e: False for e in self.former_employees}, **{e: True for e in self.employees}}
        return [Person(system_id=str(_number(email)), email=email, name=_name(email), active=active,
                       employee_number=f"EMP-{_number(email):04d}") for email, active in sorted(staff.items())]

    def kind(self, name: str) -> dict[str, Any]:
        return self.records.get(name, {})

    # --- reconciliation reads: what the ERP holds now (a test edits `records` as a person in the ERP would) ---
    def timebills(self, project_ids: Sequence[str] | None = None) -> Iterator[list[ErpTimebill]]:
        bills = [ErpTimebill(entry_id=t.entry.id, system_id=f"timebill:{t.entry.id}", project_id=t.entry.project_id,
                             task_code=t.entry.task_code, work_date=t.entry.work_date, hours=t.entry.hours,
                             rate=t.rated.rate.amount, billable=t.rated.billable, billed=False)
                 for t in self.records.get("timebill", {}).values()
                 if project_ids is None or t.entry.project_id in project_ids]
        for start in range(0, len(bills), 2):  # pages of two, so a reader must take every page
            yield bills[start:start + 2]

    def documents(self, kind: ErpDocumentKind, ids: Sequence[str] | None = None) -> list[ErpDocument]:
        out: list[ErpDocument] = []
        if kind == "contract":
            for c in self.records.get("salesorder", {}).values():
                lines = tuple(ErpLine(p.name, p.amount.amount, Decimal(1), p.amount.amount) for p in c.phases)
                out.append(ErpDocument("contract", c.id, f"salesorder:{c.id}", c.currency,
                                       sum((ln.amount for ln in lines), Decimal(0)), "open", c.start_date, lines))
        elif kind in ("invoice", "credit_note"):
            held = self.records.get("invoice" if kind == "invoice" else "creditmemo", {})
            for inv in held.values():
                status = self.invoice_events.get(inv.id, (InvoiceStatus.POSTED,))[0]
                out.append(ErpDocument(kind, inv.id, f"{kind}:{inv.id}", inv.currency, inv.total.amount,
                                       status.value, inv.invoice_date,
                                       tuple(ErpLine(ln.description, ln.amount.amount, ln.quantity,
                                                     ln.unit_price.amount) for ln in inv.lines)))
        else:
            for e in self.records.get("journalentry", {}).values():
                lines = tuple(ErpLine(ln.account, ln.credit.amount - ln.debit.amount,
                                      account=ln.account.split(maxsplit=1)[0], debit=ln.debit.amount,
                                      credit=ln.credit.amount) for ln in e.lines)
                out.append(ErpDocument("journal_entry", e.id, f"journal:{e.id}", e.lines[0].debit.currency,
                                       sum((ln.debit for ln in lines), Decimal(0)), "posted", e.entry_date, lines))
        return [d for d in out if ids is None or d.id in ids]


PEOPLE = {"alice@example.com": ("Alice", "Consultant"), "bob@example.com": ("Bob", "Architect")}


def _number(email: str) -> int:
    """A stable number for a person in a fake system (the same on every read)."""
    return sum(ord(c) * (i + 1) for i, c in enumerate(email)) % 10_000


def _name(email: str) -> str:
    return PEOPLE[email][0] if email in PEOPLE else email.split("@")[0].title()


def hub_config(tmp: Path, database: str, *, functional: str = "USD",
               fx_rates: Sequence[dict[str, str]] = ()) -> HubConfig:
    pem = tmp / "key.pem"
    pem.write_text(generate_m2m_keypair("ES256")[0])
    return parse_config({
        "database": database,
        "systems": {"crm": {"type": "salesforce", "login_url": "https://example.my.salesforce.com",
                            "client_id": "id", "client_secret": "secret"},
                    "tracker": {"type": "harvest", "account_id": "1", "access_token": "token"},
                    "erp": {"type": "netsuite", "account_id": "1234567", "client_id": "id", "certificate_id": "cert",
                            "private_key_path": str(pem)}},
        "legal_entities": [{"code": "US01", "name": "US01 Inc.", "currency": functional,
                            "timezone": "America/New_York"}],
        "fx_rates": list(fx_rates),
        "service_offerings": [{"code": "IMPL", "name": "Implementation", "tasks": [
            {"code": "DESIGN", "name": "Design"}, {"code": "BUILD", "name": "Build"},
            {"code": "INTERNAL", "name": "Internal", "billable": False}]}],
        "rate_cards": [{"id": "RC-USD", "currency": "USD", "lines": [
            {"role": "Consultant", "rate": "150.00", "cost_rate": "70.00", "effective_from": "2026-01-01"},
            {"role": "Architect", "rate": "200.00", "cost_rate": "95.00", "effective_from": "2026-01-01"}]}],
        "resources": [{"email": e, "name": n, "role": r} for e, (n, r) in PEOPLE.items()],
    }, source="test")


def customer() -> Customer:
    return Customer(id="SF-001A", name="Acme", legal_entity="US01",
                    tax_profile=TaxProfile(tax_id="US-1"), billing_terms=BillingTerms(payment_terms="Net 30"))


def deal(*, cap: str = "12000.00", end: date = date(2027, 1, 31)) -> Opportunity:
    """A T&M line under a not-to-exceed cap and a milestone line with two milestones."""
    return Opportunity(
        id="SF-006A", name="Acme cloud migration", customer_id="SF-001A", stage="Closed Won", is_won=True,
        close_date=date(2026, 11, 2), start_date=date(2026, 11, 2), end_date=end, amount=usd("35000.00"),
        legal_entity="US01", lines=(
            OpportunityLine(id="SF-00kT", service_offering="IMPL", billing_type=BillingType.TIME_AND_MATERIALS,
                            amount=usd("20000.00"), estimated_hours=Decimal(100), cap=usd(cap)),
            OpportunityLine(id="SF-00kM", service_offering="IMPL", billing_type=BillingType.MILESTONE,
                            amount=usd("15000.00"), milestones=(
                                Milestone(id="SF-M1", name="Blueprint", amount=usd("5000.00")),
                                Milestone(id="SF-M2", name="Go-live", amount=usd("10000.00"))))))


@dataclass
class FakeWorld:
    hub: Hub
    crm: FakeCrm
    tracker: FakeTracker
    erp: FakeErp

    def set_up(self) -> None:
        """The won deal is polled and set up."""
        from q2c.entrypoints.wiring import drain
        from q2c.workflows.project_setup import poll_won_deals

        poll_won_deals(self.hub)
        drain(self.hub)

    def sync(self) -> None:
        """One time poll, and everything it queued delivered."""
        from q2c.entrypoints.wiring import drain
        from q2c.workflows.time_approved import poll_time

        poll_time(self.hub)
        drain(self.hub)

    def close(self, on: date) -> None:
        """`q2c close --date on`: the billing run, then the revenue close."""
        from q2c.entrypoints.wiring import drain
        from q2c.workflows.billing_run import enqueue_billing
        from q2c.workflows.revenue_close import enqueue_revenue_close

        enqueue_billing(self.hub, invoice_date=on)
        drain(self.hub)
        enqueue_revenue_close(self.hub, period_end=on)
        drain(self.hub)


def fake_world(tmp: Path, database: str | None = None, opportunity: Opportunity | None = None,
               **config: Any) -> FakeWorld:
    url = database or f"sqlite:///{tmp / 'hub.sqlite'}"
    engine = create_db_engine(url)
    migrate(engine)
    crm = FakeCrm({"SF-006A": opportunity or deal()}, {"SF-001A": customer()})
    tracker = FakeTracker()
    erp = FakeErp(employees=set(PEOPLE))
    hub = Hub(engine=engine, config=hub_config(tmp, url, **config), crm=crm, tracker=tracker, erp=erp)
    return FakeWorld(hub, crm, tracker, erp)
