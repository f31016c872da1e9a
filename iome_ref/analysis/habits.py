"""The habit linker: re-links one-time-key charging sessions to one user by their habits.

What lives here: the nearest-neighbour floor (issue 15: station, start hour and kWh re-link 67%
of the Norway sessions to the same user's previous-day session, top-1), the habit linker that
must beat it, and the scoring of both on users the linker's model never saw, with chance level
and a 95% confidence interval. What must not: reading a file, or the ground truth while
linking (:class:`~iome_ref.analysis.observations.GroundTruth` is read only to score, and to
fit the model on training users).

The task ("previous-day re-link"): for each scored session ``q`` of user ``u`` on day ``d``
such that ``u`` has a session on day ``d - 1``, the candidates are every session of day
``d - 1`` (every user's, cover traffic included: the observer sees them all); a linker ranks
them; top-k is right when one of the first k candidates is ``u``'s. Days are local calendar
days of ``start`` (``ObservedSession.local_start``: Norway's sessions in Europe/Oslo time, a
plain CSV's at its stated offset, or as written when it states none), and so are times of
day and weekdays, for both the habit linker and the floor; durations and dwells are UTC.

The habit linker scores a (query, candidate) pair by features of the two sessions (station,
time of day on weekdays and weekends, plug-out time, energy, plugged-in duration, the dwell
between them, overlap, block position, and whether published trips leave from the candidate's
station as it ends and reach the query's as it starts) and by the candidate's *habit*: the
sessions it links back to, each by the same model's top-1 link (a user's earlier sessions,
as the observer reconstructs them). The weights are a conditional logit (softmax over one
query's candidates) fitted by damped Newton steps on training users' queries only.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

import numpy as np
import numpy.typing as npt

from iome_ref.analysis.observations import GroundTruth, Observation, ObservedSession
from iome_ref.errors import UsageError

__all__ = [
    "ALL_SIGNALS",
    "CrossFit",
    "HabitModel",
    "HabitReport",
    "LinkScore",
    "Signal",
    "compute_chance",
    "compute_folds",
    "compute_wilson",
    "cross_fit",
    "evaluate_habits",
    "fit_habit_model",
    "hits_of",
    "linked_habit_stations",
    "rank_candidates",
    "score_ranking",
]

#: The public signals a linker may use (ablation.py drops them one at a time):
#: ``time``: start and plug-out times of day (exactness is the observation's, see ablation);
#: ``energy``: kWh; ``station``; ``duration``: plugged-in time and the dwell between two
#: sessions; ``position``: a record's position in its block; ``departure-timing``: a trip
#: leaves the candidate's station as the candidate ends (the session a vehicle made before
#: its trip); ``arrival-timing``: a trip reaches the query's station as the query starts;
#: ``next-trip``: which Trip a session's end left on (a session lasts until its vehicle
#: leaves: the Trip leaving its station as it ends), hence where the vehicle went next, and
#: whether that Trip reached the query's station as the query started.
Signal = Literal[
    "time",
    "energy",
    "station",
    "duration",
    "position",
    "departure-timing",
    "arrival-timing",
    "next-trip",
]
#: Every signal, in the literal's order (one list: the type is the source).
ALL_SIGNALS: Final[tuple[Signal, ...]] = get_args(Signal)
#: Each feature and the signals it needs (all of them).
_FEATURES: Final[tuple[tuple[str, tuple[Signal, ...]], ...]] = (
    ("station-differs", ("station",)),
    ("hour-gap", ("time",)),
    ("hour-gap^2", ("time",)),
    ("weekend-hour-gap", ("time",)),
    ("end-hour-gap", ("time",)),
    ("end-hour-gap^2", ("time",)),
    ("overlap", ("time",)),
    ("kwh-gap", ("energy",)),
    ("kwh-gap^2", ("energy",)),
    ("duration-gap", ("duration",)),
    ("dwell", ("duration",)),
    ("position-gap", ("position",)),
    ("departs", ("departure-timing",)),
    ("arrives-and-departs", ("departure-timing", "arrival-timing")),
    ("left-on-the-trip-that-arrived", ("next-trip",)),
    ("same-next-destination", ("next-trip",)),
    ("other-next-destination", ("next-trip",)),
    ("hour-gap-log", ("time",)),
    ("end-hour-gap-log", ("time",)),
    ("kwh-gap-log", ("energy",)),
    ("duration-gap-log", ("duration",)),
    ("habit-station-differs", ("station",)),
    ("habit-hour-gap", ("time",)),
    ("habit-kwh-gap", ("energy",)),
    ("habit-duration-gap", ("duration",)),
    ("habits-station-differs", ("station",)),
    ("habits-hour-gap", ("time",)),
    ("habits-kwh-gap", ("energy",)),
    ("habits-duration-gap", ("duration",)),
)
_FEATURE_NAMES: Final = tuple(name for name, _ in _FEATURES)
#: How many earlier sessions make a candidate's habit (followed back by top-1 links).
HABIT_DEPTH: Final = 6
#: L2 penalty of the conditional logit (per training query), keeping weights finite when a
#: feature separates perfectly (a station seen by one user only).
L2: Final = 1e-3
#: Sinkhorn rounds and the slack's log-weight of the final ranking (``_sinkhorn``); the
#: first pass's links use one round (``_linked_habits``). Chosen on Norway with seed 1,
#: 5 folds: 0 rounds 69.3%, 10 rounds slack 0: 69.1%, slack -2: 70.0%, slack +2: 68.4%.
SINKHORN_ROUNDS: Final = 10
SLACK: Final = -2.0
#: Most Newton steps of the fit (it converges in well under this).
NEWTON_STEPS: Final = 50
#: Most candidates of one day compared all against all; a busier day is compared station
#: by station (``_blocks``), so the work grows with sessions per station, not per city.
BLOCK_LIMIT: Final = 200
#: Bootstrap resamples for confidence intervals.
BOOTSTRAP: Final = 1000
_DAY: Final = 86_400
_HOUR: Final = 3_600
_CI_METHOD: Final = "bootstrap over scored users (1000 resamples, percentile)"
_TOP: Final = 5


@dataclass(frozen=True)
class LinkScore:
    """One linker's figure on one population, with everything needed to read it.

    ``top1``/``top5``: shares of scored queries whose right user is ranked first / in the first
    five. ``chance_top1``/``chance_top5``: the same for a uniformly random ranking, averaged
    over the queries. ``ci_low``/``ci_high``: 95% interval of ``top1`` (``ci_method`` says
    how: a bootstrap over scored users, since one user's queries are not independent).
    """

    linker: str
    task: str
    top1: float
    top5: float
    chance_top1: float
    chance_top5: float
    ci_low: float
    ci_high: float
    ci_method: str
    queries: int
    users: int
    population: str
    knowledge: str


@dataclass(frozen=True)
class HabitModel:
    """Weights of the pair features (conditional logit fitted on training users only).

    ``features`` are the features the model uses (those whose signals it was given);
    ``scale`` divides each feature before its weight (its sd in the training pairs). The
    ``link_*`` fields are the first pass, without habit features, whose top-1 links build
    each session's habit before the second pass scores with it.
    """

    signals: tuple[Signal, ...]
    features: tuple[str, ...]
    weights: tuple[float, ...]
    scale: tuple[float, ...]
    link_features: tuple[str, ...]
    link_weights: tuple[float, ...]
    link_scale: tuple[float, ...]
    training_users: int
    training_queries: int


@dataclass(frozen=True)
class HabitReport:
    """The habit linker beside the nearest-neighbour floor on the same scored users.

    ``margin_points``: habit top-1 minus floor top-1, in percentage points, with its paired
    bootstrap 95% interval. ``split`` states how users were split (deterministic from
    ``seed``); every scored user is scored by a model fitted on the other folds only.
    """

    habit: LinkScore
    floor: LinkScore
    margin_points: float
    margin_ci: tuple[float, float]
    split: str
    seed: int
    models: tuple[HabitModel, ...]


# -- the observer's sessions as arrays -----------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """The observer's charge sessions as arrays, in (start, session id) order."""

    ids: tuple[str, ...]
    station_names: tuple[str, ...]
    station: npt.NDArray[np.int64]
    start: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]
    day: npt.NDArray[np.int64]
    hour: npt.NDArray[np.float64]
    end_hour: npt.NDArray[np.float64]
    weekend: npt.NDArray[np.float64]
    log_kwh: npt.NDArray[np.float64]
    log_duration: npt.NDArray[np.float64]
    position: npt.NDArray[np.float64]
    departs: npt.NDArray[np.float64]
    arrives: npt.NDArray[np.float64]
    #: The Trip (index in the observation) leaving the session's station as it ends, the one
    #: reaching its station as it starts (-1: none; the earliest when several), and the
    #: station code the leaving one went to (-1: none).
    left_on: npt.NDArray[np.int64]
    arrived_on: npt.NDArray[np.int64]
    went_to: npt.NDArray[np.int64]
    #: Each day's half-open index range.
    days: Mapping[int, tuple[int, int]]
    index: Mapping[str, int]


