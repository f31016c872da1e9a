"""Reading the X.509 fields IoME judges: names, times, keys and extensions.

What lives here: small total functions over ``cryptography`` objects that never raise on a
foreign certificate (they return "" or None, and the rule that needs the field refuses).
What must not: any rule. Rules live in ``profile`` (certificates) and ``revocation`` (CRLs).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from iome_ref.errors import UsageError

__all__ = [
    "ORGANIZATION",
    "der",
    "get_extension",
    "get_role",
    "get_subject_id",
    "name_der",
    "public_key_hex",
    "to_datetime",
    "to_seconds",
]

#: Organization (O) of every IoME certificate subject.
ORGANIZATION = "IoME"

E = TypeVar("E", bound=x509.ExtensionType)


def to_datetime(seconds: int, what: str) -> datetime:
    """Turn integer unix seconds into a UTC datetime, refusing non-integers (UsageError)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise UsageError("pki", f"{what} must be integer unix seconds, found {seconds!r}")
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise UsageError("pki", f"{what} {seconds} is out of range: {exc}") from None


def to_seconds(moment: datetime) -> int:
    """Integer unix seconds of an X.509 time (which has one-second precision)."""
    return int(moment.timestamp())


def public_key_hex(key: Ed25519PublicKey) -> str:
    """A raw Ed25519 public key as lowercase hex, the form transactions carry."""
    return key.public_bytes_raw().hex()


def der(obj: x509.Certificate | x509.CertificateRevocationList) -> bytes:
    """DER bytes: the order every tie between certificates or CRLs is broken by."""
    return obj.public_bytes(Encoding.DER)


def name_der(name: x509.Name) -> bytes:
    """DER of a distinguished name. Names chain by these bytes, not by RFC 5280 §7.1 folding:
    two spellings of one name are two names, so no validator can disagree on a match."""
    return name.public_bytes()


@functools.lru_cache(maxsize=1 << 12)
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


def get_extension(extensions: x509.Extensions, kind: type[E]) -> x509.Extension[E] | None:
    """The extension of type ``kind``, or None. ``extensions`` was parsed when the directory
    loaded the object (a duplicate or undecodable extension is refused there)."""
    try:
        return extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return None
