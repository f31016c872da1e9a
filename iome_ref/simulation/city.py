"""The simulated city: a road graph of suburbs, its charging stations and its homes.

Paper §III reasons in suburbs ("a suburb whose distribution lines serve as an interconnection
for other surrounding suburbs": EVs there "can be incentivised to visit the surrounding suburbs
and to discharge energy"), so :func:`generate_city` builds one: a centre suburb ``r0`` ringed by
suburbs ``r1 .. r{k-1}``. Each suburb is a jittered street grid (30 km/h local streets, a 50 km/h
collector every fourth street, ~8% of local blocks closed); 80 km/h arterials join every ring
suburb to the centre and to its two ring neighbours, so ``r0`` is the interconnection suburb.
:func:`iome_ref.simulation.graphml.load_graphml` takes a user's road graph instead and ends in
the same :func:`compute_city`, so both kinds of city have one shape.

Edges carry ``length_m``, ``speed_kph``, ``travel_s = ceil(length / speed)`` and ``energy_wh``
from a consumption of 150 Wh/km at 30 km/h or below rising linearly to 200 Wh/km at 100 km/h
(aerodynamic drag grows with speed).

Station-pair figures are dense ``int32`` matrices indexed by position in ``City.station_ids``
(2,000 stations are 4 M ordered pairs: 16 MB per matrix where dicts would need ~0.5 GB), with
``-1`` for an unreachable pair and 0 on the diagonal. ``City.travel_time(a, b)``,
``energy_wh(a, b)`` and ``distance_m(a, b)`` read them by id, and ``station_travel_s``,
``station_energy_wh``, ``station_distance_m`` are read-only ``Mapping`` views with the same
content keyed ``(a, b)``. How they are computed lives in :mod:`iome_ref.simulation.routing`.
This module must not import :mod:`iome_ref.simulation.graphml` (that one builds on this).

Everything is a function of the seed: the same seed gives the same :meth:`City.fingerprint`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from heapq import heappop, heappush
from typing import Final

import networkx as nx
import numpy as np
import numpy.typing as npt

from iome_ref.errors import UsageError
from iome_ref.simulation.routing import (
    INF,
    Adjacency,
    IntMatrix,
    check_station_count,
    compute_adjacency,
    compute_station_matrices,
    compute_voronoi,
)

__all__ = [
    "City",
    "Layout",
    "StationPairs",
    "check_city_counts",
    "compute_apportionment",
    "compute_city",
    "compute_placement",
    "compute_travel_s",
    "generate_city",
    "wh_per_km",
]

#: Grid spacing of a suburb's streets (a city block), metres.
BLOCK_M: Final = 250.0
#: Node positions move up to this share of a block off the grid (streets are not ruled lines).
JITTER_SHARE: Final = 0.2
#: Street nodes per station in a generated suburb (a station on every other corner or so).
NODES_PER_STATION: Final = 2.0
#: Smallest suburb grid side.
MIN_SIDE: Final = 4
#: Every COLLECTOR_EVERY-th street of a suburb is a collector road.
COLLECTOR_EVERY: Final = 4
#: Share of local blocks closed (dead ends, parks); connectivity is restored afterwards.
LOCAL_DROP: Final = 0.08
#: Speed classes, km/h.
LOCAL_KPH: Final = 30.0
COLLECTOR_KPH: Final = 50.0
ARTERIAL_KPH: Final = 80.0
#: Arterials wind: their length is the straight line times this factor.
ARTERIAL_DETOUR: Final = 1.15
#: Open country between neighbouring suburbs, metres.
SUBURB_GAP_M: Final = 2000.0


def wh_per_km(speed_kph: float) -> float:
    """Consumption at a cruising speed: 150 Wh/km up to 30 km/h, linear to 200 Wh/km at 100."""
    share = min(max((speed_kph - 30.0) / 70.0, 0.0), 1.0)
    return 150.0 + 50.0 * share


def compute_travel_s(length_m: int, speed_kph: float) -> int:
    """Seconds to drive a road at its speed: ``ceil(length / speed)``, at least 1."""
    return max(1, math.ceil(length_m / (speed_kph / 3.6)))


class StationPairs(Mapping[tuple[str, str], int]):
    """A read-only ``{(a, b): value}`` view of one station-pair matrix (reachable pairs only).

    The module contract names dicts; this keeps their interface without materialising 4 M
    entries. Iteration follows ``station_ids`` order, row by row.
    """

    def __init__(self, ids: tuple[str, ...], index: Mapping[str, int], matrix: IntMatrix) -> None:
        self._ids = ids
        self._index = index
        self._matrix = matrix

    def __getitem__(self, key: tuple[str, str]) -> int:
        origin, destination = key
        value = int(self._matrix[self._index[origin], self._index[destination]])
        if value < 0:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for i, origin in enumerate(self._ids):
            row = self._matrix[i]
            for j in np.flatnonzero(row >= 0).tolist():
                yield origin, self._ids[j]

    def __len__(self) -> int:
        return int(np.count_nonzero(self._matrix >= 0))

    def __contains__(self, key: object) -> bool:
        if not (isinstance(key, tuple) and len(key) == 2):
            return False
        i, j = self._index.get(key[0]), self._index.get(key[1])
        return i is not None and j is not None and int(self._matrix[i, j]) >= 0


@dataclass(frozen=True, eq=False)
class City:
    """A road graph with regions, charging stations and homes, and station-pair routes.

    ``graph`` nodes are ints ``0 .. n-1`` with ``region``, ``x``, ``y`` (metres for a generated
    city; the file's units, or NaN when absent, for GraphML); edges carry ``travel_s``,
    ``energy_wh``, ``length_m``, ``speed_kph``. ``travel_matrix[i, j]`` is the fastest travel
    time from ``station_ids[i]`` to ``station_ids[j]`` (``energy_matrix`` and
    ``distance_matrix`` along that route), -1 when unreachable. Compare cities with
    :meth:`fingerprint`: equality is identity (graphs and arrays have no useful ``==``).
    """

    graph: nx.Graph[int]
    regions: tuple[str, ...]
    stations: dict[str, int]
    station_region: dict[str, str]
    homes: dict[str, int]
    home_region: dict[str, str]
    station_ids: tuple[str, ...]
    station_index: dict[str, int]
    travel_matrix: IntMatrix
    energy_matrix: IntMatrix
    distance_matrix: IntMatrix
    region_neighbours: dict[str, tuple[str, ...]]
    #: The stations of each region, in ``station_ids`` order.
    region_stations: dict[str, tuple[str, ...]]
    #: Per node, the index (in ``station_ids``) of the station fastest to reach; -1 if none.
    nearest_station_index: npt.NDArray[np.int32]
    adjacency: Adjacency = field(repr=False)
    station_at_node: dict[int, tuple[int, ...]] = field(repr=False)

    # -- station pairs ------------------------------------------------------------------------

    def _pair(self, matrix: IntMatrix, origin: str, destination: str) -> int | None:
        i = self.station_index.get(origin)
        j = self.station_index.get(destination)
        if i is None or j is None:
            return None
        value = int(matrix[i, j])
        return None if value < 0 else value

    def travel_time(self, origin: str, destination: str) -> int | None:
        """Fastest travel time in seconds, None for an unknown station or no route.

        The signature of ``ChainContext.travel_time`` (IOME-CLAIM-004 judges claims by it).
        """
        return self._pair(self.travel_matrix, origin, destination)

    def energy_wh(self, origin: str, destination: str) -> int | None:
        """Energy the fastest route between two stations takes, Wh; None as travel_time."""
        return self._pair(self.energy_matrix, origin, destination)

    def distance_m(self, origin: str, destination: str) -> int | None:
        """Length of the fastest route between two stations, metres; None as travel_time."""
        return self._pair(self.distance_matrix, origin, destination)

    @property
    def station_travel_s(self) -> StationPairs:
        """The contract's ``{(a, b): seconds}``, as a view over ``travel_matrix``."""
        return StationPairs(self.station_ids, self.station_index, self.travel_matrix)

    @property
    def station_energy_wh(self) -> StationPairs:
        """The contract's ``{(a, b): Wh}``, as a view over ``energy_matrix``."""
        return StationPairs(self.station_ids, self.station_index, self.energy_matrix)

    @property
    def station_distance_m(self) -> StationPairs:
        """The contract's ``{(a, b): metres}``, as a view over ``distance_matrix``."""
        return StationPairs(self.station_ids, self.station_index, self.distance_matrix)

    # -- places ---------------------------------------------------------------------------------

    def stations_in(self, region: str) -> tuple[str, ...]:
        """The stations of one region, in ``station_ids`` order."""
        return self.region_stations.get(region, ())

    def neighbour_regions(self, region: str) -> list[str]:
        """Regions joined to ``region`` by a road (paper §III: "the surrounding suburbs")."""
        if region not in self.region_neighbours:
            raise UsageError("city", f"unknown region {region!r}")
        return list(self.region_neighbours[region])

    def nearest_stations(self, node: int, k: int) -> list[str]:
        """The ``k`` stations fastest to reach from ``node`` by road, nearest first.

        A Dijkstra from the node that stops once ``k`` stations are settled; ties go to the
        station met first, deterministically.
        """
        if not 0 <= node < len(self.adjacency):
            raise UsageError("city", f"no node {node} in the city graph")
        found: list[str] = []
        if k <= 0:
            return found
        best = {node: 0}
        done: set[int] = set()
        heap = [(0, node)]
        while heap and len(found) < k:
            d, u = heappop(heap)
            if u in done:
                continue
            done.add(u)
            for station in self.station_at_node.get(u, ()):
                found.append(self.station_ids[station])
            for v, wt, _e, _m in self.adjacency[u]:
                nd = d + wt
                if nd < best.get(v, INF):
                    best[v] = nd
                    heappush(heap, (nd, v))
        return found[:k]

    def home_station(self, home_id: str) -> str:
        """The station fastest to reach from a home (where its vehicle charges at night)."""
        index = int(self.nearest_station_index[self.homes[home_id]])
        if index < 0:
            raise UsageError("city", f"home {home_id} reaches no station")
        return self.station_ids[index]

    def fingerprint(self) -> str:
        """SHA-256 over the graph, places and matrices: equal seeds give equal fingerprints."""
        digest = hashlib.sha256()
        attrs = self.graph.nodes
        nodes = [
            [n, attrs[n]["region"], repr(float(attrs[n]["x"])), repr(float(attrs[n]["y"]))]
            for n in sorted(self.graph.nodes)
        ]
        edges = sorted(
            [min(u, v), max(u, v), d["travel_s"], d["energy_wh"], d["length_m"]]
            for u, v, d in self.graph.edges(data=True)
        )
        head = {
            "regions": list(self.regions),
            "nodes": nodes,
            "edges": edges,
            "stations": self.stations,
            "station_region": self.station_region,
            "homes": self.homes,
            "home_region": self.home_region,
            "station_ids": list(self.station_ids),
        }
        digest.update(json.dumps(head, sort_keys=True).encode())
        for matrix in (self.travel_matrix, self.energy_matrix, self.distance_matrix):
            digest.update(np.ascontiguousarray(matrix, dtype="<i4").tobytes())
        return digest.hexdigest()


# -- generation ---------------------------------------------------------------------------------


def generate_city(seed: int, n_stations: int, n_homes: int, n_regions: int = 5) -> City:
    """A city of ``n_regions`` suburbs (centre ``r0`` and a ring) with stations and homes.

    Stations and homes are shared out evenly over the regions (every region gets at least one
    station), stations on distinct street corners, homes (apartment blocks included: several
    homes may share a corner) anywhere in their region. Suburb size grows with its station
    count, so the cost scales with stations, not with vehicles or homes.
    """
    check_city_counts(n_stations, n_homes, n_regions)
    rng = np.random.default_rng(seed)
    regions = tuple(f"r{i}" for i in range(n_regions))
    station_counts = compute_apportionment(n_stations, np.ones(n_regions), minimum=1, capacity=None)
    home_counts = compute_apportionment(n_homes, np.ones(n_regions), minimum=0, capacity=None)
    sides = [max(MIN_SIDE, math.ceil(math.sqrt(NODES_PER_STATION * c))) for c in station_counts]
    centres = _suburb_centres(n_regions, (max(sides) - 1) * BLOCK_M)

    xs: list[npt.NDArray[np.float64]] = []
    ys: list[npt.NDArray[np.float64]] = []
    region_parts: list[npt.NDArray[np.int64]] = []
    us: list[npt.NDArray[np.int64]] = []
    vs: list[npt.NDArray[np.int64]] = []
    speeds: list[npt.NDArray[np.float64]] = []
    region_nodes: list[npt.NDArray[np.int64]] = []
    offset = 0
    for r, side in enumerate(sides):
        x, y, u, v, speed = _suburb_grid(rng, side, centres[r])
        xs.append(x)
        ys.append(y)
        region_parts.append(np.full(side * side, r, dtype=np.int64))
        us.append(u + offset)
        vs.append(v + offset)
        speeds.append(speed)
        region_nodes.append(np.arange(offset, offset + side * side, dtype=np.int64))
        offset += side * side
    x_all = np.concatenate(xs)
    y_all = np.concatenate(ys)
    region_of = np.concatenate(region_parts)

    for a, b in _arterial_pairs(n_regions):
        ga = _closest(region_nodes[a], x_all, y_all, centres[b])
        gb = _closest(region_nodes[b], x_all, y_all, centres[a])
        us.append(np.array([ga], dtype=np.int64))
        vs.append(np.array([gb], dtype=np.int64))
        speeds.append(np.array([ARTERIAL_KPH]))
    u_all = np.concatenate(us)
    v_all = np.concatenate(vs)
    speed_all = np.concatenate(speeds)
    straight = np.hypot(x_all[u_all] - x_all[v_all], y_all[u_all] - y_all[v_all])
    detour = np.where(speed_all == ARTERIAL_KPH, ARTERIAL_DETOUR, 1.0)
    length = np.maximum(1, np.rint(straight * detour)).astype(np.int64)

    layout = Layout(regions, region_of, x_all, y_all, u_all, v_all, length, speed_all)
    return compute_city(layout, *compute_placement(rng, region_nodes, station_counts, home_counts))


def check_city_counts(n_stations: int, n_homes: int, n_regions: int) -> None:
    if n_regions < 1:
        raise UsageError("city", f"n_regions must be at least 1, got {n_regions}")
    if n_stations < n_regions:
        raise UsageError(
            "city", f"n_stations ({n_stations}) must be at least n_regions ({n_regions})"
        )
    if n_homes < 0:
        raise UsageError("city", f"n_homes must not be negative, got {n_homes}")
    check_station_count(n_stations)


def compute_apportionment(
    total: int,
    weights: npt.NDArray[np.float64],
    minimum: int,
    capacity: npt.NDArray[np.int64] | None,
) -> npt.NDArray[np.int64]:
    """Split ``total`` over regions in proportion to ``weights`` (largest remainder).

    Each region gets ``minimum`` first and never more than its ``capacity``.
    """
    k = len(weights)
    cap = np.full(k, np.iinfo(np.int64).max, dtype=np.int64) if capacity is None else capacity
    counts = np.minimum(np.full(k, minimum, dtype=np.int64), cap)
    remaining = total - int(counts.sum())
    while remaining > 0:
        spare = cap - counts
        if not (spare > 0).any():
            raise UsageError("city", f"cannot place {total} items: regions are full")
        w = np.where(spare > 0, weights, 0.0)
        quota = remaining * w / w.sum()
        add = np.minimum(np.floor(quota).astype(np.int64), spare)
        left = remaining - int(add.sum())
        order = np.lexsort((np.arange(k), -(quota - np.floor(quota))))
        for r in order.tolist():
            if left == 0:
                break
            if spare[r] - add[r] > 0 and w[r] > 0:
                add[r] += 1
                left -= 1
        counts += add
        remaining -= int(add.sum())
    return counts


def _suburb_centres(n_regions: int, width: float) -> list[tuple[float, float]]:
    """Centre suburb at the origin, the others on a ring clear of it and of each other."""
    centres = [(0.0, 0.0)]
    ring = n_regions - 1
    if ring == 0:
        return centres
    clearance = width + SUBURB_GAP_M
    radius = clearance
    if ring >= 3:
        radius = max(clearance, clearance / (2.0 * math.sin(math.pi / ring)))
    for i in range(ring):
        angle = 2.0 * math.pi * i / ring
        centres.append((radius * math.cos(angle), radius * math.sin(angle)))
    return centres


def _arterial_pairs(n_regions: int) -> list[tuple[int, int]]:
    """Spokes from every ring suburb to the centre, and the ring between neighbours."""
    ring = n_regions - 1
    pairs = [(0, i) for i in range(1, n_regions)]
    if ring == 2:
        pairs.append((1, 2))
    elif ring >= 3:
        pairs.extend((1 + i, 1 + (i + 1) % ring) for i in range(ring))
    return pairs


def _suburb_grid(
    rng: np.random.Generator, side: int, centre: tuple[float, float]
) -> tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
]:
    """One suburb: jittered grid positions and its streets (u, v, speed), local node ids."""
    grid_i, grid_j = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    ii = grid_i.ravel()
    jj = grid_j.ravel()
    jitter = JITTER_SHARE * BLOCK_M
    half = (side - 1) / 2.0
    x = centre[0] + (ii - half) * BLOCK_M + rng.uniform(-jitter, jitter, side * side)
    y = centre[1] + (jj - half) * BLOCK_M + rng.uniform(-jitter, jitter, side * side)
    node = ii * side + jj
    along_i = ii < side - 1  # street to (i+1, j): collector when row j is one
    along_j = jj < side - 1  # street to (i, j+1): collector when column i is one
    u = np.concatenate([node[along_i], node[along_j]])
    v = np.concatenate([node[along_i] + side, node[along_j] + 1])
    collector = np.concatenate(
        [jj[along_i] % COLLECTOR_EVERY == 0, ii[along_j] % COLLECTOR_EVERY == 0]
    )
    dropped = ~collector & (rng.random(len(u)) < LOCAL_DROP)
    keep = _reconnect(side * side, u, v, dropped)
    speed = np.where(collector, COLLECTOR_KPH, LOCAL_KPH)
    return x, y, u[keep], v[keep], speed[keep]


