"""Revocation lists: loading, their profile, their succession, and revocation at a time.

What lives here: one function per CERT rule on CRLs, and :class:`CrlInForce`, a CRL the
directory accepted, read once into the few numbers the rules need. What must not: which CRL is
in force for which certificate; ``directory`` keeps that map.

Why revocation is required rather than best effort: a validator that treats "no CRL" as "not
revoked" turns a withheld or expired CRL into an un-revocation. IoME therefore asks, for every
certificate of a path, a CRL from its issuer that is in force at the claimed time.

Why a CRL must extend the one before it: revocation lists are chain data (design D3). A later
CRL that dropped or re-dated an entry would make a transaction judged before it and one judged
after it disagree about the same certificate at the same claimed time.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.x509.oid import CRLEntryExtensionOID, ExtensionOID

from iome_ref.errors import Malformed, Rejected, UsageError
from iome_ref.pki.fields import get_extension, get_subject_id, name_der, public_key_hex, to_seconds
from iome_ref.requirements import enforces

__all__ = [
    "KNOWN_CRL_ENTRY_EXTENSIONS",
    "KNOWN_CRL_EXTENSIONS",
    "CrlInForce",
    "IssuerKey",
    "check_certificate_not_revoked",
    "check_crl_issuer",
    "check_crl_keeps_entries",
    "check_crl_number_increases",
    "check_crl_profile",
    "check_crl_serials_distinct",
    "check_revocation_status_known",
    "get_issuer_key",
    "get_status_known_until",
    "get_unrevoked_until",
    "load_crl_der",
    "load_crl_pem",
]

#: CRL extensions IoME processes; any other critical one refuses the CRL (IOME-CERT-016).
#: Delta CRLs and issuing distribution points are not supported, so their (always critical)
#: extensions refuse too.
KNOWN_CRL_EXTENSIONS = frozenset({ExtensionOID.CRL_NUMBER, ExtensionOID.AUTHORITY_KEY_IDENTIFIER})
#: CRL entry extensions IoME reads as information; any other critical one refuses the CRL.
KNOWN_CRL_ENTRY_EXTENSIONS = frozenset(
    {CRLEntryExtensionOID.CRL_REASON, CRLEntryExtensionOID.INVALIDITY_DATE}
)

#: Who issued a certificate or a CRL: the DER of its name and its raw Ed25519 key (hex). A CA
#: re-keyed under the same name is another issuer with its own CRL.
IssuerKey = tuple[bytes, str]


@functools.lru_cache(maxsize=1 << 10)
def get_issuer_key(ca: x509.Certificate) -> IssuerKey:
    """The issuer identity of CA certificate ``ca`` (its key was checked Ed25519 at load)."""
    key = ca.public_key()
    if not isinstance(key, Ed25519PublicKey):  # pragma: no cover - refused at load (CERT-007)
        raise UsageError("pki", "a CA certificate of the directory has a non-Ed25519 key")
    return name_der(ca.subject), public_key_hex(key)


@dataclass(frozen=True)
class CrlInForce:
    """A CRL the directory accepted, with what the rules read from it."""

    crl: x509.CertificateRevocationList
    issuer: IssuerKey
    number: int
    this_update: int
    next_update: int
    #: serial -> revocation time, unix seconds.
    entries: Mapping[int, int]


def load_crl_der(data: bytes) -> x509.CertificateRevocationList:
    """Parse one DER CRL, as a RevocationList transaction carries it.

    Raises:
        Malformed: IOME-CERT-016 if the bytes are not one X.509 CRL.
        UsageError: ``data`` is not bytes.
    """
    if not isinstance(data, bytes):
        raise UsageError("pki", f"a DER CRL must be bytes, found {type(data).__name__}")
    try:
        return x509.load_der_x509_crl(data)
    except (ValueError, x509.InvalidVersion, x509.DuplicateExtension) as exc:
        raise Malformed("IOME-CERT-016", f"revocation list does not parse: {exc}") from None


def load_crl_pem(text: object) -> x509.CertificateRevocationList:
    """Parse one PEM CRL as a vector context lists it.

    Raises:
        Malformed: IOME-CERT-016 for a non-string, non-ASCII text or PEM that does not parse.
    """
    if not isinstance(text, str):
        raise Malformed("IOME-CERT-016", f"crl must be a PEM string, found {type(text).__name__}")
    try:
        return x509.load_pem_x509_crl(text.encode("ascii"))
    except (UnicodeEncodeError, ValueError, x509.InvalidVersion) as exc:
        raise Malformed("IOME-CERT-016", f"revocation list PEM does not parse: {exc}") from None


@enforces("IOME-CERT-016")
def check_crl_profile(crl: x509.CertificateRevocationList) -> None:
    """Refuse a CRL outside the profile: no nextUpdate, no or critical CRLNumber, no AKI, or a
    critical CRL or entry extension IoME does not process (RFC 5280 §5.2, §5.3).

    Why each: nextUpdate bounds how long the CRL speaks for its issuer (IOME-CERT-018); the
    CRL number orders CRLs of one issuer (IOME-CERT-019); an unknown critical extension may
    change what the entries mean (a delta CRL, a partitioned CRL), so reading the entries as a
    full CRL would be wrong. A reason ``removeFromCRL`` only has meaning in a delta CRL.
    """
    try:
        # cryptography decodes lazily: decode every part a later rule reads, here.
        _ = (crl.issuer, crl.last_update_utc, crl.next_update_utc, crl.signature_algorithm_oid)
        extensions = crl.extensions
        entry_extensions = [
            (entry.serial_number, entry.extensions, entry.revocation_date_utc) for entry in crl
        ]
    except (ValueError, x509.InvalidVersion, x509.DuplicateExtension) as exc:
        raise Malformed(
            "IOME-CERT-016", f"revocation list extensions do not decode: {exc}"
        ) from None
    next_update = crl.next_update_utc
    if next_update is None:
        raise Rejected("IOME-CERT-016", "revocation list must carry nextUpdate")
    if crl.last_update_utc > next_update:
        raise Rejected("IOME-CERT-016", "revocation list thisUpdate must not follow nextUpdate")
    number = get_extension(extensions, x509.CRLNumber)
    if number is None or number.critical or number.value.crl_number < 0:
        raise Rejected(
            "IOME-CERT-016", "revocation list must carry a non-critical, non-negative CRLNumber"
        )
    aki = get_extension(extensions, x509.AuthorityKeyIdentifier)
    if aki is None or aki.critical or aki.value.key_identifier is None:
        raise Rejected(
            "IOME-CERT-016",
            "revocation list must carry a non-critical authorityKeyIdentifier with a key id",
        )
    for extension in extensions:
        if extension.critical and extension.oid not in KNOWN_CRL_EXTENSIONS:
            raise Rejected(
                "IOME-CERT-016",
                f"revocation list has critical extension {extension.oid.dotted_string}, "
                "which IoME does not process",
            )
    for serial, entry, _ in entry_extensions:
        for extension in entry:
            if extension.critical and extension.oid not in KNOWN_CRL_ENTRY_EXTENSIONS:
                raise Rejected(
                    "IOME-CERT-016",
                    f"revocation entry {serial} has critical extension "
                    f"{extension.oid.dotted_string}, which IoME does not process",
                )
            value = extension.value
            if (
                isinstance(value, x509.CRLReason)
                and value.reason is x509.ReasonFlags.remove_from_crl
            ):
                raise Rejected(
                    "IOME-CERT-016",
                    f"revocation entry {serial} has reason removeFromCRL, which only a delta "
                    "CRL may carry",
                )


@enforces("IOME-CERT-017")
def check_crl_serials_distinct(crl: x509.CertificateRevocationList) -> dict[int, int]:
    """Refuse a CRL listing one serial twice; return serial -> revocation time.

    Libraries read only the first entry of a serial (``cryptography``'s lookup does), so a
    second entry with another date would be ignored by some validators and read by others.
    """
    entries: dict[int, int] = {}
    for entry in crl:
        serial = entry.serial_number
        if serial in entries:
            raise Rejected("IOME-CERT-017", f"revocation list lists serial {serial} twice")
        entries[serial] = to_seconds(entry.revocation_date_utc)
    return entries


def _verifies(crl: x509.CertificateRevocationList, ca: x509.Certificate) -> bool:
    key = ca.public_key()
    if not isinstance(key, Ed25519PublicKey):
        return False
    try:
        return crl.is_signature_valid(key)
    except (TypeError, ValueError, InvalidSignature, UnsupportedAlgorithm):
        return False


@enforces("IOME-CERT-008")
def check_crl_issuer(
    crl: x509.CertificateRevocationList, candidates: Sequence[x509.Certificate]
) -> x509.Certificate:
    """Return the CA that signed ``crl``; refuse a CRL no CA of the directory with cRLSign did.

    ``candidates`` are the root and the directory's certificates, in DER order. The issuer is
    a candidate whose subject is the CRL's issuer name (DER bytes), whose subjectKeyIdentifier
    is the CRL's authorityKeyIdentifier and whose key verifies the CRL's signature; among those,
    the first whose keyUsage includes cRLSign (RFC 5280 §4.2.1.3). A forged CRL could
    un-revoke; a CRL signed by a key not meant to sign CRLs is what a stolen operational key
    would produce.
    """
    aki = get_extension(crl.extensions, x509.AuthorityKeyIdentifier)
    key_id = None if aki is None else aki.value.key_identifier
    issuer_name = name_der(crl.issuer)
    signers = []
    for ca in candidates:
        ski = get_extension(ca.extensions, x509.SubjectKeyIdentifier)
        if name_der(ca.subject) != issuer_name or ski is None or ski.value.digest != key_id:
            continue
        if _verifies(crl, ca):
            signers.append(ca)
    if not signers:
        raise Rejected(
            "IOME-CERT-008",
            f"revocation list of {crl.issuer.rfc4514_string()!r} is not signed by a CA of the "
            "directory with that name and key identifier",
        )
    for ca in signers:
        usage = get_extension(ca.extensions, x509.KeyUsage)
        if usage is not None and usage.value.crl_sign:
            return ca
    raise Rejected(
        "IOME-CERT-008",
        f"revocation list signer {get_subject_id(signers[0])!r} has no cRLSign in its keyUsage",
    )


@enforces("IOME-CERT-019")
def check_crl_number_increases(new: CrlInForce, previous: CrlInForce | None) -> None:
    """Refuse a CRL whose number does not exceed the one in force from the same issuer.

    RFC 5280 §5.2.3: CRL numbers increase. Accepting an older or equal number would let anyone
    replay a superseded CRL and roll revocations back.
    """
    if previous is not None and new.number <= previous.number:
        raise Rejected(
            "IOME-CERT-019",
            f"CRLNumber must exceed {previous.number}, the number in force, found {new.number}",
        )


@enforces("IOME-CERT-020")
def check_crl_keeps_entries(new: CrlInForce, previous: CrlInForce | None) -> None:
    """Refuse a CRL that drops or re-dates an entry of the CRL in force from the same issuer.

    A revocation is permanent in IoME (no certificateHold): once a chain has judged with an
    entry, a later CRL changing it would give history two verdicts.
    """
    if previous is None:
        return
    for serial, revoked_at in sorted(previous.entries.items()):
        found = new.entries.get(serial)
        if found is None:
            raise Rejected(
                "IOME-CERT-020", f"revocation list drops serial {serial}, revoked at {revoked_at}"
            )
        if found != revoked_at:
            raise Rejected(
                "IOME-CERT-020",
                f"revocation list re-dates serial {serial} from {revoked_at} to {found}",
            )


def get_status_known_until(crl: CrlInForce) -> int:
    """The last time ``crl`` speaks for, its nextUpdate: IOME-CERT-018 accepts every time up
    to it (the rule sets no lower bound; thisUpdate does not bound it).

    The rule's one definition: :func:`check_revocation_status_known` judges by it, and the
    directory intersects it with the other windows of a path to accept a time at once.
    """
    return crl.next_update


def get_unrevoked_until(cert: x509.Certificate, crl: CrlInForce) -> int | None:
    """The last time ``crl`` leaves ``cert`` unrevoked (the second before its entry's
    revocation date), or None when ``crl`` does not list it: IOME-CERT-003 accepts every time
    up to it.

    The rule's one definition, as :func:`get_status_known_until` is for IOME-CERT-018.
    """
    revoked_at = crl.entries.get(cert.serial_number)
    return None if revoked_at is None else revoked_at - 1


@enforces("IOME-CERT-018")
def check_revocation_status_known(cert: x509.Certificate, crl: CrlInForce | None, at: int) -> None:
    """Refuse a certificate whose issuer has no CRL in force at ``at`` (nextUpdate >= at).

    Revocation checking is required: without a CRL that speaks for the claimed time, "not
    listed" means "not known", and a withheld CRL must not become an un-revocation.
    """
    if crl is None:
        who = get_subject_id(cert) or str(cert.serial_number)
        raise Rejected("IOME-CERT-018", f"no revocation list from the issuer of {who!r}")
    if at > get_status_known_until(crl):
        who = get_subject_id(cert) or str(cert.serial_number)
        raise Rejected(
            "IOME-CERT-018",
            f"revocation list for {who!r} is in force until {crl.next_update}, not at {at}",
        )


@enforces("IOME-CERT-003")
def check_certificate_not_revoked(cert: x509.Certificate, crl: CrlInForce, at: int) -> None:
    """Refuse a certificate revoked at or before ``at``; one revoked later was good at ``at``."""
    until = get_unrevoked_until(cert, crl)
    if until is not None and at > until:
        raise Rejected(
            "IOME-CERT-003",
            f"certificate {get_subject_id(cert) or cert.serial_number!r} was revoked at "
            f"{crl.entries[cert.serial_number]}, at or before {at}",
        )
