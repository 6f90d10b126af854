"""Business Central as the hub's ERP (the `Erp` port), over API v2.0 and q2c's AL extension.

Each legal entity is a company (`companies`); customers are written to every company (a legal entity
bills a customer in its own company, and the deal, not the account, names the legal entity), the
rest to the company of the contract's or entry's legal entity. Every write first looks the record up
by q2c's id in its mapped field and creates only when nothing is found (mapping's docstring), so a
replay, or a retry after a lost answer, never creates a second record.

Projects are standard `projects`, their tasks the extension's `jobTasks`, the contract a sales order
with one G/L account line per phase. Time goes in as the extension's `timeEntries` in `$batch`
micro-batches. Invoices and credit notes are drafts with G/L account lines, each with the dimension set
of its phase's service offering and the legal entity, then posted (`Microsoft.NAV.post`); a credit
memo names the invoice it credits (`invoiceId`). Revenue goes into the `references.journal` batch,
`documentNumber` = q2c's entry id, and the batch is posted. Business Central pushes nothing q2c
relies on here, so invoice status is polled (`lastModifiedDateTime`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import date

from q2c.connectors.business_central import odata
from q2c.connectors.business_central.client import BusinessCentralClient, NotFound
from q2c.connectors.business_central.documents import Documents
from q2c.connectors.business_central.mapping import (
    SalesLine,
    code20,
    code35,
    customer_body,
    document_lines,
    invoice_header,
    invoice_status,
    journal_line_bodies,
    line_dimensions,
    payment_terms_code,
    project_body,
    reject,
    sales_order_body,
    same_id,
    task_body,
)
from q2c.connectors.business_central.notices import Notices
from q2c.connectors.business_central.reads import Reads
from q2c.connectors.business_central.time_entries import TimeEntryWriter, time_entry_body
from q2c.domain.billing.credit_notes import credited_invoice_id
from q2c.domain.model import Contract, Customer, Invoice, InvoiceStatus, JournalEntry, Project
from q2c.domain.naming import SystemNames
from q2c.domain.revenue import FxRate
from q2c.domain.violations import Violation
from q2c.engine.errors import TransientError
from q2c.workflows.ports import (
    ErpDocument,
    ErpDocumentKind,
    ErpTimebill,
    InvoiceChange,
    Notice,
    Person,
    ProjectState,
    Subscriptions,
    Timebill,
    WriteResult,
)

log = logging.getLogger(__name__)
JOB_TASK_READS = ("id", "jobTaskNumber", "description")  # what q2c reads of the extension's jobTasks

NAMES = SystemNames(system="business_central", label="Business Central", objects={
    "project": "project", "task": "jobTask", "time_entry": "timeEntry", "contract": "salesOrder",
    "customer": "customer", "invoice": "salesInvoice", "credit_note": "salesCreditMemo",
    "journal_entry": "journalLine", "employee": "employee"},
    fields={"project.status": "status"})


class BusinessCentralErp:
    names = NAMES
    journal_currencies = "entity"  # API v2.0 journal lines carry no currency: see _require_local_currency

    def __init__(self, client: BusinessCentralClient) -> None:
        self.client = client
        self.settings = client.settings
        self.refs = client.settings.references
        self.documents_io = Documents(client)
        self.reads = Reads(client)
        self.notices = Notices(client)
        self._lock = threading.Lock()
        self._terms: dict[tuple[str, str], str] = {}
        self._employees: dict[str, dict[str, str]] = {}  # company -> email -> employee number
        self._project_company: dict[str, str] = {}

    # --- project setup --------------------------------------------------------------------------------
    def _payment_terms_id(self, company: str, code: str | None) -> str | None:
        if code is None:
            return None
        with self._lock:
            if (company, code) in self._terms:
                return self._terms[(company, code)]
        row = self.client.find(company, "paymentTerms", odata.eq("code", code))
        if row is None:
            raise reject("customer", code, "paymentTermsId", "payment_terms_missing",
                         f"payment terms code {code!r} is not set up in the company",
                         "Create the payment terms in Business Central, or fix systems.erp.references.payment_terms")
        with self._lock:
            self._terms[(company, code)] = str(row["id"])
        return str(row["id"])

    def upsert_customer(self, customer: Customer) -> str:
        """The customer in every company; returns its number (the same in each)."""
        terms = payment_terms_code(customer, self.refs)
        number = ""
        for company in dict.fromkeys(self.settings.companies.values()):
            body = customer_body(customer, payment_terms_id=self._payment_terms_id(company, terms))
            number = str(body["number"])
            row, created = self.client.ensure(company, "customers", odata.eq("number", number), body,
                                              obj="customer", record_id=customer.id)
            if not created:
                changes = {k: v for k, v in body.items() if k != "number" and row.get(k) != v}
                if changes:
                    self.client.update(self.client.url(company, "customers", str(row["id"])), row, changes,
                                       obj="customer", record_id=customer.id)
            number = str(row.get("number") or number)
        return number

    def upsert_project(self, project: Project, contract: Contract) -> str:
        company = self.settings.company(contract.legal_entity, record="project", record_id=project.id)
        body = project_body(project)
        row, created = self.client.ensure(company, "projects", odata.eq("number", body["number"]), body,
                                          obj="project", record_id=project.id)
        if not created and row.get("displayName") != body["displayName"]:
            row = self.client.update(self.client.url(company, "projects", str(row["id"])), row,
                                     {"displayName": body["displayName"]}, obj="project", record_id=project.id)
        with self._lock:
            self._project_company[project.id] = company
        self._mark_job(company, project)
        tasks = {str(t.get("jobTaskNumber", "")).upper(): t for t in self.client.rows(
            company, "jobTasks", filter=odata.eq("jobNumber", str(body["number"])), extension=True,
            select=JOB_TASK_READS)}
        for task in project.tasks:
            wanted = task_body(task, project)
            held = tasks.get(task.code.upper())
            if held is None:
                self.client.ensure(company, "jobTasks", f"{odata.eq('jobNumber', wanted['jobNumber'])} and "
                                                        f"{odata.eq('jobTaskNumber', wanted['jobTaskNumber'])}",
                                   wanted, obj="task", record_id=task.id, extension=True)
            elif held.get("description") != wanted["description"]:
                self.client.update(self.client.url(company, "jobTasks", str(held["id"]), extension=True), held,
                                   {"description": wanted["description"]}, obj="task", record_id=task.id)
        return str(row["id"])

    def _mark_job(self, company: str, project: Project) -> None:
        """q2c's id on the job (the extension's `jobs.externalId`), in its own case, for reconciliation to read
        back; an extension without the jobs page leaves the job as it is (project ids then read back as Code)."""
        number = code20(project.id)
        try:
            job = self.client.find(company, "jobs", odata.eq("number", number), extension=True)
        except NotFound:
            log.warning("business_central: the q2c extension has no jobs page; project %s keeps no q2c id",
                        project.id)
            return
        if job is None:
            raise TransientError("business_central", f"project {project.id}: job {number} not on the jobs page yet")
        if job.get("externalId") != project.id:
            self.client.update(self.client.url(company, "jobs", str(job["id"]), extension=True), job,
                               {"externalId": project.id}, obj="project", record_id=project.id)

    def upsert_contract(self, contract: Contract, *, project_id: str) -> str:
        company = self.settings.company(contract.legal_entity, record="contract", record_id=contract.id)
        header, lines = sales_order_body(contract, customer_number=code20(contract.customer_id), refs=self.refs)
        order = self.documents_io.header(company, "salesOrders", contract.id, header, obj="contract")
        self.documents_io.sync_lines(company, "salesOrders", str(order["id"]), "salesOrderLines", lines,
                                     obj="contract", record_id=contract.id)
        return str(order["id"])

    def project_states(self, project_ids: Sequence[str]) -> dict[str, ProjectState]:
        return self.reads.project_states(project_ids)

    # --- time -------------------------------------------------------------------------------------------
    def _employee_numbers(self, company: str, *, refresh: bool = False) -> dict[str, str]:
        with self._lock:
            known = self._employees.get(company)
        if known is None or refresh:
            known = {str(e["email"]).lower(): str(e["number"]) for e in self.client.rows(company, "employees")
                     if e.get("email") and e.get("status", "Active") == "Active"}
            with self._lock:
                self._employees[company] = known
        return known

    def _company_of(self, t: Timebill) -> str | None:
        if t.legal_entity is not None and t.legal_entity in self.settings.companies:
            return self.settings.companies[t.legal_entity]
        with self._lock:
            if t.entry.project_id in self._project_company:
                return self._project_company[t.entry.project_id]
        for company in dict.fromkeys(self.settings.companies.values()):
            if self.client.find(company, "projects", odata.eq("number", code20(t.entry.project_id))) is not None:
                with self._lock:
                    self._project_company[t.entry.project_id] = company
                return company
        return None

    def upsert_timebills(self, timebills: Sequence[Timebill]) -> list[WriteResult]:
        results: dict[str, WriteResult] = {}
        by_company: dict[str, list[Timebill]] = {}
        for t in timebills:
            company = self._company_of(t)
            if company is None:
                results[t.entry.id] = WriteResult(t.entry.id, None, Violation(
                    system="business_central", object="project", record_id=t.entry.project_id, field="number",
                    rule="business_central.project_missing",
                    message=f"no company holds project {t.entry.project_id} (entry {t.entry.id})",
                    action="Set the project up (q2c does it when the deal is won), then replay"))
                continue
            by_company.setdefault(company, []).append(t)
        writer = TimeEntryWriter(self.client)
        for company, bills in by_company.items():
            staff = self._employee_numbers(company)
            if any(t.rated.resource_id.lower() not in staff for t in bills):
                staff = self._employee_numbers(company, refresh=True)  # someone may have been hired since
            bodies, warnings = {}, {}
            for t in bills:
                number = staff.get(t.rated.resource_id.lower())
                if number is None:
                    results[t.entry.id] = WriteResult(t.entry.id, None, Violation(
                        system="business_central", object="employee", record_id=t.rated.resource_id, field="email",
                        rule="time.employee_missing",
                        message=f"no active Business Central employee has the email {t.rated.resource_id} "
                                f"(entry {t.entry.id})",
                        action="Create the employee (with a resource) in the company with this email, then replay"))
                    continue
                bodies[t.entry.id], warnings[t.entry.id] = time_entry_body(t, employee_number=number)
            for result in writer.write(company, bodies, warnings):
                results[result.canonical_id] = result
        return [results[t.entry.id] for t in timebills]

    def resources(self) -> list[Person]:
        return self.reads.people()

    # --- billing and revenue -------------------------------------------------------------------------------
    def upsert_invoice(self, invoice: Invoice, *, legal_entity: str, project_id: str | None,
                       offerings: Mapping[str, str | None] | None = None) -> str:
        """A draft with G/L account lines and their dimensions, then posted; a posted document stays as it is."""
        company = self.settings.company(legal_entity, record="invoice", record_id=invoice.id)
        credit = invoice.kind == "credit_note"
        entity_set, line_set = ("salesCreditMemos", "salesCreditMemoLines") if credit else \
            ("salesInvoices", "salesInvoiceLines")
        header = invoice_header(invoice, customer_number=code20(invoice.customer_id))
        existing = self.client.find(company, entity_set, odata.eq("externalDocumentNumber",
                                                                  header["externalDocumentNumber"]))
        if existing is not None and existing.get("status") not in ("Draft", "In Review"):
            if invoice_status(existing.get("status"), record_id=invoice.id) is InvoiceStatus.VOIDED:
                raise reject("salesInvoice", invoice.id, "status", "voided",
                             "the document is canceled in Business Central and cannot change",
                             "Bill the time on a new invoice")
            return str(existing["id"])
        if credit:
            header.update(self._credited(company, invoice))
        document = existing or self.documents_io.header(company, entity_set, invoice.id, header,
                                                        obj=NAMES.object(invoice.kind))
        lines = document_lines(invoice, refs=self.refs, legal_entity=legal_entity, offerings=offerings or {},
                               sign=-1 if credit else 1)
        self.documents_io.sync_lines(company, entity_set, str(document["id"]), line_set, lines,
                                     obj=NAMES.object(invoice.kind), record_id=invoice.id)
        posted = self.documents_io.post(company, entity_set, document, obj=NAMES.object(invoice.kind),
                                        record_id=invoice.id)
        return str(posted["id"])

    def _credited(self, company: str, credit: Invoice) -> dict[str, str]:
        """The credit memo's `invoiceId`: the posted invoice it credits, unless that is paid (then it stays open,
        a credit on the customer's account, as NetSuite's unapplied credit memo)."""
        credits = credited_invoice_id(credit.id)
        if credits is None:
            raise reject("salesCreditMemo", credit.id, "id", "credit_note_unapplied",
                         f"credit note {credit.id} does not name the invoice it credits (CN-<n>-<invoice id>)",
                         "Issue the credit with `q2c invoices rebill`, which names the invoice it credits")
        invoice = self.client.find(company, "salesInvoices", odata.eq("externalDocumentNumber", code35(credits)))
        if invoice is None or not same_id(str(invoice.get("externalDocumentNumber")), code35(credits)):
            raise reject("salesCreditMemo", credit.id, "invoiceId", "credited_invoice_missing",
                         f"the invoice it credits, {credits}, is not in the company",
                         "Release the invoice first, then replay")
        if invoice.get("status") == "Paid":
            return {}
        return {"invoiceId": str(invoice["id"])}

    def invoice_states(self, invoice_ids: Sequence[str]) -> dict[str, InvoiceStatus]:
        return self.reads.invoice_states(invoice_ids)

    def invoice_changes(self, since: date | None) -> list[InvoiceChange]:
        return self.reads.invoice_changes(since)

    def post_journal_entry(self, entry: JournalEntry) -> str:
        """The entry's lines in the journal batch, with their dimensions, then the batch posted. Posted already
        (its G/L entries carry the document no.): nothing is sent again. Only an entry in the company's local
        currency is posted (`_require_local_currency`)."""
        company = self.settings.company(entry.legal_entity, record="journal_entry", record_id=entry.id)
        self._require_local_currency(company, entry)
        document_number = code20(entry.id)
        if self.client.find(company, "generalLedgerEntries", odata.eq("documentNumber", document_number)):
            return document_number
        journal = self.client.find(company, "journals", odata.eq("code", self.refs.journal))
        if journal is None:
            raise reject("journal_entry", entry.id, "journal", "journal_missing",
                         f"the general journal batch {self.refs.journal!r} is not in the company",
                         "Create the batch in Business Central, or fix systems.erp.references.journal")
        lines = journal_line_bodies(entry, document_number=document_number)
        dims = self.refs.dimensions
        wanted = [tuple((code, value) for code, value in (
            (dims.service_offering, (codes.get("service_line") or "").upper()[:20]),
            (dims.legal_entity, entry.legal_entity.upper()[:20])) if code and value) for _, codes in lines]
        self.documents_io.sync_journal(company, str(journal["id"]), document_number,
                                       [SalesLine(body, dims_of) for (body, _), dims_of in zip(lines, wanted,
                                                                                              strict=True)],
                                       record_id=entry.id)
        self.documents_io.post_journal(company, journal, document_number, record_id=entry.id)
        return document_number

    def _require_local_currency(self, company: str, entry: JournalEntry) -> None:
        """API v2.0 journal lines carry no currency (journalLine resource type): Business Central posts their
        amounts in the company's local currency. An entry in any other currency would land in the G/L with
        its foreign figures read as local ones, so it is refused before anything is sent."""
        local = self.reads.local_currency(company)
        currencies = sorted({m.currency for line in entry.lines for m in (line.debit, line.credit)})
        foreign = [c for c in currencies if c != local]
        if not foreign:
            return
        copy = f"{entry.id}-{local}"
        raise reject("journal_entry", entry.id, "currency", "journal_currency_not_local",
                     f"journal entry {entry.id} is in {', '.join(foreign)}, but company {entry.legal_entity} posts in "
                     f"{local}: Business Central API v2.0 journal lines have no currency, so these amounts would "
                     f"be posted as {local}",
                     f"The revenue close sends the entity-currency copy only ({copy}) and keeps this "
                     f"{', '.join(foreign)} entry in q2c; an entry sent some other way must be in {local}")

    # --- reference data ------------------------------------------------------------------------------------
    def currency_rates(self, since: date | None) -> list[FxRate]:
        return self.reads.currency_rates(since)

    # --- reconciliation --------------------------------------------------------------------------------------
    def timebills(self, project_ids: Sequence[str] | None = None) -> Iterator[list[ErpTimebill]]:
        return self.reads.timebill_pages(project_ids)

    def documents(self, kind: ErpDocumentKind, ids: Sequence[str] | None = None) -> list[ErpDocument]:
        return self.reads.documents(kind, ids)

    # --- change notices (webhook subscriptions) -------------------------------------------------------------
    def keep_subscribed(self) -> Subscriptions | None:
        return self.notices.keep_subscribed()

    def notice(self, query: Mapping[str, str], body: bytes) -> Notice:
        return self.notices.notice(query, body)


__all__ = ["NAMES", "BusinessCentralErp", "NotFound", "line_dimensions"]
