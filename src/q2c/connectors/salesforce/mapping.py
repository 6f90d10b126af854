"""Salesforce records to canonical customers and opportunities, and the ERP ids written back.

Pure functions over the JSON records the REST API returns; no I/O. Every problem in a record is
collected (not just the first) and raised together as `MappingError`, each as a `Violation` naming
the object, record id and field, and telling sales operations what to fix in Salesforce.

Canonical ids are "SF-" + the 18-character Salesforce id, so a record keeps its identity whatever
else changes. Amounts come from JSON numbers through `to_decimal`: never float arithmetic.
The org's fields this relies on are listed in `q2c.connectors.salesforce.client`.

A record's currency is its CurrencyIsoCode. A single-currency org has no such field: its records
come without one and every amount is in the org's currency, which the bundle carries as
"org_currency" (None in a multicurrency org).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import ValidationError

from q2c.connectors.salesforce.ids import normalize_id
from q2c.domain.model import (
    BillingTerms,
    BillingType,
    Customer,
    Milestone,
    MilestoneStatus,
    Opportunity,
    OpportunityLine,
    ScheduledBilling,
    TaxProfile,
)
from q2c.domain.money import Money, UnknownCurrency, check_currency, to_decimal
from q2c.domain.violations import Violation

SYSTEM = "salesforce"
ID_PREFIX = "SF-"

ACCOUNT_FIELDS = ("Id", "Name", "ParentId", "BillingCountry", "CurrencyIsoCode", "Legal_Entity__c", "Tax_Id__c",
                  "Tax_Code__c", "Tax_Exempt__c", "Tax_Exemption_Certificate__c", "Payment_Terms__c",
                  "ERP_Customer_Number__c", "SystemModstamp")
OPPORTUNITY_FIELDS = ("Id", "Name", "AccountId", "StageName", "IsWon", "IsClosed", "CloseDate", "Amount",
                      "CurrencyIsoCode", "Legal_Entity__c", "Start_Date__c", "End_Date__c", "ERP_Contract_Id__c",
                      "ERP_Project_Id__c", "LastModifiedById", "SystemModstamp")
LINE_ITEM_FIELDS = ("Id", "OpportunityId", "Name", "Description", "Service_Offering__c", "Billing_Type__c",
                    "Quantity", "UnitPrice", "TotalPrice", "ServiceDate", "Cap_Amount__c", "CurrencyIsoCode")
MILESTONE_FIELDS = ("Id", "Name", "Opportunity__c", "Line_Item_Id__c", "Amount__c", "Due_Date__c", "Status__c",
                    "Completed_On__c", "CurrencyIsoCode")
BILLING_SCHEDULE_OBJECT = "Billing_Schedule_Line__c"  # the default name of the optional schedule object
BILLING_SCHEDULE_FIELDS = ("Id", "Name", "Opportunity__c", "Line_Item_Id__c", "Percent__c", "Bill_Date__c")

# Fields the ERP owns on Salesforce records: only q2c writes them, from the ERP's answers.
ERP_OWNED_FIELDS: Mapping[str, frozenset[str]] = {
    "Account": frozenset({"ERP_Customer_Number__c"}),
    "Opportunity": frozenset({"ERP_Contract_Id__c", "ERP_Project_Id__c"}),
}

BILLING_TYPES: Mapping[str, BillingType] = {
    "Fixed Fee": BillingType.FIXED_FEE,
    "Time and Materials": BillingType.TIME_AND_MATERIALS,
    "Milestone": BillingType.MILESTONE,
    "Retainer": BillingType.RETAINER,
}
MILESTONE_STATUSES: Mapping[str, MilestoneStatus] = {
    "Pending": MilestoneStatus.PENDING,
    "Completed": MilestoneStatus.COMPLETED,
    "Accepted": MilestoneStatus.ACCEPTED,
}
_NET_TERMS = re.compile(r"^\s*net\s*(\d{1,3})\s*$", re.IGNORECASE)
_RECEIPT_TERMS = {"due on receipt", "due upon receipt", "net 0"}
_SF_ID = re.compile(r"^[0-9A-Za-z]{18}$")

T = TypeVar("T")


class MappingError(ValueError):
    """A Salesforce record cannot become a canonical record; `violations` says what to fix, and where."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__("; ".join(v.headline() for v in violations))


