"""The certificate profile: one function per CERT rule on certificates and certification paths.

What lives here: the checks of spec/certificates.md on a single certificate or a path (leaf,
intermediate CAs, root), each raising ``Rejected`` with its id. What must not: choosing which
certificate or path to judge, or the order of the checks; ``directory`` does that.

Why a profile stricter than "the signatures verify": RFC 5280 refuses a path through a
certificate that is not a CA, a key that may not sign certificates, a path longer than an
issuer allows, or an extension a validator does not understand but is told is critical. A
reference that accepts such a path would certify the same mistake into every implementation
tested against it.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.x509.oid import ExtensionOID

from iome_ref.errors import Malformed, Rejected
from iome_ref.pki.fields import get_extension, get_role, get_subject_id, name_der, to_seconds
from iome_ref.requirements import enforces

__all__ = [
    "KNOWN_CERTIFICATE_EXTENSIONS",
    "check_ca_basic_constraints",
    "check_ca_key_usage",
    "check_certificate_key_is_ed25519",
    "check_certificate_role",
    "check_certificate_subject_id",
    "check_certificate_valid_at",
    "check_key_identifiers",
    "check_leaf_is_end_entity",
    "check_no_unknown_critical_extension",
    "check_path_found",
    "check_path_length",
    "check_trust_anchor_self_signed",
    "get_validity_window",
    "is_signed_by",
    "load_extensions",
]

#: The certificate extensions IoME processes; any other one marked critical refuses the path
#: (IOME-CERT-015). Name constraints and policies are deliberately not among them.
KNOWN_CERTIFICATE_EXTENSIONS = frozenset(
    {
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.KEY_USAGE,
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
    }
)


def load_extensions(cert: x509.Certificate) -> x509.Extensions:
    """Parse a certificate's extensions once, when the directory loads it.

    ``cryptography`` parses extensions lazily and raises ``DuplicateExtension`` on a duplicate
    (not a ValueError) and ValueError on an undecodable known extension; doing it at load
    makes such a certificate a load-time refusal, never a crash in the middle of a check.

    Raises:
        Malformed: IOME-CERT-001, extensions that do not decode.
    """
    try:
        return cert.extensions
    except (ValueError, x509.DuplicateExtension) as exc:
        raise Malformed(
            "IOME-CERT-001", f"certificate {cert.serial_number} extensions do not decode: {exc}"
        ) from None


def is_signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer`` issued ``cert``: issuer name equals the issuer's subject (DER bytes)
    and the signature verifies under the issuer's key. Never raises."""
    if name_der(cert.issuer) != name_der(issuer.subject):
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


@enforces("IOME-CERT-007")
def check_certificate_key_is_ed25519(cert: x509.Certificate) -> Ed25519PublicKey:
    """Refuse a certificate whose subject key is not Ed25519 (DESIGN.md §2: one curve)."""
    try:
        key = cert.public_key()
    except (UnsupportedAlgorithm, ValueError):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        found = type(key).__name__ if key is not None else "an unsupported key"
        raise Rejected("IOME-CERT-007", f"certificate key must be Ed25519, found {found}")
    return key


@enforces("IOME-CERT-009")
def check_trust_anchor_self_signed(root: x509.Certificate) -> None:
    """Refuse a trust anchor that is not a self-signed certificate with a subject.

    A root whose signature does not verify under its own key is either corrupted or not the
    certificate its owner meant to publish; an empty subject cannot be matched by any issuer
    name, so every path would silently fail.
    """
    if len(root.subject) == 0:
        raise Rejected("IOME-CERT-009", "trust anchor subject must not be empty")
    if not is_signed_by(root, root):
        raise Rejected(
            "IOME-CERT-009", "trust anchor must be self-signed: issuer = subject, own signature"
        )


@enforces("IOME-CERT-001")
def check_path_found(cert: x509.Certificate, paths: Sequence[Sequence[x509.Certificate]]) -> None:
    """Refuse a certificate no chain of issuer names and signatures links to the root."""
    if not paths:
        raise Rejected(
            "IOME-CERT-001",
            f"certificate serial {cert.serial_number} has no certification path to the root",
        )


