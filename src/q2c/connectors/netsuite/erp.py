"""NetSuite as the hub's ERP (the `Erp` port): canonical records out, project and invoice status in,
and the account's Currency Exchange Rates (`currencyrate`, by SuiteQL) as dated reference rates.

Every write is an upsert on q2c's canonical id (the record's externalId), so a retry or a replay
never creates a second record. A credit note goes in as a credit memo applied to the invoice it
credits; invoice and credit memo status come back by SuiteQL on `transaction`, by id or by
`lastmodifieddate` (NetSuite pushes nothing, so the hub polls). Time goes in bulk through the q2c
RESTlet; the rest one by one. What had to change to fit NetSuite (notes shortened to the timebill
memo) comes back as warnings on the write results. Sales order, invoice and timebill lines carry the
class, department and location of the config's dimension codes (`use_dimensions`), mapped to
internal ids through `references`; journal lines carry the codes the revenue close put on them.
For reconciliation, q2c's timebills and documents are read back fresh (`reads`): never from a cache.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import date

from q2c.connectors.netsuite.client import NetSuiteClient
from q2c.connectors.netsuite.mapping import (
    InvoiceState,
    account_number,
    contract_to_salesorder,
    credit_note_to_netsuite,
    currency_codes,
    currency_rate_from_netsuite,
    customer_to_netsuite,
    invoice_to_netsuite,
    journal_entry_to_netsuite,
    project_to_job,
    task_to_projecttask,
    time_entry_to_timebill,
)
from q2c.connectors.netsuite.reads import NetSuiteReads
from q2c.connectors.netsuite.suiteql import in_list
from q2c.domain.billing.credit_notes import credited_invoice_id
from q2c.domain.dimensions import DimensionPlan
from q2c.domain.model import Contract, Customer, Invoice, InvoiceStatus, JournalEntry, Project, ProjectStatus
from q2c.domain.naming import SystemNames
from q2c.domain.revenue import FxRate
from q2c.domain.violations import Violation
from q2c.engine.errors import RecordRejected
from q2c.workflows.ports import (
    ErpDocument,
    ErpDocumentKind,
    ErpTimebill,
    InvoiceChange,
    Person,
    ProjectState,
    Timebill,
    WriteResult,
)

# NetSuite's record types for the canonical records q2c writes, and the fields a person fixes there.
NAMES = SystemNames(system="netsuite", label="NetSuite", objects={
    "project": "job", "task": "projecttask", "time_entry": "timebill", "contract": "salesorder",
    "customer": "customer", "invoice": "invoice", "credit_note": "creditmemo", "journal_entry": "journalentry",
    "employee": "employee"},
    fields={"project.status": "entityStatus"})


class NetSuiteErp:
    names = NAMES

    def __init__(self, client: NetSuiteClient, dimensions: DimensionPlan | None = None, *,
                 reads: NetSuiteReads | None = None) -> None:
        self.client = client
        self.dimensions = dimensions or DimensionPlan()
        self.reads = reads or NetSuiteReads(client)
        self._employees: dict[str, str] | None = None
        self._accounts: dict[str, str] | None = None
        self._lock = threading.Lock()

    def use_dimensions(self, plan: DimensionPlan) -> None:
        """The dimension codes in force (the config's), which every line written from now on carries."""
        self.dimensions = plan

    # --- project setup --------------------------------------------------------------------
    def upsert_customer(self, customer: Customer) -> str:
        return self.client.upsert("customer", customer.id, customer_to_netsuite(customer,
                                                                                refs=self.client.config.references))

    def upsert_project(self, project: Project, contract: Contract) -> str:
        refs = self.client.config.references
        job_id = self.client.upsert("job", project.id, project_to_job(project, refs=refs, contract=contract))
        if project.tasks:
            results = self.client.bulk_upsert("projecttask", [task_to_projecttask(t) for t in project.tasks])
            failed = [r.error for r in results if r.error is not None]
            if failed:
                raise RecordRejected(failed[0])
        return job_id

    def upsert_contract(self, contract: Contract, *, project_id: str) -> str:
        body = contract_to_salesorder(contract, refs=self.client.config.references, project_id=project_id,
                                      dimensions=self.dimensions)
        return self.client.upsert("salesorder", contract.id, body)

    def project_states(self, project_ids: Sequence[str]) -> dict[str, ProjectState]:
        return {pid: ProjectState(ProjectStatus.CLOSED if s.closed else ProjectStatus.OPEN)
                for pid, s in self.client.jobs_status(project_ids).items()}

    # --- time -----------------------------------------------------------------------------
    def _employee_ids(self, *, refresh: bool = False) -> dict[str, str]:
        with self._lock:
            if self._employees is None or refresh:
                self._employees = self.client.employee_ids_by_email()
            return self._employees

    def resources(self) -> list[Person]:
        """Every employee, active or not: name, Employee ID (entityId) and, when `employee_role_field` names
        one, the role NetSuite holds for them (the config's role still rates their time)."""
        staff = self.client.employees(role_field=self.client.config.employee_role_field)
        with self._lock:  # the freshest list of who may post time, at no extra request
            self._employees = {e.email.lower(): e.internal_id for e in staff if e.email and not e.inactive}
        return [Person(system_id=e.internal_id, email=e.email.lower() if e.email else None, name=e.name,
                       active=not e.inactive, employee_number=e.entity_id, roles=(e.role,) if e.role else ())
                for e in staff]

    def upsert_timebills(self, timebills: Sequence[Timebill]) -> list[WriteResult]:
        employees = self._employee_ids()
        if any(t.rated.resource_id not in employees for t in timebills):
            employees = self._employee_ids(refresh=True)  # someone may have been hired since
        results: list[WriteResult] = []
        bodies = []
        warnings: dict[str, tuple[Violation, ...]] = {}
        for t in timebills:
            employee = employees.get(t.rated.resource_id)
            if employee is None:
                results.append(WriteResult(t.entry.id, None, Violation(
                    system="netsuite", object="employee", record_id=t.rated.resource_id, field="email",
                    rule="time.employee_missing",
                    message=f"no active NetSuite employee has the email {t.rated.resource_id} (entry {t.entry.id})",
                    action="Create or reactivate the employee in NetSuite with this email, then replay")))
                continue
            entry = t.entry.model_copy(update={"billable": t.rated.billable})
            codes = self.dimensions.codes(offering=t.service_offering, legal_entity=t.legal_entity,
                                          resource=t.rated.resource_id)
            mapped = time_entry_to_timebill(entry, rate=t.rated.rate, employee_id=employee, task_id=t.task_id,
                                            refs=self.client.config.references, dimensions=codes)
            bodies.append(mapped.body)
            warnings[t.entry.id] = mapped.warnings
        if bodies:
            for r in self.client.bulk_upsert("timebill", bodies):
                results.append(WriteResult(r.external_id, r.internal_id, r.error,
                                           warnings=() if r.error else warnings.get(r.external_id, ())))
        return results

    # --- billing and revenue --------------------------------------------------------------
    def upsert_invoice(self, invoice: Invoice, *, legal_entity: str, project_id: str | None,
                       offerings: Mapping[str, str | None] | None = None) -> str:
        """The invoice or credit memo; `offerings` (phase id -> service offering) gives each line its class."""
        refs = self.client.config.references
        if invoice.kind == "credit_note":
            credits = credited_invoice_id(invoice.id)
            if credits is None:
                raise RecordRejected(Violation(
                    system="q2c", object="invoice", record_id=invoice.id, field="id",
                    rule="netsuite.mapping.credit_note_unapplied",
                    message=f"credit note {invoice.id} does not name the invoice it credits (CN-<n>-<invoice id>)",
                    action="Issue the credit with `q2c invoices rebill`, which names the invoice it credits"))
            standing = self.client.invoices([credits]).get(credits)  # a paid invoice owes nothing to apply it to
            body = credit_note_to_netsuite(invoice, refs=refs, legal_entity=legal_entity, credits=credits,
                                           project_id=project_id,
                                           apply=standing is None or standing.state is not InvoiceState.PAID,
                                           dimensions=self.dimensions, offerings=offerings)
            return self.client.upsert("creditmemo", invoice.id, body)
        body = invoice_to_netsuite(invoice, refs=refs, legal_entity=legal_entity, project_id=project_id,
                                   dimensions=self.dimensions, offerings=offerings)
        return self.client.upsert("invoice", invoice.id, body)

    def invoice_states(self, invoice_ids: Sequence[str]) -> dict[str, InvoiceStatus]:
        return {i: s.state.canonical() for i, s in self.client.invoices(invoice_ids).items()}

    def invoice_changes(self, since: date | None) -> list[InvoiceChange]:
        return [InvoiceChange(s.external_id, s.state.canonical(), s.modified_on)
                for s in self.client.invoices_changed(since)]

    def _account_ids(self, numbers: Sequence[str]) -> dict[str, str]:
        with self._lock:
            if numbers and (self._accounts is None or any(n not in self._accounts for n in numbers)):
                rows = self.client.suiteql(f"SELECT id, acctnumber FROM account WHERE acctnumber IN {in_list(numbers)}")
                self._accounts = {**(self._accounts or {}), **{r["acctnumber"]: r["id"] for r in rows}}
            return dict(self._accounts or {})

    def post_journal_entry(self, entry: JournalEntry) -> str:
        """A balanced journal entry; accounts are named '<number> <name>' and matched by number."""
        accounts = self._account_ids([n for n in (account_number(line.account) for line in entry.lines) if n])
        body = journal_entry_to_netsuite(entry, refs=self.client.config.references, account_ids=accounts)
        return self.client.upsert("journalentry", entry.id, body)

    # --- reference data -------------------------------------------------------------------------
    def currency_rates(self, since: date | None) -> list[FxRate]:
        """The Currency Exchange Rates entered or changed on or after `since` (all without it), each as 1 unit
        of its transaction currency in its base currency from its effective date (mapping: transaction ->
        base). Currencies are internal ids: `references.currencies` names them, else the currency record's
        symbol (read only when the config leaves one out). Several rates for one pair and day: the latest
        entry wins, as NetSuite itself uses it. A row that cannot be read refuses the read, naming it."""
        rows = self.client.currency_rates(since)
        refs = self.client.config.references
        codes = currency_codes(refs, {})
        if any(row.get(key) not in codes for row in rows for key in ("basecurrency", "transactioncurrency")):
            codes = currency_codes(refs, self.client.currency_symbols())
        latest: dict[tuple[str, str, date], FxRate] = {}
        for row in rows:  # by internal id: a later entry replaces an earlier one of the same pair and day
            rate = currency_rate_from_netsuite(row, codes=codes)
            latest[(rate.from_currency, rate.to_currency, rate.on)] = rate
        return [latest[key] for key in sorted(latest)]

    # --- reconciliation -------------------------------------------------------------------------------
    def timebills(self, project_ids: Sequence[str] | None = None) -> Iterator[list[ErpTimebill]]:
        """q2c's timebills as NetSuite holds them now, a page at a time (read as the caller iterates)."""
        return self.reads.timebill_pages(project_ids)

    def documents(self, kind: ErpDocumentKind, ids: Sequence[str] | None = None) -> list[ErpDocument]:
        """q2c's sales orders ("contract"), invoices, credit memos ("credit_note") or journal entries as NetSuite
        holds them now, with their lines; a credit memo in the credit note's signs (negative)."""
        return self.reads.documents(kind, ids)
