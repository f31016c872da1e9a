"""The certificate authority: a root or sub-CA that issues certificates and revocation lists.

What lives here: :class:`CertificateAuthority` and the serial-number derivation. What must
not: any check; a CA issues what it is asked to, and validators judge it (``profile``).

Determinism: Ed25519 signatures are deterministic and serial numbers are derived by hashing
the issuer key, subject, role, subject key and validity (see :func:`compute_serial_number`), so
the same CA key and the same inputs always give byte-identical DER. That keeps test vectors
that embed the PKI reproducible from a seed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import NameOID

from iome_ref.constants import ROLES
from iome_ref.errors import UsageError
from iome_ref.pki.fields import ORGANIZATION, get_extension, to_datetime
from iome_ref.pki.fields import public_key_hex as key_to_hex

__all__ = ["CertificateAuthority", "compute_serial_number", "compute_subject_name", "key_usage"]

#: An extension to put in a certificate, and whether it is critical.
ExtensionSpec = tuple[x509.ExtensionType, bool]


def key_usage(
    *, digital_signature: bool = False, cert_sign: bool = False, crl_sign: bool = False
) -> x509.KeyUsage:
    """A keyUsage with only the bits IoME uses."""
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


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


def compute_subject_name(common_name: str, role: str | None = None) -> x509.Name:
    """The subject IoME writes: O = IoME, OU = role (leaves only), CN = subject id or CA name."""
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION)]
    try:
        if role is not None:
            attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role))
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    except (TypeError, ValueError) as exc:
        raise UsageError("pki", f"subject name {common_name!r}: {exc}") from None
    return x509.Name(attributes)


def _ed25519_key(key_hex: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_hex))
    except (TypeError, ValueError) as exc:
        raise UsageError("pki", f"public_key_hex is not an Ed25519 key: {exc}") from None


def _ca_extensions(public_key: Ed25519PublicKey, path_length: int | None) -> list[ExtensionSpec]:
    """The profile of a CA certificate: critical cA, keyCertSign + cRLSign, SKI.

    digitalSignature is set too: the root key signs IssuerRegistrations (IOME-EPS-001).
    """
    if path_length is not None and (
        isinstance(path_length, bool) or not isinstance(path_length, int) or path_length < 0
    ):
        raise UsageError("pki", f"path_length must be None or >= 0, found {path_length!r}")
    return [
        (x509.BasicConstraints(ca=True, path_length=path_length), True),
        (key_usage(digital_signature=True, cert_sign=True, crl_sign=True), True),
        (x509.SubjectKeyIdentifier.from_public_key(public_key), False),
    ]


class CertificateAuthority:
    """The paper's certificate authority (§III step 6), or one of its sub-CAs: an Ed25519 key
    and its CA certificate.

    ``CertificateAuthority(key, name, ...)`` is a root with a self-signed certificate;
    :meth:`issue_ca` returns a sub-CA whose certificate the issuing CA signed (ISO 15118 PKIs
    have two sub-CA levels). Each issues role certificates, records revocations and signs its
    own revocation list. Every output is a pure function of the keys and the inputs.
    """

    def __init__(
        self,
        private_key: Ed25519PrivateKey,
        name: str,
        not_before: int,
        not_after: int,
        *,
        path_length: int | None = None,
    ) -> None:
        if not isinstance(private_key, Ed25519PrivateKey):
            raise UsageError("pki", "the authority key must be an Ed25519PrivateKey")
        self._key = private_key
        self._revoked: dict[int, int] = {}
        self._name = compute_subject_name(name, None)
        key_hex = self.public_key_hex
        public_key = private_key.public_key()
        serial = compute_serial_number(
            issuer_key_hex=key_hex,
            subject_id=name,
            role="",
            subject_key_hex=key_hex,
            not_before=not_before,
            not_after=not_after,
        )
        self._certificate = self._sign(
            serial,
            subject=self._name,
            public_key=public_key,
            not_before=not_before,
            not_after=not_after,
            extensions=_ca_extensions(public_key, path_length),
        )

    @classmethod
    def from_certificate(
        cls, private_key: Ed25519PrivateKey, certificate: x509.Certificate
    ) -> CertificateAuthority:
        """An authority signing as ``certificate`` with ``private_key``, whatever its profile.

        For fixtures: e.g. a station key issuing a certificate, which IOME-CERT-010 must
        refuse, or a sub-CA certificate made with :meth:`issue_custom`.
        """
        if not isinstance(private_key, Ed25519PrivateKey):
            raise UsageError("pki", "the authority key must be an Ed25519PrivateKey")
        authority = cls.__new__(cls)
        authority._key = private_key
        authority._revoked = {}
        authority._name = certificate.subject
        authority._certificate = certificate
        return authority

    def _sign(
        self,
        serial: int,
        *,
        subject: x509.Name,
        public_key: Ed25519PublicKey,
        not_before: int,
        not_after: int,
        extensions: Sequence[ExtensionSpec],
    ) -> x509.Certificate:
        start = to_datetime(not_before, "not_before")
        end = to_datetime(not_after, "not_after")
        if not_before > not_after:
            raise UsageError("pki", f"not_before {not_before} is after not_after {not_after}")
        try:
            builder = (
                x509.CertificateBuilder()
                .issuer_name(self._name)
                .subject_name(subject)
                .serial_number(serial)
                .public_key(public_key)
                .not_valid_before(start)
                .not_valid_after(end)
            )
            for extension, critical in extensions:
                builder = builder.add_extension(extension, critical)
            return builder.sign(self._key, None)
        except ValueError as exc:  # e.g. a date before 1950, or one extension twice
            raise UsageError("pki", f"cannot encode certificate: {exc}") from None

    def authority_key_identifier(self) -> x509.AuthorityKeyIdentifier:
        """The AKI of what this CA signs: a copy of its own SKI (RFC 5280 §4.2.1.1)."""
        ski = get_extension(self._certificate.extensions, x509.SubjectKeyIdentifier)
        if ski is None:
            return x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key())
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)

    @property
    def certificate(self) -> x509.Certificate:
        """This authority's CA certificate (self-signed for a root)."""
        return self._certificate

    @property
    def root(self) -> x509.Certificate:
        """This authority's CA certificate; for a root, the one validators trust."""
        return self._certificate

    @property
    def name(self) -> x509.Name:
        """The subject of this authority's certificate, the issuer of what it signs."""
        return self._name

    @property
    def public_key_hex(self) -> str:
        """The authority's raw Ed25519 public key, lowercase hex."""
        return key_to_hex(self._key.public_key())

    def issue(
        self, subject_id: str, role: str, public_key_hex: str, not_before: int, not_after: int
    ) -> x509.Certificate:
        """Certify ``public_key_hex`` as ``subject_id`` (CN) acting as ``role`` (OU).

        The profile of a certified key (IOME-CERT-013/014): cA=false, keyUsage
        digitalSignature only, SKI, and an AKI naming this CA's key.

        Raises:
            UsageError: unknown role, a key that is not 32-byte hex, or unencodable times.
        """
        if role not in ROLES:
            raise UsageError("pki", f"role must be one of {ROLES}, found {role!r}")
        subject_key = _ed25519_key(public_key_hex)
        subject = compute_subject_name(subject_id, role)  # refuses a non-text or over-long CN first
        serial = compute_serial_number(
            issuer_key_hex=self.public_key_hex,
            subject_id=subject_id,
            role=role,
            subject_key_hex=key_to_hex(subject_key),
            not_before=not_before,
            not_after=not_after,
        )
        extensions: list[ExtensionSpec] = [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (key_usage(digital_signature=True), True),
            (x509.SubjectKeyIdentifier.from_public_key(subject_key), False),
            (self.authority_key_identifier(), False),
        ]
        return self._sign(
            serial,
            subject=subject,
            public_key=subject_key,
            not_before=not_before,
            not_after=not_after,
            extensions=extensions,
        )

    def issue_ca(
        self,
        name: str,
        private_key: Ed25519PrivateKey,
        not_before: int,
        not_after: int,
        *,
        path_length: int | None = None,
    ) -> CertificateAuthority:
        """Certify a sub-CA named ``name`` (CN, no OU) holding ``private_key``, and return it.

        The sub-CA's certificate has the CA profile (critical cA with ``path_length``,
        keyCertSign and cRLSign, SKI) and an AKI naming this CA's key.
        """
        if not isinstance(private_key, Ed25519PrivateKey):
            raise UsageError("pki", "a sub-CA key must be an Ed25519PrivateKey")
        public_key = private_key.public_key()
        serial = compute_serial_number(
            issuer_key_hex=self.public_key_hex,
            subject_id=name,
            role="",
            subject_key_hex=key_to_hex(public_key),
            not_before=not_before,
            not_after=not_after,
        )
        extensions = [
            *_ca_extensions(public_key, path_length),
            (self.authority_key_identifier(), False),
        ]
        certificate = self._sign(
            serial,
            subject=compute_subject_name(name, None),
            public_key=public_key,
            not_before=not_before,
            not_after=not_after,
            extensions=extensions,
        )
        return CertificateAuthority.from_certificate(private_key, certificate)

    def issue_custom(
        self,
        subject: x509.Name,
        public_key: Ed25519PublicKey,
        not_before: int,
        not_after: int,
        extensions: Sequence[ExtensionSpec],
    ) -> x509.Certificate:
        """Sign a certificate with exactly ``extensions``, in or out of the profile.

        For tests and vectors that need a certificate the profile refuses (a leaf with cA, a
        CA without keyCertSign, an unknown critical extension). The serial covers the
        extensions, so two variants of one subject are two serials.
        """
        serial = compute_serial_number(
            issuer_key_hex=self.public_key_hex,
            subject_id=subject.rfc4514_string(),
            role=";".join(f"{ext!r}/{critical}" for ext, critical in extensions),
            subject_key_hex=key_to_hex(public_key),
            not_before=not_before,
            not_after=not_after,
        )
        return self._sign(
            serial,
            subject=subject,
            public_key=public_key,
            not_before=not_before,
            not_after=not_after,
            extensions=extensions,
        )

    def revoke(self, serial: int, at: int) -> None:
        """Record that certificate ``serial`` is revoked from time ``at`` on.

        Revocation cannot be undone; revoking again keeps the earliest time, so the resulting
        CRL does not depend on the order of calls.
        """
        if isinstance(serial, bool) or not isinstance(serial, int) or serial <= 0:
            raise UsageError("pki", f"serial must be a positive integer, found {serial!r}")
        to_datetime(at, "at")
        self._revoked[serial] = min(at, self._revoked.get(serial, at))

    def crl(
        self, this_update: int, next_update: int, *, number: int | None = None
    ) -> x509.CertificateRevocationList:
        """Sign this CA's revocation list: entries sorted by serial, an AKI naming this CA's
        key, CRL number ``number`` (default: ``this_update``, so later lists number higher)."""
        last = to_datetime(this_update, "this_update")
        nxt = to_datetime(next_update, "next_update")
        crl_number = max(this_update, 0) if number is None else number
        try:
            builder = (
                x509.CertificateRevocationListBuilder()
                .issuer_name(self._name)
                .last_update(last)
                .next_update(nxt)
                .add_extension(x509.CRLNumber(crl_number), critical=False)
                .add_extension(self.authority_key_identifier(), critical=False)
            )
            for serial in sorted(self._revoked):
                entry = (
                    x509.RevokedCertificateBuilder()
                    .serial_number(serial)
                    .revocation_date(to_datetime(self._revoked[serial], "at"))
                    .build()
                )
                builder = builder.add_revoked_certificate(entry)
            return builder.sign(self._key, None)
        except (TypeError, ValueError) as exc:
            raise UsageError("pki", f"cannot encode revocation list: {exc}") from None