def _table(observation: Observation) -> _Table:
    sessions = sorted(
        (s for s in observation.sessions if s.direction == "charge"),
        key=lambda s: (s.local_start, s.session_id),
    )
    stations = {name: k for k, name in enumerate(sorted({s.station for s in sessions}))}
    # Days, times of day and weekdays on the local clock (each time with its own offset:
    # a daylight-saving switch moves UTC, not habits); durations and dwells in UTC seconds.
    local_start = np.array([s.local_start for s in sessions], dtype=np.int64)
    local_end = np.array([max(s.local_end, s.local_start) for s in sessions], dtype=np.int64)
    start = np.array([s.start for s in sessions], dtype=np.int64)
    end = np.array([max(s.end, s.start) for s in sessions], dtype=np.int64)
    day = local_start // _DAY
    days: dict[int, tuple[int, int]] = {}
    for k, d in enumerate(day.tolist()):
        lo, _ = days.get(d, (k, k))
        days[d] = (lo, k + 1)
    departs, arrives = _trip_timing(observation, sessions)
    left_on, arrived_on, went_to = _next_trips(observation, sessions)
    return _Table(
        ids=tuple(s.session_id for s in sessions),
        station_names=tuple(stations),
        station=np.array([stations[s.station] for s in sessions], dtype=np.int64),
        start=start,
        end=end,
        day=day,
        hour=(local_start % _DAY) / _HOUR,
        end_hour=(local_end % _DAY) / _HOUR,
        weekend=(((day + 3) % 7) >= 5).astype(np.float64),
        log_kwh=np.log(np.array([s.energy_wh for s in sessions], dtype=np.float64) / 1000 + 0.5),
        log_duration=np.log((end - start) / _HOUR + 0.1),
        position=_relative_positions(sessions),
        departs=departs,
        arrives=arrives,
        left_on=left_on,
        arrived_on=arrived_on,
        went_to=went_to,
        days=days,
        index={s.session_id: k for k, s in enumerate(sessions)},
    )


