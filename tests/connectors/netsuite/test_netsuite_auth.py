"""OAuth 2.0 M2M: the sandbox checks the client assertion as NetSuite does, the client keeps a token."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from netsuite_fixtures import CERT_ID, CLIENT_ID, ClientFactory

from q2c.connectors.netsuite.auth import CLIENT_ASSERTION_TYPE, client_assertion, generate_m2m_keypair
from q2c.connectors.netsuite.client import NetSuiteClient, NetSuiteConfig
from q2c.engine.errors import AuthFailed
from q2c.engine.resilience import GuardRegistry
from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.netsuite.app import TOKEN_PATH, NetSuiteSandbox, create_sandbox


def _token(server: SandboxServer, assertion: str) -> httpx.Response:
    return httpx.post(server.url + TOKEN_PATH, data={
        "grant_type": "client_credentials", "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion})


def _assertion(private_pem: str, server: SandboxServer, **overrides: object) -> str:
    args: dict[str, object] = {"client_id": CLIENT_ID, "certificate_id": CERT_ID, "private_key_pem": private_pem,
                               "token_url": server.url + TOKEN_PATH, "scope": "rest_webservices,restlets"}
    args.update(overrides)
    return client_assertion(**args)  # type: ignore[arg-type]


def test_good_assertion_gets_a_bearer_token_that_opens_the_record_service(
        server: SandboxServer, keypair: tuple[str, str]) -> None:
    response = _token(server, _assertion(keypair[0], server))
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and int(body["expires_in"]) == 3600
    records = httpx.get(server.url + "/services/rest/record/v1/currency/1",
                        headers={"Authorization": f"Bearer {body['access_token']}"})
    assert records.status_code == 200
    assert records.json()["symbol"] == "USD"


def test_the_canonical_account_token_url_is_also_a_valid_audience(
        server: SandboxServer, keypair: tuple[str, str]) -> None:
    canonical = "https://1234567-sb1.suitetalk.api.netsuite.com" + TOKEN_PATH
    assert _token(server, _assertion(keypair[0], server, token_url=canonical)).status_code == 200


@pytest.mark.parametrize(("change", "status", "error"), [
    ({"certificate_id": "someone-elses-cert"}, 401, "invalid_client"),
    ({"client_id": "unknown-integration"}, 401, "invalid_client"),
    ({"token_url": "https://login.example.com/token"}, 400, "invalid_grant"),
    ({"now": time.time() - 7200}, 400, "invalid_grant"),
    ({"scope": "rest_webservices,payroll"}, 400, "invalid_scope"),
])
def test_bad_assertions_are_refused_with_oauth_errors(
        server: SandboxServer, keypair: tuple[str, str], change: dict[str, object], status: int, error: str) -> None:
    response = _token(server, _assertion(keypair[0], server, **change))
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error and body["error_description"]


def test_exp_more_than_an_hour_after_iat_is_refused(server: SandboxServer, keypair: tuple[str, str]) -> None:
    now = int(time.time())
    claims = {"iss": CLIENT_ID, "scope": "rest_webservices", "aud": server.url + TOKEN_PATH,
              "iat": now, "exp": now + 3601}
    assertion = jwt.encode(claims, keypair[0], algorithm="ES256", headers={"kid": CERT_ID})
    response = _token(server, assertion)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_signature_by_another_key_is_refused(server: SandboxServer) -> None:
    stranger, _ = generate_m2m_keypair("ES256")
    response = _token(server, _assertion(stranger, server))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_data_call_without_token_gets_netsuite_error_shape(server: SandboxServer) -> None:
    response = httpx.get(server.url + "/services/rest/record/v1/customer/1")
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"type", "title", "status", "o:errorDetails"}
    assert body["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"


def test_client_reuses_its_token_and_refreshes_once_after_a_401(client: NetSuiteClient, sandbox: NetSuiteSandbox
                                                                 ) -> None:
    assert client.get("currency", "1") is not None
    assert client.get("currency", "2") is not None
    assert sandbox.state.token_grants == 1
    sandbox.state.revoke_tokens()
    assert client.get("currency", "3") is not None
    assert sandbox.state.token_grants == 2


def test_client_with_unmapped_certificate_raises_auth_failed(make_client: ClientFactory) -> None:
    client = make_client(certificate_id="not-mapped")
    with pytest.raises(AuthFailed) as failure:
        client.get("currency", "1")
    assert "invalid_client" in str(failure.value)


def test_rsa_keys_sign_with_ps256() -> None:
    private, public = generate_m2m_keypair("PS256")
    sandbox = create_sandbox(client_id=CLIENT_ID, certificate_id=CERT_ID, public_key_pem=public)
    with SandboxServer(sandbox) as server:
        assertion = _assertion(private, server)
        assert jwt.get_unverified_header(assertion)["alg"] == "PS256"
        assert _token(server, assertion).status_code == 200


def test_sandbox_without_a_key_makes_one_for_the_demo() -> None:
    sandbox = create_sandbox()
    assert sandbox.private_key_pem is not None
    with SandboxServer(sandbox) as server:
        assertion = client_assertion(client_id="q2c-sandbox-client", certificate_id="q2c-cert-1",
                                     private_key_pem=sandbox.private_key_pem, token_url=server.url + TOKEN_PATH,
                                     scope="restlets")
        assert _token(server, assertion).status_code == 200
        config = sandbox.client_config(server.url)
        assert config.concurrency_limit == 5 and config.references.subsidiaries["US01"] == "2"
        with NetSuiteClient(config, GuardRegistry()) as client:
            assert client.upsert("customer", "DEMO-1", {"companyName": "Demo", "subsidiary": {"id": "2"}})


def test_hosts_derive_from_the_account_id(keypair: tuple[str, str]) -> None:
    config = NetSuiteConfig(account_id="1234567_SB1", client_id="c", certificate_id="k", private_key_pem=keypair[0])
    assert config.token_url == "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token"
    assert config.restlet_endpoint == "https://1234567-sb1.restlets.api.netsuite.com/app/site/hosting/restlet.nl"
    assert "BEGIN" not in repr(config)  # the key is a secret: never in logs
    with pytest.raises(ValueError, match="exactly one"):
        NetSuiteConfig(account_id="1", client_id="c", certificate_id="k")
