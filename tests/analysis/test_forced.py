"""Forced links from one maximum matching equal the intersection of ALL maximum matchings.

The oracle enumerates every maximum matching of a small graph by brute force (networkx gives
the maximum size independently of scipy), so a wrong reachability or SCC rule in
``forced_links`` shows up as a disagreement on some random graph.
"""

from __future__ import annotations

import dataclasses
from itertools import combinations

import networkx as nx
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from iome_ref.analysis.forced import Bipartite, dwell_graph, forced_links, pairing_graph
from iome_ref.analysis.observations import ObservedTrip, ObservedTripEnd


def _all_maximum_matchings(graph: Bipartite) -> list[frozenset[tuple[int, int]]]:
    edges = list(zip(graph.left.tolist(), graph.right.tolist(), strict=True))
    g = nx.Graph()
    g.add_nodes_from(("l", i) for i in range(graph.n_left))
    g.add_nodes_from(("r", j) for j in range(graph.n_right))
    g.add_edges_from((("l", i), ("r", j)) for i, j in edges)
    size = len(nx.max_weight_matching(g, maxcardinality=True))
    found = []
    for subset in combinations(edges, size):
        lefts = {i for i, _ in subset}
        rights = {j for _, j in subset}
        if len(lefts) == size and len(rights) == size:
            found.append(frozenset(subset))
    return found


@st.composite
def small_graphs(draw: st.DrawFn) -> Bipartite:
    n_left = draw(st.integers(1, 5))
    n_right = draw(st.integers(1, 5))
    pairs = draw(
        st.lists(st.tuples(st.integers(0, n_left - 1), st.integers(0, n_right - 1)), max_size=9)
    )
    return Bipartite.build(n_left, n_right, [p[0] for p in pairs], [p[1] for p in pairs])


@given(small_graphs())
def test_forced_and_possible_links_match_brute_force(graph: Bipartite) -> None:
    result = forced_links(graph)
    matchings = _all_maximum_matchings(graph)
    edges = list(zip(graph.left.tolist(), graph.right.tolist(), strict=True))
    assert result.matching_size == (len(next(iter(matchings))) if matchings else 0)
    for k, edge in enumerate(edges):
        assert bool(result.forced[k]) == all(edge in m for m in matchings), edge
        assert bool(result.possible[k]) == any(edge in m for m in matchings), edge
    for i in range(graph.n_left):
        partners = {j for m in matchings for (a, j) in m if a == i}
        assert int(result.options_left[i]) == len(partners)


def test_a_swap_cycle_leaves_nothing_forced_and_a_lone_pair_is_forced() -> None:
    # 0-0, 0-1, 1-0, 1-1 is a 4-cycle: two perfect matchings; 2-2 stands alone.
    graph = Bipartite.build(3, 3, [0, 0, 1, 1, 2], [0, 1, 0, 1, 2])
    result = forced_links(graph)
    assert result.forced.tolist() == [False, False, False, False, True]
    assert result.options_left.tolist() == [2, 2, 1]
    assert sorted(result.component_sizes.tolist()) == [2, 4]


def _end(end_id: str, kind: str, station: str, t: int, width: int = 0) -> ObservedTripEnd:
    return ObservedTripEnd(end_id, kind, station, f"k-{end_id}", t, t + width)  # type: ignore[arg-type]


def test_pairing_graph_joins_ends_through_a_trip_and_respects_travel_time() -> None:
    departures = [_end("d0", "departure", "A", 100), _end("d1", "departure", "A", 160)]
    arrivals = [_end("a0", "arrival", "B", 400), _end("a1", "arrival", "C", 420)]
    trips = [
        ObservedTrip("t0", "A", "B", 60, 420, bucket_s=60),  # start window 60..120: d0 only
        ObservedTrip("t1", "A", "C", 120, 420, bucket_s=60),  # covers d1 (160) and a1 (420)
    ]
    graph = pairing_graph(departures, arrivals, trips, None)
    assert list(zip(graph.left.tolist(), graph.right.tolist(), strict=True)) == [(0, 0), (1, 1)]
    # A travel time longer than any window refuses the A -> C pair.
    graph = pairing_graph(departures, arrivals, trips, {("A", "B"): 10, ("A", "C"): 10_000})
    assert list(zip(graph.left.tolist(), graph.right.tolist(), strict=True)) == [(0, 0)]


def test_dwell_graph_links_forward_in_time_at_one_station_within_the_bound() -> None:
    arrivals = [_end("a0", "arrival", "B", 100)]
    departures = [
        _end("d0", "departure", "B", 50),  # before the arrival
        _end("d1", "departure", "B", 500),
        _end("d2", "departure", "B", 5000),  # beyond the dwell bound
        _end("d3", "departure", "C", 200),  # another station
    ]
    graph = dwell_graph(arrivals, departures, max_dwell_s=1000)
    assert graph.right.tolist() == [1]
    assert np.array_equal(graph.left, np.array([0]))


def test_a_session_lasting_until_the_departure_forces_the_stay_and_the_other() -> None:
    """Two vehicles arrive at B and leave again, all four ends within each other's windows:
    by times alone either arrival could be either departure. One arrived and left under one
    session's key (plugged in until it left), so that stay is certain, and the other follows."""
    arrivals = [
        dataclasses.replace(_end("a0", "arrival", "B", 100), key="session-key"),
        _end("a1", "arrival", "B", 110),
    ]
    departures = [
        _end("d0", "departure", "B", 500),
        dataclasses.replace(_end("d1", "departure", "B", 510), key="session-key"),
    ]
    graph = dwell_graph(arrivals, departures, max_dwell_s=1000)
    assert list(zip(graph.left.tolist(), graph.right.tolist(), strict=True)) == [(0, 1), (1, 0)]
    assert forced_links(graph).forced.tolist() == [True, True]
