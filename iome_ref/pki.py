"""X.509 certificates for IoME: the certificate authority, and the directory validators consult.

What lives here: :class:`CertificateAuthority` (issues Ed25519 certificates and revocation
lists), :class:`CertificateDirectory` (the trusted root, the known certificates and the CRL,
indexed by public key), and the one function per CERT requirement that those checks compose.
What must not: transaction logic. Rules ask one question, :meth:`CertificateDirectory.
check_certified`, "was this key certified for this role and identity at this time?".

Why X.509: the paper's certificate authority (§III step 6) certifies stations, verifiers and
distribution companies. X.509 is what real charging stations (ISO 15118, OCPP security
profiles) and real CAs already issue, so an implementation under test can reuse its PKI stack;
a bespoke certificate format would only exercise our own code. All encoding is done by
``cryptography``; this module writes no ASN.1 by hand.

Why check at the time of claim: a transaction states its own time (presence ``t``, ``issued_at``,
``timestamp``). Validity and revocation are judged at that time, not at the wall clock of the
validator, so every node (and every replay of a chain years later) reaches the same verdict on
the same bytes. A certificate revoked after ``t`` was still good at ``t``; one revoked at or
before ``t`` was not (DESIGN.md §2).

Determinism: Ed25519 signatures are deterministic and serial numbers are derived by hashing
the issuer key, subject, role, subject key and validity (see :func:`compute_serial_number`), so
the same CA key and the same inputs always give byte-identical DER. That keeps test vectors
that embed the PKI reproducible from a seed.

Times are integer unix seconds at this API and UTC datetimes inside X.509.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from iome_ref.constants import ROLES
from iome_ref.errors import IoMEError, Malformed, Rejected, UsageError
from iome_ref.requirements import enforces

__all__ = [
    "ORGANIZATION",
    "CertificateAuthority",
    "CertificateDirectory",
    "check_certificate_key_is_ed25519",
    "check_certificate_not_revoked",
    "check_certificate_role",
    "check_certificate_subject_id",
    "check_certificate_valid_at",
    "check_crl_signed_by_root",
    "check_issued_by_root",
    "check_key_has_certificate",
    "compute_serial_number",
    "get_role",
    "get_subject_id",
]

#: Organization (O) of every IoME certificate subject.
ORGANIZATION = "IoME"

#: Order in which a single certificate's rules are checked. When a key has several
#: certificates and none passes, the failure of the certificate that got furthest along this
#: order is reported (ties: the first in DER byte order), so the verdict does not depend on the
#: order certificates were listed in.
_CHECK_ORDER = ("IOME-CERT-001", "IOME-CERT-004", "IOME-CERT-005", "IOME-CERT-002", "IOME-CERT-003")


def _to_datetime(seconds: int, what: str) -> datetime:
    """Turn integer unix seconds into a UTC datetime, refusing non-integers (UsageError)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise UsageError("IOME-CERT-002", f"{what} must be integer unix seconds, found {seconds!r}")
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise UsageError("IOME-CERT-002", f"{what} {seconds} is out of range: {exc}") from None


def _to_seconds(moment: datetime) -> int:
    """Integer unix seconds of an X.509 time (which has one-second precision)."""
    return int(moment.timestamp())


def _public_key_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes_raw().hex()


