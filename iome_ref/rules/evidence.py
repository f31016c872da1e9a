"""Re-verifying an evidence bundle with nothing but the bundle and a trusted root.

What lives here: one function per IOME-EVB rule (spec/evidence.md) and :func:`verify_bundle`,
which runs them in the spec's order so that a bundle with one part tampered with is refused
with the id of that part. The certificate checks are the chain's own
(``CertificateDirectory.check_certified``) run on a directory built from the bundle alone, so
the bundle is judged exactly as the chain judged the transaction, under the revocation lists
the chain had in force.

What must not live here: building bundles (``iome_ref.chain.bundles``), the bundle's shape
(``iome_ref.models.evidence``) or any reading of files (the CLI).

Why the certificate path and the revocation lists are two rules: a relying party needs to know
whether a signer was never certified (IOME-EVB-005) or was certified and the bundle's
revocation evidence is missing, stale or says revoked (IOME-EVB-010). A directory without
revocation lists lets a path pass every profile check and stop at "revocation status unknown"
(IOME-CERT-018), the last check but one of the chain's order; that is how the path is judged
on its own before the lists are.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding

from iome_ref.constants import ROLE_BACKUP, ROLE_MANAGER, ROLE_PRODUCER
from iome_ref.crypto import verify
from iome_ref.encoding import canonical_json, compute_hash
from iome_ref.errors import IoMEError, Rejected
from iome_ref.merkle import is_valid_inclusion_proof
from iome_ref.models import Anchor, Block, SignedModel, parse_message
from iome_ref.models.evidence import CertifiedKeyEvidence, EvidenceBundle, parse_bundle
from iome_ref.pki import CertificateDirectory, load_crl_pem
from iome_ref.requirements import enforces
from iome_ref.rules.certificates import get_certified_keys
from iome_ref.rules.encoding import check_signatures, check_tx_id

__all__ = [
    "EVB_ORDER",
    "VerifiedBundle",
    "check_block_header",
    "check_bundle_signatures",
    "check_bundle_tx",
    "check_inclusion",
    "check_producer_path",
    "check_producer_signature",
    "check_revocation_in_force",
    "check_signer_paths",
    "check_signers_at_block",
    "check_trust_anchor",
    "compute_fingerprint",
    "verify_bundle",
]

#: The order the rules run in (spec/evidence.md, "Verifying a bundle").
EVB_ORDER: Final = tuple(f"IOME-EVB-{n:03d}" for n in range(1, 12))
#: What cryptography raises on a certificate it cannot decode (not all are ValueErrors).
_UNDECODABLE: Final = (
    UnicodeEncodeError,
    ValueError,
    x509.DuplicateExtension,
    x509.InvalidVersion,
    UnsupportedAlgorithm,
)
#: The id a path without revocation lists stops at when every profile check passed.
_STATUS_UNKNOWN: Final = "IOME-CERT-018"


@dataclass(frozen=True)
class VerifiedBundle:
    """What a valid bundle proves: this transaction is in this block of this chain."""

    bundle: EvidenceBundle
    tx: SignedModel

    @property
    def summary(self) -> str:
        block = self.bundle.block
        return (
            f"{self.tx.tx_type} {self.tx.tx_id} in block {block.height} ({block.block_hash}) "
            f"of chain {self.bundle.chain}, signed by {len(self.bundle.signers)} certified "
            f"key(s) at {self.tx.time}"
        )


def compute_fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 of a certificate's DER, lowercase hex: how a bundle names its trust anchor."""
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


def _load_certificate(text: str) -> x509.Certificate:
    """One PEM certificate, every part decoded now (cryptography decodes lazily), so a garbled
    part is a refusal here rather than an exception in the middle of a path check.

    Raises:
        ValueError and the other _UNDECODABLE exceptions.
    """
    certificate = x509.load_pem_x509_certificate(text.encode("ascii"))
    _ = (certificate.subject, certificate.issuer, certificate.extensions)
    _ = (certificate.not_valid_before_utc, certificate.not_valid_after_utc)
    certificate.public_key()
    return certificate


