"""The demo's and the delivery trials' story in a Salesforce org: records made as a salesperson would make them
in the UI (Account, Opportunity, OpportunityLineItem, the Opportunity_Milestone__c custom object), with the
org's custom fields (`schema.py`)."""

from __future__ import annotations

from decimal import Decimal

from q2c.sandboxes.kit import Sandbox
from q2c.sandboxes.registry import BillingKind
from q2c.sandboxes.salesforce.app import SalesforceSandbox

BILLING_VALUES: dict[BillingKind, str] = {"time_and_materials": "Time and Materials", "fixed_fee": "Fixed Fee",
                                          "milestone": "Milestone", "retainer": "Retainer"}


def _org(box: Sandbox) -> SalesforceSandbox:
    assert isinstance(box, SalesforceSandbox), f"{box.name} is not the Salesforce sandbox"
    return box


class SalesforceScenario:
    def account(self, box: Sandbox, *, name: str, parent: str | None, tax_id: str | None, tax_code: str | None,
                payment_terms: str, currency: str, country: str, legal_entity: str) -> str:
        fields = {"Name": name, "ParentId": parent, "Tax_Id__c": tax_id, "Tax_Code__c": tax_code,
                  "Payment_Terms__c": payment_terms, "CurrencyIsoCode": currency, "BillingCountry": country,
                  "Legal_Entity__c": legal_entity}
        return _org(box).state.create("Account", {k: v for k, v in fields.items() if v is not None})

    def deal(self, box: Sandbox, *, name: str, account: str, won: bool, close_date: str, currency: str,
             legal_entity: str | None, start: str | None = None, end: str | None = None) -> str:
        fields = {"Name": name, "AccountId": account, "StageName": "Closed Won" if won else "Proposal/Price Quote",
                  "CloseDate": close_date, "CurrencyIsoCode": currency, "Legal_Entity__c": legal_entity,
                  "Start_Date__c": start, "End_Date__c": end}
        return _org(box).state.create("Opportunity", {k: v for k, v in fields.items() if v is not None})

    def line(self, box: Sandbox, deal: str, *, description: str, offering: str, billing: BillingKind,
             quantity: Decimal, amount: Decimal, currency: str, cap: Decimal | None = None) -> str:
        fields = {"OpportunityId": deal, "Description": description, "Service_Offering__c": offering,
                  "Billing_Type__c": BILLING_VALUES[billing], "Quantity": quantity, "TotalPrice": amount,
                  "CurrencyIsoCode": currency, "Cap_Amount__c": cap}
        return _org(box).state.create("OpportunityLineItem", {k: v for k, v in fields.items() if v is not None})

    def milestone(self, box: Sandbox, deal: str, line: str, *, name: str, amount: Decimal, due: str,
                  currency: str) -> str:
        return _org(box).state.create("Opportunity_Milestone__c", {
            "Name": name, "Opportunity__c": deal, "Line_Item_Id__c": line, "Amount__c": amount, "Due_Date__c": due,
            "Status__c": "Pending", "CurrencyIsoCode": currency})

    def complete_milestone(self, box: Sandbox, milestone: str, *, on: str) -> None:
        _org(box).state.update("Opportunity_Milestone__c", milestone, {"Status__c": "Completed", "Completed_On__c": on})

    def overwrite_contract_id(self, box: Sandbox, deal: str, value: str) -> None:
        _org(box).state.update("Opportunity", deal, {"ERP_Contract_Id__c": value})
