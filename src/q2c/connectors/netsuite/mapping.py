"""Canonical records to NetSuite REST record bodies, and NetSuite states back to canonical ones.

Pure functions: no I/O. References to records q2c itself writes (customer, project, task,
contract) are emitted as `{"externalId": ..., "type": ...}` with the canonical id. NetSuite's
REST record service documents `{"id": "<internal id>"}` for reference fields, so the client
turns these into internal ids (looked up once and cached) before a REST write; q2c's bulk
RESTlet resolves them inside the account itself. Setup references that q2c does not own
(subsidiary, currency, terms, items, tax items) come from `AccountReferences` as internal ids.
A value that cannot be mapped raises `RecordRejected` naming the record and field, with what
to change.

Text must fit NetSuite's fields (`limits`). A name or description someone gave q2c that is too
long is refused, naming the field: shortened, it would silently become another name in the ledger.
Time entry notes are shortened to the timebill memo, with a warning on the entry (the full notes
stay in q2c); journal memos, which q2c composes, are made to fit by dropping trailing detail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from q2c.connectors.netsuite import limits
from q2c.domain.dimensions import DimensionPlan
from q2c.domain.model import (
    BillingType,
    Contract,
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    JournalEntry,
    Project,
    ProjectStatus,
    Task,
    TimeEntry,
)
from q2c.domain.money import Money, check_currency
from q2c.domain.revenue import FxRate
from q2c.domain.violations import Violation
from q2c.engine.errors import RecordRejected

SYSTEM = "netsuite"
# NetSuite's shipped Project Status list (Setup > Accounting > Accounting Lists); accounts can add more.
STANDARD_JOB_STATUSES = {"open": "2", "closed": "1"}


class AccountReferences(BaseModel):
    """Internal ids of the account's setup records, keyed the way the canonical model names them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subsidiaries: dict[str, str] = Field(default_factory=dict)  # legal entity code -> subsidiary id
    currencies: dict[str, str] = Field(default_factory=dict)  # ISO 4217 code -> currency id
    terms: dict[str, str] = Field(default_factory=dict)  # payment terms name ("Net 30") -> term id
    service_items: dict[str, str] = Field(default_factory=dict)  # service offering -> service item id
    billing_type_items: dict[str, str] = Field(default_factory=dict)  # BillingType value -> item id
    default_service_item: str | None = None
    tax_items: dict[str, str] = Field(default_factory=dict)  # tax code -> sales tax item id
    job_statuses: dict[str, str] = Field(default_factory=lambda: dict(STANDARD_JOB_STATUSES))
    closed_job_status_names: tuple[str, ...] = ("Closed",)
    # The firm's dimension codes (the config's `dimensions`) -> internal ids of the account's classification
    # records: Class (`classification`), Department (`department`), Location (`location`).
    classes: dict[str, str] = Field(default_factory=dict)
    departments: dict[str, str] = Field(default_factory=dict)
    locations: dict[str, str] = Field(default_factory=dict)

    def dimension_ids(self, dimension: str) -> dict[str, str]:
        """The code -> internal id table of one canonical dimension (class, department, location)."""
        tables = {"classes": self.classes, "departments": self.departments, "locations": self.locations}
        return tables[DIMENSION_REFERENCES[dimension]]


# Canonical dimension -> (the `references` key, the REST record's field). The transaction body and line field
# ids `class`, `department` and `location` and the record types `classification`, `department` and `location`
# are NetSuite's: REST API Browser record ids (Oracle help section_0902090250 Class, section_0902090444
# Department, section_0902090732 Location); timebill `class`/`department`/`location` as in the SuiteScript
# Records Browser (Time Bill) and the SOAP TimeBill record refs; journal entry line `class`/`department`/
# `location` as in the REST API Browser's journalEntry-lineElement. Sales order and invoice item lines carry
# the same three column fields [from recall; the REST API Browser's salesOrder-itemElement is not quoted here].
DIMENSION_REFERENCES = {"class": "classes", "department": "departments", "location": "locations"}


def external_ref(record_type: str, external_id: str) -> dict[str, str]:
    """A reference by q2c's canonical id (the record's externalId in NetSuite)."""
    return {"externalId": external_id, "type": record_type}


