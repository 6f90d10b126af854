"""The certificate of an OAuth 2.0 client credentials (M2M) mapping, and key pairs to make one.

An administrator maps the integration to a certificate (Setup > Integration > Manage
Authentication > OAuth 2.0 Client Credentials (M2M) Setup). NetSuite's certificate conditions:
RSA keys of 3072 or 4096 bits, EC keys of 256, 384 or 521 bits. The assertion must be signed
with PS256/PS384/PS512 (RSA-PSS) or ES256/ES384/ES512 (ECDSA on P-256, P-384, P-521: the curve
fixes the hash). The sandbox takes the certificate or its bare public key (PEM), and refuses a key
NetSuite would refuse at upload.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

MappedKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
ALGORITHMS = ("PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
RSA_SIZES = (3072, 4096)
_CURVES: dict[str, type[ec.EllipticCurve]] = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}


def generate_keypair(algorithm: str = "ES256") -> tuple[str, str]:
    """A fresh (private PKCS#8 PEM, public SubjectPublicKeyInfo PEM) pair NetSuite would accept."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"NetSuite signs client assertions with one of {', '.join(ALGORITHMS)}, not {algorithm}")
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if algorithm.startswith("PS"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_SIZES[0])
    else:
        private = ec.generate_private_key(_CURVES[algorithm]())
    private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode("ascii")
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    return private_pem, public_pem


def mapped_key(pem: str) -> MappedKey:
    """The public key of an uploaded certificate (or bare public key); ValueError where NetSuite refuses it."""
    data = pem.encode("ascii")
    key = (x509.load_pem_x509_certificate(data).public_key() if b"BEGIN CERTIFICATE" in data
           else serialization.load_pem_public_key(data))
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size not in RSA_SIZES:
            raise ValueError(f"NetSuite accepts RSA keys of 3072 or 4096 bits for M2M certificates; this one has "
                             f"{key.key_size}")
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.key_size not in (256, 384, 521):
            raise ValueError(f"NetSuite accepts EC keys of 256, 384 or 521 bits; this one has {key.curve.key_size}")
        return key
    raise ValueError(f"NetSuite accepts RSA or EC keys for M2M certificates, not {type(key).__name__}")


def signs_with(key: MappedKey, algorithm: str) -> bool:
    """Whether an assertion signed with `algorithm` can be checked against this certificate's key."""
    if algorithm.startswith("PS"):
        return isinstance(key, rsa.RSAPublicKey)
    curve = _CURVES.get(algorithm)
    return curve is not None and isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, curve)
