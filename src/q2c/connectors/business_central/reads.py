"""What q2c reads from Business Central: project and invoice status, people, exchange rates, and the
reconciliation reads (q2c's time entries and documents as Business Central holds them now, never cached).

A company at a time (each legal entity is one); a record is q2c's when it carries q2c's id in its mapped
field. Credit memos are given in the credit note's signs (negative), as q2c holds credit notes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from q2c.connectors.business_central import odata
from q2c.connectors.business_central.client import BusinessCentralClient, NotFound
from q2c.connectors.business_central.mapping import (
    canonical_of,
    code20,
    code35,
    day,
    id_of_lines,
    invoice_status,
    is_id_line,
    journal_entry_id,
    number,
    reject,
    same_id,
)
from q2c.domain.model import InvoiceStatus, ProjectStatus
from q2c.domain.revenue import FxRate
from q2c.workflows.ports import ErpDocument, ErpDocumentKind, ErpLine, ErpTimebill, InvoiceChange, Person, ProjectState

log = logging.getLogger(__name__)
_SETS: Mapping[str, tuple[str, str]] = {"contract": ("salesOrders", "salesOrderLines"),
                                        "invoice": ("salesInvoices", "salesInvoiceLines"),
                                        "credit_note": ("salesCreditMemos", "salesCreditMemoLines")}
_LINE_SETS = dict(_SETS.values())
_DATES = {"contract": "orderDate", "invoice": "invoiceDate", "credit_note": "creditMemoDate"}
# what q2c reads of the extension's pages (held to the AL source by a test)
TIME_ENTRY_READS = ("id", "externalId", "jobNumber", "jobTaskNumber", "postingDate", "quantity", "unitPrice",
                    "chargeable", "invoiced")
JOB_READS = ("number", "status", "endingDate", "externalId")


def _dec(value: Any, *, obj: str, record_id: str, field: str) -> Decimal:
    return number(value if value is not None else 0, obj=obj, record_id=record_id, field=field)


class Reads:
    def __init__(self, client: BusinessCentralClient) -> None:
        self.client = client
        self.settings = client.settings
        self._lcy: dict[str, str] = {}

    def _companies(self) -> list[str]:
        return list(dict.fromkeys(self.settings.companies.values()))

    # --- projects -------------------------------------------------------------------------------------------
    def project_states(self, project_ids: Sequence[str]) -> dict[str, ProjectState]:
        """From the extension's `jobs` page (the standard `projects` has no status): Completed is closed. An
        environment whose extension predates that page answers 404; its projects then read as open."""
        codes = {code20(p): p for p in project_ids}
        out: dict[str, ProjectState] = {}
        for company in self._companies():
            try:
                jobs = self.client.find_many(company, "jobs", "number", list(codes), extension=True, select=JOB_READS)
            except NotFound:
                log.warning("business_central: the q2c extension has no jobs page; project status reads as open")
                jobs = [{"number": row.get("number"), "status": "Open"} for row in self.client.find_many(
                    company, "projects", "number", list(codes))]
            for job in jobs:
                canonical = canonical_of(str(job.get("number", "")), project_ids)
                if canonical not in project_ids:
                    continue
                closed = str(job.get("status", "")).lower() == "completed"
                out[canonical] = ProjectState(ProjectStatus.CLOSED if closed else ProjectStatus.OPEN,
                                              day(job.get("endingDate")) if closed else None)
        return out

    # --- people -----------------------------------------------------------------------------------------
    def people(self) -> list[Person]:
        """Every employee of every company, active or not; one person per email (active wins)."""
        found: dict[str, Person] = {}
        anonymous: list[Person] = []
        for company in self._companies():
            for e in self.client.rows(company, "employees"):
                email = str(e["email"]).lower() if e.get("email") else None
                name = str(e.get("displayName") or " ".join(
                    str(e.get(k) or "") for k in ("givenName", "surname")).strip() or e.get("number"))
                person = Person(system_id=str(e["id"]), email=email, name=name,
                                active=str(e.get("status", "Active")) == "Active",
                                employee_number=str(e["number"]) if e.get("number") else None,
                                roles=(str(e["jobTitle"]),) if e.get("jobTitle") else ())
                if email is None:
                    anonymous.append(person)
                elif email not in found or (person.active and not found[email].active):
                    found[email] = person
        return [found[k] for k in sorted(found)] + anonymous

    # --- invoices -------------------------------------------------------------------------------------------
    def _canonical(self, row: Mapping[str, Any], known: Sequence[str] = (), lines: Sequence[Mapping[str, Any]] = ()
                   ) -> str:
        """q2c's id of a document: one of `known` whose Code value (or digest) it holds; else its id line's id
        (a digested id), the Text copy when it agrees with the Code field, or the Code field."""
        external = str(row.get("externalDocumentNumber") or "")
        canonical = canonical_of(external, known)
        if canonical != external or not external:
            return canonical
        carried = id_of_lines(lines)
        if carried is not None and same_id(code35(carried), external):
            return carried
        reference = row.get("customerPurchaseOrderReference")
        if isinstance(reference, str) and same_id(reference, external):
            return reference
        return external

    def _id_lines(self, company: str, entity_set: str, row: Mapping[str, Any]) -> list[dict[str, Any]]:
        """A document's comment lines, read only when its number is a digest (`Q2C` + 32 hex digits)."""
        external = str(row.get("externalDocumentNumber") or "")
        if len(external) != 35 or not external.upper().startswith("Q2C"):
            return []
        return self.client.rows(company, f"{entity_set}({row['id']})/{_LINE_SETS[entity_set]}",
                                filter="lineType eq 'Comment'")

    def invoice_states(self, invoice_ids: Sequence[str]) -> dict[str, InvoiceStatus]:
        out: dict[str, InvoiceStatus] = {}
        for company in self._companies():
            for entity_set in ("salesInvoices", "salesCreditMemos"):
                codes = [code35(i) for i in invoice_ids]
                for row in self.client.find_many(company, entity_set, "externalDocumentNumber", codes):
                    canonical = canonical_of(str(row.get("externalDocumentNumber", "")), invoice_ids)
                    if canonical in invoice_ids:
                        out[canonical] = invoice_status(row.get("status"), record_id=canonical)
        return out

    def invoice_changes(self, since: date | None) -> list[InvoiceChange]:
        """q2c's invoices and credit memos changed on or after `since` (every one of them without it)."""
        mine = "externalDocumentNumber ne ''"
        if since is not None:
            mine += f" and lastModifiedDateTime ge {since.isoformat()}T00:00:00Z"
        out = []
        for company in self._companies():
            for entity_set in ("salesInvoices", "salesCreditMemos"):
                for row in self.client.rows(company, entity_set, filter=mine):
                    canonical = self._canonical(row, lines=self._id_lines(company, entity_set, row))
                    changed = row.get("lastModifiedDateTime")
                    out.append(InvoiceChange(canonical, invoice_status(row.get("status"), record_id=canonical),
                                             date.fromisoformat(changed[:10]) if isinstance(changed, str) else None))
        return sorted(out, key=lambda c: (c.changed_on or date.min, c.invoice_id))

    # --- exchange rates ---------------------------------------------------------------------------------------
    def local_currency(self, company: str) -> str:
        """The company's local currency: the config's `local_currencies`, else the company information."""
        code = next((c for c, cid in self.settings.companies.items() if cid == company), "")
        if code in self.settings.local_currencies:
            return self.settings.local_currencies[code]
        if company not in self._lcy:
            try:
                info = self.client.rows(company, "companyInformation")
            except NotFound:
                info = []
            currency = str(info[0].get("currencyCode") or "") if info else ""
            if not currency:
                raise reject("company", code, "local_currencies", "local_currency_unknown",
                             f"the local currency of company {code} cannot be read", "Set systems.erp."
                             f"local_currencies.{code} to its currency code (General Ledger Setup, LCY Code)")
            self._lcy[company] = currency
        return self._lcy[company]

    def currency_rates(self, since: date | None) -> list[FxRate]:
        """Standard `currencyExchangeRates`: `exchangeRateAmount` units of the currency are worth
        `relationalExchangeRateAmount` units of the relational currency (the local currency when blank)."""
        latest: dict[tuple[str, str, date], FxRate] = {}
        flt = f"lastModifiedDateTime ge {since.isoformat()}T00:00:00Z" if since is not None else None
        for company in self._companies():
            for row in self.client.rows(company, "currencyExchangeRates", filter=flt):
                rid = str(row.get("id"))
                on = day(row.get("startingDate"))
                amount = _dec(row.get("exchangeRateAmount"), obj="currencyExchangeRate", record_id=rid,
                              field="exchangeRateAmount")
                relational = _dec(row.get("relationalExchangeRateAmount"), obj="currencyExchangeRate", record_id=rid,
                                  field="relationalExchangeRateAmount")
                if on is None or amount <= 0 or relational <= 0 or not row.get("currencyCode"):
                    raise reject("currencyExchangeRate", rid, "exchangeRateAmount", "unreadable_rate",
                                 f"exchange rate {row.get('currencyCode')} from {row.get('startingDate')} has "
                                 f"amounts {amount} and {relational}", "Correct the rate in Business Central")
                to = str(row.get("relationalCurrencyCode") or "") or self.local_currency(company)
                rate = FxRate(str(row["currencyCode"]), to, relational / amount, on)
                latest[(rate.from_currency, rate.to_currency, rate.on)] = rate
        return [latest[k] for k in sorted(latest)]

    # --- reconciliation -----------------------------------------------------------------------------------------
    def job_ids(self, company: str) -> dict[str, str]:
        """Each job's number (upper case) -> q2c's id of it, from the extension's `jobs.externalId`: the
        number is a Code value (upper case, a digest when long), the id q2c's own. Jobs q2c did not mark,
        or an extension without the jobs page, give nothing."""
        try:
            jobs = self.client.rows(company, "jobs", filter="externalId ne ''", extension=True,
                                    select=("number", "externalId"))
        except NotFound:
            return {}
        return {str(j["number"]).upper(): str(j["externalId"]) for j in jobs if j.get("number") and j.get("externalId")}

    def timebill_pages(self, project_ids: Sequence[str] | None) -> Iterator[list[ErpTimebill]]:
        known = list(project_ids or ())
        for company in self._companies():
            if project_ids is not None:
                filters = [odata.one_of("jobNumber", [code20(p) for p in chunk]) for chunk in odata.chunks(known)]
                jobs = {code20(p).upper(): p for p in known}
            else:
                filters = ["externalId ne ''"]
                jobs = self.job_ids(company)
            for flt in filters:
                url = self.client.url(company, "timeEntries", extension=True)
                params = {"$filter": flt, "$select": ",".join(TIME_ENTRY_READS)}
                for page in self.client.pages(url, params=params, obj="timeEntries"):
                    yield [self._timebill(row, jobs) for row in page if row.get("externalId")]

    def _timebill(self, row: Mapping[str, Any], jobs: Mapping[str, str]) -> ErpTimebill:
        rid = str(row.get("externalId"))
        posted = day(row.get("postingDate"))
        if posted is None:
            raise reject("timeEntry", rid, "postingDate", "unreadable", "the entry has no posting date",
                         "Check the entry in Business Central")
        price = row.get("unitPrice")
        number = str(row.get("jobNumber") or "")
        return ErpTimebill(
            entry_id=rid, system_id=str(row.get("id")),
            project_id=jobs.get(number.upper(), number) if number else None,
            task_code=str(row["jobTaskNumber"]) if row.get("jobTaskNumber") else None, work_date=posted,
            hours=_dec(row.get("quantity"), obj="timeEntry", record_id=rid, field="quantity"),
            rate=_dec(price, obj="timeEntry", record_id=rid, field="unitPrice") if price is not None else None,
            billable=bool(row.get("chargeable")), billed=bool(row.get("invoiced")))

    def documents(self, kind: ErpDocumentKind, ids: Sequence[str] | None) -> list[ErpDocument]:
        if kind == "journal_entry":
            return self._journal_entries(ids)
        entity_set, line_set = _SETS[kind]
        known = list(ids or ())
        out: list[ErpDocument] = []
        for company in self._companies():
            if ids is not None:
                codes = [code35(i) for i in known]
                rows = [r for chunk in odata.chunks(codes) for r in self.client.rows(
                    company, entity_set, filter=odata.one_of("externalDocumentNumber", chunk), expand=line_set)]
            else:
                rows = self.client.rows(company, entity_set, filter="externalDocumentNumber ne ''", expand=line_set)
            out.extend(self._document(kind, row, line_set, known) for row in rows)
        return [d for d in out if ids is None or d.id in ids]

    def _document(self, kind: ErpDocumentKind, row: Mapping[str, Any], line_set: str, known: Sequence[str]
                  ) -> ErpDocument:
        held = row.get(line_set) or []
        canonical = self._canonical(row, known, held)
        sign = Decimal(-1) if kind == "credit_note" else Decimal(1)
        lines = []
        for line in held:
            if is_id_line(line):
                continue
            qty = _dec(line.get("quantity"), obj=line_set, record_id=canonical, field="quantity")
            price = _dec(line.get("unitPrice"), obj=line_set, record_id=canonical, field="unitPrice")
            amount = line.get("amountExcludingTax", line.get("netAmount"))
            total = _dec(amount, obj=line_set, record_id=canonical, field="amountExcludingTax") \
                if amount is not None else qty * price
            lines.append(ErpLine(str(line.get("description") or ""), sign * total, sign * qty, price))
        status = row.get("status")
        return ErpDocument(
            kind, canonical, str(row.get("id")), str(row.get("currencyCode") or "") or None,
            sign * _dec(row.get("totalAmountExcludingTax"), obj=kind, record_id=canonical,
                        field="totalAmountExcludingTax"),
            str(status) if kind == "contract" else invoice_status(status, record_id=canonical).value,
            day(row.get(_DATES[kind])), tuple(lines))

    def _journal_entries(self, ids: Sequence[str] | None) -> list[ErpDocument]:
        """Posted revenue: the G/L entries of each document no., q2c's id read back from the description."""
        entries: dict[str, list[Mapping[str, Any]]] = {}
        currency: dict[str, str] = {}  # entry id -> its company, whose local currency the G/L entries are in
        for company in self._companies():
            if ids is not None:
                codes = {code20(i): i for i in ids}
                rows = [r for chunk in odata.chunks(list(codes)) for r in self.client.rows(
                    company, "generalLedgerEntries", filter=odata.one_of("documentNumber", chunk))]
            else:
                rows = self.client.rows(company, "generalLedgerEntries", filter="documentNumber ne ''")
            for row in rows:
                canonical = journal_entry_id(row.get("description"), row.get("documentNumber"))
                if canonical is not None and (ids is None or canonical in ids):
                    entries.setdefault(canonical, []).append(row)
                    currency.setdefault(canonical, company)
        out = []
        for canonical, held in sorted(entries.items()):
            lines = []
            for entry_row in held:
                debit = _dec(entry_row.get("debitAmount"), obj="generalLedgerEntry", record_id=canonical,
                             field="debitAmount")
                credit = _dec(entry_row.get("creditAmount"), obj="generalLedgerEntry", record_id=canonical,
                              field="creditAmount")
                lines.append(ErpLine(str(entry_row.get("description") or ""), credit - debit,
                                     account=str(entry_row.get("accountNumber") or ""), debit=debit, credit=credit))
            out.append(ErpDocument("journal_entry", canonical, str(held[0].get("documentNumber")),
                                   self.local_currency(currency[canonical]),
                                   sum((ln.debit for ln in lines), Decimal(0)), "posted",
                                   day(held[0].get("postingDate")), tuple(lines)))
        return out
