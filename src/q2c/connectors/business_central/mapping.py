"""Canonical records to Business Central's API bodies and back: pure, no I/O.

Business Central has no external-id upsert, so every record q2c writes carries q2c's id in a field
it can be found by (contract E): a customer's and a project's `number` (Code[20]), a sales document's
`externalDocumentNumber` (Code[35]), a journal line's `documentNumber` (Code[20]), a time entry's
`externalId` (the extension's Text[50]). Business Central keeps Code fields in upper case, so a value
read back is matched to q2c's ids without regard to case; an id too long for its Code field becomes a
stable digest of itself (`Q2C` + hex digits of its SHA-256, 20 or 35 characters in all), so the same id
always finds the same record and nothing is remembered between runs. Where Business Central keeps the
id in a Text field as well (an invoice's `customerPurchaseOrderReference`, a journal line's
description, a digested document's first line: a comment `q2c id: <id>`), the id is read back from
there, in its own case.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from q2c.connectors.business_central.settings import CompanyReferences
from q2c.domain.model import (
    Contract,
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    JournalEntry,
    Project,
    Task,
)
from q2c.domain.violations import Violation
from q2c.engine.errors import RecordRejected

SYSTEM = "business_central"
CODE20 = 20
CODE35 = 35
TEXT100 = 100
CENT = Decimal("0.01")


def reject(obj: str, record_id: str, field: str | None, rule: str, message: str, action: str) -> RecordRejected:
    return RecordRejected(Violation(system=SYSTEM, object=obj, record_id=record_id, field=field,
                                    rule=f"business_central.{rule}", message=message, action=action))


def _code(canonical_id: str, size: int) -> str:
    text = canonical_id.strip()
    if 0 < len(text) <= size:
        return text
    return "Q2C" + hashlib.sha256(canonical_id.encode()).hexdigest()[:size - 3].upper()


def code20(canonical_id: str) -> str:
    """q2c's id as a Code[20] value: itself when it fits, else `Q2C` + 17 hex digits of its SHA-256."""
    return _code(canonical_id, CODE20)


def code35(canonical_id: str) -> str:
    """q2c's id as a Code[35] value (`externalDocumentNumber`): itself when it fits, else `Q2C` + 32 hex
    digits of its SHA-256 (a Dynamics 365 milestone invoice, `INV-D365-<GUID>`, has 45 characters)."""
    return _code(canonical_id, CODE35)


def digested(canonical_id: str) -> bool:
    """Whether the id is too long for `externalDocumentNumber`, so the document carries it in an id line."""
    return code35(canonical_id) != canonical_id.strip()


ID_LINE_PREFIX = "q2c id: "


def id_line(canonical_id: str, *, obj: str) -> dict[str, Any]:
    """The comment line that carries a digested document's full id (a line's description is Text[100])."""
    description = ID_LINE_PREFIX + canonical_id.strip()
    if len(description) > TEXT100:
        raise reject(obj, canonical_id, "id", "id_too_long",
                     f"q2c's id {canonical_id!r} has {len(canonical_id.strip())} characters; a document carries "
                     f"at most {TEXT100 - len(ID_LINE_PREFIX)} in its id line",
                     "Shorten the source record's id (the CRM's), or report it: q2c's ids are meant to fit")
    return {"lineType": "Comment", "description": description}


def id_of_lines(lines: Iterable[Mapping[str, Any]]) -> str | None:
    """The full id a document's id line carries, if it has one."""
    for line in lines:
        description = line.get("description")
        if line.get("lineType") == "Comment" and isinstance(description, str) \
                and description.startswith(ID_LINE_PREFIX):
            return description[len(ID_LINE_PREFIX):].strip()
    return None


def is_id_line(line: Mapping[str, Any]) -> bool:
    return id_of_lines([line]) is not None


def same_id(value: str | None, canonical_id: str) -> bool:
    return value is not None and value.strip().upper() == canonical_id.strip().upper()


def canonical_of(value: str, known: Iterable[str]) -> str:
    """The canonical id a Code value read back stands for (itself or its digest, matched without case),
    else the value itself."""
    by_upper: dict[str, str] = {}
    for k in known:
        for form in (k, code20(k), code35(k)):
            by_upper.setdefault(form.strip().upper(), k)
    return by_upper.get(value.strip().upper(), value)


