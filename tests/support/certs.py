"""Real X.509 certificates for the TLS tests, made with `cryptography` at test time.

`issue()` makes a certificate with the validity, key and signature hash a test needs. Current
`cryptography` refuses to sign with SHA-1 or MD5, as it should; old CAs did, so for those the
to-be-signed part is signed here with the primitive RSA signature and assembled in DER by hand:
the result is a genuine, verifiable SHA-1 (or MD5) signed certificate.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

# The recorded snapshot's collected_at: certificate validity is judged against it.
SCAN = datetime(2026, 11, 23, 14, 32, 32, tzinfo=timezone.utc)
_SHA256_RSA = bytes.fromhex("2a864886f70d01010b")  # OID 1.2.840.113549.1.1.11
_LEGACY_RSA = {"sha1": bytes.fromhex("2a864886f70d010105"), "md5": bytes.fromhex("2a864886f70d010104")}


@cache
def rsa_key(bits: int = 2048, n: int = 0) -> rsa.RSAPrivateKey:
    """An RSA key per (size, n), made once per test session (2048-bit keys take a while)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@cache
def ec_key(curve: str = "secp256r1", n: int = 0) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(getattr(ec, curve.upper())())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def issue(
    cn: str,
    *,
    key=None,
    issuer: tuple[str, rsa.RSAPrivateKey] | None = None,
    days_left: float = 365,
    days_valid: float = 730,
    hash_name: str = "sha256",
) -> x509.Certificate:
    """A certificate for `cn` expiring `days_left` days after SCAN (negative: already expired).

    Self-signed unless `issuer` (its CN and RSA key) is given; `hash_name` sha1/md5 need an RSA issuer.
    """
    key = key or ec_key()
    issuer_cn, issuer_key = issuer or (cn, key)
    not_after = SCAN + timedelta(days=days_left)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(issuer_cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - timedelta(days=days_valid))
        .not_valid_after(not_after)
    )
    if hash_name == "sha256":
        return builder.sign(issuer_key, hashes.SHA256())
    return _legacy_signed(builder.sign(issuer_key, hashes.SHA256()), issuer_key, hash_name)


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + body


def _legacy_signed(cert: x509.Certificate, issuer_key: rsa.RSAPrivateKey, hash_name: str) -> x509.Certificate:
    """`cert` re-signed with sha1WithRSAEncryption or md5WithRSAEncryption."""
    oid = _LEGACY_RSA[hash_name]
    tbs = cert.tbs_certificate_bytes
    assert tbs.count(_SHA256_RSA) == 1, "the signature algorithm must appear once in the TBS"
    tbs = tbs.replace(_SHA256_RSA, oid)  # same length: no DER length changes
    signature = issuer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA1() if hash_name == "sha1" else hashes.MD5())
    algorithm = _der(0x30, _der(0x06, oid) + b"\x05\x00")
    return x509.load_der_x509_certificate(_der(0x30, tbs + algorithm + _der(0x03, b"\x00" + signature)))


def pem(*certs: x509.Certificate) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)


def key_pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
