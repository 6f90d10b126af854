"""The sandbox over real HTTP: OAuth grants, REST semantics, SOQL paging, limits, faults."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from salesforce_fixtures import CLIENT_ID, CLIENT_SECRET, KeyPair, seed_deal

from q2c.sandboxes.kit import Faults, SandboxServer
from q2c.sandboxes.salesforce.app import SalesforceSandbox

V = "/services/data/v59.0"


@pytest.fixture()
def http(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as session:
        yield session


def login(http: httpx.Client) -> dict[str, str]:
    response = http.post("/services/oauth2/token", data={"grant_type": "client_credentials"},
                         auth=(CLIENT_ID, CLIENT_SECRET))
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def assertion(keys: KeyPair, **overrides: Any) -> str:
    claims: dict[str, Any] = {"iss": CLIENT_ID, "sub": "ops@globex.example", "aud": "https://login.salesforce.com",
                              "exp": int(time.time()) + 180}
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, keys.private_pem, algorithm="RS256")


# --- OAuth ---------------------------------------------------------------------------------------


def test_client_credentials_with_basic_auth_and_with_form_fields(http: httpx.Client, server: SandboxServer) -> None:
    basic = http.post("/services/oauth2/token", data={"grant_type": "client_credentials"},
                      auth=(CLIENT_ID, CLIENT_SECRET)).json()
    assert set(basic) == {"access_token", "instance_url", "id", "token_type", "issued_at", "signature", "scope"}
    assert basic["instance_url"] == server.url and basic["token_type"] == "Bearer"
    assert "/id/00D" in basic["id"] and basic["id"].rsplit("/", 1)[1].startswith("005")
    form = http.post("/services/oauth2/token", data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                                     "client_secret": CLIENT_SECRET})
    assert form.status_code == 200 and form.json()["access_token"] != basic["access_token"]


@pytest.mark.parametrize(("data", "auth", "error"), [
    ({"grant_type": "client_credentials"}, (CLIENT_ID, "wrong"), "invalid_client"),
    ({"grant_type": "client_credentials"}, ("other-app", CLIENT_SECRET), "invalid_client_id"),
    ({"grant_type": "password", "username": "x", "password": "y"}, None, "unsupported_grant_type"),
])
def test_token_errors_are_oauth_error_objects(http: httpx.Client, data: dict[str, str],
                                              auth: tuple[str, str] | None, error: str) -> None:
    response = http.post("/services/oauth2/token", data=data, auth=auth)
    assert response.status_code == 400
    assert response.json()["error"] == error and response.json()["error_description"]


def test_jwt_bearer_grant(http: httpx.Client, keys: KeyPair) -> None:
    response = http.post("/services/oauth2/token", data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion(keys)})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    me = http.get(f"{V}/limits", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["DailyApiRequests"]["Max"] == 5_000


@pytest.mark.parametrize(("overrides", "error", "description"), [
    ({"aud": "https://evil.example"}, "invalid_grant", "audience is invalid"),
    ({"exp": int(time.time()) - 600}, "invalid_grant", "expired authorization code"),
    ({"iss": "someone-else"}, "invalid_client_id", "client identifier invalid"),
    ({"sub": None}, "invalid_grant", "missing claim sub"),
])
def test_jwt_bearer_rejections(http: httpx.Client, keys: KeyPair, overrides: dict[str, Any], error: str,
                               description: str) -> None:
    response = http.post("/services/oauth2/token", data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion(keys, **overrides)})
    assert response.status_code == 400
    assert response.json()["error"] == error and description in response.json()["error_description"]


def test_jwt_signed_by_another_key_is_refused(http: httpx.Client) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    forged = jwt.encode({"iss": CLIENT_ID, "sub": "x@y", "aud": "https://login.salesforce.com",
                         "exp": int(time.time()) + 60}, stranger, algorithm="RS256")
    response = http.post("/services/oauth2/token", data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": forged})
    assert response.status_code == 400 and response.json()["error_description"] == "invalid assertion"


def test_data_calls_need_a_live_session(http: httpx.Client, sandbox: SalesforceSandbox) -> None:
    expired = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    assert http.get(f"{V}/sobjects").json() == expired
    headers = login(http)
    assert http.get(f"{V}/sobjects", headers=headers).status_code == 200
    sandbox.state.expire_sessions()
    response = http.get(f"{V}/sobjects", headers=headers)
    assert response.status_code == 401 and response.json() == expired


def test_versions_are_listed_and_any_version_answers(http: httpx.Client) -> None:
    versions = http.get("/services/data/").json()
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
    headers = login(http)
    assert http.get("/services/data/v62.0/sobjects/Account/describe", headers=headers).json()["keyPrefix"] == "001"
    assert http.get("/services/data/vlatest/sobjects", headers=headers).status_code == 404


# --- sObjects ------------------------------------------------------------------------------------


def test_create_read_update_delete_with_derived_and_system_fields(http: httpx.Client) -> None:
    headers = login(http)
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
    assert http.patch(f"{V}/sobjects/Opportunity/{opp}", json={"StageName": "Closed Won"},
                      headers=headers).status_code == 204
    after = http.get(f"{V}/sobjects/Opportunity/{opp}", params={"fields": "IsWon,IsClosed,SystemModstamp"},
                     headers=headers).json()
    assert after["IsWon"] is True and after["IsClosed"] is True
    assert after["SystemModstamp"] > before["SystemModstamp"]
    assert set(after) == {"attributes", "IsWon", "IsClosed", "SystemModstamp"}
    assert http.delete(f"{V}/sobjects/Account/{account_id}", headers=headers).status_code == 204
    gone = http.get(f"{V}/sobjects/Opportunity/{opp}", headers=headers)
    assert gone.status_code == 404 and gone.json()[0]["errorCode"] == "NOT_FOUND"


@pytest.mark.parametrize(("sobject", "body", "status", "code", "fields"), [
    ("Opportunity", {"Name": "x"}, 400, "REQUIRED_FIELD_MISSING", ["StageName", "CloseDate"]),
    ("Opportunity", {"Name": "x", "StageName": "Prospecting", "CloseDate": "2024-01-01", "IsWon": True},
     400, "INVALID_FIELD_FOR_INSERT_UPDATE", ["IsWon"]),
    ("Opportunity", {"Name": "x", "StageName": "Won-ish", "CloseDate": "2024-01-01"},
     400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["StageName"]),
    ("Opportunity", {"Name": "x", "StageName": "Prospecting", "CloseDate": "31/01/2024"},
     400, "JSON_PARSER_ERROR", ["CloseDate"]),
    ("Opportunity", {"Name": "x", "StageName": "Prospecting", "CloseDate": "2024-01-01",
                     "AccountId": "001Dn000000zzzzIAA"}, 400, "INVALID_CROSS_REFERENCE_KEY", ["AccountId"]),
    ("Opportunity", {"Name": "x", "StageName": "Prospecting", "CloseDate": "2024-01-01", "AccountId": "nope"},
     400, "MALFORMED_ID", ["AccountId"]),
    ("Account", {"Name": "x", "Shoe_Size__c": 44}, 400, "INVALID_FIELD", ["Shoe_Size__c"]),
])
def test_write_errors_are_salesforce_error_arrays(http: httpx.Client, sobject: str, body: dict[str, Any],
                                                  status: int, code: str, fields: list[str]) -> None:
    response = http.post(f"{V}/sobjects/{sobject}/", json=body, headers=login(http))
    assert response.status_code == status
    [error] = response.json()
    assert error["errorCode"] == code and error["fields"] == fields and error["message"]


def test_upsert_by_external_id_created_updated_ambiguous_unknown(http: httpx.Client,
                                                                 sandbox: SalesforceSandbox) -> None:
    headers = login(http)
    url = f"{V}/sobjects/Account/ERP_Customer_Number__c/C-1001"
    created = http.patch(url, json={"Name": "Umbrella"}, headers=headers)
    assert created.status_code == 201 and created.json()["created"] is True
    updated = http.patch(url, json={"Name": "Umbrella Corp"}, headers=headers)
    assert updated.status_code == 200
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


def test_line_items_roll_up_into_the_opportunity_amount(http: httpx.Client, sandbox: SalesforceSandbox) -> None:
    deal = seed_deal(sandbox)
    opp = sandbox.state.record("Opportunity", deal.opportunity_id)
    assert opp is not None and opp["Amount"] == 12500.5 + 320 * 165 + 30000
    response = http.patch(f"{V}/sobjects/Opportunity/{deal.opportunity_id}", json={"Amount": 1},
                          headers=login(http))
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


# --- SOQL ----------------------------------------------------------------------------------------


def test_query_pages_with_batch_size_and_next_records_url(http: httpx.Client, sandbox: SalesforceSandbox) -> None:
    for n in range(450):
        sandbox.state.create("Account", {"Name": f"Customer {n:03d}", "BillingCountry": "US" if n % 2 else "CA"})
    headers = {**login(http), "Sforce-Query-Options": "batchSize=200"}
    first = http.get(f"{V}/query/", params={"q": "SELECT Id, Name FROM Account ORDER BY Name"},
                     headers=headers).json()
    assert first["totalSize"] == 450 and first["done"] is False and len(first["records"]) == 200
    assert first["nextRecordsUrl"].startswith(f"{V}/query/01g") and first["nextRecordsUrl"].endswith("-200")
    names = [r["Name"] for r in first["records"]]
    page = first
    while not page["done"]:
        page = http.get(page["nextRecordsUrl"], headers=headers).json()
        names += [r["Name"] for r in page["records"]]
    assert names == [f"Customer {n:03d}" for n in range(450)]
    assert "nextRecordsUrl" not in page
    tiny = http.get(f"{V}/query", params={"q": "SELECT Id FROM Account"},
                    headers={**headers, "Sforce-Query-Options": "batchSize=5"}).json()
    assert len(tiny["records"]) == 200  # Salesforce never pages below 200
    default = http.get(f"{V}/query", params={"q": "SELECT Id FROM Account"}, headers=login(http)).json()
    assert default["done"] is True and len(default["records"]) == 450
    bogus = http.get(f"{V}/query/01gDn0000000999AAA-200", headers=headers)
    assert bogus.status_code == 400 and bogus.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_query_filters_relationships_order_and_limit(http: httpx.Client, sandbox: SalesforceSandbox) -> None:
    deal = seed_deal(sandbox)
    other = sandbox.state.create("Opportunity", {"Name": "Small deal", "StageName": "Prospecting",
                                                 "CloseDate": "2024-03-01"})
    headers = login(http)
    rows = http.get(f"{V}/query", headers=headers, params={"q": (
        "SELECT Id, Name, Account.Name, Account.Parent.Name FROM Opportunity "
        "WHERE IsWon = true AND Amount > 1000 AND CloseDate >= 2024-06-01 AND Name LIKE 'globex%'")}).json()
    assert rows["totalSize"] == 1
    [row] = rows["records"]
    assert row["Id"] == deal.opportunity_id
    assert row["Account"]["Name"] == "Globex Europe GmbH"
    assert row["Account"]["Parent"]["Name"] == "Globex Holdings"
    assert row["Account"]["attributes"]["type"] == "Account"
    orphan = http.get(f"{V}/query", headers=headers, params={
        "q": f"SELECT Id, Account.Name FROM Opportunity WHERE Id = '{other}'"}).json()["records"][0]
    assert orphan["Account"] is None
    lines = http.get(f"{V}/query", headers=headers, params={"q": (
        f"SELECT Id, TotalPrice FROM OpportunityLineItem WHERE OpportunityId = '{deal.opportunity_id}' "
        "ORDER BY TotalPrice DESC LIMIT 2")}).json()["records"]
    assert [li["TotalPrice"] for li in lines] == [52800.0, 30000.0]
    milestones = http.get(f"{V}/query", headers=headers, params={"q": (
        "SELECT Name, Opportunity__r.Name FROM Opportunity_Milestone__c WHERE Status__c IN ('Completed')")}).json()
    assert milestones["records"][0]["Opportunity__r"]["Name"] == "Globex ERP rollout"


@pytest.mark.parametrize(("soql", "code"), [
    ("SELECT Id FROM Opportunity WHERE IsWon = true OR Amount > 5", "MALFORMED_QUERY"),
    ("SELECT Id FROM Opportunity WHERE", "MALFORMED_QUERY"),
    ("SELECT Id FROM Invoice__c", "INVALID_TYPE"),
    ("SELECT Id, Colour__c FROM Account", "INVALID_FIELD"),
    ("SELECT Id, Owner.Name FROM Account", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity WHERE IsWon = 'true'", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity WHERE CloseDate > 2024-01-01T00:00:00Z", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity WHERE Id = 'not-an-id'", "INVALID_QUERY_FILTER_OPERATOR"),
])
def test_bad_queries_are_refused_with_the_right_code(http: httpx.Client, soql: str, code: str) -> None:
    response = http.get(f"{V}/query", params={"q": soql}, headers=login(http))
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code


# --- limits and faults ---------------------------------------------------------------------------


def test_limit_info_header_and_403_when_the_allocation_is_used(http: httpx.Client,
                                                               sandbox: SalesforceSandbox) -> None:
    headers = login(http)
    assert http.get(f"{V}/limits", headers=headers).headers["Sforce-Limit-Info"] == "api-usage=1/5000"
    sandbox.state.set_api_usage(4_999)
    assert http.get(f"{V}/limits", headers=headers).headers["Sforce-Limit-Info"] == "api-usage=5000/5000"
    refused = http.get(f"{V}/limits", headers=headers)
    assert refused.status_code == 403
    assert refused.json() == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=5000/5000"
    http.put("/__sandbox/salesforce/api-usage", json={"used": 0})
    assert http.get(f"{V}/limits", headers=headers).status_code == 200


def test_injected_throttle_is_salesforce_403_not_429(http: httpx.Client, sandbox: SalesforceSandbox) -> None:
    headers = login(http)
    sandbox.set_faults(Faults(throttle_rate=1.0))
    response = http.get(f"{V}/limits", headers=headers)
    assert response.status_code == 403
    assert response.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert "Retry-After" not in response.headers and "api-usage=" in response.headers["Sforce-Limit-Info"]


def test_admin_routes_seed_and_inspect(http: httpx.Client, sandbox: SalesforceSandbox) -> None:
    created = http.post("/__sandbox/salesforce/records/Account", json={"Name": "Demo Co"}).json()
    assert created["id"].startswith("001")
    refused = http.post("/__sandbox/salesforce/records/Opportunity", json={"Name": "no stage"})
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    listed = http.get("/__sandbox/salesforce/records/Account").json()
    assert [a["Name"] for a in listed] == ["Demo Co"]
    http.post("/__sandbox/reset")
    assert sandbox.state.records("Account") == []
