"""Entra ID sign-in as the Microsoft connectors use it (`q2c.connectors.entra`), against the shared Entra
sandbox (`q2c.sandboxes.entra`) served over HTTPS on loopback: a secret and a certificate both get a token
the API accepts, a token is cached until the API refuses it, and every refusal names the key to fix."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from fastapi import FastAPI, Request
from pydantic import ValidationError
from starlette.responses import Response

from q2c.connectors.entra import EntraSettings, EntraToken, tls_verify
from q2c.engine.errors import AuthFailed
from q2c.sandboxes.entra import EntraTenant, EntraUnauthorized
from q2c.sandboxes.kit import LoopbackTls, Sandbox, SandboxServer

RESOURCE = "https://api.businesscentral.dynamics.com"


class AppSettings(EntraSettings):
    type: Literal["entra_test"] = "entra_test"


@dataclass
class Directory:
    tenant: EntraTenant
    url: str
    folder: Path
    secret_app: str
    cert_app: str
    cert_pem_path: Path

    def settings(self, **overrides: Any) -> AppSettings:
        given = {"type": "entra_test", "tenant_id": self.tenant.tenant_id, "client_id": self.secret_app,
                 "client_secret": "s3cret", "authority_url": self.url, "ca_bundle": "ca.pem", **overrides}
        return AppSettings.model_validate({k: v for k, v in given.items() if v is not None},
                                          context={"base_dir": self.folder})

    def api(self, authorization: str, settings: AppSettings) -> httpx.Response:
        return httpx.get(f"{self.url}/api", headers={"Authorization": authorization}, verify=tls_verify(settings))


def _certificate() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "q2c integration")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    return (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode()
            + cert.public_bytes(serialization.Encoding.PEM).decode())


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[Directory]:
    tenant = EntraTenant()
    pem = _certificate()
    secret_app = tenant.register_app(secret="s3cret")
    cert_app = tenant.register_app(certificate_pem=pem[pem.index("-----BEGIN CERTIFICATE-----"):])
    app = FastAPI()
    app.include_router(tenant.router())

    @app.get("/api", response_model=None)
    def api(request: Request) -> Response | dict[str, Any]:
        try:
            return tenant.authenticate(request.headers.get("authorization"), RESOURCE)
        except EntraUnauthorized as refused:
            return refused.response({"error": {"code": "Authentication_InvalidCredentials",
                                               "message": refused.reason}})

    box = Sandbox("entra", app, tls=LoopbackTls.create())
    assert box.tls is not None
    box.tls.write_ca(tmp_path / "ca.pem")
    (tmp_path / "app.pem").write_text(pem)
    with SandboxServer(box) as server:
        yield Directory(tenant, server.url, tmp_path, secret_app.client_id, cert_app.client_id, tmp_path / "app.pem")


def test_a_secret_gets_a_token_the_api_takes_and_msal_caches_it(directory: Directory) -> None:
    settings = directory.settings()
    token = EntraToken(settings, f"{RESOURCE}/.default", system="business_central", key_prefix="systems.erp")
    first, second = token.authorization(), token.authorization()
    assert first == second and first.startswith("Bearer ")
    assert token.requests == 1 and directory.tenant.tokens_issued == 1
    claims = directory.api(first, settings).json()
    assert claims["aud"] == RESOURCE and claims["appid"] == directory.secret_app
    assert claims["tid"] == directory.tenant.tenant_id


def test_a_certificate_gets_a_token_too(directory: Directory) -> None:
    settings = directory.settings(client_id=directory.cert_app, client_secret=None, certificate_path="app.pem")
    token = EntraToken(settings, f"{RESOURCE}/.default", system="business_central", key_prefix="systems.erp")
    assert directory.api(token.authorization(), settings).json()["appid"] == directory.cert_app


def test_a_refused_token_is_forgotten_and_a_fresh_one_asked_for(directory: Directory) -> None:
    settings = directory.settings()
    token = EntraToken(settings, f"{RESOURCE}/.default", system="business_central", key_prefix="systems.erp")
    old = token.authorization()
    directory.tenant.expire_tokens()
    refused = directory.api(old, settings)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer ")
    token.forget()
    fresh = token.authorization()
    assert fresh != old and token.requests == 2
    assert directory.api(fresh, settings).status_code == 200


@pytest.mark.parametrize(("overrides", "key"), [
    ({"client_secret": "wrong"}, "systems.erp.client_secret"),
    ({"client_id": "00000000-0000-0000-0000-000000000000"}, "systems.erp.client_id"),
    ({"tenant_id": "no-such-tenant"}, "systems.erp.tenant_id"),
])
def test_every_refusal_names_the_key_to_fix(directory: Directory, overrides: dict[str, str], key: str) -> None:
    token = EntraToken(directory.settings(**overrides), f"{RESOURCE}/.default", system="business_central",
                       key_prefix="systems.erp")
    with pytest.raises(AuthFailed, match=key):
        token.authorization()


def test_a_certificate_the_app_does_not_have_is_refused_on_its_key(directory: Directory, tmp_path: Path) -> None:
    (tmp_path / "other.pem").write_text(_certificate())
    settings = directory.settings(client_id=directory.cert_app, client_secret=None, certificate_path="other.pem")
    with pytest.raises(AuthFailed, match=r"systems\.erp\.certificate_path: .*AADSTS700027"):
        EntraToken(settings, f"{RESOURCE}/.default", system="business_central",
                   key_prefix="systems.erp").authorization()


def test_without_the_sandbox_ca_the_connection_is_not_trusted(directory: Directory) -> None:
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{directory.url}/api", verify=ssl.create_default_context())


@pytest.mark.parametrize(("given", "key", "message"), [
    ({"client_secret": None}, "client_secret", "client secret, or certificate_path"),
    ({"certificate_path": "app.pem"}, "certificate_path", "give one credential"),
    ({"authority_url": "http://login.example"}, "authority_url", "https://"),
    ({"ca_bundle": "missing.pem"}, "ca_bundle", "no such file"),
])
def test_settings_errors_name_the_key(directory: Directory, given: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as refused:
        directory.settings(**given)
    error = refused.value.errors()[0]
    assert key in (*error["loc"], (error.get("ctx") or {}).get("key"))


def test_a_certificate_file_without_its_key_is_refused_at_load(directory: Directory, tmp_path: Path) -> None:
    pem = directory.cert_pem_path.read_text()
    (tmp_path / "cert-only.pem").write_text(pem[pem.index("-----BEGIN CERTIFICATE-----"):])
    with pytest.raises(ValidationError, match="private key"):
        directory.settings(client_secret=None, certificate_path="cert-only.pem")
