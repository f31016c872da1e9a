"""The evidence bundle: what a third party needs to re-verify one accepted transaction.

A bundle (spec/evidence.md) holds the transaction, the certification path and revocation
lists of each key that had to be certified for it at its claimed time, the header of the block
that holds it, the RFC 6962 inclusion path from its tx id to that header's Merkle root, and
the producer's certification path. It deliberately does NOT hold the trust anchor: a bundle
that carried its own root would prove only that someone made a CA. It names the anchor's
fingerprint, and the relying party supplies the root it trusts (IOME-EVB-002).

What lives here: the shape (pydantic, strict and closed, whose JSON Schema is committed under
spec/schemas/conformance/) and :func:`parse_bundle`, the one place a bundle's shape errors
become IOME-EVB-001. What must not: the checks (``iome_ref.rules.evidence``).
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import Field, StringConstraints, ValidationError

from iome_ref.constants import MAX_CERT_PATH_CAS, MAX_LIST_LEN, MAX_MESSAGE_BYTES
from iome_ref.errors import Rejected
from iome_ref.models.base import Hash, Identifier, ProtocolModel, PublicKey, Signature
from iome_ref.requirements import enforces

__all__ = [
    "BUNDLE_FORMAT",
    "MAX_BUNDLE_BYTES",
    "BlockHeader",
    "CertifiedKeyEvidence",
    "EvidenceBundle",
    "InclusionProof",
    "parse_bundle",
]

#: The format tag of this version of the bundle.
BUNDLE_FORMAT: Final = "iome-evidence/1"
#: Most bytes of a bundle file: a transaction of up to MAX_MESSAGE_BYTES, with room for the
#: certification paths and revocation lists beside it.
MAX_BUNDLE_BYTES: Final = 2 * MAX_MESSAGE_BYTES
#: Longest PEM text of one certificate or revocation list a bundle may carry; a bundle as a
#: whole is bounded by the file reader, this bounds what one parser call is handed.
_MAX_PEM_CHARS: Final = 1 << 16
_MAX_INT: Final = (1 << 53) - 1

Pem = Annotated[str, StringConstraints(max_length=_MAX_PEM_CHARS)]
Count = Annotated[int, Field(ge=0, le=_MAX_INT)]


class CertifiedKeyEvidence(ProtocolModel):
    """A key that had to be certified, with the path and revocation lists that show it was."""

    public_key: PublicKey = Field(description="The certified key, lowercase hex.")
    role: Identifier = Field(description="The certificate role required (certificates.md).")
    subject_id: Identifier | None = Field(description="The certificate CN required, or null.")
    certificates: list[Pem] = Field(
        min_length=1,
        max_length=MAX_CERT_PATH_CAS + 1,
        description="PEM certificates: the key's own first, then each issuing CA up to, not "
        "including, the trust anchor.",
    )
    crls: list[Pem] = Field(
        max_length=MAX_CERT_PATH_CAS + 1,
        description="PEM revocation lists the chain had in force, one per CA that issued a "
        "certificate of the path (the trust anchor included).",
    )


class BlockHeader(ProtocolModel):
    """A Block without its transactions: what the producer signed (chains.md)."""

    type: Literal["Block"] = "Block"
    chain_id: Identifier
    height: Count
    prev_hash: Hash
    merkle_root: Hash
    time: Count
    producer_pk: PublicKey
    block_hash: Hash
    signature: Signature


class InclusionProof(ProtocolModel):
    """RFC 6962 §2.1.1 audit path of the transaction's tx id in its block."""

    index: Count = Field(description="Position of the transaction in the block.")
    size: Count = Field(ge=1, description="Number of transactions in the block.")
    path: list[Hash] = Field(max_length=64, description="Sibling hashes from the leaf up, hex.")


class EvidenceBundle(ProtocolModel):
    """Everything a third party needs to re-verify one accepted transaction (spec/evidence.md)."""

    format: Literal["iome-evidence/1"] = Field(description="The bundle format and version.")
    trust_anchor: Hash = Field(
        description="SHA-256 of the DER of the root certificate every path ends at; the "
        "relying party supplies that root itself (IOME-EVB-002)."
    )
    chain: Identifier = Field(description="The chain that accepted the transaction.")
    tx_id: Hash = Field(description="The transaction's tx id (IOME-ENC-011).")
    tx: dict[str, Any] = Field(description="The transaction as JSON.")
    signers: list[CertifiedKeyEvidence] = Field(
        max_length=MAX_LIST_LEN,
        description="Each key of the transaction that had to be certified, in the order "
        "transactions.md checks them.",
    )
    block: BlockHeader = Field(description="The header of the block holding the transaction.")
    inclusion: InclusionProof
    producer: CertifiedKeyEvidence = Field(description="The block producer's certification.")


@enforces("IOME-EVB-001")
def parse_bundle(document: object) -> EvidenceBundle:
    """A bundle is a JSON object of exactly this shape: anything else is no evidence.

    Raises:
        Rejected: IOME-EVB-001, naming the first member that does not fit.
    """
    try:
        return EvidenceBundle.model_validate(document)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "bundle"
        raise Rejected("IOME-EVB-001", f"{where}: {error['msg']}") from None
