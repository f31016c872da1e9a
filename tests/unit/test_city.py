"""The simulated city: suburbs, stations, homes and exact station-to-station routes.

Routes are checked against networkx's own Dijkstra on the city's graph (an implementation
independent of the region/gateway decomposition in ``iome_ref.simulation.city``).
"""

from __future__ import annotations

import itertools
import math
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from iome_ref.errors import UsageError
from iome_ref.simulation import city as city_module
from iome_ref.simulation.city import City, generate_city, load_graphml, wh_per_km


@pytest.fixture(scope="module")
def small() -> City:
    return generate_city(seed=11, n_stations=40, n_homes=500, n_regions=5)


def nx_travel(city: City, origin: str) -> dict[int, int]:
    return nx.single_source_dijkstra_path_length(
        city.graph, city.stations[origin], weight="travel_s"
    )


def assert_routes_exact(city: City) -> None:
    for a in city.station_ids:
        times = nx_travel(city, a)
        row = [times.get(city.stations[b], -1) for b in city.station_ids]
        assert row == city.travel_matrix[city.station_index[a]].tolist(), a


# -- generated city -------------------------------------------------------------------------------


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
    assert caught.value.req_id == "city"


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
    with pytest.raises(UsageError):
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


@pytest.mark.parametrize("n_regions", [2, 3, 4, 9])
def test_accepts_any_region_count(n_regions: int) -> None:
    city = generate_city(seed=2, n_stations=3 * n_regions, n_homes=10, n_regions=n_regions)
    assert len(city.regions) == n_regions
    assert nx.is_connected(city.graph)
    assert_routes_exact(city)


@pytest.mark.parametrize(("stations", "homes", "regions"), [(4, 10, 5), (5, -1, 5), (5, 10, 0)])
def test_rejects_impossible_counts(stations: int, homes: int, regions: int) -> None:
    with pytest.raises(UsageError) as caught:
        generate_city(seed=1, n_stations=stations, n_homes=homes, n_regions=regions)
    assert caught.value.req_id == "city"


def test_accepts_full_and_decomposed_routes_agree(
    small: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(city_module, "GATEWAY_LIMIT", -1)  # force a Dijkstra per station
    full = generate_city(seed=11, n_stations=40, n_homes=500, n_regions=5)
    assert np.array_equal(full.travel_matrix, small.travel_matrix)


def test_accepts_2000_stations_and_100000_homes_in_seconds() -> None:
    started = time.perf_counter()
    city = generate_city(seed=7, n_stations=2000, n_homes=100_000, n_regions=5)
    elapsed = time.perf_counter() - started
    assert elapsed < 30, f"generate_city took {elapsed:.1f} s"
    assert len(city.station_ids) == 2000
    assert len(city.homes) == 100_000
    assert city.travel_matrix.nbytes == 2000 * 2000 * 4
    assert int(city.travel_matrix.min()) == 0  # all reachable, diagonal 0
    a, b = city.station_ids[5], city.station_ids[1999]
    times = nx_travel(city, a)
    assert city.travel_time(a, b) == times[city.stations[b]]


# -- GraphML --------------------------------------------------------------------------------------


def write_grid(path: Path, *, positions: bool = True, side: int = 8) -> nx.Graph[int]:
    grid = nx.grid_2d_graph(side, side)
    graph: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for i, j in grid.nodes:
        attrs = {"x": float(i * 100), "y": float(j * 100)} if positions else {}
        graph.add_node(f"n{i}-{j}", **attrs)
    for k, ((a, b), (c, d)) in enumerate(grid.edges):
        speed = "30 mph" if k % 3 == 0 else "50"
        u, v = f"n{a}-{b}", f"n{c}-{d}"
        graph.add_edge(u, v, length=100.0 + k % 7, maxspeed=speed)
        graph.add_edge(v, u, length=100.0 + k % 7, maxspeed=speed)
    graph.add_edge("n0-0", "n0-1", length=500.0)  # slower parallel road, ignored
    graph.add_edge("island-a", "island-b", length=50.0)  # a separate piece, dropped
    graph.add_edge("n1-1", "n1-2")  # no length: unusable
    nx.write_graphml(graph, path)
    return grid


def test_accepts_graphml_road_graph(tmp_path: Path) -> None:
    path = tmp_path / "roads.graphml"
    write_grid(path)
    city = load_graphml(path, seed=3, n_stations=12, n_homes=50, n_regions=3)
    assert city.graph.number_of_nodes() == 64  # the island is gone
    assert city.regions == ("r0", "r1", "r2")
    assert {city.station_region[s] for s in city.station_ids} == {"r0", "r1", "r2"}
    assert len(city.homes) == 50
    sources = {attrs["source_id"] for _n, attrs in city.graph.nodes(data=True)}
    assert "island-a" not in sources
    assert "n0-0" in sources
    speeds = {attrs["speed_kph"] for _u, _v, attrs in city.graph.edges(data=True)}
    assert sorted(speeds) == [pytest.approx(30 * 1.609344), 50.0]
    assert_routes_exact(city)
    again = load_graphml(path, seed=3, n_stations=12, n_homes=50, n_regions=3)
    assert again.fingerprint() == city.fingerprint()


def test_accepts_graphml_without_positions(tmp_path: Path) -> None:
    path = tmp_path / "roads.graphml"
    write_grid(path, positions=False)
    city = load_graphml(path, seed=4, n_stations=10, n_homes=20, n_regions=4)
    assert len({city.graph.nodes[n]["region"] for n in city.graph.nodes}) == 4
    assert math.isnan(city.graph.nodes[0]["x"])
    assert_routes_exact(city)


def test_accepts_graphml_long_borders_use_full_routes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    full = city_module._full_matrices

    def spy(*args: object) -> object:
        calls.append(1)
        return full(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(city_module, "_full_matrices", spy)
    path = tmp_path / "big.graphml"
    write_grid(path, side=40)  # two k-means regions share a ~40-node border: over the limit
    city = load_graphml(path, seed=1, n_stations=30, n_homes=5, n_regions=2)
    assert calls == [1]
    assert_routes_exact(city)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"not xml at all", "not a readable GraphML"),
        (b"<?xml version='1.0'?><root/>", "not a readable GraphML"),
    ],
)
def test_rejects_non_graphml(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "bad.graphml"
    path.write_bytes(content)
    with pytest.raises(UsageError) as caught:
        load_graphml(path, seed=1, n_stations=2, n_homes=1, n_regions=1)
    assert caught.value.req_id == "city"
    assert why in caught.value.message


def test_rejects_graphml_without_lengths(tmp_path: Path) -> None:
    graph: nx.Graph[str] = nx.path_graph(["a", "b", "c"])
    path = tmp_path / "nolength.graphml"
    nx.write_graphml(graph, path)
    with pytest.raises(UsageError) as caught:
        load_graphml(path, seed=1, n_stations=1, n_homes=1, n_regions=1)
    assert "no usable edge" in caught.value.message


def test_rejects_missing_graphml_and_too_many_stations(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        load_graphml(tmp_path / "absent.graphml", seed=1, n_stations=1, n_homes=1, n_regions=1)
    path = tmp_path / "roads.graphml"
    write_grid(path, side=3)
    with pytest.raises(UsageError) as caught:
        load_graphml(path, seed=1, n_stations=10, n_homes=1, n_regions=1)
    assert "distinct stations" in caught.value.message