def _relative_positions(sessions: Sequence[ObservedSession]) -> npt.NDArray[np.float64]:
    """Each session's position in its block as a share of the block's sessions (NaN: unknown).

    A producer that appends records in a fixed order (vehicle by vehicle) gives one vehicle
    the same relative position block after block: a public signal (issue 15).
    """
    per_block: dict[int, list[int]] = defaultdict(list)
    for s in sessions:
        if s.block_height is not None and s.block_position is not None:
            per_block[s.block_height].append(s.block_position)
    rank = {
        (height, position): (k + 0.5) / len(positions)
        for height, positions in per_block.items()
        for k, position in enumerate(sorted(positions))
    }
    return np.array(
        [rank.get((s.block_height or 0, s.block_position or 0), math.nan) for s in sessions],
        dtype=np.float64,
    )


def _trip_timing(
    observation: Observation, sessions: Sequence[ObservedSession]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Whether a published trip leaves a session's station as it ends, and whether one reaches
    its station as it starts, within the trips' published windows (bucket and delay)."""
    departures: dict[str, list[tuple[int, int]]] = defaultdict(list)
    arrivals: dict[str, list[tuple[int, int]]] = defaultdict(list)
    slack = observation.delay_s
    for trip in observation.trips:
        departures[trip.origin].append((trip.start - slack, trip.start + trip.bucket_s + slack))
        arrivals[trip.destination].append((trip.end - trip.bucket_s - slack, trip.end + slack))

    def hit(windows: Mapping[str, list[tuple[int, int]]], station: str, t: int) -> float:
        return float(any(lo <= t <= hi for lo, hi in windows.get(station, ())))

    departs = np.array([hit(departures, s.station, s.end) for s in sessions], dtype=np.float64)
    arrives = np.array([hit(arrivals, s.station, s.start) for s in sessions], dtype=np.float64)
    return departs, arrives


def _next_trips(
    observation: Observation, sessions: Sequence[ObservedSession]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per session: the Trip it left on, the Trip it arrived on, where the first went.

    Public fields only: a session's station and end against a Trip's origin and published
    start window (bucket and delay), its station and start against a Trip's destination and
    end window. A vehicle stays plugged in until it leaves, so the Trip leaving as a session
    ends is its next trip, and the Trip's destination is where the vehicle went.
    """
    slack = observation.delay_s
    leaving: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    reaching: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    order = sorted(range(len(observation.trips)), key=lambda k: observation.trips[k].start)
    for k in order:
        trip = observation.trips[k]
        leaving[trip.origin].append((trip.start - slack, trip.start + trip.bucket_s + slack, k))
        reaching[trip.destination].append((trip.end - trip.bucket_s - slack, trip.end + slack, k))

    def first(windows: Mapping[str, list[tuple[int, int, int]]], station: str, t: int) -> int:
        return next((k for lo, hi, k in windows.get(station, ()) if lo <= t <= hi), -1)

    left_on = np.array([first(leaving, s.station, s.end) for s in sessions], dtype=np.int64)
    arrived_on = np.array([first(reaching, s.station, s.start) for s in sessions], dtype=np.int64)
    names = sorted({t.destination for t in observation.trips})
    code = {name: n for n, name in enumerate(names)}
    went_to = np.array(
        [code[observation.trips[k].destination] if k >= 0 else -1 for k in left_on.tolist()],
        dtype=np.int64,
    )
    return left_on, arrived_on, went_to


# -- features -----------------------------------------------------------------------------------


def _circular_gap(
    a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Distance between two times of day in units of 12 h (0..1)."""
    gap = np.abs(a - b) % 24.0
    return np.minimum(gap, 24.0 - gap) / 12.0


@dataclass(frozen=True)
class _Habit:
    """Each session's habit: the means of the sessions it links back to (itself included)."""

    #: (n, HABIT_DEPTH) stations of the chain's sessions, -1 where the chain stops.
    stations: npt.NDArray[np.int64]
    hour_sin: npt.NDArray[np.float64]
    hour_cos: npt.NDArray[np.float64]
    log_kwh: npt.NDArray[np.float64]
    log_duration: npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Habits:
    """Habits followed back (a candidate's earlier sessions) and forward (a query's later
    sessions): an offline observer compares the two chains, not just two sessions."""

    back: _Habit
    forward: _Habit


def _no_habits(table: _Table) -> _Habits:
    return _Habits(_no_habit(table), _no_habit(table))


def _no_habit(table: _Table) -> _Habit:
    angle = table.hour / 24.0 * 2 * math.pi
    stations = np.full((len(table.ids), HABIT_DEPTH), -1, dtype=np.int64)
    stations[:, 0] = table.station
    return _Habit(
        stations=stations,
        hour_sin=np.sin(angle),
        hour_cos=np.cos(angle),
        log_kwh=table.log_kwh,
        log_duration=table.log_duration,
    )


def _habit_from_links(table: _Table, back: npt.NDArray[np.int64]) -> _Habit:
    """Follow each session's top-1 link (back or forward) ``HABIT_DEPTH`` times and average
    the chain."""
    n = len(table.ids)
    angle = table.hour / 24.0 * 2 * math.pi
    chain = [np.arange(n)]
    for _ in range(HABIT_DEPTH - 1):
        previous = chain[-1]
        step = np.where(previous >= 0, back[np.maximum(previous, 0)], -1)
        chain.append(step)
    members = np.stack(chain, axis=1)  # (n, depth), -1 where the chain stops
    valid = members >= 0
    safe = np.maximum(members, 0)
    count = valid.sum(axis=1)

    def mean(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.asarray((values[safe] * valid).sum(axis=1) / count, dtype=np.float64)

    return _Habit(
        stations=np.where(valid, table.station[safe], -1),
        hour_sin=mean(np.sin(angle)),
        hour_cos=mean(np.cos(angle)),
        log_kwh=mean(table.log_kwh),
        log_duration=mean(table.log_duration),
    )


def _pair_features(
    table: _Table, habits: _Habits, q: npt.NDArray[np.int64], c: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """The feature matrix (len(q), len(_FEATURES)) of the pairs (q[i], c[i])."""
    habit, ahead = habits.back, habits.forward
    hour_gap = _circular_gap(table.hour[q], table.hour[c])
    end_gap = _circular_gap(table.end_hour[q], table.end_hour[c])
    kwh_gap = np.abs(table.log_kwh[q] - table.log_kwh[c])
    dwell_s = (table.start[q] - table.end[c]).astype(np.float64)
    position_gap = np.abs(table.position[q] - table.position[c])
    q_angle = table.hour[q] / 24.0 * 2 * math.pi
    habit_hour = np.hypot(np.sin(q_angle) - habit.hour_sin[c], np.cos(q_angle) - habit.hour_cos[c])
    habit_station = 1.0 - (habit.stations[c] == table.station[q][:, None]).any(axis=1)
    ahead_stations = ahead.stations[q]
    shared = (ahead_stations[:, :, None] == habit.stations[c][:, None, :]).any(axis=2)
    known = ahead_stations >= 0
    habits_station = 1.0 - (shared & known).sum(axis=1) / known.sum(axis=1)
    habits_hour = np.hypot(
        ahead.hour_sin[q] - habit.hour_sin[c], ahead.hour_cos[q] - habit.hour_cos[c]
    )
    columns = (
        (table.station[q] != table.station[c]).astype(np.float64),
        hour_gap,
        hour_gap**2,
        hour_gap * table.weekend[q],
        end_gap,
        end_gap**2,
        (dwell_s < 0).astype(np.float64),
        kwh_gap,
        kwh_gap**2,
        np.abs(table.log_duration[q] - table.log_duration[c]),
        np.log1p(np.maximum(dwell_s, 0.0) / _HOUR),
        np.nan_to_num(position_gap, nan=0.0),
        table.departs[c],
        table.departs[c] * table.arrives[q],
        ((table.left_on[c] >= 0) & (table.left_on[c] == table.arrived_on[q])).astype(np.float64),
        ((table.went_to[q] >= 0) & (table.went_to[q] == table.went_to[c])).astype(np.float64),
        (
            (table.went_to[q] >= 0)
            & (table.went_to[c] >= 0)
            & (table.went_to[q] != table.went_to[c])
        ).astype(np.float64),
        np.log1p(hour_gap * 12.0 * 4.0),
        np.log1p(end_gap * 12.0 * 4.0),
        np.log1p(np.abs(np.exp(table.log_kwh[q]) - np.exp(table.log_kwh[c]))),
        np.log1p(np.abs(np.exp(table.log_duration[q]) - np.exp(table.log_duration[c]))),
        habit_station,
        habit_hour,
        np.abs(table.log_kwh[q] - habit.log_kwh[c]),
        np.abs(table.log_duration[q] - habit.log_duration[c]),
        habits_station,
        habits_hour,
        np.abs(ahead.log_kwh[q] - habit.log_kwh[c]),
        np.abs(ahead.log_duration[q] - habit.log_duration[c]),
    )
    return np.stack(columns, axis=1)


def _feature_mask(signals: Sequence[Signal]) -> npt.NDArray[np.bool_]:
    given = set(signals)
    return np.array([set(needs) <= given for _, needs in _FEATURES])


# -- queries ------------------------------------------------------------------------------------


def _queries(table: _Table, users: Sequence[str | None]) -> npt.NDArray[np.int64]:
    """Sessions of a user who also has a session the day before (the task's queries)."""
    by_day_user = {(int(table.day[k]), users[k]) for k in range(len(users)) if users[k]}
    return np.array(
        [
            k
            for k in range(len(users))
            if users[k] is not None and (int(table.day[k]) - 1, users[k]) in by_day_user
        ],
        dtype=np.int64,
    )


def _blocks(table: _Table, d: int) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """Day ``d``'s sessions and the previous day's they are compared with, as (rows, columns)
    blocks: the whole two days, or, past ``BLOCK_LIMIT`` candidates, station by station (a
    candidate at another station then ranks after every one at the query's own)."""
    if d not in table.days or d - 1 not in table.days:
        return []
    rows = np.arange(*table.days[d], dtype=np.int64)
    columns = np.arange(*table.days[d - 1], dtype=np.int64)
    if len(columns) <= BLOCK_LIMIT:
        return [(rows, columns)]
    out = []
    for station in np.unique(table.station[rows]).tolist():
        at = columns[table.station[columns] == station]
        if len(at):
            out.append((rows[table.station[rows] == station], at))
    return out


def _pairs(
    table: _Table, queries: npt.NDArray[np.int64]
) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """Per block (``_blocks``) of the queries' days, the block's queries and all their pairs
    with its candidates: (queries, q index per pair, c index per pair), grouped by query."""
    wanted = np.zeros(len(table.ids), dtype=bool)
    wanted[queries] = True
    for d in sorted({int(table.day[k]) for k in queries.tolist()}):
        for rows, candidates in _blocks(table, d):
            block_queries = rows[wanted[rows]]
            if not len(block_queries):
                continue
            yield (
                block_queries,
                np.repeat(block_queries, len(candidates)),
                np.tile(candidates, len(block_queries)),
            )


def _users_of(table: _Table, truth: GroundTruth) -> list[str | None]:
    return [truth.session_user.get(i) for i in table.ids]


# -- the model ----------------------------------------------------------------------------------


def _fit(
    features: npt.NDArray[np.float64],
    positive: npt.NDArray[np.bool_],
    group_starts: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """Conditional-logit weights: maximise the log of each query's softmax mass on its positive
    candidates (queries are contiguous groups starting at ``group_starts``).

    Damped Newton steps with the Fisher matrix of the all-candidates softmax (positive
    semi-definite; the L2 term makes it definite) and a backtracking line search: a few
    dozen small numpy products, where scipy's L-BFGS-B spent most of its time in its own
    bookkeeping on these 20-30 weights.
    """
    groups = len(group_starts)
    group_of = np.repeat(np.arange(groups), np.diff(np.append(group_starts, len(positive))))

    def loss_and_parts(
        w: npt.NDArray[np.float64],
    ) -> tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        z = features @ w
        top = np.maximum.reduceat(z, group_starts)
        e = np.exp(z - top[group_of])
        total = np.add.reduceat(e, group_starts)
        # The positives' mass relative to their own best (every group has one): a trial step
        # that ranks them far below the rest would underflow a mass taken from ``top``.
        z_pos = np.where(positive, z, -np.inf)
        top_pos = np.maximum.reduceat(z_pos, group_starts)
        e_pos = np.exp(z_pos - top_pos[group_of])
        mass = np.add.reduceat(e_pos, group_starts)
        p_all = e / total[group_of]
        p_pos = e_pos / mass[group_of]
        log_ratio = top + np.log(total) - top_pos - np.log(mass)
        loss = float(np.sum(log_ratio)) / groups + L2 * float(w @ w)
        return loss, p_all, p_pos

    w = np.zeros(features.shape[1])
    loss, p_all, p_pos = loss_and_parts(w)
    for _ in range(NEWTON_STEPS):
        grad = features.T @ (p_all - p_pos) / groups + 2 * L2 * w
        weighted = features * p_all[:, None]
        means = np.add.reduceat(weighted, group_starts)
        fisher = (weighted.T @ features - means.T @ means) / groups
        step = np.linalg.solve(fisher + 2 * L2 * np.eye(len(w)), grad)
        scale = 1.0
        while scale > 1e-4:
            candidate = w - scale * step
            new_loss, new_all, new_pos = loss_and_parts(candidate)
            if new_loss <= loss - 1e-4 * scale * float(grad @ step):
                break
            scale /= 2
        else:
            break
        converged = loss - new_loss < 1e-9
        w, loss, p_all, p_pos = candidate, new_loss, new_all, new_pos
        if converged:
            break
    return w


def _training_set(
    table: _Table,
    habit: _Habits,
    users: Sequence[str | None],
    queries: npt.NDArray[np.int64],
    mask: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    blocks: list[npt.NDArray[np.float64]] = []
    positives: list[npt.NDArray[np.bool_]] = []
    starts: list[int] = []
    offset = 0
    user_code = {u: k for k, u in enumerate(sorted({u for u in users if u is not None}))}
    codes = np.array([user_code.get(u, -1) if u is not None else -1 for u in users])
    for day_queries, all_q, all_c in _pairs(table, queries):
        width = len(all_q) // len(day_queries)
        positive = (codes[all_q] == codes[all_c]) & (codes[all_q] >= 0)
        # A query whose user's previous-day sessions lie in another block teaches nothing here.
        keep = np.repeat(positive.reshape(len(day_queries), width).any(axis=1), width)
        if not keep.any():
            continue
        q, c, positive = all_q[keep], all_c[keep], positive[keep]
        blocks.append(_pair_features(table, habit, q, c)[:, mask])
        positives.append(positive)
        starts.extend(range(offset, offset + len(q), width))
        offset += len(q)
    if not blocks:
        raise UsageError("link", "no training user has sessions on two consecutive days")
    return np.concatenate(blocks), np.concatenate(positives), np.array(starts, dtype=np.int64)


def fit_habit_model(
    observation: Observation,
    truth: GroundTruth,
    users: Sequence[str],
    *,
    signals: Sequence[Signal] = ALL_SIGNALS,
) -> HabitModel:
    """Fit the pair-feature weights on ``users``' previous-day queries only (module doc).

    Two passes: the first without habit features; its top-1 links give each session its habit
    (the sessions it links back to), and the second fits every feature with those habits.

    Raises:
        UsageError: ("link") none of ``users`` has sessions on two consecutive days.
    """
    return _fit_on(_table(observation), truth, users, tuple(signals))


@dataclass(frozen=True)
class _Weights:
    features: tuple[str, ...]
    weights: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]

    def score(
        self, table: _Table, habit: _Habits, q: npt.NDArray[np.int64], c: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        mask = np.array([name in self.features for name in _FEATURE_NAMES])
        features = _pair_features(table, habit, q, c)[:, mask]
        return np.asarray(features / self.scale @ self.weights, dtype=np.float64)


def _fit_on(
    table: _Table, truth: GroundTruth, users: Sequence[str], signals: tuple[Signal, ...]
) -> HabitModel:
    everyone = _users_of(table, truth)
    chosen = set(users)
    queries = _queries(table, [u if u in chosen else None for u in everyone])
    mask = _feature_mask(signals)
    first_mask = mask & ~np.array([name.startswith("habit") for name in _FEATURE_NAMES])
    first = _train(table, _no_habits(table), everyone, queries, first_mask)
    second = _train(table, _linked_habits(table, first), everyone, queries, mask)
    return HabitModel(
        signals=signals,
        features=second.features,
        weights=tuple(float(w) for w in second.weights),
        scale=tuple(float(x) for x in second.scale),
        link_features=first.features,
        link_weights=tuple(float(w) for w in first.weights),
        link_scale=tuple(float(x) for x in first.scale),
        training_users=len(chosen),
        training_queries=len(queries),
    )


def _train(
    table: _Table,
    habit: _Habits,
    users: Sequence[str | None],
    queries: npt.NDArray[np.int64],
    mask: npt.NDArray[np.bool_],
) -> _Weights:
    features, positive, starts = _training_set(table, habit, users, queries, mask)
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    weights = _fit(features / scale, positive, starts)
    names = tuple(name for name, keep in zip(_FEATURE_NAMES, mask, strict=True) if keep)
    return _Weights(names, weights, scale)


def _linked_habits(table: _Table, weights: _Weights) -> _Habits:
    """Habits from the first pass's top-1 links (mutual fit, see ``_rankings``): each
    session's best previous-day session, and its best next-day one."""
    n = len(table.ids)
    back = np.full(n, -1, dtype=np.int64)
    forward = np.full(n, -1, dtype=np.int64)
    plain = _no_habits(table)
    for d in table.days:
        for rows, columns in _blocks(table, d):
            full = weights.score(
                table, plain, np.repeat(rows, len(columns)), np.tile(columns, len(rows))
            ).reshape(len(rows), len(columns))
            mutual = _log_softmax(full, 1) + _log_softmax(full, 0)
            back[rows] = columns[np.argmax(mutual, axis=1)]
            forward[columns] = rows[np.argmax(mutual, axis=0)]
    return _Habits(_habit_from_links(table, back), _habit_from_links(table, forward))


def _prepare(model: HabitModel, table: _Table) -> tuple[_Weights, _Habits]:
    """The second-pass weights and the habits the first pass reconstructs on ``table``."""
    first = _Weights(model.link_features, np.array(model.link_weights), np.array(model.link_scale))
    habits = _linked_habits(table, first)
    return _Weights(model.features, np.array(model.weights), np.array(model.scale)), habits


# -- ranking and scoring ------------------------------------------------------------------------


def _floor_scores(
    table: _Table, q: npt.NDArray[np.int64], c: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Nearest neighbour on (station, start hour, kWh): same station first, then the distance
    in start hour (circular) and kWh, each divided by its sd over all sessions."""
    kwh = np.exp(table.log_kwh) - 0.5
    hour_sd = float(np.std(table.hour)) or 1.0
    kwh_sd = float(np.std(kwh)) or 1.0
    hour_gap = _circular_gap(table.hour[q], table.hour[c]) * 12.0 / hour_sd
    kwh_gap = (kwh[q] - kwh[c]) / kwh_sd
    distance = (table.station[q] != table.station[c]) * 1e6 + hour_gap**2 + kwh_gap**2
    return np.asarray(-distance, dtype=np.float64)


def _log_softmax(x: npt.NDArray[np.float64], axis: int) -> npt.NDArray[np.float64]:
    top = x.max(axis=axis, keepdims=True)
    return np.asarray(x - top - np.log(np.exp(x - top).sum(axis=axis, keepdims=True)))


def _sinkhorn(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Log of a doubly-normalised match matrix (Sinkhorn), with one slack row and column.

    A session has one predecessor and one successor: normalising rows and columns in turn
    makes a candidate that fits another session of the day better less likely this one's.
    The slack row and column (log-weight ``SLACK``) absorb sessions whose user has no
    session on the other day.
    """
    rows, cols = scores.shape
    log_k = np.full((rows + 1, cols + 1), SLACK)
    log_k[:rows, :cols] = scores
    log_k[rows, cols] = -50.0
    for _ in range(SINKHORN_ROUNDS):
        log_k[:rows] -= np.logaddexp.reduce(log_k[:rows], axis=1, keepdims=True)
        log_k[:, :cols] -= np.logaddexp.reduce(log_k[:, :cols], axis=0, keepdims=True)
    return np.asarray(log_k[:rows, :cols])


def _rankings(
    table: _Table,
    model: HabitModel | None,
    queries: npt.NDArray[np.int64],
    keep: int | None = _TOP,
) -> dict[int, npt.NDArray[np.int64]]:
    """Each query's candidates, best first (ties: the earlier session first), the first
    ``keep`` only (None: all; scoring needs five, and 100k queries of ~1,000 candidates
    each would hold ~1 GB).

    The habit linker scores every session of the query's day against every candidate and
    ranks by the Sinkhorn-normalised matrix (``_sinkhorn``).
    """
    prepared = None if model is None else _prepare(model, table)
    ranked: dict[int, npt.NDArray[np.int64]] = {}
    wanted = np.zeros(len(table.ids), dtype=bool)
    wanted[queries] = True
    for d in sorted({int(table.day[k]) for k in queries.tolist()}):
        if d - 1 not in table.days:
            continue
        everyone = np.arange(*table.days[d - 1], dtype=np.int64)
        for rows, candidates in _blocks(table, d):
            width = len(candidates)
            q, c = np.repeat(rows, width), np.tile(candidates, len(rows))
            if prepared is None:
                grid = _floor_scores(table, q, c).reshape(len(rows), width)
            else:
                weights, habit = prepared
                grid = _sinkhorn(weights.score(table, habit, q, c).reshape(len(rows), width))
            order = np.argsort(-grid, axis=1, kind="stable")
            rest = everyone[~np.isin(everyone, candidates)]
            for row in np.flatnonzero(wanted[rows]).tolist():
                head = candidates[order[row]][:keep]
                if keep is None or len(head) < keep:
                    head = np.concatenate([head, rest])[:keep]
                ranked[int(rows[row])] = head
        # Queries at a station the previous day never saw: every candidate is elsewhere.
        for k in np.arange(*table.days[d], dtype=np.int64)[wanted[slice(*table.days[d])]]:
            ranked.setdefault(int(k), everyone[:keep])
    return ranked


def rank_candidates(
    observation: Observation, model: HabitModel | None, query_ids: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    """For each query session id, the session ids of the previous day, best first.

    ``model`` None ranks by the nearest-neighbour floor (station, start hour, kWh). Unknown
    ids and sessions without a session the day before map to ().
    """
    table = _table(observation)
    known = sorted({table.index[i] for i in query_ids if i in table.index})
    ranked = _rankings(table, model, np.array(known, dtype=np.int64), keep=None)
    result: dict[str, tuple[str, ...]] = {}
    for i in query_ids:
        order = ranked.get(table.index[i]) if i in table.index else None
        result[i] = () if order is None else tuple(table.ids[j] for j in order.tolist())
    return result


def compute_chance(right: int, candidates: int, top: int) -> float:
    """Probability that a uniformly random ranking of ``candidates`` puts one of ``right``
    right ones in its first ``top``: 1 - C(n - k, top) / C(n, top)."""
    if right <= 0 or candidates <= 0:
        return 0.0
    if top >= candidates or right > candidates - top:
        return 1.0
    return 1.0 - math.comb(candidates - right, top) / math.comb(candidates, top)


def compute_wilson(hits: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score 95% interval of a share ``hits / n`` ((0, 1) for n = 0)."""
    if n <= 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class _Hits:
    """Per scored query: its user, top-1 and top-5 hits, and chance levels."""

    users: tuple[str, ...]
    top1: npt.NDArray[np.float64]
    top5: npt.NDArray[np.float64]
    chance1: npt.NDArray[np.float64]
    chance5: npt.NDArray[np.float64]


def _hits(
    table: _Table, users: Sequence[str | None], ranked: Mapping[int, npt.NDArray[np.int64]]
) -> _Hits:
    per_day_user: dict[tuple[int, str | None], int] = defaultdict(int)
    for k, user in enumerate(users):
        per_day_user[(int(table.day[k]), user)] += 1
    top1, top5, chance1, chance5, who = [], [], [], [], []
    for k in sorted(ranked):
        user = users[k]
        assert user is not None  # queries are scored sessions only
        right = [users[j] == user for j in ranked[k][:_TOP].tolist()]
        d = int(table.day[k]) - 1
        lo, hi = table.days[d]
        mine = per_day_user[(d, user)]
        top1.append(float(right[0]))
        top5.append(float(any(right)))
        chance1.append(compute_chance(mine, hi - lo, 1))
        chance5.append(compute_chance(mine, hi - lo, _TOP))
        who.append(user)
    return _Hits(tuple(who), np.array(top1), np.array(top5), np.array(chance1), np.array(chance5))


def _bootstrap(
    groups: Sequence[str], values: Sequence[npt.NDArray[np.float64]], seed: int
) -> npt.NDArray[np.float64]:
    """Resample users with replacement; each row: the mean of each ``values`` array."""
    names = sorted(set(groups))
    code = {name: k for k, name in enumerate(names)}
    member = np.array([code[g] for g in groups])
    sums = np.stack([np.bincount(member, weights=v, minlength=len(names)) for v in values])
    counts = np.bincount(member, minlength=len(names)).astype(np.float64)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 15]))
    draws = rng.multinomial(len(names), np.full(len(names), 1 / len(names)), size=BOOTSTRAP)
    return np.asarray((draws @ sums.T) / (draws @ counts)[:, None], dtype=np.float64)


def score_ranking(
    hits: _Hits, *, linker: str, seed: int, population: str, knowledge: str
) -> LinkScore:
    """A :class:`LinkScore` of per-query hits, with its bootstrap interval over users."""
    low, high = np.percentile(_bootstrap(hits.users, [hits.top1], seed)[:, 0], [2.5, 97.5])
    return LinkScore(
        linker=linker,
        task="previous-day re-link",
        top1=float(hits.top1.mean()),
        top5=float(hits.top5.mean()),
        chance_top1=float(hits.chance1.mean()),
        chance_top5=float(hits.chance5.mean()),
        ci_low=float(low),
        ci_high=float(high),
        ci_method=_CI_METHOD,
        queries=len(hits.users),
        users=len(set(hits.users)),
        population=population,
        knowledge=knowledge,
    )


def compute_folds(users: Sequence[str], seed: int, folds: int) -> dict[str, int]:
    """Each user's fold: users ordered by BLAKE2b(seed, user), then dealt round-robin."""
    ordered = sorted(
        set(users),
        key=lambda u: hashlib.blake2b(f"iome-habits/{seed}/{u}".encode(), digest_size=16).digest(),
    )
    return {u: k % folds for k, u in enumerate(ordered)}


@dataclass(frozen=True)
class CrossFit:
    """The habit linker's rankings of every query, each by a model that never saw its user.

    Computed once per (observation, truth, seed, folds, signals) and shared by the habit,
    follow and trip-matching figures (``cross_fit`` keeps the last one).
    """

    table: _Table
    users: tuple[str | None, ...]
    fold_of: Mapping[str, int]
    models: tuple[HabitModel, ...]
    ranked: Mapping[int, npt.NDArray[np.int64]]


#: The last cross-fit, with the observation and truth it was computed from (compared by
#: identity: they are frozen, and the figures of one run share them).
_LAST: list[tuple[Observation, GroundTruth, tuple[object, ...], CrossFit]] = []


def cross_fit(
    observation: Observation,
    truth: GroundTruth,
    *,
    seed: int,
    folds: int = 5,
    signals: Sequence[Signal] = ALL_SIGNALS,
) -> CrossFit:
    """Rank every query of ``observation`` with models fitted on the other folds' users.

    Raises:
        UsageError: ("link") fewer than ``folds`` users or ``folds`` below 2, or a fold's
            training users never charge on two consecutive days.
    """
    key = (seed, folds, tuple(signals))
    for seen_observation, seen_truth, seen_key, seen_fit in _LAST:
        if seen_observation is observation and seen_truth is truth and seen_key == key:
            return seen_fit
    table = _table(observation)
    users = _users_of(table, truth)
    named = sorted({u for u in users if u is not None})
    if folds < 2 or len(named) < folds:
        raise UsageError(
            "link", f"habit linker: expected >= {max(folds, 2)} users, found {len(named)}"
        )
    fold_of = compute_folds(named, seed, folds)
    queries = _queries(table, users)
    ranked: dict[int, npt.NDArray[np.int64]] = {}
    models = []
    for fold in range(folds):
        training = [u for u in named if fold_of[u] != fold]
        model = _fit_on(table, truth, training, tuple(signals))
        models.append(model)
        scored = np.array([k for k in queries.tolist() if fold_of[users[k] or ""] == fold])
        ranked.update(_rankings(table, model, scored.astype(np.int64)))
    fit = CrossFit(table, tuple(users), fold_of, tuple(models), ranked)
    _LAST[:] = [(observation, truth, key, fit)]
    return fit


def hits_of(fit: CrossFit) -> _Hits:
    """The per-query hits of a cross-fit's rankings, for :func:`score_ranking`."""
    return _hits(fit.table, fit.users, fit.ranked)


def linked_habit_stations(
    fit: CrossFit, observation: Observation, *, depth: int = HABIT_DEPTH
) -> dict[str, frozenset[str]]:
    """Each session's habit as stations: its own and those of the sessions it links back to
    (top-1 links of the first pass), each by the model of its user's fold (fold 0 for
    sessions without a user). ``observation`` must be the one ``fit`` was computed from."""
    table = fit.table
    del observation  # the table already holds it; the argument documents the pairing
    out: dict[str, frozenset[str]] = {}
    for fold, model in enumerate(fit.models):
        first = _Weights(
            model.link_features, np.array(model.link_weights), np.array(model.link_scale)
        )
        stations = _linked_habits(table, first).back.stations[:, :depth]
        for k, user in enumerate(fit.users):
            if fit.fold_of.get(user or "", 0) == fold:
                out[table.ids[k]] = frozenset(
                    table.station_names[c] for c in stations[k].tolist() if c >= 0
                )
    return out


def evaluate_habits(
    observation: Observation,
    truth: GroundTruth,
    *,
    seed: int,
    population: str,
    signals: Sequence[Signal] = ALL_SIGNALS,
    folds: int = 5,
) -> HabitReport:
    """Score the habit linker and the floor on the previous-day re-link task (module doc).

    Users (those ``truth.session_user`` names) are split into ``folds`` folds by
    :func:`compute_folds`; each fold is scored by a model fitted on the other folds. Both
    linkers rank the same queries against the same candidates. ``population`` names the data
    (e.g. "Norway residential, 97 users"); ``observation.knowledge`` is reported as the
    observer's knowledge.

    Raises:
        UsageError: ("link") fewer than ``folds`` users, ``folds`` below 2, or a fold without
            users who charge on two consecutive days.
    """
    fit = cross_fit(observation, truth, seed=seed, folds=folds, signals=signals)
    table, users, ranked, models = fit.table, fit.users, fit.ranked, fit.models
    queries = np.array(sorted(ranked), dtype=np.int64)
    floor_ranked = _rankings(table, None, queries)
    habit_hits, floor_hits = _hits(table, users, ranked), _hits(table, users, floor_ranked)
    if not habit_hits.users:
        raise UsageError("link", "habit linker: no user charges on two consecutive days")
    knowledge = "; ".join(observation.knowledge) or "the public sessions only"
    habit = score_ranking(
        habit_hits, linker="habit", seed=seed, population=population, knowledge=knowledge
    )
    floor = score_ranking(
        floor_hits,
        linker="nearest-neighbour (station, start hour, kWh)",
        seed=seed,
        population=population,
        knowledge=knowledge,
    )
    paired = _bootstrap(habit_hits.users, [habit_hits.top1, floor_hits.top1], seed)
    low, high = np.percentile(100 * (paired[:, 0] - paired[:, 1]), [2.5, 97.5])
    return HabitReport(
        habit=habit,
        floor=floor,
        margin_points=100 * (habit.top1 - floor.top1),
        margin_ci=(float(low), float(high)),
        split=(
            f"{folds} folds of users by BLAKE2b(seed {seed}, user); each fold scored by a "
            f"model fitted on the other folds' users only"
        ),
        seed=seed,
        models=tuple(models),
    )