def canonical_id(salesforce_id: str) -> str:
    return ID_PREFIX + salesforce_id


class _Reader:
    """Reads one record's fields, collecting violations instead of stopping at the first."""

    def __init__(self, sobject: str, record: Mapping[str, Any], violations: list[Violation]) -> None:
        self.sobject = sobject
        self.record = record
        self.record_id = str(record.get("Id") or "(no Id)")
        self.violations = violations

    def flag(self, field: str | None, rule: str, message: str, action: str | None = None) -> None:
        where = f"{field} on {self.sobject} {self.record_id}" if field else f"{self.sobject} {self.record_id}"
        self.violations.append(Violation(
            system=SYSTEM, object=self.sobject, record_id=self.record_id, field=field,
            rule=f"salesforce.mapping.{rule}", message=message,
            action=action or f"Fix {where} in Salesforce (sales operations), then replay"))

    def _get(self, field: str, required: bool) -> Any:
        value = self.record.get(field)
        if isinstance(value, str) and not value.strip():
            value = None
        if value is None and required:
            self.flag(field, "required", f"{field} is empty; q2c needs it to set up the work",
                      f"Fill in {field} on {self.sobject} {self.record_id} in Salesforce (sales operations), "
                      "then replay")
        return value

    def _typed(self, field: str, required: bool, parse: Callable[[Any], T], rule: str, what: str) -> T | None:
        value = self._get(field, required)
        if value is None:
            return None
        try:
            return parse(value)
        except (TypeError, ValueError):
            self.flag(field, rule, f"{field} is {value!r}, which is not {what}")
            return None

    def text(self, field: str, *, required: bool = False) -> str | None:
        return self._typed(field, required, _as_text, "text", "text")

    def sf_id(self, field: str, *, required: bool = False) -> str | None:
        return self._typed(field, required, _as_sf_id, "id", "an 18-character Salesforce id")

    def boolean(self, field: str) -> bool | None:
        return self._typed(field, False, _as_bool, "boolean", "true or false")

    def number(self, field: str, *, required: bool = False) -> Decimal | None:
        return self._typed(field, required, lambda v: to_decimal(v, what=field), "number", "a number")

    def months(self, field: str, *, minimum: int) -> int | None:
        what = f"a whole number of months ({minimum} or more)"
        value = self._typed(field, False, _whole, "months", what)
        if value is not None and value < minimum:
            self.flag(field, "months", f"{field} is {value}, which is not {what}")
            return None
        return value

    def day(self, field: str, *, required: bool = False) -> date | None:
        return self._typed(field, required, _as_date, "date", "a date (YYYY-MM-DD)")

    def moment(self, field: str) -> datetime | None:
        return self._typed(field, False, _as_datetime, "datetime", "a Salesforce datetime")

    def currency(self, field: str = "CurrencyIsoCode", *, required: bool = False) -> str | None:
        value = self._get(field, required)
        if value is None:
            return None
        try:
            return check_currency(str(value))
        except UnknownCurrency:
            self.flag(field, "currency", f"{field} is {value!r}, which is not an invoiceable ISO 4217 currency")
            return None

    def money(self, field: str, currency: str | None, *, required: bool = False) -> Money | None:
        amount = self.number(field, required=required)
        if amount is None or currency is None:
            return None
        if amount < 0:
            self.flag(field, "negative", f"{field} is {amount}, a negative amount")
            return None
        return Money(amount=amount, currency=currency)

    def picklist(self, field: str, choices: Mapping[str, T], *, required: bool = False) -> T | None:
        value = self._get(field, required)
        if value is None:
            return None
        if value not in choices:
            allowed = ", ".join(f'"{c}"' for c in choices)
            self.flag(field, "picklist", f"{field} is {value!r}; q2c understands only {allowed}")
            return None
        return choices[value]


def _as_text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not text")
    return value.strip()


def _as_sf_id(value: Any) -> str:
    if not isinstance(value, str) or not _SF_ID.match(value):
        raise ValueError("not an 18-character id")
    return value


def _as_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("not a boolean")
    return value