def internal_ref(internal_id: str) -> dict[str, str]:
    return {"id": internal_id}


def _reject(obj: str, record_id: str, field: str, rule: str, message: str, action: str,
            *, retryable: bool = False) -> RecordRejected:
    return RecordRejected(Violation(system="q2c", object=obj, record_id=record_id, field=field,
                                    rule=f"netsuite.mapping.{rule}", message=message, action=action,
                                    retryable=retryable))


def _lookup(table: Mapping[str, str], key: str | None, *, obj: str, record_id: str, field: str,
            what: str, config_key: str) -> str:
    if key is None:
        raise _reject(obj, record_id, field, f"{config_key}_missing", f"{what} is empty",
                      f"Set {field} on the {obj} in the system that owns it, then replay.")
    try:
        return table[key]
    except KeyError:
        raise _reject(obj, record_id, field, f"{config_key}_unmapped",
                      f"{what} '{key}' has no NetSuite counterpart",
                      f"Add '{key}' under netsuite.references.{config_key} in the q2c configuration "
                      f"(known: {', '.join(sorted(table)) or 'none'}), then replay.") from None


def classifications(refs: AccountReferences, codes: Mapping[str, str], *, obj: str, record_id: str,
                    field: str) -> dict[str, dict[str, str]]:
    """The line's class, department and location as NetSuite references, from the firm's codes; a code with no
    internal id is refused naming the `references` key to add it under (the config check missed it only when
    the code came from somewhere other than the config)."""
    found: dict[str, dict[str, str]] = {}
    for dimension in sorted(codes):
        if dimension not in DIMENSION_REFERENCES:
            continue
        key = DIMENSION_REFERENCES[dimension]
        found[dimension] = internal_ref(_lookup(refs.dimension_ids(dimension), codes[dimension], obj=obj,
                                                record_id=record_id, field=f"{field}.{dimension}",
                                                what=dimension, config_key=key))
    return found


def _within(value: str, limit: int, *, obj: str, record_id: str, field: str, target: str) -> str:
    """The value, if it fits NetSuite's field; refused otherwise, naming the field and the limit."""
    if limits.fits(value, limit):
        return value
    size, chars = limits.size(value), len(value)
    counted = f"{chars:,} characters" if size == chars else (
        f"{chars:,} characters, {size:,} as NetSuite counts them (a letter outside ASCII counts 2 to 4)")
    raise _reject(obj, record_id, field, "field_too_long",
                  f"{field} is {counted}; NetSuite's {target} holds at most {limit:,}",
                  f"Shorten {field} of {obj} {record_id} to at most {limit:,} characters in the system that "
                  "owns it, then replay.")


def _amount(money: Money, currency: str, *, obj: str, record_id: str, field: str) -> Decimal:
    if money.currency != currency:
        raise _reject(obj, record_id, field, "currency_mismatch",
                      f"{field} is in {money.currency} but the {obj} is in {currency}",
                      f"Correct the currency of {field} in the source system, then replay.")
    return money.rounded().amount


# --- to NetSuite -----------------------------------------------------------------------------------


def customer_to_netsuite(customer: Customer, *, refs: AccountReferences) -> dict[str, Any]:
    """Customer with hierarchy (parent by canonical id), subsidiary, terms, currency and tax profile."""
    body: dict[str, Any] = {
        "companyName": _within(customer.name, limits.ENTITY_NAME, obj="customer", record_id=customer.id,
                               field="name", target="customer companyName"),
        "externalId": customer.id,
        "subsidiary": internal_ref(_lookup(refs.subsidiaries, customer.legal_entity, obj="customer",
                                           record_id=customer.id, field="legal_entity",
                                           what="legal entity", config_key="subsidiaries")),
    }
    if customer.parent_id is not None:
        body["parent"] = external_ref("customer", customer.parent_id)
    terms = customer.billing_terms
    if terms is not None:
        if terms.payment_terms is not None:
            body["terms"] = internal_ref(_lookup(refs.terms, terms.payment_terms, obj="customer",
                                                 record_id=customer.id, field="billing_terms.payment_terms",
                                                 what="payment terms", config_key="terms"))
        if terms.currency is not None:
            body["currency"] = internal_ref(_lookup(refs.currencies, terms.currency, obj="customer",
                                                    record_id=customer.id, field="billing_terms.currency",
                                                    what="currency", config_key="currencies"))
        if terms.invoice_email is not None:
            body["email"] = terms.invoice_email
    tax = customer.tax_profile
    if tax is not None:
        body["taxable"] = not tax.exempt
        if tax.exempt and tax.exemption_certificate:
            body["resaleNumber"] = tax.exemption_certificate
        if tax.tax_id:
            body["vatRegNumber"] = tax.tax_id
        if not tax.exempt and tax.tax_code is not None:
            body["taxItem"] = internal_ref(_lookup(refs.tax_items, tax.tax_code, obj="customer",
                                                   record_id=customer.id, field="tax_profile.tax_code",
                                                   what="tax code", config_key="tax_items"))
    return body


