"""Same chain, same verdict, whenever it is replayed (chains.md, "What a verdict may depend on").

For every way later knowledge could change a verdict, a node that lived through the events, the
same node reopened from its store, and a fresh node syncing the blocks from genesis (in any
order across chains) must reach byte-identical state and the same evidence:

- a revocation list published after transactions it makes look bad (backdated revocation);
- an anchor accepted before the node holds the child chain it misstates, or after;
- chains delivered in any interleaving;
- a store reopened under another genesis configuration (refused as usage, never re-judged).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iome_ref.chain.context import ChainContext
from iome_ref.chain.ledger import Ledger
from iome_ref.chain.store import MemoryStore, SqliteStore, Store
from iome_ref.errors import Rejected, UsageError
from iome_ref.models import Block, SignedModel
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import CHAINS, T0, World, build_world

WORLD = build_world(41)


def open_ledger(store: Store, world: World = WORLD) -> Ledger:
    ledger = Ledger(store, world.context())
    for chain_id, kind in CHAINS.items():
        ledger.add_chain(chain_id, kind)
    return ledger


def state_of(ledger: Ledger) -> dict[str, bytes]:
    return {chain_id: state.snapshot() for chain_id, state in sorted(ledger.chains.items())}


def history(b: Builder) -> list[Block]:
    """Every kind of late knowledge, in the order a live node receives it.

    Station st-c attests a presence at T0+5000 and is paid for a session ending at T0+9000;
    later the authority publishes, on both chains, a list revoking st-c from T0+4000. The fleet's
    manager anchors a false hash for a block the node receives afterwards.
    """
    blocks: list[Block] = []

    def block(chain_id: str, txs: list[SignedModel], time: int) -> None:
        blocks.append(b.block(chain_id, txs, time))

    fleet = [b.commitment(data=f"fleet {h}".encode(), t=T0 + 100 * h) for h in range(4)]
    for h, commitment in enumerate(fleet[:3]):
        block("fleet", [commitment], T0 + 100 * h + 50)
    anchor = b.anchor(1, blocks[1].block_hash, None, T0 + 1000)
    block("public", [anchor], T0 + 1100)
    block("verifiers", [b.presence("source", "st-c", "ev-7/otk-1", T0 + 5000)], T0 + 5100)
    block("public", [b.charge("st-c", vehicle_key="ev-7/otk-2")], T0 + 9100)
    # A false anchor of height 3, which the fleet has not produced yet.
    block("public", [b.anchor(3, blocks[0].block_hash, anchor.tx_id, T0 + 9200)], T0 + 9300)
    block("fleet", [fleet[3]], T0 + 9400)
    revocation = b.revocation_list({"st-c": T0 + 4000}, T0 + 20_000)
    block("verifiers", [revocation], T0 + 20_100)
    block("public", [revocation], T0 + 20_100)
    return blocks


BLOCKS = history(Builder(WORLD))


def live_node() -> Ledger:
    ledger = open_ledger(MemoryStore())
    for block in BLOCKS:
        ledger.submit(block)
    return ledger


LIVE = live_node()


def test_records_every_kind_of_late_knowledge_as_evidence() -> None:
    kinds = sorted(kind for kind, _ in LIVE.evidence())
    # The presence and the session relied on st-c after the backdated revocation date; the
    # second anchor misstates fleet block 3.
    assert kinds == ["IOME-ANC-005", "IOME-REV-003", "IOME-REV-003"]
    assert [len(state.blocks) for _, state in sorted(LIVE.chains.items())] == [4, 4, 2]


@pytest.mark.req("IOME-REV-003")
def test_records_revoked_use_naming_the_list_the_tx_and_the_reason() -> None:
    revocation = BLOCKS[-1].txs[0]
    presence, session = BLOCKS[4].txs[0], BLOCKS[5].txs[0]
    found = sorted(
        (json.loads(body)["second"]["type"], json.loads(body))
        for kind, body in LIVE.evidence()
        if kind == "IOME-REV-003"
    )
    assert [kind for kind, _ in LIVE.evidence()].count("IOME-REV-003") == 2
    assert [kind for kind, _ in found] == ["ChargeSession", "Presence"]
    for (kind, body), tx in zip(found, (session, presence), strict=True):
        assert body["first"] == revocation.model_dump(mode="json")
        assert set(body["second"]) == {"tx_id", "type", "reason"}
        assert (body["second"]["tx_id"], body["second"]["type"]) == (tx.tx_id, kind)
        assert body["second"]["reason"].startswith(
            f"{kind} {tx.tx_id} relied on {tx.station_pk[:16]}..., refused now: IOME-CERT-003: "
        )


@pytest.mark.req("IOME-REV-003", "IOME-ANC-005", "IOME-BLK-012")
def test_accepts_reopened_store_reaching_the_same_state(tmp_path: Path) -> None:
    path = tmp_path / "node.sqlite"
    with SqliteStore(path) as store:
        ledger = open_ledger(store)
        for block in BLOCKS:
            ledger.submit(block)
        before, evidence = state_of(ledger), ledger.evidence()
    with SqliteStore(path) as store:
        reopened = Ledger.open(store)
        assert state_of(reopened) == before
        # Evidence is a set: reopening finds it again without recording it twice.
        assert reopened.evidence() == evidence
        assert state_of(Ledger.replay(store)) == before


@st.composite
def interleavings(draw: st.DrawFn) -> list[Block]:
    """BLOCKS in any order that keeps each chain's own order (what a syncing peer may send)."""
    queues = {chain: [b for b in BLOCKS if b.chain_id == chain] for chain in CHAINS}
    order: list[Block] = []
    while any(queues.values()):
        chain = draw(st.sampled_from(sorted(c for c, q in queues.items() if q)))
        order.append(queues[chain].pop(0))
    return order


