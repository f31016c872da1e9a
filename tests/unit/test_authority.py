"""What a relying party finds in what the reference's certificate authority issues.

Worlds, tests, vectors and the simulation take every certificate and CRL from
``iome_ref.pki.authority``, and no verdict runs on the issuing side: a CA writing one bit off
the profile would silently change every vector. So each test here parses what the CA issued
and checks it against spec/certificates.md ("Certificate profile", "Revocation list": "the
reference's CAs write exactly this profile"), and the strongest ask the two validators, the
reference's own directory and pyhanko-certvalidator, whether they accept it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID
from pki_chains import DAY, END, START, STATION, T0, key_hex, seeded_key, two_level_chain
from test_pki_oracle import Pki, iome_verdict, pyhanko_accepts

from iome_ref.constants import ROLE_STATION, ROLE_VERIFIER, ROLES
from iome_ref.errors import Rejected, UsageError
from iome_ref.pki import (
    CertificateAuthority,
    CertificateDirectory,
    compute_serial_number,
    compute_subject_name,
    key_usage,
)

T1 = T0 + DAY
CA_USAGE = key_usage(digital_signature=True, cert_sign=True, crl_sign=True)
LEAF_USAGE = key_usage(digital_signature=True)


def moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def extensions_of(
    obj: x509.Certificate | x509.CertificateRevocationList,
) -> dict[x509.ObjectIdentifier, tuple[bool, x509.ExtensionType]]:
    """Every extension as a relying party reads it: OID -> (critical, value)."""
    return {ext.oid: (ext.critical, ext.value) for ext in obj.extensions}


def attributes(name: x509.Name) -> list[tuple[x509.ObjectIdentifier, str | bytes]]:
    return [(attribute.oid, attribute.value) for attribute in name]


def ski_of(public_key: object) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(public_key)  # type: ignore[arg-type]


def aki_naming(ski: x509.SubjectKeyIdentifier) -> x509.AuthorityKeyIdentifier:
    """The AKI the profile asks for: the issuer's SKI as key id, no issuer name or serial."""
    return x509.AuthorityKeyIdentifier(ski.digest, None, None)


def profile(
    basic: x509.BasicConstraints,
    usage: x509.KeyUsage,
    subject_seed: str,
    issuer: CertificateAuthority | None,
) -> dict[x509.ObjectIdentifier, tuple[bool, x509.ExtensionType]]:
    """The extensions of the profile table, as ``extensions_of`` reads them: critical
    basicConstraints and keyUsage, a non-critical SKI and, below a root, a non-critical AKI
    naming the issuer's SKI."""
    expected: dict[x509.ObjectIdentifier, tuple[bool, x509.ExtensionType]] = {
        ExtensionOID.BASIC_CONSTRAINTS: (True, basic),
        ExtensionOID.KEY_USAGE: (True, usage),
        ExtensionOID.SUBJECT_KEY_IDENTIFIER: (False, ski_of(seeded_key(subject_seed).public_key())),
    }
    if issuer is not None:
        expected[ExtensionOID.AUTHORITY_KEY_IDENTIFIER] = (
            False,
            aki_naming(ski_of(issuer.certificate.public_key())),
        )
    return expected


def serial_of(
    issuer: str, subject_id: str, role: str, subject: str, validity: tuple[int, int]
) -> int:
    """The documented serial (``compute_serial_number``) of keys seeded ``issuer``/``subject``."""
    return compute_serial_number(
        issuer_key_hex=key_hex(issuer),
        subject_id=subject_id,
        role=role,
        subject_key_hex=key_hex(subject),
        not_before=validity[0],
        not_after=validity[1],
    )


def root_ca(path_length: int | None = None, name: str = "root-ca") -> CertificateAuthority:
    return CertificateAuthority(seeded_key(name), name, START, END, path_length=path_length)


# --- certificates: the profile of spec/certificates.md -------------------------------------


@pytest.mark.parametrize("path_length", [None, 0, 2])
def test_root_certificate_has_the_ca_profile(path_length: int | None) -> None:
    root = root_ca(path_length)
    cert = root.certificate
    assert cert.version is x509.Version.v3
    assert attributes(cert.subject) == [
        (NameOID.ORGANIZATION_NAME, "IoME"),
        (NameOID.COMMON_NAME, "root-ca"),
    ]
    assert cert.issuer == cert.subject == root.name
    cert.verify_directly_issued_by(cert)  # self-signed, Ed25519
    assert (cert.not_valid_before_utc, cert.not_valid_after_utc) == (moment(START), moment(END))
    assert extensions_of(cert) == profile(
        x509.BasicConstraints(True, path_length), CA_USAGE, "root-ca", None
    )
    assert root.public_key_hex == key_hex("root-ca")
    assert cert.serial_number == serial_of("root-ca", "root-ca", "", "root-ca", (START, END))
    # The reference's own directory takes it as a trust anchor (CERT-009 to CERT-014).
    CertificateDirectory(cert, [], [root.crl(START, END)])


