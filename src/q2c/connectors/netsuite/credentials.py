"""How each request to the account says who q2c is: a bearer token (M2M) or a signature (TBA).

Both attach the Authorization header as httpx sends the request (`httpx.Auth`), so the request the
HTTP layer sends again after a 5xx or a throttle answer carries a header made for it: a TBA nonce is
never reused. After a 401 a bearer token is dropped and one fresh token is tried; a signature is
made fresh for every request anyway, so a 401 to it is final. `LoginRefused` carries what NetSuite
said (status, error code, its clock) for the doctor, which has to tell the causes apart.
"""

from __future__ import annotations

import email.utils
from collections.abc import Generator
from typing import Literal, Protocol

import httpx

from q2c.connectors.netsuite.auth import TokenCache
from q2c.connectors.netsuite.tba import TokenCredentials, TokenSignature
from q2c.engine.errors import AuthFailed

Surface = Literal["rest", "restlet"]


class LoginRefused(AuthFailed):
    """NetSuite answered 401 to a signed-in request: which surface, its error code, and its clock then."""

    def __init__(self, system: str, message: str, *, surface: Surface, code: str | None,
                 server_time: float | None) -> None:
        super().__init__(system, message)
        self.surface = surface
        self.code = code
        self.server_time = server_time


def server_time(response: httpx.Response) -> float | None:
    """The answer's Date header as epoch seconds (RFC 9110 section 6.6.1), if it has a readable one."""
    try:
        return email.utils.parsedate_to_datetime(response.headers["Date"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return None


class Login(Protocol):
    method: Literal["m2m", "tba"]

    def auth(self) -> httpx.Auth: ...

    def refused(self, auth: httpx.Auth) -> bool:
        """After a 401: whether a fresh credential is worth one more try."""


class _Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


class BearerLogin:
    """OAuth 2.0 client credentials: the cached access token, fetched again after a 401."""

    method: Literal["m2m", "tba"] = "m2m"

    def __init__(self, tokens: TokenCache) -> None:
        self.tokens = tokens

    def auth(self) -> httpx.Auth:
        return _Bearer(self.tokens.get())

    def refused(self, auth: httpx.Auth) -> bool:
        if isinstance(auth, _Bearer):
            self.tokens.invalidate(auth.token)
        return True


class SignatureLogin:
    """Token-based authentication: every request signed; nothing to refresh."""

    method: Literal["m2m", "tba"] = "tba"

    def __init__(self, credentials: TokenCredentials) -> None:
        self._auth = TokenSignature(credentials)

    def auth(self) -> httpx.Auth:
        return self._auth

    def refused(self, auth: httpx.Auth) -> bool:
        return False