@given(interleavings())
@pytest.mark.req("IOME-REV-003", "IOME-ANC-005")
def test_accepts_sync_from_genesis_in_any_chain_order(order: list[Block]) -> None:
    syncing = open_ledger(MemoryStore())
    for block in order:
        syncing.submit(block)
    assert state_of(syncing) == state_of(LIVE)
    assert sorted(syncing.evidence()) == sorted(LIVE.evidence())


@pytest.mark.req("IOME-CERT-003")
def test_rejects_after_the_list_what_it_revokes_but_keeps_history() -> None:
    b = Builder(WORLD)
    late = b.presence("destination", "st-c", "ev-7/otk-3", T0 + 21_000)
    state = LIVE.chains["verifiers"]
    head = state.blocks[-1]
    block = Block.create(
        b.key("producer"),
        chain_id="verifiers",
        height=head.height + 1,
        prev_hash=head.block_hash,
        time=T0 + 21_100,
        txs=[late],
    )
    ledger = live_node()
    with pytest.raises(Rejected) as exc:
        ledger.submit(block)
    assert exc.value.req_id == "IOME-CERT-003"
    assert len(ledger.chains["verifiers"].blocks) == 2  # the earlier presence stays accepted


def test_rejects_store_reopened_under_another_genesis(tmp_path: Path) -> None:
    path = tmp_path / "node.sqlite"
    with SqliteStore(path) as store:
        open_ledger(store).submit(BLOCKS[0])
    other = build_world(42)
    for context in (other.context(), ChainContext(WORLD.directory, {}, WORLD.context().quorum)):
        with SqliteStore(path) as store, pytest.raises(UsageError) as exc:
            Ledger(store, context)
        assert "another genesis" in exc.value.message


def test_rejects_store_without_genesis_for_replay() -> None:
    with pytest.raises(UsageError) as exc:
        Ledger.open(MemoryStore())
    assert "no genesis" in exc.value.message


@pytest.mark.req("IOME-REV-003")
def test_accepts_renewed_list_without_new_evidence() -> None:
    """A list that renews the dates of the one in force revokes nothing new: no evidence, and
    the node does not re-judge its history for it."""
    b = Builder(WORLD)
    ledger = live_node()
    before = ledger.evidence()
    renewal = b.revocation_list({"st-c": T0 + 4000}, T0 + 30_000)
    state = ledger.chains["public"]
    head = state.blocks[-1]
    ledger.submit(
        Block.create(
            b.key("producer"),
            chain_id="public",
            height=head.height + 1,
            prev_hash=head.block_hash,
            time=T0 + 30_100,
            txs=[renewal],
        )
    )
    assert ledger.evidence() == before
