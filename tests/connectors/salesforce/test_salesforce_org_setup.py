"""The connector against orgs that are not the textbook one: single currency, missing and hidden fields,
write-back fields the integration user may not edit.

What it relies on: a describe lists only the fields the user may read, each with `createable` and
`updateable` (REST API Developer Guide, "sObject Describe"; Salesforce Help, "Field-Level
Security"); CurrencyIsoCode exists only where multiple currencies are enabled (Object Reference,
"CurrencyType"; Help, "Considerations for Enabling Multiple Currencies"), and a single-currency
org's currency is Organization.DefaultCurrencyIsoCode; a query naming a field the user cannot see
is refused whole (400 INVALID_FIELD). The sandbox's admin API changes the org as an admin would.
"""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from salesforce_fixtures import seed_deal

from q2c.connectors.salesforce import SalesforceClient
from q2c.connectors.salesforce.crm import SINGLE_CURRENCY_FIELD, SalesforceCrm
from q2c.connectors.salesforce.fields import FieldsMissing
from q2c.domain.money import Money
from q2c.engine.errors import RecordRejected, Rejected
from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.salesforce.app import SalesforceSandbox

ADMIN = "/__sandbox/salesforce"


def admin(server: SandboxServer, method: str, path: str, body: object = None) -> None:
    response = httpx.request(method, f"{server.url}{ADMIN}{path}", json=body)
    assert response.status_code == 200, response.text


def describes(sandbox: SalesforceSandbox) -> int:
    return sum(n for key, n in sandbox.stats.by_path.items() if key.endswith("/describe"))


def test_a_single_currency_deal_is_in_the_orgs_currency(client: SalesforceClient, sandbox: SalesforceSandbox,
                                                        server: SandboxServer) -> None:
    admin(server, "PUT", "/org", {"multicurrency": False, "currency": "EUR"})
    deal = seed_deal(sandbox)
    crm = SalesforceCrm(client)
    won = crm.deal(f"SF-{deal.opportunity_id}")
    eur = Money(amount=Decimal("95300.5"), currency="EUR")
    assert won.opportunity.amount == eur
    assert {line.amount.currency for line in won.opportunity.lines} == {"EUR"}
    assert [c.billing_terms.currency for c in won.customers.values()] == ["EUR", "EUR"]
    assert won.field_names["currency"] == SINGLE_CURRENCY_FIELD == "Organization.DefaultCurrencyIsoCode"
    read = describes(sandbox)
    assert read == 6  # Opportunity, Account, OpportunityLineItem, Opportunity_Milestone__c, Billing_Schedule_Line__c,
    # Organization
    assert crm.deal(f"SF-{deal.opportunity_id}").opportunity.amount == eur
    assert describes(sandbox) == read  # read once per client


def test_a_multicurrency_deal_keeps_each_records_currency(client: SalesforceClient,
                                                          sandbox: SalesforceSandbox) -> None:
    deal = seed_deal(sandbox)
    won = SalesforceCrm(client).deal(f"SF-{deal.opportunity_id}")
    assert won.opportunity.amount == Money(amount=Decimal("95300.5"), currency="EUR")
    assert sorted(c.billing_terms.currency or "" for c in won.customers.values()) == ["EUR", "USD"]
    assert won.field_names["currency"] == "Opportunity.CurrencyIsoCode"
    assert client.org_currency() is None


def test_missing_and_hidden_fields_are_named_with_where_to_fix_them(client: SalesforceClient,
                                                                     sandbox: SalesforceSandbox,
                                                                     server: SandboxServer) -> None:
    deal = seed_deal(sandbox)
    admin(server, "DELETE", "/fields/Opportunity/Legal_Entity__c")
    admin(server, "PUT", "/fields/Opportunity_Milestone__c/Status__c/access", {"access": "none"})
    crm = SalesforceCrm(client)
    assert [opportunity for opportunity, _ in crm.won_deal_ids(None)] == [f"SF-{deal.opportunity_id}"]  # still polls
    with pytest.raises(Rejected) as caught:
        crm.deal(f"SF-{deal.opportunity_id}")
    found = [(v.object, v.field, v.rule, v.record_id) for v in caught.value.violations]
    assert found == [("Opportunity", "Legal_Entity__c", "salesforce.setup.missing", deal.opportunity_id),
                     ("Opportunity_Milestone__c", "Status__c", "salesforce.setup.missing", deal.opportunity_id)]
    legal, status = caught.value.violations
    assert legal.message == "Opportunity.Legal_Entity__c does not exist or the q2c integration user may not read it"
    assert legal.action == (
        "Salesforce admin: create Legal_Entity__c on Opportunity (Setup > Object Manager > Opportunity > Fields & "
        "Relationships), or, if it exists, give the integration user Read access to it (field-level security on "
        "its permission set: Setup > Object Manager > Opportunity > Fields & Relationships > Legal_Entity__c > Set "
        "Field-Level Security), then replay")
    assert "Setup > Object Manager > Opportunity_Milestone__c > Fields & Relationships > Status__c" in status.action
    queries = sum(n for key, n in sandbox.stats.by_path.items() if "/query" in key)
    assert queries == 1  # only the won-deal poll: no query naming a field the org lacks was ever sent


def test_a_read_only_write_back_field_stops_the_write_back_before_anything_is_written(
        client: SalesforceClient, sandbox: SalesforceSandbox, server: SandboxServer) -> None:
    deal = seed_deal(sandbox)
    admin(server, "PUT", "/fields/Opportunity/ERP_Project_Id__c/access", {"access": "read"})
    with pytest.raises(FieldsMissing) as caught:
        client.write_erp_ids(account_id=deal.account_id, opportunity_id=deal.opportunity_id,
                             customer_number="C-77", contract_id="SO-1", project_id="PRJ-1")
    [problem] = caught.value.problems
    assert (problem.sobject, problem.field, problem.kind) == ("Opportunity", "ERP_Project_Id__c", "read_only")
    assert caught.value.violation.record_id == deal.opportunity_id
    assert "give the integration user Edit access to ERP_Project_Id__c" in problem.action
    assert sandbox.state.record("Account", deal.account_id)["ERP_Customer_Number__c"] is None  # type: ignore[index]
    client.write_erp_ids(account_id=deal.account_id, opportunity_id=deal.opportunity_id, customer_number="C-77",
                         contract_id="SO-1", project_id=None)  # the editable ones alone go through
    assert sandbox.state.record("Opportunity", deal.opportunity_id)["ERP_Contract_Id__c"] == "SO-1"  # type: ignore[index]


def test_a_single_currency_org_that_hides_its_currency_is_refused_by_name(client: SalesforceClient,
                                                                          sandbox: SalesforceSandbox,
                                                                          server: SandboxServer) -> None:
    admin(server, "PUT", "/org", {"multicurrency": False})
    admin(server, "PUT", "/fields/Organization/DefaultCurrencyIsoCode/access", {"access": "none"})
    with pytest.raises(RecordRejected) as caught:
        client.org_currency()
    violation = caught.value.violation
    assert (violation.object, violation.field, violation.rule) == (
        "Organization", "DefaultCurrencyIsoCode", "salesforce.setup.org_currency")
    assert "cannot read Organization.DefaultCurrencyIsoCode" in violation.message
