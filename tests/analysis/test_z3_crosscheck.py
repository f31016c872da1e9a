"""The fast path and Z3 agree on every forced link and every anonymity set (issue 15 item 5).

Random small histories: trips between a few stations with random times, published at a random
resolution, so the candidate graphs have swap cycles, free vertices and forced pairs. Z3 knows
nothing the fast path does not (no side knowledge, no energy), so any disagreement is a bug in
one of them. A second group checks what only Z3 can do.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from iome_ref.analysis.forced import Bipartite, forced_links, observation_graphs
from iome_ref.analysis.tripfiles import ExactTrip, trip_observation
from iome_ref.analysis.z3chains import ChainEnergy, z3_chain_links
from iome_ref.analysis.z3query import SideKnowledge, SocModel, z3_links


@st.composite
def histories(draw: st.DrawFn) -> list[ExactTrip]:
    n = draw(st.integers(1, 7))
    stations = ["A", "B", "C"]
    trips = []
    for k in range(n):
        origin = draw(st.sampled_from(stations))
        destination = draw(st.sampled_from([s for s in stations if s != origin]))
        start = draw(st.integers(0, 600))
        duration = draw(st.integers(30, 400))
        trips.append(ExactTrip(f"t{k}", f"v{k}", origin, start, destination, start + duration))
    return trips


@given(histories(), st.sampled_from([1, 60, 300]), st.integers(0, 2**16))
def test_fast_path_and_z3_agree_on_forced_links_and_anonymity_sets(
    trips: list[ExactTrip], resolution: int, seed: int
) -> None:
    travel = {(a, b): 100 for a in "ABC" for b in "ABC" if a != b}
    observation, _ = trip_observation(trips, seed=seed, resolution_s=resolution, travel_s=travel)
    pairing, _ = observation_graphs(observation, max_dwell_s=3600)
    fast = forced_links(pairing)
    solved = z3_links(pairing, fast, seed=seed, timeout_ms=20_000)
    assert solved.unknown == 0
    assert solved.matching_size == fast.matching_size
    assert solved.forced.tolist() == fast.forced.tolist()
    assert solved.possible.tolist() == fast.possible.tolist()
    assert solved.options_left.tolist() == fast.options_left.tolist()
    assert solved.options_right.tolist() == fast.options_right.tolist()


def _square() -> Bipartite:
    # Two departures, two arrivals, all four pairs possible: no link is forced.
    return Bipartite.build(2, 2, [0, 0, 1, 1], [0, 1, 0, 1])


def test_side_knowledge_forces_what_the_matching_leaves_open() -> None:
    graph = _square()
    fast = forced_links(graph)
    assert not fast.forced.any()
    solved = z3_links(graph, fast, side=SideKnowledge(different=((0, 0),)), seed=1)
    # edges are sorted (0,0), (0,1), (1,0), (1,1)
    assert solved.forced.tolist() == [False, True, True, False]
    assert solved.options_left.tolist() == [1, 1]
    assert solved.unknown == 0


def test_energy_continuity_excludes_a_pairing_the_times_allow() -> None:
    graph = _square()
    fast = forced_links(graph)
    # Departure 0 left with 50 kWh charged; arrival 0 then charged 40 kWh after a 10 kWh
    # trip: 50 - 10 + 40 = 80 > 60 kWh capacity, so departure 0 cannot be arrival 0.
    soc = SocModel(
        capacity_wh=60_000,
        left_charged_wh=[50_000, 5_000],
        right_charged_wh=[40_000, 5_000],
        need_wh=[10_000] * 4,
    )
    solved = z3_links(graph, fast, soc=soc, seed=2)
    assert solved.forced.tolist() == [False, True, True, False]
    assert solved.unknown == 0


def test_a_timeout_is_reported_as_unknown_never_as_a_verdict() -> None:
    graph = _square()
    fast = forced_links(graph)
    solved = z3_links(graph, fast, seed=3, timeout_ms=1)
    # With a 1 ms budget the solver may or may not finish; whatever it did not decide is
    # counted and flagged undecided, and nothing undecided is reported forced or possible.
    assert bool(solved.undecided.any()) == (solved.unknown > 0)
    assert not (solved.undecided & (solved.forced | solved.possible)).any()


def test_a_resource_limit_gives_the_same_unknowns_on_every_run() -> None:
    # The budget is Z3's resource count, not the clock: a bound too small to decide anything
    # leaves the same links undecided on every run of one seed, however busy the machine.
    pairing = Bipartite.build(3, 3, [0, 0, 1, 1, 2, 2], [0, 1, 1, 2, 2, 0])
    fast = forced_links(pairing)
    runs = [z3_links(pairing, fast, seed=5, timeout_ms=1) for _ in range(3)]
    assert runs[0].unknown > 0
    for run in runs[1:]:
        assert run.unknown == runs[0].unknown
        assert run.undecided.tolist() == runs[0].undecided.tolist()
        assert run.forced.tolist() == runs[0].forced.tolist()


@given(histories(), st.sampled_from([1, 60, 300]), st.integers(0, 2**16))
def test_chained_z3_without_energy_agrees_with_the_fast_path_on_both_graphs(
    trips: list[ExactTrip], resolution: int, seed: int
) -> None:
    observation, _ = trip_observation(trips, seed=seed, resolution_s=resolution)
    pairing, dwell = observation_graphs(observation, max_dwell_s=600)
    loose = ChainEnergy(
        capacity_wh=10**9,
        departure_charge_wh=[0] * pairing.n_left,
        arrival_charge_wh=[0] * pairing.n_right,
        need_wh=[0] * pairing.n_edges,
        same_session=[False] * dwell.n_edges,
    )
    solved = z3_chain_links(pairing, dwell, loose, seed=seed, timeout_ms=20_000)
    assert solved.unknown == 0
    assert solved.pairing_forced.tolist() == forced_links(pairing).forced.tolist()
    assert solved.pairing_possible.tolist() == forced_links(pairing).possible.tolist()
    assert solved.dwell_forced.tolist() == forced_links(dwell).forced.tolist()
    assert solved.dwell_possible.tolist() == forced_links(dwell).possible.tolist()


def test_a_chain_that_would_run_the_battery_flat_is_refused() -> None:
    # D0 -> R0 and D1 -> R1 are the only pairings; R0 -> D1 the only stay. Each trip needs
    # 40 kWh of a 60 kWh battery and nothing is charged on the way: chaining them would leave
    # D1 with at most 20 kWh, so the stay the matching forces is impossible.
    pairing = Bipartite.build(2, 2, [0, 1], [0, 1])
    dwell = Bipartite.build(2, 2, [0], [1])
    assert forced_links(dwell).forced.tolist() == [True]
    energy = ChainEnergy(
        capacity_wh=60_000,
        departure_charge_wh=[0, 0],
        arrival_charge_wh=[0, 0],
        need_wh=[40_000, 40_000],
        same_session=[False],
    )
    solved = z3_chain_links(pairing, dwell, energy, seed=1)
    assert solved.unknown == 0
    assert solved.pairing_forced.tolist() == [True, True]
    assert solved.dwell_possible.tolist() == [False]
    # A 30 kWh charge before leaving D1 makes the chain possible again, and forced.
    charged = ChainEnergy(60_000, [0, 30_000], [0, 0], [40_000, 40_000], [False])
    assert z3_chain_links(pairing, dwell, charged, seed=1).dwell_forced.tolist() == [True]


def test_a_trip_that_used_more_than_its_road_energy_stays_possible() -> None:
    # D0 left with 50 kWh charged, drove 30 kWh (10 on the road graph, 20 off it), arrived
    # with 20 kWh and charged 40 kWh at R0: 60 kWh, a full battery. An observer that took the
    # road graph's 10 kWh as the exact use would find 50 - 10 + 40 = 80 kWh > 60 and refuse
    # the true (and only) pairing; the road energy is a lower bound, so it must stay forced.
    pairing = Bipartite.build(1, 1, [0], [0])
    dwell = Bipartite.build(1, 1, [], [])
    energy = ChainEnergy(60_000, [50_000], [40_000], [10_000], [])
    solved = z3_chain_links(pairing, dwell, energy, seed=1)
    assert solved.unknown == 0
    assert solved.pairing_forced.tolist() == [True]


def test_the_budget_solves_small_components_first_and_counts_what_it_skipped() -> None:
    # Three pairing components: one link (D0-R0), two links (D1-R1, D1-R2), four links
    # (D2, D3 x R3, R4: a swap square).
    pairing = Bipartite.build(4, 5, [0, 1, 1, 2, 2, 3, 3], [0, 1, 2, 3, 4, 3, 4])
    dwell = Bipartite.build(5, 4, [], [])
    loose = ChainEnergy(10**6, [0] * 4, [0] * 5, [0] * pairing.n_edges, [])
    solved = z3_chain_links(pairing, dwell, loose, seed=1, max_links=3, budget_links=1)
    assert (solved.components_total, solved.components) == (3, 1)
    assert (solved.skipped_too_large, solved.skipped_over_budget) == (1, 1)
    assert solved.pairing_checked.tolist() == [True] + [False] * 6
    assert solved.pairing_forced.tolist() == [True] + [False] * 6  # no verdict where unchecked
    everything = z3_chain_links(pairing, dwell, loose, seed=1)
    assert everything.components == 3
    assert everything.pairing_checked.all()
    assert everything.pairing_forced.tolist() == forced_links(pairing).forced.tolist()
