"""Test data for the Salesforce sandbox's own tests: credentials, a key pair type, a seeded deal."""

from __future__ import annotations

from dataclasses import dataclass

from q2c.sandboxes.salesforce.org import SalesforceOrg

CLIENT_ID = "q2c-sandbox-test-app"
CLIENT_SECRET = "sandbox-s3cret"
V = "/services/data/v59.0"


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str


@dataclass(frozen=True)
class Deal:
    group_id: str
    account_id: str
    opportunity_id: str
    line_ids: tuple[str, str]
    milestone_id: str


def seed_deal(org: SalesforceOrg, *, won: bool = True) -> Deal:
    """A parent company, its subsidiary, an opportunity with a fixed-fee and a T&M product, a milestone."""
    group = org.create("Account", {"Name": "Hooli Holdings", "BillingCountry": "US", "CurrencyIsoCode": "USD"})
    account = org.create("Account", {"Name": "Hooli Europe BV", "ParentId": group, "BillingCountry": "NL",
                                     "CurrencyIsoCode": "EUR", "ERP_Customer_Number__c": "C-900"})
    opp = org.create("Opportunity", {"Name": "Hooli data platform", "AccountId": account, "StageName": "Qualification",
                                     "CloseDate": "2024-06-28", "CurrencyIsoCode": "EUR"})
    fixed = org.create("OpportunityLineItem", {"OpportunityId": opp, "Quantity": 1, "TotalPrice": 9000.25,
                                               "Billing_Type__c": "Fixed Fee", "Service_Offering__c": "Discovery"})
    tm = org.create("OpportunityLineItem", {"OpportunityId": opp, "Quantity": 200, "UnitPrice": 150,
                                            "Billing_Type__c": "Time and Materials", "Service_Offering__c": "Build"})
    milestone = org.create("Opportunity_Milestone__c", {"Name": "Design approved", "Opportunity__c": opp,
                                                        "Amount__c": 4000, "Status__c": "Completed"})
    if won:
        org.update("Opportunity", opp, {"StageName": "Closed Won"})
    return Deal(group, account, opp, (fixed, tm), milestone)