def _subject_value(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str:
    """The single string value of ``oid`` in the subject; empty if absent, repeated, binary or
    unparsable, so a foreign certificate fails its rule instead of raising."""
    try:
        attributes = cert.subject.get_attributes_for_oid(oid)
    except ValueError:
        return ""
    if len(attributes) != 1 or not isinstance(attributes[0].value, str):
        return ""
    return attributes[0].value


def get_subject_id(cert: x509.Certificate) -> str:
    """The identity a certificate certifies: its subject CN (station id, chain id, name).

    Returns "" when the subject has no single text CN, so a foreign certificate simply fails
    IOME-CERT-005 instead of raising.
    """
    return _subject_value(cert, NameOID.COMMON_NAME)


def get_role(cert: x509.Certificate) -> str:
    """The role a certificate certifies: its subject OU; "" when absent (fails IOME-CERT-004)."""
    return _subject_value(cert, NameOID.ORGANIZATIONAL_UNIT_NAME)


def compute_serial_number(
    *,
    issuer_key_hex: str,
    subject_id: str,
    role: str,
    subject_key_hex: str,
    not_before: int,
    not_after: int,
) -> int:
    """Derive a certificate serial number from what the certificate says.

    Why a hash and not a counter: a counter makes a certificate's bytes depend on how many were
    issued before it, so reordering vector generation would change every later certificate.
    The hash covers the issuer key, so two CAs never collide by construction, and the validity,
    so re-certifying the same key for a new period gets a fresh serial that can be revoked on
    its own. 152 bits keep the serial positive and within RFC 5280's 20 octets.
    """
    material = "\x00".join(
        (issuer_key_hex, subject_id, role, subject_key_hex, str(not_before), str(not_after))
    )
    digest = hashlib.sha256(b"IoME/1/cert-serial/" + material.encode()).digest()
    return int.from_bytes(digest[:19], "big") or 1


class CertificateAuthority:
    """The paper's certificate authority (§III step 6): one Ed25519 key, one self-signed root.

    It issues role certificates, records revocations and signs revocation lists. Every output
    is a pure function of the key and the inputs (see the module docstring).
    """

    def __init__(
        self, private_key: Ed25519PrivateKey, name: str, not_before: int, not_after: int
    ) -> None:
        if not isinstance(private_key, Ed25519PrivateKey):
            raise UsageError("IOME-CERT-007", "the authority key must be an Ed25519PrivateKey")
        self._key = private_key
        self._revoked: dict[int, int] = {}
        self._name = self._build_name(name, None)
        key_hex = self.public_key_hex
        serial = compute_serial_number(
            issuer_key_hex=key_hex,
            subject_id=name,
            role="",
            subject_key_hex=key_hex,
            not_before=not_before,
            not_after=not_after,
        )
        public_key = private_key.public_key()
        builder = (
            self._base_builder(serial, public_key, not_before, not_after)
            .subject_name(self._name)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
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
        )
        self._root = builder.sign(private_key, None)

    @staticmethod
    def _build_name(common_name: str, role: str | None) -> x509.Name:
        attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION)]
        try:
            if role is not None:
                attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role))
            attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
        except (TypeError, ValueError) as exc:
            raise UsageError("IOME-CERT-005", f"subject name {common_name!r}: {exc}") from None
        return x509.Name(attributes)

    def _base_builder(
        self, serial: int, public_key: Ed25519PublicKey, not_before: int, not_after: int
    ) -> x509.CertificateBuilder:
        start = _to_datetime(not_before, "not_before")
        end = _to_datetime(not_after, "not_after")
        if not_before > not_after:
            raise UsageError("IOME-CERT-002", f"not_before {not_before} is after {not_after}")
        try:
            return (
                x509.CertificateBuilder()
                .issuer_name(self._name)
                .serial_number(serial)
                .public_key(public_key)
                .not_valid_before(start)
                .not_valid_after(end)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
            )
        except ValueError as exc:  # e.g. a date before 1950, which X.509 cannot encode
            raise UsageError("IOME-CERT-002", f"cannot encode validity: {exc}") from None

    @property
    def root(self) -> x509.Certificate:
        """The self-signed root certificate validators trust."""
        return self._root

    @property
    def public_key_hex(self) -> str:
        """The authority's raw Ed25519 public key, lowercase hex."""
        return _public_key_hex(self._key.public_key())

    def issue(
        self, subject_id: str, role: str, public_key_hex: str, not_before: int, not_after: int
    ) -> x509.Certificate:
        """Certify ``public_key_hex`` as ``subject_id`` (CN) acting as ``role`` (OU).

        Raises:
            UsageError: unknown role, a key that is not 32-byte hex, or unencodable times.
        """
        if role not in ROLES:
            raise UsageError("IOME-CERT-004", f"role must be one of {ROLES}, found {role!r}")
        try:
            subject_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        except (TypeError, ValueError) as exc:
            raise UsageError(
                "IOME-CERT-007", f"public_key_hex is not an Ed25519 key: {exc}"
            ) from None
        subject = self._build_name(subject_id, role)  # refuses a non-text or over-long CN first
        serial = compute_serial_number(
            issuer_key_hex=self.public_key_hex,
            subject_id=subject_id,
            role=role,
            subject_key_hex=_public_key_hex(subject_key),
            not_before=not_before,
            not_after=not_after,
        )
        authority_key = x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key())
        builder = (
            self._base_builder(serial, subject_key, not_before, not_after)
            .subject_name(subject)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(authority_key, critical=False)
        )
        return builder.sign(self._key, None)

    def revoke(self, serial: int, at: int) -> None:
        """Record that certificate ``serial`` is revoked from time ``at`` on.

        Revocation cannot be undone; revoking again keeps the earliest time, so the resulting
        CRL does not depend on the order of calls.
        """
        if isinstance(serial, bool):
            raise UsageError("IOME-CERT-003", f"serial must be an integer, found {serial!r}")
        try:  # build the entry now so a bad serial or date never poisons later CRLs
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(
                _to_datetime(at, "at")
            ).build()
        except (TypeError, ValueError) as exc:
            raise UsageError(
                "IOME-CERT-003", f"cannot revoke {serial!r} at {at!r}: {exc}"
            ) from None
        self._revoked[serial] = min(at, self._revoked.get(serial, at))

    def crl(self, this_update: int, next_update: int) -> x509.CertificateRevocationList:
        """Sign the revocation list (entries sorted by serial, CRL number = this_update)."""
        last = _to_datetime(this_update, "this_update")
        nxt = _to_datetime(next_update, "next_update")
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self._name)
            .last_update(last)
            .next_update(nxt)
            .add_extension(x509.CRLNumber(max(this_update, 0)), critical=False)
        )
        try:
            for serial in sorted(self._revoked):
                entry = (
                    x509.RevokedCertificateBuilder()
                    .serial_number(serial)
                    .revocation_date(_to_datetime(self._revoked[serial], "at"))
                    .build()
                )
                builder = builder.add_revoked_certificate(entry)
            return builder.sign(self._key, None)
        except ValueError as exc:
            raise UsageError("IOME-CERT-003", f"cannot encode revocation list: {exc}") from None


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


