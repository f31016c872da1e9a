"""Unit tests for iome_ref.pki: issuing, revoking and checking certificates at a claimed time."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from iome_ref.constants import ROLE_STATION, ROLE_VERIFIER, ROLES
from iome_ref.errors import Malformed, Rejected, UsageError
from iome_ref.pki import (
    CertificateAuthority,
    CertificateDirectory,
    compute_serial_number,
    get_role,
    get_subject_id,
    key_usage,
)

T0 = 1_700_000_000
T1 = T0 + 1000
DAY = 86_400


def seeded_key(seed: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed.encode()).digest())


def key_hex(seed: str) -> str:
    return seeded_key(seed).public_key().public_bytes_raw().hex()


def make_ca(seed: str = "ca", name: str = "iome-ca") -> CertificateAuthority:
    return CertificateAuthority(seeded_key(seed), name, T0 - 365 * DAY, T0 + 365 * DAY)


def directory(
    ca: CertificateAuthority,
    certs: list[x509.Certificate],
    crl: x509.CertificateRevocationList | None = None,
) -> CertificateDirectory:
    """A directory with ``crl``, or by default a CRL in force for the CA's whole life."""
    return CertificateDirectory(
        ca.root, certs, [ca.crl(T0 - 365 * DAY, T0 + 365 * DAY) if crl is None else crl]
    )


def station(ca: CertificateAuthority, seed: str = "st-1", **kw: int) -> x509.Certificate:
    nb, na = kw.get("not_before", T0), kw.get("not_after", T0 + 30 * DAY)
    return ca.issue("st-1", ROLE_STATION, key_hex(seed), nb, na)


