"""The simulated city: suburbs, stations, homes, and the City's lookups and contract views.

Routes themselves are checked in test_routing.py, GraphML loading in test_graphml.py.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from helpers import usage_error

from iome_ref.errors import UsageError
from iome_ref.simulation.city import City, generate_city, wh_per_km


@pytest.fixture(scope="module")
def small() -> City:
    return generate_city(seed=11, n_stations=40, n_homes=500, n_regions=5)


def test_accepts_generated_city_shapes(small: City) -> None:
    assert small.regions == ("r0", "r1", "r2", "r3", "r4")
    assert small.station_ids == tuple(f"st-{i:03d}" for i in range(40))
    assert list(small.stations) == list(small.station_ids)
    assert len(set(small.stations.values())) == 40  # distinct street corners
    assert {small.station_region[s] for s in small.station_ids} == set(small.regions)
    assert len(small.homes) == 500
    assert list(small.homes)[:2] == ["home-000", "home-001"]
    for home, node in small.homes.items():
        assert small.graph.nodes[node]["region"] == small.home_region[home]
    for station, node in small.stations.items():
        assert small.graph.nodes[node]["region"] == small.station_region[station]
    assert nx.is_connected(small.graph)
    for _node, attrs in small.graph.nodes(data=True):
        assert attrs["region"] in small.regions
        assert isinstance(attrs["x"], float)
        assert isinstance(attrs["y"], float)
    for _u, _v, attrs in small.graph.edges(data=True):
        for key in ("travel_s", "energy_wh", "length_m"):
            assert isinstance(attrs[key], int)
            assert attrs[key] >= 1
    assert small.travel_matrix.dtype == np.int32
    assert small.travel_matrix.shape == (40, 40)


def test_accepts_speed_classes_and_consumption(small: City) -> None:
    speeds = {attrs["speed_kph"] for _u, _v, attrs in small.graph.edges(data=True)}
    assert speeds == {30.0, 50.0, 80.0}
    for _u, _v, attrs in small.graph.edges(data=True):
        assert attrs["travel_s"] == max(
            1, math.ceil(attrs["length_m"] / (attrs["speed_kph"] / 3.6))
        )
        expected = attrs["length_m"] * wh_per_km(attrs["speed_kph"]) / 1000
        assert abs(attrs["energy_wh"] - expected) <= 0.5
    assert wh_per_km(30) == 150
    assert wh_per_km(100) == 200
    assert wh_per_km(130) == 200


def test_accepts_same_seed_same_city() -> None:
    a = generate_city(seed=5, n_stations=25, n_homes=300, n_regions=4)
    b = generate_city(seed=5, n_stations=25, n_homes=300, n_regions=4)
    c = generate_city(seed=6, n_stations=25, n_homes=300, n_regions=4)
    assert a.fingerprint() == b.fingerprint()
    assert a.homes == b.homes
    assert np.array_equal(a.travel_matrix, b.travel_matrix)
    assert a.fingerprint() != c.fingerprint()


def test_accepts_symmetric_routes_and_contract_views(small: City) -> None:
    assert np.array_equal(small.travel_matrix, small.travel_matrix.T)
    a, b = small.station_ids[3], small.station_ids[17]
    assert small.station_travel_s[(a, b)] == small.travel_time(a, b)
    assert small.station_energy_wh[(a, b)] == small.energy_wh(a, b)
    assert small.station_distance_m[(a, b)] == small.distance_m(a, b)
    assert small.station_travel_s[(a, a)] == 0
    assert len(small.station_travel_s) == 40 * 40
    assert (a, b) in small.station_travel_s
    assert ("st-999", b) not in small.station_travel_s
    assert next(iter(small.station_travel_s)) == (small.station_ids[0], small.station_ids[0])
    with pytest.raises(KeyError):
        small.station_travel_s[("st-999", b)]
    assert not small.travel_matrix.flags.writeable


def test_rejects_unknown_station_as_no_route(small: City) -> None:
    assert small.travel_time("st-000", "st-999") is None
    assert small.energy_wh("nope", "st-000") is None
    assert small.distance_m("nope", "nope") is None


def test_accepts_centre_interconnects_the_ring(small: City) -> None:
    assert small.neighbour_regions("r0") == ["r1", "r2", "r3", "r4"]
    assert small.neighbour_regions("r1") == ["r0", "r2", "r4"]
    assert small.neighbour_regions("r3") == ["r0", "r2", "r4"]
    with pytest.raises(UsageError) as caught:
        small.neighbour_regions("r9")
    assert caught.value.component == "city"


def test_accepts_nearest_stations_by_road(small: City) -> None:
    node = small.homes["home-007"]
    times = nx.single_source_dijkstra_path_length(small.graph, node, weight="travel_s")
    nearest = small.nearest_stations(node, 5)
    assert len(nearest) == 5
    got = [times[small.stations[s]] for s in nearest]
    best = sorted(times[small.stations[s]] for s in small.station_ids)[:5]
    assert got == best
    assert small.nearest_stations(node, 0) == []
    assert len(small.nearest_stations(node, 1000)) == 40
    assert small.home_station("home-007") in small.station_ids
    assert times[small.stations[small.home_station("home-007")]] == best[0]
    with usage_error("city"):
        small.nearest_stations(10**9, 3)


def test_accepts_stations_in_region(small: City) -> None:
    together = [s for r in small.regions for s in small.stations_in(r)]
    assert sorted(together) == list(small.station_ids)
    assert all(small.station_region[s] == "r2" for s in small.stations_in("r2"))


def test_accepts_one_region_and_one_station() -> None:
    one = generate_city(seed=1, n_stations=1, n_homes=3, n_regions=1)
    assert one.regions == ("r0",)
    assert one.neighbour_regions("r0") == []
    assert one.travel_time("st-000", "st-000") == 0
    assert one.home_station("home-000") == "st-000"


@pytest.mark.parametrize(("stations", "homes", "regions"), [(4, 10, 5), (5, -1, 5), (5, 10, 0)])
def test_rejects_impossible_counts(stations: int, homes: int, regions: int) -> None:
    with pytest.raises(UsageError) as caught:
        generate_city(seed=1, n_stations=stations, n_homes=homes, n_regions=regions)
    assert caught.value.component == "city"
