"""Following one user: how many consecutive sessions the observer links correctly, and how
well it matches charging sessions to trip ends after one and four weeks of watching.

What lives here: the follow-length figures (issue 15 item 3: users followed for at least 3 and
at least 7 consecutive sessions, and the whole curve for the plot) built on the habit linker's
top-1 links, and the session-trip matching figure. What must not: a linker of its own (the
habit linker is :mod:`iome_ref.analysis.habits`), or reading the ground truth while linking.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from iome_ref.analysis.habits import (
    HABIT_DEPTH,
    CrossFit,
    compute_wilson,
    cross_fit,
    linked_habit_stations,
)
from iome_ref.analysis.observations import GroundTruth, Observation, ObservedTripEnd
from iome_ref.errors import UsageError

__all__ = [
    "FollowReport",
    "TripMatchScore",
    "compute_follow",
    "match_sessions_to_trips",
]


@dataclass(frozen=True)
class FollowReport:
    """How far the observer follows users, session after session.

    A user's sessions in time order are linked each to the habit linker's top-1 candidate of
    the previous day (models fitted on the other fold of users, as in habits.py); a run is a
    maximal sequence of consecutive sessions each linked to the same user's session. ``curve``
    holds ``(length, share of scored users with a run of at least length)`` for lengths 1..30;
    ``followed_3``/``followed_7`` are its values at 3 and 7, with 95% Wilson intervals over
    users.
    """

    users: int
    sessions: int
    followed_3: float
    followed_3_ci: tuple[float, float]
    followed_7: float
    followed_7_ci: tuple[float, float]
    longest_median: float
    curve: tuple[tuple[int, float], ...]
    population: str
    knowledge: str


@dataclass(frozen=True)
class TripMatchScore:
    """Sessions matched to the trip end that started them, after ``weeks`` of observation.

    ``correct``: share of scored sessions (those the ground truth ties to a trip) whose
    matched trip end is that trip's arrival; ``chance``: a uniform pick among the arrival ends
    at the session's station within the observer's window; 95% Wilson interval. None when
    no session could be scored.
    """

    weeks: int
    sessions: int
    correct: float | None
    ci_low: float
    ci_high: float
    chance: float | None
    population: str
    knowledge: str


#: Longest follow length on the curve.
CURVE_LENGTH: Final = 30
#: An arrival is a candidate for a departure if it ends at most this long after the earliest
#: possible arrival (the trip's shortest travel time after the departure).
MATCH_SLACK_S: Final = 2 * 3_600
_WEEK: Final = 7 * 86_400


def _runs(fit: CrossFit) -> dict[str, int]:
    """Each named user's longest run of consecutive sessions linked to one another."""
    table, users = fit.table, fit.users
    right = {k: users[int(order[0])] == users[k] for k, order in fit.ranked.items() if len(order)}
    sessions: dict[str, list[int]] = defaultdict(list)
    for k, user in enumerate(users):
        if user is not None:
            sessions[user].append(k)
    longest: dict[str, int] = {}
    for user, own in sessions.items():
        best = run = 0
        for k in sorted(own, key=lambda k: (int(table.start[k]), k)):
            run = run + 1 if run and right.get(k, False) else 1
            best = max(best, run)
        longest[user] = best
    return longest


def compute_follow(
    observation: Observation, truth: GroundTruth, *, seed: int, population: str
) -> FollowReport:
    """Follow-length figures of the habit linker on ``observation`` (class doc).

    A session extends its user's run when the habit linker's top-1 previous-day candidate for
    it is the same user's (a session without a previous-day session of its user ends the
    run: this observer links day to day).

    Raises:
        UsageError: ("link") fewer users than folds, or none charging on two consecutive days.
    """
    fit = cross_fit(observation, truth, seed=seed)
    longest = _runs(fit)
    n = len(longest)
    lengths = np.array(sorted(longest.values()))
    curve = tuple(
        (length, float(np.mean(lengths >= length))) for length in range(1, CURVE_LENGTH + 1)
    )
    at_least_3 = int(np.sum(lengths >= 3))
    at_least_7 = int(np.sum(lengths >= 7))
    return FollowReport(
        users=n,
        sessions=sum(u is not None for u in fit.users),
        followed_3=at_least_3 / n,
        followed_3_ci=compute_wilson(at_least_3, n),
        followed_7=at_least_7 / n,
        followed_7_ci=compute_wilson(at_least_7, n),
        longest_median=float(np.median(lengths)),
        curve=curve,
        population=population,
        knowledge="; ".join(observation.knowledge) or "the public sessions only",
    )


