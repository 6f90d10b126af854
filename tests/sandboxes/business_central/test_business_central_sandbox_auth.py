"""Entra ID in front of the API: msal with a secret or a certificate, and the 401s a Microsoft API gives."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import httpx
from business_central_sandbox_support import SCOPE, error_of, msal_app
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from q2c.sandboxes.business_central.app import BusinessCentralSandbox
from q2c.sandboxes.kit import SandboxServer


def _certificate() -> tuple[str, str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "q2c business central client")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return pem, key_pem, cert.fingerprint(hashes.SHA1()).hex()  # x5t is the SHA-1 thumbprint


def _get(server: SandboxServer, box: BusinessCentralSandbox, ca_path: Path, token: str | None,
         tenant: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"{server.url}/v2.0/{tenant or box.tenant_id}/{box.environment}/api/v2.0/companies"
    return httpx.get(url, headers=headers, verify=ssl.create_default_context(cafile=str(ca_path)))


def test_certificate_credential_gets_a_token_that_works(server: SandboxServer, box: BusinessCentralSandbox,
                                                        ca_path: Path) -> None:
    cert_pem, key_pem, thumbprint = _certificate()
    registered = box.register_app(certificate_pem=cert_pem)
    app = msal_app(box, server.url, ca_path, client_id=registered.client_id,
                   credential={"private_key": key_pem, "thumbprint": thumbprint, "public_certificate": cert_pem})
    result = app.acquire_token_for_client(scopes=[SCOPE])
    app.http_client.close()
    assert "access_token" in result, result
    assert _get(server, box, ca_path, str(result["access_token"])).status_code == 200


def test_no_token_or_a_bad_one_is_401_with_a_challenge(server: SandboxServer, box: BusinessCentralSandbox,
                                                       ca_path: Path) -> None:
    for token in (None, "not-a-jwt"):
        response = _get(server, box, ca_path, token)
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")
        error_of(response, 401, "Authentication_InvalidCredentials")


def test_a_token_for_another_resource_is_refused(server: SandboxServer, box: BusinessCentralSandbox,
                                                 ca_path: Path) -> None:
    app = msal_app(box, server.url, ca_path)
    result = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    app.http_client.close()
    assert "access_token" in result, result
    error_of(_get(server, box, ca_path, str(result["access_token"])), 401, "Authentication_InvalidCredentials")


def test_wrong_secret_is_refused_by_entra(server: SandboxServer, box: BusinessCentralSandbox, ca_path: Path) -> None:
    app = msal_app(box, server.url, ca_path, credential="wrong")
    result = app.acquire_token_for_client(scopes=[SCOPE])
    app.http_client.close()
    assert result.get("error") == "invalid_client" and "AADSTS" in result.get("error_description", "")


def test_an_app_unknown_to_business_central_is_refused(server: SandboxServer, box: BusinessCentralSandbox,
                                                       ca_path: Path) -> None:
    stranger = box.register_app(secret="stranger-secret", in_business_central=False)
    app = msal_app(box, server.url, ca_path, client_id=stranger.client_id, credential="stranger-secret")
    result = app.acquire_token_for_client(scopes=[SCOPE])
    app.http_client.close()
    error_of(_get(server, box, ca_path, str(result["access_token"])), 401, "Authentication_InvalidCredentials")


def test_expired_tokens_and_another_tenant_in_the_path(server: SandboxServer, box: BusinessCentralSandbox,
                                                       ca_path: Path, token: str) -> None:
    assert _get(server, box, ca_path, token).status_code == 200
    error_of(_get(server, box, ca_path, token, tenant="11111111-2222-3333-4444-555555555555"), 401,
             "Authentication_InvalidCredentials")
    box.tenant.expire_tokens()
    response = _get(server, box, ca_path, token)
    assert "expired" in response.headers["WWW-Authenticate"]
    error_of(response, 401, "Authentication_InvalidCredentials")
