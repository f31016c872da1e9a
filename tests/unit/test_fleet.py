"""The ride-sharing dispatcher: most requests served, then least time-plus-energy cost.

Costs are hand-computed: with ``time_cost_micro_per_hour = 3,600`` one second costs one
micro-unit, so a cost reads as seconds plus Wh x price / 1,000.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
from helpers import usage_error
from hypothesis import given
from hypothesis import strategies as st

from iome_ref.roles.fleet import (
    Assignment,
    RideRequest,
    RideShareFleet,
    _Edge,
    _MatchingGraph,
)
from iome_ref.roles.vehicle import Battery, ElectricVehicle, StationIndex


@dataclass
class Roads:
    """A dict-backed RoadMap from (a, b) -> (seconds, Wh) legs, both ways, metres = seconds."""

    legs: dict[tuple[str, str], tuple[int, int]]
    regions: dict[str, str]
    stations: dict[str, int] = field(default_factory=dict)
    station_region: dict[str, str] = field(default_factory=dict)
    station_travel_s: dict[tuple[str, str], int] = field(default_factory=dict)
    station_energy_wh: dict[tuple[str, str], int] = field(default_factory=dict)
    station_distance_m: dict[tuple[str, str], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.station_region = dict(self.regions)
        self.stations = {name: i for i, name in enumerate(sorted(self.regions))}
        legs = dict(self.legs) | {(s, s): (0, 0) for s in self.regions}
        for (a, b), (seconds, wh) in legs.items():
            for pair in ((a, b), (b, a)):
                self.station_travel_s[pair] = seconds
                self.station_energy_wh[pair] = wh
                self.station_distance_m[pair] = seconds


def ev(name: str, at: str, soc_wh: int = 40_000) -> ElectricVehicle:
    return ElectricVehicle(name, name.encode(), Battery(60_000, soc_wh, 1.0), "r0", location=at)


def fleet(*vehicles: ElectricVehicle, exact_limit: int = 100) -> RideShareFleet:
    return RideShareFleet(
        "fleet", vehicles, time_cost_micro_per_hour=3_600, exact_limit=exact_limit
    )


# v1 waits at a, v2 at b. Request r1 starts at p, r2 at q; both ride 100 s to z.
CROSS = Roads(
    {
        ("a", "p"): (10, 0),
        ("b", "p"): (20, 0),
        ("a", "q"): (20, 0),
        ("b", "q"): (1_000, 0),
        ("p", "z"): (100, 0),
        ("q", "z"): (100, 0),
    },
    {"a": "r0", "b": "r0", "p": "r0", "q": "r0", "z": "r0"},
)
REQUESTS = [RideRequest("r1", "p", "z", 0), RideRequest("r2", "q", "z", 0)]


def test_assign_finds_the_least_total_cost() -> None:
    # Greedy would take r1-v1 (10 + 100) and leave r2-v2 (1,000 + 100): 1,210. The optimum
    # swaps them: r1-v2 (20 + 100) + r2-v1 (20 + 100) = 240.
    result = fleet(ev("v1", "a"), ev("v2", "b")).assign(REQUESTS, {"r0": 0}, CROSS)
    assert result == [
        Assignment("r1", "v2", 20, 100, 0, 120),
        Assignment("r2", "v1", 20, 100, 0, 120),
    ]


def test_assign_greedily_above_the_exact_limit() -> None:
    result = fleet(ev("v1", "a"), ev("v2", "b"), exact_limit=0).assign(REQUESTS, {"r0": 0}, CROSS)
    assert [(a.request_id, a.vehicle_id, a.cost_micro) for a in result] == [
        ("r1", "v1", 110),
        ("r2", "v2", 1_100),
    ]


# Two vehicles equally far (50 s) from the pickup p, v1 on a hilly road (3,000 Wh), v2 on a
# flat one (500 Wh); the ride p -> z takes 100 s and 1,000 Wh and z lies in region r1.
ENERGY = Roads(
    {("a", "p"): (50, 3_000), ("b", "p"): (50, 500), ("p", "z"): (100, 1_000)},
    {"a": "r0", "b": "r0", "p": "r0", "z": "r1"},
)


def test_assign_prices_energy_in_the_destination_region() -> None:
    # At 400,000 micro/kWh in r1: v1 costs 150 + 4,000 Wh * 400 = 1,600,150; v2 costs
    # 150 + 1,500 Wh * 400 = 600,150.
    result = fleet(ev("v1", "a"), ev("v2", "b")).assign(
        [RideRequest("r1", "p", "z", 0)], {"r0": 0, "r1": 400_000}, ENERGY
    )
    assert result == [Assignment("r1", "v2", 50, 100, 1_500, 600_150)]


def test_assign_skips_vehicles_that_would_break_their_reserve() -> None:
    # v2 holds 10,000 Wh: 10,000 - 1,500 < 9,000 reserve. v1 (4,000 Wh needed) is served.
    result = fleet(ev("v1", "a"), ev("v2", "b", soc_wh=10_000)).assign(
        [RideRequest("r1", "p", "z", 0)], {"r0": 0, "r1": 400_000}, ENERGY
    )
    assert [a.vehicle_id for a in result] == ["v1"]


def test_assign_serves_as_many_requests_as_vehicles_allow() -> None:
    result = fleet(ev("v1", "a")).assign(REQUESTS, {"r0": 0}, CROSS, index=StationIndex(CROSS))
    assert len(result) == 1


def test_assign_ignores_vehicles_at_home() -> None:
    at_home = ElectricVehicle("v1", b"v1", Battery(60_000, 40_000, 1.0), "r0")
    assert fleet(at_home).assign(REQUESTS, {"r0": 0}, CROSS) == []


def test_rejects_assignment_without_a_price_for_the_destination() -> None:
    with usage_error("fleet"):
        fleet(ev("v1", "a")).assign([RideRequest("r1", "p", "z", 0)], {"r0": 0}, ENERGY)


def test_cost_values_time_and_energy() -> None:
    # 20 currency units per hour: 1,800 s cost 10,000,000; 2,000 Wh at 250,000 cost 500,000.
    dispatcher = RideShareFleet("fleet", [])
    assert dispatcher.compute_cost(1_800, 2_000, 250_000) == 10_500_000


# -- the exact matching's graph (issue 16) ---------------------------------------------------------

_EDGES = st.lists(
    st.builds(
        _Edge,
        cost=st.sampled_from([100, 200, 300, 1_000]),  # few values: many ties
        request=st.integers(0, 12),
        vehicle_id=st.sampled_from([f"ev-{i:03d}" for i in range(12)]),
        pickup_s=st.integers(0, 600),
        ride_s=st.integers(1, 600),
        energy_wh=st.integers(0, 5_000),
    ),
    max_size=60,
    unique_by=lambda edge: (edge.request, edge.vehicle_id),
)


@given(_EDGES)
def test_accepts_exact_matching_as_on_a_plain_graph(edges: list[_Edge]) -> None:
    """The dispatcher's graph hands the matching its adjacency dicts instead of views, for
    speed: the same matching, ties broken alike, as on an nx.Graph."""
    plain: nx.Graph[tuple[str, int | str]] = nx.Graph()
    assert RideShareFleet._match_exact(edges) == RideShareFleet._match_exact(edges, plain)


def _best_by_search(edges: list[_Edge]) -> tuple[int, int]:
    """(most requests served, least total cost among those) over every subset of ``edges``
    that is a matching: the dispatcher's objective, by exhaustive search."""
    best = (0, 0)
    for mask in range(1 << len(edges)):
        chosen = [edge for i, edge in enumerate(edges) if mask >> i & 1]
        requests = {edge.request for edge in chosen}
        vehicles = {edge.vehicle_id for edge in chosen}
        if len(requests) == len(vehicles) == len(chosen):
            best = max(best, (len(chosen), -sum(edge.cost for edge in chosen)))
    return best[0], -best[1]