def project_to_job(project: Project, *, refs: AccountReferences, contract: Contract | None = None
                   ) -> dict[str, Any]:
    """A NetSuite project (record type `job`) under its customer, open or closed."""
    status_key = "closed" if project.status is ProjectStatus.CLOSED else "open"
    body: dict[str, Any] = {
        "companyName": _within(project.name, limits.ENTITY_NAME, obj="project", record_id=project.id,
                               field="name", target="project (job) companyName"),
        "externalId": project.id,
        "parent": external_ref("customer", project.customer_id),
        "entityStatus": internal_ref(_lookup(refs.job_statuses, status_key, obj="project", record_id=project.id,
                                             field="status", what="project status", config_key="job_statuses")),
        "allowTime": project.status is ProjectStatus.OPEN,
    }
    if contract is not None:
        body["subsidiary"] = internal_ref(_lookup(refs.subsidiaries, contract.legal_entity, obj="contract",
                                                  record_id=contract.id, field="legal_entity",
                                                  what="legal entity", config_key="subsidiaries"))
        body["currency"] = internal_ref(_lookup(refs.currencies, contract.currency, obj="contract",
                                                record_id=contract.id, field="currency", what="currency",
                                                config_key="currencies"))
        body["startDate"] = contract.start_date.isoformat()
        if contract.end_date is not None:
            body["projectedEndDate"] = contract.end_date.isoformat()
    return body


def task_to_projecttask(task: Task) -> dict[str, Any]:
    """A project task under its project; the task code leads the title, as PS teams read it."""
    return {
        "title": f"{task.code} {task.name}" if task.code not in task.name else task.name,
        "externalId": task.id,
        "project": external_ref("job", task.project_id),
        "nonBillableTask": not task.billable,
    }


def _line_item(refs: AccountReferences, offering: str | None, billing_type: BillingType, *, obj: str,
               record_id: str, field: str) -> str:
    if offering is not None and offering in refs.service_items:
        return refs.service_items[offering]
    if billing_type.value in refs.billing_type_items:
        return refs.billing_type_items[billing_type.value]
    if refs.default_service_item is not None:
        return refs.default_service_item
    return _lookup(refs.service_items, offering, obj=obj, record_id=record_id, field=field,
                   what="service offering", config_key="service_items")


