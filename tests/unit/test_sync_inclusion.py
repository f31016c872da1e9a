"""IOME-CERT-021 keeps "same chain, same verdict": judging certificates at the block's time
reads only the block and the chain before it, so a node that lived through the events, the
same node reopened from its store, and a fresh node syncing from genesis reach byte-identical
state and evidence (chains.md, "What a verdict may depend on").

The events: st-c's presence (claimed T0+5000) is included at T0+5100; a list revoking st-c
from T0+5050, between the two, arrives later (evidence, IOME-REV-003: it would have refused
the presence at its block's time); then a presence st-c dates before that date is refused at
its block (IOME-CERT-021).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from iome_ref.chain.ledger import Ledger
from iome_ref.chain.store import MemoryStore, SqliteStore, Store
from iome_ref.errors import Rejected
from iome_ref.models import Block
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import CHAINS, T0, build_world

WORLD = build_world(43)
_B = Builder(WORLD)
ACCEPTED: list[Block] = [
    _B.block("verifiers", [_B.presence("source", "st-c", "ev-1/otk-1", T0 + 5_000)], T0 + 5_100),
    _B.block("verifiers", [_B.revocation_list({"st-c": T0 + 5_050}, T0 + 6_000)], T0 + 6_100),
]
#: Dated before the revocation date, delivered after the list: refused.
BACKDATED = Block.create(
    WORLD.key("producer"),
    chain_id="verifiers",
    height=2,
    prev_hash=ACCEPTED[-1].block_hash,
    time=T0 + 6_200,
    txs=[_B.presence("source", "st-c", "ev-2/otk-1", T0 + 5_040)],
)


def open_ledger(store: Store) -> Ledger:
    ledger = Ledger(store, WORLD.context())
    for chain_id, kind in CHAINS.items():
        ledger.add_chain(chain_id, kind)
    return ledger


def snapshot(ledger: Ledger) -> tuple[dict[str, bytes], list[tuple[str, bytes]]]:
    chains = {name: state.snapshot() for name, state in sorted(ledger.chains.items())}
    return chains, ledger.evidence()


def live(store: Store) -> Ledger:
    ledger = open_ledger(store)
    for block in ACCEPTED:
        ledger.submit(block)
    with pytest.raises(Rejected) as caught:
        ledger.submit(BACKDATED)
    assert caught.value.req_id == "IOME-CERT-021"
    return ledger


def test_rejects_backdated_block_keeping_the_evidence_of_the_earlier_one() -> None:
    ledger = live(MemoryStore())
    assert [code for code, _ in ledger.evidence()] == ["IOME-REV-003"]
    assert len(ledger.chains["verifiers"].blocks) == len(ACCEPTED)


def test_accepts_reopen_and_sync_from_genesis_reaching_the_same_state(tmp_path: Path) -> None:
    path = tmp_path / "node.sqlite"
    lived = snapshot(live(SqliteStore(path)))
    reopened = snapshot(open_ledger(SqliteStore(path)))
    synced = live(MemoryStore())
    assert reopened == lived
    assert snapshot(synced) == lived
