"""Token-based authentication (TBA): every request signed with OAuth 1.0a, HMAC-SHA256, as NetSuite wants it.

NetSuite's profile of RFC 5849 ("The Signature for Web Services and RESTlets", section_1534941088,
and "The Authorization Headers", section_1534941295, NetSuite Help Center):

    Authorization: OAuth realm="1234567_SB1", oauth_consumer_key="...", oauth_token="...",
        oauth_signature_method="HMAC-SHA256", oauth_timestamp="...", oauth_nonce="...",
        oauth_version="1.0", oauth_signature="..."

The signature is HMAC-SHA256 (support for HMAC-SHA1 ended with 2023.1) over the base string of RFC
5849 section 3.4.1: the method, the URL without its query (scheme and host in lower case, the port only
when it is not the scheme's default), and the sorted, percent-encoded parameters: every `oauth_*`
value but the signature, plus the query string's (a RESTlet's `script` and `deploy` among them). A
JSON body is not part of it; `realm` is not either. The key is the consumer secret and the token
secret, percent-encoded, joined by `&`. Each request needs a nonce never used before and a current
timestamp, so a request sent again is signed again: `TokenSignature` is an `httpx.Auth`, which httpx
runs for every attempt.

Written out here instead of using oauthlib: it is forty lines of the RFC against a new runtime
dependency (oauthlib is only a test dependency), and the tests hold it to oauthlib's signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import urllib.parse
from collections.abc import Generator, Iterable
from dataclasses import dataclass

import httpx

SIGNATURE_METHOD = "HMAC-SHA256"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def now() -> float:
    """The clock the timestamps come from (one place, so a test can set this machine's clock wrong)."""
    return time.time()


def percent(value: str) -> str:
    """RFC 5849 section 3.6: UTF-8, and every byte but the unreserved characters percent-encoded."""
    return urllib.parse.quote(value, safe="-._~")


def base_string_uri(url: httpx.URL) -> str:
    port = url.port if url.port not in (None, _DEFAULT_PORTS.get(url.scheme)) else None
    path = url.raw_path.split(b"?", 1)[0].decode("ascii") or "/"
    return f"{url.scheme.lower()}://{url.host.lower()}{f':{port}' if port else ''}{path}"


def base_string(method: str, url: httpx.URL, oauth: Iterable[tuple[str, str]]) -> str:
    query = urllib.parse.parse_qsl(url.query.decode("ascii"), keep_blank_values=True)
    pairs = sorted((percent(k), percent(v)) for k, v in [*query, *oauth])
    normalized = "&".join(f"{k}={v}" for k, v in pairs)
    return "&".join((method.upper(), percent(base_string_uri(url)), percent(normalized)))


def sign(base: str, consumer_secret: str, token_secret: str) -> str:
    key = f"{percent(consumer_secret)}&{percent(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base.encode(), hashlib.sha256).digest()).decode("ascii")


@dataclass(frozen=True)
class TokenCredentials:
    """What signs q2c's requests: the integration record's consumer pair and the access token's pair."""

    realm: str
    consumer_key: str
    consumer_secret: str
    token_id: str
    token_secret: str

    def authorization(self, method: str, url: httpx.URL, *, nonce: str | None = None,
                      timestamp: int | None = None) -> str:
        oauth = [("oauth_consumer_key", self.consumer_key), ("oauth_token", self.token_id),
                 ("oauth_signature_method", SIGNATURE_METHOD),
                 ("oauth_timestamp", str(int(now()) if timestamp is None else timestamp)),
                 ("oauth_nonce", secrets.token_hex(10) if nonce is None else nonce), ("oauth_version", "1.0")]
        signature = sign(base_string(method, url, oauth), self.consumer_secret, self.token_secret)
        fields = [f'realm="{self.realm}"', *(f'{k}="{percent(v)}"' for k, v in oauth),
                  f'oauth_signature="{percent(signature)}"']
        return "OAuth " + ", ".join(fields)


class TokenSignature(httpx.Auth):
    """Signs each request as it is sent, with a fresh nonce and timestamp."""

    def __init__(self, credentials: TokenCredentials) -> None:
        self.credentials = credentials

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self.credentials.authorization(request.method, request.url)
        yield request