@pytest.mark.parametrize("role", [ROLE_STATION, ROLE_VERIFIER])
def test_leaf_certificate_has_the_leaf_profile(role: str) -> None:
    ca = root_ca()
    cert = ca.issue("ent-1", role, key_hex("ent-1"), T0, T1)
    assert cert.version is x509.Version.v3
    assert attributes(cert.subject) == [
        (NameOID.ORGANIZATION_NAME, "IoME"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, role),
        (NameOID.COMMON_NAME, "ent-1"),
    ]
    assert cert.issuer.public_bytes() == ca.name.public_bytes()
    cert.verify_directly_issued_by(ca.certificate)
    assert cert.public_key() == seeded_key("ent-1").public_key()
    assert (cert.not_valid_before_utc, cert.not_valid_after_utc) == (moment(T0), moment(T1))
    assert extensions_of(cert) == profile(
        x509.BasicConstraints(False, None), LEAF_USAGE, "ent-1", ca
    )
    assert cert.serial_number == serial_of("root-ca", "ent-1", role, "ent-1", (T0, T1))
    pki = CertificateDirectory(ca.certificate, [cert], [ca.crl(START, END)])
    assert pki.check_certified(key_hex("ent-1"), role, T0, "ent-1") == cert


@pytest.mark.parametrize("path_length", [None, 0])
def test_sub_ca_certificate_has_the_ca_profile_and_names_its_issuer(
    path_length: int | None,
) -> None:
    root = root_ca()
    root.revoke(99, T0)  # the root's revocations are the root's, not its sub-CA's
    sub_key = seeded_key("sub-ca")
    sub = root.issue_ca("sub-ca", sub_key, START, END, path_length=path_length)
    cert = sub.certificate
    assert attributes(cert.subject) == [
        (NameOID.ORGANIZATION_NAME, "IoME"),
        (NameOID.COMMON_NAME, "sub-ca"),
    ]
    assert sub.name == cert.subject
    assert cert.issuer.public_bytes() == root.name.public_bytes()
    cert.verify_directly_issued_by(root.certificate)
    assert (cert.not_valid_before_utc, cert.not_valid_after_utc) == (moment(START), moment(END))
    assert sub.public_key_hex == key_hex("sub-ca")
    assert extensions_of(cert) == profile(
        x509.BasicConstraints(True, path_length), CA_USAGE, "sub-ca", root
    )
    assert cert.serial_number == serial_of("root-ca", "sub-ca", "", "sub-ca", (START, END))
    assert list(sub.crl(T0, T1)) == []
    leaf = sub.issue(STATION, ROLE_STATION, key_hex(STATION), T0, T0 + DAY)
    pki = CertificateDirectory(
        root.certificate, [cert, leaf], [root.crl(T0, END), sub.crl(T0, END)]
    )
    assert pki.check_certified(key_hex(STATION), ROLE_STATION, T1, STATION) == leaf


def test_custom_certificate_carries_exactly_the_extensions_asked_for() -> None:
    ca = root_ca()
    subject = compute_subject_name(STATION, ROLE_STATION)
    asked = [(LEAF_USAGE, False), (ski_of(seeded_key(STATION).public_key()), True)]
    cert = ca.issue_custom(subject, seeded_key(STATION).public_key(), T0, T1, asked)
    cert.verify_directly_issued_by(ca.certificate)
    assert cert.subject == subject
    assert [(ext.value, ext.critical) for ext in cert.extensions] == asked
    assert (cert.not_valid_before_utc, cert.not_valid_after_utc) == (moment(T0), moment(T1))


