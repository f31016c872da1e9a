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
