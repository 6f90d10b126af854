"""Token-based authentication (OAuth 1.0a) as NetSuite checks a request, written from RFC 5849 alone.

NetSuite's profile ("The Signature for Web Services and RESTlets", section_1534941088; "The
Authorization Headers", section_1534941295): `Authorization: OAuth realm="<account id>",
oauth_consumer_key, oauth_token, oauth_signature_method="HMAC-SHA256", oauth_timestamp, oauth_nonce,
oauth_version="1.0", oauth_signature`. The realm is the account id in upper case with `_`
(1234567_SB1). HMAC-SHA1 is refused (its support ended with 2023.1). The nonce is an alphanumeric
string of 6 to 64 characters, never used before, and the timestamp is current ("TokenPassport
Complex Type", section_4395630653; "Token-Based Authentication Errors in SOAP Web Services",
section_1509544929); how far off a timestamp may be NetSuite does not say where we looked, so the
sandbox allows 5 minutes either way.

The signature is checked against RFC 5849 section 3.4.1 (base string: method, base URI from the
request as received, sorted percent-encoded parameters of the query and the header minus realm and
signature) and 3.4.2 (HMAC-SHA256 keyed by consumer secret & token secret, base64). This module shares
no code with q2c's connector. Every refusal is the same 401 to the caller; what was wrong goes to the
Login Audit Trail, under the Detail NetSuite's help documents for it where we found one
(MissingTokenPassportRequiredFields, consumer_key_unknown, consumer_key_refused, InvalidSignature),
and a label of the sandbox's own otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, unquote_plus

REQUIRED = ("oauth_consumer_key", "oauth_token", "oauth_signature_method", "oauth_timestamp", "oauth_nonce",
            "oauth_signature")
TIMESTAMP_WINDOW = 300
_NONCE = re.compile(r"[A-Za-z0-9]{6,64}")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_DEFAULT_PORT = {"http": 80, "https": 443}


@dataclass(frozen=True)
class TbaIntegration:
    """The integration record's consumer key and secret, and the access token for q2c's user and role."""

    consumer_key: str
    consumer_secret: str
    token_id: str
    token_secret: str


@dataclass(frozen=True)
class SignedRequest:
    """A request as it arrived: what its signature covers."""

    method: str
    scheme: str
    host: str  # the Host header: name[:port]
    raw_path: bytes
    query: bytes
    authorization: str


class TbaRefusal(Exception):
    """Why a signed request was refused, in the Login Audit Trail's words."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def encode(value: str) -> str:
    """RFC 5849 section 3.6: every UTF-8 byte outside the unreserved set as %XX, upper-case hex."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in value.encode("utf-8"))


def header_parameters(authorization: str) -> dict[str, str]:
    """RFC 5849 section 3.5.1: `OAuth name="value", ...`, values percent-encoded."""
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme.lower() != "oauth":
        raise TbaRefusal("MissingTokenPassportRequiredFields")
    parameters: dict[str, str] = {}
    for part in rest.split(","):
        name, equals, quoted = part.strip().partition("=")
        if not equals or len(quoted) < 2 or not (quoted.startswith('"') and quoted.endswith('"')):
            raise TbaRefusal("MissingTokenPassportRequiredFields")
        if name in parameters:
            raise TbaRefusal("DuplicateParameter")
        parameters[name] = unquote(quoted[1:-1])
    return parameters


def base_string(request: SignedRequest, oauth: Mapping[str, str]) -> str:
    host, _, port = request.host.lower().partition(":")
    scheme = request.scheme.lower()
    authority = host if not port or int(port) == _DEFAULT_PORT.get(scheme) else f"{host}:{port}"
    uri = f"{scheme}://{authority}{request.raw_path.decode('ascii') or '/'}"
    query = [tuple(unquote_plus(side) for side in [*pair.split("=", 1), ""][:2])
             for pair in request.query.decode("ascii").split("&") if pair]
    signed = [(k, v) for k, v in oauth.items() if k not in ("realm", "oauth_signature")]
    pairs = sorted((encode(k), encode(v)) for k, v in [*query, *signed])
    return "&".join((request.method.upper(), encode(uri), encode("&".join(f"{k}={v}" for k, v in pairs))))


def expected_signature(base: str, integration: TbaIntegration) -> str:
    key = f"{encode(integration.consumer_secret)}&{encode(integration.token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base.encode("utf-8"), hashlib.sha256).digest()).decode("ascii")


def verify(request: SignedRequest, *, realm: str, integration: TbaIntegration, seen: dict[str, float],
           now: float) -> None:
    """Raises `TbaRefusal` unless the request is signed as NetSuite requires; records its nonce in `seen`."""
    oauth = header_parameters(request.authorization)
    if any(not oauth.get(name) for name in REQUIRED):
        raise TbaRefusal("MissingTokenPassportRequiredFields")
    if oauth.get("realm") != realm:
        raise TbaRefusal("InvalidAccount")  # the sandbox's label: realm is not this account's id
    if oauth["oauth_signature_method"] != "HMAC-SHA256":
        raise TbaRefusal("UnsupportedSignatureMethod")
    if oauth.get("oauth_version", "1.0") != "1.0":
        raise TbaRefusal("UnsupportedVersion")
    if oauth["oauth_consumer_key"] != integration.consumer_key:
        raise TbaRefusal("consumer_key_unknown")
    if oauth["oauth_token"] != integration.token_id:
        raise TbaRefusal("InvalidToken")
    if not hmac.compare_digest(oauth["oauth_signature"], expected_signature(base_string(request, oauth),
                                                                            integration)):
        raise TbaRefusal("InvalidSignature")
    timestamp = oauth["oauth_timestamp"]
    if not timestamp.isdigit() or abs(int(timestamp) - now) > TIMESTAMP_WINDOW:
        raise TbaRefusal("InvalidTimestamp")
    nonce = oauth["oauth_nonce"]
    if not _NONCE.fullmatch(nonce):
        raise TbaRefusal("InvalidNonce")
    for old in [n for n, at in seen.items() if at < now - 2 * TIMESTAMP_WINDOW]:
        del seen[old]  # a nonce that old comes with a timestamp refused anyway
    if nonce in seen:
        raise TbaRefusal("UsedNonce")
    seen[nonce] = now
