"""OAuth 2.0 M2M: the sandbox checks the client assertion as NetSuite does, the client keeps a token."""

from __future__ import annotations

import httpx
import jwt
import pytest
from netsuite_fixtures import CERT_ID, CLIENT_ID, ClientFactory

from q2c.connectors.netsuite.auth import CLIENT_ASSERTION_TYPE, client_assertion, generate_m2m_keypair
from q2c.connectors.netsuite.client import NetSuiteClient
from q2c.connectors.netsuite.settings import NetSuiteSettings
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
        config = NetSuiteSettings(**sandbox.connector_settings(server.url))
        assert config.concurrency_limit == 5 and config.references.subsidiaries["US01"] == "2"
        with NetSuiteClient(config, GuardRegistry()) as client:
            assert client.upsert("customer", "DEMO-1", {"companyName": "Demo", "subsidiary": {"id": "2"}})


def test_hosts_derive_from_the_account_id(keypair: tuple[str, str]) -> None:
    config = NetSuiteSettings(account_id="1234567_SB1", client_id="c", certificate_id="k", private_key_pem=keypair[0])
    assert config.token_url == "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token"
    assert config.restlet_endpoint == "https://1234567-sb1.restlets.api.netsuite.com/app/site/hosting/restlet.nl"
    assert "BEGIN" not in repr(config)  # the key is a secret: never in logs
    with pytest.raises(ValueError, match="required key is missing: the M2M certificate's private key"):
        NetSuiteSettings(account_id="1", client_id="c", certificate_id="k")


def test_signing_follows_the_certificate_conditions() -> None:
    """NetSuite takes RSA keys of 3072 or 4096 bits and EC keys on P-256, P-384 or P-521 (Oracle's
    "Certificate Conditions"); a 2048-bit RSA key is refused with the reason, before any request is sent."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    from q2c.connectors.netsuite.auth import signing_algorithm

    def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode("ascii")

    assert signing_algorithm(pem(ec.generate_private_key(ec.SECP384R1()))) == "ES384"
    assert signing_algorithm(pem(ec.generate_private_key(ec.SECP521R1()))) == "ES512"
    assert signing_algorithm(generate_m2m_keypair("PS256")[0]) == "PS256"
    with pytest.raises(ValueError, match="RSA of 2048 bits; NetSuite accepts RSA keys of 3072 or 4096 bits"):
        signing_algorithm(pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    with pytest.raises(ValueError, match="must be RSA of 3072 or 4096 bits"):
        signing_algorithm(pem(ec.generate_private_key(ec.SECP256K1())))
