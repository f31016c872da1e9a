"""pyhanko-certvalidator as an oracle for the certificate profile (spec/certificates.md).

Every generated PKI is judged twice: by IoME's directory and by pyhanko-certvalidator's
``CertificateValidator`` (RFC 5280 path validation, revocation required, no fetching, at the
claimed time). Each case states both verdicts: where the profile and RFC 5280 agree they are
equal; where IoME is stricter (the table "Where IoME is stricter" in spec/certificates.md) the
case says so, so a change on either side fails this test instead of going unnoticed.

pyhanko's ``PolicyBuilder`` path refuses Ed25519, but ``CertificateValidator`` with a
``ValidationContext`` validates Ed25519 paths and CRLs: that is the API used here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
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
    key_hex,
    moment,
    seeded_key,
    two_level_chain,
)
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, ValidationError

from iome_ref.constants import ROLE_STATION
from iome_ref.errors import Rejected
from iome_ref.pki import CertificateDirectory, key_usage

T1 = T0 + DAY
FOREIGN = seeded_key("foreign").public_key()
UNKNOWN = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.9"), b"\x05\x00")


@dataclass
class Pki:
    """One PKI and the claimed time to judge the station at."""

    root: x509.Certificate
    certs: list[x509.Certificate]
    crls: list[x509.CertificateRevocationList]
    leaf: x509.Certificate
    at: int = T1


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def pyhanko_accepts(pki: Pki) -> bool:
    """pyhanko's verdict on the station's certificate at ``pki.at`` (revocation required)."""
    context = ValidationContext(
        trust_roots=[_asn1(pki.root)],
        other_certs=[_asn1(c) for c in pki.certs],
        crls=[crl.public_bytes(Encoding.DER) for crl in pki.crls],
        revocation_mode="require",
        allow_fetching=False,
        moment=moment(pki.at),
        time_tolerance=timedelta(0),
    )
    validator = CertificateValidator(_asn1(pki.leaf), validation_context=context)
    try:
        asyncio.run(validator.async_validate_usage({"digital_signature"}))
    except (ValidationError, PathBuildingError):
        return False
    return True


def iome_verdict(pki: Pki) -> str | None:
    """None if IoME accepts the station's key, else the id it refuses with (load or check)."""
    try:
        directory = CertificateDirectory(pki.root, [*pki.certs, pki.leaf], pki.crls)
        directory.check_certified(key_hex(STATION), ROLE_STATION, pki.at, STATION)
    except Rejected as exc:
        return exc.req_id
    return None


def _pki(chain: Chain, crls: list[x509.CertificateRevocationList] | None = None, **kw: int) -> Pki:
    return Pki(
        chain.root.certificate,
        [chain.sub1.certificate, chain.sub2.certificate, *chain.extra],
        chain.crls() if crls is None else crls,
        chain.leaf,
        **kw,
    )


def good() -> Pki:
    return _pki(two_level_chain())


def leaf_with(
    *extensions: tuple[x509.ExtensionType, bool],
    usage: x509.KeyUsage | None = None,
    aki: bool = True,
) -> Pki:
    """A station certificate with keyUsage ``usage`` (default digitalSignature), an AKI unless
    ``aki`` is False, and ``extensions``: pyhanko asks for the keyUsage (see "looser" below)."""
    chain = two_level_chain()
    base: list[tuple[x509.ExtensionType, bool]] = [(usage or _usage(digital_signature=True), True)]
    if aki:
        base.append((chain.sub2.authority_key_identifier(), False))
    chain.leaf = custom_leaf(chain.sub2, [*base, *extensions])
    return _pki(chain)


def sub2_with(keep_crl: bool = True, **profile: object) -> Pki:
    chain = two_level_chain()
    chain.sub2 = custom_ca(chain.sub1, "sub-ca-2", path_length=0, **profile)
    chain.leaf = chain.sub2.issue(STATION, ROLE_STATION, key_hex(STATION), T0, T0 + 30 * DAY)
    crls = chain.crls() if keep_crl else [*chain.crls()[:2]]
    return _pki(chain, crls)


