"""The certificate authority as an actor: certifies, revokes, and starts price-issuer chains.

Paper §III step 6: verifiers "verify if the entity that signed the transactions is a genuine
charging station by querying a Certificate Authority". The authority publishes what they
query: a directory of X.509 certificates and a revocation list.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from iome_ref.crypto import KeyPair
from iome_ref.models import IssuerRegistration, RevocationList
from iome_ref.pki import CertificateAuthority, CertificateDirectory

__all__ = ["Authority"]


class Authority:
    """Issues certificates to stations, verifiers, companies, managers, producers, predictors."""

    def __init__(self, key: KeyPair, name: str, not_before: int, not_after: int) -> None:
        self.key = key
        self._ca = CertificateAuthority(key.private, name, not_before, not_after)
        self._certificates: list[x509.Certificate] = []
        self._not_after = not_after

    def certify(
        self, subject_id: str, role: str, public_key_hex: str, not_before: int, not_after: int
    ) -> x509.Certificate:
        cert = self._ca.issue(subject_id, role, public_key_hex, not_before, not_after)
        self._certificates.append(cert)
        return cert

    def revoke(self, cert: x509.Certificate, at: int) -> None:
        self._ca.revoke(cert.serial_number, at)

    def directory(self, at: int) -> CertificateDirectory:
        """What validators consult from ``at`` on: every certificate and the current CRL."""
        return CertificateDirectory(
            self._ca.root, list(self._certificates), [self._ca.crl(at, self._not_after)]
        )

    def revocation_list(self, at: int) -> RevocationList:
        """The current CRL, issued at ``at``, as chain data (chains.md, IOME-REV-001..003).

        Nodes judge by what their chain holds, not by what they fetched from the authority, so
        the authority publishes each new list as a transaction.
        """
        crl = self._ca.crl(at, self._not_after)
        return RevocationList.create({}, crl=crl.public_bytes(Encoding.DER).hex(), this_update=at)

    def register_issuer(
        self, issuer_pk: str, issuer_id: str, regions: Sequence[str], t: int
    ) -> IssuerRegistration:
        """Start a distribution company's EPS chain (DESIGN §2, IOME-EPS-001)."""
        return IssuerRegistration.create(
            {"signature": self.key},
            issuer_pk=issuer_pk,
            issuer_id=issuer_id,
            regions=sorted(set(regions)),
            timestamp=t,
            ca_pk=self.key.public_hex,
        )
