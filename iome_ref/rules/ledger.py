"""Block, replay, anchoring and handover checks (paper §II-B, §III; DESIGN §2 chains).

State arrives as plain values (the head, the anchor tip, the current manager), so these stay
pure; ``iome_ref.chain`` decides which state to pass and records evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final, NamedTuple

from iome_ref.constants import (
    ANCHOR_PERIOD_S,
    CHAIN_CHILD,
    CHAIN_CONSORTIUM,
    CHAIN_PUBLIC,
    HANDOVER_MISSED_PERIODS,
    MAX_BLOCK_TXS,
    ZERO_HASH,
)
from iome_ref.encoding import decode_json_object
from iome_ref.errors import Rejected
from iome_ref.models import Anchor, Block, ExternalRecord, ManagerHandover, SignedModel
from iome_ref.requirements import enforces

__all__ = [
    "ALLOWED_TYPES",
    "AnchorTip",
    "BlockRef",
    "check_anchor_extends_tip",
    "check_anchor_head",
    "check_anchor_height",
    "check_anchor_manager",
    "check_anchor_not_forking",
    "check_anchor_time",
    "check_block_chain_id",
    "check_block_hash",
    "check_block_height",
    "check_block_merkle_root",
    "check_block_not_equivocating",
    "check_block_prev_hash",
    "check_block_time",
    "check_block_txs_distinct",
    "check_genesis",
    "check_handover_after_handover",
    "check_handover_manager",
    "check_handover_missed_periods",
    "check_handover_tip",
    "check_record_parties",
    "check_stored_block",
    "check_tx_allowed",
    "check_tx_not_after_block",
    "check_tx_not_replayed",
]

#: Which transaction types each chain kind holds (IOME-BLK-010). TripClaim and Presence link
#: one-time keys, so they live only in the verifiers' consortium chain (paper Fig. 5 step 9).
ALLOWED_TYPES: Final[dict[str, frozenset[str]]] = {
    CHAIN_PUBLIC: frozenset(
        {
            "ESDP",
            "IssuerRegistration",
            "EPS",
            "Trip",
            "ChargeSession",
            "ODMatrix",
            "Anchor",
            "ExternalRecord",
            "ManagerHandover",
            "RevocationList",
        }
    ),
    CHAIN_CHILD: frozenset(
        {"ESDP", "DataCommitment", "ExternalRecord", "ChargeSession", "RevocationList"}
    ),
    CHAIN_CONSORTIUM: frozenset({"Presence", "TripClaim", "RevocationList"}),
}


class BlockRef(NamedTuple):
    """What later checks need of an accepted block, and its signed header for evidence."""

    height: int
    block_hash: str
    time: int
    producer_pk: str
    header: dict[str, Any]

    @classmethod
    def of(cls, block: Block) -> BlockRef:
        header = block.model_dump(mode="json", exclude={"txs"})
        return cls(block.height, block.block_hash, block.time, block.producer_pk, header)


class AnchorTip(NamedTuple):
    """The latest accepted anchor of a child chain."""

    tx_id: str
    height: int
    timestamp: int


@enforces("IOME-BLK-011")
def check_block_hash(block: Block) -> None:
    """The signed hash must be the header's hash, or the signature vouches for other content.

    Raises:
        Rejected: IOME-BLK-011.
    """
    expected = block.compute_block_hash()
    if block.block_hash != expected:
        raise Rejected(
            "IOME-BLK-011", f"block_hash is {block.block_hash}, header hashes to {expected}"
        )


@enforces("IOME-BLK-005")
def check_block_chain_id(block: Block, chain_id: str) -> None:
    """A block of one chain cannot be replayed onto another.

    Raises:
        Rejected: IOME-BLK-005.
    """
    if block.chain_id != chain_id:
        raise Rejected("IOME-BLK-005", f"block is for chain {block.chain_id}, not {chain_id}")


@enforces("IOME-BLK-007")
def check_genesis(block: Block) -> None:
    """The first block of a chain is height 0 with the zero parent hash.

    Raises:
        Rejected: IOME-BLK-007.
    """
    if block.height != 0 or block.prev_hash != ZERO_HASH:
        raise Rejected(
            "IOME-BLK-007",
            f"first block has height {block.height} and prev_hash {block.prev_hash[:16]}...",
        )


@enforces("IOME-BLK-009")
def check_block_not_equivocating(block: Block, earlier: BlockRef | None) -> None:
    """Two different blocks signed by one producer at one height are equivocation (DESIGN §2).

    ``earlier`` is the accepted block at ``block.height``, if any. Called only after the
    producer signature verified, so the caller can keep both as evidence.

    Raises:
        Rejected: IOME-BLK-009.
    """
    if (
        earlier is not None
        and earlier.producer_pk == block.producer_pk
        and earlier.block_hash != block.block_hash
    ):
        raise Rejected(
            "IOME-BLK-009",
            f"producer {block.producer_pk[:16]}... signed two blocks at height {block.height}",
        )


@enforces("IOME-BLK-001")
def check_block_height(block: Block, head: BlockRef) -> None:
    """Blocks extend the head one at a time: no gaps, no rewrites.

    Raises:
        Rejected: IOME-BLK-001.
    """
    if block.height != head.height + 1:
        raise Rejected("IOME-BLK-001", f"height is {block.height}, expected {head.height + 1}")


@enforces("IOME-BLK-002")
def check_block_prev_hash(block: Block, head: BlockRef) -> None:
    """The parent hash links the block to the head.

    Raises:
        Rejected: IOME-BLK-002.
    """
    if block.prev_hash != head.block_hash:
        raise Rejected("IOME-BLK-002", f"prev_hash is {block.prev_hash}, head is {head.block_hash}")


@enforces("IOME-BLK-004")
def check_block_time(block: Block, head: BlockRef) -> None:
    """Block time never runs backwards.

    Raises:
        Rejected: IOME-BLK-004.
    """
    if block.time < head.time:
        raise Rejected("IOME-BLK-004", f"time {block.time} is before parent time {head.time}")


@enforces("IOME-BLK-003")
def check_block_merkle_root(block: Block) -> None:
    """The Merkle root commits the header to exactly these transactions in this order.

    Raises:
        Rejected: IOME-BLK-003.
    """
    expected = block.compute_merkle_root()
    if block.merkle_root != expected:
        raise Rejected("IOME-BLK-003", f"merkle_root is {block.merkle_root}, txs give {expected}")


@enforces("IOME-BLK-006")
def check_block_txs_distinct(block: Block) -> None:
    """A block holds each transaction once and at most MAX_BLOCK_TXS of them.

    Raises:
        Rejected: IOME-BLK-006.
    """
    ids = [tx.tx_id for tx in block.txs]
    if len(ids) > MAX_BLOCK_TXS:
        raise Rejected("IOME-BLK-006", f"{len(ids)} transactions, limit is {MAX_BLOCK_TXS}")
    if len(set(ids)) != len(ids):
        raise Rejected("IOME-BLK-006", "a transaction appears twice in the block")


@enforces("IOME-BLK-008")
def check_tx_not_after_block(tx: SignedModel, block_time: int) -> None:
    """A transaction cannot claim a time after the block that carries it.

    Raises:
        Rejected: IOME-BLK-008.
    """
    if tx.time > block_time:
        raise Rejected(
            "IOME-BLK-008", f"{tx.tx_type} time {tx.time} is after block time {block_time}"
        )


@enforces("IOME-BLK-010")
def check_tx_allowed(tx: SignedModel, chain_kind: str) -> None:
    """Each chain kind holds only its transaction types; a TripClaim on the public chain would
    publish the PK1-PK2 link that one-time keys exist to hide.

    Raises:
        Rejected: IOME-BLK-010.
    """
    if tx.tx_type not in ALLOWED_TYPES.get(chain_kind, frozenset()):
        raise Rejected("IOME-BLK-010", f"{tx.tx_type} is not allowed on a {chain_kind} chain")


@enforces("IOME-BLK-012")
def check_stored_block(
    body: bytes,
    recorded_hash: str,
    reapply: Callable[[Block], None],
    recorded_height: int | None = None,
    recorded_tx_ids: Sequence[str] | None = None,
) -> Block:
    """A block read back from the store must decode, hash to what was recorded when it was
    appended, and pass every rule again (``reapply``), or the store was altered.

    Any refusal is reported as IOME-BLK-012 with the rule it broke in the message: what a
    reopening node must report is that its store no longer holds what it accepted, whichever
    part was edited (a header, a transaction, the bytes, or the indexes the store keeps beside
    them: a height or transaction list that no longer matches the body would leave the node
    loaded at one height while its store claims another, and every later block refused). The
    indexes are compared last, so an edit of the body is named by the rule it breaks.

    Raises:
        Rejected: IOME-BLK-012, chained to the refusal that revealed the edit.
    """
    try:
        block = Block.parse(decode_json_object(body))
    except Rejected as exc:
        raise Rejected("IOME-BLK-012", f"stored block is unreadable: {exc.message}") from exc
    if block.compute_block_hash() != recorded_hash or block.block_hash != recorded_hash:
        raise Rejected(
            "IOME-BLK-012", f"stored block {block.height} no longer hashes to {recorded_hash}"
        )
    try:
        reapply(block)
    except Rejected as exc:
        raise Rejected(
            "IOME-BLK-012",
            f"stored block {block.height} is refused on reload: {exc.req_id}: {exc.message}",
        ) from exc
    if recorded_height is not None and recorded_height != block.height:
        raise Rejected(
            "IOME-BLK-012",
            f"stored block {block.height} is indexed at height {recorded_height}",
        )
    if recorded_tx_ids is not None and tuple(recorded_tx_ids) != tuple(
        tx.tx_id for tx in block.txs
    ):
        raise Rejected(
            "IOME-BLK-012",
            f"stored block {block.height} is indexed with other transactions than it holds",
        )
    return block


@enforces("IOME-REC-001")
def check_record_parties(record: ExternalRecord) -> None:
    """Non-repudiation needs two parties; one key signing twice proves nothing.

    Raises:
        Rejected: IOME-REC-001.
    """
    if record.party_a_pk == record.party_b_pk:
        raise Rejected("IOME-REC-001", "party_a_pk equals party_b_pk")


@enforces("IOME-REC-002")
def check_tx_not_replayed(tx: SignedModel, already_on_chain: bool) -> None:
    """A transaction is recorded once per chain; a replay would double-count energy or trips.

    Raises:
        Rejected: IOME-REC-002.
    """
    if already_on_chain:
        raise Rejected("IOME-REC-002", f"{tx.tx_type} {tx.tx_id} is already on this chain")


@enforces("IOME-ANC-001")
def check_anchor_manager(anchor: Anchor, current_manager: str | None) -> None:
    """Only the manager in office anchors: the first anchor's signer, or the backup after a
    handover. Before the first anchor ``current_manager`` is None and certificates decide.

    Raises:
        Rejected: IOME-ANC-001.
    """
    if current_manager is not None and anchor.manager_pk != current_manager:
        raise Rejected(
            "IOME-ANC-001",
            f"{anchor.manager_pk[:16]}... is not the current manager of {anchor.chain_id}",
        )


@enforces("IOME-ANC-003")
def check_anchor_not_forking(anchor: Anchor, successor: str | None) -> None:
    """Two anchors after one predecessor are a fork of the child chain's public record.

    Raises:
        Rejected: IOME-ANC-003.
    """
    if successor is not None and successor != anchor.tx_id:
        raise Rejected(
            "IOME-ANC-003", f"anchor {anchor.prev_anchor_id} is already extended by {successor}"
        )


@enforces("IOME-ANC-002")
def check_anchor_extends_tip(anchor: Anchor, tip: AnchorTip | None) -> None:
    """Anchors form one chain per child chain with no gap.

    Raises:
        Rejected: IOME-ANC-002.
    """
    expected = tip.tx_id if tip else None
    if anchor.prev_anchor_id != expected:
        raise Rejected(
            "IOME-ANC-002", f"prev_anchor_id is {anchor.prev_anchor_id}, tip is {expected}"
        )


@enforces("IOME-ANC-004")
def check_anchor_height(anchor: Anchor, tip: AnchorTip | None) -> None:
    """Each anchor covers new child blocks.

    Raises:
        Rejected: IOME-ANC-004.
    """
    if tip is not None and anchor.height <= tip.height:
        raise Rejected(
            "IOME-ANC-004", f"height {anchor.height} is not above anchored height {tip.height}"
        )


@enforces("IOME-ANC-005")
def check_anchor_head(anchor: Anchor, child_hash: str | None) -> None:
    """The anchored hash is the child chain's block at that height (paper §II-B).

    ``child_hash`` is that block's hash in the child chain, None if the chain is that short.

    Raises:
        Rejected: IOME-ANC-005.
    """
    if anchor.head_hash != child_hash:
        raise Rejected(
            "IOME-ANC-005",
            f"head_hash {anchor.head_hash} is not child block {anchor.height} ({child_hash})",
        )


@enforces("IOME-ANC-006")
def check_handover_manager(handover: ManagerHandover, current_manager: str | None) -> None:
    """The handover replaces the manager in office with a different key.

    ``current_manager`` is the manager after earlier handovers, else the signer of the tip.

    Raises:
        Rejected: IOME-ANC-006.
    """
    if handover.old_manager_pk != current_manager:
        raise Rejected(
            "IOME-ANC-006", f"old_manager_pk is not the manager in office of {handover.chain_id}"
        )
    if handover.new_manager_pk == handover.old_manager_pk:
        raise Rejected("IOME-ANC-006", "new_manager_pk equals old_manager_pk")


@enforces("IOME-ANC-007")
def check_handover_missed_periods(handover: ManagerHandover, tip: AnchorTip) -> None:
    """Paper §III: the backup "can act as the manager in case the main manager is unavailable";
    unavailable means silent for HANDOVER_MISSED_PERIODS anchor periods, not merely late.

    Raises:
        Rejected: IOME-ANC-007.
    """
    silent = handover.timestamp - tip.timestamp
    needed = HANDOVER_MISSED_PERIODS * ANCHOR_PERIOD_S
    if silent < needed:
        raise Rejected("IOME-ANC-007", f"manager silent {silent} s, handover needs {needed} s")


@enforces("IOME-ANC-008")
def check_handover_tip(handover: ManagerHandover, tip: AnchorTip | None) -> None:
    """The handover names the anchor it continues from, so the sequence has no gap or fork.

    Raises:
        Rejected: IOME-ANC-008.
    """
    expected = tip.tx_id if tip else None
    if handover.last_anchor_id != expected:
        raise Rejected(
            "IOME-ANC-008", f"last_anchor_id is {handover.last_anchor_id}, tip is {expected}"
        )


@enforces("IOME-ANC-009")
def check_handover_after_handover(handover: ManagerHandover, office_since: int | None) -> None:
    """A manager who took office by a handover gets the same HANDOVER_MISSED_PERIODS anchor
    periods as any other before it can be replaced: else two backups could hand the chain back
    and forth within a second, since IOME-ANC-007 counts only from the latest Anchor.

    ``office_since`` is the ``timestamp`` of the handover that put the manager in office, None
    if the chain was never handed over.

    Raises:
        Rejected: IOME-ANC-009.
    """
    if office_since is None:
        return
    waited = handover.timestamp - office_since
    needed = HANDOVER_MISSED_PERIODS * ANCHOR_PERIOD_S
    if waited < needed:
        raise Rejected(
            "IOME-ANC-009", f"manager in office for {waited} s, handover needs {needed} s"
        )


@enforces("IOME-ANC-010")
def check_anchor_time(anchor: Anchor, tip: AnchorTip | None, office_since: int | None) -> None:
    """Anchor time does not run backwards: not before the previous Anchor, and not before the
    handover that put the manager in office. A back-dated Anchor would shorten the silence
    IOME-ANC-007 measures, and would claim an act from before its signer held the office.

    Raises:
        Rejected: IOME-ANC-010.
    """
    floor = max(tip.timestamp if tip else 0, office_since or 0)
    if anchor.timestamp < floor:
        raise Rejected(
            "IOME-ANC-010",
            f"timestamp {anchor.timestamp} is before the previous anchor or handover at {floor}",
        )