@functools.lru_cache(maxsize=256)
def _cached_directory(
    anchor: x509.Certificate, texts: tuple[str, ...]
) -> CertificateDirectory | str:
    """The directory of the trusted root and a path's certificates, without revocation lists,
    or why there is none. Cached: a directory never changes, and checking its certificates'
    signatures is most of a bundle's cost, while one signer's path recurs in many bundles."""
    certificates = []
    for index, text in enumerate(texts):
        try:
            certificates.append(_load_certificate(text))
        except _UNDECODABLE as exc:
            return f"certificates.{index}: expected a PEM certificate, {exc}"
    try:
        return CertificateDirectory(anchor, certificates)
    except IoMEError as exc:
        return f"{exc.label}: {exc.message}"


def _path_directory(
    req_id: str, where: str, key: CertifiedKeyEvidence, anchor: x509.Certificate
) -> CertificateDirectory:
    """A directory of the trusted root and the path's certificates, without revocation lists.

    Raises:
        Rejected: ``req_id``, a certificate does not decode or the directory refuses it.
    """
    directory = _cached_directory(anchor, tuple(key.certificates))
    if isinstance(directory, str):
        raise Rejected(req_id, f"{where}: {directory}")
    return directory


def _check_path(
    req_id: str, where: str, key: CertifiedKeyEvidence, anchor: x509.Certificate, at: int
) -> None:
    """The key's path passes every check of certificates.md up to revocation, at ``at``."""
    directory = _path_directory(req_id, where, key, anchor)
    try:
        directory.check_certified(key.public_key, key.role, at, key.subject_id)
    except Rejected as exc:
        if exc.req_id == _STATUS_UNKNOWN:
            return  # every profile check passed: revocation is IOME-EVB-010's
        raise Rejected(req_id, f"{where}: {exc.req_id}: {exc.message}") from None
    except IoMEError as exc:
        raise Rejected(req_id, f"{where}: {exc.message}") from None


@enforces("IOME-EVB-002")
def check_trust_anchor(bundle: EvidenceBundle, anchor: x509.Certificate) -> None:
    """The bundle names the root the relying party trusts: a bundle's own root proves nothing.

    Raises:
        Rejected: IOME-EVB-002.
    """
    fingerprint = compute_fingerprint(anchor)
    if bundle.trust_anchor != fingerprint:
        raise Rejected(
            "IOME-EVB-002",
            f"trust_anchor: expected {fingerprint} (the root you trust), found "
            f"{bundle.trust_anchor}",
        )


@enforces("IOME-EVB-003")
def check_bundle_tx(bundle: EvidenceBundle) -> SignedModel:
    """The transaction decodes as one, its tx id is its canonical hash, and it is the one the
    bundle names.

    Raises:
        Rejected: IOME-EVB-003 (naming the ENC id the transaction breaks, if any).
    """
    try:
        tx = parse_message(bundle.tx)
        if isinstance(tx, Block):
            raise Rejected("IOME-EVB-003", "tx: expected a transaction, found a Block")
        check_tx_id(tx)
    except Rejected as exc:
        if exc.req_id == "IOME-EVB-003":
            raise
        raise Rejected("IOME-EVB-003", f"tx: {exc.req_id}: {exc.message}") from None
    if tx.tx_id != bundle.tx_id:
        raise Rejected("IOME-EVB-003", f"tx_id: expected {tx.tx_id}, found {bundle.tx_id}")
    return tx


@enforces("IOME-EVB-004")
def check_bundle_signatures(tx: SignedModel) -> None:
    """Every signature the transaction carries verifies (its SIG rules, tags included).

    Raises:
        Rejected: IOME-EVB-004 naming the SIG id.
    """
    try:
        check_signatures(tx)
    except Rejected as exc:
        raise Rejected("IOME-EVB-004", f"tx: {exc.req_id}: {exc.message}") from None