def _candidates(
    departure: ObservedTripEnd,
    arrivals: Sequence[ObservedTripEnd],
    travel_s: Mapping[tuple[str, str], int] | None,
) -> list[tuple[float, ObservedTripEnd]]:
    """Arrivals the departing vehicle could be, with the slack beyond the shortest trip."""
    out = []
    for arrival in arrivals:
        if arrival.station == departure.station:
            continue
        travel = 0 if travel_s is None else travel_s.get((departure.station, arrival.station))
        if travel is None:
            continue
        earliest = departure.time_lo + travel
        if (
            arrival.time_hi < earliest
            or arrival.time_lo > departure.time_hi + travel + MATCH_SLACK_S
        ):
            continue
        out.append((max(arrival.time_lo - earliest, 0) / 3_600, arrival))
    return out


def match_sessions_to_trips(
    observation: Observation,
    truth: GroundTruth,
    *,
    weeks: Sequence[int] = (1, 4),
    population: str,
    seed: int = 1,
) -> tuple[TripMatchScore, ...]:
    """Match each departure end (a session that ended as a trip left) to its arrival end.

    The observer ranks the arrivals the vehicle could have made (other station, reachable in
    the shortest travel time, at most ``MATCH_SLACK_S`` later) by two things: whether the
    arrival's habit (the stations of the sessions the habit linker links it back to, within
    the weeks watched) includes the departure's station, and then the least slack. After
    ``w`` weeks the observer has watched only the first ``w`` weeks: its habits are shorter,
    and only departures within them are scored. A departure is scored when the ground truth
    pairs it with an arrival the observer sees.

    Raises:
        UsageError: ("link") no trip ends to match.
    """
    if not observation.trip_ends:
        raise UsageError("link", "session-trip matching: the observation has no trip ends")
    first = min(e.time_lo for e in observation.trip_ends)
    knowledge = "; ".join(observation.knowledge) or "the public records only"
    scores = []
    for w in weeks:
        horizon = first + w * _WEEK
        watched = Observation(
            source=observation.source,
            sessions=tuple(s for s in observation.sessions if s.start < horizon),
            trips=tuple(t for t in observation.trips if t.end < horizon),
            trip_ends=tuple(e for e in observation.trip_ends if e.time_lo < horizon),
            stations=observation.stations,
            travel_s=observation.travel_s,
            resolution_s=observation.resolution_s,
            delay_s=observation.delay_s,
            knowledge=observation.knowledge,
        )
        habits = _habit_stations(watched, truth, seed)
        arrivals = [e for e in watched.trip_ends if e.kind == "arrival"]
        hits = scored = 0
        chance = 0.0
        for departure in (e for e in watched.trip_ends if e.kind == "departure"):
            answer = truth.trip_pairs.get(departure.end_id)
            if answer is None or not any(a.end_id == answer for a in arrivals):
                continue
            options = _candidates(departure, arrivals, watched.travel_s)
            if not options:
                continue
            scored += 1
            chance += 1 / len(options)
            best = min(
                options,
                key=lambda o: (
                    departure.station not in habits.get(o[1].session_id or "", frozenset()),
                    o[0],
                    o[1].end_id,
                ),
            )
            hits += best[1].end_id == answer
        low, high = compute_wilson(hits, scored)
        scores.append(
            TripMatchScore(
                weeks=w,
                sessions=scored,
                correct=hits / scored if scored else None,
                ci_low=low,
                ci_high=high,
                chance=chance / scored if scored else None,
                population=population,
                knowledge=knowledge,
            )
        )
    return tuple(scores)


def _habit_stations(
    observation: Observation, truth: GroundTruth, seed: int
) -> dict[str, frozenset[str]]:
    """Each session's habit stations (``HABIT_DEPTH`` sessions linked back), by models fitted
    on the other folds' users; empty when too few users charge on consecutive days."""
    try:
        fit = cross_fit(observation, truth, seed=seed)
    except UsageError:
        return {}
    return linked_habit_stations(fit, observation, depth=HABIT_DEPTH)
