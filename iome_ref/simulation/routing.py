"""Shortest paths and station-pair matrices, kept apart from any one way of making a city.

It exists because two city sources, the generated suburbs of :mod:`iome_ref.simulation.city`
and a user's road graph from :mod:`iome_ref.simulation.graphml`, need the same exact routes
(claims are judged by them, IOME-CLAIM-004), and the argument that the fast decomposition below
is exact should sit beside the only code that relies on it. It works on plain adjacency lists
and node regions, so it must not import from ``city`` or ``graphml``: both import it.

Vehicles take the fastest route; energy and distance are those of that route. The station-pair
matrices come from one Dijkstra per station inside its own region plus one per gateway node (a
node with a road to another region) over the whole graph: any route that leaves a region passes
one of its gateways, so ``d(a, b) = min(d_inside(a, b), min_g d(a, g) + d(g, b))`` is exact;
graphs with many gateways per region fall back to one Dijkstra per station over the whole graph.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from heapq import heapify, heappop, heappush
from operator import itemgetter
from typing import Final

import numpy as np
import numpy.typing as npt

from iome_ref.errors import UsageError

__all__ = [
    "GATEWAY_LIMIT",
    "INF",
    "MAX_STATIONS",
    "Adjacency",
    "IntMatrix",
    "check_station_count",
    "compute_adjacency",
    "compute_station_matrices",
    "compute_voronoi",
]

IntMatrix = npt.NDArray[np.int32]
#: Per node: (neighbour, travel_s, energy_wh, length_m) of each incident road.
Adjacency = list[list[tuple[int, int, int, int]]]

#: Above this many gateways in one region the decomposition stops paying: use full Dijkstras.
GATEWAY_LIMIT: Final = 32
#: Cap on gateway x rows x stations elements per vectorised block (memory bound, ~32 MB).
_BLOCK_ELEMENTS: Final = 4_000_000
INF: Final = 1 << 40
_INT32_MAX: Final = (1 << 31) - 1
#: Bytes per ordered station pair while the matrices are built: three int64 work matrices and
#: three int32 results.
PAIR_BYTES: Final = 3 * 8 + 3 * 4
#: Most stations a city may have: the station-pair figures are dense matrices (claims are
#: judged by exact routes, IOME-CLAIM-004), so memory grows with the square of the count.
#: 5,000 stations are 25 M ordered pairs, ~0.9 GB at peak; 100,000 would be ~360 GB.
MAX_STATIONS: Final = 5_000


def check_station_count(n_stations: int) -> None:
    """Refuse, before anything is allocated, a station count whose matrices cannot be held.

    Raises:
        UsageError: more than ``MAX_STATIONS`` stations.
    """
    if n_stations > MAX_STATIONS:
        need_gb = n_stations * n_stations * PAIR_BYTES / 1e9
        raise UsageError(
            "simulate",
            f"stations: at most {MAX_STATIONS} (station-pair routes are dense matrices, "
            f"~{need_gb:,.0f} GB for {n_stations}), found {n_stations}",
        )


def compute_adjacency(
    n: int,
    u: npt.NDArray[np.int64],
    v: npt.NDArray[np.int64],
    *,
    travel: npt.NDArray[np.int64],
    energy: npt.NDArray[np.int64],
    length: npt.NDArray[np.int64],
) -> Adjacency:
    adjacency: Adjacency = [[] for _ in range(n)]
    for a, b, t, e, m in zip(
        u.tolist(), v.tolist(), travel.tolist(), energy.tolist(), length.tolist(), strict=True
    ):
        adjacency[a].append((b, t, e, m))
        adjacency[b].append((a, t, e, m))
    return adjacency


def _dijkstra(adjacency: Adjacency, source: int) -> tuple[list[int], list[int], list[int]]:
    """Fastest travel time from ``source`` to every node (``INF`` if unreachable), with the
    energy and length of the route found. Ties keep the route met first (deterministic)."""
    n = len(adjacency)
    best = [INF] * n
    energy = [0] * n
    length = [0] * n
    done = [False] * n
    best[source] = 0
    heap = [(0, source)]
    while heap:
        d, node = heappop(heap)
        if done[node]:
            continue
        done[node] = True
        e_here = energy[node]
        m_here = length[node]
        for nxt, wt, we, wm in adjacency[node]:
            nd = d + wt
            if nd < best[nxt]:
                best[nxt] = nd
                energy[nxt] = e_here + we
                length[nxt] = m_here + wm
                heappush(heap, (nd, nxt))
    return best, energy, length


def compute_voronoi(
    adjacency: Adjacency, sources: Sequence[int]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For every node, the index of the source fastest to reach it (-1 if none) and the time."""
    n = len(adjacency)
    label = [-1] * n
    best = [INF] * n
    heap: list[tuple[int, int, int]] = []
    for i, node in enumerate(sources):
        if best[node] > 0:
            best[node] = 0
            heap.append((0, i, node))
    heapify(heap)
    while heap:
        d, i, node = heappop(heap)
        if label[node] >= 0:
            continue
        label[node] = i
        for nxt, wt, _e, _m in adjacency[node]:
            nd = d + wt
            if nd < best[nxt]:
                best[nxt] = nd
                heappush(heap, (nd, i, nxt))
    dist = np.array(best, dtype=np.int64)
    return np.array(label, dtype=np.int64), np.where(dist >= INF, -1, dist)