def revoked_leaf(at: int) -> Pki:
    chain = two_level_chain()
    chain.sub2.revoke(chain.leaf.serial_number, at)
    return _pki(chain)


def revoked_sub2() -> Pki:
    chain = two_level_chain()
    chain.sub1.revoke(chain.sub2.certificate.serial_number, T0)
    return _pki(chain)


def expired_sub1() -> Pki:
    chain = two_level_chain()
    chain.sub1 = chain.root.issue_ca("sub-ca-1", seeded_key("sub-ca-1"), START, T1 - 1)
    chain.sub2 = chain.sub1.issue_ca("sub-ca-2", seeded_key("sub-ca-2"), START, END, path_length=0)
    chain.leaf = chain.sub2.issue(STATION, ROLE_STATION, key_hex(STATION), T0, T0 + 30 * DAY)
    return _pki(chain)


def sub2_crl(*entries: tuple[int, int], **options: object) -> Pki:
    chain = two_level_chain()
    crl = custom_crl(chain.sub2, seeded_key("sub-ca-2"), entries, **options)  # type: ignore[arg-type]
    return _pki(chain, [*chain.crls()[:2], crl])


def missing(index: int) -> Pki:
    chain = two_level_chain()
    crls = chain.crls()
    return _pki(chain, [crl for i, crl in enumerate(crls) if i != index])


@dataclass(frozen=True)
class Case:
    build: Callable[[], Pki]
    iome: str | None  # None: accepted; else the id IoME refuses with
    pyhanko: bool  # whether pyhanko-certvalidator accepts


SERIAL_OF_LEAF = two_level_chain().leaf.serial_number

