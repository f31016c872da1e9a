"""Revocation lists: profile, issuer, one entry per serial, required status, succession (D3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import CRLEntryExtensionOID, ExtensionOID, NameOID
from pki_chains import (
    DAY,
    END,
    START,
    STATION,
    T0,
    Chain,
    custom_crl,
    key_hex,
    moment,
    retimed_crl,
    seeded_key,
    two_level_chain,
    with_extension_twice,
)

from iome_ref.constants import ROLE_STATION
from iome_ref.errors import Malformed, Rejected, UsageError
from iome_ref.pki import CertificateAuthority, CertificateDirectory, key_usage, load_crl_der
from iome_ref.pki.fields import to_datetime
from iome_ref.pki.revocation import (
    KNOWN_CRL_ENTRY_EXTENSIONS,
    CrlInForce,
    check_certificate_not_revoked,
    check_crl_issuer,
    check_crl_keeps_entries,
    check_crl_number_increases,
    check_crl_profile,
    check_crl_serials_distinct,
    check_revocation_status_known,
    get_issuer_key,
)
from iome_ref.vectors.world import T0 as WORLD_T0
from iome_ref.vectors.world import build_world

T1 = T0 + DAY
UNKNOWN = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.9"), b"\x05\x00")


def with_sub2_crl(chain: Chain, crl: x509.CertificateRevocationList) -> CertificateDirectory:
    """The chain's directory whose sub-ca-2 CRL is ``crl``."""
    return chain.directory(crls=[*chain.crls()[:2], crl])


def refused(chain: Chain, crl: x509.CertificateRevocationList) -> str:
    with pytest.raises(Rejected) as exc:
        with_sub2_crl(chain, crl)
    return exc.value.req_id


def check(directory: CertificateDirectory, at: int = T1) -> x509.Certificate:
    return directory.check_certified(key_hex(STATION), ROLE_STATION, at, STATION)


def rejected(directory: CertificateDirectory, at: int = T1) -> str:
    with pytest.raises(Rejected) as exc:
        check(directory, at)
    return exc.value.req_id


# --- loading -------------------------------------------------------------------------------


@pytest.mark.req("IOME-CERT-016")
def test_accepts_der_crl() -> None:
    chain = two_level_chain()
    crl = chain.sub2.crl(START, END)
    loaded = load_crl_der(crl.public_bytes(Encoding.DER))
    assert loaded == crl
    assert check(with_sub2_crl(chain, loaded)) == chain.leaf


@pytest.mark.req("IOME-CERT-016")
@pytest.mark.parametrize("data", [b"", b"\x30\x00", b"not a crl", b"\x30\x82\xff\xff"])
def test_rejects_der_that_is_not_a_crl(data: bytes) -> None:
    with pytest.raises(Malformed) as exc:
        load_crl_der(data)
    assert exc.value.req_id == "IOME-CERT-016"


def test_rejects_non_bytes_crl_as_usage_error() -> None:
    with pytest.raises(UsageError) as exc:
        load_crl_der("30 00")  # type: ignore[arg-type]
    assert exc.value.component == "pki"


def test_rejects_single_crl_instead_of_a_list() -> None:
    chain = two_level_chain()
    with pytest.raises(UsageError) as exc:
        CertificateDirectory(chain.root.certificate, [], chain.root.crl(START, END))  # type: ignore[arg-type]
    assert (exc.value.component, exc.value.message) == (
        "pki",
        "crls must be a sequence of revocation lists, found one CRL",
    )


# --- profile, entries, issuer --------------------------------------------------------------

REASON_REMOVE = x509.CRLReason(x509.ReasonFlags.remove_from_crl)


