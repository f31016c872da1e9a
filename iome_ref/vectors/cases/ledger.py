"""Vectors for blocks, anchors, handovers, data commitments and external records."""

from __future__ import annotations

from iome_ref.constants import ANCHOR_PERIOD_S, HANDOVER_MISSED_PERIODS, ZERO_HASH
from iome_ref.encoding import canonical_json, compute_hash
from iome_ref.models import Anchor, Block, SignedModel
from iome_ref.vectors.builders import Builder, forge
from iome_ref.vectors.cases.book import CaseBook
from iome_ref.vectors.world import T0

__all__ = [
    "anchor_cases",
    "block_cases",
    "data_commitment_cases",
    "external_record_cases",
    "handover_cases",
]

_SILENCE = HANDOVER_MISSED_PERIODS * ANCHOR_PERIOD_S


def _fleet(b: Builder, heights: int) -> list[Block]:
    """Child-chain blocks of the fleet, each with one data commitment."""
    return [
        b.block(
            "fleet",
            [b.commitment(data=f"fleet ledger {h}".encode(), t=T0 + 100 * h)],
            T0 + 100 * h + 50,
        )
        for h in range(heights)
    ]


def anchor_cases(b: Builder) -> CaseBook:
    book = CaseBook("anchor")
    fleet = _fleet(b, 4)
    first = b.anchor(1, fleet[1].block_hash, None, T0 + 1000)
    second = b.anchor(3, fleet[3].block_hash, first.tx_id, T0 + 1900)
    setup = [*fleet, b.block("public", [first], T0 + 1100)]
    book.valid("first", "the fleet manager anchors child block 1", first, setup=fleet)
    book.valid("continues", "the next anchor extends the first", second, setup=setup)
    book.invalid(
        "not-manager",
        "IOME-ANC-001",
        "after the first anchor, another key certified as the fleet's manager anchors",
        b.anchor(3, fleet[3].block_hash, first.tx_id, T0 + 1900, manager="fleet-manager-2"),
        setup=setup,
    )
    book.invalid(
        "gap",
        "IOME-ANC-002",
        "prev_anchor_id names an anchor the chain never saw",
        b.anchor(3, fleet[3].block_hash, compute_hash(b"missing"), T0 + 1900),
        setup=setup,
    )
    book.invalid(
        "fork",
        "IOME-ANC-003",
        "a second anchor after the first anchor's predecessor",
        b.anchor(2, fleet[2].block_hash, None, T0 + 1900),
        setup=setup,
        flags=["fork"],
    )
    book.invalid(
        "height-not-rising",
        "IOME-ANC-004",
        "re-anchors height 1",
        b.anchor(1, fleet[1].block_hash, first.tx_id, T0 + 1900),
        setup=setup,
    )
    book.valid(
        "same-second",
        "the next anchor at the same second as the previous one",
        b.anchor(3, fleet[3].block_hash, first.tx_id, T0 + 1000),
        setup=setup,
        flags=["boundary"],
    )
    book.invalid(
        "back-dated",
        "IOME-ANC-010",
        "the next anchor dated one second before the previous one",
        b.anchor(3, fleet[3].block_hash, first.tx_id, T0 + 999),
        setup=setup,
        flags=["boundary", "backdating"],
    )
    head = setup[-1]

    def public_block(anchor: SignedModel) -> Block:
        """The public block after ``setup`` holding ``anchor``, whatever the cursor says."""
        return Block.create(
            b.key("producer"),
            chain_id="public",
            height=head.height + 1,
            prev_hash=head.block_hash,
            time=T0 + 2000,
            txs=[anchor],
        )

    wrong = b.anchor(3, fleet[2].block_hash, first.tx_id, T0 + 1900)
    book.valid(
        "wrong-head",
        "head_hash is not the fleet's block at that height: accepted, and a node holding the "
        "fleet chain records the mismatch",
        public_block(wrong),
        setup=setup,
        flags=["tamper"],
        evidence=["IOME-ANC-005"],
    )
    book.valid(
        "wrong-head-child-later",
        "the same false anchor, and the fleet block it misstates arrives after it: the node "
        "records the mismatch then, and the verdict on either chain does not change",
        fleet[3],
        setup=[*fleet[:3], head, public_block(wrong)],
        chain="fleet",
        flags=["tamper"],
        evidence=["IOME-ANC-005"],
    )
    book.valid(
        "beyond-head",
        "anchors a height the child chain has not reached: nothing to compare yet",
        public_block(b.anchor(9, fleet[3].block_hash, first.tx_id, T0 + 1900)),
        setup=setup,
    )
    book.invalid(
        "backup-first",
        "IOME-CERT-004",
        "the backup anchors while the manager is in office",
        b.anchor(1, fleet[1].block_hash, None, T0 + 1000, manager="fleet-backup"),
        setup=fleet,
    )
    book.invalid(
        "other-chain",
        "IOME-CERT-005",
        "the fleet manager anchors a chain it does not manage",
        b.anchor(1, fleet[1].block_hash, None, T0 + 1000, chain_id="vpp-east"),
        setup=fleet,
    )
    book.invalid(
        "on-child-chain",
        "IOME-BLK-010",
        "anchors belong on the public chain",
        first,
        setup=fleet,
        chain="fleet",
    )
    rogue = b.anchor(3, fleet[3].block_hash, first.tx_id, T0 + 1900, manager="rogue-manager")
    book.invalid(
        "uncertified",
        "IOME-CERT-006",
        "a key no certificate names anchors: refused for its certificate, before any anchor rule",
        rogue,
        setup=setup,
        flags=["sybil"],
    )
    book.invalid(
        "uncertified-and-forged",
        "IOME-CERT-006",
        "the same anchor with a forged signature: certificates are checked before signatures "
        "(transactions.md), so the cheap refusal is the one reported",
        forge(Anchor, rogue.model_dump(exclude={"tx_id", "signature"}), signature="11" * 64),
        setup=setup,
        flags=["sybil", "order"],
    )
    return book