def _as_date(value: Any) -> date:
    if not isinstance(value, str):
        raise TypeError("not a date")
    return date.fromisoformat(value[:10]) if len(value) == 10 else _as_datetime(value).date()


def _as_datetime(value: Any) -> datetime:
    """Salesforce sends 2024-05-31T10:00:00.000+0000 (REST) or ...Z (events)."""
    if not isinstance(value, str):
        raise TypeError("not a datetime")
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("datetime without a timezone")
    return moment.astimezone(UTC)


def payment_terms_days(terms: str) -> int | None:
    """'Net 30' -> 30, 'Due on Receipt' -> 0; None when the wording is not one q2c knows."""
    match = _NET_TERMS.match(terms)
    if match:
        return int(match.group(1))
    return 0 if terms.strip().lower() in _RECEIPT_TERMS else None


def _raise_if(violations: list[Violation]) -> None:
    if violations:
        raise MappingError(violations)


def _build(factory: Callable[[], T], reader: _Reader) -> T | None:
    """Construct a canonical record; a rule the model enforces becomes a violation, not a crash."""
    try:
        return factory()
    except ValidationError as exc:
        for error in exc.errors():
            location = ".".join(str(part) for part in error["loc"])
            reader.flag(None, "invalid", f"{location}: {error['msg']}")
        return None


def _customer(account: Mapping[str, Any], violations: list[Violation], org_currency: str | None) -> Customer | None:
    r = _Reader("Account", account, violations)
    before = len(violations)
    account_id = r.sf_id("Id", required=True)
    name = r.text("Name", required=True)
    parent = r.sf_id("ParentId")
    if parent is not None and parent == account_id:
        r.flag("ParentId", "hierarchy", "the account is its own parent")
        parent = None
    terms = r.text("Payment_Terms__c")
    days = None
    if terms is not None:
        days = payment_terms_days(terms)
        if days is None:
            r.flag("Payment_Terms__c", "payment_terms",
                   f"Payment_Terms__c is {terms!r}; q2c understands 'Net <days>' or 'Due on Receipt'")
    currency = r.currency() or org_currency
    exempt = r.boolean("Tax_Exempt__c")
    tax = TaxProfile(tax_id=r.text("Tax_Id__c"), tax_code=r.text("Tax_Code__c"), exempt=bool(exempt),
                     exemption_certificate=r.text("Tax_Exemption_Certificate__c"))
    legal_entity = r.text("Legal_Entity__c")
    country = r.text("BillingCountry")
    if account_id is None or name is None or len(violations) > before:
        return None
    return _build(lambda: Customer(
        id=canonical_id(account_id), name=name, parent_id=canonical_id(parent) if parent else None,
        legal_entity=legal_entity, country=country, tax_profile=tax,
        billing_terms=BillingTerms(payment_terms=terms, payment_terms_days=days, currency=currency)), r)


def customer_from_account(account: Mapping[str, Any], org_currency: str | None = None) -> Customer:
    """A canonical customer from an Account record (fields as in ACCOUNT_FIELDS); `org_currency` is the
    currency of a single-currency org, whose accounts have no CurrencyIsoCode."""
    violations: list[Violation] = []
    customer = _customer(account, violations, org_currency)
    _raise_if(violations)
    assert customer is not None
    return customer


def _milestone(record: Mapping[str, Any], currency: str | None, violations: list[Violation]) -> Milestone | None:
    r = _Reader("Opportunity_Milestone__c", record, violations)
    before = len(violations)
    milestone_id = r.sf_id("Id", required=True)
    name = r.text("Name", required=True)
    own_currency = r.currency()
    if own_currency is not None and currency is not None and own_currency != currency:
        r.flag("CurrencyIsoCode", "currency", f"CurrencyIsoCode is {own_currency} but the opportunity is in "
               f"{currency}")
    amount = r.money("Amount__c", currency, required=True)
    due = r.day("Due_Date__c")
    status = r.picklist("Status__c", MILESTONE_STATUSES) or MilestoneStatus.PENDING
    completed_on = r.day("Completed_On__c")
    if status is not MilestoneStatus.PENDING and completed_on is None:
        r.flag("Completed_On__c", "required", f"Status__c is {record.get('Status__c')!r} but Completed_On__c "
               "is empty", f"Fill in Completed_On__c on Opportunity_Milestone__c {r.record_id} in Salesforce "
               "(project manager), then replay")
    if len(violations) > before or milestone_id is None or name is None or amount is None:
        return None
    return _build(lambda: Milestone(id=canonical_id(milestone_id), name=name, amount=amount, due_date=due,
                                    status=status, completed_on=completed_on), r)


