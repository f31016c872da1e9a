"""A user's GraphML road graph (e.g. one saved by OSMnx) as a :class:`City`.

It exists apart from :mod:`iome_ref.simulation.city` because a file from outside is untidy in
ways a generated city never is (parallel and directed edges, OSM ``maxspeed`` text, missing
lengths or positions, disconnected pieces) and has no suburbs of its own: the parsing, and the
region finding it needs (seeded k-means on node positions, or a travel-time Voronoi partition
when the file has none), say nothing about what a city is. It builds on ``city`` and
``routing``; neither may import it.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import networkx as nx
import numpy as np
import numpy.typing as npt

from iome_ref.errors import UsageError
from iome_ref.simulation.city import (
    City,
    Layout,
    check_city_counts,
    compute_apportionment,
    compute_city,
    compute_placement,
    compute_travel_s,
)
from iome_ref.simulation.routing import Adjacency, compute_adjacency, compute_voronoi

__all__ = ["load_graphml"]

#: Speed assumed for a GraphML edge with neither speed_kph nor maxspeed.
DEFAULT_KPH: Final = 40.0
_KMEANS_ITERATIONS: Final = 100
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_KPH_PER_MPH: Final = 1.609344


def load_graphml(path: Path, seed: int, n_stations: int, n_homes: int, n_regions: int = 5) -> City:
    """A city on a user's GraphML road graph (e.g. one saved by OSMnx).

    Edges need ``length`` in metres; ``speed_kph`` or ``maxspeed`` (first number; "mph"
    converted) set the speed, else 40 km/h. Parallel and directed edges collapse to the fastest
    undirected road. Only the largest connected piece is kept (a station nobody can reach is no
    station), nodes renumbered ``0 .. n-1`` in file order with the file's id in ``source_id``.
    Regions: seeded k-means on ``x``/``y`` when every node has them (``r0`` the cluster nearest
    the centre, the rest by angle around it), else a travel-time Voronoi partition around
    farthest-apart seed nodes. Stations and homes are shared out by region size.

    Raises:
        UsageError: ("city") the file cannot be read as GraphML or has no usable edge.
    """
    check_city_counts(n_stations, n_homes, n_regions)
    raw = _read_graphml(path)
    roads = _usable_roads(raw, path)
    pieces: nx.Graph[int] = nx.Graph()
    pieces.add_edges_from(roads)
    largest = max(nx.connected_components(pieces), key=lambda c: (len(c), -min(c)))
    kept = sorted(largest)
    renumber = {old: new for new, old in enumerate(kept)}
    n = len(kept)
    if n < n_regions:
        raise UsageError("city", f"{path}: {n} connected nodes cannot make {n_regions} regions")
    if n < n_stations:
        raise UsageError(
            "city", f"{path}: {n} connected nodes cannot host {n_stations} distinct stations"
        )
    road_list = [(key, value) for key, value in roads.items() if key[0] in renumber]
    u = np.array([renumber[a] for (a, _b), _ in road_list], dtype=np.int64)
    v = np.array([renumber[b] for (_a, b), _ in road_list], dtype=np.int64)
    travel = np.array([value[0] for _, value in road_list], dtype=np.int64)
    length = np.array([value[1] for _, value in road_list], dtype=np.int64)
    speed = np.array([value[2] for _, value in road_list], dtype=np.float64)
    source_ids = list(raw.nodes)
    x, y = _positions(raw, [source_ids[old] for old in kept])

    rng = np.random.default_rng(seed)
    if np.isfinite(x).all() and np.isfinite(y).all():
        region_of = _kmeans_regions(rng, np.column_stack([x, y]), n_regions)
    else:
        adjacency = compute_adjacency(n, u, v, travel=travel, energy=travel, length=travel)
        region_of = _partition_regions(rng, adjacency, n_regions)
    regions = tuple(f"r{i}" for i in range(n_regions))
    region_nodes = [np.flatnonzero(region_of == r).astype(np.int64) for r in range(n_regions)]
    sizes = np.array([len(nodes) for nodes in region_nodes], dtype=np.int64)
    weights = sizes.astype(np.float64)
    station_counts = compute_apportionment(n_stations, weights, minimum=1, capacity=sizes)
    home_counts = compute_apportionment(n_homes, weights, minimum=0, capacity=None)
    layout = Layout(regions, region_of, x, y, u, v, length, speed)
    city = compute_city(layout, *compute_placement(rng, region_nodes, station_counts, home_counts))
    for new, old in enumerate(kept):
        city.graph.nodes[new]["source_id"] = str(source_ids[old])
    return city


def _usable_roads(raw: nx.Graph[Any], path: Path) -> dict[tuple[int, int], tuple[int, int, float]]:
    """Per unordered node pair (file order indices), the fastest road: (travel_s, m, km/h)."""
    index = {node: i for i, node in enumerate(raw.nodes)}
    roads: dict[tuple[int, int], tuple[int, int, float]] = {}
    for a, b, data in raw.edges(data=True):
        ia, ib = index[a], index[b]
        length = _parse_float(data.get("length"))
        if ia == ib or length is None or length <= 0:
            continue
        speed = _parse_speed(data.get("speed_kph"))
        if speed is None:
            speed = _parse_speed(data.get("maxspeed"))
        kph = DEFAULT_KPH if speed is None else speed
        metres = max(1, round(length))
        key = (min(ia, ib), max(ia, ib))
        travel = compute_travel_s(metres, kph)
        if key not in roads or (travel, metres) < roads[key][:2]:
            roads[key] = (travel, metres, kph)
    if not roads:
        raise UsageError(
            "city", f"{path}: no usable edge (edges need a positive 'length' in metres)"
        )
    return roads


def _positions(
    raw: nx.Graph[Any], nodes: Sequence[Any]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Node x and y from the file, NaN where absent or not a number."""
    x = np.full(len(nodes), np.nan)
    y = np.full(len(nodes), np.nan)
    for i, node in enumerate(nodes):
        attrs = raw.nodes[node]
        px, py = _parse_float(attrs.get("x")), _parse_float(attrs.get("y"))
        x[i] = np.nan if px is None else px
        y[i] = np.nan if py is None else py
    return x, y


