"""Forced links: the pairings every consistent explanation of the public records agrees on.

What lives here: ``Bipartite`` (candidate links between two sides, e.g. departure keys and
arrival keys), ``forced_links`` (which candidate links are in every maximum matching, and each
key's anonymity set), and the builders of the two candidate graphs an observer draws from
trip ends: ``pairing_graph`` (PK1 to PK2 through a published Trip) and ``dwell_graph`` (an
arrival to the same vehicle's next departure at the same station).

Why maximum matchings: each key belongs to one vehicle and each trip end to one trip, so an
explanation of the records is a matching; when every key must be paired (the ``--trips``
setting) the maximum matchings are the perfect matchings, and a link is certain exactly when it
is in all of them. All are found at once from ONE maximum matching (Dulmage–Mendelsohn): an
unmatched edge is in some other maximum matching iff its ends share a strongly connected
component of the alternating graph (an alternating cycle) or it lies on an even alternating path
from a free vertex; a matched edge is forced iff neither holds.

Why scipy and not networkx's matching: networkx's Hopcroft–Karp recurses and overflows
Python's stack on components of ~50k nodes, and its Python loops cannot reach a million trips in
a minute. scipy.sparse.csgraph runs Hopcroft–Karp, Tarjan's strongly connected components and
breadth-first search in compiled, iterative code. networkx stays the independent oracle the
tests compare against, and gives connected components for the Z3 decomposition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_array
from scipy.sparse.csgraph import (
    breadth_first_order,
    connected_components,
    maximum_bipartite_matching,
)

from iome_ref.analysis.observations import (
    Observation,
    ObservedTrip,
    ObservedTripEnd,
    TravelMatrix,
)

__all__ = [
    "Bipartite",
    "ForcedResult",
    "dwell_graph",
    "forced_links",
    "observation_graphs",
    "pairing_graph",
    "record_graph",
    "window_hits",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Bipartite:
    """Candidate links ``left[k] -- right[k]`` between ``n_left`` and ``n_right`` vertices.

    Edges are unique (builders deduplicate) and sorted by (left, right), so results do not
    depend on the order records were read in.
    """

    n_left: int
    n_right: int
    left: IntArray
    right: IntArray

    @staticmethod
    def build(
        n_left: int, n_right: int, left: Sequence[int] | IntArray, right: Sequence[int] | IntArray
    ) -> Bipartite:
        """Deduplicate and sort the edges (left, right)."""
        lft = np.asarray(left, dtype=np.int64)
        rgt = np.asarray(right, dtype=np.int64)
        if lft.size:
            # Sort and drop repeats; np.unique's hash path is several times slower here.
            width = max(n_right, 1)
            codes = np.sort(lft * width + rgt)
            keep = np.ones(codes.size, dtype=np.bool_)
            keep[1:] = codes[1:] != codes[:-1]
            codes = codes[keep]
            lft, rgt = codes // width, codes % width
        return Bipartite(n_left, n_right, lft, rgt)

    @property
    def n_edges(self) -> int:
        return int(self.left.size)


@dataclass(frozen=True)
class ForcedResult:
    """What one maximum matching and its alternating graph say about every candidate link.

    ``possible[k]``: edge k is in some maximum matching. ``forced[k]``: edge k is in every
    maximum matching (a certain link). ``options_left[i]``: the anonymity set of left vertex i,
    the number of right vertices it is paired with in some maximum matching (0: none);
    ``options_right`` likewise. ``component_left``/``component_right``: connected component
    of each vertex in the candidate graph; ``component_sizes[c]``: vertices in component c.
    """

    matching_size: int
    match_left: IntArray
    possible: BoolArray
    forced: BoolArray
    options_left: IntArray
    options_right: IntArray
    component_left: IntArray
    component_right: IntArray
    component_sizes: IntArray

    @property
    def largest_component(self) -> int:
        return int(self.component_sizes.max()) if self.component_sizes.size else 0


def _reach(graph: csr_array, sources: IntArray) -> BoolArray:
    """Vertices reachable from any of ``sources`` (a super-source joined to each of them)."""
    n = graph.shape[0]
    seen = np.zeros(n, dtype=np.bool_)
    if sources.size == 0:
        return seen
    coo = graph.tocoo()
    rows = np.concatenate([coo.row.astype(np.int64), np.full(sources.size, n, dtype=np.int64)])
    cols = np.concatenate([coo.col.astype(np.int64), sources])
    extended = csr_array((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(n + 1, n + 1))
    order = breadth_first_order(extended, n, directed=True, return_predecessors=False)
    seen[order[order < n]] = True
    return seen


def forced_links(graph: Bipartite) -> ForcedResult:
    """Every forced and every possible link of ``graph``, from one maximum matching."""
    n_l, n_r, lft, rgt = graph.n_left, graph.n_right, graph.left, graph.right
    n = n_l + n_r
    ones = np.ones(lft.size, dtype=np.int8)
    biadj = csr_array((ones, (lft, rgt)), shape=(n_l, n_r))
    if lft.size:
        match_left = np.asarray(
            maximum_bipartite_matching(biadj, perm_type="column"), dtype=np.int64
        )
    else:
        match_left = np.full(n_l, -1, dtype=np.int64)
    match_right = np.full(n_r, -1, dtype=np.int64)
    matched_l = np.flatnonzero(match_left >= 0)
    match_right[match_left[matched_l]] = matched_l
    in_matching = match_left[lft] == rgt
    # Alternating graph: unmatched edges left -> right, matched edges right -> left.
    src = np.where(in_matching, n_l + rgt, lft)
    dst = np.where(in_matching, lft, n_l + rgt)
    alt = csr_array((ones, (src, dst)), shape=(n, n))
    _, scc = connected_components(alt, directed=True, connection="strong")
    same_scc = scc[lft] == scc[n_l + rgt]
    from_free_left = _reach(alt, np.flatnonzero(match_left < 0))
    reversed_alt = csr_array((ones, (dst, src)), shape=(n, n))
    from_free_right = _reach(reversed_alt, n_l + np.flatnonzero(match_right < 0))
    swappable = same_scc | from_free_left[lft] | from_free_right[n_l + rgt]
    possible = in_matching | swappable
    forced = in_matching & ~swappable
    options_left = np.bincount(lft[possible], minlength=n_l).astype(np.int64)
    options_right = np.bincount(rgt[possible], minlength=n_r).astype(np.int64)
    undirected = csr_array((ones, (lft, n_l + rgt)), shape=(n, n))
    _, comp = connected_components(undirected, directed=False)
    sizes = np.bincount(comp).astype(np.int64)
    return ForcedResult(
        matching_size=int(matched_l.size),
        match_left=match_left,
        possible=possible,
        forced=forced,
        options_left=options_left,
        options_right=options_right,
        component_left=comp[:n_l].astype(np.int64),
        component_right=comp[n_l:].astype(np.int64),
        component_sizes=sizes,
    )


# --- candidate graphs from trip ends -----------------------------------------------------


def _station_codes(names: Sequence[str], index: dict[str, int]) -> IntArray:
    return np.array([index.setdefault(s, len(index)) for s in names], dtype=np.int64)


def window_hits(
    items: tuple[IntArray, IntArray, IntArray], queries: tuple[IntArray, IntArray, IntArray]
) -> tuple[IntArray, IntArray]:
    """Pairs (query q, item i) with the same station and overlapping windows.

    Items are sorted by (station, lo); a query scans the items of its station whose ``lo`` is
    at most its ``hi`` and whose ``lo`` is at least its ``lo`` minus the longest item window,
    then keeps those whose windows truly overlap. Vectorised: no Python loop per record.
    """
    station, lo, hi = items
    q_station, q_lo, q_hi = queries
    if station.size == 0 or q_station.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    span = int((hi - lo).max())
    shift = int(max(hi.max(), q_hi.max()) - min(lo.min(), q_lo.min()) + span + 2)
    base = int(min(lo.min(), q_lo.min()) - span - 1)
    keys = station * shift + (lo - base)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    start = np.searchsorted(sorted_keys, q_station * shift + (q_lo - span - base), "left")
    stop = np.searchsorted(sorted_keys, q_station * shift + (q_hi - base), "right")
    counts = stop - start
    query = np.repeat(np.arange(q_station.size, dtype=np.int64), counts)
    offsets = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(counts) - counts, counts
    )
    item = order[np.repeat(start, counts) + offsets]
    keep = hi[item] >= q_lo[query]
    return query[keep], item[keep]


def _end_arrays(
    ends: Sequence[ObservedTripEnd], index: dict[str, int]
) -> tuple[IntArray, IntArray, IntArray]:
    return (
        _station_codes([e.station for e in ends], index),
        np.array([e.time_lo for e in ends], dtype=np.int64),
        np.array([e.time_hi for e in ends], dtype=np.int64),
    )


def pairing_graph(
    departures: Sequence[ObservedTripEnd],
    arrivals: Sequence[ObservedTripEnd],
    trips: Sequence[ObservedTrip],
    travel_s: Mapping[tuple[str, str], int] | None,
    delay_s: int = 0,
) -> Bipartite:
    """Candidate PK1 -- PK2 links: a departure and an arrival that one published Trip explains.

    A Trip from A to B published with bucket b (and a publication delay of up to ``delay_s``)
    explains a departure key at A whose window meets [start - delay, start + b] and an arrival
    key at B whose window meets [end - b - delay, end]; the pair must also allow the shortest
    travel time τ(A, B) (IOME-CLAIM-004: latest arrival minus earliest departure ≥ τ).
    """
    index: dict[str, int] = {}
    d_st, d_lo, d_hi = _end_arrays(departures, index)
    a_st, a_lo, a_hi = _end_arrays(arrivals, index)
    t_or = _station_codes([t.origin for t in trips], index)
    t_de = _station_codes([t.destination for t in trips], index)
    start = np.array([t.start for t in trips], dtype=np.int64)
    end = np.array([t.end for t in trips], dtype=np.int64)
    bucket = np.array([t.bucket_s for t in trips], dtype=np.int64)
    q_d, i_d = window_hits((d_st, d_lo, d_hi), (t_or, start - delay_s, start + bucket))
    q_a, i_a = window_hits((a_st, a_lo, a_hi), (t_de, end - bucket - delay_s, end))
    if q_d.size == 0 or q_a.size == 0:
        return Bipartite.build(len(departures), len(arrivals), [], [])
    # Join departures and arrivals through their trip (both lists are sorted by trip).
    order_d, order_a = np.argsort(q_d, kind="stable"), np.argsort(q_a, kind="stable")
    q_d, i_d, q_a, i_a = q_d[order_d], i_d[order_d], q_a[order_a], i_a[order_a]
    n_trips = len(trips)
    cnt_d = np.bincount(q_d, minlength=n_trips)
    cnt_a = np.bincount(q_a, minlength=n_trips)
    per_trip = cnt_d * cnt_a
    total = int(per_trip.sum())
    trip_of = np.repeat(np.arange(n_trips, dtype=np.int64), per_trip)
    k = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(per_trip) - per_trip, per_trip)
    first_d = np.cumsum(cnt_d) - cnt_d
    first_a = np.cumsum(cnt_a) - cnt_a
    ca = cnt_a[trip_of]
    left = i_d[first_d[trip_of] + k // np.maximum(ca, 1)]
    right = i_a[first_a[trip_of] + k % np.maximum(ca, 1)]
    keep = d_st[left] != a_st[right]
    if travel_s is not None:
        tau = _travel_lookup(travel_s, index, d_st[left], a_st[right])
        keep &= (tau >= 0) & (a_hi[right] - d_lo[left] >= tau)
    return Bipartite.build(len(departures), len(arrivals), left[keep], right[keep])


def _travel_lookup(
    travel_s: Mapping[tuple[str, str], int],
    index: dict[str, int],
    origin: IntArray,
    destination: IntArray,
) -> IntArray:
    """τ for each (origin, destination) code pair; -1 when unreachable."""
    if isinstance(travel_s, TravelMatrix):
        rows = np.array([travel_s.index.get(name, -1) for name in index], dtype=np.int64)
        o, d = rows[origin], rows[destination]
        known = (o >= 0) & (d >= 0)
        out = np.full(origin.size, -1, dtype=np.int64)
        out[known] = travel_s.seconds[o[known], d[known]]
        return out
    n = len(index)
    table = np.full((n, n), -1, dtype=np.int64)
    for (a, b), tau in travel_s.items():
        if a in index and b in index:
            table[index[a], index[b]] = tau
    return table[origin, destination]


def record_graph(
    trips: Sequence[ObservedTrip], ends: Sequence[ObservedTripEnd], delay_s: int = 0
) -> Bipartite:
    """Candidate links from each public Trip record to the keyed ends it may have: a departure
    key at its origin within its start window, or an arrival key at its destination within its
    end window (``ends`` all of one kind). Trip <-> ChargeSession timing, alone."""
    if not ends or not trips:
        return Bipartite.build(len(trips), len(ends), [], [])
    index: dict[str, int] = {}
    e_st, e_lo, e_hi = _end_arrays(ends, index)
    bucket = np.array([t.bucket_s for t in trips], dtype=np.int64)
    if ends[0].kind == "departure":
        station = _station_codes([t.origin for t in trips], index)
        start = np.array([t.start for t in trips], dtype=np.int64)
        lo, hi = start - delay_s, start + bucket
    else:
        station = _station_codes([t.destination for t in trips], index)
        end = np.array([t.end for t in trips], dtype=np.int64)
        lo, hi = end - bucket - delay_s, end
    q, i = window_hits((e_st, e_lo, e_hi), (station, lo, hi))
    return Bipartite.build(len(trips), len(ends), q, i)


def dwell_graph(
    arrivals: Sequence[ObservedTripEnd],
    departures: Sequence[ObservedTripEnd],
    max_dwell_s: int,
) -> Bipartite:
    """Candidate links from an arrival to the same vehicle's next departure at that station.

    The departure must not be before the arrival (windows allow it) and not more than
    ``max_dwell_s`` after it: the observer's stated assumption on how long a vehicle stays.
    An arrival and a departure under the same key are the same vehicle whatever the times,
    and that departure is the vehicle's next one: a session opened on arrival lasts until its
    vehicle leaves (the session-end -> next-departure signal), so its key shows at both ends.
    Such a pair is their only candidate link: neither end can belong to another vehicle.
    """
    index: dict[str, int] = {}
    a_st, a_lo, a_hi = _end_arrays(arrivals, index)
    d_st, d_lo, d_hi = _end_arrays(departures, index)
    q, i = window_hits((d_st, d_lo, d_hi), (a_st, a_lo, a_hi + max_dwell_s))
    by_key = {e.key: j for j, e in enumerate(departures)}
    same = [(j, by_key[e.key]) for j, e in enumerate(arrivals) if e.key in by_key]
    keyed_left = np.zeros(len(arrivals), dtype=np.bool_)
    keyed_right = np.zeros(len(departures), dtype=np.bool_)
    for a, d in same:
        keyed_left[a] = keyed_right[d] = True
    keep = ~(keyed_left[q] | keyed_right[i])
    left = np.concatenate([q[keep], np.array([a for a, _ in same], dtype=np.int64)])
    right = np.concatenate([i[keep], np.array([d for _, d in same], dtype=np.int64)])
    return Bipartite.build(len(arrivals), len(departures), left, right)


def observation_graphs(observation: Observation, max_dwell_s: int) -> tuple[Bipartite, Bipartite]:
    """The pairing and dwell graphs of ``observation`` (departures and arrivals in order)."""
    departures, arrivals = observation.departures(), observation.arrivals()
    pairing = pairing_graph(
        departures, arrivals, observation.trips, observation.travel_s, observation.delay_s
    )
    return pairing, dwell_graph(arrivals, departures, max_dwell_s)
