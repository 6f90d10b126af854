"""Token-based authentication as NetSuite checks it, driven by requests-oauthlib (an independent OAuth 1.0a
client), never by q2c's connector.

NetSuite's profile: "The Signature for Web Services and RESTlets" (section_1534941088) and "The
Authorization Headers" (section_1534941295), NetSuite Help Center: HMAC-SHA256 (HMAC-SHA1 ended with
2023.1), realm = the account id in upper case with `_` (1234567_SB1), query parameters in the base
string; a nonce used once and a current timestamp ("Token-Based Authentication Errors in SOAP Web
Services", section_1509544929). A refused login is a 401: REST answers INVALID_LOGIN in
`o:errorDetails`, a RESTlet INVALID_LOGIN_ATTEMPT; the cause goes to the Login Audit Trail.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import requests
from netsuite_sandbox_calls import ACCOUNT, RESTLET_QUERY, first_detail
from requests_oauthlib import OAuth1

from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.netsuite.app import RECORD_PATH, RESTLET_PATH, SUITEQL_PATH, NetSuiteSandbox


def _oauth(sandbox: NetSuiteSandbox, **changes: Any) -> OAuth1:
    tba = sandbox.tba
    args: dict[str, Any] = {"client_key": tba.consumer_key, "client_secret": tba.consumer_secret,
                            "resource_owner_key": tba.token_id, "resource_owner_secret": tba.token_secret,
                            "signature_method": "HMAC-SHA256", "realm": ACCOUNT}
    args.update(changes)
    return OAuth1(**args)


def _suiteql(server: SandboxServer, auth: OAuth1, query: str = "SELECT id, symbol FROM currency ORDER BY id"
             ) -> requests.Response:
    return requests.post(server.url + SUITEQL_PATH, params={"limit": "2", "offset": "0"}, json={"q": query},
                         headers={"Prefer": "transient"}, auth=auth, timeout=10)


def _restlet(server: SandboxServer, auth: OAuth1, body: Any) -> requests.Response:
    return requests.post(server.url + RESTLET_PATH, params=RESTLET_QUERY, json=body, auth=auth, timeout=10)


def _audit(server: SandboxServer) -> list[str]:
    return [line["detail"] for line in httpx.get(server.url + "/__sandbox/netsuite/login-audit-trail").json()]


def test_requests_oauthlib_signs_suiteql_records_and_the_restlet(server: SandboxServer,
                                                                  sandbox: NetSuiteSandbox) -> None:
    answer = _suiteql(server, _oauth(sandbox))
    assert answer.status_code == 200, answer.text
    assert [item["symbol"] for item in answer.json()["items"]] == ["USD", "GBP"] and answer.json()["hasMore"]
    record = requests.get(f"{server.url}{RECORD_PATH}/currency/2", auth=_oauth(sandbox), timeout=10)
    assert record.status_code == 200 and record.json()["symbol"] == "GBP"
    bulk = _restlet(server, _oauth(sandbox), {"recordType": "timebill", "records": []})
    assert bulk.status_code == 200 and bulk.json() == {"results": []}
    assert sandbox.state.token_grants == 0 and _audit(server) == []


def test_an_upsert_by_external_id_is_signed_over_its_path(server: SandboxServer, sandbox: NetSuiteSandbox) -> None:
    body = {"companyName": "Acme", "subsidiary": {"id": "2"}}
    answer = requests.put(f"{server.url}{RECORD_PATH}/customer/eid:SF-001%2F7", json=body, auth=_oauth(sandbox),
                          timeout=10)
    assert answer.status_code == 204, answer.text
    assert sandbox.state.by_external_id("customer", "SF-001/7") is not None


@pytest.mark.parametrize(("changes", "detail"), [
    ({"client_secret": "0" * 64}, "InvalidSignature"),
    ({"resource_owner_secret": "0" * 64}, "InvalidSignature"),
    ({"client_key": "f" * 64}, "consumer_key_unknown"),
    ({"resource_owner_key": "e" * 64}, "InvalidToken"),
    ({"realm": "1234567-sb1"}, "InvalidAccount"),  # the host's spelling, not the realm's
    ({"realm": "1234567_sb1"}, "InvalidAccount"),  # the realm is upper case
    ({"signature_method": "HMAC-SHA1"}, "UnsupportedSignatureMethod"),  # support ended with 2023.1
    ({"timestamp_in": -3600}, "InvalidTimestamp"),
    ({"timestamp_in": 900}, "InvalidTimestamp"),
], ids=["consumer secret", "token secret", "consumer key", "token id", "realm as host", "realm lower case",
        "HMAC-SHA1", "an hour old", "from the future"])
def test_a_request_not_signed_as_netsuite_requires_is_an_invalid_login(
        server: SandboxServer, sandbox: NetSuiteSandbox, changes: dict[str, Any], detail: str) -> None:
    if "timestamp_in" in changes:  # seconds from now when the test runs, not when the suite was collected
        offset = int(changes["timestamp_in"])
        changes = {k: v for k, v in changes.items() if k != "timestamp_in"} | {
            "timestamp": str(int(time.time()) + offset)}
    answer = _suiteql(server, _oauth(sandbox, **changes))
    assert answer.status_code == 401 and first_detail(httpx.Response(401, content=answer.content))["o:errorCode"] \
        == "INVALID_LOGIN"
    restlet = _restlet(server, _oauth(sandbox, **changes), {"recordType": "timebill", "records": []})
    assert restlet.status_code == 401 and restlet.json()["error"]["code"] == "INVALID_LOGIN_ATTEMPT"
    assert _audit(server) == [detail, detail]


def test_a_nonce_is_good_once(server: SandboxServer, sandbox: NetSuiteSandbox) -> None:
    timestamp = str(int(time.time()))
    assert _suiteql(server, _oauth(sandbox, nonce="q2cNonce42", timestamp=timestamp)).status_code == 200
    again = _suiteql(server, _oauth(sandbox, nonce="q2cNonce42", timestamp=timestamp))
    assert again.status_code == 401 and _audit(server) == ["UsedNonce"]
    assert _suiteql(server, _oauth(sandbox, nonce="q2cNonce43")).status_code == 200


def test_the_query_string_is_part_of_the_signature(server: SandboxServer, sandbox: NetSuiteSandbox) -> None:
    signed = requests.Request("POST", server.url + SUITEQL_PATH, params={"limit": "2", "offset": "0"},
                              json={"q": "SELECT id FROM currency"}, headers={"Prefer": "transient"},
                              auth=_oauth(sandbox)).prepare()
    assert signed.url is not None
    signed.url = signed.url.replace("limit=2", "limit=1000")  # same header, another page size
    with requests.Session() as session:
        assert session.send(signed, timeout=10).status_code == 401
    assert _audit(server) == ["InvalidSignature"]


@pytest.mark.parametrize(("setup", "detail"), [
    ({"token_based_authentication": False}, "InvalidIntegration"),
    ({"integration_blocked": True}, "consumer_key_refused"),
    ({"role_permissions": ["REST Web Services", "SuiteAnalytics Workbook"]}, "InsufficientPermission"),
], ids=["integration without TBA", "integration blocked", "role without Log in using Access Tokens"])
def test_the_account_s_set_up_decides_whether_a_good_signature_gets_in(
        server: SandboxServer, sandbox: NetSuiteSandbox, setup: dict[str, Any], detail: str) -> None:
    assert httpx.put(server.url + "/__sandbox/netsuite/setup", json=setup).status_code == 200
    assert _suiteql(server, _oauth(sandbox)).status_code == 401
    assert _audit(server) == [detail]


def test_the_restlet_needs_no_rest_web_services_permission(server: SandboxServer, sandbox: NetSuiteSandbox) -> None:
    httpx.put(server.url + "/__sandbox/netsuite/setup", json={"role_permissions": [
        "Log in using Access Tokens", "SuiteAnalytics Workbook"]})
    assert _suiteql(server, _oauth(sandbox)).status_code == 401
    assert _restlet(server, _oauth(sandbox), {"recordType": "timebill", "records": []}).status_code == 200


def test_an_unknown_setup_key_is_refused_by_name(server: SandboxServer) -> None:
    answer = httpx.put(server.url + "/__sandbox/netsuite/setup", json={"role_permission": []})
    assert answer.status_code == 400 and "role_permission" in answer.json()["error"]