@enforces("IOME-EVB-005")
def check_signer_paths(bundle: EvidenceBundle, tx: SignedModel, anchor: x509.Certificate) -> None:
    """The bundle lists exactly the keys the transaction needs certified (transactions.md),
    each with a certification path to the trust anchor valid at the claimed time.

    Raises:
        Rejected: IOME-EVB-005 naming the CERT id a path breaks.
    """
    role = bundle.signers[0].role if isinstance(tx, Anchor) and bundle.signers else ROLE_MANAGER
    if isinstance(tx, Anchor) and role not in (ROLE_MANAGER, ROLE_BACKUP):
        raise Rejected("IOME-EVB-005", f"signers.0.role: expected manager or backup, found {role}")
    expected = [tuple(key) for key in get_certified_keys(tx, role)]
    found = [(key.public_key, key.role, key.subject_id) for key in bundle.signers]
    if found != expected:
        wanted, given = [k[:2] for k in expected], [k[:2] for k in found]
        raise Rejected("IOME-EVB-005", f"signers: expected the keys {wanted}, found {given}")
    for index, key in enumerate(bundle.signers):
        _check_path("IOME-EVB-005", f"signers.{index}", key, anchor, tx.time)


def _header_hash(bundle: EvidenceBundle) -> str:
    return compute_hash(
        canonical_json(bundle.block.model_dump(mode="json", exclude={"block_hash", "signature"}))
    )


@enforces("IOME-EVB-006")
def check_block_header(bundle: EvidenceBundle, tx: SignedModel) -> None:
    """The header hashes to its block hash (IOME-BLK-011), is of the bundle's chain, and its
    time is not before the transaction's claimed time (IOME-BLK-008).

    Raises:
        Rejected: IOME-EVB-006.
    """
    block = bundle.block
    computed = _header_hash(bundle)
    if block.block_hash != computed:
        raise Rejected(
            "IOME-EVB-006", f"block.block_hash: expected {computed}, found {block.block_hash}"
        )
    if block.chain_id != bundle.chain:
        raise Rejected(
            "IOME-EVB-006", f"block.chain_id: expected {bundle.chain}, found {block.chain_id}"
        )
    if tx.time > block.time:
        raise Rejected(
            "IOME-EVB-006",
            f"block.time: expected at least the claimed time {tx.time}, found {block.time}",
        )


@enforces("IOME-EVB-007")
def check_inclusion(bundle: EvidenceBundle) -> None:
    """The audit path leads from the tx id, at its index, to the header's Merkle root
    (RFC 9162 §2.1.3.2).

    Raises:
        Rejected: IOME-EVB-007.
    """
    proof = bundle.inclusion
    valid = is_valid_inclusion_proof(
        bytes.fromhex(bundle.tx_id),
        proof.index,
        proof.size,
        [bytes.fromhex(node) for node in proof.path],
        bytes.fromhex(bundle.block.merkle_root),
    )
    if not valid:
        raise Rejected(
            "IOME-EVB-007",
            f"inclusion: the path of tx {bundle.tx_id} at {proof.index} of {proof.size} does not "
            f"lead to merkle_root {bundle.block.merkle_root}",
        )


@enforces("IOME-EVB-008")
def check_producer_path(bundle: EvidenceBundle, anchor: x509.Certificate) -> None:
    """The block's producer key has a certification path to the trust anchor for role
    producer, valid at the block's time.

    Raises:
        Rejected: IOME-EVB-008 naming the CERT id the path breaks.
    """
    producer = bundle.producer
    if (producer.public_key, producer.role) != (bundle.block.producer_pk, ROLE_PRODUCER):
        raise Rejected(
            "IOME-EVB-008",
            f"producer: expected key {bundle.block.producer_pk} as producer, found "
            f"{producer.public_key} as {producer.role}",
        )
    _check_path("IOME-EVB-008", "producer", producer, anchor, bundle.block.time)