def handover_cases(b: Builder) -> CaseBook:
    book = CaseBook("manager-handover")
    fleet = _fleet(b, 3)
    first = b.anchor(1, fleet[1].block_hash, None, T0 + 1000)
    setup = [*fleet, b.block("public", [first], T0 + 1100)]
    handover = b.handover(first.tx_id, T0 + 1000 + _SILENCE)
    book.valid(
        "takes-over",
        "the backup takes over after the manager missed two periods",
        handover,
        setup=setup,
    )
    after = [*setup, b.block("public", [handover], T0 + 1000 + _SILENCE + 10)]
    book.valid(
        "backup-anchors",
        "the backup continues the anchor sequence with no gap",
        b.anchor(2, fleet[2].block_hash, first.tx_id, T0 + 3000, manager="fleet-backup"),
        setup=after,
    )
    book.invalid(
        "backup-anchors-before-office",
        "IOME-ANC-010",
        "the new manager dates its first anchor one second before its handover",
        b.anchor(
            2, fleet[2].block_hash, first.tx_id, handover.timestamp - 1, manager="fleet-backup"
        ),
        setup=after,
        flags=["boundary", "backdating"],
    )
    book.invalid(
        "handed-back-at-once",
        "IOME-ANC-009",
        "a second backup takes over one second after the first did",
        b.handover(first.tx_id, handover.timestamp + 1, old="fleet-backup", new="fleet-backup-2"),
        setup=after,
        flags=["takeover"],
    )
    book.invalid(
        "handed-back-too-early",
        "IOME-ANC-009",
        "a second backup takes over one second short of the new manager's periods",
        b.handover(
            first.tx_id,
            handover.timestamp + _SILENCE - 1,
            old="fleet-backup",
            new="fleet-backup-2",
        ),
        setup=after,
        flags=["boundary", "takeover"],
    )
    book.valid(
        "handed-on-after-silence",
        "a second backup takes over once the first has been silent its full periods",
        b.handover(
            first.tx_id, handover.timestamp + _SILENCE, old="fleet-backup", new="fleet-backup-2"
        ),
        setup=after,
        flags=["boundary"],
    )
    book.invalid(
        "old-manager-anchors",
        "IOME-CERT-004",
        "the replaced manager anchors after the handover: its certificate is a manager's, and a "
        "backup is in office",
        b.anchor(2, fleet[2].block_hash, first.tx_id, T0 + 3000),
        setup=after,
        flags=["fork"],
    )
    book.invalid(
        "too-early",
        "IOME-ANC-007",
        "one second short of the required silence",
        b.handover(first.tx_id, T0 + 1000 + _SILENCE - 1),
        setup=setup,
        flags=["boundary"],
    )
    book.invalid(
        "not-tip",
        "IOME-ANC-008",
        "last_anchor_id is not the chain's latest anchor",
        b.handover(compute_hash(b"stale"), T0 + 1000 + _SILENCE),
        setup=setup,
    )
    book.invalid(
        "wrong-old-manager",
        "IOME-ANC-006",
        "replaces a key that is not the manager in office",
        b.handover(first.tx_id, T0 + 1000 + _SILENCE, old="grid-north"),
        setup=setup,
    )
    book.invalid(
        "not-backup",
        "IOME-CERT-004",
        "a distribution company tries to take over the fleet",
        b.handover(first.tx_id, T0 + 1000 + _SILENCE, new="grid-north"),
        setup=setup,
        flags=["takeover"],
    )
    book.invalid(
        "no-anchor-yet",
        "IOME-ANC-008",
        "a handover of a chain that was never anchored",
        b.handover(compute_hash(b"none"), T0 + 1000 + _SILENCE),
        setup=fleet,
    )
    return book