def foreign_cert(private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> x509.Certificate:
    """A self-signed certificate with a non-Ed25519 key, as another PKI would issue."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "st-9")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .serial_number(7)
        .public_key(private_key.public_key())
        .not_valid_before(datetime.fromtimestamp(T0, tz=UTC))
        .not_valid_after(datetime.fromtimestamp(T0 + DAY, tz=UTC))
        .sign(private_key, hashes.SHA256())
    )


# --- accepting ---------------------------------------------------------------------------


@pytest.mark.req("IOME-CERT-001", "IOME-CERT-002", "IOME-CERT-004", "IOME-CERT-005")
@pytest.mark.parametrize("role", ROLES)
def test_accepts_certified_key_for_each_role(role: str) -> None:
    ca = make_ca()
    cert = ca.issue(f"ent-{role}", role, key_hex(role), T0, T0 + DAY)
    found = directory(ca, [cert]).check_certified(key_hex(role), role, T1, f"ent-{role}")
    assert found == cert
    assert get_role(found) == role
    assert get_subject_id(found) == f"ent-{role}"


@pytest.mark.req("IOME-CERT-002")
def test_accepts_validity_bounds_inclusive() -> None:
    ca = make_ca()
    pki = directory(ca, [station(ca)])
    assert pki.is_certified(key_hex("st-1"), ROLE_STATION, T0)
    assert pki.is_certified(key_hex("st-1"), ROLE_STATION, T0 + 30 * DAY)


@pytest.mark.req("IOME-CERT-003")
def test_accepts_certificate_revoked_after_claimed_time() -> None:
    ca = make_ca()
    cert = station(ca)
    ca.revoke(cert.serial_number, T1 + 1)
    pki = directory(ca, [cert], ca.crl(T1 + 2, T1 + DAY))
    assert pki.check_certified(key_hex("st-1"), ROLE_STATION, T1, "st-1") == cert


@pytest.mark.req("IOME-CERT-002", "IOME-CERT-006")
def test_accepts_recertified_key_when_one_certificate_is_good() -> None:
    ca = make_ca()
    old = station(ca, not_before=T0 - 20 * DAY, not_after=T0 - 10 * DAY)
    new = station(ca)
    pki = directory(ca, [old, new])
    assert len(pki.get_certificates(key_hex("st-1"))) == 2
    assert pki.check_certified(key_hex("st-1"), ROLE_STATION, T1) == new
    assert pki.check_certified(key_hex("st-1"), ROLE_STATION, T0 - 15 * DAY) == old


@pytest.mark.req("IOME-CERT-008")
def test_accepts_crl_signed_by_root() -> None:
    ca = make_ca()
    pki = directory(ca, [station(ca)], ca.crl(T0, T0 + DAY))
    assert pki.root_public_key_hex == ca.public_key_hex


# --- rejecting ---------------------------------------------------------------------------


@pytest.mark.req("IOME-CERT-006")
def test_rejects_unknown_key() -> None:
    ca = make_ca()
    pki = directory(ca, [station(ca)])
    with pytest.raises(Rejected) as exc:
        pki.check_certified(key_hex("nobody"), ROLE_STATION, T1)
    assert exc.value.req_id == "IOME-CERT-006"
    assert exc.value.message == f"no certificate is known for key {key_hex('nobody')}"
    assert pki.get_certificates(key_hex("nobody")) == ()
    assert not pki.is_certified(key_hex("nobody"), ROLE_STATION, T1)


@pytest.mark.req("IOME-CERT-001")
@pytest.mark.parametrize("name", ["iome-ca", "rogue-ca"])
def test_rejects_certificate_from_another_authority(name: str) -> None:
    ca, rogue = make_ca(), make_ca("rogue", name)
    pki = directory(ca, [station(rogue)])
    with pytest.raises(Rejected) as exc:
        pki.check_certified(key_hex("st-1"), ROLE_STATION, T1)
    assert exc.value.req_id == "IOME-CERT-001"


@pytest.mark.req("IOME-CERT-002")
@pytest.mark.parametrize("at", [T0 - 1, T0 + 30 * DAY + 1], ids=["not-yet-valid", "expired"])
def test_rejects_certificate_outside_validity(at: int) -> None:
    ca = make_ca()
    pki = directory(ca, [station(ca)])
    with pytest.raises(Rejected) as exc:
        pki.check_certified(key_hex("st-1"), ROLE_STATION, at)
    assert exc.value.req_id == "IOME-CERT-002"


@pytest.mark.req("IOME-CERT-003")
@pytest.mark.parametrize("revoked_at", [T1, T1 - 1])
def test_rejects_certificate_revoked_at_or_before_claimed_time(revoked_at: int) -> None:
    ca = make_ca()
    cert = station(ca)
    ca.revoke(cert.serial_number, revoked_at)
    pki = directory(ca, [cert], ca.crl(T1, T1 + DAY))
    with pytest.raises(Rejected) as exc:
        pki.check_certified(key_hex("st-1"), ROLE_STATION, T1)
    assert exc.value.req_id == "IOME-CERT-003"


@pytest.mark.req("IOME-CERT-004")
def test_rejects_wrong_role() -> None:
    ca = make_ca()
    pki = directory(ca, [station(ca)])
    with pytest.raises(Rejected) as exc:
        pki.check_certified(key_hex("st-1"), ROLE_VERIFIER, T1)
    assert exc.value.req_id == "IOME-CERT-004"


@pytest.mark.req("IOME-CERT-005")
def test_rejects_wrong_subject_id() -> None:
    ca = make_ca()
    pki = directory(ca, [station(ca)])
    with pytest.raises(Rejected) as exc:
        pki.check_certified(key_hex("st-1"), ROLE_STATION, T1, "st-2")
    assert exc.value.req_id == "IOME-CERT-005"


@pytest.mark.req("IOME-CERT-002", "IOME-CERT-003", "IOME-CERT-004", "IOME-CERT-005")
def test_rejects_after_an_accepted_check_of_the_same_key_on_the_same_directory() -> None:
    """The directory remembers what passed (a path's static checks, a leaf's role and
    subject): a later question that differs in time, role, subject or revocation list is
    judged anew, never answered from what an earlier one passed."""
    ca = make_ca()
    cert = station(ca)
    pki = directory(ca, [cert])
    key = key_hex("st-1")
    for _ in range(2):  # the second round reads the caches the first one filled
        assert pki.check_certified(key, ROLE_STATION, T1, "st-1") == cert
        cases = [(T0 + 31 * DAY, ROLE_STATION, "st-1", "IOME-CERT-002")]
        cases += [(T1, ROLE_VERIFIER, "st-1", "IOME-CERT-004")]
        cases += [(T1, ROLE_STATION, "st-2", "IOME-CERT-005")]
        for at, role, subject, req_id in cases:
            with pytest.raises(Rejected) as exc:
                pki.check_certified(key, role, at, subject)
            assert exc.value.req_id == req_id
    ca.revoke(cert.serial_number, T1)
    revoked = pki.with_revocation_list(ca.crl(T1, T1 + DAY))
    with pytest.raises(Rejected) as exc:
        revoked.check_certified(key, ROLE_STATION, T1, "st-1")
    assert exc.value.req_id == "IOME-CERT-003"
    assert pki.check_certified(key, ROLE_STATION, T1, "st-1") == cert  # unchanged


@pytest.mark.req("IOME-CERT-002", "IOME-CERT-004")
def test_rejects_with_failure_of_furthest_certificate() -> None:
    ca = make_ca()
    expired = station(ca, not_after=T0 + 1)
    verifier = ca.issue("st-1", ROLE_VERIFIER, key_hex("st-1"), T0, T0 + DAY)
    # Alone, each certificate fails its own rule; together, the furthest (CERT-002) is named.
    with pytest.raises(Rejected) as exc:
        directory(ca, [verifier]).check_certified(key_hex("st-1"), ROLE_STATION, T1)
    assert exc.value.req_id == "IOME-CERT-004"
    for certs in ([expired, verifier], [verifier, expired]):
        with pytest.raises(Rejected) as exc:
            directory(ca, certs).check_certified(key_hex("st-1"), ROLE_STATION, T1)
        assert exc.value.req_id == "IOME-CERT-002"


@pytest.mark.req("IOME-CERT-007")
def test_accepts_ed25519_certificates() -> None:
    ca = make_ca()
    cert = directory(ca, [station(ca)]).check_certified(key_hex("st-1"), ROLE_STATION, T1, "st-1")
    assert get_subject_id(cert) == "st-1"


@pytest.mark.req("IOME-CERT-007")
@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_rejects_non_ed25519_certificate(kind: str) -> None:
    private_key = (
        ec.generate_private_key(ec.SECP256R1())
        if kind == "ec"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    ca = make_ca()
    with pytest.raises(Rejected) as exc:
        directory(ca, [station(ca), foreign_cert(private_key)])
    assert exc.value.req_id == "IOME-CERT-007"
    with pytest.raises(Rejected) as exc:
        CertificateDirectory(foreign_cert(private_key), [])
    assert exc.value.req_id == "IOME-CERT-007"


@pytest.mark.req("IOME-CERT-008")
def test_rejects_crl_signed_by_another_key() -> None:
    ca, rogue = make_ca(), make_ca("rogue")
    with pytest.raises(Rejected) as exc:
        directory(ca, [station(ca)], rogue.crl(T0, T0 + DAY))
    assert exc.value.req_id == "IOME-CERT-008"


def test_rejects_issuing_unknown_role_as_usage_error() -> None:
    with pytest.raises(UsageError) as exc:
        make_ca().issue("st-1", "mayor", key_hex("st-1"), T0, T1)
    assert exc.value.component == "pki"


@pytest.mark.parametrize(
    ("key", "role", "at", "message"),
    [
        ("st-1", "mayor", T1, f"role must be one of {ROLES}, found 'mayor'"),
        ("st-1", ROLE_STATION, "T1", "at must be integer unix seconds, found 'T1'"),
        (7, ROLE_STATION, T1, "public_key_hex must be a str, found 7"),
    ],
)
def test_rejects_checking_with_bad_arguments_as_usage_error(
    key: object, role: str, at: object, message: str
) -> None:
    ca = make_ca()
    pki = directory(ca, [station(ca)])
    key_arg = key_hex(key) if isinstance(key, str) else key
    with pytest.raises(UsageError) as exc:
        pki.check_certified(key_arg, role, at)  # type: ignore[arg-type]
    assert (exc.value.component, exc.value.message) == ("pki", message)
    assert not pki.is_certified(key_arg, role, at)  # type: ignore[arg-type]


# --- determinism and serialisation -------------------------------------------------------


def der(obj: x509.Certificate | x509.CertificateRevocationList) -> bytes:
    return obj.public_bytes(Encoding.DER)


@pytest.mark.req("IOME-CERT-001")
def test_accepts_identical_der_from_same_seed() -> None:
    first, second = make_ca(), make_ca()
    assert der(first.root) == der(second.root)
    assert der(station(first)) == der(station(second))
    for ca in (first, second):
        ca.revoke(5, T1)
        ca.revoke(3, T0)
        ca.revoke(5, T1 + 9)  # a later revocation keeps the earliest time
    assert der(first.crl(T1, T1 + DAY)) == der(second.crl(T1, T1 + DAY))
    assert station(first).serial_number != station(first, not_after=T1).serial_number


@pytest.mark.req("IOME-CERT-001")
def test_accepts_json_round_trip() -> None:
    ca = make_ca()
    cert = station(ca)
    ca.revoke(cert.serial_number, T1 + 5)
    pki = directory(
        ca, [cert, ca.issue("v-1", ROLE_VERIFIER, key_hex("v"), T0, T1)], ca.crl(T1, T1 + DAY)
    )
    data = pki.to_json()
    again = CertificateDirectory.from_json(data)
    assert again.to_json() == data
    assert [der(c) for c in again.certificates] == [der(c) for c in pki.certificates]
    assert [der(c) for c in again.crls] == [der(ca.crl(T1, T1 + DAY))]
    assert again.is_certified(key_hex("st-1"), ROLE_STATION, T1 + 4)
    assert not again.is_certified(key_hex("st-1"), ROLE_STATION, T1 + 5)
    assert CertificateDirectory.from_json({**data, "crls": []}).crls == ()


def good_json() -> dict[str, object]:
    ca = make_ca()
    return directory(ca, [station(ca)], ca.crl(T0, T1)).to_json()


LISTS = "certificates and crls must be lists of PEM strings"
OBJECT = "directory must be an object with root, certificates, crls"


@pytest.mark.req("IOME-CERT-001")
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"root": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
            "root PEM does not parse: ",
        ),
        ({"root": "not pem"}, "root PEM does not parse: "),
        ({"root": 42}, "root must be a PEM string, found int"),
        ({"root": "caf\u00e9"}, "root PEM does not parse: "),
        ({"certificates": "not a list"}, LISTS),
        ({"certificates": [None]}, "certificate must be a PEM string, found NoneType"),
        ({"certificates": ["garbage"]}, "certificate PEM does not parse: "),
        ({"crls": None}, LISTS),
        ({"crls": "garbage"}, LISTS),
        ({"crl": []}, OBJECT),
        ({"extra": 1}, OBJECT),
    ],
)
def test_rejects_malformed_json(change: dict[str, object], message: str) -> None:
    # A message ending in ": " is followed by the parser's own words.
    with pytest.raises(Malformed) as exc:
        CertificateDirectory.from_json({**good_json(), **change})
    assert exc.value.req_id == "IOME-CERT-001"
    assert exc.value.message.startswith(message)
    assert message.endswith(": ") or exc.value.message == message


@pytest.mark.req("IOME-CERT-016")
@pytest.mark.parametrize(
    ("crl", "message"),
    [
        ("garbage", "revocation list PEM does not parse: "),
        (1, "crl must be a PEM string, found int"),
        ("caf\u00e9", "revocation list PEM does not parse: "),
        (
            "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
            "revocation list PEM does not parse: ",
        ),
    ],
)
def test_rejects_malformed_crl_json(crl: object, message: str) -> None:
    with pytest.raises(Malformed) as exc:
        CertificateDirectory.from_json({**good_json(), "crls": [crl]})
    assert exc.value.req_id == "IOME-CERT-016"
    assert exc.value.message.startswith(message)
    assert message.endswith(": ") or exc.value.message == message


@pytest.mark.req("IOME-CERT-001")
def test_rejects_json_missing_key() -> None:
    data = good_json()
    del data["crls"]
    with pytest.raises(Malformed) as exc:
        CertificateDirectory.from_json(data)
    assert exc.value.req_id == "IOME-CERT-001"


def test_subject_fields_of_a_foreign_certificate_read_as_empty() -> None:
    # Absent, repeated or unparsable: "" (the certificate then fails its rule, CERT-004/005).
    ca = make_ca()
    cert = station(ca)
    data = der(cert)
    common_name = bytes.fromhex("0c04") + b"st-1"  # UTF8String "st-1"
    assert data.count(common_name) == 1
    not_utf8 = x509.load_der_x509_certificate(
        data.replace(common_name, bytes.fromhex("0c04ffffffff"))
    )
    assert (get_subject_id(not_utf8), get_role(not_utf8)) == ("", "")
    key = Ed25519PrivateKey.from_private_bytes(bytes(32))
    twice = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "a"),
            x509.NameAttribute(NameOID.COMMON_NAME, "b"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ROLE_STATION),
        ]
    )
    two_names = (
        x509.CertificateBuilder()
        .subject_name(twice)
        .issuer_name(twice)
        .serial_number(1)
        .public_key(key.public_key())
        .not_valid_before(datetime(2024, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2025, 1, 1, tzinfo=UTC))
        .sign(key, None)
    )
    assert (get_subject_id(two_names), get_role(two_names)) == ("", ROLE_STATION)


def test_key_usage_sets_only_the_bits_asked_for() -> None:
    assert key_usage(digital_signature=True, cert_sign=True, crl_sign=True) == x509.KeyUsage(
        True, False, False, False, False, True, True, False, False
    )
    assert key_usage() == x509.KeyUsage(
        False, False, False, False, False, False, False, False, False
    )


def test_serial_number_is_the_documented_hash_of_what_the_certificate_says() -> None:
    # spec: SHA-256 of "IoME/1/cert-serial/" and the six fields joined by NUL, first 19 bytes.
    fields = ("ab" * 32, "st-1", ROLE_STATION, "cd" * 32, T0, T1)
    material = "\x00".join(str(value) for value in fields).encode()
    digest = hashlib.sha256(b"IoME/1/cert-serial/" + material).digest()
    assert compute_serial_number(
        issuer_key_hex=fields[0],
        subject_id=fields[1],
        role=fields[2],
        subject_key_hex=fields[3],
        not_before=T0,
        not_after=T1,
    ) == int.from_bytes(digest[:19], "big")
