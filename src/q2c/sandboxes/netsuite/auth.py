"""OAuth 2.0 client credentials (M2M): the token endpoint's checks, and the bearer check on every call.

The client posts a form (`application/x-www-form-urlencoded`): `grant_type=client_credentials`,
`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and a signed JWT
(RFC 7523) as `client_assertion`. NetSuite documents the JWT: header `typ` JWT, `alg` one of
PS256/PS384/PS512/ES256/ES384/ES512, `kid` the certificate id of the mapping; claims `iss` the
integration's client id, `scope` one or more of restlets, rest_webservices, suite_analytics
(comma-separated; its own example sends a JSON list), `aud` the token endpoint URL, `iat`, and
`exp` less than 60 minutes after `iat`. The answer is `{"access_token", "expires_in": "3600",
"token_type": "Bearer"}` (NetSuite's example writes expires_in as a string); the token is then
sent as `Authorization: Bearer`.

NetSuite's refusals say little (details go to the Login Audit Trail); the OAuth error codes and
statuses here follow RFC 6749 section 5.2, with descriptions that name the claim at fault.
"""

from __future__ import annotations

import secrets
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from q2c.sandboxes.netsuite.keys import ALGORITHMS, MappedKey, signs_with
from q2c.sandboxes.netsuite.state import NetSuiteState

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALLOWED_ALGORITHMS = ALGORITHMS
SCOPES = frozenset({"restlets", "rest_webservices", "suite_analytics"})
MAX_ASSERTION_LIFETIME = 3600  # exp must be less than this many seconds after iat
TOKEN_LIFETIME = 3600  # NetSuite's access tokens are valid for 60 minutes


@dataclass(frozen=True)
class M2MMapping:
    """One row of the OAuth 2.0 Client Credentials (M2M) Setup: integration, certificate id, its key."""

    client_id: str
    certificate_id: str
    key: MappedKey


class TokenRefusal(Exception):
    """The token endpoint's refusal: HTTP status, OAuth error code, description."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description


def canonical_token_url(account_id: str) -> str:
    """`1234567_SB1` -> https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token."""
    return f"https://{account_id.lower().replace('_', '-')}.suitetalk.api.netsuite.com{TOKEN_PATH}"


def read_form(content_type: str, body: bytes) -> dict[str, str]:
    if not content_type.lower().startswith("application/x-www-form-urlencoded"):
        raise TokenRefusal(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded.")
    return dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))


def check_token_request(form: Mapping[str, str], mapping: M2MMapping, audiences: Sequence[str]) -> frozenset[str]:
    """The scopes granted; raises `TokenRefusal` unless the form carries an assertion NetSuite would trade."""
    if form.get("grant_type") != "client_credentials":
        raise TokenRefusal(400, "unsupported_grant_type", "grant_type must be client_credentials.")
    if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
        raise TokenRefusal(400, "invalid_request", f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}.")
    assertion = form.get("client_assertion", "")
    algorithm = _checked_header(assertion, mapping)
    claims = _verified_claims(assertion, algorithm, mapping, audiences)
    return _check_claims(claims, mapping)


def _checked_header(assertion: str, mapping: M2MMapping) -> str:
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise TokenRefusal(400, "invalid_request", "client_assertion is not a JWT.") from None
    if str(header.get("typ", "JWT")).upper() != "JWT":
        raise TokenRefusal(400, "invalid_request", "typ must be JWT.")
    algorithm = header.get("alg")
    if algorithm not in ALLOWED_ALGORITHMS:
        raise TokenRefusal(400, "invalid_request", f"alg must be one of {', '.join(ALLOWED_ALGORITHMS)}.")
    if header.get("kid") != mapping.certificate_id:
        raise TokenRefusal(401, "invalid_client", "No certificate is mapped to this kid for the integration.")
    if not signs_with(mapping.key, str(algorithm)):
        raise TokenRefusal(401, "invalid_client", f"The assertion signature does not match the certificate "
                                                  f"({algorithm} cannot be checked with its key).")
    return str(algorithm)


def _verified_claims(assertion: str, algorithm: str, mapping: M2MMapping, audiences: Sequence[str]
                     ) -> dict[str, Any]:
    try:
        return jwt.decode(assertion, mapping.key, algorithms=[algorithm], audience=list(audiences),
                          options={"require": ["iss", "scope", "aud", "iat", "exp"]})
    except jwt.ExpiredSignatureError:
        raise TokenRefusal(400, "invalid_grant", "The client assertion has expired.") from None
    except jwt.InvalidAudienceError:
        raise TokenRefusal(400, "invalid_grant", "aud must be the token endpoint URL.") from None
    except jwt.InvalidSignatureError:
        raise TokenRefusal(401, "invalid_client", "The assertion signature does not match the certificate.") from None
    except jwt.PyJWTError as exc:
        raise TokenRefusal(400, "invalid_grant", f"Invalid client assertion: {exc}.") from None


def _check_claims(claims: Mapping[str, Any], mapping: M2MMapping) -> frozenset[str]:
    if claims.get("iss") != mapping.client_id:
        raise TokenRefusal(401, "invalid_client", "iss is not the client id of an integration record.")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int | float) or not isinstance(exp, int | float) or exp - iat >= MAX_ASSERTION_LIFETIME:
        raise TokenRefusal(400, "invalid_grant", "exp must be less than 60 minutes after iat.")
    scopes = _scopes(claims.get("scope"))
    if not scopes or not scopes <= SCOPES:
        raise TokenRefusal(400, "invalid_scope", f"scope must be one or more of {', '.join(sorted(SCOPES))}, "
                                                 "separated by commas.")
    return frozenset(scopes)


def _scopes(raw: Any) -> set[str]:
    parts = raw if isinstance(raw, list) else str(raw).split(",")
    return {str(part).strip() for part in parts if str(part).strip()}


def grant(state: NetSuiteState, *, now: float, scopes: frozenset[str], lifetime: int = TOKEN_LIFETIME
          ) -> dict[str, str]:
    """A fresh access token, remembered by the account (with its scopes) until it expires."""
    access = secrets.token_urlsafe(32)
    state.tokens[access] = now + lifetime
    state.token_scopes[access] = scopes
    state.token_grants += 1
    return {"access_token": access, "expires_in": str(lifetime), "token_type": "Bearer"}


def bearer_scopes(state: NetSuiteState, authorization: str, *, now: float) -> frozenset[str] | None:
    """The scopes of `Authorization: Bearer <token>` if this account issued the token and it has not expired."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    expiry = state.tokens.get(token) if scheme.lower() == "bearer" else None
    return state.token_scopes.get(token, frozenset()) if expiry is not None and expiry > now else None