def data_commitment_cases(b: Builder) -> CaseBook:
    book = CaseBook("data-commitment")
    commitment = b.commitment()
    book.valid(
        "child-chain",
        "a home commits to its raw meter data on its child chain",
        commitment,
        chain="fleet",
    )
    book.invalid(
        "on-public-chain",
        "IOME-BLK-010",
        "raw-data commitments stay on private chains",
        commitment,
        flags=["privacy"],
    )
    book.invalid(
        "wrong-owner-signature",
        "IOME-SIG-001",
        "signed by another home",
        commitment.model_copy(
            update={"signature": b.key("home-2").sign("DataCommitment", commitment.tx_id)}
        ),
        chain="fleet",
        flags=["non-repudiation"],
    )
    book.invalid(
        "replay",
        "IOME-REC-002",
        "committed twice",
        commitment,
        setup=[b.block("fleet", [commitment], T0 + 700)],
        chain="fleet",
        flags=["replay"],
    )
    book.invalid(
        "future",
        "IOME-BLK-008",
        "dated after its block",
        commitment,
        chain="fleet",
        block_time=T0 + 599,
    )
    return book


def external_record_cases(b: Builder) -> CaseBook:
    book = CaseBook("external-record")
    record = b.external()
    book.valid("public", "a home and a weather provider both sign the forecast hash", record)
    book.valid("child-chain", "the same kind of record inside a child chain", record, chain="fleet")
    book.invalid(
        "one-party",
        "IOME-REC-001",
        "both parties are one key",
        b.external(b="home-1"),
        flags=["non-repudiation"],
    )
    book.invalid(
        "provider-did-not-sign",
        "IOME-SIG-001",
        "party B's signature is party A's",
        record.model_copy(update={"sig_b": record.sig_a}),
        flags=["non-repudiation"],
    )
    return book