@pytest.mark.req("IOME-CERT-016")
@pytest.mark.parametrize(
    "options",
    [
        {"number": None},
        {"number_critical": True},
        {"aki": False},
        {"extensions": [(UNKNOWN, True)]},
        {"extensions": [(x509.DeltaCRLIndicator(1), True)]},
        {"entries": [(5, T0)], "entry_extensions": [(UNKNOWN, True)]},
        {"entries": [(5, T0)], "entry_extensions": [(REASON_REMOVE, False)]},
    ],
    ids=[
        "no-number",
        "critical-number",
        "no-aki",
        "unknown-critical",
        "delta-crl",
        "entry-unknown-critical",
        "entry-remove-from-crl",
    ],
)
def test_rejects_crl_off_profile(options: dict[str, object]) -> None:
    chain = two_level_chain()
    crl = custom_crl(chain.sub2, seeded_key("sub-ca-2"), **options)  # type: ignore[arg-type]
    assert refused(chain, crl) == "IOME-CERT-016"


@pytest.mark.req("IOME-CERT-016")
@pytest.mark.parametrize(
    "change", [{"drop_next_update": True}, {"swap_times": True}], ids=["no-next", "swapped"]
)
def test_rejects_crl_times_off_profile(change: dict[str, bool]) -> None:
    chain = two_level_chain()
    crl = retimed_crl(chain.sub2.crl(START, END), seeded_key("sub-ca-2"), **change)
    assert refused(chain, crl) == "IOME-CERT-016"


@pytest.mark.req("IOME-CERT-016")
def test_accepts_informative_entry_extensions_and_unknown_non_critical_ones() -> None:
    chain = two_level_chain()
    reason = x509.CRLReason(x509.ReasonFlags.key_compromise)
    invalidity = x509.InvalidityDate(moment(T0))
    crl = custom_crl(
        chain.sub2,
        seeded_key("sub-ca-2"),
        [(chain.leaf.serial_number, T1 + 1)],
        extensions=[(UNKNOWN, False)],
        entry_extensions=[(reason, False), (invalidity, False)],
    )
    directory = with_sub2_crl(chain, crl)
    assert check(directory, T1) == chain.leaf
    assert rejected(directory, T1 + 1) == "IOME-CERT-003"


@pytest.mark.req("IOME-CERT-017")
@pytest.mark.parametrize("dates", [(T1 + 5, T0), (T0, T1 + 5), (T0, T0)])
def test_rejects_crl_with_duplicate_serial(dates: tuple[int, int]) -> None:
    chain = two_level_chain()
    serial = chain.leaf.serial_number
    crl = custom_crl(chain.sub2, seeded_key("sub-ca-2"), [(serial, dates[0]), (serial, dates[1])])
    assert refused(chain, crl) == "IOME-CERT-017"


@pytest.mark.req("IOME-CERT-008")
def test_rejects_crl_signed_by_another_key_in_the_issuers_name() -> None:
    chain = two_level_chain()
    # The right name and AKI, the wrong signing key.
    assert refused(chain, custom_crl(chain.sub2, seeded_key("thief"))) == "IOME-CERT-008"


@pytest.mark.req("IOME-CERT-008")
def test_rejects_crl_of_a_ca_not_in_the_directory() -> None:
    chain = two_level_chain()
    stranger = CertificateAuthority(seeded_key("stranger"), "stranger", START, END)
    with pytest.raises(Rejected) as exc:
        chain.directory().with_revocation_list(stranger.crl(START, END))
    assert exc.value.req_id == "IOME-CERT-008"


@pytest.mark.req("IOME-CERT-008")
def test_rejects_crl_by_a_leaf_key() -> None:
    chain = two_level_chain()
    station = CertificateAuthority.from_certificate(seeded_key(STATION), chain.leaf)
    with pytest.raises(Rejected) as exc:
        chain.directory().with_revocation_list(station.crl(START, END))
    assert exc.value.req_id == "IOME-CERT-008"


# --- revocation status at the claimed time --------------------------------------------------


@pytest.mark.req("IOME-CERT-018")
def test_rejects_when_issuer_has_no_crl() -> None:
    chain = two_level_chain()
    assert rejected(chain.directory(crls=chain.crls()[:2])) == "IOME-CERT-018"
    # The root's CRL covers sub-ca-1: without it, sub-ca-1's status is unknown.
    assert rejected(chain.directory(crls=chain.crls()[1:])) == "IOME-CERT-018"


