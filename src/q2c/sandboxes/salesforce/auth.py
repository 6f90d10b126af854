"""OAuth 2.0 for server-to-server clients: the token endpoint, revocation, and bearer sessions.

`POST /services/oauth2/token` (form-encoded) honours two grants:
- `client_credentials`, the connected app's consumer key and secret sent as HTTP Basic (or as
  form fields client_id/client_secret); the session runs as the app's integration user;
- `urn:ietf:params:oauth:grant-type:jwt-bearer` with an RS256 `assertion` whose `iss` is the
  consumer key, `sub` the username, `aud` the login host, `exp` in the future, signed with the key
  of the certificate uploaded to the connected app.
A grant answers {access_token, instance_url, id, token_type: Bearer, issued_at, signature, scope}
(no refresh token); a refusal is 400 {error, error_description} (invalid_client_id, invalid_client,
invalid_grant, unsupported_grant_type). Data calls then send `Authorization: Bearer <token>`.

Which host the token request reached matters. The client credentials flow is served on the org's
own domain, its My Domain (Salesforce Help, "OAuth 2.0 Client Credentials Flow for Server-to-Server
Integration", and its sample request `POST https://org_domain/services/oauth2/token` in "Sample
Request and Response for Access Token"; simple-salesforce's login.py uses the flow only with a My
Domain). The generic login servers login.salesforce.com and test.salesforce.com answer it with 400
{"error": "invalid_grant", "error_description": "request not supported on this domain"}: that answer
is observed, not documented (pozil/pub-sub-api-node-client#58, with test.salesforce.com; the fix
was the org's own domain). The JWT bearer flow is documented on login.salesforce.com and
test.salesforce.com as well as My Domain (Help, "OAuth 2.0 JWT Bearer Flow for Server-to-Server
Integration"), and its answer's instance_url is the org's, whichever host was asked.

The sandbox tells the hosts apart by the request's Host header, which a real client fills from the
URL it was given: `login.salesforce.com` or `test.salesforce.com` (any case, any port) is a generic
login server; any other Host (loopback, or the My Domain host that a test's transport keeps while
delivering to loopback) is the org's own domain.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import jwt
from fastapi import Request
from starlette.responses import JSONResponse, Response

from q2c.sandboxes.salesforce.ids import IdMint

if TYPE_CHECKING:
    from q2c.sandboxes.salesforce.org import SalesforceOrg

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
INTEGRATION_USER = "integration@q2c-sandbox.example"
GENERIC_LOGIN_HOSTS = frozenset({"login.salesforce.com", "test.salesforce.com"})


def generic_login_host(request: Request) -> bool:
    """Whether the request reached login.salesforce.com or test.salesforce.com rather than the org's domain."""
    host = request.headers.get("host", "").strip().lower()
    if host.startswith("["):  # an IPv6 literal is never a login server
        return False
    return host.rsplit(":", 1)[0].rstrip(".") in GENERIC_LOGIN_HOSTS


@dataclass
class Session:
    token: str
    user_id: str
    username: str
    issued_at: datetime


class Sessions:
    """The org's users (by username) and live access tokens. Not locked: the org locks."""

    def __init__(self, ids: IdMint, org_id: str, clock: Callable[[], datetime]) -> None:
        self._ids = ids
        self._org_id = org_id
        self._clock = clock
        self._users: dict[str, str] = {}
        self._live: dict[str, Session] = {}

    def user_id(self, username: str) -> str:
        if username not in self._users:
            self._users[username] = self._ids.new("005")
        return self._users[username]

    def open(self, username: str) -> Session:
        token = f"{self._org_id[:15]}!{secrets.token_urlsafe(48)}"
        session = Session(token, self.user_id(username), username, self._clock())
        self._live[token] = session
        return session

    def get(self, token: str) -> Session | None:
        return self._live.get(token)

    def revoke(self, token: str) -> None:
        self._live.pop(token, None)

    def revoke_all(self) -> None:
        self._live.clear()