@enforces("IOME-CERT-008")
def check_crl_signed_by_root(
    crl: x509.CertificateRevocationList, root_key: Ed25519PublicKey
) -> None:
    """Refuse a revocation list the authority did not sign: a forged CRL could un-revoke."""
    if not crl.is_signature_valid(root_key):
        raise Rejected("IOME-CERT-008", "revocation list signature does not verify under the root")


@enforces("IOME-CERT-006")
def check_key_has_certificate(public_key_hex: str, certs: Sequence[x509.Certificate]) -> None:
    """Refuse a key the directory knows no certificate for (paper §III step 6)."""
    if not certs:
        raise Rejected("IOME-CERT-006", f"no certificate is known for key {public_key_hex}")


@enforces("IOME-CERT-001")
def check_issued_by_root(cert: x509.Certificate, root: x509.Certificate) -> None:
    """Refuse a certificate the trusted authority did not issue (name and signature)."""
    try:
        cert.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        raise Rejected(
            "IOME-CERT-001", f"certificate serial {cert.serial_number} is not signed by the root"
        ) from None


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


@enforces("IOME-CERT-002")
def check_certificate_valid_at(cert: x509.Certificate, at: int) -> None:
    """Refuse a certificate outside its validity at the transaction's claimed time ``at``."""
    start = _to_seconds(cert.not_valid_before_utc)
    end = _to_seconds(cert.not_valid_after_utc)
    if not start <= at <= end:
        raise Rejected("IOME-CERT-002", f"certificate is valid in [{start}, {end}], not at {at}")


