"""The simulation drives a Node: only the node changes chain state, and the verifier quorum
judges claims through it, never on the consortium chain's live state between blocks."""

from __future__ import annotations

from iome_ref.chain.store import MemoryStore
from iome_ref.simulation.loop import Simulation, SimulationConfig, _Round
from iome_ref.simulation.network import VERIFIERS
from iome_ref.simulation.summary import RegionRound, RoundRecord

TINY = SimulationConfig(seed=5, evs=24, stations=6, homes=6, rounds=1, regions=2)


def test_claims_in_flight_never_touch_the_consortium_chain() -> None:
    sim = Simulation(TINY, MemoryStore())
    sim.start()
    start, end = sim.config.t0, sim.config.t0 + sim.config.round_s
    state = _Round(RoundRecord(0, start, end, {g: RegionRound() for g in sim.city.regions}))
    state.children = {chain: [] for chain in sim.child_chains}
    state.eps = sim._energy_step(state, start, end)
    consortium = sim.net.node.get_chain(VERIFIERS)
    before = consortium.snapshot()
    sim._mobility_step(state, start)
    assert state.trips, "the round's vehicles made no trip"
    # The verifiers co-signed every trip, yet the chain holds only what its blocks made.
    assert consortium.snapshot() == before
    batch = sim.net.node.take_batch(end).txs
    assert len(batch) == 3 * len(state.trips)  # two presences and a claim per trip
    sim.net.publish(VERIFIERS, batch, end)
    assert consortium.snapshot() != before
    assert {p.tx_id for p in consortium.presences.values()} >= {
        tx.tx_id for tx in batch if tx.tx_type == "Presence"
    }
