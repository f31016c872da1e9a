"""Node: the reference as one sans-IO object. Judging never changes state, blocks apply
atomically, a reopened store is re-verified, and the genesis is read strictly."""

from __future__ import annotations

import random

import pytest

from iome_ref.chain.store import MemoryStore, StoredBlock
from iome_ref.encoding import canonical_json
from iome_ref.errors import Rejected, UsageError
from iome_ref.node import Actor, Head, Node
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.generate import build_context
from iome_ref.vectors.world import T0, build_world

WORLD = build_world(3)
CONTEXT = build_context(WORLD)


def _node(store: MemoryStore | None = None) -> Node:
    return Node(CONTEXT, store=store or MemoryStore(), rng=random.Random(0))


def test_accepts_block_and_judges_without_changing_state() -> None:
    node, b = _node(), Builder(WORLD)
    esdp = b.esdp()
    assert node.judge(esdp, "public", T0 + 3600) == esdp.tx_id
    assert node.get_head("public") == Head(-1, None)
    block = b.block("public", [esdp], T0 + 3600)
    assert node.apply_block(block, "public") == Head(0, block.block_hash)
    assert node.get_tx("public", esdp.tx_id) == esdp
    with pytest.raises(Rejected) as exc:
        node.judge(esdp, "public", T0 + 3600)
    assert exc.value.req_id == "IOME-REC-002"


def test_reopen_reverifies_the_store() -> None:
    store = MemoryStore()
    node, b = _node(store), Builder(WORLD)
    block = b.block("public", [b.esdp()], T0 + 3600)
    node.apply_block(block, "public")
    node.reopen()
    assert node.get_head("public") == Head(0, block.block_hash)
    forged = block.model_copy(update={"time": T0 + 7200})
    row = StoredBlock(
        "public", 1, block.block_hash, canonical_json(forged.model_dump(mode="json")), ()
    )
    with pytest.raises(Rejected):
        node.reopen([row])


def test_rejects_genesis_off_its_form_and_unknown_chain() -> None:
    with pytest.raises(UsageError, match=r"genesis\.quorum"):
        Node({**CONTEXT, "quorum": 0}, store=MemoryStore(), rng=random.Random(0))
    with pytest.raises(UsageError, match="no chain"):
        _node().get_head("moon")


def test_rejects_actor_key_off_its_form() -> None:
    with pytest.raises(UsageError, match="64 hex digits"):
        Actor.from_private_hex("station", "st-a", "00")
    key = WORLD.key("st-a")
    actor = Actor.from_private_hex("station", "st-a", key.private.private_bytes_raw().hex())
    assert actor.key.public_hex == key.public_hex
