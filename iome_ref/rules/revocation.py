"""Revocation lists carried as chain data (chains.md, "What a verdict may depend on").

What lives here: the rules of the ``RevocationList`` transaction itself (its DER decodes, its
claimed time is the CRL's), and the rule that turns later revocation knowledge into evidence.
What must not: the certificate profile of a CRL (issuer, cRLSign, CRLNumber, entries), which
``iome_ref.pki`` enforces when a directory takes the list in.
"""

from __future__ import annotations

from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from iome_ref.errors import Rejected
from iome_ref.models import RevocationList
from iome_ref.pki import CertificateDirectory
from iome_ref.requirements import enforces

__all__ = [
    "CertifiedUse",
    "check_revocation_list_der",
    "check_revocation_list_time",
    "check_use_not_revoked_later",
]


class CertifiedUse(NamedTuple):
    """One certified key an accepted transaction relied on: enough to re-judge it later, at
    the transaction's claimed time ``at`` and at its block's time ``included_at`` (the two
    times it was judged at, IOME-CERT-021; None: the claimed time only)."""

    tx_id: str
    tx_type: str
    public_key: str
    role: str
    subject_id: str | None
    at: int
    included_at: int | None = None


@enforces("IOME-REV-001")
def check_revocation_list_der(revocation: RevocationList) -> x509.CertificateRevocationList:
    """The ``crl`` field must be one X.509 CRL in DER, exactly: re-encoding gives the same bytes.

    Why exact DER: BER admits several encodings of one list, so two relays of one CRL would get
    two tx ids and the replay rule (IOME-REC-002) would not see them as one.

    Raises:
        Rejected: IOME-REV-001.
    """
    raw = bytes.fromhex(revocation.crl)
    try:
        crl = x509.load_der_x509_crl(raw)
        reencoded = crl.public_bytes(Encoding.DER)
    except (ValueError, x509.InvalidVersion, x509.DuplicateExtension) as exc:
        raise Rejected("IOME-REV-001", f"crl is not a DER X.509 CRL: {exc}") from None
    if reencoded != raw:
        raise Rejected("IOME-REV-001", "crl is not in distinguished (DER) encoding")
    return crl


@enforces("IOME-REV-002")
def check_revocation_list_time(
    revocation: RevocationList, crl: x509.CertificateRevocationList
) -> None:
    """The claimed time ``this_update`` must be the CRL's own thisUpdate, so that block-time
    rules (IOME-BLK-008) judge the list by the time its issuer signed into it.

    Raises:
        Rejected: IOME-REV-002.
    """
    signed = int(crl.last_update_utc.timestamp())
    if revocation.this_update != signed:
        raise Rejected(
            "IOME-REV-002", f"this_update is {revocation.this_update}, the CRL says {signed}"
        )


@enforces("IOME-REV-003")
def check_use_not_revoked_later(use: CertifiedUse, directory: CertificateDirectory) -> None:
    """Re-judge an accepted transaction's certified key under a newer directory, at the two
    times it was judged at: its claimed time, then its block's time.

    The chain never reverses its verdict on history; a failure here becomes evidence that the
    transaction relied on a key that its issuer has since revoked from a date at or before the
    transaction's claimed time (a backdated revocation, certificates.md "Security"), or at or
    before the block that included it (a list that, on the chain in time, would have refused it
    under IOME-CERT-021).

    Raises:
        Rejected: IOME-REV-003, when the newer directory refuses the use at either time.
    """
    times = [use.at]
    if use.included_at is not None and use.included_at != use.at:
        times.append(use.included_at)
    for at in times:
        try:
            directory.check_certified(use.public_key, use.role, at, use.subject_id)
        except Rejected as exc:
            raise Rejected(
                "IOME-REV-003",
                f"{use.tx_type} {use.tx_id} relied on {use.public_key[:16]}..., refused now: "
                f"{exc.req_id}: {exc.message}",
            ) from None
