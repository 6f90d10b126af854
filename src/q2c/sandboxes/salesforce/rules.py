"""The object rules a save must pass: derived fields and the integrity checks Salesforce applies.

- Opportunity: IsWon/IsClosed follow the stage; once it has products, its Amount is their total and
  cannot be set, nor can its currency change.
- OpportunityLineItem and Opportunity_Milestone__c take the opportunity's currency and must keep it
  (in a multicurrency org; a single-currency org has no CurrencyIsoCode to keep).
- OpportunityLineItem: exactly one of UnitPrice and TotalPrice, a nonzero Quantity, and the other
  price derived from them; its Name is the opportunity's name and the service.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from q2c.sandboxes.salesforce.errors import ApiFault, fault
from q2c.sandboxes.salesforce.schema import CLOSED_STAGES, CURRENCY_FIELD, WON_STAGES, SObjectSpec

Tables = dict[str, dict[str, dict[str, Any]]]
CHILD_LOOKUPS = {"OpportunityLineItem": "OpportunityId", "Opportunity_Milestone__c": "Opportunity__c"}


def _integrity(message: str, fields: list[str]) -> ApiFault:
    return fault(400, "FIELD_INTEGRITY_EXCEPTION", f"field integrity exception: {message}", fields)


def has_products(tables: Tables, opportunity_id: str) -> bool:
    return any(li["OpportunityId"] == opportunity_id for li in tables["OpportunityLineItem"].values())


def products_total(tables: Tables, opportunity_id: str) -> Decimal:
    return sum((li["TotalPrice"] for li in tables["OpportunityLineItem"].values()
                if li["OpportunityId"] == opportunity_id and li["TotalPrice"] is not None), Decimal(0))


def apply(tables: Tables, spec: SObjectSpec, rec: dict[str, Any], given: Mapping[str, Any], *,
          creating: bool) -> None:
    """Derive the fields of `rec` (the record as it would be saved) and check it; ApiFault if refused."""
    multicurrency = spec.field(CURRENCY_FIELD) is not None
    if spec.name == "Opportunity":
        _opportunity(tables, rec, given, creating=creating, multicurrency=multicurrency)
    elif spec.name in CHILD_LOOKUPS:
        parent = tables["Opportunity"].get(rec.get(CHILD_LOOKUPS[spec.name]) or "")
        if multicurrency:
            _child_currency(rec, given, creating=creating, parent=parent)
        if spec.name == "OpportunityLineItem":
            price_line(rec, given, creating=creating, parent=parent)


def _opportunity(tables: Tables, rec: dict[str, Any], given: Mapping[str, Any], *, creating: bool,
                 multicurrency: bool) -> None:
    stage = rec.get("StageName")
    rec["IsWon"] = stage in WON_STAGES
    rec["IsClosed"] = stage in CLOSED_STAGES
    if creating or not has_products(tables, rec["Id"]):
        return
    if "Amount" in given:
        raise _integrity("Amount (cannot set the amount of an opportunity that has products)", ["Amount"])
    if not multicurrency:
        return
    stored_currency = tables["Opportunity"][rec["Id"]].get("CurrencyIsoCode")
    if "CurrencyIsoCode" in given and given["CurrencyIsoCode"] != stored_currency:
        raise _integrity("CurrencyIsoCode (cannot change the currency of an opportunity that has products)",
                         ["CurrencyIsoCode"])


def _child_currency(rec: dict[str, Any], given: Mapping[str, Any], *, creating: bool,
                    parent: Mapping[str, Any] | None) -> None:
    if parent is None:
        return
    if creating and "CurrencyIsoCode" not in given:
        rec["CurrencyIsoCode"] = parent.get("CurrencyIsoCode")
    elif rec.get("CurrencyIsoCode") != parent.get("CurrencyIsoCode"):
        raise _integrity(f"CurrencyIsoCode must match the opportunity's currency {parent['CurrencyIsoCode']}",
                         ["CurrencyIsoCode"])


def price_line(rec: dict[str, Any], given: Mapping[str, Any], *, creating: bool,
               parent: Mapping[str, Any] | None) -> None:
    if "UnitPrice" in given and "TotalPrice" in given:
        raise _integrity("TotalPrice (cannot specify both unit price and total price)", ["TotalPrice"])
    quantity = rec.get("Quantity")
    if quantity is None:
        return  # the required-field check reports it
    if quantity == 0:
        raise _integrity("Quantity (quantity must be nonzero)", ["Quantity"])
    if "TotalPrice" in given and given["TotalPrice"] is not None:
        rec["UnitPrice"] = (given["TotalPrice"] / quantity).quantize(Decimal("0.01"))
    elif ("UnitPrice" in given and given["UnitPrice"] is not None) or (
            not creating and "Quantity" in given and rec.get("UnitPrice") is not None):
        rec["TotalPrice"] = rec["UnitPrice"] * quantity
    elif creating or rec.get("TotalPrice") is None:
        raise _integrity("unknown (must specify either unit price or total price)", ["UnitPrice", "TotalPrice"])
    if parent is not None:
        rec["Name"] = f"{parent['Name']} {rec.get('Service_Offering__c') or 'Service'}"
