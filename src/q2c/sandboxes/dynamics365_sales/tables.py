"""The organisation's tables: the standard Sales tables q2c reads and the firm's customisations.

Each column has a Dataverse attribute type; lookups name the table they point at and the single-valued
navigation property that binds them (`parentaccountid@odata.bind`); one-to-many relationships give the
collection-valued navigation properties `$expand` follows (`product_opportunities`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["uniqueidentifier", "string", "memo", "integer", "decimal", "money", "boolean", "datetime",
               "dateonly", "picklist", "state", "status", "lookup", "owner", "bigint"]

# contract F's `columns` with their logical names, and the milestones table
DEFAULT_COLUMNS: dict[str, str] = {
    "legal_entity": "q2c_legalentity", "tax_id": "q2c_taxid", "tax_code": "q2c_taxcode",
    "payment_terms": "paymenttermscode", "service_offering": "q2c_serviceoffering",
    "billing_type": "q2c_billingtype", "cap_amount": "q2c_capamount", "start_date": "q2c_startdate",
    "end_date": "q2c_enddate", "customer_number": "q2c_customernumber", "contract_id": "q2c_contractid",
    "project_id": "q2c_projectid", "erp_owned_copy": "q2c_erpownedcopy"}
MILESTONES_TABLE = "q2c_milestone"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    label: str
    max_length: int | None = None
    options: dict[int, str] = field(default_factory=dict)  # picklist/state/status values and labels
    targets: tuple[str, ...] = ()  # lookup: the tables it may point at
    navigation: str | None = None  # lookup: the single-valued navigation property (one target)
    read_only: bool = False  # computed or system-set: a write is refused
    precision: int = 2

    @property
    def value_name(self) -> str:
        """The name a read shows: `_parentaccountid_value` for a lookup, else the column's own."""
        return f"_{self.name}_value" if self.kind in ("lookup", "owner") else self.name


@dataclass(frozen=True)
class OneToMany:
    """A collection-valued navigation property: rows of `table` whose `column` points here."""

    name: str
    table: str
    column: str


@dataclass(frozen=True)
class Table:
    logical: str
    entity_set: str
    primary_id: str
    primary_name: str
    label: str
    columns: tuple[Column, ...]
    alternate_keys: tuple[tuple[str, ...], ...] = ()
    collections: tuple[OneToMany, ...] = ()
    change_tracking: bool = True
    custom: bool = False
    object_type_code: int = 10000

    def column(self, name: str) -> Column | None:
        return _COLUMN_INDEX[self.logical].get(name)

    def by_navigation(self, name: str) -> Column | None:
        for col in self.columns:
            if col.navigation == name:
                return col
        return None

    def collection(self, name: str) -> OneToMany | None:
        for rel in self.collections:
            if rel.name == name:
                return rel
        return None


def _system(primary: str) -> tuple[Column, ...]:
    """The columns every user-owned table has."""
    return (Column(primary, "uniqueidentifier", "Id"),
            Column("createdon", "datetime", "Created On", read_only=True),
            Column("modifiedon", "datetime", "Modified On", read_only=True),
            Column("createdby", "lookup", "Created By", targets=("systemuser",), navigation="createdby",
                   read_only=True),
            Column("modifiedby", "lookup", "Modified By", targets=("systemuser",), navigation="modifiedby",
                   read_only=True),
            Column("ownerid", "owner", "Owner", targets=("systemuser",), navigation="ownerid"),
            Column("versionnumber", "bigint", "Version Number", read_only=True))


def _currency() -> Column:
    return Column("transactioncurrencyid", "lookup", "Currency", targets=("transactioncurrency",),
                  navigation="transactioncurrencyid")


ACTIVE_INACTIVE = {0: "Active", 1: "Inactive"}
PAYMENT_TERMS = {1: "Net 30", 2: "2% 10, Net 30", 3: "Net 45", 4: "Net 60"}
OPPORTUNITY_STATE = {0: "Open", 1: "Won", 2: "Lost"}
OPPORTUNITY_STATUS = {1: "In Progress", 2: "On Hold", 3: "Won", 4: "Canceled", 5: "Out-Sold"}
STATUS_OF_STATE = {"opportunity": {0: (1, 2), 1: (3,), 2: (4, 5)}}
BILLING_TYPES = {100000000: "Time and Materials", 100000001: "Fixed Fee", 100000002: "Retainer",
                 100000003: "Milestone"}