@enforces("IOME-EVB-009")
def check_producer_signature(bundle: EvidenceBundle) -> None:
    """The producer signed the block hash (tag ``Block``).

    Raises:
        Rejected: IOME-EVB-009 naming the SIG id.
    """
    block = bundle.block
    try:
        verify(block.producer_pk, block.signature, "Block", block.block_hash)
    except Rejected as exc:
        raise Rejected("IOME-EVB-009", f"block.signature: {exc.req_id}: {exc.message}") from None


def _check_revocation(
    req_id: str, where: str, key: CertifiedKeyEvidence, anchor: x509.Certificate, at: int
) -> None:
    """The key's path passes every check of certificates.md at ``at`` under its own lists."""
    directory = _path_directory(req_id, where, key, anchor)
    try:
        for index, text in enumerate(key.crls):
            try:
                crl = load_crl_pem(text)
            except IoMEError as exc:
                raise Rejected(req_id, f"{where}.crls.{index}: {exc.message}") from None
            directory = directory.with_revocation_list(crl)
        directory.check_certified(key.public_key, key.role, at, key.subject_id)
    except Rejected as exc:
        if exc.req_id == req_id:
            raise
        raise Rejected(req_id, f"{where}: {exc.label}: {exc.message}") from None
    except IoMEError as exc:
        raise Rejected(req_id, f"{where}: {exc.label}: {exc.message}") from None


@enforces("IOME-EVB-010")
def check_revocation_in_force(
    bundle: EvidenceBundle, tx: SignedModel, anchor: x509.Certificate
) -> None:
    """Each path's revocation lists are signed by its CAs, in force at the time judged, and
    revoke none of its certificates at or before that time.

    Raises:
        Rejected: IOME-EVB-010 naming the CERT id.
    """
    for index, key in enumerate(bundle.signers):
        _check_revocation("IOME-EVB-010", f"signers.{index}", key, anchor, tx.time)
    _check_revocation("IOME-EVB-010", "producer", bundle.producer, anchor, bundle.block.time)


@enforces("IOME-EVB-011")
def check_signers_at_block(bundle: EvidenceBundle, anchor: x509.Certificate) -> None:
    """Each signer's path, with its lists, is valid at the block's time too (IOME-CERT-021).

    Why: the chains judge a certified key at the claimed time and again at the block's, so a
    key revoked or expired before its block never enters it, whatever date it signs; a bundle
    judged at the claimed time alone would prove a backdated transaction of a stolen key that
    a certified producer sealed anyway. Run after IOME-EVB-010, so what refuses here is the
    block's time and nothing else.

    Raises:
        Rejected: IOME-EVB-011 naming the CERT id the path breaks at the block's time.
    """
    at = bundle.block.time
    for index, key in enumerate(bundle.signers):
        _check_revocation(
            "IOME-EVB-011", f"signers.{index} at the block's time {at}", key, anchor, at
        )


def verify_bundle(document: object, anchor: x509.Certificate) -> VerifiedBundle:
    """Judge a decoded bundle against the trusted root ``anchor``, in the spec's order.

    Raises:
        Rejected: the IOME-EVB id of the first part that does not verify.
    """
    bundle = parse_bundle(document)
    check_trust_anchor(bundle, anchor)
    tx = check_bundle_tx(bundle)
    check_bundle_signatures(tx)
    check_signer_paths(bundle, tx, anchor)
    check_block_header(bundle, tx)
    check_inclusion(bundle)
    check_producer_path(bundle, anchor)
    check_producer_signature(bundle)
    check_revocation_in_force(bundle, tx, anchor)
    check_signers_at_block(bundle, anchor)
    return VerifiedBundle(bundle, tx)