def _picker(targets: Sequence[int]) -> Callable[[list[int]], tuple[int, ...]]:
    if len(targets) == 1:
        only = targets[0]
        return lambda values: (values[only],)
    getter = itemgetter(*targets)
    return lambda values: tuple(getter(values))


def compute_station_matrices(
    adjacency: Adjacency, region_of: npt.NDArray[np.int64], station_nodes: Sequence[int]
) -> tuple[IntMatrix, IntMatrix, IntMatrix]:
    """Travel time, energy and distance between every ordered pair of stations (module doc).

    Raises:
        UsageError: more stations than ``MAX_STATIONS``, or a figure beyond 32 bits.
    """
    check_station_count(len(station_nodes))
    n_regions = int(region_of.max()) + 1 if len(region_of) else 1
    gateways: list[list[int]] = [[] for _ in range(n_regions)]
    for node, roads in enumerate(adjacency):
        home = region_of[node]
        if any(region_of[nxt] != home for nxt, _t, _e, _m in roads):
            gateways[int(home)].append(node)
    if n_regions == 1 or max(len(g) for g in gateways) > GATEWAY_LIMIT:
        t, e, m = _full_matrices(adjacency, station_nodes)
    else:
        t, e, m = _decomposed_matrices(adjacency, region_of, station_nodes, gateways)
    unreachable = t >= INF
    for name, matrix in (("travel time", t), ("energy", e), ("distance", m)):
        if int(np.where(unreachable, 0, matrix).max(initial=0)) > _INT32_MAX:
            raise UsageError("city", f"station {name} exceeds 32-bit range; graph too large")
    out = []
    for matrix in (t, e, m):
        fixed = np.where(unreachable, -1, matrix).astype(np.int32)
        fixed.setflags(write=False)
        out.append(fixed)
    return out[0], out[1], out[2]


def _full_matrices(
    adjacency: Adjacency, station_nodes: Sequence[int]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    s = len(station_nodes)
    t = np.full((s, s), INF, dtype=np.int64)
    e = np.zeros((s, s), dtype=np.int64)
    m = np.zeros((s, s), dtype=np.int64)
    pick = _picker(station_nodes)
    for i, node in enumerate(station_nodes):
        best, energy, length = _dijkstra(adjacency, node)
        t[i] = pick(best)
        e[i] = pick(energy)
        m[i] = pick(length)
    return t, e, m


def _decomposed_matrices(
    adjacency: Adjacency,
    region_of: npt.NDArray[np.int64],
    station_nodes: Sequence[int],
    gateways: list[list[int]],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    t, e, m = (
        np.full((len(station_nodes), len(station_nodes)), INF, dtype=np.int64) for _ in range(3)
    )
    station_region = np.array([region_of[node] for node in station_nodes], dtype=np.int64)
    # Routes that stay inside a region: Dijkstra on the region's own roads.
    for r in range(len(gateways)):
        rows = np.flatnonzero(station_region == r)
        if len(rows) == 0:
            continue
        nodes = np.flatnonzero(region_of == r).tolist()
        local = {node: i for i, node in enumerate(nodes)}
        inside: Adjacency = [
            [(local[nxt], wt, we, wm) for nxt, wt, we, wm in adjacency[node] if nxt in local]
            for node in nodes
        ]
        targets = [local[station_nodes[i]] for i in rows.tolist()]
        pick = _picker(targets)
        for i in rows.tolist():
            best, energy, length = _dijkstra(inside, local[station_nodes[i]])
            t[i, rows] = pick(best)
            e[i, rows] = pick(energy)
            m[i, rows] = pick(length)
    # Routes that leave the origin's region pass one of its gateways g: d(a, g) + d(g, b).
    flat = [g for part in gateways for g in part]
    if not flat:
        return t, e, m
    pick_all = _picker(station_nodes)
    gt = np.empty((len(flat), len(station_nodes)), dtype=np.int64)
    ge = np.empty_like(gt)
    gm = np.empty_like(gt)
    for j, g in enumerate(flat):
        best, energy, length = _dijkstra(adjacency, g)
        gt[j] = pick_all(best)
        ge[j] = pick_all(energy)
        gm[j] = pick_all(length)
    start = 0
    s = len(station_nodes)
    for r, part in enumerate(gateways):
        own = np.arange(start, start + len(part))
        start += len(part)
        rows_all = np.flatnonzero(station_region == r)
        if len(part) == 0 or len(rows_all) == 0:
            continue
        chunk = max(1, _BLOCK_ELEMENTS // (len(part) * s))
        for lo in range(0, len(rows_all), chunk):
            rows = rows_all[lo : lo + chunk]
            via_t = gt[own][:, rows, None] + gt[own][:, None, :]
            arg = np.argmin(via_t, axis=0)[None]
            best_t = np.take_along_axis(via_t, arg, axis=0)[0]
            best_e = np.take_along_axis(ge[own][:, rows, None] + ge[own][:, None, :], arg, 0)[0]
            best_m = np.take_along_axis(gm[own][:, rows, None] + gm[own][:, None, :], arg, 0)[0]
            better = best_t < t[rows]
            t[rows] = np.where(better, best_t, t[rows])
            e[rows] = np.where(better, best_e, e[rows])
            m[rows] = np.where(better, best_m, m[rows])
    return t, e, m
