"""Integrity: tampering with a transaction, a block, an anchor or stored data is detected,
and honest nodes' chains never diverge (issue 13 §2).

Honest rules extend the public, child and consortium chains and anchor the child chain on the
public one; adversarial rules send a transaction edited after signing, a block whose header,
Merkle root or body was edited, a block replayed on another chain or a transaction replayed on
its own, a second block at a height already taken (equivocation), an anchor that lies, and a
store edited on disk before a reopen. Each adversarial input must be refused by the reference
(the property) and by the IUT with the same id (conformance).
"""

from __future__ import annotations

from typing import Final

from hypothesis import strategies as st
from hypothesis.stateful import rule

from iome_ref.conformance.machines.base import DualMachine, counted, guarded
from iome_ref.encoding import compute_hash
from iome_ref.models import Anchor, Block, SignedModel
from iome_ref.vectors.world import T0

__all__ = ["IntegrityMachine"]

_STATIONS: Final = ("st-a", "st-b", "st-c")
#: The chains and what an honest transaction of each looks like.
_CHAINS: Final = ("public", "fleet", "verifiers")


class IntegrityMachine(DualMachine):
    """Honest blocks on every chain kind, and every kind of tampering with them."""

    family = "integrity"
    title = "integrity: tampered transactions, blocks, anchors and stores are refused alike"
    requirement_ids = (
        "IOME-ANC-001",
        "IOME-ANC-002",
        "IOME-ANC-004",
        "IOME-BLK-001",
        "IOME-BLK-003",
        "IOME-BLK-005",
        "IOME-BLK-009",
        "IOME-BLK-011",
        "IOME-BLK-012",
        "IOME-ENC-011",
        "IOME-REC-002",
        "IOME-SIG-001",
    )
    attacker_capabilities = ("tamper", "replay", "equivocation")
    start_time = T0 + 10_000

    def start_model(self) -> None:
        #: Accepted blocks per chain, in height order.
        self.blocks: dict[str, list[Block]] = {chain: [] for chain in _CHAINS}
        #: The tip of the fleet chain's anchor sequence.
        self.anchor_tip: Anchor | None = None

    # -- honest inputs ---------------------------------------------------------------------

    def honest_tx(self, chain: str, variant: int) -> SignedModel:
        """A fresh, valid transaction for ``chain`` at the machine's clock."""
        t = self.tick()
        if chain == "verifiers":
            station = _STATIONS[variant % len(_STATIONS)]
            return self.b.presence("source", station, self.fresh_key(), t)
        if chain == "fleet" and variant % 2:
            return self.b.commitment(self.fresh_key("home"), f"meter {self.fresh}".encode(), t)
        if variant % 2:
            return self.b.external(self.fresh_key("home"), "weather", f"m {self.fresh}".encode(), t)
        return self.b.esdp(self.fresh_key("home"), t, window_start=t + 900, window_end=t + 4500)

    def append(self, chain: str, txs: list[SignedModel]) -> None:
        block = self.next_block(chain, txs, time=self.tick())
        outcome = self.submit_block(chain, block)
        assert outcome.accepted, f"the reference refused an honest block: {outcome.code}"
        self.blocks[chain].append(block)

    def has_blocks(self) -> bool:
        return any(self.blocks.values())

    def any_block(self, data: st.DataObject) -> Block:
        chains = [chain for chain in _CHAINS if self.blocks[chain]]
        chain = data.draw(st.sampled_from(chains), label="chain")
        return data.draw(st.sampled_from(self.blocks[chain]), label="block")

    def refused(self, chain: str, block: Block | dict[str, object], *expected: str) -> None:
        outcome = self.submit_block(chain, block)
        assert not outcome.accepted, "the reference accepted a tampered block"
        assert not expected or outcome.code in expected, (outcome.code, expected)

    # -- honest rules ----------------------------------------------------------------------

    @rule(chain=st.sampled_from(_CHAINS), variant=st.integers(0, 5), count=st.integers(0, 2))
    @counted
    def honest_block(self, chain: str, variant: int, count: int) -> None:
        self.append(chain, [self.honest_tx(chain, variant + i) for i in range(count)])

    def anchor_now(self) -> Anchor:
        """The fleet's manager anchors the fleet's head on the public chain (extending the
        fleet first when its head is already anchored)."""
        if self.anchor_tip is not None and self.anchor_tip.height >= self.head("fleet")[0]:
            self.append("fleet", [])
        if not self.blocks["fleet"]:
            self.append("fleet", [self.honest_tx("fleet", 0)])
        height, head = self.head("fleet")
        prev = None if self.anchor_tip is None else self.anchor_tip.tx_id
        anchor = self.b.anchor(height, head, prev, self.tick())
        self.append("public", [anchor])
        self.anchor_tip = anchor
        return anchor

    @rule()
    @counted
    def anchor_fleet(self) -> None:
        self.anchor_now()

    # -- adversarial rules -----------------------------------------------------------------

    @rule(
        chain=st.sampled_from(_CHAINS),
        variant=st.integers(0, 5),
        how=st.sampled_from(["stale-id", "bad-signature"]),
    )
    @counted
    def tampered_tx(self, chain: str, variant: int, how: str) -> None:
        """A transaction edited after it was signed: its tx id no longer matches, or the id
        was recomputed and the signature no longer does."""
        tx = self.honest_tx(chain, variant)
        field = tx.TIME_FIELD
        edited = tx.model_copy(update={field: getattr(tx, field) - 1})
        if how == "bad-signature":
            edited = edited.model_copy(update={"tx_id": edited.compute_tx_id()})
        expected = "IOME-ENC-011" if how == "stale-id" else "IOME-SIG-001"
        self.refused(chain, self.next_block(chain, [edited], time=self.tick()), expected)

    @rule(
        chain=st.sampled_from(_CHAINS),
        field=st.sampled_from(["time", "height", "prev_hash", "producer_pk", "chain_id"]),
    )
    @counted
    def tampered_header(self, chain: str, field: str) -> None:
        """A header field edited after the producer signed it."""
        block = self.next_block(chain, [self.honest_tx(chain, 0)], time=self.tick())
        values = {
            "time": block.time + 1,
            "height": block.height + 1,
            "prev_hash": compute_hash(b"another parent"),
            "producer_pk": self.b.key("st-a").public_hex,
            "chain_id": next(c for c in _CHAINS if c != chain),
        }
        self.refused(chain, block.model_copy(update={field: values[field]}))

    @rule(chain=st.sampled_from(_CHAINS), how=st.sampled_from(["root", "body"]))
    @counted
    def tampered_merkle(self, chain: str, how: str) -> None:
        """The Merkle root edited (header re-hashed, not re-signed), or the body swapped under
        a signed header."""
        block = self.next_block(chain, [self.honest_tx(chain, 0)], time=self.tick())
        if how == "root":
            document = block.model_dump(mode="json")
            document["merkle_root"] = compute_hash(b"another root")
            self.refused(chain, document)
        else:
            other = self.honest_tx(chain, 1)
            self.refused(chain, block.model_copy(update={"txs": [other]}), "IOME-BLK-003")

    @rule(data=st.data())
    @guarded(lambda self: self.has_blocks())
    def replay_block_elsewhere(self, data: st.DataObject) -> None:
        """An accepted block sent again to another chain."""
        block = self.any_block(data)
        chain = data.draw(st.sampled_from([c for c in _CHAINS if c != block.chain_id]))
        self.refused(chain, block)

    @rule(data=st.data())
    @guarded(lambda self: any(b.txs for blocks in self.blocks.values() for b in blocks))
    def replay_tx(self, data: st.DataObject) -> None:
        """A transaction already on a chain, again in a new block of that chain."""
        blocks = [b for blocks in self.blocks.values() for b in blocks if b.txs]
        block = data.draw(st.sampled_from(blocks), label="block")
        tx = data.draw(st.sampled_from(block.txs), label="tx")
        self.tick()
        self.refused(block.chain_id, self.next_block(block.chain_id, [tx]), "IOME-REC-002")

    @rule(data=st.data())
    @guarded(lambda self: self.has_blocks())
    def equivocate(self, data: st.DataObject) -> None:
        """The producer signs a second, different block at a height it already signed."""
        block = self.any_block(data)
        chain = block.chain_id
        parent = (block.height - 1, block.prev_hash)
        txs = [self.honest_tx(chain, 1)]
        other = self.next_block(chain, txs, at=parent, time=max(block.time, self.tick()))
        self.refused(chain, other)

    @rule(how=st.sampled_from(["head", "manager", "gap", "backwards"]))
    @counted
    def tampered_anchor(self, how: str) -> None:
        """An anchor that names another head, comes from a key not in office, skips the
        sequence's tip, or does not move forward."""
        if self.anchor_tip is None:
            self.anchor_now()
        assert self.anchor_tip is not None
        height, head = self.head("fleet")
        tip = self.anchor_tip
        t = self.tick()
        anchor = {
            "head": lambda: self.b.anchor(height, compute_hash(b"no such block"), tip.tx_id, t),
            "manager": lambda: self.b.anchor(height, head, tip.tx_id, t, manager="fleet-manager-2"),
            "gap": lambda: self.b.anchor(height, head, compute_hash(b"no anchor"), t),
            "backwards": lambda: self.b.anchor(tip.height, head, tip.tx_id, t),
        }[how]()
        block = self.next_block("public", [anchor], time=self.tick())
        outcome = self.submit_block("public", block)
        if outcome.accepted:
            # A head the public chain cannot judge is evidence, never a verdict (D4).
            assert how == "head", f"the reference accepted a {how} anchor"
            self.blocks["public"].append(block)
            self.anchor_tip = anchor

    @rule(
        chain=st.sampled_from(_CHAINS),
        how=st.sampled_from(["honest", "time", "truncated", "hash"]),
    )
    @counted
    def reopen_store(self, chain: str, how: str) -> None:
        """The store gains the next block of ``chain`` behind the node's back, honest or
        edited on disk, and the node reopens. A node whose store was refused is not used
        again: both nodes restart from the genesis."""
        block = self.next_block(chain, [self.honest_tx(chain, 0)], time=self.tick())
        row = self.stored_row(block)
        if how == "time":
            row = row.model_copy(
                update={"body_text": row.body_text.replace(str(block.time), str(block.time + 1))}
            )
        elif how == "truncated":
            row = row.model_copy(update={"body_text": row.body_text[:-1]})
        elif how == "hash":
            row = row.model_copy(update={"block_hash": compute_hash(b"recorded elsewhere")})
        outcome = self.reopen([row])
        assert outcome.accepted == (how == "honest"), (how, outcome.code)
        if outcome.accepted:
            self.blocks[chain].append(block)
        else:
            assert outcome.code == "IOME-BLK-012", outcome.code
            self.restart()