def test_serials_of_one_issuer_differ_whenever_the_certificates_differ() -> None:
    # RFC 5280 §4.1.2.2: a serial names one certificate of its issuer; a CRL entry revokes by
    # serial alone, so two certificates sharing one would be revoked together.
    root = root_ca()
    key = seeded_key("sub-ca")
    subject = compute_subject_name(STATION, ROLE_STATION)
    public = seeded_key(STATION).public_key()
    two = [(LEAF_USAGE, True), (x509.BasicConstraints(False, None), True)]
    issued = [
        root.certificate,
        root_ca().certificate,  # the same inputs: the same root
        CertificateAuthority(seeded_key("root-ca"), "root-ca", START + 1, END).certificate,
        CertificateAuthority(seeded_key("root-ca"), "root-ca", START, END + 1).certificate,
        root.issue(STATION, ROLE_STATION, key_hex(STATION), T0, T1),
        root.issue(STATION, ROLE_STATION, key_hex(STATION), T0 + 1, T1),
        root.issue(STATION, ROLE_STATION, key_hex(STATION), T0, T1 + 1),
        root.issue(STATION, ROLE_VERIFIER, key_hex(STATION), T0, T1),
        root.issue_ca("sub-ca", key, START, END).certificate,
        root.issue_ca("sub-ca", key, START + 1, END).certificate,
        root.issue_ca("sub-ca", key, START, END + 1).certificate,
        root.issue_custom(subject, public, T0, T1, two),
        root.issue_custom(subject, public, T0 + 1, T1, two),
        root.issue_custom(subject, public, T0, T1 + 1, two),
        root.issue_custom(subject, public, T0, T1, two[:1]),
        root.issue_custom(subject, public, T0, T1, [(LEAF_USAGE, False), two[1]]),
    ]
    numbers = [cert.serial_number for cert in issued]
    assert numbers[0] == numbers[1]
    assert len(set(numbers[1:])) == len(numbers) - 1
    assert all(0 < n < 1 << 152 for n in numbers)  # positive, within RFC 5280's 20 octets


def test_a_certificate_may_be_valid_for_one_second_only() -> None:
    root = root_ca()
    cert = root.issue(STATION, ROLE_STATION, key_hex(STATION), T0, T0)
    assert cert.not_valid_before_utc == cert.not_valid_after_utc == moment(T0)
    pki = CertificateDirectory(root.certificate, [cert], [root.crl(START, END)])
    assert pki.is_certified(key_hex(STATION), ROLE_STATION, T0)
    assert not pki.is_certified(key_hex(STATION), ROLE_STATION, T0 + 1)
    for ca_cert in (
        root.issue_ca("sub-ca", seeded_key("sub-ca"), T0, T0).certificate,
        CertificateAuthority(seeded_key("r"), "r", T0, T0).certificate,
    ):
        assert ca_cert.not_valid_before_utc == ca_cert.not_valid_after_utc == moment(T0)


def test_an_authority_names_its_own_ski_in_what_it_signs_even_a_foreign_one() -> None:
    # A sub-CA loaded from a certificate whose SKI is not the SHA-1 of its key (RFC 7093 allows
    # other methods): what it issues must still carry that SKI as AKI, or CERT-014 refuses it.
    root = root_ca()
    key = seeded_key("sub-ca")
    ski = x509.SubjectKeyIdentifier(bytes(range(20)))
    cert = root.issue_custom(
        compute_subject_name("sub-ca"),
        key.public_key(),
        START,
        END,
        [
            (x509.BasicConstraints(True, None), True),
            (CA_USAGE, True),
            (ski, False),
            (root.authority_key_identifier(), False),
        ],
    )
    sub = CertificateAuthority.from_certificate(key, cert)
    assert sub.name == cert.subject
    assert sub.certificate == cert
    leaf = sub.issue(STATION, ROLE_STATION, key_hex(STATION), T0, T1)
    crl = sub.crl(T0, END)
    for signed in (leaf, crl):
        assert extensions_of(signed)[ExtensionOID.AUTHORITY_KEY_IDENTIFIER] == (
            False,
            aki_naming(ski),
        )
    pki = CertificateDirectory(root.certificate, [cert, leaf], [root.crl(T0, END), crl])
    assert pki.check_certified(key_hex(STATION), ROLE_STATION, T1, STATION) == leaf
    # Without an SKI at all, the key's own identifier (RFC 5280 §4.2.1.2 method 1).
    bare = CertificateAuthority.from_certificate(
        key, root.issue_custom(cert.subject, key.public_key(), START, END, [])
    )
    assert bare.authority_key_identifier() == aki_naming(ski_of(key.public_key()))


# --- revocation lists ----------------------------------------------------------------------


