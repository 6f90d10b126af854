"""OAuth 2.0 client credentials (machine to machine) for NetSuite: the signed client assertion.

NetSuite's M2M flow has no client secret on the wire. The integration record is mapped to a
certificate; q2c signs a short JWT with the matching private key (PS256 on RSA keys of 3072 or
4096 bits, ES256/ES384/ES512 on P-256/P-384/P-521 keys: Oracle's "Certificate Conditions"),
with `kid` = the certificate id, `iss` = the client id and `aud` = the token URL,
and trades it for a bearer token that lives about an hour.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

SigningAlgorithm = Literal["PS256", "ES256", "ES384", "ES512"]
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 3599  # NetSuite wants exp less than 60 minutes after iat


def generate_m2m_keypair(algorithm: SigningAlgorithm = "ES256") -> tuple[str, str]:
    """A fresh (private PEM, public PEM) pair for the demo and tests.

    In a real account the public half goes into the certificate uploaded under
    Setup > Integration > OAuth 2.0 Client Credentials Setup.
    """
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if algorithm == "PS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    else:
        private = ec.generate_private_key(ec.SECP256R1())
    private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode("ascii")
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    return private_pem, public_pem


_CURVES: dict[str, SigningAlgorithm] = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
RSA_KEY_SIZES = (3072, 4096)


def signing_algorithm(private_key_pem: str) -> SigningAlgorithm:
    """PS256 for an RSA key, ES256/384/512 for a P-256/384/521 key; anything else NetSuite will not accept."""
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode("ascii"), password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"the NetSuite private key is not a readable unencrypted PEM key: {exc}") from exc
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size not in RSA_KEY_SIZES:
            raise ValueError(f"the NetSuite private key is RSA of {key.key_size} bits; NetSuite accepts RSA keys "
                             "of 3072 or 4096 bits for M2M certificates")
        return "PS256"
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _CURVES:
        return _CURVES[key.curve.name]
    raise ValueError("the NetSuite private key must be RSA of 3072 or 4096 bits (PS256) or EC P-256, P-384 or "
                     "P-521 (ES256, ES384, ES512)")


def client_assertion(*, client_id: str, certificate_id: str, private_key_pem: str, token_url: str,
                     scope: str, now: float | None = None, lifetime_seconds: int = 300) -> str:
    """The signed JWT that the token endpoint trades for an access token."""
    if not 0 < lifetime_seconds <= MAX_ASSERTION_LIFETIME:
        raise ValueError(f"assertion lifetime must be 1..{MAX_ASSERTION_LIFETIME} seconds")
    issued = int(time.time() if now is None else now)
    claims = {"iss": client_id, "scope": scope, "aud": token_url, "iat": issued,
              "exp": issued + lifetime_seconds, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, private_key_pem, algorithm=signing_algorithm(private_key_pem),
                      headers={"kid": certificate_id, "typ": "JWT"})


@dataclass
class AccessToken:
    value: str
    expires_at: float  # monotonic clock, refresh margin already taken off


class TokenCache:
    """Holds the bearer token; hands out a fresh one before expiry, and once more after a 401.

    `fetch` returns (access_token, expires_in seconds). One thread fetches at a time; the others
    wait and reuse its result, so a burst of workers never asks for a pile of tokens.
    """

    def __init__(self, fetch: Callable[[], tuple[str, float]], *, refresh_margin: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._token: AccessToken | None = None
        self.fetches = 0

    def get(self) -> str:
        with self._lock:
            token = self._token
            if token is None or self._clock() >= token.expires_at:
                value, expires_in = self._fetch()
                self.fetches += 1
                lifetime = max(float(expires_in), 0.0)
                # refresh a little early: a minute on an hour-long token, a tenth on a short one
                token = AccessToken(value, self._clock() + lifetime - min(self._margin, lifetime / 10))
                self._token = token
            return token.value

    def invalidate(self, rejected: str) -> None:
        """Drop the token the vendor refused (if nobody has replaced it meanwhile)."""
        with self._lock:
            if self._token is not None and self._token.value == rejected:
                self._token = None