MILESTONE_STATUS = {100000000: "Pending", 100000001: "Completed", 100000002: "Accepted"}

ACCOUNT = Table(
    "account", "accounts", "accountid", "name", "Account", (
        *_system("accountid"),
        Column("name", "string", "Account Name", max_length=160),
        Column("accountnumber", "string", "Account Number", max_length=20),
        Column("parentaccountid", "lookup", "Parent Account", targets=("account",), navigation="parentaccountid"),
        _currency(),
        Column("address1_country", "string", "Address 1: Country/Region", max_length=80),
        Column("address1_city", "string", "Address 1: City", max_length=80),
        Column("telephone1", "string", "Main Phone", max_length=50),
        Column("paymenttermscode", "picklist", "Payment Terms", options=PAYMENT_TERMS),
        Column("statecode", "state", "Status", options=ACTIVE_INACTIVE),
        Column("statuscode", "status", "Status Reason", options={1: "Active", 2: "Inactive"}),
        Column("q2c_legalentity", "string", "Legal Entity", max_length=20),
        Column("q2c_taxid", "string", "Tax ID", max_length=50),
        Column("q2c_taxcode", "string", "Tax Code", max_length=20),
        Column("q2c_customernumber", "string", "Customer Number", max_length=20)),
    alternate_keys=(("accountnumber",),),
    collections=(OneToMany("account_parent_account", "account", "parentaccountid"),
                 OneToMany("opportunity_customer_accounts", "opportunity", "customerid"),
                 OneToMany("opportunity_parent_account", "opportunity", "parentaccountid")),
    object_type_code=1)

OPPORTUNITY = Table(
    "opportunity", "opportunities", "opportunityid", "name", "Opportunity", (
        *_system("opportunityid"),
        Column("name", "string", "Topic", max_length=300),
        Column("customerid", "lookup", "Potential Customer", targets=("account",), navigation="customerid_account"),
        Column("parentaccountid", "lookup", "Account", targets=("account",), navigation="parentaccountid"),
        _currency(),
        Column("statecode", "state", "Status", options=OPPORTUNITY_STATE),
        Column("statuscode", "status", "Status Reason", options=OPPORTUNITY_STATUS),
        Column("estimatedclosedate", "dateonly", "Est. Close Date"),
        Column("actualclosedate", "dateonly", "Actual Close Date"),
        Column("estimatedvalue", "money", "Est. Revenue"),
        Column("actualvalue", "money", "Actual Revenue"),
        Column("totalamount", "money", "Total Amount", read_only=True),
        Column("description", "memo", "Description", max_length=2000),
        Column("q2c_legalentity", "string", "Legal Entity", max_length=20),
        Column("q2c_startdate", "dateonly", "Start Date"),
        Column("q2c_enddate", "dateonly", "End Date"),
        Column("q2c_contractid", "string", "Contract ID", max_length=100),
        Column("q2c_projectid", "string", "Project ID", max_length=100),
        # the firm's text column where the integration keeps its copy of the ids it wrote (Single line of text)
        Column("q2c_erpownedcopy", "string", "ERP-Owned Values (q2c)", max_length=1000)),
    collections=(OneToMany("product_opportunities", "opportunityproduct", "opportunityid"),
                 OneToMany("q2c_opportunity_q2c_milestone", "q2c_milestone", "q2c_opportunityid")),
    object_type_code=3)

OPPORTUNITY_PRODUCT = Table(
    "opportunityproduct", "opportunityproducts", "opportunityproductid", "opportunityproductname",
    "Opportunity Product", (
        *_system("opportunityproductid"),
        Column("opportunityid", "lookup", "Opportunity", targets=("opportunity",), navigation="opportunityid"),
        Column("opportunityproductname", "string", "Name", max_length=500, read_only=True),
        Column("productdescription", "string", "Write-In Product", max_length=500),
        Column("isproductoverridden", "boolean", "Select Product"),
        Column("quantity", "decimal", "Quantity", precision=5),
        Column("priceperunit", "money", "Price Per Unit"),
        Column("manualdiscountamount", "money", "Manual Discount"),
        Column("baseamount", "money", "Amount", read_only=True),
        Column("extendedamount", "money", "Extended Amount", read_only=True),
        Column("sequencenumber", "integer", "Sequence Number"),
        Column("transactioncurrencyid", "lookup", "Currency", targets=("transactioncurrency",),
               navigation="transactioncurrencyid", read_only=True),
        Column("q2c_serviceoffering", "string", "Service Offering", max_length=50),
        Column("q2c_billingtype", "picklist", "Billing Type", options=BILLING_TYPES),
        Column("q2c_capamount", "money", "Cap Amount")),
    object_type_code=1083)

