"""Exact station-to-station routes and the matrices that hold them.

Routes are checked against networkx's own Dijkstra on the city's graph (an implementation
independent of the region/gateway decomposition in ``iome_ref.simulation.routing``).
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from route_oracle import assert_routes_exact, nx_travel

from iome_ref.simulation import routing as routing_module
from iome_ref.simulation.city import City, generate_city


@pytest.fixture(scope="module")
def small() -> City:
    return generate_city(seed=11, n_stations=40, n_homes=500, n_regions=5)


def test_accepts_routes_equal_networkx_dijkstra(small: City) -> None:
    assert_routes_exact(small)


def test_accepts_route_energy_and_distance_along_the_route(small: City) -> None:
    # Every route's energy is the sum of its roads' energies, each 150-200 Wh/km.
    for i, a in enumerate(small.station_ids):
        for j, b in enumerate(small.station_ids):
            distance = int(small.distance_matrix[i, j])
            energy = int(small.energy_matrix[i, j])
            if i == j:
                assert (distance, energy, int(small.travel_matrix[i, j])) == (0, 0, 0)
                continue
            assert 0.15 * distance - 30 <= energy <= 0.2 * distance + 30, (a, b)
    a, b = small.station_ids[0], small.station_ids[-1]
    path = nx.shortest_path(small.graph, small.stations[a], small.stations[b], weight="travel_s")
    roads = [small.graph.edges[u, v] for u, v in itertools.pairwise(path)]
    assert small.travel_time(a, b) == sum(r["travel_s"] for r in roads)


@pytest.mark.parametrize("n_regions", [2, 3, 4, 9])
def test_accepts_any_region_count(n_regions: int) -> None:
    city = generate_city(seed=2, n_stations=3 * n_regions, n_homes=10, n_regions=n_regions)
    assert len(city.regions) == n_regions
    assert nx.is_connected(city.graph)
    assert_routes_exact(city)


def test_accepts_full_and_decomposed_routes_agree(
    small: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routing_module, "GATEWAY_LIMIT", -1)  # force a Dijkstra per station
    full = generate_city(seed=11, n_stations=40, n_homes=500, n_regions=5)
    assert np.array_equal(full.travel_matrix, small.travel_matrix)


def test_accepts_2000_stations_and_100000_homes() -> None:
    """The 100k-vehicle benchmark's city; its cost is measured there, never asserted here."""
    city = generate_city(seed=7, n_stations=2000, n_homes=100_000, n_regions=5)
    assert len(city.station_ids) == 2000
    assert len(city.homes) == 100_000
    assert city.travel_matrix.nbytes == 2000 * 2000 * 4
    assert int(city.travel_matrix.min()) == 0  # all reachable, diagonal 0
    a, b = city.station_ids[5], city.station_ids[1999]
    times = nx_travel(city, a)
    assert city.travel_time(a, b) == times[city.stations[b]]