def contract_to_salesorder(contract: Contract, *, refs: AccountReferences, project_id: str | None = None,
                           dimensions: DimensionPlan | None = None) -> dict[str, Any]:
    """The contract as a sales order: one line per phase, carrying the phase id for later changes, and the
    class and department of the phase's offering and the location of the contract's legal entity."""
    plan = dimensions or DimensionPlan()
    lines = []
    for index, phase in enumerate(contract.phases):
        field = f"phases[{index}]"
        amount = _amount(phase.amount, contract.currency, obj="contract", record_id=contract.id,
                         field=f"{field}.amount")
        description = f"{phase.name} ({phase.billing_type.value.replace('_', ' ')})"
        if phase.cap is not None:
            description += f", not to exceed {phase.cap}"
        lines.append({
            "item": internal_ref(_line_item(refs, phase.service_offering, phase.billing_type, obj="contract",
                                            record_id=contract.id, field=f"{field}.service_offering")),
            "description": _within(description, limits.LINE_DESCRIPTION, obj="contract", record_id=contract.id,
                                   field=f"{field}.name", target="sales order line description"),
            "quantity": Decimal(1),
            "rate": amount,
            "amount": amount,
            "custcol_q2c_phase_id": _within(phase.id, limits.FREE_FORM_TEXT, obj="contract", record_id=contract.id,
                                            field=f"{field}.id", target="line field custcol_q2c_phase_id"),
            **classifications(refs, plan.codes(offering=phase.service_offering, legal_entity=contract.legal_entity),
                              obj="contract", record_id=contract.id, field=field),
        })
    if not lines:
        raise _reject("contract", contract.id, "phases", "no_phases", "the contract has no phases",
                      "Add at least one phase (sold scope) to the deal in the CRM, then replay.")
    body: dict[str, Any] = {
        "entity": external_ref("customer", contract.customer_id),
        "externalId": contract.id,
        "tranDate": contract.start_date.isoformat(),
        "startDate": contract.start_date.isoformat(),
        "currency": internal_ref(_lookup(refs.currencies, contract.currency, obj="contract", record_id=contract.id,
                                         field="currency", what="currency", config_key="currencies")),
        "subsidiary": internal_ref(_lookup(refs.subsidiaries, contract.legal_entity, obj="contract",
                                           record_id=contract.id, field="legal_entity", what="legal entity",
                                           config_key="subsidiaries")),
        "memo": _within(contract.name, limits.TRANSACTION_MEMO, obj="contract", record_id=contract.id,
                        field="name", target="sales order memo"),
        "otherRefNum": contract.opportunity_id,
        "item": {"items": lines},
    }
    if project_id is not None:
        body["job"] = external_ref("job", project_id)
    if contract.end_date is not None:
        body["endDate"] = contract.end_date.isoformat()
    if contract.billing_terms is not None and contract.billing_terms.payment_terms is not None:
        body["terms"] = internal_ref(_lookup(refs.terms, contract.billing_terms.payment_terms, obj="contract",
                                             record_id=contract.id, field="billing_terms.payment_terms",
                                             what="payment terms", config_key="terms"))
    return body


@dataclass(frozen=True)
class Mapped:
    """A record body for NetSuite, and what was changed to make it fit (warnings on the record)."""

    body: dict[str, Any]
    warnings: tuple[Violation, ...] = ()


def time_entry_to_timebill(entry: TimeEntry, *, rate: Money, employee_id: str, task_id: str | None = None,
                           item_id: str | None = None, refs: AccountReferences | None = None,
                           dimensions: Mapping[str, str] | None = None) -> Mapped:
    """Approved time as a NetSuite time transaction (`timebill`), rated from the rate card.

    `employee_id` is the NetSuite internal id of the employee (q2c does not own employees);
    the project and task are referenced by canonical id. `hours` is a decimal number of hours.
    Notes longer than the timebill memo are shortened, with a warning: the full notes are kept
    in q2c's record of the entry, and a reader in NetSuite sees the ellipsis. `dimensions` are the
    firm's codes of the time (class, department, location), mapped through `refs`.
    """
    if entry.hours <= 0:
        raise _reject("time_entry", entry.id, "hours", "hours_not_positive", f"hours is {entry.hours}",
                      "Correct the hours in the time tracker, then replay.")
    memo = limits.cut(entry.notes, limits.TIMEBILL_MEMO)
    warnings: tuple[Violation, ...] = ()
    if memo != entry.notes:
        chars, size = len(entry.notes), limits.size(entry.notes)
        counted = f"{chars:,} characters" + ("" if size == chars else f" ({size:,} as NetSuite counts them)")
        warnings = (Violation(
            system=SYSTEM, object="timebill", record_id=entry.id, field="memo", rule="field.truncated",
            message=f"the notes are {counted}, more than NetSuite's timebill memo holds ({limits.TIMEBILL_MEMO:,}); "
                    f"the first {len(memo) - len(limits.ELLIPSIS):,} of {chars:,} characters were sent",
            action="Nothing to do unless the full text matters in NetSuite: it is kept in q2c's record of the entry"),)
    body: dict[str, Any] = {
        "externalId": entry.id,
        "employee": internal_ref(employee_id),
        "customer": external_ref("job", entry.project_id),
        "hours": entry.hours,
        "tranDate": entry.work_date.isoformat(),
        "rate": rate.amount,
        "isBillable": entry.billable,
        "memo": memo,
    }
    if task_id is not None:
        body["caseTaskEvent"] = external_ref("projecttask", task_id)
    if item_id is not None:
        body["item"] = internal_ref(item_id)
    if dimensions:
        body.update(classifications(refs or AccountReferences(), dimensions, obj="time_entry", record_id=entry.id,
                                    field="dimensions"))
    return Mapped(body, warnings)


