"""The shared Entra ID sandbox (`q2c.sandboxes.entra`) driven by msal itself, the way Microsoft's own clients
sign in: the OpenID configuration msal reads, the client credentials grant with a secret, with a certificate
assertion under both thumbprint headers (x5t#S256 with PS256, x5t with RS256), and Entra's error bodies."""

from __future__ import annotations

import datetime as dt
import os
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import msal
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from fastapi import FastAPI

from q2c.sandboxes.entra import EntraTenant
from q2c.sandboxes.kit import LoopbackTls, Sandbox, SandboxServer

SCOPE = "https://api.businesscentral.dynamics.com/.default"


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[EntraTenant, str]]:
    tenant = EntraTenant()
    app = FastAPI()
    app.include_router(tenant.router())
    box = Sandbox("entra", app, tls=LoopbackTls.create())
    assert box.tls is not None
    # requests lets REQUESTS_CA_BUNDLE override a session's `verify`: point it at the sandbox's CA
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(box.tls.write_ca(tmp_path / "ca.pem")))
    with SandboxServer(box) as server:
        yield tenant, server.url


def _key_and_certificate() -> tuple[str, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "q2c")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode(), cert


def _app(url: str, tenant: EntraTenant, client_id: str, credential: object) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(client_id, client_credential=credential,
                                              authority=f"{url}/{tenant.tenant_id}", instance_discovery=False)


def test_msal_signs_in_with_a_secret_and_caches_the_token(served: tuple[EntraTenant, str]) -> None:
    tenant, url = served
    registered = tenant.register_app(secret="s3cret")
    app = _app(url, tenant, registered.client_id, "s3cret")
    first = app.acquire_token_for_client(scopes=[SCOPE])
    again = app.acquire_token_for_client(scopes=[SCOPE])
    assert first["token_type"] == "Bearer" and first["expires_in"] == 3599
    assert (first["token_source"], again["token_source"]) == ("identity_provider", "cache")
    claims = tenant.authenticate(f"Bearer {first['access_token']}", "https://api.businesscentral.dynamics.com")
    assert claims["appid"] == registered.client_id and claims["idtyp"] == "app"


@pytest.mark.parametrize("header", ["x5t#S256", "x5t"])
def test_msal_signs_in_with_a_certificate(served: tuple[EntraTenant, str], header: str) -> None:
    tenant, url = served
    key, cert = _key_and_certificate()
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    registered = tenant.register_app(certificate_pem=pem)
    credential = ({"private_key": key, "public_certificate": pem} if header == "x5t#S256"
                  else {"private_key": key, "thumbprint": cert.fingerprint(hashes.SHA1()).hex()})
    result = _app(url, tenant, registered.client_id, credential).acquire_token_for_client(scopes=[SCOPE])
    assert "access_token" in result, result


def test_refusals_carry_entra_error_bodies(served: tuple[EntraTenant, str]) -> None:
    tenant, url = served
    registered = tenant.register_app(secret="s3cret")
    wrong = _app(url, tenant, registered.client_id, "wrong").acquire_token_for_client(scopes=[SCOPE])
    assert wrong["error"] == "invalid_client" and wrong["error_codes"] == [7000215]
    assert wrong["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    unknown = _app(url, tenant, "00000000-0000-0000-0000-000000000000", "x").acquire_token_for_client(scopes=[SCOPE])
    assert unknown["error"] == "unauthorized_client" and unknown["error_codes"] == [700016]
    no_default = _app(url, tenant, registered.client_id, "s3cret").acquire_token_for_client(
        scopes=["https://api.businesscentral.dynamics.com/user_impersonation"])
    assert no_default["error"] == "invalid_scope"


def test_the_discovery_documents_point_at_this_host(served: tuple[EntraTenant, str]) -> None:
    tenant, url = served
    with httpx.Client(verify=ssl.create_default_context(cafile=os.environ["REQUESTS_CA_BUNDLE"])) as client:
        config = client.get(f"{url}/{tenant.tenant_id}/v2.0/.well-known/openid-configuration").json()
        assert config["token_endpoint"] == f"{url}/{tenant.tenant_id}/oauth2/v2.0/token"
        assert client.get(f"{url}/nosuch/v2.0/.well-known/openid-configuration").status_code == 400
        discovery = client.get(f"{url}/common/discovery/instance",
                               params={"api-version": "1.1", "authorization_endpoint": "x"}).json()
        assert discovery["tenant_discovery_endpoint"].startswith(f"{url}/{tenant.tenant_id}/")
        assert client.get(f"{url}/{tenant.tenant_id}/discovery/v2.0/keys").json()["keys"][0]["kty"] == "RSA"