def block_cases(b: Builder) -> CaseBook:
    book = CaseBook("blocks")
    esdp = b.esdp()
    genesis = b.block("public", [esdp], T0 + 5000)
    second = b.block("public", [b.esdp("home-2")], T0 + 6000)

    def block(
        height: int, prev: str, time: int, txs: list[SignedModel], signer: str = "producer"
    ) -> Block:
        """A public block placed by hand, whatever the builder's cursor says."""
        return Block.create(
            b.key(signer), chain_id="public", height=height, prev_hash=prev, time=time, txs=txs
        )

    book.valid("genesis", "a first block at height 0", genesis)
    body = canonical_json(second.model_dump(mode="json")).decode()
    stored_second = {
        "chain": "public",
        "height": 1,
        "block_hash": second.block_hash,
        "body_text": body,
    }
    book.valid(
        "stored-reopens",
        "a store holding genesis and its successor reopens",
        setup=[genesis],
        stored=[stored_second],
    )
    tampered = body.replace(str(T0 + 6000), str(T0 + 6001))
    book.invalid(
        "stored-tampered",
        "IOME-BLK-012",
        "a stored block edited on disk (its time) no longer hashes to what was recorded",
        setup=[genesis],
        stored=[{**stored_second, "body_text": tampered}],
        flags=["tamper"],
    )
    book.invalid(
        "stored-unreadable",
        "IOME-BLK-012",
        "a stored block whose bytes no longer decode",
        setup=[genesis],
        stored=[{**stored_second, "body_text": body[:-1]}],
        flags=["tamper"],
    )
    book.valid("second", "height 1 links to genesis", second, setup=[genesis])
    book.valid(
        "empty",
        "a block with no transactions",
        block(1, genesis.block_hash, T0 + 6000, []),
        setup=[genesis],
    )
    other = b.esdp("home-3")
    book.invalid(
        "gap",
        "IOME-BLK-001",
        "height 2 after genesis",
        block(2, genesis.block_hash, T0 + 6000, [other]),
        setup=[genesis],
    )
    book.invalid(
        "wrong-parent",
        "IOME-BLK-002",
        "prev_hash is not the head",
        block(1, compute_hash(b"x"), T0 + 6000, [other]),
        setup=[genesis],
        flags=["fork"],
    )
    book.invalid(
        "wrong-merkle-root",
        "IOME-BLK-003",
        "a transaction added after the header was signed",
        genesis.model_copy(update={"txs": [esdp, other]}),
        flags=["tamper"],
    )
    book.invalid(
        "time-backwards",
        "IOME-BLK-004",
        "earlier than its parent",
        block(1, genesis.block_hash, T0 + 4000, [other]),
        setup=[genesis],
    )
    book.invalid(
        "replayed-onto-other-chain",
        "IOME-BLK-005",
        "a public block offered to the fleet chain",
        genesis,
        chain="fleet",
        flags=["replay"],
    )
    book.invalid(
        "duplicate-tx",
        "IOME-BLK-006",
        "one transaction twice in a block",
        block(0, ZERO_HASH, T0 + 5000, [esdp, esdp]),
    )
    book.invalid(
        "genesis-height",
        "IOME-BLK-007",
        "a first block at height 1",
        block(1, ZERO_HASH, T0 + 5000, [esdp]),
    )
    book.invalid(
        "genesis-parent",
        "IOME-BLK-007",
        "a first block with a parent",
        block(0, compute_hash(b"x"), T0 + 5000, [esdp]),
    )
    book.invalid(
        "tx-from-future",
        "IOME-BLK-008",
        "an ESDP dated after the block",
        block(0, ZERO_HASH, T0 + 3000, [esdp]),
    )
    twin = block(1, genesis.block_hash, T0 + 6000, [other])
    book.invalid(
        "equivocation",
        "IOME-BLK-009",
        "the producer signs a second, different block at height 1",
        twin,
        setup=[genesis, second],
        flags=["equivocation"],
        # IOME-BLK-009: the node MUST keep both signed headers as evidence.
        evidence=["IOME-BLK-009"],
    )
    book.invalid(
        "type-not-allowed",
        "IOME-BLK-010",
        "a data commitment on the public chain",
        block(0, ZERO_HASH, T0 + 5000, [b.commitment()]),
        flags=["privacy"],
    )
    book.invalid(
        "hash-not-header",
        "IOME-BLK-011",
        "block_hash does not hash the header",
        genesis.model_copy(update={"time": T0 + 5001}),
        flags=["tamper"],
    )
    book.invalid(
        "bad-producer-signature",
        "IOME-SIG-001",
        "signed by another key",
        genesis.model_copy(update={"signature": b.key("home-1").sign("Block", genesis.block_hash)}),
    )
    book.invalid(
        "uncertified-producer",
        "IOME-CERT-006",
        "a block from an uncertified producer",
        block(0, ZERO_HASH, T0 + 5000, [esdp], signer="home-1"),
        flags=["sybil"],
    )
    book.invalid(
        "station-produces",
        "IOME-CERT-004",
        "a station producing blocks",
        block(0, ZERO_HASH, T0 + 5000, [esdp], signer="st-a"),
        flags=["sybil"],
    )
    bad_tx = b.esdp("home-4", window_end=T0 + 100)
    book.invalid(
        "atomic",
        "IOME-ESDP-001",
        "a valid transaction then an invalid one: the whole block is refused",
        block(0, ZERO_HASH, T0 + 5000, [esdp, bad_tx]),
    )
    return book