def _item_lines(invoice: Invoice, refs: AccountReferences, *, sign: int,
                line_dimensions: Callable[[InvoiceLine], Mapping[str, str]] | None = None) -> list[dict[str, Any]]:
    """The document's lines as NetSuite item lines; `sign` -1 turns a credit note's negative lines into the
    positive lines of a credit memo (the memo itself is the credit). `line_dimensions` gives a line's codes."""
    lines = []
    for index, line in enumerate(invoice.lines):
        field = f"lines[{index}]"
        item: dict[str, Any] = {
            "item": internal_ref(refs.default_service_item) if refs.default_service_item else
            internal_ref(_lookup(refs.service_items, None, obj="invoice", record_id=invoice.id,
                                 field=f"{field}.item", what="service item", config_key="service_items")),
            "description": _within(line.description, limits.LINE_DESCRIPTION, obj="invoice", record_id=invoice.id,
                                   field=f"{field}.description", target="invoice line description"),
            "quantity": sign * line.quantity,
            "rate": line.unit_price.amount,
            "amount": sign * _amount(line.amount, invoice.currency, obj="invoice", record_id=invoice.id,
                                     field=f"{field}.amount"),
        }
        if line.phase_id is not None:
            item["custcol_q2c_phase_id"] = _within(line.phase_id, limits.FREE_FORM_TEXT, obj="invoice",
                                                   record_id=invoice.id, field=f"{field}.phase_id",
                                                   target="line field custcol_q2c_phase_id")
        if line_dimensions is not None:
            item.update(classifications(refs, line_dimensions(line), obj="invoice", record_id=invoice.id,
                                        field=field))
        lines.append(item)
    return lines


def _document_body(invoice: Invoice, refs: AccountReferences, legal_entity: str, project_id: str | None,
                   lines: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "entity": external_ref("customer", invoice.customer_id),
        "externalId": invoice.id,
        "tranDate": invoice.invoice_date.isoformat(),
        "currency": internal_ref(_lookup(refs.currencies, invoice.currency, obj="invoice", record_id=invoice.id,
                                         field="currency", what="currency", config_key="currencies")),
        "subsidiary": internal_ref(_lookup(refs.subsidiaries, legal_entity, obj="invoice", record_id=invoice.id,
                                           field="legal_entity", what="legal entity", config_key="subsidiaries")),
        "item": {"items": lines},
    }
    if project_id is not None:
        body["job"] = external_ref("job", project_id)
    return body


def _line_codes(plan: DimensionPlan | None, legal_entity: str, offerings: Mapping[str, str | None]
                ) -> Callable[[InvoiceLine], Mapping[str, str]] | None:
    """A billing line's codes: its phase's offering (`offerings`: phase id -> offering) and the entity's."""
    if not plan:
        return None
    return lambda line: plan.codes(offering=offerings.get(line.phase_id or ""), legal_entity=legal_entity)


def invoice_to_netsuite(invoice: Invoice, *, refs: AccountReferences, legal_entity: str,
                        project_id: str | None = None, dimensions: DimensionPlan | None = None,
                        offerings: Mapping[str, str | None] | None = None) -> dict[str, Any]:
    """An invoice against the contract's sales order, with q2c's computed lines; each line carries the class,
    department and location of its phase, as the sales order line does (`offerings`: phase id -> offering)."""
    if invoice.kind != "invoice":
        raise _reject("invoice", invoice.id, "kind", "credit_note_unsupported",
                      "credit notes are not sent to NetSuite as invoices",
                      "Send it as a credit memo (`credit_note_to_netsuite`), applied to the invoice it credits.")
    body = _document_body(invoice, refs, legal_entity, project_id, _item_lines(
        invoice, refs, sign=1, line_dimensions=_line_codes(dimensions, legal_entity, offerings or {})))
    body["createdFrom"] = external_ref("salesorder", invoice.contract_id)
    return body