@enforces("IOME-CERT-003")
def check_certificate_not_revoked(
    cert: x509.Certificate, crl: x509.CertificateRevocationList | None, at: int
) -> None:
    """Refuse a certificate revoked at or before ``at``; one revoked later was good at ``at``."""
    if crl is None:
        return
    entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
    if entry is None:
        return
    revoked_at = _to_seconds(entry.revocation_date_utc)
    if revoked_at <= at:
        raise Rejected("IOME-CERT-003", f"certificate was revoked at {revoked_at}, before {at}")


def _load_pem(kind: str, text: object) -> bytes:
    if not isinstance(text, str):
        raise Malformed(
            "IOME-CERT-001", f"{kind} must be a PEM string, found {type(text).__name__}"
        )
    try:
        return text.encode("ascii")
    except UnicodeEncodeError:
        raise Malformed("IOME-CERT-001", f"{kind} PEM must be ASCII") from None


class CertificateDirectory:
    """What validators consult: the trusted root, the known certificates and the CRL.

    Construction enforces IOME-CERT-007 (root and every certificate carry an Ed25519 key) and
    IOME-CERT-008 (the CRL verifies under the root key). Certificates are indexed by lowercase
    hex public key; one key may hold several (a station re-certified), and all are kept.
    """

    def __init__(
        self,
        root: x509.Certificate,
        certificates: Iterable[x509.Certificate],
        crl: x509.CertificateRevocationList | None = None,
    ) -> None:
        self._root = root
        self._root_key = check_certificate_key_is_ed25519(root)
        self._certificates = tuple(certificates)
        self._crl = crl
        if crl is not None:
            check_crl_signed_by_root(crl, self._root_key)
        by_key: dict[str, list[x509.Certificate]] = {}
        for cert in self._certificates:
            key_hex = _public_key_hex(check_certificate_key_is_ed25519(cert))
            by_key.setdefault(key_hex, []).append(cert)
        # Sorted by DER so that which certificate is returned, or whose failure is reported,
        # does not depend on the order the certificates were listed in.
        #: id(certificate) -> None if its issuer signature verified, else the refusal message.
        #: Keyed by id: every certificate is kept alive in self._certificates.
        self._issued: dict[int, str | None] = {}
        self._by_key = {
            key: tuple(sorted(certs, key=lambda c: c.public_bytes(Encoding.DER)))
            for key, certs in by_key.items()
        }

    @property
    def root(self) -> x509.Certificate:
        """The trusted root certificate."""
        return self._root

    @property
    def root_public_key_hex(self) -> str:
        """The authority's raw Ed25519 public key, lowercase hex."""
        return _public_key_hex(self._root_key)

    @property
    def certificates(self) -> tuple[x509.Certificate, ...]:
        """The certificates, in the order given."""
        return self._certificates

    @property
    def crl(self) -> x509.CertificateRevocationList | None:
        """The revocation list, if any."""
        return self._crl

    def get_certificates(self, public_key_hex: str) -> tuple[x509.Certificate, ...]:
        """All certificates known for ``public_key_hex`` (lowercase hex), in DER order."""
        return self._by_key.get(public_key_hex, ())

    def check_certified(
        self, public_key_hex: str, role: str, at: int, subject_id: str | None = None
    ) -> x509.Certificate:
        """Return a certificate proving ``public_key_hex`` acted as ``role`` at time ``at``.

        One of the key's certificates must pass every rule, checked in the order CERT-001
        (issued by the root), CERT-004 (role), CERT-005 (CN equals ``subject_id`` if given),
        CERT-002 (valid at ``at``), CERT-003 (not revoked at or before ``at``). If several
        pass, the first in DER order is returned.

        Raises:
            Rejected: IOME-CERT-006 if the key has no certificate; otherwise the failure of
                the certificate that got furthest in the order above (ties: first in DER order).
            UsageError: ``role`` is not a known role or ``at`` is not an integer.
        """
        if role not in ROLES:
            raise UsageError("IOME-CERT-004", f"role must be one of {ROLES}, found {role!r}")
        if isinstance(at, bool) or not isinstance(at, int):
            raise UsageError("IOME-CERT-002", f"at must be integer unix seconds, found {at!r}")
        if not isinstance(public_key_hex, str):
            raise UsageError(
                "IOME-CERT-006", f"public_key_hex must be a str, found {public_key_hex!r}"
            )
        certs = self.get_certificates(public_key_hex)
        check_key_has_certificate(public_key_hex, certs)
        failures: list[Rejected] = []
        for cert in certs:
            try:
                self._check_issued(cert)
                check_certificate_role(cert, role)
                check_certificate_subject_id(cert, subject_id)
                check_certificate_valid_at(cert, at)
                check_certificate_not_revoked(cert, self._crl, at)
            except Rejected as exc:
                failures.append(exc)
                continue
            return cert
        # max() keeps the first of equal elements, which gives the DER-order tie-break.
        raise max(failures, key=lambda exc: _CHECK_ORDER.index(exc.req_id))

    def with_revocation_list(self, crl: x509.CertificateRevocationList) -> CertificateDirectory:
        """A new directory in which ``crl`` is the revocation list in force (IOME-CERT-008).

        Placeholder until the certificate profile lands: it checks the signature only.
        """
        return CertificateDirectory(self._root, self._certificates, crl)

    def _check_issued(self, cert: x509.Certificate) -> None:
        """IOME-CERT-001 once per certificate: the root and the certificate never change for
        the directory's lifetime, and checking the issuer signature is the costly part."""
        key = id(cert)
        if key not in self._issued:
            try:
                check_issued_by_root(cert, self._root)
                self._issued[key] = None
            except Rejected as exc:
                self._issued[key] = exc.message
        message = self._issued[key]
        if message is not None:
            raise Rejected("IOME-CERT-001", message)

    def is_certified(
        self, public_key_hex: str, role: str, at: int, subject_id: str | None = None
    ) -> bool:
        """Whether :meth:`check_certified` would succeed; never raises."""
        try:
            self.check_certified(public_key_hex, role, at, subject_id)
        except IoMEError:
            return False
        return True

    def to_json(self) -> dict[str, object]:
        """PEM form for embedding in test vectors: keys "root", "certificates", "crl"."""
        pem = Encoding.PEM
        return {
            "root": self._root.public_bytes(pem).decode("ascii"),
            "certificates": [c.public_bytes(pem).decode("ascii") for c in self._certificates],
            "crl": None if self._crl is None else self._crl.public_bytes(pem).decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> CertificateDirectory:
        """Rebuild a directory from :meth:`to_json` output.

        Raises:
            Malformed: IOME-CERT-001 for wrong keys or types, or PEM that does not parse.
            Rejected: IOME-CERT-007 / IOME-CERT-008 as in the constructor.
        """
        if not isinstance(data, Mapping) or set(data) != {"root", "certificates", "crl"}:
            raise Malformed(
                "IOME-CERT-001", "directory must be an object with root, certificates, crl"
            )
        listed = data["certificates"]
        if not isinstance(listed, list):
            raise Malformed("IOME-CERT-001", "certificates must be a list of PEM strings")
        try:
            root = x509.load_pem_x509_certificate(_load_pem("root", data["root"]))
            certs = [x509.load_pem_x509_certificate(_load_pem("certificate", c)) for c in listed]
            crl_text = data["crl"]
            crl = None
            if crl_text is not None:
                crl = x509.load_pem_x509_crl(_load_pem("crl", crl_text))
        except ValueError as exc:
            if isinstance(exc, IoMEError):
                raise
            raise Malformed("IOME-CERT-001", f"PEM does not parse: {exc}") from None
        return cls(root, certs, crl)
