"""Microsoft Entra ID app sign-in, shared by the Microsoft connectors (Dynamics 365 Sales, Business Central).

Both take an access token from the client credentials grant: the app registration's client id with
either a client secret or a certificate, `scope=<resource>/.default`. msal (Microsoft's own library,
chosen over a hand-written token call) builds the request, signs the certificate assertion, caches the
token until shortly before it expires and reads the tenant's OpenID configuration; q2c adds the settings,
errors that name the key to fix, and `forget()` for a token the API refused before its time.

Two details of msal and requests this module handles: msal refuses an authority that is not https, and
asks login.microsoftonline.com to validate any other host (instance discovery), so discovery is turned off
for an authority that is not one of Microsoft's; and requests lets `REQUESTS_CA_BUNDLE` override a
session's `verify`, so a configured `ca_bundle` is passed with every request instead.
"""

from __future__ import annotations

import ssl
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from q2c.connectors.settings import SystemSettings, http_url, key_error, key_file, pem_text
from q2c.engine.errors import AuthFailed, TransientError

MICROSOFT_AUTHORITY_HOSTS = frozenset({"login.microsoftonline.com", "login.microsoftonline.us",
                                       "login.partner.microsoftonline.cn", "login.chinacloudapi.cn"})


class EntraSettings(SystemSettings):
    """The app registration q2c signs in as (Entra admin center > App registrations)."""

    tenant_id: str = Field(min_length=1, description="the directory (tenant) id, or its domain")
    client_id: str = Field(min_length=1, description="the application (client) id")
    client_secret: SecretStr | None = None
    certificate_path: Path | None = None  # a PEM with the private key and the certificate; relative to the config
    certificate_pem: SecretStr | None = None  # the same PEM text, for programs that hold it in memory
    authority_url: str = "https://login.microsoftonline.com"
    # The CA certificates to trust instead of the system's (a sandbox's, a TLS-inspecting proxy's); relative
    # paths are read from the config file's folder.
    ca_bundle: Path | None = None
    token_timeout_seconds: float = Field(default=30.0, gt=0)

    @field_validator("tenant_id", "client_id")
    @classmethod
    def _no_spaces(cls, value: str) -> str:
        if any(c.isspace() for c in value.strip()) or "/" in value:
            raise ValueError("must be an id such as 00000000-0000-0000-0000-000000000000 (Entra admin center > "
                             "App registrations > the app > Overview), with no spaces or slashes")
        return value.strip()

    @field_validator("authority_url")
    @classmethod
    def _authority(cls, value: str) -> str:
        url = http_url(value).rstrip("/")
        if urlsplit(url).scheme != "https":
            raise ValueError("must be an https:// URL (Entra ID and msal accept no other), such as "
                             "https://login.microsoftonline.com")
        return url

    @field_validator("certificate_path", "ca_bundle", mode="before")
    @classmethod
    def _file(cls, value: object, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        if not isinstance(value, str | Path):
            raise ValueError("must be the path of a PEM file")
        return key_file(value, info)

    @model_validator(mode="after")
    def _one_credential(self) -> EntraSettings:
        given = [k for k in ("client_secret", "certificate_path", "certificate_pem") if getattr(self, k) is not None]
        if not given:
            raise key_error("client_secret", "give the app's client secret, or certificate_path (a PEM with its "
                                             "private key and certificate)")
        if len(given) > 1:
            raise key_error(given[1], f"give one credential: {' and '.join(given)} are both set")
        if self.certificate_path is not None or self.certificate_pem is not None:
            key = "certificate_path" if self.certificate_path is not None else "certificate_pem"
            try:
                _certificate_credential(self)
            except ValueError as exc:
                raise key_error(key, str(exc)) from None
        if self.ca_bundle is not None:
            try:
                ssl.create_default_context(cafile=str(self.ca_bundle))
            except ssl.SSLError as exc:
                raise key_error("ca_bundle", f"{self.ca_bundle} holds no usable CA certificate: {exc}") from None
        return self


def _certificate_pem(settings: EntraSettings) -> str:
    if settings.certificate_pem is not None:
        return settings.certificate_pem.get_secret_value()
    assert settings.certificate_path is not None
    return pem_text(settings.certificate_path)


def _certificate_credential(settings: EntraSettings) -> dict[str, str]:
    """msal's certificate credential: the private key and the certificate (its SHA-256 thumbprint and x5c)."""
    text = _certificate_pem(settings)
    blocks = [f"-----BEGIN{part}" for part in text.split("-----BEGIN")[1:]]
    keys = [b for b in blocks if "PRIVATE KEY-----" in b.split("\n", 1)[0]]
    certificates = [b for b in blocks if b.startswith("-----BEGIN CERTIFICATE-----")]
    if not keys or not certificates:
        raise ValueError("must hold both the private key (-----BEGIN PRIVATE KEY-----) and the certificate "
                         "(-----BEGIN CERTIFICATE-----) uploaded to the app registration")
    try:
        load_pem_private_key(keys[0].encode(), password=None)
        x509.load_pem_x509_certificate(certificates[0].encode())
    except (ValueError, TypeError) as exc:
        raise ValueError(f"is not a usable unencrypted PEM key and certificate: {exc}") from None
    return {"private_key": keys[0], "public_certificate": certificates[0]}


def tls_verify(settings: EntraSettings) -> ssl.SSLContext | bool:
    """What httpx's `verify=` takes: the system's CAs, or only those of `ca_bundle`."""
    if settings.ca_bundle is None:
        return True
    return ssl.create_default_context(cafile=str(settings.ca_bundle))


class _Session(requests.Session):
    """A requests session that keeps its CA file even when REQUESTS_CA_BUNDLE is set in the environment."""

    def __init__(self, ca_bundle: Path | None) -> None:
        super().__init__()
        self._ca = str(ca_bundle) if ca_bundle is not None else None

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if self._ca is not None:
            kwargs.setdefault("verify", self._ca)
        return super().request(method if isinstance(method, str) else method.decode(), url, *args, **kwargs)


class EntraToken:
    """Bearer tokens for one resource (`scope` is `<resource>/.default`), cached by msal until near expiry."""

    def __init__(self, settings: EntraSettings, scope: str, *, system: str, key_prefix: str) -> None:
        self.settings = settings
        self.scope = scope
        self.system = system
        self.key_prefix = key_prefix  # e.g. "systems.erp": errors name `systems.erp.client_secret`
        self.requests = 0  # token requests sent to Entra (a cached token costs none)
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()

    def authorization(self) -> str:
        """The `Authorization` header's value: `Bearer <token>`."""
        app = self._application()
        try:
            result = app.acquire_token_for_client(scopes=[self.scope])  # msal answers from its cache first
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientError(self.system, f"Entra ID token endpoint unreachable: {exc}") from None
        except msal.exceptions.MsalServiceError as exc:  # a 5xx from the token endpoint
            raise TransientError(self.system, f"Entra ID token endpoint failed: {exc}") from None
        if result.get("token_source") == "identity_provider":
            self.requests += 1
        if "access_token" not in result:
            raise self._refused(result)
        return f"Bearer {result['access_token']}"

    def forget(self) -> None:
        """Drop the cached token (the API refused it before its time): the next call asks Entra afresh."""
        with self._lock:
            if self._app is None:
                return
            cache = self._app.token_cache
            for token in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                cache.remove_at(token)

    def _application(self) -> msal.ConfidentialClientApplication:
        with self._lock:
            if self._app is not None:
                return self._app
            s = self.settings
            credential: Any = (s.client_secret.get_secret_value() if s.client_secret is not None
                               else _certificate_credential(s))
            authority = f"{s.authority_url}/{s.tenant_id}"
            microsoft = urlsplit(s.authority_url).hostname in MICROSOFT_AUTHORITY_HOSTS
            try:
                self._app = msal.ConfidentialClientApplication(
                    s.client_id, client_credential=credential, authority=authority,
                    http_client=_Session(s.ca_bundle), timeout=s.token_timeout_seconds,
                    instance_discovery=None if microsoft else False)
            except ValueError as exc:  # the tenant's OpenID configuration refused (unknown tenant, bad authority)
                raise AuthFailed(self.system, f"{self.key_prefix}.tenant_id: Entra ID does not know tenant "
                                              f"{s.tenant_id!r} at {s.authority_url}: {exc}") from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise TransientError(self.system, f"Entra ID unreachable at {s.authority_url}: {exc}") from None
            except requests.HTTPError as exc:
                raise TransientError(self.system, f"Entra ID discovery failed at {s.authority_url}: {exc}") from None
            return self._app

    def _refused(self, result: dict[str, Any]) -> AuthFailed:
        """Entra's refusal, named by the key a person must fix."""
        codes = set(result.get("error_codes") or [])
        error = str(result.get("error", "error"))
        description = str(result.get("error_description", "")).split(" Trace ID:")[0]
        if codes & {7000215, 7000222}:
            key = "client_secret"  # wrong or expired secret
        elif codes & {700027, 700024, 700021, 50012}:
            key = "certificate_path" if self.settings.certificate_path is not None else "certificate_pem"
        elif codes & {700016, 7000218}:
            key = "client_id"
        elif codes & {90002}:
            key = "tenant_id"
        elif error == "invalid_scope" or codes & {1002012, 500011}:
            key = "scope"
        else:
            key = "client_id"
        return AuthFailed(self.system, f"{self.key_prefix}.{key}: Entra ID refused the token request for "
                                       f"{self.scope} ({error}): {description}")