@given(
    st.lists(
        st.builds(
            _Edge,
            cost=st.sampled_from([1, 2, 100, 1_000]),
            request=st.integers(0, 3),
            vehicle_id=st.sampled_from(["ev-0", "ev-1", "ev-2", "ev-3"]),
            pickup_s=st.just(0),
            ride_s=st.just(1),
            energy_wh=st.just(0),
        ),
        max_size=9,
        unique_by=lambda edge: (edge.request, edge.vehicle_id),
    )
)
def test_accepts_exact_matching_serving_most_requests_at_least_cost(edges: list[_Edge]) -> None:
    """The exact matcher's objective, against exhaustive search: as many requests as can be
    served, then the least total cost (a cheap single ride never beats serving two)."""
    chosen = RideShareFleet._match_exact(edges)
    assert len({e.request for e in chosen}) == len({e.vehicle_id for e in chosen}) == len(chosen)
    assert (len(chosen), sum(edge.cost for edge in chosen)) == _best_by_search(edges)


@given(
    st.lists(
        st.tuples(st.integers(0, 14), st.integers(0, 14), st.integers(1, 4)),
        max_size=50,
    ),
    st.booleans(),
)
def test_accepts_matching_graph_as_nx_graph_on_any_graph(
    edges: list[tuple[int, int, int]], cardinality: bool
) -> None:
    """On general graphs too (odd cycles make blossoms), every step reads the same weights:
    the same matching, each edge the same way round, as on an nx.Graph."""
    plain: nx.Graph[int] = nx.Graph()
    fast = _MatchingGraph()
    for a, b, weight in edges:
        if a != b:
            plain.add_edge(a, b, weight=weight)
            fast.add_edge(("n", a), ("n", b), weight=weight)
    expected = nx.max_weight_matching(plain, maxcardinality=cardinality)
    found = nx.max_weight_matching(fast, maxcardinality=cardinality)
    assert {(a[1], b[1]) for a, b in found} == expected