TRANSACTION_CURRENCY = Table(
    "transactioncurrency", "transactioncurrencies", "transactioncurrencyid", "currencyname", "Currency", (
        Column("transactioncurrencyid", "uniqueidentifier", "Id"),
        Column("isocurrencycode", "string", "Currency Code", max_length=5),
        Column("currencyname", "string", "Currency Name", max_length=100),
        Column("currencysymbol", "string", "Currency Symbol", max_length=13),
        Column("exchangerate", "decimal", "Exchange Rate", precision=10),
        Column("currencyprecision", "integer", "Currency Precision"),
        Column("statecode", "state", "Status", options=ACTIVE_INACTIVE),
        Column("modifiedon", "datetime", "Modified On", read_only=True),
        Column("versionnumber", "bigint", "Version Number", read_only=True)),
    alternate_keys=(("isocurrencycode",),), object_type_code=9105)

SYSTEM_USER = Table(
    "systemuser", "systemusers", "systemuserid", "fullname", "User", (
        Column("systemuserid", "uniqueidentifier", "User"),
        Column("fullname", "string", "Full Name", max_length=200, read_only=True),
        Column("firstname", "string", "First Name", max_length=64),
        Column("lastname", "string", "Last Name", max_length=64),
        Column("domainname", "string", "User Name", max_length=1024),
        Column("internalemailaddress", "string", "Primary Email", max_length=100),
        Column("applicationid", "uniqueidentifier", "Application ID"),
        Column("azureactivedirectoryobjectid", "uniqueidentifier", "Azure AD Object ID"),
        Column("isdisabled", "boolean", "Status"),
        Column("modifiedon", "datetime", "Modified On", read_only=True),
        Column("versionnumber", "bigint", "Version Number", read_only=True)),
    change_tracking=False, object_type_code=8)

MILESTONE = Table(
    MILESTONES_TABLE, "q2c_milestones", "q2c_milestoneid", "q2c_name", "Milestone", (
        *_system("q2c_milestoneid"),
        Column("q2c_name", "string", "Name", max_length=200),
        Column("q2c_opportunityid", "lookup", "Opportunity", targets=("opportunity",),
               navigation="q2c_opportunityid"),
        Column("q2c_lineitemid", "string", "Line Item ID", max_length=100),
        Column("q2c_amount", "money", "Amount"),
        Column("q2c_duedate", "dateonly", "Due Date"),
        Column("q2c_completedon", "dateonly", "Completed On"),
        Column("q2c_status", "picklist", "Status", options=MILESTONE_STATUS),
        _currency(),
        Column("statecode", "state", "Status", options=ACTIVE_INACTIVE),
        Column("statuscode", "status", "Status Reason", options={1: "Active", 2: "Inactive"})),
    custom=True, object_type_code=10001)

OPPORTUNITY_CLOSE = Table(
    "opportunityclose", "opportunitycloses", "activityid", "subject", "Opportunity Close", (
        *_system("activityid"),
        Column("subject", "string", "Subject", max_length=200),
        Column("opportunityid", "lookup", "Opportunity", targets=("opportunity",),
               navigation="opportunityid"),
        Column("actualrevenue", "money", "Actual Revenue"),
        Column("actualend", "dateonly", "Close Date"),
        Column("description", "memo", "Description", max_length=2000)),
    change_tracking=False, object_type_code=4208)

TABLES: dict[str, Table] = {t.logical: t for t in (ACCOUNT, OPPORTUNITY, OPPORTUNITY_PRODUCT,
                                                   TRANSACTION_CURRENCY, SYSTEM_USER, MILESTONE,
                                                   OPPORTUNITY_CLOSE)}
BY_ENTITY_SET: dict[str, Table] = {t.entity_set: t for t in TABLES.values()}
_COLUMN_INDEX: dict[str, dict[str, Column]] = {t.logical: {c.name: c for c in t.columns} for t in TABLES.values()}