#: name -> the PKI, IoME's verdict, pyhanko's verdict. Agreement unless marked "stricter".
CASES: dict[str, Case] = {
    # Both accept.
    "two-sub-ca-levels": Case(good, None, True),
    "revoked-after-t": Case(lambda: revoked_leaf(T1 + 1), None, True),
    "crl-until-t": Case(lambda: sub2_crl(next_update=T1), None, True),
    # Both refuse.
    "leaf-not-yet-valid": Case(
        lambda: Pki(**{**good().__dict__, "at": T0 - 1}), "IOME-CERT-002", False
    ),
    "leaf-expired": Case(
        lambda: Pki(**{**good().__dict__, "at": T0 + 31 * DAY}), "IOME-CERT-002", False
    ),
    "intermediate-expired": Case(expired_sub1, "IOME-CERT-002", False),
    "leaf-revoked": Case(lambda: revoked_leaf(T1 - 1), "IOME-CERT-003", False),
    "intermediate-revoked": Case(revoked_sub2, "IOME-CERT-003", False),
    "no-crl-for-leaf": Case(lambda: missing(2), "IOME-CERT-018", False),
    "no-crl-for-intermediate": Case(lambda: missing(1), "IOME-CERT-018", False),
    "crl-stale": Case(lambda: sub2_crl(next_update=T1 - 1), "IOME-CERT-018", False),
    "intermediate-not-ca": Case(lambda: sub2_with(False, ca=False), "IOME-CERT-010", False),
    "intermediate-no-cert-sign": Case(
        lambda: sub2_with(False, usage=_usage(crl_sign=True)), "IOME-CERT-011", False
    ),
    "path-length": Case(lambda: _pki(two_level_chain(sub1_path_length=0)), "IOME-CERT-012", False),
    "leaf-on-profile-custom": Case(leaf_with, None, True),
    "leaf-unknown-critical": Case(lambda: leaf_with((UNKNOWN, True)), "IOME-CERT-015", False),
    "leaf-no-digital-signature": Case(lambda: leaf_with(usage=_usage()), "IOME-CERT-013", False),
    "missing-intermediate": Case(
        lambda: Pki(
            **{
                **good().__dict__,
                "certs": [good().certs[1]],
                "crls": [good().crls[0], good().crls[2]],
            }
        ),
        "IOME-CERT-001",
        False,
    ),
    # IoME stricter (spec/certificates.md, "Where IoME is stricter").
    "stricter-leaf-is-ca": Case(
        lambda: leaf_with((x509.BasicConstraints(ca=True, path_length=None), True)),
        "IOME-CERT-013",
        True,
    ),
    "stricter-leaf-cert-sign": Case(
        lambda: leaf_with(usage=_usage(cert_sign=True, digital_signature=True)),
        "IOME-CERT-013",
        True,
    ),
    "stricter-leaf-no-aki": Case(lambda: leaf_with(aki=False), "IOME-CERT-014", True),
    "stricter-root-path-length": Case(
        lambda: _pki(two_level_chain(root_path_length=1)), "IOME-CERT-012", True
    ),
    "stricter-revoked-at-t": Case(lambda: revoked_leaf(T1), "IOME-CERT-003", True),
    # A CA without SKI cannot be matched to its CRL's AKI, so IoME refuses its CRL at load.
    "stricter-intermediate-no-ski": Case(lambda: sub2_with(ski=False), "IOME-CERT-008", True),
    # pyhanko builds paths by AKI, so it finds no issuer: refused by both, for another reason.
    "foreign-aki": Case(
        lambda: sub2_with(aki=x509.AuthorityKeyIdentifier.from_issuer_public_key(FOREIGN)),
        "IOME-CERT-014",
        False,
    ),
    "stricter-intermediate-bc-not-critical": Case(
        lambda: sub2_with(ca_critical=False), "IOME-CERT-010", True
    ),
    # Without keyUsage, the CA has no cRLSign: IoME refuses its CRL at load.
    "stricter-intermediate-no-key-usage": Case(
        lambda: sub2_with(no_usage=True), "IOME-CERT-008", True
    ),
    "stricter-name-constraints": Case(
        lambda: sub2_with(
            extra=[(x509.NameConstraints([x509.DNSName("iome.example")], None), True)]
        ),
        "IOME-CERT-015",
        True,
    ),
    "stricter-duplicate-serial": Case(
        lambda: sub2_crl((SERIAL_OF_LEAF, T1 + 5), (SERIAL_OF_LEAF, T0)), "IOME-CERT-017", True
    ),
    "stricter-crl-no-number": Case(lambda: sub2_crl(number=None), "IOME-CERT-016", True),
    "stricter-crl-no-aki": Case(lambda: sub2_crl(aki=False), "IOME-CERT-016", True),
    # IoME more permissive: a CRL issued after the claimed time still speaks for it; pyhanko
    # refuses "CRL is too recent".
    "looser-crl-issued-after-t": Case(lambda: sub2_crl(this_update=T1 + 1), None, False),
    # pyhanko's validate_usage requires a keyUsage extension when a usage is asked for;
    # RFC 5280 and IoME allow an end-entity certificate without one.
    "looser-leaf-without-key-usage": Case(
        lambda: _pki_leaf(lambda c: [(c.sub2.authority_key_identifier(), False)]), None, False
    ),
}


def _usage(**bits: bool) -> x509.KeyUsage:
    return key_usage(**bits)


def _pki_leaf(extensions: Callable[[Chain], list[tuple[x509.ExtensionType, bool]]]) -> Pki:
    chain = two_level_chain()
    chain.leaf = custom_leaf(chain.sub2, extensions(chain))
    return _pki(chain)


@pytest.mark.req(
    "IOME-CERT-001",
    "IOME-CERT-002",
    "IOME-CERT-003",
    "IOME-CERT-008",
    "IOME-CERT-010",
    "IOME-CERT-011",
    "IOME-CERT-012",
    "IOME-CERT-013",
    "IOME-CERT-014",
    "IOME-CERT-015",
    "IOME-CERT-016",
    "IOME-CERT-017",
    "IOME-CERT-018",
)
@pytest.mark.parametrize("name", sorted(CASES))
def test_rejects_as_the_oracle_says(name: str) -> None:
    case = CASES[name]
    pki = case.build()
    assert iome_verdict(pki) == case.iome
    assert pyhanko_accepts(pki) is case.pyhanko
