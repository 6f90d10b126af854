"""The NetSuite record types q2c touches, as the sandbox enforces them, and a record as the account keeps it.

Field names are the REST record names (camelCase; NetSuite matches them without regard to
case). Each field has a kind, and reference fields name the record types (or lists) they may
point at. Kept apart from the server so that the rules read as a table.

Text fields carry NetSuite's length, which it counts in bytes (UTF-8) and enforces by refusing
the write, never by cutting: transaction memo 999, item line description 4,000 (both checked by
NetSuite's own SuiteCommerce code before saving), timebill memo 4,000 (it becomes the line
description when the time is billed), entity companyName 83, free-form text custom fields 300.
The journal line memo is held to the body memo's 999. These numbers are written here on their
own, not taken from the connector, so that a connector that sends too much fails against them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

FieldKind = Literal["text", "number", "bool", "date", "ref", "sublist"]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: FieldKind
    targets: tuple[str, ...] = ()  # record types (or list names) a reference may point at
    required: bool = False
    label: str = ""  # what the NetSuite UI calls the field, used in "Please enter value(s) for"
    lines: tuple[FieldSpec, ...] = ()  # columns of a sublist
    max_length: int | None = None  # text: the most bytes (UTF-8) the field holds

    @property
    def ui_label(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class RecordSchema:
    type: str
    fields: tuple[FieldSpec, ...]
    table: str  # SuiteQL table
    label_field: str | None  # the field that becomes refName
    transaction_type: str | None = None  # SuiteQL transaction.type code
    number_prefix: str | None = None  # transactions: what the tranId starts with
    status_list: str | None = None  # transactions: the list (in LISTS) their status letter comes from
    initial_status: str | None = None  # transactions: the status a new one takes
    by_lower: dict[str, FieldSpec] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        self.by_lower.update({f.name.lower(): f for f in self.fields})

    def spec(self, name: str) -> FieldSpec | None:
        return self.by_lower.get(name.lower())


def _t(name: str, *, required: bool = False, label: str = "", max_length: int | None = None) -> FieldSpec:
    return FieldSpec(name, "text", required=required, label=label, max_length=max_length)


def _n(name: str, *, required: bool = False, label: str = "") -> FieldSpec:
    return FieldSpec(name, "number", required=required, label=label)


def _b(name: str) -> FieldSpec:
    return FieldSpec(name, "bool")


def _d(name: str, *, required: bool = False, label: str = "") -> FieldSpec:
    return FieldSpec(name, "date", required=required, label=label)


def _r(name: str, *targets: str, required: bool = False, label: str = "") -> FieldSpec:
    return FieldSpec(name, "ref", targets=targets, required=required, label=label)


# Lists that are references but not records q2c reads or writes.
LISTS: dict[str, dict[str, str]] = {
    # Setup > Accounting > Accounting Lists > Project Status (the job's entityStatus)
    "jobstatus": {"1": "Closed", "2": "In Progress", "3": "Not Awarded", "4": "Pending"},
    # transaction.status codes for invoices and sales orders (SuiteQL reports the letter)
    "invoicestatus": {"A": "Open", "B": "Paid In Full", "V": "Voided"},
    # a credit memo is Open until all of it is applied to invoices (letters from recall)
    "creditmemostatus": {"A": "Open", "B": "Fully Applied", "V": "Voided"},
    "salesorderstatus": {"A": "Pending Approval", "B": "Pending Fulfillment", "F": "Pending Billing",
                         "G": "Billed", "H": "Closed"},
    "journalstatus": {"A": "Pending Approval", "B": "Approved for Posting"},
}

CLOSED_JOB_STATUS = "1"
OPEN_JOB_STATUS = "2"

MEMO = 999  # transaction body memo
DESCRIPTION = 4000  # item line description
TIME_MEMO = 4000  # timebill memo
ENTITY_NAME = 83  # companyName of customers and projects
FREE_FORM = 300  # a free-form text custom field

# The classifications a transaction body, its lines and a timebill carry (Setup > Company > Classifications):
# Class (record `classification`), Department and Location, each a reference to the account's own records,
# so an id that is none of them is refused like any other key that points nowhere.
_CLASSIFICATIONS = (
    _r("class", "classification"), _r("department", "department"), _r("location", "location"),
)

_LINE = (
    _r("item", "serviceitem", required=True, label="Item"),
    *_CLASSIFICATIONS,
    _t("description", max_length=DESCRIPTION),
    _n("quantity"),
    _n("rate"),
    _n("amount"),
    _t("custcol_q2c_phase_id", max_length=FREE_FORM),
)

# The apply sublist of a credit memo or a customer payment: which invoice it settles, and by how much.
_APPLY = (
    _r("doc", "invoice", required=True, label="Invoice"),
    _b("apply"),
    _n("amount"),
)

_JOURNAL_LINE = (
    _r("account", "account", required=True, label="Account"),
    _n("debit"),
    _n("credit"),
    _t("memo", max_length=MEMO),
    _r("entity", "customer", "job"),
    _t("custcol_q2c_dimensions", max_length=FREE_FORM),
    *_CLASSIFICATIONS,
)

SCHEMAS: dict[str, RecordSchema] = {s.type: s for s in (
    RecordSchema("account", (_t("acctNumber", required=True), _t("acctName", required=True)), "account",
                 "acctName"),
    RecordSchema("subsidiary", (_t("name", required=True), _r("currency", "currency")), "subsidiary", "name"),
    RecordSchema("currency", (_t("name", required=True), _t("symbol", required=True)), "currency", "symbol"),
    RecordSchema("term", (_t("name", required=True), _n("daysUntilNetDue")), "term", "name"),
    # Lists > Accounting > Currency Exchange Rates: 1 transactionCurrency is exchangeRate baseCurrency from
    # effectiveDate ("the base currency amount divided by the foreign currency amount", Records Browser)
    RecordSchema("currencyrate", (
        _r("baseCurrency", "currency", required=True, label="Base Currency"),
        _r("transactionCurrency", "currency", required=True, label="Currency"),
        _n("exchangeRate", required=True, label="Exchange Rate"), _d("effectiveDate", required=True,
                                                                     label="Effective Date"),
    ), "currencyrate", None),
    RecordSchema("serviceitem", (_t("itemId", required=True), _t("displayName")), "item", "itemId"),
    RecordSchema("classification", (_t("name", required=True), _b("isInactive")), "classification", "name"),
    RecordSchema("department", (_t("name", required=True), _b("isInactive")), "department", "name"),
    RecordSchema("location", (_t("name", required=True), _b("isInactive")), "location", "name"),
    RecordSchema("salestaxitem", (_t("itemId", required=True), _n("rate")), "salestaxitem", "itemId"),
    RecordSchema("customer", (
        _t("companyName", required=True, label="Company Name", max_length=ENTITY_NAME), _t("entityId"),
        _t("externalId"),
        _r("parent", "customer"), _r("subsidiary", "subsidiary", required=True, label="Subsidiary"),
        _r("terms", "term"), _r("currency", "currency"), _b("taxable"), _r("taxItem", "salestaxitem"),
        _t("resaleNumber"), _t("vatRegNumber"), _t("email"), _b("isInactive"), _t("comments"),
    ), "customer", "companyName"),
    RecordSchema("job", (
        _t("companyName", required=True, label="Project Name", max_length=ENTITY_NAME), _t("entityId"),
        _t("externalId"),
        _r("parent", "customer", required=True, label="Customer"), _r("entityStatus", "jobstatus"),
        _r("subsidiary", "subsidiary"), _r("currency", "currency"), _d("startDate"),
        _d("projectedEndDate"), _b("allowTime"), _b("isInactive"), _t("comments"),
    ), "job", "companyName"),
    RecordSchema("projecttask", (
        _t("title", required=True, label="Name"), _r("project", "job", required=True, label="Project"),
        _t("externalId"), _t("status"), _n("plannedWork"), _b("nonBillableTask"), _d("startDate"),
        _t("constraintType"),
    ), "projecttask", "title"),
    RecordSchema("employee", (
        _t("firstName", required=True, label="First Name"), _t("lastName", required=True, label="Last Name"),
        _t("entityId"), _t("email"), _t("externalId"), _b("isInactive"), _r("subsidiary", "subsidiary"),
        _t("title"), _n("laborCost"),
    ), "employee", "entityId"),
    RecordSchema("timebill", (
        _r("employee", "employee", required=True, label="Employee"),
        _r("customer", "job", "customer", required=True, label="Customer:Project"),
        _r("caseTaskEvent", "projecttask"), _n("hours", required=True, label="Duration"),
        _d("tranDate", required=True, label="Date"), _n("rate"), _b("isBillable"), _t("memo", max_length=TIME_MEMO),
        _r("item", "serviceitem"), _t("externalId"), *_CLASSIFICATIONS,
    ), "timebill", None),
    RecordSchema("salesorder", (
        _r("entity", "customer", required=True, label="Customer"), _d("tranDate", required=True, label="Date"),
        _t("externalId"), _r("job", "job"), _r("currency", "currency"), _r("subsidiary", "subsidiary"),
        _r("terms", "term"), _d("startDate"), _d("endDate"), _t("memo", max_length=MEMO), _t("otherRefNum"),
        FieldSpec("item", "sublist", lines=_LINE),
    ), "transaction", "tranId", transaction_type="SalesOrd", number_prefix="SO", status_list="salesorderstatus",
       initial_status="B"),
    RecordSchema("invoice", (
        _r("entity", "customer", required=True, label="Customer"), _d("tranDate", required=True, label="Date"),
        _t("externalId"), _r("job", "job"), _r("currency", "currency"), _r("subsidiary", "subsidiary"),
        _r("terms", "term"), _r("createdFrom", "salesorder"), _t("memo", max_length=MEMO), _t("otherRefNum"),
        FieldSpec("item", "sublist", lines=_LINE),
    ), "transaction", "tranId", transaction_type="CustInvc", number_prefix="INV", status_list="invoicestatus",
       initial_status="A"),
    RecordSchema("creditmemo", (
        _r("entity", "customer", required=True, label="Customer"), _d("tranDate", required=True, label="Date"),
        _t("externalId"), _r("job", "job"), _r("currency", "currency"), _r("subsidiary", "subsidiary"),
        _t("memo", max_length=MEMO), _t("otherRefNum"),
        FieldSpec("item", "sublist", lines=_LINE), FieldSpec("apply", "sublist", lines=_APPLY),
    ), "transaction", "tranId", transaction_type="CustCred", number_prefix="CM", status_list="creditmemostatus",
       initial_status="A"),
    RecordSchema("customerpayment", (
        _r("customer", "customer", required=True, label="Customer"), _d("tranDate"), _t("externalId"),
        _n("payment", required=True, label="Payment Amount"), _r("currency", "currency"), _r("account", "account"),
        _t("memo", max_length=MEMO), FieldSpec("apply", "sublist", lines=_APPLY),
    ), "transaction", "tranId", transaction_type="CustPymt"),
    RecordSchema("journalentry", (
        _r("subsidiary", "subsidiary", required=True, label="Subsidiary"), _d("tranDate", required=True, label="Date"),
        _t("externalId"), _r("currency", "currency"), _t("memo", max_length=MEMO),
        FieldSpec("line", "sublist", lines=_JOURNAL_LINE),
    ), "transaction", "tranId", transaction_type="Journal", number_prefix="JE", status_list="journalstatus",
       initial_status="B"),
)}

# Record types a caller may write through REST or the bulk RESTlet (the rest are seeded setup).
WRITABLE = frozenset({"customer", "job", "projecttask", "employee", "timebill", "salesorder", "invoice",
                      "creditmemo", "customerpayment", "journalentry"})
VOIDED = "V"  # the status letter of a voided transaction


@dataclass
class StoredRecord:
    """A record as the account holds it: values by lower-case field name (str, Decimal, bool, date,
    a referenced internal id, or a sublist's lines), plus what NetSuite keeps beside the fields."""

    type: str
    id: str
    values: dict[str, Any]
    created: datetime
    modified: datetime
    locked: bool = False  # billed: NetSuite refuses changes
    status: str | None = None  # transactions: the status letter
    tran_id: str | None = None

    @property
    def external_id(self) -> str | None:
        value = self.values.get("externalid")
        return value if isinstance(value, str) else None
