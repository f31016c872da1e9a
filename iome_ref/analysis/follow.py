"""Following one user: how many consecutive sessions the observer links correctly, and how
well it matches charging sessions to trip ends after one and four weeks of watching.

What lives here: the follow-length figures (issue 15 item 3: users followed for at least 3 and
at least 7 consecutive sessions, and the whole curve for the plot) built on the habit linker's
top-1 links, and the session-trip matching figure. What must not: a linker of its own (the
habit linker is :mod:`iome_ref.analysis.habits`), or reading the ground truth while linking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from iome_ref.analysis.observations import GroundTruth, Observation

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
    at the session's station within the observer's window; 95% Wilson interval.
    """

    weeks: int
    sessions: int
    correct: float
    ci_low: float
    ci_high: float
    chance: float
    population: str
    knowledge: str


def compute_follow(
    observation: Observation, truth: GroundTruth, *, seed: int, population: str
) -> FollowReport:
    """Follow-length figures of the habit linker on ``observation`` (class doc).

    Raises:
        UsageError: ("link") fewer than two users with previous-day pairs.
    """
    raise NotImplementedError


def match_sessions_to_trips(
    observation: Observation,
    truth: GroundTruth,
    *,
    weeks: Sequence[int] = (1, 4),
    population: str,
) -> tuple[TripMatchScore, ...]:
    """Match each session to an arrival end at its station, for the first ``weeks`` of data.

    The observer picks the arrival whose time window ends closest before the session's start
    (ties: the earlier end id); later weeks of data are not used for an earlier figure.
    """
    raise NotImplementedError
