"""Node: the reference as one sans-IO object. Judging never changes state, blocks apply
atomically, a reopened store is re-verified, and the genesis is read strictly."""

from __future__ import annotations

import random

import pytest

from iome_ref.chain.store import MemoryStore, StoredBlock
from iome_ref.encoding import canonical_json
from iome_ref.errors import Rejected, UsageError
from iome_ref.models import Presence, SignedModel, Trip, TripClaim
from iome_ref.node import Actor, Batch, Head, Node
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.generate import build_context
from iome_ref.vectors.world import REVOKED_AT, T0, build_world

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
    batch = node.take_batch().txs
    assert [tx.tx_id for tx in batch] == [source.tx_id, destination.tx_id, claim.tx_id]


def test_cosign_with_a_silent_verifier_and_a_trip_that_waits() -> None:
    node, b = _verifier_node(), Builder(WORLD)
    claim, source, destination, t = _trip_inputs(b)
    # One of three silent: the other two still make the quorum of 2.
    waiting = node.cosign(claim, source, destination, t, ["verifier-3"])
    assert waiting is None
    assert node.take_batch() == Batch([], [])  # nothing was recorded: the claim can be sent again
    trip = node.cosign(claim, source, destination, t, ["verifier-3", "verifier-1"])
    assert trip is not None
    signers = {sig.verifier_pk for sig in trip.verifier_sigs}
    assert signers == {WORLD.key("verifier-1").public_hex, WORLD.key("verifier-3").public_hex}
    with pytest.raises(UsageError, match="no verifier actor"):
        node.cosign(claim, source, destination, t, ["st-a", "verifier-1"])


# -- the verifiers' batch at the block's time (IOME-CERT-021) -----------------------------------


def _trip_from(
    b: Builder, origin: str, key: str, depart: int
) -> tuple[TripClaim, Presence, Presence]:
    """A trip from ``origin`` to st-b (at most 1,800 s in the world) under fresh one-time keys."""
    source = b.presence("source", origin, f"{key}/otk-1", depart)
    destination = b.presence("destination", "st-b", f"{key}/otk-2", depart + 2_000)
    return b.claim(source, destination, depart + 2_010), source, destination


def _lapsing_batch(
    node: Node, b: Builder, station: str, lapse: int
) -> tuple[list[SignedModel], Presence, Presence, TripClaim, Trip]:
    """An honest trip from st-a and one from ``station``, both judged just before ``lapse``;
    returns the honest trip's batch entries and the lapsing trip's entries and Trip."""
    depart = lapse - 3_000
    honest = _trip_from(b, "st-a", "ev-1", depart)
    claim, source, destination = _trip_from(b, station, "ev-2", depart)
    for one in (honest, (claim, source, destination)):
        trip = node.cosign(*one, lapse - 1)
        assert trip is not None
    honest_claim, honest_source, honest_destination = honest
    return [honest_source, honest_destination, honest_claim], source, destination, claim, trip


@pytest.mark.req("IOME-CERT-021")
def test_take_batch_drops_a_station_revoked_before_the_block() -> None:
    """st-revoked is revoked at REVOKED_AT (genesis CRL): a presence it signed before, judged
    by the verifiers before, would make a block at REVOKED_AT refused whole. take_batch at
    the block's time drops it, and the claim that names it (its Trip with it)."""
    node, b = _verifier_node(), Builder(WORLD)
    honest, source, destination, claim, trip = _lapsing_batch(node, b, "st-revoked", REVOKED_AT)
    whole = [*honest, source, destination, claim]
    block_time = REVOKED_AT + 10
    with pytest.raises(Rejected) as refused:
        _verifier_node().apply_block(
            Builder(WORLD).block("verifiers", whole, block_time), "verifiers"
        )
    assert refused.value.req_id == "IOME-CERT-021"

    batch = node.take_batch(block_time)
    assert batch.txs == [*honest, destination]
    assert [(d.tx.tx_id, d.reason.req_id, d.trip_id) for d in batch.dropped] == [
        (source.tx_id, "IOME-CERT-021", None),
        (claim.tx_id, "IOME-CLAIM-001", trip.tx_id),
    ]
    before = node.get_chain("verifiers").snapshot()
    block = b.block("verifiers", batch.txs, block_time)
    assert node.apply_block(block, "verifiers") == Head(0, block.block_hash)
    assert node.get_chain("verifiers").snapshot() != before
    assert source.one_time_pk not in node.get_chain("verifiers").presence_keys
    assert node.take_batch(block_time) == Batch([], [])