def _read_graphml(path: Path) -> nx.Graph[Any]:
    try:
        graph = nx.read_graphml(path)
    except (OSError, ET.ParseError, nx.NetworkXError, ValueError, KeyError, TypeError) as exc:
        raise UsageError("city", f"{path}: not a readable GraphML file ({exc})") from exc
    if not isinstance(graph, nx.Graph):
        raise UsageError("city", f"{path}: not a GraphML graph")
    return graph


def _parse_float(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value) if isinstance(value, int | float | str) else None
    except ValueError:
        return None
    if number is None or not math.isfinite(number):
        return None
    return number


def _parse_speed(value: object) -> float | None:
    """A speed in km/h from a number or an OSM maxspeed text ("50", "30 mph", "['50', '30']")."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        speed = float(value)
    else:
        text = str(value).lower()
        match = _NUMBER.search(text)
        if match is None:
            return None
        speed = float(match.group()) * (_KPH_PER_MPH if "mph" in text else 1.0)
    if not math.isfinite(speed) or speed <= 0:
        return None
    return min(max(speed, 5.0), 130.0)


def _kmeans_regions(
    rng: np.random.Generator, points: npt.NDArray[np.float64], k: int
) -> npt.NDArray[np.int64]:
    """Seeded k-means++ then Lloyd; r0 is the cluster nearest the centre, the rest by angle."""
    n = len(points)
    centres = np.empty((k, 2))
    centres[0] = points[rng.integers(n)]
    closest = np.sum((points - centres[0]) ** 2, axis=1)
    for c in range(1, k):
        total = closest.sum()
        pick = int(rng.choice(n, p=closest / total)) if total > 0 else int(rng.integers(n))
        centres[c] = points[pick]
        closest = np.minimum(closest, np.sum((points - centres[c]) ** 2, axis=1))
    labels = np.zeros(n, dtype=np.int64)
    for _ in range(_KMEANS_ITERATIONS):
        dist = np.sum((points[:, None, :] - centres[None, :, :]) ** 2, axis=2)
        new = np.argmin(dist, axis=1).astype(np.int64)
        for c in range(k):
            members = new == c
            if members.any():
                centres[c] = points[members].mean(axis=0)
            else:  # an empty cluster restarts at the point worst served
                far = int(np.argmax(dist[np.arange(n), new]))
                centres[c] = points[far]
                new[far] = c
        if np.array_equal(new, labels):
            break
        labels = new
    centre = points.mean(axis=0)
    first = int(np.argmin(np.sum((centres - centre) ** 2, axis=1)))
    others = [c for c in range(k) if c != first]
    angles = [math.atan2(*(centres[c] - centres[first])[::-1]) for c in others]
    order = [first] + [c for _, c in sorted(zip(angles, others, strict=True))]
    rename = np.empty(k, dtype=np.int64)
    for new_label, old_label in enumerate(order):
        rename[old_label] = new_label
    return rename[labels]


def _partition_regions(
    rng: np.random.Generator, adjacency: Adjacency, k: int
) -> npt.NDArray[np.int64]:
    """Without positions: Voronoi cells (by travel time) of k farthest-apart seed nodes."""
    seeds = [int(rng.integers(len(adjacency)))]
    while len(seeds) < k:
        _labels, dist = compute_voronoi(adjacency, seeds)
        taken = set(seeds)
        order = np.lexsort((np.arange(len(dist)), -dist))
        seeds.append(next(int(i) for i in order.tolist() if int(i) not in taken))
    labels, _dist = compute_voronoi(adjacency, seeds)
    return labels.astype(np.int64)