def credit_note_to_netsuite(credit: Invoice, *, refs: AccountReferences, legal_entity: str, credits: str,
                            project_id: str | None = None, apply: bool = True,
                            dimensions: DimensionPlan | None = None,
                            offerings: Mapping[str, str | None] | None = None) -> dict[str, Any]:
    """A credit memo with the credit note's lines (as positive amounts: the memo is the credit), applied in full
    to the invoice it credits (`credits`, q2c's id of that invoice), so the invoice owes that much less; with
    `apply` False (that invoice is paid) it stays open, a credit on the customer's account."""
    if credit.kind != "credit_note":
        raise _reject("invoice", credit.id, "kind", "not_a_credit_note", "an invoice is not sent as a credit memo",
                      "Send it as an invoice.")
    body = _document_body(credit, refs, legal_entity, project_id, _item_lines(
        credit, refs, sign=-1, line_dimensions=_line_codes(dimensions, legal_entity, offerings or {})))
    body["memo"] = limits.fit_summary(f"Credit of invoice {credits}", limits.TRANSACTION_MEMO)
    if apply:
        body["apply"] = {"items": [{"doc": external_ref("invoice", credits), "apply": True,
                                    "amount": -_amount(credit.total, credit.currency, obj="invoice",
                                                       record_id=credit.id, field="total")}]}
    return body


def account_number(account: str) -> str:
    """Revenue accounts are named '<number> <name>'; NetSuite's account is matched by the number."""
    return account.split(maxsplit=1)[0] if account.strip() else ""


def journal_entry_to_netsuite(entry: JournalEntry, *, refs: AccountReferences, account_ids: Mapping[str, str]
                              ) -> dict[str, Any]:
    """A balanced journal entry, its accounts by internal id (`account_ids`: number -> id).

    The memo is q2c's own summary; it is made to fit the body and line memos by dropping trailing
    detail, never the headline (the full memo stays on the entry in q2c). A line's `class`,
    `department` and `location` dimensions (the firm's codes) become the line's classification fields.
    """
    subsidiary = refs.subsidiaries.get(entry.legal_entity)
    if subsidiary is None:
        raise RecordRejected(Violation(
            system="q2c", object="journal_entry", record_id=entry.id, field="legal_entity",
            rule="netsuite.mapping.unknown_legal_entity",
            message=f"legal entity {entry.legal_entity} has no NetSuite subsidiary in the config",
            action="Add it under systems.erp.references.subsidiaries (the ERP's settings in the q2c config)"))
    line_memo = limits.fit_summary(entry.memo, limits.JOURNAL_LINE_MEMO)
    lines = []
    for index, line in enumerate(entry.lines):
        number = account_number(line.account)
        if number not in account_ids:
            raise RecordRejected(Violation(
                system="netsuite", object="account", record_id=number or line.account, field="acctNumber",
                rule="revenue.account_missing", message=f"account {line.account} does not exist in NetSuite",
                action="Create the account in NetSuite or correct revenue_accounts in the q2c config"))
        dims = _within(";".join(f"{k}={v}" for k, v in sorted(line.dimensions.items())), limits.FREE_FORM_TEXT,
                       obj="journal_entry", record_id=entry.id, field=f"lines[{index}].dimensions",
                       target="line field custcol_q2c_dimensions")
        item: dict[str, Any] = {"account": internal_ref(account_ids[number]), "debit": line.debit.amount or None,
                                "credit": line.credit.amount or None, "memo": line_memo,
                                "custcol_q2c_dimensions": dims}
        item.update(classifications(refs, line.dimensions, obj="journal_entry", record_id=entry.id,
                                    field=f"lines[{index}].dimensions"))
        lines.append({k: v for k, v in item.items() if v not in (None, Decimal(0))})
    body: dict[str, Any] = {"externalId": entry.id, "tranDate": entry.entry_date.isoformat(),
                            "memo": limits.fit_summary(entry.memo, limits.TRANSACTION_MEMO),
                            "subsidiary": internal_ref(subsidiary), "line": {"items": lines}}
    currency = entry.lines[0].debit.currency if entry.lines else None
    if currency is not None and currency in refs.currencies:
        body["currency"] = internal_ref(refs.currencies[currency])
    return body


