"""The token endpoint checks a client assertion as NetSuite documents its M2M flow; data calls need its token."""

from __future__ import annotations

import base64
import json
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from netsuite_sandbox_calls import CERT_ID, CLIENT_ID, Caller, assertion, first_detail, request_token

from q2c.sandboxes.kit import SandboxServer
from q2c.sandboxes.netsuite.app import RECORD_PATH, TOKEN_PATH, NetSuiteSandbox, create_sandbox
from q2c.sandboxes.netsuite.keys import generate_keypair

CANONICAL = "https://1234567-sb1.suitetalk.api.netsuite.com" + TOKEN_PATH


def _currency(server: SandboxServer, token: str) -> httpx.Response:
    return httpx.get(f"{server.url}{RECORD_PATH}/currency/1", headers={"Authorization": f"Bearer {token}"})


def test_a_documented_assertion_is_traded_for_an_hour_long_bearer_token(
        server: SandboxServer, keypair: tuple[str, str], sandbox: NetSuiteSandbox) -> None:
    answer = request_token(server, assertion(keypair[0], server.url + TOKEN_PATH))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"access_token", "expires_in", "token_type"}
    assert body["expires_in"] == "3600" and body["token_type"] == "Bearer"  # a string, as NetSuite's example
    assert _currency(server, body["access_token"]).json()["symbol"] == "USD"
    assert sandbox.state.token_grants == 1


@pytest.mark.parametrize("audience", [CANONICAL, "served"], ids=["account host", "served host"])
def test_aud_is_the_token_endpoint_of_the_account_or_of_this_server(
        server: SandboxServer, keypair: tuple[str, str], audience: str) -> None:
    url = server.url + TOKEN_PATH if audience == "served" else audience
    assert request_token(server, assertion(keypair[0], url)).status_code == 200


def test_scope_may_be_a_list_as_in_netsuite_s_own_example(server: SandboxServer, keypair: tuple[str, str]) -> None:
    signed = assertion(keypair[0], CANONICAL, scope=["restlets", "rest_webservices"])
    assert request_token(server, signed).status_code == 200


@pytest.mark.parametrize(("change", "status", "error"), [
    ({"kid": "someone-elses-certificate"}, 401, "invalid_client"),
    ({"client_id": "unknown-integration"}, 401, "invalid_client"),
    ({"audience": "https://login.example.com/token"}, 400, "invalid_grant"),
    ({"issued_in": -7200}, 400, "invalid_grant"),
    ({"issued_in": 600}, 400, "invalid_grant"),
    ({"lifetime": 3600}, 400, "invalid_grant"),  # exp must be *less* than 60 minutes after iat
    ({"scope": "rest_webservices,payroll"}, 400, "invalid_scope"),
    ({"scope": ""}, 400, "invalid_scope"),
    ({"header": {"typ": "JWS"}}, 400, "invalid_request"),
], ids=["kid", "iss", "aud", "expired", "issued later", "an hour", "unknown scope", "no scope", "typ"])
def test_assertions_outside_the_documented_shape_are_refused(
        server: SandboxServer, keypair: tuple[str, str], sandbox: NetSuiteSandbox, change: dict[str, object],
        status: int, error: str) -> None:
    audience = str(change.pop("audience", CANONICAL))
    if "issued_in" in change:  # seconds from now when the test runs, not when the suite was collected
        change["issued"] = time.time() + float(str(change.pop("issued_in")))
    answer = request_token(server, assertion(keypair[0], audience, **change))  # type: ignore[arg-type]
    assert (answer.status_code, answer.json()["error"]) == (status, error)
    assert answer.json()["error_description"]
    assert sandbox.state.token_refusals[error] == 1 and sandbox.state.token_grants == 0


def test_a_lifetime_just_under_an_hour_is_accepted(server: SandboxServer, keypair: tuple[str, str]) -> None:
    assert request_token(server, assertion(keypair[0], CANONICAL, lifetime=3599)).status_code == 200


def test_required_claims_are_required(server: SandboxServer, keypair: tuple[str, str]) -> None:
    now = int(time.time())
    claims = {"iss": CLIENT_ID, "aud": CANONICAL, "iat": now, "exp": now + 300}  # no scope
    signed = jwt.encode(claims, keypair[0], algorithm="ES256", headers={"kid": CERT_ID})
    answer = request_token(server, signed)
    assert answer.status_code == 400 and "scope" in answer.json()["error_description"]


def test_a_signature_by_another_key_is_refused(server: SandboxServer) -> None:
    stranger = generate_keypair("ES256")[0]
    answer = request_token(server, assertion(stranger, CANONICAL))
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    assert "signature does not match the certificate" in answer.json()["error_description"]


