"""A Retainer line's terms from Salesforce: ServiceDate, and the term, overage and rollover fields the settings name."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from salesforce_fixtures import FAST_RETRY

from q2c.connectors.salesforce import MappingError, SalesforceClient, opportunity_from_salesforce
from q2c.connectors.salesforce.fields import FieldsMissing
from q2c.connectors.salesforce.settings import SalesforceSettings
from q2c.domain.model import BillingType
from q2c.domain.money import Money
from q2c.engine.resilience import GuardRegistry
from q2c.sandboxes.salesforce.app import SalesforceSandbox

OPP = "006Dn0000000010IAA"
ACC = "001Dn0000000002IAA"
LINE = "00kDn0000000011IAA"
NAMED = {"term_months": "Term_Months__c", "overage_rate": "Overage_Rate__c", "rollover_months": "Rollover_Months__c"}


def bundle(*, retainer_fields: dict[str, str] | None = None, **line: Any) -> dict[str, Any]:
    item = {"Id": LINE, "OpportunityId": OPP, "Billing_Type__c": "Retainer", "TotalPrice": 24000, "Quantity": 160.0,
            "Service_Offering__c": "Support", "CurrencyIsoCode": "USD", "ServiceDate": "2026-11-01",
            "Term_Months__c": 4.0, "Overage_Rate__c": 180, "Rollover_Months__c": 1.0, **line}
    return {"opportunity": {"Id": OPP, "Name": "Northwind support", "AccountId": ACC, "StageName": "Closed Won",
                            "IsWon": True, "CloseDate": "2026-10-28", "Amount": 24000, "CurrencyIsoCode": "USD",
                            "Start_Date__c": "2026-11-01", "End_Date__c": "2027-06-30"},
            "line_items": [item], "milestones": [],
            "retainer_fields": NAMED if retainer_fields is None else retainer_fields}


def test_a_retainer_line_maps_its_term_overage_and_rollover() -> None:
    (line,) = opportunity_from_salesforce(bundle()).lines
    assert line.billing_type is BillingType.RETAINER and line.amount == Money.of("24000", "USD")
    assert (line.service_start, line.term_months, line.rollover_months) == (date(2026, 11, 1), 4, 1)
    assert line.overage_rate == Money.of("180", "USD") and line.estimated_hours == Decimal("160.0")


def test_fields_the_settings_do_not_name_are_not_read() -> None:
    (line,) = opportunity_from_salesforce(bundle(retainer_fields={})).lines
    assert (line.term_months, line.overage_rate, line.rollover_months) == (None, None, None)
    assert line.service_start == date(2026, 11, 1)  # a standard field, always read


@pytest.mark.parametrize(("line", "field", "says"), [
    ({"Term_Months__c": 2.5}, "Term_Months__c", "Term_Months__c is 2.5, which is not a whole number of months "
                                                "(1 or more)"),
    ({"Term_Months__c": 0}, "Term_Months__c", "Term_Months__c is 0, which is not a whole number of months"),
    ({"Rollover_Months__c": -1}, "Rollover_Months__c", "which is not a whole number of months (0 or more)"),
    ({"Overage_Rate__c": -5}, "Overage_Rate__c", "Overage_Rate__c is -5, a negative amount"),
    ({"ServiceDate": "11/01/2026"}, "ServiceDate", "ServiceDate is '11/01/2026', which is not a date"),
    ({"Billing_Type__c": "Time and Materials"}, "Term_Months__c",
     "Term_Months__c, Overage_Rate__c, Rollover_Months__c set on a Time and Materials line; these terms apply only "
     "to Retainer lines"),
])
def test_bad_retainer_terms_name_the_line_and_field(line: dict[str, Any], field: str, says: str) -> None:
    with pytest.raises(MappingError) as refused:
        opportunity_from_salesforce(bundle(**line))
    (v,) = refused.value.violations
    assert (v.object, v.record_id, v.field) == ("OpportunityLineItem", LINE, field)
    assert says in v.message


def _seed(sandbox: SalesforceSandbox) -> str:
    org = sandbox.state
    account = org.create("Account", {"Name": "Northwind", "CurrencyIsoCode": "USD", "Legal_Entity__c": "US01"})
    opp = org.create("Opportunity", {"Name": "Northwind support", "AccountId": account, "StageName": "Closed Won",
                                     "CloseDate": "2026-10-28", "CurrencyIsoCode": "USD"})
    org.create("OpportunityLineItem", {"OpportunityId": opp, "Quantity": 160, "UnitPrice": 150,
                                       "Billing_Type__c": "Retainer", "ServiceDate": "2026-11-01",
                                       "Term_Months__c": 4, "Overage_Rate__c": 180, "Rollover_Months__c": 1})
    return opp


def test_the_client_selects_the_named_fields_and_says_which_it_read(config: SalesforceSettings,
                                                                    guards: GuardRegistry,
                                                                    sandbox: SalesforceSandbox) -> None:
    opp = _seed(sandbox)
    named = config.model_copy(update={"line_term_months_field": "Term_Months__c",
                                      "line_overage_rate_field": "Overage_Rate__c",
                                      "line_rollover_months_field": "Rollover_Months__c"})
    with SalesforceClient(named, guards, retry=FAST_RETRY) as client:
        got = client.opportunity_bundle(opp)
    assert got["retainer_fields"] == NAMED
    (item,) = got["line_items"]
    assert (item["ServiceDate"], item["Term_Months__c"], item["Overage_Rate__c"], item["Rollover_Months__c"],
            item["TotalPrice"]) == ("2026-11-01", 4, 180, 1, 24000)
    wrong = config.model_copy(update={"line_term_months_field": "Term_Length__c"})
    with SalesforceClient(wrong, guards, retry=FAST_RETRY) as client, pytest.raises(FieldsMissing) as missing:
        client.opportunity_bundle(opp)
    assert [p.name for p in missing.value.problems] == ["OpportunityLineItem.Term_Length__c"]
