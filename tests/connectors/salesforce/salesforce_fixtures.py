"""Test data for the Salesforce tests: credentials, a key pair type, and a seeded services deal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from q2c.engine.resilience import RetryPolicy
from q2c.sandboxes.salesforce.app import SalesforceSandbox

CLIENT_ID = "q2c-test-app"
CLIENT_SECRET = "s3cret-value"
FAST_RETRY = RetryPolicy(base_seconds=0.001)


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str


@dataclass(frozen=True)
class Deal:
    """A won services deal as sales ops would enter it: a parent company, its subsidiary, three lines."""

    group_id: str
    account_id: str
    opportunity_id: str
    fixed_fee_line: str
    tm_line: str
    milestone_line: str
    milestone_ids: tuple[str, str]


def seed_deal(sandbox: SalesforceSandbox, *, won: bool = True) -> Deal:
    """In a single-currency org the records carry no CurrencyIsoCode (everything is in the org's currency)."""
    org = sandbox.state

    def create(sobject: str, body: dict[str, Any]) -> str:
        if not org.multicurrency:
            body = {k: v for k, v in body.items() if k != "CurrencyIsoCode"}
        return org.create(sobject, body)

    group = create("Account", {"Name": "Globex Holdings", "BillingCountry": "US", "CurrencyIsoCode": "USD",
                                   "Legal_Entity__c": "US01", "Payment_Terms__c": "Net 45"})
    account = create("Account", {
        "Name": "Globex Europe GmbH", "ParentId": group, "BillingCountry": "DE", "CurrencyIsoCode": "EUR",
        "Legal_Entity__c": "DE01", "Tax_Id__c": "DE123456789", "Tax_Code__c": "DE-STD", "Tax_Exempt__c": False,
        "Payment_Terms__c": "Net 30"})
    opp = create("Opportunity", {
        "Name": "Globex ERP rollout", "AccountId": account, "StageName": "Negotiation/Review",
        "CloseDate": "2024-06-28", "CurrencyIsoCode": "EUR", "Legal_Entity__c": "DE01",
        "Start_Date__c": "2024-07-01", "End_Date__c": "2024-12-31"})
    fixed = create("OpportunityLineItem", {
        "OpportunityId": opp, "Quantity": 1, "TotalPrice": 12500.50, "Billing_Type__c": "Fixed Fee",
        "Service_Offering__c": "Discovery"})
    tm = create("OpportunityLineItem", {
        "OpportunityId": opp, "Quantity": 320, "UnitPrice": 165, "Billing_Type__c": "Time and Materials",
        "Service_Offering__c": "Implementation", "Cap_Amount__c": 55000})
    ms_line = create("OpportunityLineItem", {
        "OpportunityId": opp, "Quantity": 1, "TotalPrice": 30000, "Billing_Type__c": "Milestone",
        "Service_Offering__c": "Go-live"})
    m1 = create("Opportunity_Milestone__c", {
        "Name": "Design signed off", "Opportunity__c": opp, "Line_Item_Id__c": ms_line, "Amount__c": 10000,
        "Due_Date__c": "2024-08-30", "Status__c": "Completed", "Completed_On__c": "2024-08-28"})
    m2 = create("Opportunity_Milestone__c", {
        "Name": "Go-live", "Opportunity__c": opp, "Line_Item_Id__c": ms_line, "Amount__c": 20000,
        "Due_Date__c": "2024-11-29"})
    if won:
        org.update("Opportunity", opp, {"StageName": "Closed Won"})
    return Deal(group, account, opp, fixed, tm, ms_line, (m1, m2))
