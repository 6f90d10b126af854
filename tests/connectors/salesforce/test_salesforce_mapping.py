"""Salesforce records to canonical ones: a full deal, and every way a record can be unusable."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from salesforce_fixtures import seed_deal

from q2c.connectors.salesforce import (
    MappingError,
    SalesforceClient,
    customer_from_account,
    customers_from_bundle,
    erp_writeback_fields,
    opportunity_from_salesforce,
)
from q2c.domain.model import BillingType, MilestoneStatus
from q2c.domain.money import Money
from q2c.sandboxes.salesforce.app import SalesforceSandbox

OPP = "006Dn0000000010IAA"
ACC = "001Dn0000000002IAA"
PARENT = "001Dn0000000001IAA"
LINE_FF = "00kDn0000000011IAA"
LINE_MS = "00kDn0000000012IAA"
MS_1 = "a1QDn0000000013IAA"


def account(**changes: Any) -> dict[str, Any]:
    record = {"attributes": {"type": "Account"}, "Id": ACC, "Name": "Initech GmbH", "ParentId": PARENT,
              "BillingCountry": "DE", "CurrencyIsoCode": "EUR", "Legal_Entity__c": "DE01",
              "Tax_Id__c": "DE999", "Tax_Code__c": "DE-STD", "Tax_Exempt__c": False, "Payment_Terms__c": "Net 30",
              "ERP_Customer_Number__c": None}
    record.update(changes)
    return record


def bundle() -> dict[str, Any]:
    return {
        "opportunity": {"Id": OPP, "Name": "Initech migration", "AccountId": ACC, "StageName": "Closed Won",
                        "IsWon": True, "IsClosed": True, "CloseDate": "2024-06-28", "Amount": 20000.1,
                        "CurrencyIsoCode": "EUR", "Legal_Entity__c": "DE01", "Start_Date__c": "2024-07-01",
                        "End_Date__c": "2024-09-30", "SystemModstamp": "2024-06-28T09:15:02.120+0000"},
        "account": account(),
        "parent_accounts": [account(Id=PARENT, Name="Initech Group", ParentId=None, BillingCountry="US",
                                    CurrencyIsoCode="USD", Legal_Entity__c="US01")],
        "line_items": [
            {"Id": LINE_FF, "OpportunityId": OPP, "Billing_Type__c": "Fixed Fee", "TotalPrice": 12000.1,
             "Quantity": 1, "Service_Offering__c": "Assessment", "CurrencyIsoCode": "EUR"},
            {"Id": LINE_MS, "OpportunityId": OPP, "Billing_Type__c": "Milestone", "TotalPrice": 8000,
             "Quantity": 1, "Service_Offering__c": "Cutover", "CurrencyIsoCode": "EUR"},
        ],
        "milestones": [
            {"Id": MS_1, "Name": "Cutover done", "Opportunity__c": OPP, "Line_Item_Id__c": LINE_MS,
             "Amount__c": 8000, "Due_Date__c": "2024-09-15", "Status__c": "Accepted",
             "Completed_On__c": "2024-09-12", "CurrencyIsoCode": "EUR"},
        ],
    }


def test_full_bundle_maps_exactly() -> None:
    opportunity = opportunity_from_salesforce(bundle())
    assert opportunity.id == f"SF-{OPP}" and opportunity.customer_id == f"SF-{ACC}"
    assert opportunity.amount == Money(amount=Decimal("20000.1"), currency="EUR")
    assert opportunity.is_won and opportunity.close_date == date(2024, 6, 28)
    assert opportunity.source_updated_at == datetime(2024, 6, 28, 9, 15, 2, 120000, tzinfo=UTC)
    fixed, milestone = opportunity.lines
    assert fixed.billing_type is BillingType.FIXED_FEE and fixed.amount.amount == Decimal("12000.1")
    assert milestone.billing_type is BillingType.MILESTONE
    [ms] = milestone.milestones
    assert ms.id == f"SF-{MS_1}" and ms.status is MilestoneStatus.ACCEPTED and ms.amount.currency == "EUR"
    assert ms.completed_on == date(2024, 9, 12)


def test_float_amounts_become_the_decimal_the_vendor_meant() -> None:
    data = bundle()
    data["opportunity"]["Amount"] = 8000.3
    data["line_items"] = [data["line_items"][1]]
    data["line_items"][0]["TotalPrice"] = 8000.3
    data["milestones"][0]["Amount__c"] = 8000.3
    amount = opportunity_from_salesforce(data).amount.amount
    assert amount == Decimal("8000.3") and amount != Decimal.from_float(8000.3)  # not the binary float's expansion


def test_customer_from_account_and_the_hierarchy() -> None:
    customer = customer_from_account(account())
    assert customer.id == f"SF-{ACC}" and customer.parent_id == f"SF-{PARENT}"
    assert customer.tax_profile is not None and customer.tax_profile.tax_id == "DE999"
    assert customer.billing_terms is not None
    assert (customer.billing_terms.payment_terms_days, customer.billing_terms.currency) == (30, "EUR")
    assert [c.name for c in customers_from_bundle(bundle())] == ["Initech Group", "Initech GmbH"]
    assert customer_from_account(account(Payment_Terms__c="Due on Receipt")).billing_terms.payment_terms_days == 0  # type: ignore[union-attr]


@pytest.mark.parametrize(("changes", "field", "rule"), [
    ({"Name": None}, "Name", "salesforce.mapping.required"),
    ({"Id": "001-short"}, "Id", "salesforce.mapping.id"),
    ({"Tax_Exempt__c": "yes"}, "Tax_Exempt__c", "salesforce.mapping.boolean"),
    ({"Payment_Terms__c": "Net thirty"}, "Payment_Terms__c", "salesforce.mapping.payment_terms"),
    ({"CurrencyIsoCode": "EURO"}, "CurrencyIsoCode", "salesforce.mapping.currency"),
    ({"ParentId": ACC}, "ParentId", "salesforce.mapping.hierarchy"),
])
def test_account_problems(changes: dict[str, Any], field: str, rule: str) -> None:
    with pytest.raises(MappingError) as caught:
        customer_from_account(account(**changes))
    [violation] = caught.value.violations
    assert (violation.object, violation.field, violation.rule) == ("Account", field, rule)
    assert violation.system == "salesforce" and "in Salesforce" in violation.action


def break_line_type(data: dict[str, Any]) -> None:
    data["line_items"][0]["Billing_Type__c"] = "Hourly"


def drop_line_type(data: dict[str, Any]) -> None:
    data["line_items"][0]["Billing_Type__c"] = None


def break_currency(data: dict[str, Any]) -> None:
    data["opportunity"]["CurrencyIsoCode"] = "XYZ"


def drop_account(data: dict[str, Any]) -> None:
    data["opportunity"]["AccountId"] = None


def break_price(data: dict[str, Any]) -> None:
    data["line_items"][0]["TotalPrice"] = "twelve thousand"


def break_close_date(data: dict[str, Any]) -> None:
    data["opportunity"]["CloseDate"] = "28/06/2024"


def orphan_milestone(data: dict[str, Any]) -> None:
    data["milestones"][0]["Line_Item_Id__c"] = "00kDn0000000099IAA"


def milestone_line_without_milestones(data: dict[str, Any]) -> None:
    data["milestones"] = []


def milestones_not_adding_up(data: dict[str, Any]) -> None:
    data["milestones"][0]["Amount__c"] = 7000


def cap_on_fixed_fee(data: dict[str, Any]) -> None:
    data["line_items"][0]["Cap_Amount__c"] = 15000


def accepted_without_date(data: dict[str, Any]) -> None:
    data["milestones"][0]["Completed_On__c"] = None


def line_in_other_currency(data: dict[str, Any]) -> None:
    data["line_items"][0]["CurrencyIsoCode"] = "USD"


def bad_milestone_status(data: dict[str, Any]) -> None:
    data["milestones"][0]["Status__c"] = "Invoiced"


def dates_reversed(data: dict[str, Any]) -> None:
    data["opportunity"]["End_Date__c"] = "2024-01-01"


def negative_hours(data: dict[str, Any]) -> None:
    data["line_items"][0]["Quantity"] = -5


@pytest.mark.parametrize(("breaker", "sobject", "record_id", "field", "rule"), [
    (break_line_type, "OpportunityLineItem", LINE_FF, "Billing_Type__c", "salesforce.mapping.picklist"),
    (drop_line_type, "OpportunityLineItem", LINE_FF, "Billing_Type__c", "salesforce.mapping.required"),
    (break_currency, "Opportunity", OPP, "CurrencyIsoCode", "salesforce.mapping.currency"),
    (drop_account, "Opportunity", OPP, "AccountId", "salesforce.mapping.required"),
    (break_price, "OpportunityLineItem", LINE_FF, "TotalPrice", "salesforce.mapping.number"),
    (break_close_date, "Opportunity", OPP, "CloseDate", "salesforce.mapping.date"),
    (orphan_milestone, "Opportunity_Milestone__c", MS_1, "Line_Item_Id__c", "salesforce.mapping.reference"),
    (milestone_line_without_milestones, "OpportunityLineItem", LINE_MS, "Billing_Type__c",
     "salesforce.mapping.milestones"),
    (milestones_not_adding_up, "OpportunityLineItem", LINE_MS, "TotalPrice", "salesforce.mapping.milestones"),
    (cap_on_fixed_fee, "OpportunityLineItem", LINE_FF, "Cap_Amount__c", "salesforce.mapping.cap"),
    (accepted_without_date, "Opportunity_Milestone__c", MS_1, "Completed_On__c", "salesforce.mapping.required"),
    (line_in_other_currency, "OpportunityLineItem", LINE_FF, "CurrencyIsoCode", "salesforce.mapping.currency"),
    (bad_milestone_status, "Opportunity_Milestone__c", MS_1, "Status__c", "salesforce.mapping.picklist"),
    (dates_reversed, "Opportunity", OPP, "End_Date__c", "salesforce.mapping.dates"),
    (negative_hours, "OpportunityLineItem", LINE_FF, "Quantity", "salesforce.mapping.negative"),
])
def test_each_opportunity_problem_names_record_and_field(breaker: Any, sobject: str, record_id: str, field: str,
                                                         rule: str) -> None:
    data = bundle()
    breaker(data)
    with pytest.raises(MappingError) as caught:
        opportunity_from_salesforce(data)
    assert isinstance(caught.value, ValueError)
    [violation] = [v for v in caught.value.violations if (v.record_id, v.field) == (record_id, field)]
    consequences = 1 if breaker is orphan_milestone else 0  # its line is then truly without milestones
    assert len(caught.value.violations) == 1 + consequences
    assert (violation.object, violation.record_id, violation.field, violation.rule) == (sobject, record_id, field,
                                                                                        rule)
    assert all(part in violation.action for part in (field, record_id, "in Salesforce"))


def test_picklist_message_tells_the_fix() -> None:
    data = bundle()
    break_line_type(data)
    with pytest.raises(MappingError) as caught:
        opportunity_from_salesforce(data)
    violation = caught.value.violations[0]
    assert violation.action.startswith(f"Fix Billing_Type__c on OpportunityLineItem {LINE_FF} in Salesforce")
    assert "'Hourly'" in violation.message and '"Time and Materials"' in violation.message


def test_all_problems_are_reported_together() -> None:
    data = bundle()
    break_currency(data)
    break_line_type(data)
    orphan_milestone(data)
    with pytest.raises(MappingError) as caught:
        opportunity_from_salesforce(data)
    assert {v.field for v in caught.value.violations} >= {"CurrencyIsoCode", "Billing_Type__c", "Line_Item_Id__c"}


def test_a_pasted_15_character_line_id_still_links_the_milestone() -> None:
    data = bundle()
    data["milestones"][0]["Line_Item_Id__c"] = LINE_MS[:15]
    assert opportunity_from_salesforce(data).lines[1].milestones[0].id == f"SF-{MS_1}"


def test_missing_opportunity_in_bundle() -> None:
    with pytest.raises(MappingError, match="no opportunity"):
        opportunity_from_salesforce({"line_items": []})


def test_mapping_does_not_touch_its_input() -> None:
    data = bundle()
    before = copy.deepcopy(data)
    opportunity_from_salesforce(data)
    assert data == before


def test_erp_writeback_fields_never_blank_a_value() -> None:
    assert erp_writeback_fields("C-1", "CT-1", "PR-1") == {
        "Account": {"ERP_Customer_Number__c": "C-1"},
        "Opportunity": {"ERP_Contract_Id__c": "CT-1", "ERP_Project_Id__c": "PR-1"}}
    assert erp_writeback_fields(None, None, "PR-2") == {"Account": {}, "Opportunity": {"ERP_Project_Id__c": "PR-2"}}


def test_a_deal_read_from_the_sandbox_maps_end_to_end(client: SalesforceClient, sandbox: SalesforceSandbox) -> None:
    deal = seed_deal(sandbox)
    data = client.opportunity_bundle(deal.opportunity_id)
    opportunity = opportunity_from_salesforce(data)
    assert opportunity.amount == Money(amount=Decimal("95300.5"), currency="EUR")
    assert [line.billing_type for line in opportunity.lines] == [
        BillingType.FIXED_FEE, BillingType.TIME_AND_MATERIALS, BillingType.MILESTONE]
    tm = opportunity.lines[1]
    assert tm.estimated_hours == Decimal("320") and tm.cap == Money(amount=Decimal("55000"), currency="EUR")
    assert [m.status for m in opportunity.lines[2].milestones] == [MilestoneStatus.COMPLETED,
                                                                   MilestoneStatus.PENDING]
    customers = customers_from_bundle(data)
    assert [c.id for c in customers] == [f"SF-{deal.group_id}", f"SF-{deal.account_id}"]
    assert customers[1].parent_id == customers[0].id


def _without_currency(data: dict[str, Any]) -> dict[str, Any]:
    """The bundle as a single-currency org answers it: no CurrencyIsoCode on any record."""
    def strip(record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if k != "CurrencyIsoCode"}
    return {"opportunity": strip(data["opportunity"]), "account": strip(data["account"]),
            "parent_accounts": [strip(a) for a in data["parent_accounts"]],
            "line_items": [strip(li) for li in data["line_items"]],
            "milestones": [strip(m) for m in data["milestones"]]}


def test_a_single_currency_orgs_records_are_in_its_currency() -> None:
    data = {**_without_currency(bundle()), "org_currency": "CHF"}
    opportunity = opportunity_from_salesforce(data)
    assert opportunity.amount == Money(amount=Decimal("20000.1"), currency="CHF")
    assert {line.amount.currency for line in opportunity.lines} == {"CHF"}
    assert {c.billing_terms.currency for c in customers_from_bundle(data)} == {"CHF"}
    assert customer_from_account(_without_currency({**bundle()})["account"], "CHF").billing_terms.currency == "CHF"
    with pytest.raises(MappingError) as unknown:
        opportunity_from_salesforce({**data, "org_currency": "XTS"})
    [violation] = unknown.value.violations
    assert (violation.object, violation.field) == ("Organization", "DefaultCurrencyIsoCode")
    with pytest.raises(MappingError) as missing:  # a multicurrency org's opportunity must still say its currency
        opportunity_from_salesforce(_without_currency(bundle()))
    assert [(v.object, v.field) for v in missing.value.violations] == [("Opportunity", "CurrencyIsoCode")]
