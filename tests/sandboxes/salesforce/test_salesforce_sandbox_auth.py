"""The sandbox's OAuth over real HTTP: client credentials, JWT bearer, refusals, bearer sessions."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from salesforce_org_fixtures import CLIENT_ID, CLIENT_SECRET, KeyPair, V

from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.salesforce.app import SalesforceSandbox

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def assertion(keys: KeyPair, **overrides: Any) -> str:
    claims: dict[str, Any] = {"iss": CLIENT_ID, "sub": "ops@hooli.example", "aud": "https://login.salesforce.com",
                              "exp": int(time.time()) + 180}
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, keys.private_pem, algorithm="RS256")


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
    response = (http.post("/services/oauth2/token", data=data, auth=auth) if auth is not None
                else http.post("/services/oauth2/token", data=data))
    assert response.status_code == 400
    assert response.json()["error"] == error and response.json()["error_description"]


def test_jwt_bearer_grant_opens_a_session_for_the_subject(http: httpx.Client, keys: KeyPair) -> None:
    response = http.post("/services/oauth2/token", data={"grant_type": JWT_GRANT, "assertion": assertion(keys)})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    limits = http.get(f"{V}/limits", headers={"Authorization": f"Bearer {token}"})
    assert limits.status_code == 200 and limits.json()["DailyApiRequests"]["Max"] == 5_000


@pytest.mark.parametrize(("overrides", "error", "description"), [
    ({"aud": "https://evil.example"}, "invalid_grant", "audience is invalid"),
    ({"exp": int(time.time()) - 600}, "invalid_grant", "expired authorization code"),
    ({"iss": "someone-else"}, "invalid_client_id", "client identifier invalid"),
    ({"sub": None}, "invalid_grant", "missing claim sub"),
])
def test_jwt_bearer_rejections(http: httpx.Client, keys: KeyPair, overrides: dict[str, Any], error: str,
                               description: str) -> None:
    response = http.post("/services/oauth2/token", data={"grant_type": JWT_GRANT,
                                                         "assertion": assertion(keys, **overrides)})
    assert response.status_code == 400
    assert response.json()["error"] == error and description in response.json()["error_description"]


def test_jwt_signed_by_another_key_is_refused(http: httpx.Client) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    forged = jwt.encode({"iss": CLIENT_ID, "sub": "x@y", "aud": "https://login.salesforce.com",
                         "exp": int(time.time()) + 60}, stranger, algorithm="RS256")
    response = http.post("/services/oauth2/token", data={"grant_type": JWT_GRANT, "assertion": forged})
    assert response.status_code == 400 and response.json()["error_description"] == "invalid assertion"


def test_data_calls_need_a_live_session(http: httpx.Client, sandbox: SalesforceSandbox,
                                        headers: dict[str, str]) -> None:
    expired = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    anonymous = http.get(f"{V}/sobjects")
    assert anonymous.status_code == 401 and anonymous.json() == expired
    assert http.get(f"{V}/sobjects", headers={"Authorization": "Basic abc"}).status_code == 401
    assert http.get(f"{V}/sobjects", headers=headers).status_code == 200
    sandbox.state.expire_sessions()
    assert http.get(f"{V}/sobjects", headers=headers).json() == expired


def test_revoked_token_stops_working(http: httpx.Client, headers: dict[str, str]) -> None:
    token = headers["Authorization"].split()[1]
    assert http.post("/services/oauth2/revoke", data={"token": token}).status_code == 200
    assert http.get(f"{V}/limits", headers=headers).status_code == 401
    again = http.post("/services/oauth2/revoke", data={"token": token})
    assert again.status_code == 400 and again.json()["error"] == "unsupported_token_type"


# --- which host the token request reached ---------------------------------------------------------
# Client credentials are served on the org's My Domain only (Salesforce Help, "OAuth 2.0 Client Credentials
# Flow for Server-to-Server Integration"); the generic servers' answer is as observed in
# pozil/pub-sub-api-node-client#58. JWT bearer works on login.salesforce.com too (Help, "OAuth 2.0 JWT Bearer
# Flow for Server-to-Server Integration"). The sandbox tells the hosts apart by the Host header.


@pytest.mark.parametrize("host", ["login.salesforce.com", "TEST.Salesforce.com", "login.salesforce.com:443"])
def test_client_credentials_on_a_generic_login_server_are_refused(http: httpx.Client, host: str) -> None:
    response = http.post("/services/oauth2/token", data={"grant_type": "client_credentials"},
                         auth=(CLIENT_ID, CLIENT_SECRET), headers={"Host": host})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "request not supported on this domain"}


def test_client_credentials_on_the_my_domain_host(http: httpx.Client) -> None:
    response = http.post("/services/oauth2/token", data={"grant_type": "client_credentials"},
                         auth=(CLIENT_ID, CLIENT_SECRET), headers={"Host": "globex-ps.my.salesforce.com"})
    assert response.status_code == 200, response.text
    assert response.json()["instance_url"] == "http://globex-ps.my.salesforce.com"


def test_jwt_bearer_on_login_salesforce_com_answers_the_orgs_own_instance(http: httpx.Client, keys: KeyPair,
                                                                          server: SandboxServer) -> None:
    response = http.post("/services/oauth2/token", data={"grant_type": JWT_GRANT, "assertion": assertion(keys)},
                         headers={"Host": "login.salesforce.com"})
    assert response.status_code == 200, response.text
    assert response.json()["instance_url"] == server.url
    token = response.json()["access_token"]
    assert http.get(f"{V}/limits", headers={"Authorization": f"Bearer {token}"}).status_code == 200