# --- from NetSuite ---------------------------------------------------------------------------------


def job_status_from_netsuite(status_id: str | None, status_name: str | None, *,
                             refs: AccountReferences) -> ProjectStatus:
    """A project is closed when its entityStatus is the Closed status (by id or by name)."""
    closed_names = {n.lower() for n in refs.closed_job_status_names}
    if status_id is not None and status_id == refs.job_statuses.get("closed"):
        return ProjectStatus.CLOSED
    if status_name is not None and status_name.strip().lower() in closed_names:
        return ProjectStatus.CLOSED
    return ProjectStatus.OPEN


class InvoiceState(StrEnum):
    """Where a NetSuite invoice (transaction.status for type CustInvc) or credit memo (CustCred) stands."""

    OPEN = "open"
    PAID = "paid"
    APPLIED = "applied"  # a credit memo applied in full to invoices
    PENDING_APPROVAL = "pending_approval"
    REJECTED = "rejected"
    VOIDED = "voided"

    @property
    def posted(self) -> bool:
        """Posted to the GL: open, paid or applied. This is the 'invoice posted' event."""
        return self in (InvoiceState.OPEN, InvoiceState.PAID, InvoiceState.APPLIED)

    def canonical(self) -> InvoiceStatus:
        return {InvoiceState.PAID: InvoiceStatus.PAID, InvoiceState.VOIDED: InvoiceStatus.VOIDED}.get(
            self, InvoiceStatus.POSTED if self.posted else InvoiceStatus.DRAFT)


_INVOICE_CODES = {"A": InvoiceState.OPEN, "B": InvoiceState.PAID, "D": InvoiceState.PENDING_APPROVAL,
                  "E": InvoiceState.REJECTED, "V": InvoiceState.VOIDED}
_INVOICE_NAMES = {"open": InvoiceState.OPEN, "paid in full": InvoiceState.PAID,
                  "pending approval": InvoiceState.PENDING_APPROVAL, "rejected": InvoiceState.REJECTED,
                  "voided": InvoiceState.VOIDED}


# credit memo status letters (CustCred:A Open, B Fully Applied, V Voided: from recall)
_CREDIT_MEMO_CODES = {"A": InvoiceState.OPEN, "B": InvoiceState.APPLIED, "V": InvoiceState.VOIDED}


def transaction_state_from_netsuite(transaction_type: str, status: str) -> InvoiceState:
    """The state of an invoice (`CustInvc`) or a credit memo (`CustCred`) from its status letter or name."""
    if transaction_type == "CustCred":
        code = status.strip().removeprefix("CustCred:")
        if code in _CREDIT_MEMO_CODES:
            return _CREDIT_MEMO_CODES[code]
        name = code.lower()
        found = {"open": InvoiceState.OPEN, "fully applied": InvoiceState.APPLIED, "voided": InvoiceState.VOIDED}
        if name in found:
            return found[name]
        raise ValueError(f"unknown NetSuite credit memo status '{status}'")
    return invoice_state_from_netsuite(status)


def invoice_state_from_netsuite(status: str) -> InvoiceState:
    """Read a status as SuiteQL gives it ('A', 'CustInvc:B') or as its name ('Paid In Full')."""
    text = status.strip()
    code = text.split(":", 1)[1] if text.startswith("CustInvc:") else text
    if code in _INVOICE_CODES:
        return _INVOICE_CODES[code]
    name = text.split(":")[-1].strip().lower()
    if name in _INVOICE_NAMES:
        return _INVOICE_NAMES[name]
    raise ValueError(f"unknown NetSuite invoice status '{status}'")