def _scheduled(sobject: str, record: Mapping[str, Any], violations: list[Violation]) -> ScheduledBilling | None:
    """One instalment of a line's billing schedule; whether the schedule adds up is a deal rule."""
    r = _Reader(sobject, record, violations)
    before = len(violations)
    record_id = r.sf_id("Id", required=True)
    name = r.text("Name", required=True)
    percent = r.number("Percent__c", required=True)
    bill_date = r.day("Bill_Date__c", required=True)
    if len(violations) > before or record_id is None or name is None or percent is None or bill_date is None:
        return None
    return _build(lambda: ScheduledBilling(id=canonical_id(record_id), name=name, bill_date=bill_date,
                                           percent=percent), r)


def _whole(value: Any) -> int:
    number = to_decimal(value, what="months")
    if number != number.to_integral_value():
        raise ValueError("not a whole number")
    return int(number)


def _line(record: Mapping[str, Any], opportunity_id: str | None, currency: str | None,
          milestones: tuple[Milestone, ...], milestone_records: int,
          violations: list[Violation], retainer_fields: Mapping[str, str] | None = None,
          billing_schedule: tuple[ScheduledBilling, ...] = ()) -> OpportunityLine | None:
    """`milestone_records` counts the milestones attached in Salesforce, mapped or not, so a broken
    milestone is reported once, on itself, not again as a line without milestones. `retainer_fields` names
    the org's Retainer fields (term_months, overage_rate, rollover_months), as the settings configure them."""
    r = _Reader("OpportunityLineItem", record, violations)
    before = len(violations)
    line_id = r.sf_id("Id", required=True)
    parent = r.sf_id("OpportunityId")
    if parent is not None and opportunity_id is not None and parent != opportunity_id:
        r.flag("OpportunityId", "reference", f"the line belongs to opportunity {parent}, not {opportunity_id}")
    own_currency = r.currency()
    if own_currency is not None and currency is not None and own_currency != currency:
        r.flag("CurrencyIsoCode", "currency", f"CurrencyIsoCode is {own_currency} but the opportunity is in "
               f"{currency}")
    billing_type = r.picklist("Billing_Type__c", BILLING_TYPES, required=True)
    amount = r.money("TotalPrice", currency, required=True)
    hours = r.number("Quantity")
    if hours is not None and hours < 0:
        r.flag("Quantity", "negative", f"Quantity (estimated hours) is {hours}")
    cap = r.money("Cap_Amount__c", currency)
    if cap is not None and billing_type is not BillingType.TIME_AND_MATERIALS:
        r.flag("Cap_Amount__c", "cap", f"Cap_Amount__c is set on a {record.get('Billing_Type__c')} line; a "
               "not-to-exceed cap applies only to Time and Materials")
    if billing_type is BillingType.MILESTONE and not milestone_records:
        r.flag("Billing_Type__c", "milestones", "the line is billed by milestone but has no "
               "Opportunity_Milestone__c records", f"Add the milestones of OpportunityLineItem {r.record_id} in "
               "Salesforce (Opportunity_Milestone__c with Line_Item_Id__c = this line), or fix "
               "Billing_Type__c, then replay")
    if milestone_records and billing_type is not None and billing_type is not BillingType.MILESTONE:
        r.flag("Billing_Type__c", "milestones", f"the line has {milestone_records} milestone(s) but is billed as "
               f"{record.get('Billing_Type__c')}")
    if milestones and len(milestones) == milestone_records and amount is not None:
        total = sum((m.amount.amount for m in milestones), Decimal(0))
        if total != amount.amount:
            r.flag("TotalPrice", "milestones", f"the milestones add up to {total} but TotalPrice is "
                   f"{amount.amount}")
    offering = r.text("Service_Offering__c")
    service_start = r.day("ServiceDate")
    retainer = _retainer_terms(r, record, billing_type, currency, retainer_fields or {})
    if len(violations) > before or line_id is None or billing_type is None or amount is None:
        return None
    return _build(lambda: OpportunityLine(
        id=canonical_id(line_id), service_offering=offering, billing_type=billing_type, amount=amount,
        estimated_hours=hours, cap=cap, milestones=milestones, billing_schedule=billing_schedule,
        service_start=service_start, **retainer), r)