@pytest.mark.req("IOME-CERT-018")
def test_accepts_crl_speaking_until_its_next_update_inclusive() -> None:
    chain = two_level_chain()
    directory = with_sub2_crl(chain, chain.sub2.crl(START, T1))
    assert check(directory, T1) == chain.leaf
    assert rejected(directory, T1 + 1) == "IOME-CERT-018"


@pytest.mark.req("IOME-CERT-003", "IOME-CERT-018")
def test_accepts_crl_issued_after_the_claimed_time() -> None:
    # A CRL issued later still knows every revocation dated at or before t.
    chain = two_level_chain()
    chain.sub2.revoke(chain.leaf.serial_number, T1 + 10)
    directory = with_sub2_crl(chain, chain.sub2.crl(T1 + 100, END))
    assert check(directory, T1 + 9) == chain.leaf
    assert rejected(directory, T1 + 10) == "IOME-CERT-003"


@pytest.mark.req("IOME-CERT-018")
def test_rejects_stale_crl_before_reading_its_entries() -> None:
    chain = two_level_chain()
    chain.sub2.revoke(chain.leaf.serial_number, T0)
    assert rejected(with_sub2_crl(chain, chain.sub2.crl(START, T1 - 1))) == "IOME-CERT-018"


@pytest.mark.req("IOME-CERT-018")
def test_rejects_certificate_whose_issuer_key_has_no_crl_after_rekeying() -> None:
    # sub-ca-2 re-keyed under the same name: the new key's CRL does not speak for
    # certificates the old key signed, so the old station is "unknown", not "fine".
    chain = two_level_chain()
    rekeyed = chain.sub1.issue_ca("sub-ca-2", seeded_key("sub-ca-2-new"), START, END)
    rekeyed.revoke(chain.leaf.serial_number, T0)
    chain.extra.append(rekeyed.certificate)
    directory = chain.directory(crls=[*chain.crls()[:2], rekeyed.crl(START, END)])
    assert rejected(directory) == "IOME-CERT-018"


# --- succession: with_revocation_list -------------------------------------------------------


@pytest.mark.req("IOME-CERT-003", "IOME-CERT-019", "IOME-CERT-020")
def test_accepts_later_crl_as_a_new_directory() -> None:
    chain = two_level_chain()
    before = chain.directory()
    chain.sub2.revoke(chain.leaf.serial_number, T1)
    after = before.with_revocation_list(chain.sub2.crl(START + 1, END))
    assert check(before, T1) == chain.leaf
    assert rejected(after, T1) == "IOME-CERT-003"
    assert check(after, T1 - 1) == chain.leaf
    assert len(after.crls) == len(before.crls) == 3
    assert CertificateDirectory.from_json(after.to_json()).to_json() == after.to_json()
    # A third CRL that adds an entry and keeps the first is fine too.
    chain.sub2.revoke(999, T0)
    assert after.with_revocation_list(chain.sub2.crl(START + 2, END)).crls


@pytest.mark.req("IOME-CERT-019")
@pytest.mark.parametrize("number", [START, START - 1])
def test_rejects_crl_number_not_increasing(number: int) -> None:
    chain = two_level_chain()
    directory = chain.directory()
    with pytest.raises(Rejected) as exc:
        directory.with_revocation_list(chain.sub2.crl(START + 5, END, number=number))
    assert exc.value.req_id == "IOME-CERT-019"


@pytest.mark.req("IOME-CERT-020")
def test_rejects_crl_that_un_revokes() -> None:
    chain = two_level_chain()
    chain.sub2.revoke(chain.leaf.serial_number, T1)
    directory = chain.directory()
    forgetful = CertificateAuthority.from_certificate(
        seeded_key("sub-ca-2"), chain.sub2.certificate
    )
    with pytest.raises(Rejected) as exc:
        directory.with_revocation_list(forgetful.crl(START + 1, END))
    assert exc.value.req_id == "IOME-CERT-020"
    assert rejected(directory, T1) == "IOME-CERT-003"  # the old directory is unchanged


