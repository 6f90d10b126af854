"""An org's setup over real HTTP: single currency, deleted custom fields, field-level security.

What Salesforce does, per the REST API Developer Guide ("sObject Describe", "Status Codes and Error
Responses"), the Object Reference ("CurrencyType": not available in single-currency orgs;
"Organization") and Salesforce Help ("Field-Level Security", "Considerations for Enabling Multiple
Currencies"); the exact INVALID_FIELD text is as observed from real orgs (forcedotcom/soql-tooling#86,
apache/camel-quarkus#3022).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from salesforce_org_fixtures import V

from q2c.sandboxes.salesforce.app import SalesforceSandbox

ADMIN = "/__sandbox/salesforce"
OBJECTS = ("Account", "Opportunity", "OpportunityLineItem", "Opportunity_Milestone__c")
NO_SUCH_COLUMN = ("No such column '{field}' on entity '{sobject}'. If you are attempting to use a custom field, be "
                  "sure to append the '__c' after the custom field name. Please reference your WSDL or the describe "
                  "call for the appropriate names.")


def fields_of(http: httpx.Client, headers: dict[str, str], sobject: str) -> dict[str, dict[str, Any]]:
    response = http.get(f"{V}/sobjects/{sobject}/describe", headers=headers)
    assert response.status_code == 200, response.text
    return {f["name"]: f for f in response.json()["fields"]}


def single_currency(http: httpx.Client, currency: str = "EUR") -> None:
    response = http.put(f"{ADMIN}/org", json={"multicurrency": False, "currency": currency})
    assert response.status_code == 200, response.text
    assert response.json() == {"multicurrency": False, "currency": currency}


def test_a_single_currency_org_has_no_currency_iso_code(http: httpx.Client, headers: dict[str, str]) -> None:
    assert all("CurrencyIsoCode" in fields_of(http, headers, o) for o in OBJECTS)  # multicurrency by default
    single_currency(http)
    assert not any("CurrencyIsoCode" in fields_of(http, headers, o) for o in OBJECTS)
    soql = "SELECT Id, CurrencyIsoCode FROM Opportunity"
    refused = http.get(f"{V}/query", params={"q": soql}, headers=headers)
    assert refused.status_code == 400
    assert refused.json() == [{"message": f"\n{soql}\n{' ' * 11}^\nERROR at Row:1:Column:12\n"
                                          + NO_SUCH_COLUMN.format(field="CurrencyIsoCode", sobject="Opportunity"),
                               "errorCode": "INVALID_FIELD"}]
    org = http.get(f"{V}/query", params={"q": "SELECT DefaultCurrencyIsoCode FROM Organization"}, headers=headers)
    assert org.status_code == 200 and org.json()["records"][0]["DefaultCurrencyIsoCode"] == "EUR"
    assert org.json()["records"][0]["attributes"]["type"] == "Organization"


def test_writes_in_a_single_currency_org(http: httpx.Client, headers: dict[str, str],
                                         sandbox: SalesforceSandbox) -> None:
    single_currency(http, "GBP")
    body = {"Name": "Pied Piper", "CurrencyIsoCode": "GBP"}
    refused = http.post(f"{V}/sobjects/Account/", json=body, headers=headers)
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "INVALID_FIELD"
    assert refused.json()[0]["fields"] == ["CurrencyIsoCode"]
    account = http.post(f"{V}/sobjects/Account/", json={"Name": "Pied Piper"}, headers=headers).json()["id"]
    opp = sandbox.state.create("Opportunity", {"Name": "Compression", "AccountId": account,
                                               "StageName": "Qualification", "CloseDate": "2024-09-30"})
    sandbox.state.create("OpportunityLineItem", {"OpportunityId": opp, "Quantity": 10, "UnitPrice": 100,
                                                 "Billing_Type__c": "Time and Materials"})
    record = http.get(f"{V}/sobjects/Opportunity/{opp}", headers=headers).json()
    assert record["Amount"] == 1000.0 and "CurrencyIsoCode" not in record
    # A new org's currencies are its own to set up; once it holds records they can only be enabled.
    assert http.put(f"{ADMIN}/org", json={"multicurrency": False, "currency": "EUR"}).status_code == 400
    assert http.put(f"{ADMIN}/org", json={"multicurrency": True}).json() == {"multicurrency": True, "currency": "GBP"}
    assert sandbox.state.record("Opportunity", opp)["CurrencyIsoCode"] == "GBP"  # type: ignore[index]
    assert http.put(f"{ADMIN}/org", json={"multicurrency": False}).status_code == 400  # cannot be undone


def test_the_organization_is_read_only(http: httpx.Client, headers: dict[str, str]) -> None:
    summary = http.get(f"{V}/sobjects/Organization", headers=headers).json()["objectDescribe"]
    assert (summary["createable"], summary["updateable"], summary["deletable"]) == (False, False, False)
    refused = http.post(f"{V}/sobjects/Organization/", json={}, headers=headers)
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "INVALID_TYPE_FOR_OPERATION"


def test_a_deleted_custom_field_is_gone_until_reset(http: httpx.Client, headers: dict[str, str],
                                                   sandbox: SalesforceSandbox) -> None:
    assert http.delete(f"{ADMIN}/fields/opportunity/legal_entity__c").json() == {
        "deleted": "Opportunity.Legal_Entity__c"}
    assert "Legal_Entity__c" not in fields_of(http, headers, "Opportunity")
    assert "Legal_Entity__c" in fields_of(http, headers, "Account")  # the account's own field stays
    soql = "SELECT Id FROM Opportunity WHERE Legal_Entity__c = 'US01'"
    refused = http.get(f"{V}/query", params={"q": soql}, headers=headers)
    assert refused.status_code == 400 and "ERROR at Row:1:Column:34\nNo such column 'Legal_Entity__c'" in \
        refused.json()[0]["message"]
    assert http.delete(f"{ADMIN}/fields/Opportunity/StageName").status_code == 400  # standard: cannot be deleted
    assert http.delete(f"{ADMIN}/fields/Opportunity/Nope__c").status_code == 404
    assert http.post("/__sandbox/reset").status_code == 200  # an empty org, set up as it was created
    assert sandbox.state.spec("Opportunity").field("Legal_Entity__c") is not None


@pytest.mark.parametrize(("access", "listed", "editable"), [("read", True, False), ("none", False, False),
                                                            ("edit", True, True)])
def test_field_level_security_shapes_describe_and_saves(http: httpx.Client, headers: dict[str, str],
                                                        sandbox: SalesforceSandbox, access: str, listed: bool,
                                                        editable: bool) -> None:
    account = sandbox.state.create("Account", {"Name": "Hooli"})
    set_to = http.put(f"{ADMIN}/fields/Account/ERP_Customer_Number__c/access", json={"access": access})
    assert set_to.json() == {"field": "Account.ERP_Customer_Number__c", "access": access}
    field = fields_of(http, headers, "Account").get("ERP_Customer_Number__c")
    assert (field is not None) == listed
    if field is not None:
        assert (field["createable"], field["updateable"]) == (editable, editable)
    saved = http.patch(f"{V}/sobjects/Account/{account}", json={"ERP_Customer_Number__c": "C-1"}, headers=headers)
    if editable:
        assert saved.status_code == 204
    elif listed:
        assert saved.status_code == 400 and saved.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
        assert saved.json()[0]["fields"] == ["ERP_Customer_Number__c"]
    else:
        assert saved.status_code == 400 and saved.json()[0]["errorCode"] == "INVALID_FIELD"


def test_setup_refusals(http: httpx.Client) -> None:
    assert http.put(f"{ADMIN}/fields/Account/Name/access", json={"access": "none"}).status_code == 400  # required
    assert http.put(f"{ADMIN}/fields/Account/Tax_Id__c/access", json={"access": "write"}).status_code == 400
    assert http.put(f"{ADMIN}/org", json={"currency": "XXX"}).status_code == 400
    assert http.get(f"{ADMIN}/org").json() == {"multicurrency": True, "currency": "USD"}