def _retainer_terms(r: _Reader, record: Mapping[str, Any], billing_type: BillingType | None, currency: str | None,
                    fields: Mapping[str, str]) -> dict[str, Any]:
    """Term months, overage rate and rollover months of a Retainer line, from the fields the settings name."""
    out: dict[str, Any] = {}
    for key, minimum in (("term_months", 1), ("rollover_months", 0)):
        name = fields.get(key)
        out[key] = r.months(name, minimum=minimum) if name else None
    name = fields.get("overage_rate")
    out["overage_rate"] = r.money(name, currency) if name else None
    given = [fields[k] for k in ("term_months", "overage_rate", "rollover_months") if out[k] is not None]
    if given and billing_type is not None and billing_type is not BillingType.RETAINER:
        r.flag(given[0], "retainer", f"{', '.join(given)} set on a {record.get('Billing_Type__c')} line; "
               "these terms apply only to Retainer lines")
    return out


def opportunity_from_salesforce(bundle: Mapping[str, Any]) -> Opportunity:
    """A canonical opportunity from `SalesforceClient.opportunity_bundle()` output.

    The bundle holds "opportunity", "line_items" and "milestones"; each milestone attaches to the
    line named by its Line_Item_Id__c. Money is in the opportunity's currency (in a single-currency
    org, the bundle's "org_currency"). An org with the billing schedule object adds "billing_schedules"
    (its records, attached to lines the same way) and "billing_schedule_object" (its name); without
    them every line has no schedule, as before the object existed.
    """
    violations: list[Violation] = []
    opp = bundle.get("opportunity")
    if not isinstance(opp, Mapping):
        raise MappingError([Violation(system=SYSTEM, object="Opportunity", record_id="(unknown)", field=None,
                                      rule="salesforce.mapping.required", message="the bundle has no opportunity",
                                      action="Report this to the q2c maintainers: the connector sent no record")])
    r = _Reader("Opportunity", opp, violations)
    opportunity_id = r.sf_id("Id", required=True)
    name = r.text("Name", required=True)
    account_id = r.sf_id("AccountId", required=True)
    stage = r.text("StageName", required=True)
    is_won = r.boolean("IsWon")
    close_date = r.day("CloseDate", required=True)
    org_currency = _org_currency(bundle)
    currency = r.currency(required=org_currency is None) or org_currency
    line_records = [li for li in bundle.get("line_items") or [] if isinstance(li, Mapping)]
    if not line_records:
        # Salesforce leaves Amount empty on an opportunity without products: the problem is the lines.
        r.flag("OpportunityLineItem", "no_lines", "the won opportunity has no product lines "
               "(OpportunityLineItem), so there is nothing to set up or bill",
               f"Add the sold services as product lines of Opportunity {r.record_id} in Salesforce (sales "
               "operations), then replay")
    amount = r.money("Amount", currency, required=bool(line_records))
    legal_entity = r.text("Legal_Entity__c")
    start = r.day("Start_Date__c")
    end = r.day("End_Date__c")
    if start is not None and end is not None and end < start:
        r.flag("End_Date__c", "dates", f"End_Date__c {end} is before Start_Date__c {start}")
    updated = r.moment("SystemModstamp")

    line_ids = {li.get("Id") for li in line_records}
    by_line = _by_line("Opportunity_Milestone__c", bundle.get("milestones") or [], opportunity_id, line_ids,
                       violations)
    schedule_object = str(bundle.get("billing_schedule_object") or BILLING_SCHEDULE_OBJECT)
    schedules = _by_line(schedule_object, bundle.get("billing_schedules") or [], opportunity_id, line_ids,
                         violations)
    lines: list[OpportunityLine] = []
    for record in line_records:
        attached = by_line.get(str(record.get("Id")), [])
        milestones = tuple(ms for ms in (_milestone(x, currency, violations) for x in attached) if ms is not None)
        schedule = tuple(s for s in (_scheduled(schedule_object, x, violations)
                                     for x in schedules.get(str(record.get("Id")), [])) if s is not None)
        line = _line(record, opportunity_id, currency, milestones, len(attached), violations,
                     _retainer_fields(bundle), schedule)
        if line is not None:
            lines.append(line)
    if lines and amount is not None and not violations:
        total = sum((line.amount.amount for line in lines), Decimal(0))
        if total != amount.amount:
            r.flag("Amount", "amount", f"Amount is {amount.amount} but the product lines add up to {total}")
    _raise_if(violations)
    assert opportunity_id and name and account_id and stage and close_date and amount
    result = _build(lambda: Opportunity(
        id=canonical_id(opportunity_id), name=name, customer_id=canonical_id(account_id), stage=stage,
        is_won=bool(is_won), close_date=close_date, amount=amount, legal_entity=legal_entity, start_date=start,
        end_date=end, lines=tuple(lines), source_updated_at=updated), r)
    _raise_if(violations)
    assert result is not None
    return result