def test_take_batch_keeps_what_is_still_certified() -> None:
    """Before the lapse the batch stays whole, also when the time given is before the claims'
    own (a block holding them is as late as the latest, IOME-BLK-008: judged at that time);
    without a block time it is not judged again (a caller sealing at the claims' own times)."""
    node, b = _verifier_node(), Builder(WORLD)
    honest, source, destination, claim, _ = _lapsing_batch(node, b, "st-revoked", REVOKED_AT)
    whole = [*honest, source, destination, claim]
    assert node.take_batch(T0) == Batch(whole, [])
    block = b.block("verifiers", whole, max(tx.time for tx in whole))
    assert node.apply_block(block, "verifiers") == Head(0, block.block_hash)
    node, b = _verifier_node(), Builder(WORLD)
    honest, source, destination, claim, _ = _lapsing_batch(node, b, "st-revoked", REVOKED_AT)
    assert node.take_batch() == Batch([*honest, source, destination, claim], [])


@pytest.mark.req("IOME-CERT-021")
def test_take_batch_drops_a_station_revoked_by_a_list_on_the_chain() -> None:
    """A RevocationList the consortium chain accepts between arrival and block revokes st-a:
    its presences are dropped, st-revoked's (revoked later) stay."""
    node, b = _verifier_node(), Builder(WORLD)
    revoked_at = T0 + 86_400
    honest, source, destination, claim, _ = _lapsing_batch(node, b, "st-revoked", revoked_at)
    crl = b.revocation_list({"st-a": revoked_at}, revoked_at)
    node.apply_block(b.block("verifiers", [crl], revoked_at), "verifiers")
    batch = node.take_batch(revoked_at + 10)
    assert batch.txs == [honest[1], source, destination, claim]
    assert [(d.tx, d.reason.req_id) for d in batch.dropped] == [
        (honest[0], "IOME-CERT-021"),
        (honest[2], "IOME-CLAIM-001"),
    ]
    block = b.block("verifiers", batch.txs, revoked_at + 10)
    assert node.apply_block(block, "verifiers") == Head(1, block.block_hash)


@pytest.mark.req("IOME-CERT-021")
def test_take_batch_drops_a_station_whose_path_expired() -> None:
    """st-ca-short's sub-CA expires at REVOKED_AT: the path is out of force at the block."""
    travel = [*CONTEXT["travel_times"], ["st-ca-short", "st-b", 1_800]]
    names = ("verifier-1", "verifier-2", "verifier-3")
    actors = {name: Actor("verifier", name, WORLD.key(name)) for name in names}
    node = Node(
        {**CONTEXT, "travel_times": travel},
        store=MemoryStore(),
        rng=random.Random(0),
        actors=actors,
    )
    b = Builder(WORLD)
    honest, source, destination, claim, trip = _lapsing_batch(node, b, "st-ca-short", REVOKED_AT)
    batch = node.take_batch(REVOKED_AT + 10)
    assert batch.txs == [*honest, destination]
    assert [(d.tx, d.reason.req_id, d.trip_id) for d in batch.dropped] == [
        (source, "IOME-CERT-021", None),
        (claim, "IOME-CLAIM-001", trip.tx_id),
    ]
    block = b.block("verifiers", batch.txs, REVOKED_AT + 10)
    assert node.apply_block(block, "verifiers") == Head(0, block.block_hash)