@pytest.mark.parametrize("algorithm", ["RS256", "HS256"])
def test_algorithms_outside_pss_and_ecdsa_are_refused(server: SandboxServer, algorithm: str) -> None:
    key = generate_keypair("PS256")[0] if algorithm == "RS256" else "a shared secret of enough length for HS256"
    answer = request_token(server, assertion(key, CANONICAL, algorithm=algorithm))
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
    assert "PS256" in answer.json()["error_description"]


def test_an_unsigned_assertion_is_refused(server: SandboxServer) -> None:
    now = int(time.time())
    unsigned = jwt.encode({"iss": CLIENT_ID, "scope": "restlets", "aud": CANONICAL, "iat": now, "exp": now + 60},
                          None, algorithm="none", headers={"kid": CERT_ID})
    assert request_token(server, unsigned).json()["error"] == "invalid_request"


@pytest.mark.parametrize("algorithm", ["PS256", "PS512", "ES384", "ES512"])
def test_each_documented_algorithm_signs_with_a_key_of_its_family(algorithm: str) -> None:
    private, public = generate_keypair(algorithm)
    sandbox = create_sandbox(client_id=CLIENT_ID, certificate_id=CERT_ID, public_key_pem=public)
    with SandboxServer(sandbox) as server:
        assert request_token(server, assertion(private, server.url + TOKEN_PATH, algorithm=algorithm)).status_code \
            == 200


def test_the_curve_fixes_the_hash(server: SandboxServer) -> None:
    """The mapped key is on P-256: an assertion that says ES384 cannot be checked with it."""
    header = base64.urlsafe_b64encode(json.dumps({"alg": "ES384", "kid": CERT_ID, "typ": "JWT"}).encode())
    signed = assertion(generate_keypair("ES256")[0], CANONICAL).split(".")
    answer = request_token(server, ".".join([header.decode().rstrip("="), *signed[1:]]))
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
    assert "ES384 cannot be checked" in answer.json()["error_description"]


def test_the_mapping_refuses_keys_netsuite_refuses_at_upload() -> None:
    short = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    with pytest.raises(ValueError, match="3072 or 4096"):
        create_sandbox(public_key_pem=short)


@pytest.mark.parametrize(("form", "error"), [
    ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
    ({"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"}, "invalid_request"),
    ({"client_assertion": "not-a-jwt"}, "invalid_request"),
])
def test_the_form_must_be_the_client_credentials_grant(server: SandboxServer, keypair: tuple[str, str],
                                                       form: dict[str, str], error: str) -> None:
    answer = request_token(server, assertion(keypair[0], CANONICAL), **form)
    assert (answer.status_code, answer.json()["error"]) == (400, error)


def test_the_form_must_be_form_encoded(server: SandboxServer, keypair: tuple[str, str]) -> None:
    answer = httpx.post(server.url + TOKEN_PATH, json={"grant_type": "client_credentials",
                                                       "client_assertion": assertion(keypair[0], CANONICAL)})
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")


def test_data_calls_without_a_live_token_get_invalid_login(server: SandboxServer, caller: Caller,
                                                           sandbox: NetSuiteSandbox) -> None:
    assert _currency(server, caller.token).status_code == 200
    for headers in ({}, {"Authorization": "Bearer made-up"}, {"Authorization": f"Basic {caller.token}"}):
        answer = httpx.get(f"{server.url}{RECORD_PATH}/currency/1", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("application/vnd.oracle.resource+json; type=error")
        assert first_detail(answer)["o:errorCode"] == "INVALID_LOGIN"
        assert answer.json()["type"] == "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2"
    sandbox.state.revoke_tokens()
    assert _currency(server, caller.token).status_code == 401


def test_a_token_stops_working_when_it_expires(keypair: tuple[str, str]) -> None:
    sandbox = create_sandbox(client_id=CLIENT_ID, certificate_id=CERT_ID, public_key_pem=keypair[1], token_lifetime=0)
    with SandboxServer(sandbox) as server:
        answer = request_token(server, assertion(keypair[0], server.url + TOKEN_PATH))
        assert answer.json()["expires_in"] == "0"
        assert _currency(server, answer.json()["access_token"]).status_code == 401


def test_a_sandbox_without_a_key_makes_a_pair_and_keeps_the_private_half() -> None:
    sandbox = create_sandbox()
    assert sandbox.private_key_pem is not None and "PRIVATE KEY" in sandbox.private_key_pem
    with SandboxServer(sandbox) as server:
        signed = assertion(sandbox.private_key_pem, server.url + TOKEN_PATH, client_id=sandbox.client_id,
                           kid=sandbox.certificate_id, scope="restlets")
        assert request_token(server, signed).status_code == 200
    settings = sandbox.connector_settings("http://127.0.0.1:9")
    assert settings["private_key_pem"] == sandbox.private_key_pem and settings["references"]["subsidiaries"] == {
        "US01": "2", "UK01": "3"}
    given = create_sandbox(public_key_pem=generate_keypair()[1])
    with pytest.raises(ValueError, match="private_key_pem"):
        given.connector_settings("http://127.0.0.1:9")