@enforces("IOME-CERT-004")
def check_certificate_role(cert: x509.Certificate, role: str) -> None:
    """Refuse a certificate for another role: a station key cannot sign as a verifier."""
    found = get_role(cert)
    if found != role:
        raise Rejected("IOME-CERT-004", f"certificate role (OU) must be {role!r}, found {found!r}")


@enforces("IOME-CERT-005")
def check_certificate_subject_id(cert: x509.Certificate, subject_id: str | None) -> None:
    """Refuse a certificate naming another entity than the transaction claims (when it claims)."""
    found = get_subject_id(cert)
    if subject_id is not None and found != subject_id:
        raise Rejected("IOME-CERT-005", f"certificate CN must be {subject_id!r}, found {found!r}")


@enforces("IOME-CERT-013")
def check_leaf_is_end_entity(cert: x509.Certificate) -> None:
    """Refuse a certified key whose certificate is a CA or may sign certificates or CRLs.

    RFC 5280 §4.2.1.3: keyCertSign only with cA; a transaction key that could also issue
    certificates would let one stolen station key mint stations. The key signs transactions,
    so a keyUsage, when present, must allow digitalSignature.
    """
    constraints = get_extension(cert.extensions, x509.BasicConstraints)
    if constraints is not None and constraints.value.ca:
        raise Rejected("IOME-CERT-013", "certified key's certificate must not be a CA (cA=true)")
    usage = get_extension(cert.extensions, x509.KeyUsage)
    if usage is None:
        return
    if usage.value.key_cert_sign or usage.value.crl_sign:
        raise Rejected(
            "IOME-CERT-013", "certified key's keyUsage must not allow keyCertSign/cRLSign"
        )
    if not usage.value.digital_signature:
        raise Rejected("IOME-CERT-013", "certified key's keyUsage must allow digitalSignature")


@enforces("IOME-CERT-010")
def check_ca_basic_constraints(cert: x509.Certificate) -> None:
    """Refuse an issuer that is not a CA: basicConstraints cA=true, marked critical.

    RFC 5280 §4.2.1.9 requires the extension critical in CA certificates; §6.1.4 (k) refuses a
    path through a certificate without cA. Without this, any certified station could issue
    certificates for others.
    """
    constraints = get_extension(cert.extensions, x509.BasicConstraints)
    subject = get_subject_id(cert) or str(cert.serial_number)
    if constraints is None or not constraints.value.ca:
        raise Rejected("IOME-CERT-010", f"issuer {subject!r} must carry basicConstraints cA=true")
    if not constraints.critical:
        raise Rejected("IOME-CERT-010", f"issuer {subject!r} basicConstraints must be critical")


@enforces("IOME-CERT-011")
def check_ca_key_usage(cert: x509.Certificate) -> None:
    """Refuse an issuer whose keyUsage does not allow signing certificates (RFC 5280 §6.1.4 n).

    The extension must be present: a CA certificate that does not state its key's purposes
    leaves each validator to guess (RFC 5280 §4.2.1.3 "MUST" for CA certificates).
    """
    usage = get_extension(cert.extensions, x509.KeyUsage)
    subject = get_subject_id(cert) or str(cert.serial_number)
    if usage is None or not usage.value.key_cert_sign:
        raise Rejected("IOME-CERT-011", f"issuer {subject!r} keyUsage must include keyCertSign")


@enforces("IOME-CERT-012")
def check_path_length(path: Sequence[x509.Certificate]) -> None:
    """Refuse a path longer than an issuer's pathLenConstraint allows (RFC 5280 §4.2.1.9).

    ``path`` runs from the leaf (index 0) to the root. The CA at index i has i - 1 intermediate
    CAs below it; every one counts, self-issued ones too (stricter than §6.1.4 l).
    """
    for index, ca in enumerate(path[1:], start=1):
        constraints = get_extension(ca.extensions, x509.BasicConstraints)
        if constraints is None or constraints.value.path_length is None:
            continue
        below = index - 1
        if below > constraints.value.path_length:
            subject = get_subject_id(ca) or str(ca.serial_number)
            raise Rejected(
                "IOME-CERT-012",
                f"issuer {subject!r} allows {constraints.value.path_length} CAs below it, "
                f"found {below}",
            )


