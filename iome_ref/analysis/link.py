"""``run_link``: the observer at work on one source, scored against its truth, with plots.

What lives here: the sources (a ledger, a simulated run, a sessions file, a trips file), each
able to show its public records at any resolution, delay and k; the forced-link figures
(trips whose PK1 <-> PK2 is certain, anonymity sets, trajectories chained); the Z3 re-check;
the calls to link2's habit, follow, uniqueness and ablation analyses; the mitigation sweep
with each setting's utility cost (O-D error against the exact matrix); and ``run_link``.

Scoring is by the ground truth only: a forced link is correct when both keys belong to one
vehicle. A source without truth (a ledger file) reports links, never accuracy.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

import numpy as np

from iome_ref.analysis.ablation import AblationReport, run_ablation
from iome_ref.analysis.follow import (
    FollowReport,
    TripMatchScore,
    compute_follow,
    match_sessions_to_trips,
)
from iome_ref.analysis.forced import (
    Bipartite,
    BoolArray,
    ForcedResult,
    forced_links,
    observation_graphs,
    record_graph,
)
from iome_ref.analysis.habits import HabitReport, evaluate_habits
from iome_ref.analysis.inputs import read_sessions
from iome_ref.analysis.ledgerview import read_db, run_simulated
from iome_ref.analysis.linkplots import write_plots
from iome_ref.analysis.linkreport import (
    ChainFigures,
    ChainZ3Figures,
    ForcedFigures,
    LinkOptions,
    LinkReport,
    PositionFigures,
    SweepPoint,
    TrajectoryFigures,
    Z3Figures,
)
from iome_ref.analysis.observations import (
    GroundTruth,
    Observation,
    ObservedTrip,
    ObservedTripEnd,
)
from iome_ref.analysis.tripfiles import (
    ExactTrip,
    great_circle_travel,
    read_stations,
    read_trips,
    trip_observation,
)
from iome_ref.analysis.uniqueness import UniquenessReport, compute_uniqueness
from iome_ref.analysis.z3chains import ChainEnergy, z3_chain_links
from iome_ref.analysis.z3query import SideKnowledge, z3_links
from iome_ref.errors import UsageError
from iome_ref.simulation.run import atomic_output

if TYPE_CHECKING:
    from iome_ref.analysis.simtruth import TrueTrip  # it imports the simulation: run time only

__all__ = ["OD_PERIOD_S", "SWEEP", "Progress", "od_error", "run_link", "write_outputs"]

#: (label, done, total): long steps report through this; the CLI draws it with rich.
Progress = Callable[[str, int, int], None]
#: O-D matrices count trips per hour of their end time (the utility a mitigation costs).
OD_PERIOD_S: Final = 3600
SWEEP: Final[dict[str, tuple[int, ...]]] = {
    "coarsen": (1, 60, 300, 900, 3600),
    "delay": (0, 60, 300, 900, 3600),
    "k": (1, 2, 3, 5, 10),
}
ODKey = tuple[str, str, int]
T = TypeVar("T")
ODTrip = tuple[str, str, int, int]


@dataclass(frozen=True)
class _Source:
    """One source's public records at any mitigation, and its truth (None: unknown)."""

    kind: str
    population: str
    observe: Callable[[int, int, Sequence[ObservedTrip] | None], Observation]
    trips: tuple[ObservedTrip, ...]  # the Trips as published with no mitigation
    exact_od: tuple[ODKey, ...]  # (origin, destination, exact end time) of every trip
    key_vehicle: Mapping[str, str] | None
    trips_per_vehicle: Mapping[str, int] | None
    #: Truth: (end kind, public key) -> the true trip that key left or arrived on (origin,
    #: destination, exact departure, exact arrival).
    key_trip: Mapping[tuple[str, str], ODTrip] | None
    session_truth: GroundTruth | None
    #: A simulated run's trips as they happened, with the keys each end showed (None: not a
    #: simulation), and its road graph's travel times.
    true_trips: tuple[TrueTrip, ...] | None = None
    travel_s: Mapping[tuple[str, str], int] | None = None