# --- currency exchange rates -------------------------------------------------------------------------------
#
# NetSuite's Currency Exchange Rates (Lists > Accounting > Currency Exchange Rates) are `currencyrate`
# records: basecurrency, transactioncurrency (references to currency records, so internal ids),
# exchangerate and effectivedate (SuiteScript Records Browser 2026.1, "Currency Rate", internal id
# currencyrate). "The exchange rate is equal to the base currency amount divided by the foreign currency
# amount" (same page): 1 unit of the transaction currency is `exchangerate` units of the base currency, and a
# subsidiary's books are kept in its base currency, so the canonical rate runs transaction -> base. Where one
# pair has several rates on one day, NetSuite uses the latest entry (N/currency exchangeRate, help topic
# section_4358678787); q2c takes the highest internal id as the latest entry [inferred, not confirmed].

CURRENCY_RATE = "currencyrate"
_RATE_ACTION = ("Correct currency rate {id} in NetSuite (Lists > Accounting > Currency Exchange Rates), then run "
                "`q2c reference sync`")


def currency_codes(refs: AccountReferences, symbols: Mapping[str, str]) -> dict[str, str]:
    """Internal currency id -> ISO 4217 code: `references.currencies` as configured, else the currency record's
    symbol (NetSuite's ISO code field, e.g. USD; `displaysymbol` holds the $)."""
    codes = {internal_id: symbol.strip().upper() for internal_id, symbol in symbols.items() if symbol.strip()}
    codes.update({internal_id: code for code, internal_id in refs.currencies.items()})
    return codes


def _rate_problem(row: Mapping[str, str], field: str, message: str, action: str | None = None) -> RecordRejected:
    record_id = row.get("id") or "?"
    return RecordRejected(Violation(
        system=SYSTEM, object=CURRENCY_RATE, record_id=record_id, field=field,
        rule="netsuite.mapping.currency_rate_unreadable", message=f"currency rate {record_id}: {message}",
        action=action or _RATE_ACTION.format(id=record_id)))


def _rate_currency(row: Mapping[str, str], field: str, codes: Mapping[str, str]) -> str:
    internal_id = (row.get(field) or "").strip()
    if not internal_id:
        raise _rate_problem(row, field, f"{field} is empty")
    code = codes.get(internal_id)
    try:
        return check_currency(code or "")
    except ValueError:
        found = f"its symbol is {code!r}, not an ISO 4217 code" if code else "no symbol was found for it"
        raise _rate_problem(row, field, f"{field} is currency {internal_id} and {found}",
                            f"Add the currency's ISO code under netsuite.references.currencies in the q2c config "
                            f"(code: '{internal_id}'), or correct the symbol of currency {internal_id} in NetSuite; "
                            "then run `q2c reference sync`") from None


def _rate_day(row: Mapping[str, str]) -> date:
    """The effective date as SuiteQL writes it: the account's date format (M/D/YYYY by default), or ISO."""
    text = (row.get("effectivedate") or "").strip().split(" ")[0]
    try:
        if "/" in text:
            month, day, year = (int(part) for part in text.split("/"))
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise _rate_problem(row, "effectivedate", f"effectivedate {text!r} is not a date (expected M/D/YYYY, the "
                                                  "account's default date format, or YYYY-MM-DD)") from None


def currency_rate_from_netsuite(row: Mapping[str, str], *, codes: Mapping[str, str]) -> FxRate:
    """One `currencyrate` row as a canonical dated rate (transaction -> base currency); a value that cannot be
    read is refused naming the record and the field, never guessed at (a rate misread is a wrong ledger)."""
    base = _rate_currency(row, "basecurrency", codes)
    foreign = _rate_currency(row, "transactioncurrency", codes)
    text = (row.get("exchangerate") or "").strip()
    try:
        rate = Decimal(text)  # SuiteQL writes numbers as plain digits (".8612" too: Oracle drops the leading 0)
    except InvalidOperation:
        raise _rate_problem(row, "exchangerate", f"exchangerate {text!r} is not a number") from None
    if not rate.is_finite() or rate <= 0:
        raise _rate_problem(row, "exchangerate", f"exchangerate {text!r} is not a positive rate")
    if base == foreign:
        raise _rate_problem(row, "transactioncurrency", f"base and transaction currency are both {base}")
    return FxRate(from_currency=foreign, to_currency=base, rate=rate, on=_rate_day(row))
