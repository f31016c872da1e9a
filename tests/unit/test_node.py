"""Node: the reference as one sans-IO object. Judging never changes state, blocks apply
atomically, a reopened store is re-verified, and the genesis is read strictly."""

from __future__ import annotations

import random

import pytest

from iome_ref.chain.store import MemoryStore, StoredBlock
from iome_ref.encoding import canonical_json
from iome_ref.errors import Rejected, UsageError
from iome_ref.models import Presence, TripClaim
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


def _verifier_node() -> Node:
    names = ("verifier-1", "verifier-2", "verifier-3", "st-a", "st-b")
    actors = {
        name: Actor("verifier" if name.startswith("verifier") else "station", name, WORLD.key(name))
        for name in names
    }
    return Node(CONTEXT, store=MemoryStore(), rng=random.Random(0), actors=actors)


def _trip_inputs(b: Builder) -> tuple[TripClaim, Presence, Presence, int]:
    depart, arrive = T0 + 3600, T0 + 4800  # st-a -> st-b takes 1200 s in the world
    source = b.presence("source", "st-a", "otk-1", depart)
    destination = b.presence("destination", "st-b", "otk-2", arrive)
    return b.claim(source, destination, arrive), source, destination, arrive


def test_cosign_never_changes_the_consortium_chain_state() -> None:
    """The verifiers judge their batch on a fork: the chain's state is only its blocks'."""
    node, b = _verifier_node(), Builder(WORLD)
    before = node.get_chain("verifiers").snapshot()
    claim, source, destination, t = _trip_inputs(b)
    trip = node.cosign(claim, source, destination, t)
    assert trip is not None
    assert node.get_chain("verifiers").snapshot() == before
    # The batch still sees its own claims: the same presence again is refused.
    with pytest.raises(Rejected) as exc:
        node.cosign(claim, source, destination, t)
    assert exc.value.req_id == "IOME-REC-002"
    batch = node.take_batch()
    assert [tx.tx_id for tx in batch] == [source.tx_id, destination.tx_id, claim.tx_id]


def test_cosign_with_a_silent_verifier_and_a_trip_that_waits() -> None:
    node, b = _verifier_node(), Builder(WORLD)
    claim, source, destination, t = _trip_inputs(b)
    # One of three silent: the other two still make the quorum of 2.
    waiting = node.cosign(claim, source, destination, t, ["verifier-3"])
    assert waiting is None
    assert node.take_batch() == []  # nothing was recorded: the claim can be sent again
    trip = node.cosign(claim, source, destination, t, ["verifier-3", "verifier-1"])
    assert trip is not None
    signers = {sig.verifier_pk for sig in trip.verifier_sigs}
    assert signers == {WORLD.key("verifier-1").public_hex, WORLD.key("verifier-3").public_hex}
    with pytest.raises(UsageError, match="no verifier actor"):
        node.cosign(claim, source, destination, t, ["st-a", "verifier-1"])
