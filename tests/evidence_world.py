"""A small ledger with one accepted transaction of every kind a bundle must handle, and the
bundles the reference builds for them (spec/evidence.md).

Chains of the seeded world: the fleet chain holds a DataCommitment; the consortium chain three
Presences (a bundle of the middle one has a two-sided audit path); the public chain an ESDP by a
pseudonymous home (no certified signer), a ChargeSession (station), a Trip (two verifiers), an
IssuerRegistration (distribution, with subject) and the fleet's Anchor, then a RevocationList
that revokes st-a from before its session (a backdated revocation: IOME-REV-003 evidence).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from iome_ref.conformance.adapters.inproc import ReferenceIUT
from iome_ref.conformance.machines.base import genesis_of, world_of
from iome_ref.constants import ZERO_HASH
from iome_ref.models import Block, SignedModel
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import T0, World

__all__ = ["SEED", "EvidenceLedger", "evidence_ledger"]

SEED = 0
_T = T0 + 10_000


@dataclass(frozen=True)
class EvidenceLedger:
    world: World
    iut: ReferenceIUT
    #: name -> (chain, transaction)
    txs: dict[str, tuple[str, SignedModel]]

    def bundle(self, name: str) -> dict[str, Any]:
        chain, tx = self.txs[name]
        bundle = self.iut.node.get_bundle(chain, tx.tx_id)
        assert bundle is not None
        return bundle.model_dump(mode="json")


def _block(b: Builder, iut: ReferenceIUT, chain: str, txs: list[SignedModel], t: int) -> Block:
    head = iut.head(chain)
    block = Block.create(
        b.key("producer"),
        chain_id=chain,
        height=head["height"] + 1,
        prev_hash=head["block_hash"] or ZERO_HASH,
        time=t,
        txs=txs,
    )
    iut.submit_block(chain, block.model_dump(mode="json"))
    return block


@functools.cache
def evidence_ledger() -> EvidenceLedger:
    world = world_of(SEED)
    b = Builder(world)
    iut = ReferenceIUT()
    iut.reset(SEED, genesis_of(SEED), {})
    txs: dict[str, tuple[str, SignedModel]] = {}
    commitment = b.commitment("home-7", b"meter", _T)
    fleet = _block(b, iut, "fleet", [commitment], _T + 1)
    txs["commitment"] = ("fleet", commitment)
    presences = [
        b.presence("source", station, f"ev-{i}/otk", _T + i)
        for i, station in enumerate(("st-a", "st-b", "st-c"))
    ]
    _block(b, iut, "verifiers", presences, _T + 5)
    txs["presence"] = ("verifiers", presences[1])
    public = {
        "esdp": b.esdp("home-7", _T + 2, window_start=_T + 900, window_end=_T + 4500),
        "session": b.charge("st-a", "ev-9/otk", _T - 1800, _T + 3),
        "trip": b.trip(),
        "registration": b.registration("grid-north", t=_T + 4),
        "anchor": b.anchor(fleet.height, fleet.block_hash, None, _T + 6),
    }
    _block(b, iut, "public", list(public.values()), _T + 10)
    txs.update({name: ("public", tx) for name, tx in public.items()})
    revocation = b.revocation_list({"st-a": _T - 3600}, _T + 20)
    _block(b, iut, "public", [revocation], _T + 30)
    txs["revocation"] = ("public", revocation)
    return EvidenceLedger(world, iut, txs)