@pytest.mark.req("IOME-CERT-020")
@pytest.mark.parametrize("new_date", [T1 + 1, T1 - 1])
def test_rejects_crl_that_re_dates(new_date: int) -> None:
    chain = two_level_chain()
    serial = chain.leaf.serial_number
    directory = with_sub2_crl(chain, custom_crl(chain.sub2, seeded_key("sub-ca-2"), [(serial, T1)]))
    later = custom_crl(chain.sub2, seeded_key("sub-ca-2"), [(serial, new_date)], number=START + 1)
    with pytest.raises(Rejected) as exc:
        directory.with_revocation_list(later)
    assert exc.value.req_id == "IOME-CERT-020"


@pytest.mark.req("IOME-CERT-016", "IOME-CERT-017", "IOME-CERT-008", "IOME-CERT-019")
def test_rejects_crl_in_the_stated_order() -> None:
    # Off profile and duplicated and signed by a thief and not increasing: CERT-016 first.
    chain = two_level_chain()
    directory = chain.directory()
    serial = chain.leaf.serial_number
    thief = seeded_key("thief")
    cases = [
        (custom_crl(chain.sub2, thief, [(serial, T0), (serial, T0)], aki=False), "IOME-CERT-016"),
        (custom_crl(chain.sub2, thief, [(serial, T0), (serial, T0)]), "IOME-CERT-017"),
        (custom_crl(chain.sub2, thief, number=START - 1), "IOME-CERT-008"),
        (custom_crl(chain.sub2, seeded_key("sub-ca-2"), number=START - 1), "IOME-CERT-019"),
    ]
    for crl, req_id in cases:
        with pytest.raises(Rejected) as exc:
            directory.with_revocation_list(crl)
        assert exc.value.req_id == req_id


def test_rejects_with_revocation_list_of_a_non_crl() -> None:
    with pytest.raises(UsageError) as exc:
        two_level_chain().directory().with_revocation_list(b"crl")  # type: ignore[arg-type]
    assert exc.value.component == "pki"


def test_crl_entry_extension_oids_are_the_documented_ones() -> None:
    assert {
        CRLEntryExtensionOID.CRL_REASON,
        CRLEntryExtensionOID.INVALIDITY_DATE,
    } == KNOWN_CRL_ENTRY_EXTENSIONS


def test_load_and_apply_refuse_what_is_no_der_crl_naming_what_they_got() -> None:
    with pytest.raises(UsageError) as usage:
        load_crl_der("3000")  # type: ignore[arg-type]
    assert (usage.value.component, usage.value.message) == (
        "pki",
        "a DER CRL must be bytes, found str",
    )
    with pytest.raises(Malformed) as bad:
        load_crl_der(b"\x30\x00")
    assert bad.value.req_id == "IOME-CERT-016"
    assert bad.value.message.startswith("revocation list does not parse: ")
    world = build_world(3)
    with pytest.raises(UsageError) as wrong:
        world.directory.with_revocation_list(b"\x30\x00")  # type: ignore[arg-type]
    assert (wrong.value.component, wrong.value.message) == (
        "pki",
        "expected a revocation list, found bytes",
    )


def test_is_certified_answers_for_the_subject_asked_about() -> None:
    world = build_world(3)
    key = world.key("st-a").public_hex
    assert world.directory.is_certified(key, ROLE_STATION, WORLD_T0 + 1, "st-a")
    assert not world.directory.is_certified(key, ROLE_STATION, WORLD_T0 + 1, "st-b")


def test_to_datetime_takes_integer_seconds_only_and_answers_in_utc() -> None:
    assert to_datetime(86_400, "at") == datetime(1970, 1, 2, tzinfo=UTC)
    assert to_datetime(86_400, "at").utcoffset() == timedelta(0)
    for value in (True, 1.5, "1"):
        with pytest.raises(UsageError) as exc:
            to_datetime(value, "at")  # type: ignore[arg-type]
        assert (exc.value.component, exc.value.message) == (
            "pki",
            f"at must be integer unix seconds, found {value!r}",
        )
    with pytest.raises(UsageError) as exc:
        to_datetime(10**20, "not_after")
    assert exc.value.component == "pki"
    assert exc.value.message.startswith(f"not_after {10**20} is out of range: ")