def text(value: str, limit: int = TEXT100) -> str:
    """Business Central's Text[n]: cut at `n` (a description; q2c keeps the full text)."""
    value = " ".join(value.split())
    return value if len(value) <= limit else value[:limit - 1].rstrip() + "…"


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def number(value: Any, *, obj: str, record_id: str, field: str) -> Decimal:
    """A JSON number from Business Central as a Decimal (the client parses numbers as Decimal)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise reject(obj, record_id, field, "unreadable", f"{field} is {value!r}, not a number",
                     "Check the record in Business Central")
    try:
        return Decimal(str(value))
    except ArithmeticError:
        raise reject(obj, record_id, field, "unreadable", f"{field} is {value!r}, not a number",
                     "Check the record in Business Central") from None


def day(value: Any) -> date | None:
    """A Business Central date; 0001-01-01 is its empty date."""
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    return date.fromisoformat(value[:10])


# --- customers, projects, tasks ---------------------------------------------------------------------------
def customer_body(customer: Customer, *, payment_terms_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"number": code20(customer.id), "displayName": text(customer.name), "type": "Company"}
    if customer.country:
        body["country"] = customer.country[:10].upper()
    tax = customer.tax_profile
    if tax is not None:
        body["taxLiable"] = not tax.exempt
        if tax.tax_id:
            body["taxRegistrationNumber"] = tax.tax_id[:20]
    terms = customer.billing_terms
    if terms is not None:
        if terms.currency:
            body["currencyCode"] = terms.currency
        if terms.invoice_email:
            body["email"] = terms.invoice_email[:80]
    if payment_terms_id is not None:
        body["paymentTermsId"] = payment_terms_id
    return body


def payment_terms_code(customer: Customer, refs: CompanyReferences) -> str | None:
    terms = customer.billing_terms.payment_terms if customer.billing_terms else None
    if terms is None:
        return None
    if terms not in refs.payment_terms:
        known = ", ".join(sorted(refs.payment_terms)) or "none"
        raise reject("customer", customer.id, "billing_terms.payment_terms", "payment_terms_unknown",
                     f"payment terms {terms!r} have no Business Central code (known: {known})",
                     "Add them under systems.erp.references.payment_terms, then replay")
    return refs.payment_terms[terms]


def project_body(project: Project) -> dict[str, Any]:
    return {"number": code20(project.id), "displayName": text(project.name)}


def task_body(task: Task, project: Project) -> dict[str, Any]:
    if not 0 < len(task.code) <= CODE20:
        raise reject("task", task.id, "code", "task_code_too_long",
                     f"task code {task.code!r} has {len(task.code)} characters; a job task no. holds {CODE20}",
                     "Shorten the task code in the service offering's task templates")
    return {"jobNumber": code20(project.id), "jobTaskNumber": task.code, "description": text(task.name),
            "jobTaskType": "Posting"}


# --- sales documents ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SalesLine:
    body: dict[str, Any]
    dimensions: tuple[tuple[str, str], ...]  # (dimension code, value code)


def line_billing_type(line: InvoiceLine) -> str | None:
    """The billing type a line bills, from what it carries (an invoice names no phase's type)."""
    if line.milestone_id is not None:
        return "milestone"
    if line.instalment_id is not None:
        return "fixed_fee"
    if line.time_entry_ids:
        return "time_and_materials"
    return None


def line_dimensions(refs: CompanyReferences, *, offering: str | None, legal_entity: str | None
                    ) -> tuple[tuple[str, str], ...]:
    dims: list[tuple[str, str]] = []
    if refs.dimensions.service_offering and offering:
        dims.append((refs.dimensions.service_offering, offering.upper()[:CODE20]))
    if refs.dimensions.legal_entity and legal_entity:
        dims.append((refs.dimensions.legal_entity, legal_entity.upper()[:CODE20]))
    return tuple(dims)


def _account_line(account: str | None, *, description: str, quantity: Decimal, unit_price: Decimal,
                  obj: str, record_id: str, field: str) -> dict[str, Any]:
    if account is None:
        raise reject(obj, record_id, field, "invoice_account_missing",
                     "no G/L account is configured for this line's billing type",
                     "Set systems.erp.references.invoice_accounts or default_invoice_account, then replay")
    return {"lineType": "Account", "lineObjectNumber": account, "description": text(description),
            "quantity": quantity, "unitPrice": unit_price}


def sales_order_body(contract: Contract, *, customer_number: str, refs: CompanyReferences
                     ) -> tuple[dict[str, Any], list[SalesLine]]:
    """The contract as a sales order: one G/L account line per phase at its amount."""
    lines = []
    for index, phase in enumerate(contract.phases):
        body = _account_line(refs.invoice_account(phase.billing_type.value), description=phase.name,
                             quantity=Decimal(1), unit_price=money(phase.amount.amount), obj="contract",
                             record_id=contract.id, field=f"phases[{index}].billing_type")
        dims = line_dimensions(refs, offering=phase.service_offering,
                               legal_entity=contract.legal_entity)
        lines.append(SalesLine(body, dims))
    lines = with_id_line(contract.id, lines, obj="contract")
    header = {"externalDocumentNumber": code35(contract.id),
              "customerNumber": customer_number, "orderDate": contract.start_date.isoformat(),
              "currencyCode": contract.currency}
    return header, lines


def with_id_line(canonical_id: str, lines: list[SalesLine], *, obj: str) -> list[SalesLine]:
    """A digested document's lines: its id line first, then its own."""
    return [SalesLine(id_line(canonical_id, obj=obj), ()), *lines] if digested(canonical_id) else lines


def document_lines(invoice: Invoice, *, refs: CompanyReferences, legal_entity: str,
                   offerings: Mapping[str, str | None], sign: int) -> list[SalesLine]:
    """The document's lines as G/L account lines; `sign` -1 makes a credit note's negative lines the positive
    lines of a credit memo. A line whose amount is not its quantity times its price to the cent goes in as
    1 at its amount, so Business Central's total is q2c's. A digested id's line comes first."""
    out = []
    for index, line in enumerate(invoice.lines):
        quantity, price = sign * line.quantity, line.unit_price.amount
        amount = sign * line.amount.amount
        if money(quantity * price) != money(amount):
            quantity, price = Decimal(1), money(amount)
        body = _account_line(refs.invoice_account(line_billing_type(line)), description=line.description,
                             quantity=quantity, unit_price=price, obj="invoice", record_id=invoice.id,
                             field=f"lines[{index}]")
        offering = offerings.get(line.phase_id) if line.phase_id is not None else None
        out.append(SalesLine(body, line_dimensions(refs, offering=offering, legal_entity=legal_entity)))
    return with_id_line(invoice.id, out, obj=invoice.kind)


def invoice_header(invoice: Invoice, *, customer_number: str) -> dict[str, Any]:
    number_field = code35(invoice.id)
    if invoice.kind == "credit_note":
        return {"externalDocumentNumber": number_field, "customerNumber": customer_number,
                "creditMemoDate": invoice.invoice_date.isoformat(), "postingDate": invoice.invoice_date.isoformat(),
                "currencyCode": invoice.currency}
    return {"externalDocumentNumber": number_field, "customerNumber": customer_number,
            "invoiceDate": invoice.invoice_date.isoformat(), "postingDate": invoice.invoice_date.isoformat(),
            "currencyCode": invoice.currency, "customerPurchaseOrderReference": invoice.id[:CODE35]}


# Sales invoice status (salesInvoice.status: Draft, In Review, Open, Paid, Canceled, Corrective) and sales credit
# memo status (Draft, In Review, Open, Paid, Canceled) in q2c's words.
_STATUS = {"draft": InvoiceStatus.DRAFT, "in review": InvoiceStatus.DRAFT, "open": InvoiceStatus.POSTED,
           "paid": InvoiceStatus.PAID, "canceled": InvoiceStatus.VOIDED, "cancelled": InvoiceStatus.VOIDED,
           "corrective": InvoiceStatus.CREDITED}


def invoice_status(value: Any, *, record_id: str) -> InvoiceStatus:
    status = _STATUS.get(str(value or "").strip().lower())
    if status is None:
        raise reject("salesInvoice", record_id, "status", "status_unknown",
                     f"status {value!r} is not one Business Central documents",
                     "Check the document in Business Central")
    return status


# --- journal -------------------------------------------------------------------------------------------------
def account_number(account: str) -> str:
    """Revenue accounts are named '<number> <name>'; Business Central's G/L account is matched by the number."""
    return account.split(maxsplit=1)[0] if account.strip() else ""


def journal_line_bodies(entry: JournalEntry, *, document_number: str) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """One journal line per entry line (amount: debit positive, credit negative), with its dimension codes.
    The description starts with q2c's id: the G/L entries posting makes keep the description, not the
    external document no., so reconciliation reads the id back from there."""
    out = []
    for index, line in enumerate(entry.lines):
        account = account_number(line.account)
        if not account:
            raise reject("journal_entry", entry.id, f"lines[{index}].account", "account_missing",
                         "the line names no account", "Fix the revenue account mapping in the config")
        body = {"accountType": "G/L Account", "accountNumber": account, "postingDate": entry.entry_date.isoformat(),
                "documentNumber": document_number, "externalDocumentNumber": code35(entry.id),
                "amount": money(line.debit.amount - line.credit.amount),
                "description": text(f"{entry.id}: {entry.memo}")}
        out.append((body, dict(line.dimensions)))
    return out


def journal_entry_id(description: Any, document_number: Any) -> str | None:
    """q2c's journal entry id from a G/L entry's description, when its document no. is that id's code."""
    if not isinstance(description, str) or ":" not in description or not isinstance(document_number, str):
        return None
    candidate = description.split(":", 1)[0].strip()
    return candidate if same_id(code20(candidate), document_number) else None
