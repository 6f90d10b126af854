"""The sandbox org's data model: the objects and fields a professional-services org has for q2c.

This is metadata, not behaviour: which fields exist, their types, which are required, read-only,
external ids or lookups, and the picklist values. Saves (`records.py`, `rules.py`) enforce it the
way Salesforce does. These are the objects of a fully set-up multicurrency org; `catalog.py`
derives what one org's integration user sees from them (single currency, deleted fields, field
access). The connector never imports this module: it learns nothing from the sandbox.

Organization is the org's one settings record (Object Reference, "Organization"): queryable, never
created, updated or deleted through the API. Its DefaultCurrencyIsoCode (the corporate currency;
recalled, not re-confirmed in the Object Reference) is how a REST client learns the currency of a
single-currency org, whose records carry none.

Deliberate simplifications: OpportunityLineItem does not demand a PricebookEntryId/Product2Id;
the sold service is carried by `Service_Offering__c`. Billing_Schedule_Line__c.Percent__c is a
number field (type double) here, where an admin would more likely create a Percent field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

FieldType = Literal["id", "reference", "string", "textarea", "picklist", "boolean", "currency", "double",
                    "date", "datetime"]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    label: str = ""
    required: bool = False  # must be non-null after create/update (nillable false, no default)
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    reference_to: str | None = None
    relationship_name: str | None = None
    picklist: tuple[str, ...] = ()
    default: str | bool | None = None
    length: int = 0

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")


@dataclass(frozen=True)
class SObjectSpec:
    name: str
    label: str
    key_prefix: str
    fields: Mapping[str, FieldSpec]
    createable: bool = True  # the object's CRUD flags, as describe reports them
    updateable: bool = True
    deletable: bool = True
    _by_lower: Mapping[str, FieldSpec] = field(init=False, repr=False, compare=False)
    _relationships: Mapping[str, FieldSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_lower", {name.lower(): spec for name, spec in self.fields.items()})
        object.__setattr__(self, "_relationships", {
            spec.relationship_name.lower(): spec for spec in self.fields.values() if spec.relationship_name})

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")

    def field(self, name: str) -> FieldSpec | None:
        """Field names are case-insensitive in Salesforce; this returns the canonical spelling."""
        return self._by_lower.get(name.lower())

    def relationship(self, name: str) -> FieldSpec | None:
        """The lookup field behind a relationship name (`Account` -> AccountId, `Parent` -> ParentId)."""
        return self._relationships.get(name.lower())


CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD", "NZD", "JPY", "CHF", "SEK", "NOK", "DKK", "SGD", "INR")
CORPORATE_CURRENCY = "USD"

STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
          "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost")
WON_STAGES = frozenset({"Closed Won"})
CLOSED_STAGES = frozenset({"Closed Won", "Closed Lost"})

BILLING_TYPES = ("Fixed Fee", "Time and Materials", "Milestone", "Retainer")
MILESTONE_STATUSES = ("Pending", "Completed", "Accepted")


def _read_only(name: str, type_: FieldType, label: str, length: int = 0) -> FieldSpec:
    return FieldSpec(name, type_, label, createable=False, updateable=False, length=length)


def _system_fields() -> list[FieldSpec]:
    return [
        _read_only("Id", "id", "Record ID", 18),
        _read_only("IsDeleted", "boolean", "Deleted"),
        _read_only("CreatedDate", "datetime", "Created Date"),
        _read_only("CreatedById", "reference", "Created By ID", 18),
        _read_only("LastModifiedDate", "datetime", "Last Modified Date"),
        _read_only("LastModifiedById", "reference", "Last Modified By ID", 18),
        _read_only("SystemModstamp", "datetime", "System Modstamp"),
    ]


def _currency_field() -> FieldSpec:
    return FieldSpec("CurrencyIsoCode", "picklist", "Currency ISO Code", picklist=CURRENCIES,
                     default=CORPORATE_CURRENCY, length=3)


def _object(name: str, label: str, prefix: str, fields: list[FieldSpec], *, writable: bool = True) -> SObjectSpec:
    all_fields = _system_fields() + fields
    return SObjectSpec(name, label, prefix, MappingProxyType({f.name: f for f in all_fields}),
                       createable=writable, updateable=writable, deletable=writable)


ACCOUNT = _object("Account", "Account", "001", [
    FieldSpec("Name", "string", "Account Name", required=True, length=255),
    FieldSpec("ParentId", "reference", "Parent Account ID", reference_to="Account", relationship_name="Parent",
              length=18),
    FieldSpec("BillingCountry", "string", "Billing Country", length=80),
    _currency_field(),
    FieldSpec("Legal_Entity__c", "string", "Legal Entity", length=20),
    FieldSpec("Tax_Id__c", "string", "Tax ID", length=40),
    FieldSpec("Tax_Code__c", "string", "Tax Code", length=40),
    FieldSpec("Tax_Exempt__c", "boolean", "Tax Exempt", default=False),
    FieldSpec("Tax_Exemption_Certificate__c", "string", "Tax Exemption Certificate"),
    FieldSpec("Payment_Terms__c", "string", "Payment Terms", length=40),
    FieldSpec("ERP_Customer_Number__c", "string", "ERP Customer Number", external_id=True, length=40),
])

OPPORTUNITY = _object("Opportunity", "Opportunity", "006", [
    FieldSpec("Name", "string", "Name", required=True, length=120),
    FieldSpec("AccountId", "reference", "Account ID", reference_to="Account", relationship_name="Account",
              length=18),
    FieldSpec("StageName", "picklist", "Stage", required=True, picklist=STAGES, length=255),
    FieldSpec("CloseDate", "date", "Close Date", required=True),
    FieldSpec("Amount", "currency", "Amount"),
    FieldSpec("IsWon", "boolean", "Won", createable=False, updateable=False),
    FieldSpec("IsClosed", "boolean", "Closed", createable=False, updateable=False),
    _currency_field(),
    FieldSpec("Legal_Entity__c", "string", "Legal Entity", length=20),
    FieldSpec("Start_Date__c", "date", "Start Date"),
    FieldSpec("End_Date__c", "date", "End Date"),
    FieldSpec("ERP_Contract_Id__c", "string", "ERP Contract ID", external_id=True, length=40),
    FieldSpec("ERP_Project_Id__c", "string", "ERP Project ID", length=40),
    # the org's contract-change process: a checkbox that approves a change of terms, and the lookup from a
    # change-order opportunity to the deal it amends
    FieldSpec("Change_Approved__c", "boolean", "Change Approved", default=False),
    FieldSpec("Change_Effective_Date__c", "date", "Change Effective Date"),
    FieldSpec("Original_Opportunity__c", "reference", "Original Opportunity", reference_to="Opportunity",
              relationship_name="Original_Opportunity__r", length=18),
])

OPPORTUNITY_LINE_ITEM = _object("OpportunityLineItem", "Opportunity Product", "00k", [
    FieldSpec("OpportunityId", "reference", "Opportunity ID", required=True, updateable=False,
              reference_to="Opportunity", relationship_name="Opportunity", length=18),
    FieldSpec("Name", "string", "Opportunity Product Name", createable=False, updateable=False, length=376),
    FieldSpec("Description", "string", "Line Description", length=255),
    FieldSpec("Quantity", "double", "Quantity", required=True),
    FieldSpec("UnitPrice", "currency", "Sales Price"),
    FieldSpec("TotalPrice", "currency", "Total Price"),
    FieldSpec("ServiceDate", "date", "Date"),
    _currency_field(),
    FieldSpec("Service_Offering__c", "string", "Service Offering", length=80),
    FieldSpec("Billing_Type__c", "picklist", "Billing Type", picklist=BILLING_TYPES, length=255),
    FieldSpec("Cap_Amount__c", "currency", "Cap Amount"),
    # a Retainer's terms: its length in months, the rate per hour beyond the prepaid ones, and how many
    # months unused hours stay usable
    FieldSpec("Term_Months__c", "double", "Term (Months)"),
    FieldSpec("Overage_Rate__c", "currency", "Overage Rate"),
    FieldSpec("Rollover_Months__c", "double", "Rollover (Months)"),
])

OPPORTUNITY_MILESTONE = _object("Opportunity_Milestone__c", "Opportunity Milestone", "a1Q", [
    FieldSpec("Name", "string", "Milestone Name", required=True, length=80),
    FieldSpec("Opportunity__c", "reference", "Opportunity", required=True, updateable=False,
              reference_to="Opportunity", relationship_name="Opportunity__r", length=18),
    FieldSpec("Line_Item_Id__c", "string", "Line Item ID", length=18),
    FieldSpec("Amount__c", "currency", "Amount"),
    FieldSpec("Due_Date__c", "date", "Due Date"),
    FieldSpec("Status__c", "picklist", "Status", picklist=MILESTONE_STATUSES, default="Pending", length=255),
    FieldSpec("Completed_On__c", "date", "Completed On"),
    _currency_field(),
])

# a Fixed Fee line's billing schedule: one record per instalment, a percentage of the line's fee on a date
BILLING_SCHEDULE_LINE = _object("Billing_Schedule_Line__c", "Billing Schedule Line", "a1S", [
    FieldSpec("Name", "string", "Instalment Name", required=True, length=80),
    FieldSpec("Opportunity__c", "reference", "Opportunity", required=True, updateable=False,
              reference_to="Opportunity", relationship_name="Opportunity__r", length=18),
    FieldSpec("Line_Item_Id__c", "string", "Line Item ID", length=18),
    FieldSpec("Percent__c", "double", "Percent"),
    FieldSpec("Bill_Date__c", "date", "Bill Date"),
    _currency_field(),
])

ORGANIZATION = _object("Organization", "Organization", "00D", [
    _read_only("Name", "string", "Name", 80),
    _read_only("OrganizationType", "picklist", "Edition", 40),
    _read_only("IsSandbox", "boolean", "Is Sandbox"),
    _read_only("DefaultLocaleSidKey", "picklist", "Locale", 40),
    _read_only("LanguageLocaleKey", "picklist", "Language", 40),
    _read_only("TimeZoneSidKey", "picklist", "Time Zone", 40),
    FieldSpec("DefaultCurrencyIsoCode", "picklist", "Currency", createable=False, updateable=False,
              picklist=CURRENCIES, length=3),
], writable=False)

OBJECTS: Mapping[str, SObjectSpec] = MappingProxyType({spec.name: spec for spec in (
    ACCOUNT, OPPORTUNITY, OPPORTUNITY_LINE_ITEM, OPPORTUNITY_MILESTONE, BILLING_SCHEDULE_LINE, ORGANIZATION)})
CURRENCY_FIELD = "CurrencyIsoCode"
_OBJECTS_LOWER = {name.lower(): spec for name, spec in OBJECTS.items()}

# Child relationships, for describe: (child object, lookup field, relationship name)
CHILD_RELATIONSHIPS: Mapping[str, tuple[tuple[str, str, str], ...]] = MappingProxyType({
    "Account": (("Account", "ParentId", "ChildAccounts"), ("Opportunity", "AccountId", "Opportunities")),
    "Opportunity": (("OpportunityLineItem", "OpportunityId", "OpportunityLineItems"),
                    ("Opportunity_Milestone__c", "Opportunity__c", "Opportunity_Milestones__r"),
                    ("Billing_Schedule_Line__c", "Opportunity__c", "Billing_Schedule_Lines__r")),
})


def sobject(name: str) -> SObjectSpec | None:
    """Object names are case-insensitive too."""
    return _OBJECTS_LOWER.get(name.lower())

