"""The sandbox's REST API over real HTTP: versions, sObjects, upsert, describe, limits, faults, admin."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from salesforce_org_fixtures import V, seed_deal

from q2c.sandboxes.kit import Faults
from q2c.sandboxes.salesforce.app import SalesforceSandbox


def test_versions_are_listed_and_any_version_answers(http: httpx.Client, headers: dict[str, str]) -> None:
    versions = http.get("/services/data/").json()
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
    assert http.get("/services/data/v62.0/sobjects/Account/describe", headers=headers).json()["keyPrefix"] == "001"
    missing = http.get("/services/data/vlatest/sobjects", headers=headers)
    assert missing.status_code == 404 and missing.json()[0]["errorCode"] == "NOT_FOUND"


def test_create_read_update_delete_with_derived_and_system_fields(http: httpx.Client,
                                                                  headers: dict[str, str]) -> None:
    created = http.post(f"{V}/sobjects/Account/", json={"Name": "Initech"}, headers=headers)
    assert created.status_code == 201
    account_id = created.json()["id"]
    assert created.json() == {"id": account_id, "success": True, "errors": []}
    assert len(account_id) == 18 and account_id.startswith("001")
    opp = http.post(f"{V}/sobjects/Opportunity", headers=headers, json={
        "Name": "Initech TPS audit", "AccountId": account_id, "StageName": "Prospecting",
        "CloseDate": "2024-09-30"}).json()["id"]
    assert opp.startswith("006")
    before = http.get(f"{V}/sobjects/Opportunity/{opp}", headers=headers).json()
    assert before["attributes"] == {"type": "Opportunity", "url": f"{V}/sobjects/Opportunity/{opp}"}
    assert before["IsWon"] is False and before["CurrencyIsoCode"] == "USD"
    time.sleep(0.002)
    assert http.patch(f"{V}/sobjects/Opportunity/{opp[:15]}", json={"StageName": "Closed Won"},
                      headers=headers).status_code == 204  # the 15-character id names the same record
    after = http.get(f"{V}/sobjects/Opportunity/{opp}", params={"fields": "IsWon,IsClosed,SystemModstamp"},
                     headers=headers).json()
    assert after["IsWon"] is True and after["IsClosed"] is True
    assert after["SystemModstamp"] > before["SystemModstamp"]
    assert set(after) == {"attributes", "IsWon", "IsClosed", "SystemModstamp"}
    assert http.delete(f"{V}/sobjects/Account/{account_id}", headers=headers).status_code == 204
    gone = http.get(f"{V}/sobjects/Opportunity/{opp}", headers=headers)
    assert gone.status_code == 404 and gone.json()[0]["errorCode"] == "NOT_FOUND"


@pytest.mark.parametrize(("sobject", "body", "code", "fields"), [
    ("Opportunity", {"Name": "x"}, "REQUIRED_FIELD_MISSING", ["StageName", "CloseDate"]),
    ("Opportunity", {"Name": "x", "StageName": "Prospecting", "CloseDate": "2024-01-01", "IsWon": True},
     "INVALID_FIELD_FOR_INSERT_UPDATE", ["IsWon"]),
    ("Opportunity", {"Name": "x", "StageName": "Won-ish", "CloseDate": "2024-01-01"},
     "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["StageName"]),
    ("Opportunity", {"Name": "x", "StageName": "Prospecting", "CloseDate": "31/01/2024"},
     "JSON_PARSER_ERROR", ["CloseDate"]),
    ("Opportunity", {"Name": "x", "StageName": "Prospecting", "CloseDate": "2024-01-01",
                     "AccountId": "001Dn000000zzzzIAA"}, "INVALID_CROSS_REFERENCE_KEY", ["AccountId"]),
    ("Opportunity", {"Name": "x", "StageName": "Prospecting", "CloseDate": "2024-01-01", "AccountId": "nope"},
     "MALFORMED_ID", ["AccountId"]),
    ("Opportunity", {"Name": "x", "StageName": "Prospecting", "CloseDate": "2024-01-01",
                     "AccountId": "006Dn000000zzzzIAA"}, "MALFORMED_ID", ["AccountId"]),
    ("Account", {"Name": "x", "Shoe_Size__c": 44}, "INVALID_FIELD", ["Shoe_Size__c"]),
    ("Account", {"Name": "x" * 256}, "STRING_TOO_LONG", ["Name"]),
])
def test_write_errors_are_salesforce_error_arrays(http: httpx.Client, headers: dict[str, str], sobject: str,
                                                  body: dict[str, Any], code: str, fields: list[str]) -> None:
    response = http.post(f"{V}/sobjects/{sobject}/", json=body, headers=headers)
    assert response.status_code == 400
    [error] = response.json()
    assert error["errorCode"] == code and error["fields"] == fields and error["message"]


def test_a_body_that_is_not_json_is_a_parser_error(http: httpx.Client, headers: dict[str, str]) -> None:
    response = http.post(f"{V}/sobjects/Account/", content=b"{Name: oops", headers=headers)
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    listed = http.patch(f"{V}/sobjects/Account/ERP_Customer_Number__c/C-1", json=["Name"], headers=headers)
    assert listed.status_code == 400 and listed.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_upsert_by_external_id_created_updated_ambiguous_unknown(http: httpx.Client, sandbox: SalesforceSandbox,
                                                                 headers: dict[str, str]) -> None:
    url = f"{V}/sobjects/Account/ERP_Customer_Number__c/C-1001"
    created = http.patch(url, json={"Name": "Umbrella"}, headers=headers)
    assert created.status_code == 201 and created.json()["created"] is True
    updated = http.patch(url.replace("C-1001", "c-1001"), json={"Name": "Umbrella Corp"}, headers=headers)
    assert updated.status_code == 200  # external ids match without case
    assert updated.json() == {"id": created.json()["id"], "success": True, "errors": [], "created": False}
    assert sandbox.state.record("Account", created.json()["id"])["Name"] == "Umbrella Corp"  # type: ignore[index]
    sandbox.state.create("Account", {"Name": "Umbrella (dup)", "ERP_Customer_Number__c": "C-1001"})
    ambiguous = http.patch(url, json={"Name": "?"}, headers=headers)
    assert ambiguous.status_code == 300
    assert len(ambiguous.json()) == 2 and all(u.startswith(f"{V}/sobjects/Account/001") for u in ambiguous.json())
    unknown = http.patch(f"{V}/sobjects/Account/Nickname__c/x", json={"Name": "?"}, headers=headers)
    assert unknown.status_code == 404 and unknown.json()[0]["errorCode"] == "NOT_FOUND"
    old_api = http.patch("/services/data/v45.0/sobjects/Account/ERP_Customer_Number__c/C-2002",
                         json={"Name": "Hooli"}, headers=headers)
    assert old_api.status_code == 201 and "created" not in old_api.json()
    assert http.patch("/services/data/v45.0/sobjects/Account/ERP_Customer_Number__c/C-2002",
                      json={"Name": "Hooli XYZ"}, headers=headers).status_code == 204


def test_update_only_upsert_and_always_create(http: httpx.Client, headers: dict[str, str]) -> None:
    refused = http.patch(f"{V}/sobjects/Account/ERP_Customer_Number__c/C-5?updateOnly=true", json={"Name": "N"},
                         headers=headers)
    assert refused.status_code == 404
    first = http.post(f"{V}/sobjects/Account/Id", json={"Name": "Twin"}, headers=headers)
    second = http.post(f"{V}/sobjects/Account/Id", json={"Name": "Twin"}, headers=headers)
    assert first.status_code == second.status_code == 201 and first.json()["id"] != second.json()["id"]
    by_id = http.patch(f"{V}/sobjects/Account/Id/{first.json()['id']}", json={"Name": "Twin A"}, headers=headers)
    assert by_id.status_code == 200 and by_id.json()["created"] is False


def test_foreign_key_by_external_id(http: httpx.Client, sandbox: SalesforceSandbox, headers: dict[str, str]) -> None:
    deal = seed_deal(sandbox.state)
    body = {"Name": "Follow-on", "StageName": "Prospecting", "CloseDate": "2024-12-01",
            "Account": {"ERP_Customer_Number__c": "C-900"}}
    created = http.post(f"{V}/sobjects/Opportunity/", json=body, headers=headers)
    assert created.status_code == 201
    assert sandbox.state.record("Opportunity", created.json()["id"])["AccountId"] == deal.account_id  # type: ignore[index]
    unknown = http.post(f"{V}/sobjects/Opportunity/", json={**body, "Account": {"ERP_Customer_Number__c": "C-0"}},
                        headers=headers)
    assert unknown.status_code == 400 and unknown.json()[0]["fields"] == ["AccountId"]


def test_products_roll_up_into_the_opportunity_amount(http: httpx.Client, sandbox: SalesforceSandbox,
                                                      headers: dict[str, str]) -> None:
    deal = seed_deal(sandbox.state)
    opp = sandbox.state.record("Opportunity", deal.opportunity_id)
    assert opp is not None and opp["Amount"] == 9000.25 + 200 * 150
    line = sandbox.state.record("OpportunityLineItem", deal.line_ids[0])
    assert line is not None and line["UnitPrice"] == 9000.25 and line["CurrencyIsoCode"] == "EUR"
    amount = http.patch(f"{V}/sobjects/Opportunity/{deal.opportunity_id}", json={"Amount": 1}, headers=headers)
    assert amount.status_code == 400 and amount.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert http.delete(f"{V}/sobjects/OpportunityLineItem/{deal.line_ids[1]}", headers=headers).status_code == 204
    assert sandbox.state.record("Opportunity", deal.opportunity_id)["Amount"] == 9000.25  # type: ignore[index]


def test_describe_names_fields_lookups_and_children(http: httpx.Client, headers: dict[str, str]) -> None:
    described = http.get(f"{V}/sobjects/Opportunity/describe", headers=headers).json()
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["AccountId"]["referenceTo"] == ["Account"] and fields["AccountId"]["relationshipName"] == "Account"
    assert fields["IsWon"]["updateable"] is False and fields["ERP_Contract_Id__c"]["externalId"] is True
    assert "Closed Won" in [p["value"] for p in fields["StageName"]["picklistValues"]]
    assert {c["childSObject"] for c in described["childRelationships"]} == {"OpportunityLineItem",
                                                                            "Opportunity_Milestone__c",
                                                                            "Billing_Schedule_Line__c"}
    listed = http.get(f"{V}/sobjects/", headers=headers).json()
    assert {s["name"] for s in listed["sobjects"]} >= {"Account", "Opportunity", "OpportunityLineItem"}


def test_limit_info_header_and_403_when_the_allocation_is_used(http: httpx.Client, sandbox: SalesforceSandbox,
                                                               headers: dict[str, str]) -> None:
    assert http.get(f"{V}/limits", headers=headers).headers["Sforce-Limit-Info"] == "api-usage=1/5000"
    sandbox.state.set_api_usage(4_999)
    assert http.get(f"{V}/limits", headers=headers).headers["Sforce-Limit-Info"] == "api-usage=5000/5000"
    refused = http.get(f"{V}/limits", headers=headers)
    assert refused.status_code == 403
    assert refused.json() == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=5000/5000"
    http.put("/__sandbox/salesforce/api-usage", json={"used": 0})
    assert http.get(f"{V}/limits", headers=headers).json()["DailyApiRequests"] == {"Max": 5000, "Remaining": 4999}


def test_injected_throttle_is_salesforce_403_not_429(http: httpx.Client, sandbox: SalesforceSandbox,
                                                     headers: dict[str, str]) -> None:
    sandbox.set_faults(Faults(throttle_rate=1.0))
    response = http.get(f"{V}/limits", headers=headers)
    assert response.status_code == 403
    assert response.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert "Retry-After" not in response.headers and "api-usage=" in response.headers["Sforce-Limit-Info"]


def test_change_events_name_the_changed_fields_and_the_api_client(http: httpx.Client, sandbox: SalesforceSandbox,
                                                                  headers: dict[str, str]) -> None:
    deal = seed_deal(sandbox.state, won=False)
    assert http.patch(f"{V}/sobjects/Opportunity/{deal.opportunity_id}", json={"StageName": "Closed Won"},
                      headers={**headers, "Sforce-Call-Options": "client=hub"}).status_code == 204
    events = http.get("/__sandbox/salesforce/change-events").json()
    created, *_, won = events
    assert created["payload"]["ChangeEventHeader"]["changeType"] == "CREATE"
    assert created["payload"]["ChangeEventHeader"]["changeOrigin"] == ""  # a user in the browser
    header = won["payload"]["ChangeEventHeader"]
    assert header["changeType"] == "UPDATE" and header["recordIds"] == [deal.opportunity_id]
    assert header["changeOrigin"] == "com/salesforce/api/rest/59.0;client=hub"
    assert {"StageName", "IsWon", "IsClosed", "LastModifiedDate"} <= set(header["changedFields"])
    assert won["payload"]["StageName"] == "Closed Won" and won["replayId"] > created["replayId"]


def test_admin_routes_seed_and_inspect(http: httpx.Client, sandbox: SalesforceSandbox) -> None:
    created = http.post("/__sandbox/salesforce/records/Account", json={"Name": "Demo Co"}).json()
    assert created["id"].startswith("001")
    refused = http.post("/__sandbox/salesforce/records/Opportunity", json={"Name": "no stage"})
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    edited = http.patch(f"/__sandbox/salesforce/records/Account/{created['id']}", json={"Name": "Demo Ltd"})
    assert edited.status_code == 200
    assert [a["Name"] for a in http.get("/__sandbox/salesforce/records/Account").json()] == ["Demo Ltd"]
    http.post("/__sandbox/reset")
    assert sandbox.state.records("Account") == []
