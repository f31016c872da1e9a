"""A ledger of the seeded world's chains, and blocks built from its own heads.

Blocks extend the ledger's head (not a builder's cursor), so a refused block never shifts the
heights of those a test submits after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from iome_ref.chain.ledger import Ledger
from iome_ref.chain.store import Store
from iome_ref.constants import ZERO_HASH
from iome_ref.models import Block, SignedModel
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import CHAINS, World

__all__ = ["open_ledger", "submit"]


def open_ledger(world: World, store: Store, chains: Iterable[str] = CHAINS) -> Ledger:
    """A ledger over ``store`` keeping ``chains`` (default: every chain of the world)."""
    ledger = Ledger(store, world.context())
    for chain_id in chains:
        ledger.add_chain(chain_id, CHAINS[chain_id])
    return ledger


def submit(
    ledger: Ledger, b: Builder, chain_id: str, txs: Sequence[SignedModel], time: int
) -> Block:
    """Submit the block of ``txs`` extending ``chain_id``'s head in ``ledger``; return it."""
    head = ledger.chains[chain_id].head
    block = Block.create(
        b.key("producer"),
        chain_id=chain_id,
        height=0 if head is None else head.height + 1,
        prev_hash=ZERO_HASH if head is None else head.block_hash,
        time=time,
        txs=list(txs),
    )
    ledger.submit(block)
    return block
