"""The certificate profile: trust anchor, intermediate CAs, leaves, paths and the check order."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID
from pki_chains import (
    DAY,
    END,
    START,
    STATION,
    T0,
    Chain,
    custom_ca,
    custom_crl,
    custom_leaf,
    custom_root,
    key_hex,
    moment,
    retimed_crl,
    seeded_key,
    two_level_chain,
    with_extension_twice,
)

from iome_ref.constants import MAX_CERT_PATH_CAS, ROLE_STATION, ROLE_VERIFIER
from iome_ref.errors import Malformed, Rejected, UsageError
from iome_ref.pki import CHECK_ORDER, CertificateAuthority, CertificateDirectory, key_usage
from iome_ref.pki.profile import (
    check_ca_basic_constraints,
    check_ca_key_usage,
    check_certificate_key_is_ed25519,
    check_certificate_role,
    check_certificate_subject_id,
    check_certificate_valid_at,
    check_key_identifiers,
    check_leaf_is_end_entity,
    check_no_unknown_critical_extension,
    check_path_found,
    check_path_length,
    check_trust_anchor_self_signed,
)

T1 = T0 + DAY
Ext = tuple[x509.ExtensionType, bool]
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH
UNKNOWN = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.9"), b"\x05\x00")


def check(directory: CertificateDirectory, at: int = T1) -> x509.Certificate:
    return directory.check_certified(key_hex(STATION), ROLE_STATION, at, STATION)


def rejected(directory: CertificateDirectory, at: int = T1) -> str:
    with pytest.raises(Rejected) as exc:
        check(directory, at)
    return exc.value.req_id


def root_refused(root: CertificateAuthority) -> str:
    with pytest.raises(Rejected) as exc:
        CertificateDirectory(root.certificate, [], [])
    return exc.value.req_id


# --- accepting -----------------------------------------------------------------------------


@pytest.mark.req(
    "IOME-CERT-001",
    "IOME-CERT-009",
    "IOME-CERT-010",
    "IOME-CERT-011",
    "IOME-CERT-012",
    "IOME-CERT-013",
    "IOME-CERT-014",
    "IOME-CERT-015",
    "IOME-CERT-018",
)
def test_accepts_two_sub_ca_levels() -> None:
    chain = two_level_chain()
    directory = chain.directory()
    assert check(directory) == chain.leaf
    assert directory.get_paths(chain.leaf) == [
        (chain.leaf, chain.sub2.certificate, chain.sub1.certificate, chain.root.certificate)
    ]


@pytest.mark.req("IOME-CERT-001")
def test_accepts_regardless_of_listing_order_and_repeats() -> None:
    chain = two_level_chain()
    certs = [chain.leaf, chain.sub2.certificate, chain.leaf, chain.sub1.certificate]
    assert check(chain.directory(certs=certs)) == chain.leaf


@pytest.mark.req("IOME-CERT-012")
def test_accepts_path_length_exactly_at_the_limit() -> None:
    # root allows 2 CAs below it, sub1 allows 1: the path has exactly that many.
    assert check(two_level_chain(root_path_length=2, sub1_path_length=1).directory())


@pytest.mark.req("IOME-CERT-013")
def test_accepts_leaf_without_basic_constraints_or_key_usage() -> None:
    chain = two_level_chain()
    chain.leaf = custom_leaf(chain.sub2, [(chain.sub2.authority_key_identifier(), False)])
    assert check(chain.directory()) == chain.leaf


@pytest.mark.req("IOME-CERT-015")
def test_accepts_unknown_non_critical_extension() -> None:
    chain = two_level_chain()
    aki = (chain.sub2.authority_key_identifier(), False)
    chain.leaf = custom_leaf(chain.sub2, [aki, (UNKNOWN, False)])
    assert check(chain.directory()) == chain.leaf


@pytest.mark.req("IOME-CERT-014")
def test_accepts_root_with_its_own_aki() -> None:
    key = seeded_key("root-aki")
    own = x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key())
    root = custom_root("root-ca", key, extra=[(own, False)])
    assert CertificateDirectory(root.certificate, [], []).root == root.certificate


@pytest.mark.req("IOME-CERT-001")
def test_accepts_through_second_path_when_first_fails() -> None:
    # Two certificates of sub-ca-2 with one key: the one issued first in DER order is expired,
    # so the first path fails CERT-002 and the second path is tried.
    chain = two_level_chain()
    other = chain.sub1.issue_ca("sub-ca-2", seeded_key("sub-ca-2"), START, T0, path_length=0)
    chain.extra.append(other.certificate)
    paths = chain.directory().get_paths(chain.leaf)
    assert len(paths) == 2
    assert check(chain.directory()) == chain.leaf


# --- trust anchor (checked when the directory loads) ----------------------------------------


@pytest.mark.req("IOME-CERT-009")
def test_rejects_root_not_self_signed() -> None:
    chain = two_level_chain()
    with pytest.raises(Rejected) as exc:
        CertificateDirectory(chain.sub1.certificate, [], [])
    assert exc.value.req_id == "IOME-CERT-009"


@pytest.mark.req("IOME-CERT-009")
def test_rejects_root_whose_signature_does_not_verify() -> None:
    genuine = custom_root("root-ca", seeded_key("a"))
    # Same name, same extensions, signed by another key: issuer = subject, signature bad.
    forged = custom_root("root-ca", seeded_key("b"))
    tampered = x509.load_der_x509_certificate(
        _swap_signature(genuine.certificate, forged.certificate)
    )
    with pytest.raises(Rejected) as exc:
        CertificateDirectory(tampered, [], [])
    assert exc.value.req_id == "IOME-CERT-009"


def _swap_signature(cert: x509.Certificate, other: x509.Certificate) -> bytes:
    """``cert``'s DER with ``other``'s signature value (both Ed25519: 64 bytes)."""
    data = cert.public_bytes(Encoding.DER)
    assert data.endswith(cert.signature)
    return data[: -len(cert.signature)] + other.signature


@pytest.mark.req("IOME-CERT-009")
def test_rejects_root_with_empty_subject() -> None:
    key = seeded_key("empty")
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(x509.Name([]))
        .serial_number(1)
        .public_key(key.public_key())
        .not_valid_before(moment(START))
        .not_valid_after(moment(END))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    )
    with pytest.raises(Rejected) as exc:
        CertificateDirectory(builder.sign(key, None), [], [])
    assert exc.value.req_id == "IOME-CERT-009"


@pytest.mark.req("IOME-CERT-010", "IOME-CERT-011", "IOME-CERT-014", "IOME-CERT-015")
@pytest.mark.parametrize(
    ("profile", "req_id"),
    [
        ({"ca": False}, "IOME-CERT-010"),
        ({"ca": None}, "IOME-CERT-010"),
        ({"ca_critical": False}, "IOME-CERT-010"),
        ({"no_usage": True}, "IOME-CERT-011"),
        ({"usage": key_usage(digital_signature=True, crl_sign=True)}, "IOME-CERT-011"),
        ({"ski": False}, "IOME-CERT-014"),
        ({"ski_critical": True}, "IOME-CERT-014"),
        ({"extra": [(UNKNOWN, True)]}, "IOME-CERT-015"),
    ],
    ids=[
        "not-ca",
        "no-basic-constraints",
        "basic-constraints-not-critical",
        "no-key-usage",
        "no-cert-sign",
        "no-ski",
        "critical-ski",
        "unknown-critical",
    ],
)
def test_rejects_root_off_profile(profile: dict[str, object], req_id: str) -> None:
    assert root_refused(custom_root("root-ca", seeded_key("r"), **profile)) == req_id


@pytest.mark.req("IOME-CERT-014")
def test_rejects_root_with_foreign_aki() -> None:
    foreign = x509.AuthorityKeyIdentifier.from_issuer_public_key(seeded_key("x").public_key())
    root = custom_root("root-ca", seeded_key("r"), extra=[(foreign, False)])
    assert root_refused(root) == "IOME-CERT-014"


@pytest.mark.req("IOME-CERT-001")
def test_rejects_certificate_with_undecodable_extensions() -> None:
    chain = two_level_chain()
    broken = custom_leaf(
        chain.sub2,
        [(x509.UnrecognizedExtension(ExtensionOID.BASIC_CONSTRAINTS, b"\x01"), True)],
    )
    with pytest.raises(Malformed) as exc:
        chain.directory(certs=[broken])
    assert exc.value.req_id == "IOME-CERT-001"


@pytest.mark.req("IOME-CERT-002")
@pytest.mark.parametrize("at", [START - 1, END + 1])
def test_rejects_root_outside_its_validity(at: int) -> None:
    chain = two_level_chain()
    chain.leaf = chain.sub2.issue(STATION, ROLE_STATION, key_hex(STATION), START - DAY, END + DAY)
    directory = chain.directory(crls=chain.crls(START, END + DAY))
    assert check(directory, START)
    assert rejected(directory, at) == "IOME-CERT-002"


# --- intermediates and paths ----------------------------------------------------------------


@pytest.mark.req("IOME-CERT-001")
def test_rejects_path_missing_an_intermediate() -> None:
    chain = two_level_chain()
    missing_sub1 = chain.directory(
        certs=[chain.sub2.certificate, chain.leaf], crls=[chain.crls()[0], chain.crls()[2]]
    )
    assert rejected(missing_sub1) == "IOME-CERT-001"


@pytest.mark.req("IOME-CERT-001")
def test_rejects_path_longer_than_the_limit() -> None:
    root = CertificateAuthority(seeded_key("root"), "root-ca", START, END)
    cas = [root]
    for level in range(MAX_CERT_PATH_CAS + 1):
        cas.append(cas[-1].issue_ca(f"sub-{level}", seeded_key(f"sub-{level}"), START, END))
    leaf = cas[-1].issue(STATION, ROLE_STATION, key_hex(STATION), T0, T0 + DAY)
    crls = [ca.crl(START, END) for ca in cas]
    certs = [ca.certificate for ca in cas[1:]]
    too_long = CertificateDirectory(root.certificate, [*certs, leaf], crls)
    assert rejected(too_long) == "IOME-CERT-001"
    # One level fewer is a path.
    leaf = cas[-2].issue(STATION, ROLE_STATION, key_hex(STATION), T0, T0 + DAY)
    assert check(CertificateDirectory(root.certificate, [*certs[:-1], leaf], crls[:-1]))


IntermediateChange = Callable[[Chain], None]


def _sub2(**profile: object) -> IntermediateChange:
    def change(chain: Chain) -> None:
        chain.sub2 = custom_ca(chain.sub1, "sub-ca-2", path_length=0, **profile)
        chain.leaf = chain.sub2.issue(STATION, ROLE_STATION, key_hex(STATION), T0, T0 + DAY)

    return change


@pytest.mark.req("IOME-CERT-010", "IOME-CERT-011", "IOME-CERT-014", "IOME-CERT-015")
@pytest.mark.parametrize(
    ("change", "req_id"),
    [
        (_sub2(ca=False), "IOME-CERT-010"),
        (_sub2(ca=None), "IOME-CERT-010"),
        (_sub2(ca_critical=False), "IOME-CERT-010"),
        (_sub2(no_usage=True), "IOME-CERT-011"),
        (_sub2(usage=key_usage(digital_signature=True, crl_sign=True)), "IOME-CERT-011"),
        (_sub2(ski=False), "IOME-CERT-014"),
        (_sub2(ski_critical=True), "IOME-CERT-014"),
        (_sub2(no_aki=True), "IOME-CERT-014"),
        (
            _sub2(
                aki=x509.AuthorityKeyIdentifier.from_issuer_public_key(seeded_key("x").public_key())
            ),
            "IOME-CERT-014",
        ),
        (
            _sub2(extra=[(x509.NameConstraints([x509.DNSName("iome.example")], None), True)]),
            "IOME-CERT-015",
        ),
        (_sub2(extra=[(x509.PolicyConstraints(0, None), True)]), "IOME-CERT-015"),
    ],
    ids=[
        "not-ca",
        "no-basic-constraints",
        "basic-constraints-not-critical",
        "no-key-usage",
        "no-cert-sign",
        "no-ski",
        "critical-ski",
        "no-aki",
        "aki-of-another-key",
        "name-constraints",
        "policy-constraints",
    ],
)
def test_rejects_intermediate_off_profile(change: IntermediateChange, req_id: str) -> None:
    chain = two_level_chain()
    change(chain)
    # Without sub-ca-2's CRL, which an off-profile sub-CA may not be able to sign: every id
    # expected here comes before IOME-CERT-018 in the check order.
    assert rejected(chain.directory(crls=chain.crls()[:2])) == req_id


@pytest.mark.req("IOME-CERT-012")
@pytest.mark.parametrize(("root_len", "sub1_len"), [(1, 1), (2, 0), (0, None)])
def test_rejects_path_longer_than_a_path_length_constraint(
    root_len: int, sub1_len: int | None
) -> None:
    assert rejected(two_level_chain(root_len, sub1_len).directory()) == "IOME-CERT-012"


@pytest.mark.req("IOME-CERT-002")
def test_rejects_expired_intermediate() -> None:
    chain = two_level_chain()
    chain.sub1 = chain.root.issue_ca("sub-ca-1", seeded_key("sub-ca-1"), START, T1 - 1)
    chain.sub2 = chain.sub1.issue_ca("sub-ca-2", seeded_key("sub-ca-2"), START, END)
    chain.leaf = chain.sub2.issue(STATION, ROLE_STATION, key_hex(STATION), T0, T0 + 30 * DAY)
    directory = chain.directory()
    assert check(directory, T1 - 1)
    assert rejected(directory, T1) == "IOME-CERT-002"


@pytest.mark.req("IOME-CERT-003")
def test_rejects_path_through_revoked_intermediate() -> None:
    chain = two_level_chain()
    chain.sub1.revoke(chain.sub2.certificate.serial_number, T1)
    directory = chain.directory()
    assert check(directory, T1 - 1)
    assert rejected(directory, T1) == "IOME-CERT-003"


# --- leaves ----------------------------------------------------------------------------------


LeafExtensions = Callable[[x509.AuthorityKeyIdentifier, x509.SubjectKeyIdentifier], list[Ext]]


@pytest.mark.req("IOME-CERT-013", "IOME-CERT-014", "IOME-CERT-015")
@pytest.mark.parametrize(
    ("extensions", "req_id"),
    [
        (lambda a, s: [(a, False), (x509.BasicConstraints(True, None), True)], "IOME-CERT-013"),
        (lambda a, s: [(a, False), (key_usage(digital_signature=True, cert_sign=True), True)],
         "IOME-CERT-013"),
        (lambda a, s: [(a, False), (key_usage(digital_signature=True, crl_sign=True), True)],
         "IOME-CERT-013"),
        (lambda a, s: [(a, False), (key_usage(), True)], "IOME-CERT-013"),
        (lambda a, s: [(s, False)], "IOME-CERT-014"),
        (lambda a, s: [(a, True)], "IOME-CERT-014"),
        (lambda a, s: [(a, False), (s, True)], "IOME-CERT-014"),
        (lambda a, s: [(a, False), (x509.ExtendedKeyUsage([CLIENT_AUTH]), True)], "IOME-CERT-015"),
        (lambda a, s: [(a, False), (UNKNOWN, True)], "IOME-CERT-015"),
    ],
    ids=[
        "ca",
        "key-cert-sign",
        "crl-sign",
        "no-digital-signature",
        "no-aki",
        "critical-aki",
        "critical-ski",
        "critical-eku",
        "unknown-critical",
    ],
)  # fmt: skip
def test_rejects_leaf_off_profile(extensions: LeafExtensions, req_id: str) -> None:
    chain = two_level_chain()
    aki = chain.sub2.authority_key_identifier()
    ski = x509.SubjectKeyIdentifier.from_public_key(seeded_key(STATION).public_key())
    chain.leaf = custom_leaf(chain.sub2, extensions(aki, ski))
    assert rejected(chain.directory()) == req_id


# --- order and determinism -------------------------------------------------------------------


@pytest.mark.req("IOME-CERT-004")
def test_rejects_role_before_profile() -> None:
    # A verifier certificate that is also a CA: the role is checked first.
    chain = two_level_chain()
    aki = (chain.sub2.authority_key_identifier(), False)
    chain.leaf = custom_leaf(
        chain.sub2, [aki, (x509.BasicConstraints(ca=True, path_length=None), True)]
    )
    directory = chain.directory()
    with pytest.raises(Rejected) as exc:
        directory.check_certified(key_hex(STATION), ROLE_VERIFIER, T1)
    assert exc.value.req_id == "IOME-CERT-004"


@pytest.mark.req("IOME-CERT-003")
def test_rejects_with_furthest_failure_whatever_the_listing_order() -> None:
    # Three certificates for one key: one from an unknown CA (CERT-001), one through a non-CA
    # (CERT-010), one revoked (CERT-003). CERT-003 got furthest.
    chain = two_level_chain()
    stranger = CertificateAuthority(seeded_key("stranger"), "nobody", START, END)
    unknown = stranger.issue(STATION, ROLE_STATION, key_hex(STATION), T0, T0 + DAY)
    non_ca = custom_ca(chain.sub1, "sub-ca-x", ca=False)
    through_non_ca = non_ca.issue(STATION, ROLE_STATION, key_hex(STATION), T0, T0 + DAY)
    chain.sub2.revoke(chain.leaf.serial_number, T0)
    certs = [chain.sub1.certificate, chain.sub2.certificate, chain.leaf, unknown]
    certs += [non_ca.certificate, through_non_ca]
    for order in (certs, certs[::-1]):
        assert rejected(chain.directory(certs=order)) == "IOME-CERT-003"


def test_check_order_lists_every_path_rule_once() -> None:
    assert len(set(CHECK_ORDER)) == len(CHECK_ORDER) == 12
    assert CHECK_ORDER.index("IOME-CERT-001") > CHECK_ORDER.index("IOME-CERT-013")
    assert CHECK_ORDER[-3:] == ("IOME-CERT-002", "IOME-CERT-018", "IOME-CERT-003")


@pytest.mark.req("IOME-CERT-008")
def test_rejects_crl_of_issuer_without_crl_sign() -> None:
    chain = two_level_chain()
    no_crl_sign = custom_ca(
        chain.sub1,
        "sub-ca-2",
        path_length=0,
        usage=key_usage(digital_signature=True, cert_sign=True),
    )
    with pytest.raises(Rejected) as exc:
        chain.directory(
            certs=[chain.sub1.certificate, no_crl_sign.certificate],
            crls=[*chain.crls()[:2], custom_crl(no_crl_sign, seeded_key("sub-ca-2"))],
        )
    assert exc.value.req_id == "IOME-CERT-008"


@pytest.mark.req("IOME-CERT-001")
def test_rejects_certificate_with_an_extension_twice_as_malformed() -> None:
    # cryptography raises DuplicateExtension, which is no ValueError: it escaped as a
    # traceback from load_extensions before it was caught there.
    chain = two_level_chain()
    twice = with_extension_twice(chain.leaf, seeded_key("sub-ca-2"))
    with pytest.raises(Malformed) as exc:
        chain.directory(certs=[chain.sub1.certificate, chain.sub2.certificate, twice])
    assert exc.value.req_id == "IOME-CERT-001"
    assert exc.value.message.startswith(
        f"certificate {twice.serial_number} extensions do not decode: "
    )


# --- each refusal's message (called directly: the message is what a user reads) ------------

SERIAL = 77
BARE = seeded_key("bare")


def _bare(
    extensions: list[Ext], cn: str | None = "sub-ca-2", key: object = None
) -> x509.Certificate:
    """A certificate with exactly ``extensions``, CN ``cn`` (none: an O only), serial 77."""
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "IoME")]
    if cn is not None:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(x509.Name(attributes))
        .serial_number(SERIAL)
        .public_key(key or BARE.public_key())  # type: ignore[arg-type]
        .not_valid_before(moment(START))
        .not_valid_after(moment(END))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical)
    return builder.sign(BARE, None)


def _with_unknown_key_algorithm(cert: x509.Certificate) -> x509.Certificate:
    """``cert`` with its key's algorithm OID 1.3.101.112 (Ed25519) turned into 1.3.101.114,
    which no library knows (the signature no longer verifies; the key check reads no more)."""
    data = cert.public_bytes(Encoding.DER)
    ed25519 = bytes.fromhex("06032b6570")
    at = data.index(ed25519, data.index(ed25519) + 1)  # the first is the signature algorithm
    return x509.load_der_x509_certificate(data[:at] + bytes.fromhex("06032b6572") + data[at + 5 :])


BC_CA = (x509.BasicConstraints(ca=True, path_length=None), True)
SKI = x509.SubjectKeyIdentifier.from_public_key(BARE.public_key())
OTHER_AKI = x509.AuthorityKeyIdentifier.from_issuer_public_key(seeded_key("x").public_key())
OTHER_KEY_ID = OTHER_AKI.key_identifier.hex()  # type: ignore[union-attr]
NO_KEY_ID_AKI = x509.AuthorityKeyIdentifier(None, [x509.DirectoryName(x509.Name([]))], 1)
P256 = ec.derive_private_key(12345, ec.SECP256R1()).public_key()

Judge = Callable[[], object]
MESSAGES: list[tuple[str, Judge, str, str]] = [
    ("ed25519-other-curve", lambda: check_certificate_key_is_ed25519(_bare([], key=P256)),
     "IOME-CERT-007", f"certificate key must be Ed25519, found {type(P256).__name__}"),
    ("ed25519-unknown-algorithm",
     lambda: check_certificate_key_is_ed25519(_with_unknown_key_algorithm(_bare([]))),
     "IOME-CERT-007", "certificate key must be Ed25519, found an unsupported key"),
    ("anchor-empty-subject",
     lambda: check_trust_anchor_self_signed(_empty_subject_root()),
     "IOME-CERT-009", "trust anchor subject must not be empty"),
    ("anchor-not-self-signed",
     lambda: check_trust_anchor_self_signed(two_level_chain().sub1.certificate),
     "IOME-CERT-009", "trust anchor must be self-signed: issuer = subject, own signature"),
    ("no-path", lambda: check_path_found(_bare([]), []),
     "IOME-CERT-001", f"certificate serial {SERIAL} has no certification path to the root"),
    ("role", lambda: check_certificate_role(two_level_chain().leaf, ROLE_VERIFIER),
     "IOME-CERT-004",
     f"certificate role (OU) must be {ROLE_VERIFIER!r}, found {ROLE_STATION!r}"),
    ("subject", lambda: check_certificate_subject_id(two_level_chain().leaf, "st-2"),
     "IOME-CERT-005", "certificate CN must be 'st-2', found 'st-1'"),
    ("leaf-ca", lambda: check_leaf_is_end_entity(_bare([BC_CA])),
     "IOME-CERT-013", "certified key's certificate must not be a CA (cA=true)"),
    ("leaf-cert-sign",
     lambda: check_leaf_is_end_entity(_bare([(key_usage(digital_signature=True,
                                                        cert_sign=True), True)])),
     "IOME-CERT-013", "certified key's keyUsage must not allow keyCertSign/cRLSign"),
    ("leaf-no-digital-signature", lambda: check_leaf_is_end_entity(_bare([(key_usage(), True)])),
     "IOME-CERT-013", "certified key's keyUsage must allow digitalSignature"),
    ("ca-no-basic-constraints", lambda: check_ca_basic_constraints(_bare([])),
     "IOME-CERT-010", "issuer 'sub-ca-2' must carry basicConstraints cA=true"),
    ("ca-no-cn", lambda: check_ca_basic_constraints(_bare([], cn=None)),
     "IOME-CERT-010", f"issuer '{SERIAL}' must carry basicConstraints cA=true"),
    ("ca-not-critical",
     lambda: check_ca_basic_constraints(_bare([(x509.BasicConstraints(True, None), False)])),
     "IOME-CERT-010", "issuer 'sub-ca-2' basicConstraints must be critical"),
    ("ca-no-usage", lambda: check_ca_key_usage(_bare([BC_CA])),
     "IOME-CERT-011", "issuer 'sub-ca-2' keyUsage must include keyCertSign"),
    ("ca-no-usage-no-cn", lambda: check_ca_key_usage(_bare([BC_CA], cn=None)),
     "IOME-CERT-011", f"issuer '{SERIAL}' keyUsage must include keyCertSign"),
    ("path-length",
     lambda: check_path_length([_bare([]), _bare([BC_CA]),
                                _bare([(x509.BasicConstraints(True, 0), True)])]),
     "IOME-CERT-012", "issuer 'sub-ca-2' allows 0 CAs below it, found 1"),
    ("path-length-no-cn",
     lambda: check_path_length([_bare([]), _bare([BC_CA]),
                                _bare([(x509.BasicConstraints(True, 0), True)], cn=None)]),
     "IOME-CERT-012", f"issuer '{SERIAL}' allows 0 CAs below it, found 1"),
    ("ski-critical", lambda: check_key_identifiers(_bare([(SKI, True)]), None, is_ca=False),
     "IOME-CERT-014", "certificate 'sub-ca-2': subjectKeyIdentifier must be non-critical"),
    ("ca-no-ski", lambda: check_key_identifiers(_bare([]), None, is_ca=True),
     "IOME-CERT-014", "certificate 'sub-ca-2': a CA must carry subjectKeyIdentifier"),
    ("ca-no-ski-no-cn", lambda: check_key_identifiers(_bare([], cn=None), None, is_ca=True),
     "IOME-CERT-014", f"certificate {SERIAL}: a CA must carry subjectKeyIdentifier"),
    ("aki-critical", lambda: check_key_identifiers(_bare([(OTHER_AKI, True)]), None, is_ca=False),
     "IOME-CERT-014", "certificate 'sub-ca-2': authorityKeyIdentifier must be non-critical"),
    ("no-aki", lambda: check_key_identifiers(_bare([]), _bare([(SKI, False)]), is_ca=False),
     "IOME-CERT-014", "certificate 'sub-ca-2': must carry authorityKeyIdentifier"),
    ("aki-of-another-key",
     lambda: check_key_identifiers(_bare([(OTHER_AKI, False)]), _bare([(SKI, False)]),
                                   is_ca=False),
     "IOME-CERT-014",
     f"certificate 'sub-ca-2': authorityKeyIdentifier must be the issuer's SKI "
     f"{SKI.digest.hex()}, found {OTHER_KEY_ID}"),
    ("aki-without-key-id",
     lambda: check_key_identifiers(_bare([(NO_KEY_ID_AKI, False)]), _bare([(SKI, False)]),
                                   is_ca=False),
     "IOME-CERT-014",
     f"certificate 'sub-ca-2': authorityKeyIdentifier must be the issuer's SKI "
     f"{SKI.digest.hex()}, found None"),
    ("aki-issuer-without-ski",
     lambda: check_key_identifiers(_bare([(OTHER_AKI, False)]), _bare([]), is_ca=False),
     "IOME-CERT-014",
     f"certificate 'sub-ca-2': authorityKeyIdentifier must be the issuer's SKI None, "
     f"found {OTHER_KEY_ID}"),
    ("unknown-critical", lambda: check_no_unknown_critical_extension(_bare([(UNKNOWN, True)])),
     "IOME-CERT-015",
     "certificate 'sub-ca-2' has critical extension 1.3.6.1.4.1.55555.9, "
     "which IoME does not process"),
    ("not-yet-valid", lambda: check_certificate_valid_at(_bare([]), START - 1),
     "IOME-CERT-002",
     f"certificate 'sub-ca-2' is valid in [{START}, {END}], not at {START - 1}"),
]  # fmt: skip


def _empty_subject_root() -> x509.Certificate:
    key = seeded_key("empty")
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(x509.Name([]))
        .serial_number(1)
        .public_key(key.public_key())
        .not_valid_before(moment(START))
        .not_valid_after(moment(END))
    )
    return builder.sign(key, None)


@pytest.mark.req(*sorted({req_id for _, _, req_id, _ in MESSAGES}))
@pytest.mark.parametrize(
    ("judge", "req_id", "message"),
    [case[1:] for case in MESSAGES],
    ids=[case[0] for case in MESSAGES],
)
def test_rejects_off_profile_saying_what_and_where(judge: Judge, req_id: str, message: str) -> None:
    with pytest.raises(Rejected) as exc:
        judge()
    assert (exc.value.req_id, exc.value.message) == (req_id, message)


# --- the directory: sub-ca-1 (the CA below the root) is judged like sub-ca-2 ----------------


def _sub1(**profile: object) -> IntermediateChange:
    def change(chain: Chain) -> None:
        chain.sub1 = custom_ca(chain.root, "sub-ca-1", path_length=1, **profile)
        chain.sub2 = chain.sub1.issue_ca("sub-ca-2", seeded_key("sub-ca-2"), START, END)
        chain.leaf = chain.sub2.issue(STATION, ROLE_STATION, key_hex(STATION), T0, T0 + DAY)

    return change


@pytest.mark.req("IOME-CERT-010", "IOME-CERT-011", "IOME-CERT-014", "IOME-CERT-015")
@pytest.mark.parametrize(
    ("change", "req_id"),
    [
        (_sub1(ca=False), "IOME-CERT-010"),
        (_sub1(usage=key_usage(digital_signature=True, crl_sign=True)), "IOME-CERT-011"),
        (
            _sub1(
                aki=x509.AuthorityKeyIdentifier.from_issuer_public_key(seeded_key("x").public_key())
            ),
            "IOME-CERT-014",
        ),
        (_sub1(extra=[(UNKNOWN, True)]), "IOME-CERT-015"),
    ],
    ids=["not-ca", "no-cert-sign", "aki-of-another-key", "unknown-critical"],
)
def test_rejects_ca_below_the_root_off_profile(change: IntermediateChange, req_id: str) -> None:
    chain = two_level_chain()
    change(chain)
    # Only the root's CRL: every id expected here comes before IOME-CERT-018.
    assert rejected(chain.directory(crls=chain.crls()[:1])) == req_id


@pytest.mark.req("IOME-CERT-001")
def test_accepts_root_listed_among_the_certificates_as_one_path() -> None:
    chain = two_level_chain()
    directory = chain.directory(
        certs=[chain.root.certificate, chain.sub1.certificate, chain.sub2.certificate, chain.leaf]
    )
    assert directory.get_paths(chain.leaf) == [
        (chain.leaf, chain.sub2.certificate, chain.sub1.certificate, chain.root.certificate)
    ]


def test_paths_never_hold_a_certificate_twice() -> None:
    # x is certified by the root and by itself (self-issued): the paths are leaf, x, root and
    # leaf, x (self-issued), x, root; never the self-issued certificate a second time.
    chain = two_level_chain()
    x_by_root = chain.root.issue_ca("x", seeded_key("x"), START, END)
    x_by_x = x_by_root.issue_ca("x", seeded_key("x"), START, END)
    leaf = x_by_root.issue(STATION, ROLE_STATION, key_hex(STATION), T0, T0 + DAY)
    certs = [x_by_root.certificate, x_by_x.certificate, leaf]
    paths = chain.directory(crls=[], certs=certs).get_paths(leaf)
    assert sorted(len(path) for path in paths) == [3, 4]
    for path in paths:
        assert len({c.public_bytes(Encoding.DER) for c in path}) == len(path)


@pytest.mark.req("IOME-CERT-001")
def test_rejects_forged_certificate_after_a_genuine_one_from_the_same_issuer() -> None:
    # The signature cache is per (certificate, issuer): a verdict on the genuine station must
    # not answer for another certificate in the same issuer's name.
    chain = two_level_chain()
    forged = CertificateAuthority.from_certificate(
        seeded_key("thief"), chain.sub2.certificate
    ).issue("st-2", ROLE_STATION, key_hex("st-2"), T0, T0 + DAY)
    directory = chain.directory(
        certs=[chain.sub1.certificate, chain.sub2.certificate, chain.leaf, forged]
    )
    assert check(directory) == chain.leaf
    with pytest.raises(Rejected) as exc:
        directory.check_certified(key_hex("st-2"), ROLE_STATION, T1, "st-2")
    assert exc.value.req_id == "IOME-CERT-001"


def test_directory_reuses_its_paths_and_successors() -> None:
    # Paths and the directory a CRL puts in force are computed once (signatures are the cost)
    # and answered per certificate and per CRL.
    chain = two_level_chain()
    directory = chain.directory()
    assert directory.get_paths(chain.leaf) is directory.get_paths(chain.leaf)
    first = chain.sub2.crl(START + 1, END)
    chain.sub2.revoke(chain.leaf.serial_number, T1)
    second = chain.sub2.crl(START + 2, END)
    after_first = directory.with_revocation_list(first)
    assert directory.with_revocation_list(first) is after_first
    after_second = directory.with_revocation_list(second)
    assert after_second is not after_first
    assert after_first.crls[-1] == first
    assert after_second.crls[-1] == second
    assert check(after_first) == chain.leaf
    assert rejected(after_second) == "IOME-CERT-003"


def test_accept_crl_refuses_a_crl_without_next_update_should_the_profile_let_it_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Defence in depth behind IOME-CERT-016: the profile refuses it first (tested above).
    chain = two_level_chain()
    crl = retimed_crl(chain.sub2.crl(START, END), seeded_key("sub-ca-2"), drop_next_update=True)
    monkeypatch.setattr("iome_ref.pki.directory.check_crl_profile", lambda crl: None)
    with pytest.raises(UsageError) as exc:
        chain.directory().with_revocation_list(crl)
    assert (exc.value.component, exc.value.message) == (
        "pki",
        "revocation list without nextUpdate passed its profile",
    )