def test_crl_has_the_profile_and_lists_every_revocation_once_in_serial_order() -> None:
    ca = root_ca()
    ca.revoke(7, T0 + 5)
    ca.revoke(1, T0 + 9)  # the smallest serial there is
    ca.revoke(7, T0 + 8)  # later: the first date stays
    ca.revoke(3, T0 + 2)
    ca.revoke(3, T0 + 1)  # earlier: this one is kept
    crl = ca.crl(T0 + 10, T1)
    assert crl.is_signature_valid(seeded_key("root-ca").public_key())
    assert crl.issuer.public_bytes() == ca.name.public_bytes()
    assert (crl.last_update_utc, crl.next_update_utc) == (moment(T0 + 10), moment(T1))
    assert [(entry.serial_number, entry.revocation_date_utc) for entry in crl] == [
        (1, moment(T0 + 9)),
        (3, moment(T0 + 1)),
        (7, moment(T0 + 5)),
    ]
    assert all(len(entry.extensions) == 0 for entry in crl)
    assert extensions_of(crl) == {
        ExtensionOID.CRL_NUMBER: (False, x509.CRLNumber(T0 + 10)),
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER: (
            False,
            aki_naming(ski_of(ca.certificate.public_key())),
        ),
    }
    CertificateDirectory(ca.certificate, [], [crl])  # CERT-008, 016, 017 hold


@pytest.mark.parametrize(
    ("this_update", "number", "expected"),
    [(T0, None, T0), (T0, 5, 5), (0, None, 0), (-DAY, None, 0), (T0, 0, 0)],
)
def test_crl_number_defaults_to_this_update_and_is_never_negative(
    this_update: int, number: int | None, expected: int
) -> None:
    crl = root_ca().crl(this_update, T1, number=number)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == expected


@pytest.mark.req("IOME-CERT-003")
def test_revocation_is_judged_from_its_first_date_whatever_the_order_of_calls() -> None:
    root = root_ca()
    cert = root.issue(STATION, ROLE_STATION, key_hex(STATION), T0, T0 + 30 * DAY)
    root.revoke(cert.serial_number, T1)
    root.revoke(cert.serial_number, T1 + 50)
    pki = CertificateDirectory(root.certificate, [cert], [root.crl(T1 + 100, END)])
    assert pki.is_certified(key_hex(STATION), ROLE_STATION, T1 - 1)
    with pytest.raises(Rejected) as exc:
        pki.check_certified(key_hex(STATION), ROLE_STATION, T1 + 10)
    assert exc.value.req_id == "IOME-CERT-003"


# --- the two validators on what the CA issued ----------------------------------------------


@pytest.mark.req("IOME-CERT-003", "IOME-CERT-012")
def test_both_validators_accept_what_the_authority_issues_and_refuse_what_it_revoked() -> None:
    def pki(chain_revoked: bool, root_path_length: int = 2, sub1_path_length: int = 1) -> Pki:
        chain = two_level_chain(root_path_length, sub1_path_length)
        if chain_revoked:
            chain.sub2.revoke(chain.leaf.serial_number, T1 - 1)
        return Pki(
            chain.root.certificate,
            [chain.sub1.certificate, chain.sub2.certificate],
            chain.crls(),
            chain.leaf,
        )

    assert (iome_verdict(pki(False)), pyhanko_accepts(pki(False))) == (None, True)
    assert (iome_verdict(pki(True)), pyhanko_accepts(pki(True))) == ("IOME-CERT-003", False)
    # The pathLenConstraint is written as asked: 0 on the first sub-CA refuses a second level.
    # (On the root, only IoME applies it: spec "Where IoME is stricter".)
    for short, pyhanko in ((pki(False, sub1_path_length=0), False), (pki(False, 0), True)):
        assert (iome_verdict(short), pyhanko_accepts(short)) == ("IOME-CERT-012", pyhanko)


# --- refusing bad arguments ----------------------------------------------------------------

NOT_ED25519 = ec.derive_private_key(1, ec.SECP256R1())
KEY_TYPE = "the authority key must be an Ed25519PrivateKey"


def _call(make: Callable[[CertificateAuthority], object]) -> Callable[[], object]:
    return lambda: make(root_ca())