def bearer(request: Request) -> str | None:
    """The access token of `Authorization: Bearer …` (Salesforce also takes the older `OAuth …`)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() not in {"bearer", "oauth"}:
        return None
    return token.strip() or None


def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


async def _form(request: Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}


class TokenEndpoint:
    """The connected app's side of OAuth: which credentials it accepts, and the grants it answers."""

    def __init__(self, org: SalesforceOrg, *, client_id: str, client_secret: str, jwt_public_key_pem: str | None,
                 jwt_audiences: tuple[str, ...], instance_url: str | None) -> None:
        self.org = org
        self.client_id = client_id
        self.client_secret = client_secret
        self.jwt_public_key_pem = jwt_public_key_pem
        self.jwt_audiences = jwt_audiences
        self.instance_url = instance_url.rstrip("/") if instance_url else None

    def base_url(self, request: Request) -> str:
        """The instance URL: as configured, else the URL the request arrived on, except that a request to a
        generic login server gets the address this sandbox listens on (the org's own host)."""
        if self.instance_url:
            return self.instance_url
        server = request.scope.get("server")
        if generic_login_host(request) and server:
            host, port = server
            return f"{request.url.scheme}://{host}:{port}" if port else f"{request.url.scheme}://{host}"
        return str(request.base_url).rstrip("/")

    async def token(self, request: Request) -> Response:
        form = await _form(request)
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            return self._client_credentials(request, form)
        if grant == JWT_BEARER:
            return self._jwt_bearer(request, form)
        return oauth_error("unsupported_grant_type", "grant type not supported")

    async def revoke(self, request: Request) -> Response:
        token = (await _form(request)).get("token") or request.query_params.get("token")
        if not token or self.org.session(token) is None:
            return oauth_error("unsupported_token_type", "this token type is not supported")
        self.org.revoke(token)
        return Response(status_code=200)

    def _client_credentials(self, request: Request, form: dict[str, str]) -> Response:
        if generic_login_host(request):
            return oauth_error("invalid_grant", "request not supported on this domain")
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, client_secret = base64.b64decode(encoded).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return oauth_error("invalid_client", "invalid client credentials")
        if client_id != self.client_id:
            return oauth_error("invalid_client_id", "client identifier invalid")
        if not client_secret or not hmac.compare_digest(client_secret, self.client_secret):
            return oauth_error("invalid_client", "invalid client credentials")
        return self._grant(request, INTEGRATION_USER)

    def _jwt_bearer(self, request: Request, form: dict[str, str]) -> Response:
        assertion = form.get("assertion", "")
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            return oauth_error("invalid_grant", "invalid assertion")
        if unverified.get("iss") != self.client_id:
            return oauth_error("invalid_client_id", "client identifier invalid")
        if self.jwt_public_key_pem is None:
            return oauth_error("invalid_grant", "invalid assertion: no certificate is configured for this "
                                                "connected app")
        try:
            claims = jwt.decode(assertion, self.jwt_public_key_pem, algorithms=["RS256"],
                                audience=list(self.jwt_audiences), options={"require": ["iss", "sub", "aud", "exp"]})
        except jwt.ExpiredSignatureError:
            return oauth_error("invalid_grant", "expired authorization code")
        except jwt.InvalidAudienceError:
            return oauth_error("invalid_grant", "audience is invalid")
        except jwt.MissingRequiredClaimError as exc:
            return oauth_error("invalid_grant", f"invalid assertion: missing claim {exc.claim}")
        except jwt.InvalidTokenError:
            return oauth_error("invalid_grant", "invalid assertion")
        username = str(claims["sub"]).strip()
        if not username:
            return oauth_error("invalid_grant", "user hasn't approved this consumer")
        return self._grant(request, username)

    def _grant(self, request: Request, username: str) -> Response:
        session = self.org.open_session(username)
        base = self.base_url(request)
        issued_at = str(int(time.time() * 1000))
        identity = f"{base}/id/{self.org.org_id}/{session.user_id}"
        signature = base64.b64encode(hmac.new(self.client_secret.encode(), (identity + issued_at).encode(),
                                              hashlib.sha256).digest()).decode()
        return JSONResponse({"access_token": session.token, "instance_url": base, "id": identity,
                             "token_type": "Bearer", "issued_at": issued_at, "signature": signature,
                             "scope": "api"})
