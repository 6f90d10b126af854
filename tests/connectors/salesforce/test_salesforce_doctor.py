"""`q2c doctor` on a Salesforce org: the token, then every object and field q2c reads and writes.

Against the sandbox over HTTP, with fields removed and made read-only through its admin API as an
admin would in Setup (describe semantics: REST API Developer Guide, "sObject Describe"; field-level
security: Salesforce Help, "Field-Level Security").
"""

from __future__ import annotations

import httpx

from q2c.connectors.salesforce.doctor import check
from q2c.connectors.salesforce.settings import SalesforceSettings
from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.salesforce.app import SalesforceSandbox

ADMIN = "/__sandbox/salesforce"


def admin(server: SandboxServer, method: str, path: str, body: object = None) -> None:
    assert httpx.request(method, f"{server.url}{ADMIN}{path}", json=body).status_code == 200


def test_a_complete_org_passes(config: SalesforceSettings, server: SandboxServer) -> None:
    result = check(config, "systems.crm", 5.0)
    assert result.ok, result.detail
    assert "opportunities readable" in result.detail and "multicurrency org" in result.detail
    assert "46 fields q2c reads present, write-back fields editable" in result.detail


def test_a_single_currency_org_passes_and_says_its_currency(config: SalesforceSettings, server: SandboxServer,
                                                            sandbox: SalesforceSandbox) -> None:
    admin(server, "PUT", "/org", {"multicurrency": False, "currency": "EUR"})
    result = check(config, "systems.crm", 5.0)
    assert result.ok, result.detail
    assert result.detail.endswith("single-currency org in EUR")


def test_each_missing_hidden_or_read_only_field_is_reported_with_its_fix(config: SalesforceSettings,
                                                                         server: SandboxServer) -> None:
    admin(server, "DELETE", "/fields/Account/Tax_Id__c")
    admin(server, "PUT", "/fields/OpportunityLineItem/Cap_Amount__c/access", {"access": "none"})
    admin(server, "PUT", "/fields/Opportunity/ERP_Contract_Id__c/access", {"access": "read"})
    admin(server, "PUT", "/fields/Account/ERP_Customer_Number__c/access", {"access": "read"})
    result = check(config, "systems.crm", 5.0)
    assert not result.ok and not result.blocking  # time and billing still flow; deals wait with exceptions
    assert result.key == "systems.crm"
    detail = result.detail
    assert detail.startswith("the org is missing what q2c needs (4): ")
    assert "Account.Tax_Id__c does not exist or the q2c integration user may not read it. Salesforce admin: " \
           "create Tax_Id__c on Account (Setup > Object Manager > Account > Fields & Relationships)" in detail
    assert "OpportunityLineItem.Cap_Amount__c does not exist" in detail
    assert "Setup > Object Manager > Opportunity Product > Fields & Relationships > Cap_Amount__c" in detail
    assert "may read Opportunity.ERP_Contract_Id__c but not update it" in detail
    assert "may read Account.ERP_Customer_Number__c but not update it" in detail
    assert "give the integration user Edit access to ERP_Contract_Id__c (field-level security on its permission " \
           "set" in detail


def test_the_custom_objects_fields_are_checked_too(config: SalesforceSettings, server: SandboxServer,
                                             sandbox: SalesforceSandbox) -> None:
    for field in ("Line_Item_Id__c", "Amount__c"):
        admin(server, "DELETE", f"/fields/Opportunity_Milestone__c/{field}")
    result = check(config, "systems.crm", 5.0)
    assert "(2): Opportunity_Milestone__c.Line_Item_Id__c does not exist" in result.detail
    assert "Opportunity_Milestone__c.Amount__c does not exist" in result.detail
