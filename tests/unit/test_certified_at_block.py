"""IOME-CERT-021 judges the key, its role and its subject again at the block's time."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from iome_ref.constants import ROLE_STATION
from iome_ref.errors import Rejected
from iome_ref.pki import CertificateAuthority, CertificateDirectory
from iome_ref.rules.certificates import Certified, check_certified_at_block

T0 = 1_700_000_000
DAY = 86_400


def _key(seed: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed.encode()).digest())


def _renamed_station() -> tuple[CertificateDirectory, str]:
    """One key certified as st-a until day 10, then (a new certificate) as st-z from day 20."""
    ca = CertificateAuthority(_key("cert-021-ca"), "iome-ca", T0 - 365 * DAY, T0 + 365 * DAY)
    key = _key("cert-021-station").public_key().public_bytes_raw().hex()
    certs = [
        ca.issue("st-a", ROLE_STATION, key, T0, T0 + 10 * DAY),
        ca.issue("st-z", ROLE_STATION, key, T0 + 20 * DAY, T0 + 30 * DAY),
    ]
    crl = ca.crl(T0 - 365 * DAY, T0 + 365 * DAY)
    return CertificateDirectory(ca.root, certs, [crl]), key


@pytest.mark.req("IOME-CERT-021")
def test_accepts_a_key_certified_for_its_subject_at_the_block_time() -> None:
    directory, key = _renamed_station()
    check_certified_at_block([Certified(key, ROLE_STATION, "st-a")], directory, T0 + DAY)
    check_certified_at_block([Certified(key, ROLE_STATION, "st-z")], directory, T0 + 25 * DAY)


@pytest.mark.req("IOME-CERT-021")
def test_rejects_a_key_certified_at_the_block_time_for_another_subject_only() -> None:
    """Claimed as st-a while st-a's certificate held, included when the key's only
    certificate names st-z: the key is certified then, but not as the station it signed for."""
    directory, key = _renamed_station()
    at = T0 + 25 * DAY
    with pytest.raises(Rejected) as caught:
        check_certified_at_block([Certified(key, ROLE_STATION, "st-a")], directory, at)
    assert caught.value.req_id == "IOME-CERT-021"
    assert caught.value.message.startswith(
        f"{key[:16]}...: certified for {ROLE_STATION} at the block's time {at}, found IOME-CERT-"
    )