# --- the profile's refusals, each with its message ------------------------------------------

NOT_A_NUMBER = x509.UnrecognizedExtension(ExtensionOID.CRL_NUMBER, b"\x04\x00")
NO_NUMBER = "revocation list must carry a non-critical, non-negative CRLNumber"
NO_AKI = "revocation list must carry a non-critical authorityKeyIdentifier with a key id"


def _sub2_crl(**options: object) -> x509.CertificateRevocationList:
    chain = two_level_chain()
    return custom_crl(chain.sub2, seeded_key("sub-ca-2"), **options)  # type: ignore[arg-type]


def _aki_without_key_id() -> x509.AuthorityKeyIdentifier:
    sub1 = two_level_chain().sub1
    return x509.AuthorityKeyIdentifier(None, [x509.DirectoryName(sub1.name)], 2)


@pytest.mark.req("IOME-CERT-016")
@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: _sub2_crl(number=None), NO_NUMBER),
        (lambda: _sub2_crl(number_critical=True), NO_NUMBER),
        (lambda: _sub2_crl(aki=False), NO_AKI),
        (
            lambda: _sub2_crl(
                aki=False,
                extensions=[(two_level_chain().sub2.authority_key_identifier(), True)],
            ),
            NO_AKI,
        ),
        (lambda: _sub2_crl(aki=False, extensions=[(_aki_without_key_id(), False)]), NO_AKI),
        (
            lambda: _sub2_crl(extensions=[(UNKNOWN, True)]),
            "revocation list has critical extension 1.3.6.1.4.1.55555.9, "
            "which IoME does not process",
        ),
        (
            lambda: _sub2_crl(entries=[(5, T0)], entry_extensions=[(UNKNOWN, True)]),
            "revocation entry 5 has critical extension 1.3.6.1.4.1.55555.9, "
            "which IoME does not process",
        ),
        (
            lambda: _sub2_crl(entries=[(5, T0)], entry_extensions=[(REASON_REMOVE, False)]),
            "revocation entry 5 has reason removeFromCRL, which only a delta CRL may carry",
        ),
        (
            lambda: retimed_crl(_sub2_crl(), seeded_key("sub-ca-2"), drop_next_update=True),
            "revocation list must carry nextUpdate",
        ),
        (
            lambda: retimed_crl(_sub2_crl(), seeded_key("sub-ca-2"), swap_times=True),
            "revocation list thisUpdate must not follow nextUpdate",
        ),
    ],
    ids=[
        "no-number",
        "critical-number",
        "no-aki",
        "critical-aki",
        "aki-without-key-id",
        "unknown-critical",
        "entry-unknown-critical",
        "entry-remove-from-crl",
        "no-next",
        "swapped",
    ],
)
def test_rejects_crl_off_profile_saying_why(
    build: Callable[[], x509.CertificateRevocationList], message: str
) -> None:
    with pytest.raises(Rejected) as exc:
        check_crl_profile(build())
    assert (type(exc.value), exc.value.req_id, exc.value.message) == (
        Rejected,
        "IOME-CERT-016",
        message,
    )


@pytest.mark.req("IOME-CERT-016")
@pytest.mark.parametrize(
    "build",
    [
        lambda: _sub2_crl(number=None, extensions=[(NOT_A_NUMBER, False)]),
        lambda: with_extension_twice(_sub2_crl(), seeded_key("sub-ca-2")),
    ],
    ids=["undecodable-number", "number-twice"],
)
def test_rejects_crl_whose_extensions_do_not_decode_as_malformed(
    build: Callable[[], x509.CertificateRevocationList],
) -> None:
    # One extension twice raises cryptography's DuplicateExtension, which is no ValueError:
    # it escaped as a traceback before it was caught here.
    crl = build()
    for judge in (check_crl_profile, two_level_chain().directory().with_revocation_list):
        with pytest.raises(Malformed) as exc:
            judge(crl)  # type: ignore[operator]
        assert exc.value.req_id == "IOME-CERT-016"
        assert exc.value.message.startswith("revocation list extensions do not decode: ")