def _by_line(sobject: str, records: Any, opportunity_id: str | None, line_ids: set[Any],
             violations: list[Violation]) -> dict[str, list[Mapping[str, Any]]]:
    """A line's child records (by Line_Item_Id__c), each checked to belong to this opportunity and one of its
    lines; one that does not is reported on itself."""
    out: dict[str, list[Mapping[str, Any]]] = {}
    for record in records if isinstance(records, list) else []:
        c = _Reader(sobject, record, violations)
        owner = c.sf_id("Opportunity__c")
        if owner is not None and opportunity_id is not None and owner != opportunity_id:
            what = "milestone" if sobject == "Opportunity_Milestone__c" else "record"
            c.flag("Opportunity__c", "reference", f"the {what} belongs to opportunity {owner}, not {opportunity_id}")
            continue
        line_ref = c.text("Line_Item_Id__c", required=True)
        if line_ref is None:
            continue
        line_ref = normalize_id(line_ref) or line_ref  # a pasted 15-character id names the same line
        if line_ref not in line_ids:
            c.flag("Line_Item_Id__c", "reference", f"Line_Item_Id__c {line_ref!r} is not a product line of "
                   f"opportunity {opportunity_id}")
            continue
        out.setdefault(line_ref, []).append(record)
    return out


def _retainer_fields(bundle: Mapping[str, Any]) -> dict[str, str]:
    named = bundle.get("retainer_fields")
    return {str(k): str(v) for k, v in named.items()} if isinstance(named, Mapping) else {}


def customers_from_bundle(bundle: Mapping[str, Any]) -> list[Customer]:
    """The bundle's account and its parents, top of the hierarchy first (parents must exist first)."""
    violations: list[Violation] = []
    accounts = [a for a in [bundle.get("account"), *(bundle.get("parent_accounts") or [])] if a is not None]
    org_currency = _org_currency(bundle)
    customers = [c for c in (_customer(a, violations, org_currency) for a in reversed(accounts)) if c is not None]
    _raise_if(violations)
    return customers


def _org_currency(bundle: Mapping[str, Any]) -> str | None:
    value = bundle.get("org_currency")
    if value is None:
        return None
    try:
        return check_currency(str(value))
    except UnknownCurrency:
        raise MappingError([Violation(
            system=SYSTEM, object="Organization", record_id="(org)", field="DefaultCurrencyIsoCode",
            rule="salesforce.mapping.currency", message=f"the org's currency is {value!r}, which is not an "
                                                        "invoiceable ISO 4217 currency",
            action="Salesforce admin: check the org's currency (Setup > Company Information), then replay")]) from None


def erp_writeback_fields(customer_number: str | None, contract_id: str | None,
                         project_id: str | None) -> dict[str, dict[str, str]]:
    """The ERP-owned Salesforce fields to write, by object; unknown values are left out, never blanked."""
    account = {"ERP_Customer_Number__c": customer_number} if customer_number else {}
    opportunity = {k: v for k, v in (("ERP_Contract_Id__c", contract_id), ("ERP_Project_Id__c", project_id)) if v}
    return {"Account": account, "Opportunity": opportunity}