def _reconnect(
    n: int, u: npt.NDArray[np.int64], v: npt.NDArray[np.int64], dropped: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """Keep every street not dropped, then reopen dropped ones that join separate pieces."""
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    keep = ~dropped
    for a, b in zip(u[keep].tolist(), v[keep].tolist(), strict=True):
        parent[find(a)] = find(b)
    for e in np.flatnonzero(dropped).tolist():
        ra, rb = find(int(u[e])), find(int(v[e]))
        if ra != rb:
            parent[ra] = rb
            keep[e] = True
    return keep


def _closest(
    nodes: npt.NDArray[np.int64],
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    point: tuple[float, float],
) -> int:
    return int(nodes[np.argmin(np.hypot(x[nodes] - point[0], y[nodes] - point[1]))])


def compute_placement(
    rng: np.random.Generator,
    region_nodes: Sequence[npt.NDArray[np.int64]],
    station_counts: npt.NDArray[np.int64],
    home_counts: npt.NDArray[np.int64],
) -> tuple[list[npt.NDArray[np.int64]], list[npt.NDArray[np.int64]]]:
    """Stations on distinct nodes of their region; homes on any node (several may share one)."""
    stations = [
        rng.choice(nodes, size=int(count), replace=False)
        for nodes, count in zip(region_nodes, station_counts.tolist(), strict=True)
    ]
    homes = [
        rng.choice(nodes, size=int(count), replace=True)
        for nodes, count in zip(region_nodes, home_counts.tolist(), strict=True)
    ]
    return stations, homes


# -- assembly -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """A road graph before stations: node regions and positions, roads (u, v, m, km/h)."""

    regions: tuple[str, ...]
    region_of: npt.NDArray[np.int64]
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    u: npt.NDArray[np.int64]
    v: npt.NDArray[np.int64]
    length: npt.NDArray[np.int64]
    speed: npt.NDArray[np.float64]


def compute_city(
    layout: Layout,
    station_nodes: Sequence[npt.NDArray[np.int64]],
    home_nodes: Sequence[npt.NDArray[np.int64]],
) -> City:
    """Edge figures, the networkx graph, ids, station-pair matrices and lookups."""
    regions, region_of, u, v = layout.regions, layout.region_of, layout.u, layout.v
    length, speed = layout.length, layout.speed
    n = len(region_of)
    travel = np.array(
        [compute_travel_s(m, s) for m, s in zip(length.tolist(), speed.tolist(), strict=True)],
        dtype=np.int64,
    )
    consumption = np.array([wh_per_km(s) for s in speed.tolist()])
    energy = np.rint(length * consumption / 1000.0).astype(np.int64)

    graph: nx.Graph[int] = nx.Graph()
    region_list = region_of.tolist()
    graph.add_nodes_from(
        (i, {"region": regions[r], "x": float(px), "y": float(py)})
        for i, (r, px, py) in enumerate(
            zip(region_list, layout.x.tolist(), layout.y.tolist(), strict=True)
        )
    )
    graph.add_edges_from(
        (a, b, {"travel_s": t, "energy_wh": e, "length_m": m, "speed_kph": s})
        for a, b, t, e, m, s in zip(
            u.tolist(),
            v.tolist(),
            travel.tolist(),
            energy.tolist(),
            length.tolist(),
            speed.tolist(),
            strict=True,
        )
    )
    adjacency = compute_adjacency(n, u, v, travel=travel, energy=energy, length=length)

    all_station_nodes = [int(s) for part in station_nodes for s in part.tolist()]
    station_ids = _ids("st", len(all_station_nodes))
    stations = dict(zip(station_ids, all_station_nodes, strict=True))
    station_region = {s: regions[region_list[node]] for s, node in stations.items()}
    all_home_nodes = [int(h) for part in home_nodes for h in part.tolist()]
    home_ids = _ids("home", len(all_home_nodes))
    homes = dict(zip(home_ids, all_home_nodes, strict=True))
    home_region = {h: regions[region_list[node]] for h, node in homes.items()}

    travel_m, energy_m, distance_m = compute_station_matrices(
        adjacency, region_of, all_station_nodes
    )
    labels, _dist = compute_voronoi(adjacency, all_station_nodes)
    at_node: dict[int, list[int]] = {}
    for i, node in enumerate(all_station_nodes):
        at_node.setdefault(node, []).append(i)
    neighbours: dict[str, set[str]] = {r: set() for r in regions}
    cross = region_of[u] != region_of[v]
    for a, b in zip(region_of[u[cross]].tolist(), region_of[v[cross]].tolist(), strict=True):
        neighbours[regions[a]].add(regions[b])
        neighbours[regions[b]].add(regions[a])
    order = {r: i for i, r in enumerate(regions)}
    return City(
        graph=graph,
        regions=regions,
        stations=stations,
        station_region=station_region,
        homes=homes,
        home_region=home_region,
        station_ids=station_ids,
        station_index={s: i for i, s in enumerate(station_ids)},
        travel_matrix=travel_m,
        energy_matrix=energy_m,
        distance_matrix=distance_m,
        region_neighbours={r: tuple(sorted(neighbours[r], key=order.__getitem__)) for r in regions},
        region_stations={
            r: tuple(s for s in station_ids if station_region[s] == r) for r in regions
        },
        nearest_station_index=labels.astype(np.int32),
        adjacency=adjacency,
        station_at_node={node: tuple(ids) for node, ids in at_node.items()},
    )


def _ids(prefix: str, count: int) -> tuple[str, ...]:
    width = max(3, len(str(max(count - 1, 0))))
    return tuple(f"{prefix}-{i:0{width}d}" for i in range(count))
