"""Microsoft Entra ID as the Microsoft sandboxes need it: the client credentials grant and the documents msal reads.

Dynamics 365 Sales and Business Central both take Entra ID access tokens, so both sandboxes mount this
router on their own host (msal's authority is then `https://127.0.0.1:PORT/{tenant}`) and check each
API call's bearer token with `EntraTenant.authenticate`.

Documented (Microsoft identity platform, "OAuth 2.0 client credentials flow", learn.microsoft.com
/entra/identity-platform/v2-oauth2-client-creds-grant-flow): `POST /{tenant}/oauth2/v2.0/token` with
`grant_type=client_credentials`, `client_id`, `scope=<resource>/.default`, and either `client_secret` or
`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` with a `client_assertion`
signed by the app's certificate (header `x5t` or `x5t#S256`, `aud` the token endpoint, `iss` = `sub` =
the client id; "Microsoft identity platform application authentication certificate credentials").
The answer is `{"token_type": "Bearer", "expires_in", "ext_expires_in", "access_token"}`; an error is
`{"error", "error_description": "AADSTS...", "error_codes", "timestamp", "trace_id", "correlation_id"}`
(the AADSTS codes used here are from Microsoft's error code reference). The OpenID configuration at
`/{tenant}/v2.0/.well-known/openid-configuration` and instance discovery at `/common/discovery/instance`
are what msal reads (observed in msal's `authority.py`). Access tokens are RS256 JWTs whose `aud` is the
resource (the scope without `/.default`), with `tid`, `appid`, `azp`, `oid`, `idtyp: app`.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class EntraApp:
    """An app registration with its service principal (`object_id`, the token's `oid`)."""

    client_id: str
    secret: str | None
    certificate_pem: str | None
    object_id: str


class EntraUnauthorized(Exception):
    """A bearer token the API must refuse, with the reason a Microsoft API gives in its challenge."""

    def __init__(self, reason: str, *, tenant_id: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tenant_id = tenant_id

    def response(self, body: Any = None) -> Response:
        """The 401 answer: `WWW-Authenticate: Bearer ...` and the API's own body (Dataverse sends none)."""
        header = (f'Bearer authorization_uri="https://login.microsoftonline.com/{self.tenant_id}/oauth2/authorize", '
                  f'error="invalid_token", error_description="{self.reason}"')
        if body is None:
            return Response(status_code=401, headers={"WWW-Authenticate": header})
        return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": header})


class EntraTenant:
    """One directory: its apps, its signing key, and the tokens it issued."""

    def __init__(self, tenant_id: str | None = None, *, token_lifetime_seconds: int = 3599) -> None:
        self.tenant_id = tenant_id or str(uuid.uuid4())
        self.token_lifetime_seconds = token_lifetime_seconds
        self.apps: dict[str, EntraApp] = {}
        self.tokens_issued = 0
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = base64.urlsafe_b64encode(hashlib.sha256(self._public_pem().encode()).digest()[:15]).decode()
        self._sequence = itertools.count(1)
        self._valid_from = 0  # tokens numbered below this are expired (`expire_tokens`)
        self._lock = threading.Lock()

    # --- directory ---------------------------------------------------------------------------------
    def register_app(self, client_id: str | None = None, *, secret: str | None = None,
                     certificate_pem: str | None = None) -> EntraApp:
        """An app registration granted the API (in Entra: app registration + admin consent)."""
        if secret is None and certificate_pem is None:
            secret = base64.urlsafe_b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode().rstrip("=")
        if certificate_pem is not None:
            x509.load_pem_x509_certificate(certificate_pem.encode())  # refuse garbage at registration
        app = EntraApp(client_id=client_id or str(uuid.uuid4()), secret=secret, certificate_pem=certificate_pem,
                       object_id=str(uuid.uuid4()))
        self.apps[app.client_id] = app
        return app

    def expire_tokens(self) -> None:
        """Every token issued so far now fails as expired, as after its lifetime."""
        with self._lock:
            self._valid_from = next(self._sequence)

    # --- the API's side ----------------------------------------------------------------------------
    def authenticate(self, authorization: str | None, audience: str) -> dict[str, Any]:
        """The claims of a valid bearer token for `audience`, else `EntraUnauthorized`."""
        if not authorization or not authorization.startswith("Bearer "):
            raise EntraUnauthorized("No bearer token in the Authorization header", tenant_id=self.tenant_id)
        try:
            claims: dict[str, Any] = jwt.decode(
                authorization[len("Bearer "):].strip(), self._key.public_key(), algorithms=["RS256"],
                audience=audience.rstrip("/"), options={"require": ["exp", "aud", "tid", "appid"]})
        except jwt.ExpiredSignatureError:
            raise EntraUnauthorized("The token is expired", tenant_id=self.tenant_id) from None
        except jwt.InvalidAudienceError:
            raise EntraUnauthorized(f"The token's audience is not {audience.rstrip('/')}",
                                    tenant_id=self.tenant_id) from None
        except jwt.PyJWTError as exc:
            raise EntraUnauthorized(f"The token is not valid: {exc}", tenant_id=self.tenant_id) from None
        if int(claims.get("q2c_seq", 0)) < self._valid_from:
            raise EntraUnauthorized("The token is expired", tenant_id=self.tenant_id)
        if claims.get("appid") not in self.apps:
            raise EntraUnauthorized("The token's application is no longer registered", tenant_id=self.tenant_id)
        return claims

    # --- Entra's endpoints -------------------------------------------------------------------------
    def router(self) -> APIRouter:
        router = APIRouter(include_in_schema=False)

        @router.get("/common/discovery/instance")
        async def instance_discovery(request: Request) -> dict[str, Any]:
            host = request.url.netloc
            return {"tenant_discovery_endpoint": f"{_base(request)}/{self.tenant_id}/v2.0/.well-known/"
                                                 "openid-configuration",
                    "api-version": "1.1",
                    "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}]}

        @router.get("/{tenant}/v2.0/.well-known/openid-configuration")
        async def openid_configuration(tenant: str, request: Request) -> Response:
            if tenant not in (self.tenant_id, "common", "organizations"):
                return _error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found. Check to make sure you "
                              "have the correct tenant ID and are signing into the correct cloud.")
            base = f"{_base(request)}/{self.tenant_id}"
            return JSONResponse({
                "issuer": f"{base}/v2.0", "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "jwks_uri": f"{_base(request)}/{self.tenant_id}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                          "client_secret_basic"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "id_token_signing_alg_values_supported": ["RS256"], "tenant_region_scope": "EU",
                "subject_types_supported": ["pairwise"], "scopes_supported": ["openid", "profile", "email",
                                                                              "offline_access"]})

        @router.get("/{tenant}/discovery/v2.0/keys")
        async def keys(tenant: str) -> dict[str, Any]:
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
            return {"keys": [{**jwk, "kid": self._kid, "use": "sig", "kty": "RSA"}]}

        @router.post("/{tenant}/oauth2/v2.0/token")
        async def token(tenant: str, request: Request) -> Response:
            form = {k: v[-1] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
            return self._token(tenant, form, f"{_base(request)}{request.url.path}")

        return router

    def _token(self, tenant: str, form: dict[str, str], endpoint: str) -> Response:
        if tenant != self.tenant_id:
            return _error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found. Check to make sure you "
                          "have the correct tenant ID and are signing into the correct cloud.")
        if form.get("grant_type") != "client_credentials":
            return _error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type "
                          f"'{form.get('grant_type', '')}'.")
        app = self.apps.get(form.get("client_id", ""))
        if app is None:
            return _error(400, "unauthorized_client", 700016, f"Application with identifier "
                          f"'{form.get('client_id', '')}' was not found in the directory '{self.tenant_id}'.")
        refused = self._client_proof(app, form, endpoint)
        if refused is not None:
            return refused
        scope = form.get("scope", "")
        if not scope.endswith("/.default") or " " in scope.strip():
            return _error(400, "invalid_scope", 1002012, f"The provided value for scope {scope} is not valid. "
                          "Client credential flows must have a scope value with /.default suffixed to the "
                          "resource identifier (application ID URI).")
        now = int(time.time())
        with self._lock:
            sequence = next(self._sequence)
            self.tokens_issued += 1
        claims = {"aud": scope[: -len("/.default")].rstrip("/"), "iss": f"https://sts.windows.net/{self.tenant_id}/",
                  "iat": now, "nbf": now, "exp": now + self.token_lifetime_seconds, "appid": app.client_id,
                  "azp": app.client_id, "oid": app.object_id, "sub": app.object_id, "tid": self.tenant_id,
                  "idtyp": "app", "ver": "1.0", "roles": [], "uti": uuid.uuid4().hex[:22], "q2c_seq": sequence}
        token = jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self._kid})
        return JSONResponse({"token_type": "Bearer", "expires_in": self.token_lifetime_seconds,
                             "ext_expires_in": self.token_lifetime_seconds, "access_token": token})

    def _client_proof(self, app: EntraApp, form: dict[str, str], endpoint: str) -> Response | None:
        """None when the request proves it is the app (its secret, or an assertion signed by its certificate)."""
        if "client_assertion" in form:
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                return _error(400, "invalid_request", 50027, "Invalid client_assertion_type: "
                              f"'{form.get('client_assertion_type', '')}'.")
            return self._assertion(app, form["client_assertion"], endpoint)
        if "client_secret" in form:
            if app.secret is not None and form["client_secret"] == app.secret:
                return None
            return _error(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being "
                          "sent in the request is the client secret value, not the client secret ID, for a secret "
                          f"added to app '{app.client_id}'.")
        return _error(401, "invalid_client", 7000218, "The request body must contain the following parameter: "
                      "'client_assertion' or 'client_secret'.")

    def _assertion(self, app: EntraApp, assertion: str, endpoint: str) -> Response | None:
        if app.certificate_pem is None:
            return _error(401, "invalid_client", 700027, "Client assertion failed signature validation: no "
                          f"certificate is registered for app '{app.client_id}'.")
        certificate = x509.load_pem_x509_certificate(app.certificate_pem.encode())
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return _error(401, "invalid_client", 50012, "The client assertion is not a JWT.")
        thumbprints = {"x5t#S256": _thumbprint(certificate, "sha256"), "x5t": _thumbprint(certificate, "sha1")}
        named = [k for k in thumbprints if k in header]
        if not named or any(str(header[k]).rstrip("=") != thumbprints[k] for k in named):
            return _error(401, "invalid_client", 700027, "Client assertion contains an invalid signature. [Reason -"
                          " The key was not found., Thumbprint of key used by client: "
                          f"'{header.get('x5t#S256') or header.get('x5t', '')}']")
        try:
            claims = jwt.decode(assertion, certificate.public_key(), algorithms=["RS256", "PS256"],  # type: ignore[arg-type]
                                audience=endpoint, options={"require": ["exp", "aud", "iss", "sub"]})
        except jwt.InvalidAudienceError:
            return _error(401, "invalid_client", 700024, f"Client assertion audience claim does not match Realm "
                          f"issuer. Expected {endpoint}.")
        except jwt.ExpiredSignatureError:
            return _error(401, "invalid_client", 700024, "Client assertion is not within its valid time range.")
        except jwt.PyJWTError:
            return _error(401, "invalid_client", 700027, "Client assertion contains an invalid signature.")
        if claims["iss"] != app.client_id or claims["sub"] != app.client_id:
            return _error(401, "invalid_client", 700021, "Client assertion application identifier doesn't match "
                          "'client_id' parameter.")
        return None

    def _public_pem(self) -> str:
        return self._key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _thumbprint(certificate: x509.Certificate, algorithm: str) -> str:
    digest = hashlib.new(algorithm, certificate.public_bytes(serialization.Encoding.DER)).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _error(status: int, error: str, code: int, description: str) -> JSONResponse:
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return JSONResponse({"error": error, "error_description": f"AADSTS{code}: {description} Trace ID: {trace} "
                                                              f"Correlation ID: {correlation} Timestamp: {stamp}",
                         "error_codes": [code], "timestamp": stamp, "trace_id": trace,
                         "correlation_id": correlation, "error_uri": f"https://login.microsoftonline.com/error?code={code}"},
                        status_code=status)
