"""Ledger transactions (anchors, commitments, external records, handovers) and the Block.

A Block is not a transaction: it is hashed over its header alone (the Merkle root stands for
its transactions) and signed by its producer under the tag ``Block``.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Self

from pydantic import Field

from iome_ref.crypto import KeyPair
from iome_ref.encoding import canonical_json, compute_hash
from iome_ref.merkle import compute_merkle_root_hex
from iome_ref.models.base import (
    BoundedList,
    CrlHex,
    Hash,
    Identifier,
    ProtocolModel,
    PublicKey,
    Quantity,
    Seconds,
    Signature,
    SignedModel,
    SigSpec,
)
from iome_ref.models.energy import EPS, ESDP, IssuerRegistration
from iome_ref.models.mobility import ChargeSession, ODMatrix, Presence, Trip, TripClaim

__all__ = [
    "Anchor",
    "Block",
    "DataCommitment",
    "ExternalRecord",
    "ManagerHandover",
    "RevocationList",
    "Transaction",
]


class Anchor(SignedModel):
    """A child chain's head hash recorded on the public chain (paper §II-B, §III)."""

    SIGNATURES: ClassVar = (SigSpec("signature", "manager_pk", "Anchor"),)

    type: Literal["Anchor"] = "Anchor"
    chain_id: Identifier = Field(description="Child chain anchored (IOME-CERT-005).")
    height: Quantity = Field(description="Child block height anchored (IOME-ANC-004).")
    head_hash: Hash = Field(description="Child block hash at height (IOME-ANC-005).")
    prev_anchor_id: Hash | None = Field(
        description="Previous anchor of this chain, null for the first (IOME-ANC-002/003)."
    )
    timestamp: Seconds = Field(description="Anchor time, unix s.")
    manager_pk: PublicKey = Field(description="Current manager's key (IOME-ANC-001).")
    signature: Signature = Field(description="Manager signature, tag Anchor.")


class DataCommitment(SignedModel):
    """Hash of raw data kept locally, recorded on a private chain for disputes (paper §III)."""

    SIGNATURES: ClassVar = (SigSpec("signature", "owner_pk", "DataCommitment"),)

    type: Literal["DataCommitment"] = "DataCommitment"
    data_hash: Hash = Field(description="SHA-256 of the raw data kept by the owner.")
    owner_pk: PublicKey = Field(description="Key of the party keeping the data.")
    timestamp: Seconds = Field(description="Commitment time, unix s.")
    signature: Signature = Field(description="Owner signature, tag DataCommitment.")


class ExternalRecord(SignedModel):
    """A message exchanged with a third party, signed by both: non-repudiation (paper §III)."""

    SIGNATURES: ClassVar = (
        SigSpec("sig_a", "party_a_pk", "ExternalRecord"),
        SigSpec("sig_b", "party_b_pk", "ExternalRecord"),
    )

    type: Literal["ExternalRecord"] = "ExternalRecord"
    message_hash: Hash = Field(description="SHA-256 of the exchanged message.")
    party_a_pk: PublicKey = Field(description="Key of one party (IOME-REC-001).")
    party_b_pk: PublicKey = Field(description="Key of the other party (IOME-REC-001).")
    timestamp: Seconds = Field(description="Exchange time, unix s.")
    sig_a: Signature = Field(description="Party A signature, tag ExternalRecord.")
    sig_b: Signature = Field(description="Party B signature, tag ExternalRecord.")


class ManagerHandover(SignedModel):
    """The backup manager takes over a child chain whose manager went silent (paper §III)."""

    SIGNATURES: ClassVar = (SigSpec("signature", "new_manager_pk", "ManagerHandover"),)

    type: Literal["ManagerHandover"] = "ManagerHandover"
    chain_id: Identifier = Field(description="Child chain handed over.")
    old_manager_pk: PublicKey = Field(description="Manager being replaced.")
    new_manager_pk: PublicKey = Field(description="Certified backup (IOME-ANC-006).")
    last_anchor_id: Hash = Field(description="Anchor tip at handover (IOME-ANC-007/008).")
    timestamp: Seconds = Field(description="Handover time, unix s.")
    signature: Signature = Field(description="Backup's signature, tag ManagerHandover.")


class RevocationList(SignedModel):
    """A certificate authority's revocation list carried as chain data (IOME-REV-001..003).

    Why on chain: a verdict may depend only on the genesis configuration and on data with a
    height (certificates.md, chains.md "What a verdict may depend on"). A CRL handed to nodes
    out of band would let two nodes, or one node before and after a restart, judge the same
    block differently. The CRL is signed inside its DER by its issuing CA, so anyone may relay
    it and the transaction carries no signature of its own.
    """

    TIME_FIELD: ClassVar = "this_update"

    type: Literal["RevocationList"] = "RevocationList"
    crl: CrlHex = Field(description="The DER-encoded X.509 v2 CRL, lowercase hex (IOME-REV-001).")
    this_update: Seconds = Field(
        description="The CRL's thisUpdate, unix s; the claimed time (IOME-REV-002)."
    )


Transaction = Annotated[
    ESDP
    | IssuerRegistration
    | EPS
    | Presence
    | TripClaim
    | Trip
    | ChargeSession
    | ODMatrix
    | Anchor
    | DataCommitment
    | ExternalRecord
    | ManagerHandover
    | RevocationList,
    Field(discriminator="type"),
]


class Block(ProtocolModel):
    """A block: header fields, producer signature over the header hash, and transactions."""

    HEADER_EXCLUDE: ClassVar = frozenset({"block_hash", "signature", "txs"})

    type: Literal["Block"] = "Block"
    chain_id: Identifier = Field(description="Chain this block extends (IOME-BLK-005).")
    height: Quantity = Field(description="0 for genesis, parent + 1 (IOME-BLK-001/007).")
    prev_hash: Hash = Field(description="Parent block hash (IOME-BLK-002).")
    merkle_root: Hash = Field(description="RFC 6962 root of tx ids (IOME-BLK-003).")
    time: Seconds = Field(description="Block time, unix s (IOME-BLK-004/008).")
    producer_pk: PublicKey = Field(description="Certified producer key (role producer).")
    block_hash: Hash = Field(description="SHA-256 of the header's JCS bytes (IOME-BLK-011).")
    signature: Signature = Field(description="Producer signature over block_hash, tag Block.")
    txs: BoundedList[Transaction] = Field(description="Transactions (IOME-BLK-006).")

    def header_bytes(self) -> bytes:
        return canonical_json(self.model_dump(mode="json", exclude=set(self.HEADER_EXCLUDE)))

    def compute_block_hash(self) -> str:
        return compute_hash(self.header_bytes())

    def compute_merkle_root(self) -> str:
        return compute_merkle_root_hex([tx.tx_id for tx in self.txs])

    @classmethod
    def create(
        cls,
        producer: KeyPair,
        *,
        chain_id: str,
        height: int,
        prev_hash: str,
        time: int,
        txs: list[SignedModel],
    ) -> Self:
        """Assemble, hash and sign a block over ``txs`` in the given order."""
        draft = cls.parse(
            {
                "chain_id": chain_id,
                "height": height,
                "prev_hash": prev_hash,
                "merkle_root": compute_merkle_root_hex([tx.tx_id for tx in txs]),
                "time": time,
                "producer_pk": producer.public_hex,
                "block_hash": "0" * 64,
                "signature": "0" * 128,
                "txs": txs,
            }
        )
        block_hash = draft.compute_block_hash()
        signature = producer.sign("Block", block_hash)
        return draft.model_copy(update={"block_hash": block_hash, "signature": signature})
