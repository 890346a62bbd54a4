"""Cluster identity: IDs, tokens, the CA and node certificates (pure, no kernel)."""

from __future__ import annotations

import hashlib
import re

import pytest
from cryptography import x509

from seaway.cluster import identity
from seaway.errors import InvalidParameter


def test_ids_and_secrets_are_25_base36_characters() -> None:
    ids = {identity.new_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[0-9a-z]{25}", i) for i in ids)
    assert re.fullmatch(r"[0-9a-z]{25}", identity.new_secret())


def test_token_round_trips_and_its_digest_pins_the_ca_pem() -> None:
    ca = identity.new_ca("cluster1")
    digest = identity.ca_digest(ca.cert_pem)
    assert len(digest) == 50
    token = identity.JoinToken(digest, identity.new_secret())
    text = str(token)
    assert re.fullmatch(r"SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}", text)
    assert identity.parse_token(text) == token
    assert identity.digest_hex(digest) == hashlib.sha256(ca.cert_pem).hexdigest()
    assert identity.ca_digest(identity.new_ca("cluster1").cert_pem) != digest


@pytest.mark.parametrize("bad", ["", "garbage", "SWMTKN-1-abc-def", "SWMTKN-2-" + "a" * 50 + "-" + "b" * 25])
def test_malformed_tokens_get_dockers_text(bad: str) -> None:
    with pytest.raises(InvalidParameter, match="^invalid join token$"):
        identity.parse_token(bad)


def test_secrets_compare_exactly() -> None:
    s = identity.new_secret()
    assert identity.secret_matches(s, s)
    assert not identity.secret_matches(s, identity.new_secret())


def test_node_certificate_carries_role_node_and_cluster_and_chains_to_the_ca() -> None:
    ca = identity.new_ca("c" * 25)
    key = identity.new_key()
    pem = identity.sign_node(ca, identity.new_csr(key), "n" * 25, "worker", "c" * 25, ["192.0.2.7"])
    info = identity.read_cert(pem)
    assert (info.node_id, info.role, info.cluster_id) == ("n" * 25, "worker", "c" * 25)
    cert = x509.load_pem_x509_certificate(pem)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    cert.verify_directly_issued_by(ca_cert)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "192.0.2.7" in {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
    assert not identity.needs_renewal(info, 0.5)
    assert ca_cert.public_key().curve.name == "secp256r1"


def test_signing_refuses_an_unknown_role_and_a_broken_request() -> None:
    ca = identity.new_ca("c")
    with pytest.raises(InvalidParameter, match="invalid role 'admin'"):
        identity.sign_node(ca, identity.new_csr(identity.new_key()), "n", "admin", "c", [])
    with pytest.raises(InvalidParameter, match="invalid certificate request"):
        identity.sign_node(ca, b"not a csr", "n", "worker", "c", [])


def test_renewal_is_due_past_the_chosen_fraction_of_life() -> None:
    import datetime

    info = identity.CertInfo(
        "n", "worker", "c", datetime.datetime.now(datetime.UTC) + identity.NODE_CERT_LIFETIME * 0.3
    )
    assert identity.needs_renewal(info, 0.5) and identity.needs_renewal(info, 0.69)
    assert not identity.needs_renewal(info, 0.8)