@pytest.mark.req("IOME-CERT-016")
@pytest.mark.parametrize(
    "options",
    [
        {"this_update": T0, "next_update": T0},
        {"number": 0},
        {"entries": [(5, T0)], "entry_extensions": [(UNKNOWN, False)]},
    ],
    ids=["this-update-is-next-update", "number-zero", "entry-unknown-non-critical"],
)
def test_accepts_crl_at_the_edges_of_the_profile(options: dict[str, object]) -> None:
    check_crl_profile(_sub2_crl(**options))
    chain = two_level_chain()
    crl = custom_crl(chain.sub2, seeded_key("sub-ca-2"), **options)  # type: ignore[arg-type]
    assert with_sub2_crl(chain, crl).crls


# --- the CRL issuer and the status rules, called directly, with their messages --------------

SUB2_NAME = "CN=sub-ca-2,O=IoME"
NOT_SIGNED = (
    f"revocation list of {SUB2_NAME!r} is not signed by a CA of the directory with that name "
    "and key identifier"
)


def _ca_certificate(
    name: x509.Name, key: object, ski: bytes | None, usage: x509.KeyUsage | None = None
) -> x509.Certificate:
    """A CA certificate in ``name`` for ``key`` with SKI ``ski`` (None: no SKI), self-signed
    by an unrelated key: check_crl_issuer reads names, SKIs, keys and keyUsage only."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .serial_number(9)
        .public_key(key)  # type: ignore[arg-type]
        .not_valid_before(moment(START))
        .not_valid_after(moment(END))
        .add_extension(usage or key_usage(cert_sign=True, crl_sign=True), True)
    )
    if ski is not None:
        builder = builder.add_extension(x509.SubjectKeyIdentifier(ski), False)
    return builder.sign(seeded_key("unrelated"), None)


def _sub2_ski(chain: Chain) -> bytes:
    return chain.sub2.certificate.extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier
    ).value.digest


@pytest.mark.req("IOME-CERT-008")
def test_rejects_crl_whose_name_key_id_or_signature_match_no_single_candidate() -> None:
    chain = two_level_chain()
    crl = chain.sub2.crl(START, END)
    sub2_key = seeded_key("sub-ca-2").public_key()
    other_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sub-ca-3")])
    p256 = ec.derive_private_key(5, ec.SECP256R1()).public_key()
    candidates = [
        # The right key and SKI in another name.
        _ca_certificate(other_name, sub2_key, _sub2_ski(chain)),
        # The right name and key, no SKI.
        _ca_certificate(chain.sub2.name, sub2_key, None),
        # The right name and SKI, a key of another kind (the signature cannot be checked).
        _ca_certificate(chain.sub2.name, p256, _sub2_ski(chain)),
    ]
    for candidate in candidates:
        with pytest.raises(Rejected) as exc:
            check_crl_issuer(crl, [candidate])
        assert (exc.value.req_id, exc.value.message) == ("IOME-CERT-008", NOT_SIGNED)
    # A CRL without authorityKeyIdentifier matches no SKI (the profile refuses it earlier).
    without_aki = custom_crl(chain.sub2, seeded_key("sub-ca-2"), aki=False)
    with pytest.raises(Rejected) as exc:
        check_crl_issuer(without_aki, [chain.sub2.certificate])
    assert (exc.value.req_id, exc.value.message) == ("IOME-CERT-008", NOT_SIGNED)


@pytest.mark.req("IOME-CERT-008")
def test_accepts_crl_issuer_found_after_candidates_that_do_not_match() -> None:
    chain = two_level_chain()
    crl = chain.sub2.crl(START, END)
    candidates = [chain.root.certificate, chain.sub1.certificate, chain.sub2.certificate]
    assert check_crl_issuer(crl, candidates) == chain.sub2.certificate


@pytest.mark.req("IOME-CERT-008")
def test_rejects_crl_signer_without_crl_sign_naming_it() -> None:
    chain = two_level_chain()
    signer = _ca_certificate(
        chain.sub2.name,
        seeded_key("sub-ca-2").public_key(),
        _sub2_ski(chain),
        key_usage(digital_signature=True, cert_sign=True),
    )
    with pytest.raises(Rejected) as exc:
        check_crl_issuer(chain.sub2.crl(START, END), [signer])
    assert (exc.value.req_id, exc.value.message) == (
        "IOME-CERT-008",
        "revocation list signer 'sub-ca-2' has no cRLSign in its keyUsage",
    )


def test_get_issuer_key_refuses_a_non_ed25519_ca() -> None:
    # Unreachable from a directory (IOME-CERT-007 refuses such a certificate at load).
    p256 = ec.derive_private_key(5, ec.SECP256R1()).public_key()
    with pytest.raises(UsageError) as exc:
        get_issuer_key(_ca_certificate(two_level_chain().sub2.name, p256, None))
    assert (exc.value.component, exc.value.message) == (
        "pki",
        "a CA certificate of the directory has a non-Ed25519 key",
    )


def _in_force(next_update: int, entries: dict[int, int], number: int = 7) -> CrlInForce:
    crl = two_level_chain().sub2.crl(START, END)
    return CrlInForce(crl, (b"", ""), number, START, next_update, entries)


def _without_cn(chain: Chain) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "IoME")])
    return _ca_certificate(name, seeded_key("x").public_key(), None)


@pytest.mark.req(
    "IOME-CERT-017", "IOME-CERT-018", "IOME-CERT-003", "IOME-CERT-019", "IOME-CERT-020"
)
def test_rejects_revocation_saying_what_and_for_whom() -> None:
    chain = two_level_chain()
    leaf = chain.leaf
    serial = leaf.serial_number
    cases: list[tuple[Callable[[], object], str, str]] = [
        (
            lambda: check_crl_serials_distinct(
                custom_crl(chain.sub2, seeded_key("sub-ca-2"), [(5, T0), (5, T0)])
            ),
            "IOME-CERT-017",
            "revocation list lists serial 5 twice",
        ),
        (
            lambda: check_revocation_status_known(leaf, None, T1),
            "IOME-CERT-018",
            "no revocation list from the issuer of 'st-1'",
        ),
        (
            lambda: check_revocation_status_known(_without_cn(chain), None, T1),
            "IOME-CERT-018",
            "no revocation list from the issuer of '9'",
        ),
        (
            lambda: check_revocation_status_known(leaf, _in_force(T1, {}), T1 + 1),
            "IOME-CERT-018",
            f"revocation list for 'st-1' is in force until {T1}, not at {T1 + 1}",
        ),
        (
            lambda: check_revocation_status_known(_without_cn(chain), _in_force(T1, {}), T1 + 1),
            "IOME-CERT-018",
            f"revocation list for '9' is in force until {T1}, not at {T1 + 1}",
        ),
        (
            lambda: check_certificate_not_revoked(leaf, _in_force(END, {serial: T1}), T1),
            "IOME-CERT-003",
            f"certificate 'st-1' was revoked at {T1}, at or before {T1}",
        ),
        (
            lambda: check_crl_number_increases(_in_force(END, {}, 7), _in_force(END, {}, 7)),
            "IOME-CERT-019",
            "CRLNumber must exceed 7, the number in force, found 7",
        ),
        (
            lambda: check_crl_keeps_entries(_in_force(END, {}), _in_force(END, {5: T0})),
            "IOME-CERT-020",
            f"revocation list drops serial 5, revoked at {T0}",
        ),
        (
            lambda: check_crl_keeps_entries(_in_force(END, {5: T1}), _in_force(END, {5: T0})),
            "IOME-CERT-020",
            f"revocation list re-dates serial 5 from {T0} to {T1}",
        ),
    ]
    for judge, req_id, message in cases:
        with pytest.raises(Rejected) as exc:
            judge()
        assert (exc.value.req_id, exc.value.message) == (req_id, message)
