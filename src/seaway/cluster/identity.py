"""Cluster identity: IDs, the cluster CA, node certificates and join tokens. Pure
computation on bytes (no files, no network); the callers store what it makes.

* IDs are 128 random bits in base 36, zero-padded to 25 characters (swarmkit's form,
  the ``[0-9a-z]{25}`` of ``docker node ls``).
* The root CA is ECDSA P-256, valid 20 years. A node certificate has CN = node ID,
  OU = ``swarm-manager`` or ``swarm-worker``, O = cluster ID, the node's addresses as
  IP SANs (etcd peers check them) and lives 90 days. Keys are made where they are used:
  a joining node sends a CSR, never its key.
* A join token is ``SWMTKN-1-<digest>-<secret>``: the digest is the SHA-256 of the
  CA certificate (PEM) in base 36, 50 characters; the secret 128 random bits in base 36,
  25 characters; one secret per role.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from seaway.errors import InvalidParameter

ROLES = ("worker", "manager")
OU = {"manager": "swarm-manager", "worker": "swarm-worker"}
CA_LIFETIME = datetime.timedelta(days=20 * 365)
NODE_CERT_LIFETIME = datetime.timedelta(days=90)
TOKEN_PREFIX = "SWMTKN-1-"
TOKEN_RE = re.compile(r"^SWMTKN-1-([0-9a-z]{50})-([0-9a-z]{25})$")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36(number: int, width: int) -> str:
    out = ""
    while number:
        number, digit = divmod(number, 36)
        out = _DIGITS[digit] + out
    return out.rjust(width, "0")


def new_id() -> str:
    """A node or cluster ID: 128 random bits, base 36, 25 characters."""
    return base36(secrets.randbits(128), 25)


def new_secret() -> str:
    return base36(secrets.randbits(128), 25)


def ca_digest(ca_pem: bytes) -> str:
    """The token's digest of a CA certificate: SHA-256 in base 36, 50 characters."""
    return base36(int.from_bytes(hashlib.sha256(ca_pem).digest(), "big"), 50)


def digest_hex(digest36: str) -> str:
    """A base-36 token digest as hex (how Docker's error messages show it)."""
    return f"{int(digest36, 36):064x}"


@dataclass(frozen=True, slots=True)
class JoinToken:
    digest: str
    secret: str

    def __str__(self) -> str:
        return f"{TOKEN_PREFIX}{self.digest}-{self.secret}"


def parse_token(text: str) -> JoinToken:
    """A join token's parts; Docker's text for one that is malformed."""
    m = TOKEN_RE.match(text.strip())
    if not m:
        raise InvalidParameter("invalid join token")
    return JoinToken(m.group(1), m.group(2))


def secret_matches(given: str, expected: str) -> bool:
    """Constant-time comparison of token secrets."""
    return hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True, slots=True)
class KeyPair:
    cert_pem: bytes
    key_pem: bytes


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def new_ca(cluster_id: str) -> KeyPair:
    """A root CA for a new cluster (ECDSA P-256, 20 years)."""
    key = new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "swarm-ca")])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), key_pem(key))


def new_csr(key: ec.EllipticCurvePrivateKey) -> bytes:
    """A certificate request for ``key`` (the subject is the CA's to decide)."""
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def sign_node(ca: KeyPair, csr_pem: bytes, node_id: str, role: str, cluster_id: str, addresses: list[str]) -> bytes:
    """A node certificate (PEM) for the key in ``csr_pem``: CN node ID, OU role, O cluster."""
    if role not in ROLES:
        raise InvalidParameter(f"invalid role {role!r}: expected worker or manager")
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError as exc:
        raise InvalidParameter(f"invalid certificate request: {exc}") from None
    if not csr.is_signature_valid:
        raise InvalidParameter("invalid certificate request: bad signature")
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, node_id),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, OU[role]),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, cluster_id),
    ])  # fmt: skip
    sans: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.DNSName(node_id)]
    sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in sorted(set(addresses) | {"127.0.0.1"})]
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + NODE_CERT_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True, slots=True)
class CertInfo:
    node_id: str
    role: str
    cluster_id: str
    not_after: datetime.datetime


def read_cert(cert_pem: bytes) -> CertInfo:
    """What a node certificate says: node ID, role, cluster, expiry."""
    cert = x509.load_pem_x509_certificate(cert_pem)

    def attr(oid: x509.ObjectIdentifier) -> str:
        values = cert.subject.get_attributes_for_oid(oid)
        return str(values[0].value) if values else ""

    ou = attr(NameOID.ORGANIZATIONAL_UNIT_NAME)
    role = next((r for r, name in OU.items() if name == ou), "")
    return CertInfo(attr(NameOID.COMMON_NAME), role, attr(NameOID.ORGANIZATION_NAME), cert.not_valid_after_utc)


def needs_renewal(info: CertInfo, fraction: float) -> bool:
    """The certificate has passed ``fraction`` of its life (swarmkit renews between 50 and 80 %)."""
    start = info.not_after - NODE_CERT_LIFETIME
    return _now() >= start + NODE_CERT_LIFETIME * fraction