def _od(rows: Sequence[tuple[str, str, int]]) -> Counter[ODKey]:
    return Counter((o, d, t // OD_PERIOD_S) for o, d, t in rows)


def od_error(exact: Sequence[ODKey], published: Sequence[ODKey]) -> float:
    """Share of the exact matrix's trips that the published hourly O-D matrix does not count in
    their own cell (moved to another hour, or withheld)."""
    a, b = _od(exact), _od(published)
    total = sum(a.values())
    if not total:
        return 0.0
    return 1.0 - sum(min(count, b[key]) for key, count in a.items()) / total


def _mitigated_trips(
    trips: Sequence[ObservedTrip], coarsen_s: int, delay_s: int, k: int, seed: int
) -> tuple[tuple[ObservedTrip, ...], tuple[ODKey, ...]]:
    """The Trips a chain publishes under the mitigation, and the O-D rows they yield.

    Coarsening rounds to the bucket (IOME-TRIP-005); delay stamps each Trip up to
    ``delay_s`` late (seeded); k withholds every Trip of an hourly O-D cell under k trips.
    """
    rng = np.random.default_rng(seed)
    lags = rng.integers(0, delay_s + 1, size=len(trips)) if delay_s else np.zeros(len(trips))
    cells = _od([(t.origin, t.destination, t.end) for t in trips])
    kept: list[ObservedTrip] = []
    rows: list[ODKey] = []
    for trip, lag in zip(trips, lags.tolist(), strict=True):
        if cells[(trip.origin, trip.destination, trip.end // OD_PERIOD_S)] < k:
            continue
        b = max(trip.bucket_s, coarsen_s)
        end = -(-(trip.end + int(lag)) // b) * b
        kept.append(
            ObservedTrip(
                trip.trip_id,
                trip.origin,
                trip.destination,
                trip.start // b * b,
                end,
                b,
                trip.block_height,
                trip.block_position,
                trip.block_time,
            )
        )
        rows.append((trip.origin, trip.destination, end))
    return tuple(kept), tuple(rows)


# --- sources ---------------------------------------------------------------------------------


def _trips_source(options: LinkOptions) -> _Source:
    assert options.trips is not None
    stations = read_stations(options.stations) if options.stations is not None else None
    trips = read_trips(options.trips, stations)
    travel = great_circle_travel(stations, options.speed_kmh) if stations else None
    knowledge = [
        "sees each trip end's one-time key with its station and published time, and each "
        "Trip record (origin, destination, bucketed times)",
        f"travel time: great-circle distance at {options.speed_kmh:g} km/h"
        if travel
        else "no stations file: travel times unconstrained",
    ]

    def observe(
        resolution: int, delay: int, published: Sequence[ObservedTrip] | None
    ) -> Observation:
        observation, _ = trip_observation(
            trips,
            seed=options.seed,
            resolution_s=resolution,
            delay_s=delay,
            stations=stations,
            travel_s=travel,
            knowledge=knowledge,
        )
        if published is None:
            return observation
        return _with_trips(observation, published)

    base, truth = trip_observation(trips, seed=options.seed, travel_s=travel)
    key_vehicle = {e.key: truth.end_vehicle[e.end_id] for e in base.trip_ends}
    by_id = {t.trip_id: (t.origin, t.destination, t.start, t.end) for t in trips}
    key_trip: dict[tuple[str, str], ODTrip] = {
        (e.kind, e.key): by_id[truth.trip_of_end[e.end_id]] for e in base.trip_ends
    }
    vehicles = Counter(t.vehicle for t in trips)
    return _Source(
        kind="trips",
        population=f"trips file {options.trips.name}: {len(trips)} trips, {len(vehicles)} "
        f"vehicles, {len({t.origin for t in trips} | {t.destination for t in trips})} stations",
        observe=observe,
        trips=base.trips,
        exact_od=tuple((t.origin, t.destination, t.end) for t in trips),
        key_vehicle=key_vehicle,
        trips_per_vehicle=dict(vehicles),
        key_trip=key_trip,
        session_truth=None,
    )


def _with_trips(observation: Observation, trips: Sequence[ObservedTrip]) -> Observation:
    from dataclasses import replace  # noqa: PLC0415

    return replace(observation, trips=tuple(trips))


def _sim_source(options: LinkOptions) -> _Source:
    assert options.simulate is not None
    run = run_simulated(options.simulate)
    d = run.description

    def observe(
        resolution: int, delay: int, published: Sequence[ObservedTrip] | None
    ) -> Observation:
        return run.observe(resolution_s=resolution, delay_s=delay, trips=published)

    base = run.observe()
    return _Source(
        kind="simulate",
        population=f"simulated city (seed {d['seed']}, {d['evs']} EVs, {d['stations']} "
        f"stations, {d['rounds']} rounds of {d['round_s'] // 3600} h, Trip bucket "
        f"{d['time_bucket_s']} s): {len(run.trips)} public Trips, {len(run.sessions)} public "
        "sessions",
        observe=observe,
        trips=run.trips,
        exact_od=tuple((t.origin, t.destination, t.arrive) for t in run.true_trips),
        key_vehicle=run.key_vehicle,
        trips_per_vehicle=dict(Counter(t.vehicle for t in run.true_trips)),
        key_trip={
            (kind, key): (t.origin, t.destination, t.depart, t.arrive)
            for t in run.true_trips
            for kind, key in (("departure", t.departure_key), ("arrival", t.arrival_key))
            if key is not None
        },
        session_truth=run.truth(base),
        true_trips=run.true_trips,
        travel_s=run.travel_s,
    )


def _db_source(options: LinkOptions) -> _Source:
    assert options.db is not None
    base = read_db(options.db)

    def observe(
        resolution: int, delay: int, published: Sequence[ObservedTrip] | None
    ) -> Observation:
        observation = read_db(options.db, resolution_s=resolution, delay_s=delay)  # type: ignore[arg-type]
        return observation if published is None else _with_trips(observation, published)

    return _Source(
        kind="db",
        population=f"ledger {options.db.name}: {len(base.trips)} public Trips, "
        f"{len(base.sessions)} public sessions (no ground truth)",
        observe=observe,
        trips=base.trips,
        exact_od=tuple((t.origin, t.destination, t.end) for t in base.trips),
        key_vehicle=None,
        trips_per_vehicle=None,
        key_trip=None,
        session_truth=None,
    )


def _sessions_source(options: LinkOptions) -> _Source:
    assert options.sessions is not None
    sessions, truth = read_sessions(options.sessions)
    observation = Observation(
        source="sessions",
        sessions=sessions,
        knowledge=(
            "sees every session's station, start, end and energy; each under a fresh key",
            "previous day, time of day and weekday on the local clock (Norway's format: "
            "Europe/Oslo with its daylight-saving switches; a plain CSV: each time's stated "
            "UTC offset, or as written); durations and dwells in real time",
        ),
    )
    users = {u for u in truth.session_user.values() if u is not None}
    cover = sum(1 for u in truth.session_user.values() if u is None)
    return _Source(
        kind="sessions",
        population=f"sessions file {options.sessions.name}: {len(sessions)} sessions, "
        f"{len(users)} users" + (f", {cover} cover sessions (never scored)" if cover else ""),
        observe=lambda _r, _d, _p: observation,
        trips=(),
        exact_od=(),
        key_vehicle=None,
        trips_per_vehicle=None,
        key_trip=None,
        session_truth=truth,
    )


def _source(options: LinkOptions) -> _Source:
    chosen = [name for name in ("db", "simulate", "sessions", "trips") if getattr(options, name)]
    if len(chosen) != 1:
        raise UsageError(
            "link",
            "expected exactly one of --db, --simulate, --sessions, --trips, found "
            + (", ".join(f"--{c}" for c in chosen) or "none"),
        )
    if options.stations is not None and chosen[0] != "trips":
        raise UsageError("link", "--stations goes with --trips only")
    return {
        "db": _db_source,
        "simulate": _sim_source,
        "sessions": _sessions_source,
        "trips": _trips_source,
    }[chosen[0]](options)


# --- forced-link figures -------------------------------------------------------------------


def _vehicle_of(key_vehicle: Mapping[str, str] | None, key: str) -> str | None:
    return None if key_vehicle is None else key_vehicle.get(key)


def _chains(
    observation: Observation,
    pairing: tuple[Bipartite, BoolArray],
    dwell: tuple[Bipartite, BoolArray],
    key_vehicle: Mapping[str, str],
    trips_per_vehicle: Mapping[str, int],
) -> ChainFigures:
    """Per vehicle, the most trips joined by correct forced links (pairing and dwell; each
    graph with the mask of its links taken as certain)."""
    departures, arrivals = observation.departures(), observation.arrivals()
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    trip_links: list[str] = []
    graph, forced = pairing
    for k in np.flatnonzero(forced).tolist():
        d, a = departures[graph.left[k]], arrivals[graph.right[k]]
        if key_vehicle.get(d.key) is not None and key_vehicle.get(d.key) == key_vehicle.get(a.key):
            parent[find(d.end_id)] = find(a.end_id)
            trip_links.append(d.end_id)
    graph, forced = dwell
    for k in np.flatnonzero(forced).tolist():
        a, d = arrivals[graph.left[k]], departures[graph.right[k]]
        if key_vehicle.get(d.key) is not None and key_vehicle.get(d.key) == key_vehicle.get(a.key):
            parent[find(a.end_id)] = find(d.end_id)
    by_root: Counter[str] = Counter(find(end) for end in trip_links)
    best: dict[str, int] = defaultdict(int)
    vehicle_of_end = {e.end_id: key_vehicle.get(e.key) for e in observation.trip_ends}
    for end in trip_links:
        vehicle = vehicle_of_end[end]
        if vehicle is not None:
            best[vehicle] = max(best[vehicle], by_root[find(end)])
    vehicles = len(trips_per_vehicle)

    def share(n: int) -> float:
        return sum(1 for v in best.values() if v >= n) / vehicles if vehicles else 0.0

    return ChainFigures(
        vehicles=vehicles,
        chained_2=share(2),
        chained_3=share(3),
        chained_4_plus=share(4),
        vehicles_with_2_trips=sum(1 for n in trips_per_vehicle.values() if n >= 2),
    )


def _record_share(
    source: _Source, observation: Observation, ends: Sequence[ObservedTripEnd]
) -> tuple[int, float | None]:
    """(forced Trip <-> key links, share of Trips whose key is forced and right)."""
    trips = observation.trips
    graph = record_graph(trips, ends, observation.delay_s)
    result = forced_links(graph)
    forced = np.flatnonzero(result.forced).tolist()
    if source.key_trip is None or not source.trips:
        return len(forced), None
    right = 0
    for k in forced:
        record, end = trips[graph.left[k]], ends[graph.right[k]]
        true = source.key_trip.get((end.kind, end.key))
        if (
            true is not None
            and (true[0], true[1]) == (record.origin, record.destination)
            and record.start - observation.delay_s <= true[2] <= record.start + record.bucket_s
            and record.end - record.bucket_s - observation.delay_s <= true[3] <= record.end
        ):
            right += 1
    return len(forced), right / len(source.trips)


def _forced_figures(
    source: _Source, observation: Observation, options: LinkOptions, *, chains: bool = True
) -> tuple[ForcedFigures, Bipartite, ForcedResult]:
    pairing, dwell = observation_graphs(observation, options.max_dwell_s)
    fp, fd = forced_links(pairing), forced_links(dwell)
    departures, arrivals = observation.departures(), observation.arrivals()
    correct = wrong = 0
    truth = source.key_vehicle
    for k in np.flatnonzero(fp.forced).tolist():
        v1 = _vehicle_of(truth, departures[pairing.left[k]].key)
        v2 = _vehicle_of(truth, arrivals[pairing.right[k]].key)
        if v1 is not None and v1 == v2:
            correct += 1
        else:
            wrong += 1
    histogram = sorted(Counter(fp.options_left.tolist()).items())
    _, arrival_share = _record_share(source, observation, arrivals)
    _, departure_share = _record_share(source, observation, departures)
    visible = None
    if source.key_trip is not None:
        pairs = Counter(source.key_trip.get((e.kind, e.key)) for e in observation.trip_ends)
        visible = sum(1 for trip, n in pairs.items() if trip is not None and n >= 2)
    n_trips = len(source.trips)
    figures = ForcedFigures(
        population=source.population,
        knowledge=[
            *observation.knowledge,
            f"published time resolution {observation.resolution_s} s, Trip publication delay "
            f"up to {observation.delay_s} s, O-D k = {options.k}",
            f"a vehicle stays at most {options.max_dwell_s} s at one station",
        ],
        trips=n_trips,
        departures=pairing.n_left,
        arrivals=pairing.n_right,
        candidate_links=pairing.n_edges,
        components=int(np.unique(fp.component_left).size) if pairing.n_left else 0,
        largest_component=fp.largest_component,
        matching_size=fp.matching_size,
        forced_links=int(fp.forced.sum()),
        forced_correct=correct if truth is not None else None,
        forced_wrong=wrong if truth is not None else None,
        trips_forced_share=correct / n_trips if truth is not None and n_trips else None,
        trips_both_keys_public=visible,
        trips_arrival_key_forced=arrival_share,
        trips_departure_key_forced=departure_share,
        anonymity_histogram=[(int(a), int(b)) for a, b in histogram],
        anonymity_median=float(np.median(fp.options_left)) if pairing.n_left else 0.0,
        dwell_links=dwell.n_edges,
        dwell_forced=int(fd.forced.sum()),
        chains=_chains(
            observation, (pairing, fp.forced), (dwell, fd.forced), truth, source.trips_per_vehicle
        )
        if chains and truth is not None and source.trips_per_vehicle is not None
        else None,
    )
    return figures, pairing, fp


def _z3_figures(
    source: _Source,
    observation: Observation,
    graph: Bipartite,
    fast: ForcedResult,
    options: LinkOptions,
) -> Z3Figures:
    """Z3 on the largest components: agreement with the fast path, then one known link each."""
    sizes = np.bincount(fast.component_left[graph.left], minlength=fast.component_sizes.size)
    ranked = [int(c) for c in np.argsort(-sizes, kind="stable") if sizes[c] > 0]
    too_large = [c for c in ranked if sizes[c] > options.z3_max_edges]
    chosen = [c for c in ranked if sizes[c] <= options.z3_max_edges][: options.z3_components]
    plain = z3_links(
        graph, fast, seed=options.seed, timeout_ms=options.z3_timeout_ms, components=chosen
    )
    in_chosen = np.isin(fast.component_left[graph.left], chosen)
    decided = in_chosen & ~plain.undecided
    agrees = bool(
        np.array_equal(plain.forced[decided], fast.forced[decided])
        and np.array_equal(plain.possible[decided], fast.possible[decided])
    )
    departures, arrivals = observation.departures(), observation.arrivals()
    rng = np.random.default_rng(options.seed)
    same: list[tuple[int, int]] = []
    if source.key_vehicle is not None:
        for c in chosen:
            true_free = [
                k
                for k in np.flatnonzero((fast.component_left[graph.left] == c) & ~fast.forced)
                if source.key_vehicle.get(departures[graph.left[k]].key) is not None
                and source.key_vehicle.get(departures[graph.left[k]].key)
                == source.key_vehicle.get(arrivals[graph.right[k]].key)
            ]
            if true_free:
                k = true_free[int(rng.integers(len(true_free)))]
                same.append((int(graph.left[k]), int(graph.right[k])))
    informed = z3_links(
        graph,
        fast,
        side=SideKnowledge(same=tuple(same)),
        seed=options.seed,
        timeout_ms=options.z3_timeout_ms,
        components=chosen,
    )
    return Z3Figures(
        seed=options.seed,
        timeout_ms=options.z3_timeout_ms,
        components=plain.components,
        skipped_too_large=len(too_large),
        largest_component_edges=plain.largest_component,
        queries=plain.queries + informed.queries,
        unknown=plain.unknown + informed.unknown,
        agrees_with_fast_path=agrees,
        forced_with_side_knowledge=int(informed.forced[in_chosen].sum()),
        forced_without=int(fast.forced[in_chosen].sum()),
        side_knowledge=f"one true link known in each of {len(same)} components (a camera, "
        "or one session of the vehicle known)",
    )


def _chain_energy(observation: Observation, pairing: Bipartite, dwell: Bipartite) -> ChainEnergy:
    """The energy facts the public records give (module z3chains): each trip end's session
    energy (a discharge counts negative), each pairing link's road-graph energy between its
    stations, and which dwell links join the two ends of one session."""
    assert observation.energy_wh is not None
    assert observation.battery_wh is not None
    signed = {
        s.session_id: s.energy_wh if s.direction == "charge" else -s.energy_wh
        for s in observation.sessions
    }
    departures, arrivals = observation.departures(), observation.arrivals()

    def charged(end: ObservedTripEnd) -> int:
        return 0 if end.session_id is None else signed.get(end.session_id, 0)

    energy = observation.energy_wh
    return ChainEnergy(
        capacity_wh=observation.battery_wh,
        departure_charge_wh=[charged(e) for e in departures],
        arrival_charge_wh=[charged(e) for e in arrivals],
        need_wh=[
            energy.get((departures[i].station, arrivals[j].station), 0)
            for i, j in zip(pairing.left.tolist(), pairing.right.tolist(), strict=True)
        ],
        same_session=[
            arrivals[j].session_id is not None
            and arrivals[j].session_id == departures[i].session_id
            for j, i in zip(dwell.left.tolist(), dwell.right.tolist(), strict=True)
        ],
    )


def _z3_chain_figures(
    source: _Source, observation: Observation, options: LinkOptions
) -> tuple[ChainZ3Figures | None, str | None]:
    """Z3 over whole trajectories (z3chains) within the budget: (figures, why absent)."""
    if observation.energy_wh is None or observation.battery_wh is None:
        return None, (
            "no energy model (road-graph energy and battery bound): battery continuity across "
            "trips needs a simulated city"
        )
    pairing, dwell = observation_graphs(observation, options.max_dwell_s)
    if not pairing.n_edges and not dwell.n_edges:
        return None, "no candidate pairing or dwell links"
    solved = z3_chain_links(
        pairing,
        dwell,
        _chain_energy(observation, pairing, dwell),
        seed=options.seed,
        timeout_ms=options.z3_timeout_ms,
        max_components=options.z3_components,
        max_links=options.z3_max_edges,
        budget_links=options.z3_budget_links,
    )
    fp, fd = forced_links(pairing), forced_links(dwell)
    p_ok, d_ok = solved.pairing_checked, solved.dwell_checked
    p_decided, d_decided = p_ok & ~solved.pairing_undecided, d_ok & ~solved.dwell_undecided
    truth = source.key_vehicle
    departures, arrivals = observation.departures(), observation.arrivals()
    right = wrong = 0
    if truth is not None:
        proven = [
            (departures[pairing.left[k]].key, arrivals[pairing.right[k]].key)
            for k in np.flatnonzero(solved.pairing_forced).tolist()
        ] + [
            (arrivals[dwell.left[f]].key, departures[dwell.right[f]].key)
            for f in np.flatnonzero(solved.dwell_forced).tolist()
        ]
        for a, b in proven:
            same = truth.get(a) is not None and truth.get(a) == truth.get(b)
            right += same
            wrong += not same
    checked = int(p_ok.sum() + d_ok.sum())
    figures = ChainZ3Figures(
        seed=options.seed,
        timeout_ms=options.z3_timeout_ms,
        energy_model=f"a trip uses at least its route's road-graph energy; no battery holds "
        f"more than {observation.battery_wh} Wh; nothing charges unseen between an arrival "
        "and the next departure at that station",
        components_total=solved.components_total,
        components=solved.components,
        skipped_too_large=solved.skipped_too_large,
        skipped_over_budget=solved.skipped_over_budget,
        links_checked=checked,
        links_skipped=pairing.n_edges + dwell.n_edges - checked,
        largest_component_links=solved.largest_component,
        queries=solved.queries,
        unknown=solved.unknown,
        undecided_links=solved.undecided,
        pairing_proven=int(solved.pairing_forced.sum()),
        dwell_proven=int(solved.dwell_forced.sum()),
        pairing_forced_fast=int(fp.forced[p_ok].sum()),
        dwell_forced_fast=int(fd.forced[d_ok].sum()),
        excluded_by_battery=int(
            (fp.possible[p_decided] & ~solved.pairing_possible[p_decided]).sum()
            + (fd.possible[d_decided] & ~solved.dwell_possible[d_decided]).sum()
        ),
        proven_correct=right if truth is not None else None,
        proven_wrong=wrong if truth is not None else None,
        chains=_chains(
            observation,
            (pairing, solved.pairing_forced),
            (dwell, solved.dwell_forced),
            truth,
            source.trips_per_vehicle,
        )
        if truth is not None and source.trips_per_vehicle is not None
        else None,
    )
    return figures, None


def _chainable(true_trips: Sequence[TrueTrip], public_keys: set[str], at_least: int) -> float:
    """Share of vehicles with ``at_least`` consecutive trips whose keys are all public and
    joined (each arrival's session is the next departure's): the most any observer of the
    public chain could chain, whatever its method."""
    by_vehicle: dict[str, list[TrueTrip]] = defaultdict(list)
    for trip in sorted(true_trips, key=lambda t: (t.vehicle, t.depart)):
        by_vehicle[trip.vehicle].append(trip)
    reached = 0
    for trips in by_vehicle.values():
        run = best = 0
        previous: TrueTrip | None = None
        for trip in trips:
            both = trip.departure_key in public_keys and trip.arrival_key in public_keys
            joined = previous is not None and previous.arrival_key == trip.departure_key
            run = run + 1 if both and joined and run else int(both)
            best = max(best, run)
            previous = trip
        reached += best >= at_least
    return reached / len(by_vehicle) if by_vehicle else 0.0


def _trajectory_figures(
    source: _Source, observation: Observation, options: LinkOptions
) -> TrajectoryFigures | None:
    """Why trajectories chain or not on a simulated city's public chain, beside how far the
    same observer chains them when every trip end shows a fresh key (a trips file's view)."""
    if source.true_trips is None or not source.true_trips:
        return None
    true_trips = source.true_trips
    public = {s.key for s in observation.sessions}
    n = len(true_trips)
    ordered = sorted(true_trips, key=lambda t: (t.depart, t.vehicle, t.origin, t.destination))
    exact = [
        ExactTrip(f"trip{k}", t.vehicle, t.origin, t.depart, t.destination, t.arrive)
        for k, t in enumerate(ordered)
    ]
    keyed, truth = trip_observation(exact, seed=options.seed, travel_s=source.travel_s)
    pairing, dwell = observation_graphs(keyed, options.max_dwell_s)
    fp, fd = forced_links(pairing), forced_links(dwell)
    key_vehicle = {e.key: truth.end_vehicle[e.end_id] for e in keyed.trip_ends}
    departures, arrivals = keyed.departures(), keyed.arrivals()
    correct = sum(
        1
        for k in np.flatnonzero(fp.forced).tolist()
        if key_vehicle[departures[pairing.left[k]].key]
        == key_vehicle[arrivals[pairing.right[k]].key]
    )
    return TrajectoryFigures(
        trips=n,
        departure_key_public=sum(t.departure_key in public for t in true_trips) / n,
        arrival_key_public=sum(t.arrival_key in public for t in true_trips) / n,
        both_keys_public=sum(
            t.departure_key in public and t.arrival_key in public for t in true_trips
        )
        / n,
        chainable_2=_chainable(true_trips, public, 2),
        chainable_3=_chainable(true_trips, public, 3),
        chainable_4_plus=_chainable(true_trips, public, 4),
        every_end_keyed_knowledge=(
            "every trip end shows a fresh one-time key with its station and exact time (as a "
            "trips file does, or a chain whose Presences were public); road-graph travel "
            f"times; a vehicle stays at most {options.max_dwell_s} s at one station"
        ),
        every_end_keyed_forced_share=correct / n,
        every_end_keyed=_chains(
            keyed,
            (pairing, fp.forced),
            (dwell, fd.forced),
            key_vehicle,
            dict(Counter(t.vehicle for t in true_trips)),
        ),
    )


def _position_figures(source: _Source, observation: Observation) -> PositionFigures | None:
    """Consecutive public sessions of one block: how often one vehicle made both."""
    truth = source.key_vehicle
    by_block: dict[int, list[tuple[int, str | None]]] = defaultdict(list)
    for s in observation.sessions:
        if s.block_height is not None and s.block_position is not None:
            by_block[s.block_height].append((s.block_position, _vehicle_of(truth, s.key)))
    if truth is None or not by_block:
        return None
    same = pairs = 0
    chance_num = chance_den = 0.0
    for rows in by_block.values():
        rows.sort()
        owners = [v for _, v in rows]
        for a, b in pairwise(owners):
            if a is not None and b is not None:
                pairs += 1
                same += a == b
        known = Counter(v for v in owners if v is not None)
        n = sum(known.values())
        if n >= 2:
            chance_num += sum(c * (c - 1) for c in known.values()) / (n * (n - 1)) * (n - 1)
            chance_den += n - 1
    if not pairs:
        return None
    return PositionFigures(
        pairs=pairs,
        same_vehicle=same / pairs,
        chance=chance_num / chance_den if chance_den else 0.0,
    )


# --- session analyses (link2) --------------------------------------------------------------


@dataclass
class _SessionFigures:
    habits: HabitReport | None = None
    follow: FollowReport | None = None
    trip_match: list[TripMatchScore] | None = None
    uniqueness: UniquenessReport | None = None
    ablation: AblationReport | None = None
    absent: str | None = None


def _session_figures(
    source: _Source, observation: Observation, options: LinkOptions, step: Callable[[str], None]
) -> _SessionFigures:
    truth = source.session_truth
    if truth is None or not observation.sessions:
        return _SessionFigures(
            absent="no sessions with a known user: the habit, follow and uniqueness figures "
            "need a sessions file or a simulated run"
        )
    out = _SessionFigures()
    population = source.population
    seed = options.seed
    missing: list[str] = []

    def attempt(label: str, call: Callable[[], T]) -> T | None:
        step(label)
        try:
            return call()
        except UsageError as exc:
            text = exc.message
            missing.append(text if text.startswith(label) else f"{label}: {text}")
        return None

    out.habits = attempt(
        "habit linker",
        lambda: evaluate_habits(observation, truth, seed=seed, population=population),
    )
    out.follow = attempt(
        "follow", lambda: compute_follow(observation, truth, seed=seed, population=population)
    )
    if observation.trip_ends:
        matched = attempt(
            "session-trip match",
            lambda: match_sessions_to_trips(observation, truth, population=population),
        )
        out.trip_match = None if matched is None else list(matched)
    out.uniqueness = attempt(
        "uniqueness",
        lambda: compute_uniqueness(observation, truth, seed=seed, population=population),
    )
    if source.kind == "simulate":
        out.ablation = attempt(
            "ablation",
            lambda: run_ablation(observation, truth, seed=seed, population=population),
        )
    out.absent = "; ".join(missing) or None
    return out


# --- sweep -----------------------------------------------------------------------------------


def _sweep(source: _Source, options: LinkOptions, step: Callable[[str], None]) -> list[SweepPoint]:
    points: list[SweepPoint] = []
    for parameter, values in SWEEP.items():
        for value in values:
            step(f"sweep {parameter}={value}")
            coarsen = value if parameter == "coarsen" else options.coarsen_s
            delay = value if parameter == "delay" else options.delay_s
            k = value if parameter == "k" else options.k
            published, rows = _mitigated_trips(source.trips, coarsen, delay, k, options.seed)
            observation = source.observe(coarsen, delay, published)
            figures, _, _ = _forced_figures(source, observation, options, chains=False)
            points.append(
                SweepPoint(
                    parameter=parameter,
                    value=value,
                    trips_forced_share=figures.trips_forced_share,
                    arrival_key_forced=figures.trips_arrival_key_forced,
                    anonymity_median=figures.anonymity_median,
                    od_error=od_error(source.exact_od, rows),
                )
            )
    return points


# --- the run ---------------------------------------------------------------------------------


def run_link(options: LinkOptions, progress: Progress | None = None) -> LinkReport:
    """Measure what the source's public records leak (module docstring); write link.json and
    the plots under ``options.out`` when given, each file whole or not at all.

    Raises:
        UsageError: ("link") a bad source file (with its line), no source or two sources.
    """
    total = 7 + (sum(len(v) for v in SWEEP.values()) if options.sweep else 0)
    done = 0

    def step(label: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(label, min(done, total), total)

    step("reading the source")
    source = _source(options)
    published, _ = _mitigated_trips(
        source.trips, options.coarsen_s, options.delay_s, options.k, options.seed
    )
    observation = source.observe(
        options.coarsen_s, options.delay_s, published if source.trips else None
    )
    forced = z3 = z3_chains = None
    forced_absent = z3_chains_absent = None
    if observation.trip_ends or source.trips:
        step("forced links")
        forced, graph, fast = _forced_figures(source, observation, options)
        if graph.n_edges and options.z3_components:
            step("z3")
            z3 = _z3_figures(source, observation, graph, fast, options)
        if options.z3_components:
            step("z3 chains")
            z3_chains, z3_chains_absent = _z3_chain_figures(source, observation, options)
        else:
            z3_chains_absent = "z3_components is 0"
    else:
        forced_absent = "no trips in this source: PK1 <-> PK2 pairing needs Trips"
        z3_chains_absent = forced_absent
    position = _position_figures(source, observation)
    trajectories = _trajectory_figures(source, observation, options)
    sessions = _session_figures(source, observation, options, step)
    sweep = _sweep(source, options, step) if options.sweep and source.trips else []
    report = LinkReport(
        source=source.kind,
        options=options,
        population=source.population,
        knowledge=list(observation.knowledge),
        forced=forced,
        forced_absent=forced_absent,
        z3=z3,
        z3_chains=z3_chains,
        z3_chains_absent=z3_chains_absent,
        trajectories=trajectories,
        position=position,
        habits=sessions.habits,
        follow=sessions.follow,
        trip_match=sessions.trip_match,
        uniqueness=sessions.uniqueness,
        ablation=sessions.ablation,
        session_figures_absent=sessions.absent,
        sweep=sweep,
        od_period_s=OD_PERIOD_S,
        plots=[],
    )
    if options.out is not None:
        step("writing")
        report = write_outputs(report, options.out)
    if progress is not None:
        progress("done", total, total)
    return report


def write_outputs(report: LinkReport, out: Path) -> LinkReport:
    """link.json and the SVG plots under ``out``; the report lists the plots it wrote."""
    plots = write_plots(report, out)
    report = report.model_copy(update={"plots": [p.name for p in plots]})
    path = out / "link.json"
    with atomic_output(path) as temporary:
        temporary.write_text(report.model_dump_json(indent=1) + "\n", "utf-8")
    return report