BAD_CALLS: dict[str, tuple[Callable[[], object], str]] = {
    "root-key": (lambda: CertificateAuthority(NOT_ED25519, "r", START, END), KEY_TYPE),  # type: ignore[arg-type]
    "loaded-key": (
        _call(lambda ca: CertificateAuthority.from_certificate(NOT_ED25519, ca.root)),  # type: ignore[arg-type]
        KEY_TYPE,
    ),
    "sub-ca-key": (
        _call(lambda ca: ca.issue_ca("s", NOT_ED25519, START, END)),  # type: ignore[arg-type]
        "a sub-CA key must be an Ed25519PrivateKey",
    ),
    "path-length-negative": (
        lambda: root_ca(-1),
        "path_length must be None or >= 0, found -1",
    ),
    "path-length-bool": (lambda: root_ca(True), "path_length must be None or >= 0, found True"),
    "path-length-text": (
        lambda: root_ca("1"),  # type: ignore[arg-type]
        "path_length must be None or >= 0, found '1'",
    ),
    "sub-path-length-float": (
        _call(lambda ca: ca.issue_ca("s", seeded_key("s"), START, END, path_length=1.0)),  # type: ignore[arg-type]
        "path_length must be None or >= 0, found 1.0",
    ),
    "role": (
        _call(lambda ca: ca.issue("st-1", "mayor", key_hex("s"), T0, T1)),
        f"role must be one of {ROLES}, found 'mayor'",
    ),
    "key-not-hex": (
        _call(lambda ca: ca.issue("st-1", ROLE_STATION, "zz" * 32, T0, T1)),
        "public_key_hex is not an Ed25519 key: non-hexadecimal number found in fromhex() arg "
        "at position 0",
    ),
    "key-short": (
        _call(lambda ca: ca.issue("st-1", ROLE_STATION, "ab" * 31, T0, T1)),
        "public_key_hex is not an Ed25519 key: An Ed25519 public key is 32 bytes long",
    ),
    "subject-long": (
        _call(lambda ca: ca.issue("x" * 65, ROLE_STATION, key_hex("s"), T0, T1)),
        f"subject name {'x' * 65!r}: Attribute's length must be >= 1 and <= 64, but it was 65",
    ),
    "ca-name-empty": (
        lambda: CertificateAuthority(seeded_key("r"), "", START, END),
        "subject name '': Attribute's length must be >= 1 and <= 64, but it was 0",
    ),
    "not-before-text": (
        _call(lambda ca: ca.issue("st-1", ROLE_STATION, key_hex("s"), "T0", T1)),  # type: ignore[arg-type]
        "not_before must be integer unix seconds, found 'T0'",
    ),
    "not-after-text": (
        _call(lambda ca: ca.issue("st-1", ROLE_STATION, key_hex("s"), T0, "T1")),  # type: ignore[arg-type]
        "not_after must be integer unix seconds, found 'T1'",
    ),
    "validity-reversed": (
        _call(lambda ca: ca.issue("st-1", ROLE_STATION, key_hex("s"), T0 + 1, T0)),
        f"not_before {T0 + 1} is after not_after {T0}",
    ),
    "validity-before-1950": (
        _call(lambda ca: ca.issue("st-1", ROLE_STATION, key_hex("s"), -(10**10), T0)),
        "cannot encode certificate: The not valid before date must be on or after 1950 January 1).",
    ),
    "serial-bool": (
        _call(lambda ca: ca.revoke(True, T0)),
        "serial must be a positive integer, found True",
    ),
    "serial-text": (
        _call(lambda ca: ca.revoke("7", T0)),  # type: ignore[arg-type]
        "serial must be a positive integer, found '7'",
    ),
    "serial-zero": (
        _call(lambda ca: ca.revoke(0, T0)),
        "serial must be a positive integer, found 0",
    ),
    "serial-negative": (
        _call(lambda ca: ca.revoke(-1, T0)),
        "serial must be a positive integer, found -1",
    ),
    "revoked-at-text": (
        _call(lambda ca: ca.revoke(7, "T0")),  # type: ignore[arg-type]
        "at must be integer unix seconds, found 'T0'",
    ),
    "this-update-text": (
        _call(lambda ca: ca.crl("T0", T1)),  # type: ignore[arg-type]
        "this_update must be integer unix seconds, found 'T0'",
    ),
    "next-update-text": (
        _call(lambda ca: ca.crl(T0, "T1")),  # type: ignore[arg-type]
        "next_update must be integer unix seconds, found 'T1'",
    ),
    "crl-times-reversed": (
        _call(lambda ca: ca.crl(T1, T0)),
        "cannot encode revocation list: The next update date must be after the last update date.",
    ),
    "crl-number-negative": (
        _call(lambda ca: ca.crl(T0, T1, number=-1)),
        "cannot encode revocation list: Negative integers are not supported",
    ),
}


@pytest.mark.parametrize("case", BAD_CALLS)
def test_refuses_bad_arguments_as_usage_error_naming_the_argument(case: str) -> None:
    call, message = BAD_CALLS[case]
    with pytest.raises(UsageError) as exc:
        call()
    assert (exc.value.component, exc.value.message) == ("pki", message)


def test_a_revoked_serial_of_one_is_listed() -> None:
    ca = root_ca()
    ca.revoke(1, T0)
    assert [entry.serial_number for entry in ca.crl(T0, T1)] == [1]