@enforces("IOME-CERT-014")
def check_key_identifiers(
    cert: x509.Certificate, issuer: x509.Certificate | None, *, is_ca: bool
) -> None:
    """Refuse key identifiers RFC 5280 §4.2.1.1-2 forbids: SKI missing on a CA, AKI missing on
    an issued certificate, either marked critical, or an AKI naming another key than the
    issuer's SKI. ``issuer`` is None for the self-signed root.

    Why: the identifiers are how path builders pick an issuer among re-keyed CAs of one name;
    a wrong one sends other validators down another path than ours.
    """
    where = f"certificate {get_subject_id(cert) or cert.serial_number!r}"
    ski = get_extension(cert.extensions, x509.SubjectKeyIdentifier)
    if ski is not None and ski.critical:
        raise Rejected("IOME-CERT-014", f"{where}: subjectKeyIdentifier must be non-critical")
    if is_ca and ski is None:
        raise Rejected("IOME-CERT-014", f"{where}: a CA must carry subjectKeyIdentifier")
    aki = get_extension(cert.extensions, x509.AuthorityKeyIdentifier)
    if aki is not None and aki.critical:
        raise Rejected("IOME-CERT-014", f"{where}: authorityKeyIdentifier must be non-critical")
    signer = cert if issuer is None else issuer
    if issuer is not None and aki is None:
        raise Rejected("IOME-CERT-014", f"{where}: must carry authorityKeyIdentifier")
    if aki is None:
        return
    signer_ski = get_extension(signer.extensions, x509.SubjectKeyIdentifier)
    expected = None if signer_ski is None else signer_ski.value.digest
    if aki.value.key_identifier is None or aki.value.key_identifier != expected:
        found = aki.value.key_identifier.hex() if aki.value.key_identifier else None
        raise Rejected(
            "IOME-CERT-014",
            f"{where}: authorityKeyIdentifier must be the issuer's SKI "
            f"{expected.hex() if expected else None}, found {found}",
        )


@enforces("IOME-CERT-015")
def check_no_unknown_critical_extension(cert: x509.Certificate) -> None:
    """Refuse a certificate with a critical extension IoME does not process (RFC 5280 §4.2).

    "A certificate-using system MUST reject the certificate if it encounters a critical
    extension it does not recognize": name constraints, policy constraints and private
    extensions included, since IoME implements none of them.
    """
    for extension in cert.extensions:
        if extension.critical and extension.oid not in KNOWN_CERTIFICATE_EXTENSIONS:
            raise Rejected(
                "IOME-CERT-015",
                f"certificate {get_subject_id(cert) or cert.serial_number!r} has critical "
                f"extension {extension.oid.dotted_string}, which IoME does not process",
            )


def get_validity_window(cert: x509.Certificate) -> tuple[int, int]:
    """The times IOME-CERT-002 accepts for ``cert``: [notBefore, notAfter], both included.

    The rule's one definition: :func:`check_certificate_valid_at` judges by it, and the
    directory intersects it with the other windows of a path to accept a time at once.
    """
    return to_seconds(cert.not_valid_before_utc), to_seconds(cert.not_valid_after_utc)


@enforces("IOME-CERT-002")
def check_certificate_valid_at(cert: x509.Certificate, at: int) -> None:
    """Refuse a certificate outside its validity at the transaction's claimed time ``at``."""
    start, end = get_validity_window(cert)
    if not start <= at <= end:
        raise Rejected(
            "IOME-CERT-002",
            f"certificate {get_subject_id(cert) or cert.serial_number!r} is valid in "
            f"[{start}, {end}], not at {at}",
        )
