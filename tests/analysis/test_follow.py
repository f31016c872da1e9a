"""Following users session after session, and matching sessions to trips."""

from __future__ import annotations

from collections import defaultdict

import pytest

from iome_ref.analysis.follow import compute_follow, match_sessions_to_trips
from iome_ref.analysis.observations import (
    GroundTruth,
    Observation,
    ObservedSession,
    ObservedTrip,
    ObservedTripEnd,
)
from iome_ref.errors import UsageError
from tests.analysis.habit_data import DAY, habit_population


def _streaks(observation: Observation, truth: GroundTruth) -> dict[str, int]:
    """Longest run of sessions on consecutive days, per user (one session a day here)."""
    days: dict[str, list[int]] = defaultdict(list)
    for s in observation.sessions:
        user = truth.session_user[s.session_id]
        assert user is not None
        days[user].append(s.start // DAY)
    longest = {}
    for user, own in days.items():
        best = run = 0
        previous = None
        for d in sorted(own):
            run = run + 1 if previous is not None and d == previous + 1 else 1
            best, previous = max(best, run), d
        longest[user] = best
    return longest


def test_accepts_follow_lengths_where_stations_give_users_away() -> None:
    """One user per station: every previous-day link is right, so a user is followed exactly
    as long as they charge on consecutive days."""
    observation, truth = habit_population(users=6, days=20, stations=6)
    report = compute_follow(observation, truth, seed=2, population="one user per station")
    streaks = sorted(_streaks(observation, truth).values())
    assert report.users == 6
    assert report.sessions == len(observation.sessions)
    for length, share in report.curve:
        assert share == pytest.approx(sum(s >= length for s in streaks) / 6)
    assert report.followed_3 == pytest.approx(sum(s >= 3 for s in streaks) / 6)
    assert report.followed_7 == pytest.approx(sum(s >= 7 for s in streaks) / 6)
    assert report.followed_3_ci[0] <= report.followed_3 <= report.followed_3_ci[1]


def test_accepts_follow_curve_falls() -> None:
    observation, truth = habit_population(users=24, days=15, stations=2, cover=1)
    report = compute_follow(observation, truth, seed=1, population="p")
    shares = [share for _, share in report.curve]
    assert shares[0] == 1.0
    assert shares == sorted(shares, reverse=True)
    assert report.followed_7 <= report.followed_3


def _session(sid: str, station: str, start: int, end: int) -> ObservedSession:
    return ObservedSession(sid, station, start, end, 5_000, f"k-{sid}")


def test_accepts_trip_matching_by_timing() -> None:
    """Three vehicles leave A 10 min apart for B, C, D (all 600 s away): the least slack
    pairs each departure with its own arrival; a fourth arrival is a decoy too late."""
    t0 = 1_704_067_200
    sessions, ends, trips = [], [], []
    pairs, owner = {}, {}
    for k, (dest, shift) in enumerate((("B", 0), ("C", 600), ("D", 1200))):
        depart, arrive = t0 + shift, t0 + shift + 600
        sessions += [_session(f"d{k}", "A", depart - 3600, depart)]
        sessions += [_session(f"a{k}", dest, arrive, arrive + 3600)]
        ends.append(
            ObservedTripEnd(f"dep:d{k}", "departure", "A", f"k-d{k}", depart, depart, f"d{k}")
        )
        ends.append(
            ObservedTripEnd(f"arr:a{k}", "arrival", dest, f"k-a{k}", arrive, arrive, f"a{k}")
        )
        trips.append(ObservedTrip(f"t{k}", "A", dest, depart, arrive))
        pairs[f"dep:d{k}"] = f"arr:a{k}"
        owner[f"d{k}"] = owner[f"a{k}"] = f"v{k}"
    late = t0 + 4 * 3600
    sessions.append(_session("x", "B", late, late + 60))
    ends.append(ObservedTripEnd("arr:x", "arrival", "B", "k-x", late, late, "x"))
    travel = {("A", s): 600 for s in "BCD"}
    observation = Observation(
        "simulate", tuple(sessions), tuple(trips), tuple(ends), travel_s=travel
    )
    truth = GroundTruth(session_user=owner, trip_pairs=pairs)
    (one, four) = match_sessions_to_trips(observation, truth, population="three vehicles")
    assert (one.weeks, four.weeks) == (1, 4)
    assert one.sessions == 3
    assert one.correct == 1.0
    # Departure 0 may be any of the three arrivals, 1 the later two, 2 only its own.
    assert one.chance == pytest.approx((1 / 3 + 1 / 2 + 1) / 3)
    assert four.sessions == 3  # four weeks watched: the same three departures


def test_rejects_matching_without_trip_ends() -> None:
    observation, truth = habit_population(users=3, days=3)
    with pytest.raises(UsageError) as caught:
        match_sessions_to_trips(observation, truth, population="p")
    assert caught.value.component == "link"
