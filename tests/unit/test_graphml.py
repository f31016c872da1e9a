"""A user's GraphML road graph loaded as a city: parsing, regions, and refusals.

Routes are checked against networkx's own Dijkstra on the loaded graph (route_oracle.py).
"""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import pytest
from helpers import usage_error
from route_oracle import assert_routes_exact

from iome_ref.errors import UsageError
from iome_ref.simulation import routing as routing_module
from iome_ref.simulation.graphml import load_graphml


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
    full = routing_module._full_matrices

    def spy(*args: object) -> object:
        calls.append(1)
        return full(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(routing_module, "_full_matrices", spy)
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
    assert caught.value.component == "city"
    assert why in caught.value.message


def test_rejects_graphml_without_lengths(tmp_path: Path) -> None:
    graph: nx.Graph[str] = nx.path_graph(["a", "b", "c"])
    path = tmp_path / "nolength.graphml"
    nx.write_graphml(graph, path)
    with pytest.raises(UsageError) as caught:
        load_graphml(path, seed=1, n_stations=1, n_homes=1, n_regions=1)
    assert "no usable edge" in caught.value.message


def test_rejects_missing_graphml_and_too_many_stations(tmp_path: Path) -> None:
    with usage_error("city"):
        load_graphml(tmp_path / "absent.graphml", seed=1, n_stations=1, n_homes=1, n_regions=1)
    path = tmp_path / "roads.graphml"
    write_grid(path, side=3)
    with pytest.raises(UsageError) as caught:
        load_graphml(path, seed=1, n_stations=10, n_homes=1, n_regions=1)
    assert "distinct stations" in caught.value.message
