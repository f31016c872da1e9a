"""Uniqueness of charging sessions and traces against resolution, beside de Montjoye's curve.

What lives here: how many sessions are unique within their day at a given resolution (place:
station or zone; time: hour or day; energy: kWh bins), and de Montjoye's measure, the share
of users singled out by p of their points, with the published curve as data for the plot. What
must not: plotting (link1's link.py draws), or linking.

de Montjoye et al., "Unique in the Crowd", Sci. Rep. 3, 1376 (2013): with hourly times and
mobile-antenna places, 4 random points single out 95% of 1.5 M people, and uniqueness
"decays approximately as the 1/10 power of their resolution". :data:`DE_MONTJOYE_CURVE` is
that published point; :data:`DE_MONTJOYE_DECAY` the stated decay law from it (an
approximation the paper gives, not its measured points), for the plot beside ours.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from iome_ref.analysis.observations import GroundTruth, Observation, ObservedSession
from iome_ref.errors import UsageError

__all__ = [
    "DEFAULT_RESOLUTIONS",
    "DE_MONTJOYE_CURVE",
    "DE_MONTJOYE_DECAY",
    "Resolution",
    "UniquenessPoint",
    "UniquenessReport",
    "compute_uniqueness",
]

#: (points p, share of people unique) published by de Montjoye et al. 2013 at hourly,
#: antenna resolution.
DE_MONTJOYE_CURVE: Final[tuple[tuple[int, float], ...]] = ((4, 0.95),)
#: (coarsening factor of space x time, share unique with 4 points): 0.95 * factor^(-1/10).
DE_MONTJOYE_DECAY: Final[tuple[tuple[int, float], ...]] = tuple(
    (factor, round(0.95 * factor ** (-0.1), 4)) for factor in (1, 2, 4, 8, 16, 32, 64, 128)
)
#: Trace points p on the curve.
MAX_POINTS: Final = 5
_DAY: Final = 86_400
_HOUR: Final = 3_600


@dataclass(frozen=True)
class Resolution:
    """How finely the observer sees a session: place, time and energy bins."""

    place: Literal["station", "zone"]
    time: Literal["hour", "day"]
    kwh_bin: float | None

    @property
    def label(self) -> str:
        """ "station/hour/1kWh": the plot's tick label."""
        energy = "any kWh" if self.kwh_bin is None else f"{self.kwh_bin:g}kWh"
        return f"{self.place}/{self.time}/{energy}"


DEFAULT_RESOLUTIONS: Final[tuple[Resolution, ...]] = (
    Resolution("station", "hour", 1.0),
    Resolution("station", "hour", 5.0),
    Resolution("station", "hour", None),
    Resolution("station", "day", 1.0),
    Resolution("station", "day", None),
    Resolution("zone", "hour", 1.0),
    Resolution("zone", "hour", None),
    Resolution("zone", "day", 5.0),
    Resolution("zone", "day", None),
)


@dataclass(frozen=True)
class UniquenessPoint:
    """One resolution: share of sessions unique within their day, and of users singled out by
    p of their points (``trace_curve``: ``(p, share)`` for p = 1..5 over users with >= p
    points; a p no user reaches has no point)."""

    resolution: Resolution
    sessions: int
    unique_in_day: float
    trace_curve: tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class UniquenessReport:
    """Uniqueness at each resolution, beside de Montjoye's published point and decay law."""

    points: tuple[UniquenessPoint, ...]
    reference_curve: tuple[tuple[int, float], ...]
    reference_decay: tuple[tuple[int, float], ...]
    users: int
    population: str
    knowledge: str


def _point(
    session: ObservedSession, resolution: Resolution, zones: Mapping[str, str] | None
) -> tuple[str, int, int]:
    """A session as the observer sees it at ``resolution``: (place, time bin, kWh bin).

    The time bin is the local hour since the epoch ("hour") or the local day ("day"); the
    kWh bin is ``floor(kWh / bin)``, or 0 when energy is not seen.
    """
    if resolution.place == "station":
        place = session.station
    else:
        place = "*" if zones is None else zones.get(session.station, session.station)
    local = session.local_start
    when = local // _HOUR if resolution.time == "hour" else local // _DAY
    energy = (
        0 if resolution.kwh_bin is None else int(session.energy_wh / 1000 // resolution.kwh_bin)
    )
    return place, when, energy


def _unique_in_day(points: Sequence[tuple[str, int, int]], days: Sequence[int]) -> float:
    """Share of sessions no other session of their day shares a point with."""
    counts: dict[tuple[int, tuple[str, int, int]], int] = defaultdict(int)
    for day, point in zip(days, points, strict=True):
        counts[(day, point)] += 1
    return sum(counts[(d, p)] == 1 for d, p in zip(days, points, strict=True)) / len(points)


def _trace_curve(
    user_points: Mapping[str, Sequence[tuple[str, int, int]]],
    rng: np.random.Generator,
    samples: int,
) -> tuple[tuple[int, float], ...]:
    """de Montjoye's measure: for p = 1..MAX_POINTS, the share of users (with >= p distinct
    points) whom ``samples`` random p-subsets of their points single out, on average."""
    holders: dict[tuple[str, int, int], set[str]] = defaultdict(set)
    distinct = {u: sorted(set(points)) for u, points in user_points.items()}
    for user, points in distinct.items():
        for point in points:
            holders[point].add(user)
    curve = []
    for p in range(1, MAX_POINTS + 1):
        shares = []
        for user in sorted(distinct):
            points = distinct[user]
            if len(points) < p:
                continue
            unique = 0
            for _ in range(samples):
                chosen = rng.choice(len(points), size=p, replace=False)
                common = set.intersection(*(holders[points[int(k)]] for k in chosen))
                unique += common == {user}
            shares.append(unique / samples)
        if shares:  # no user has p points: no point on the curve
            curve.append((p, float(np.mean(shares))))
    return tuple(curve)


def compute_uniqueness(
    observation: Observation,
    truth: GroundTruth,
    *,
    seed: int,
    population: str,
    zones: Mapping[str, str] | None = None,
    resolutions: Sequence[Resolution] = DEFAULT_RESOLUTIONS,
    samples: int = 20,
) -> UniquenessReport:
    """Uniqueness at each resolution (module doc). ``zones`` maps station to zone (None: one
    zone for all). Every charge session counts in the crowd (cover traffic too); traces are
    those of users the ground truth names. Trace uniqueness draws ``samples`` random
    p-subsets per user from ``seed``.

    Raises:
        UsageError: ("link") no charge sessions.
    """
    sessions = [s for s in observation.sessions if s.direction == "charge"]
    if not sessions:
        raise UsageError("link", "uniqueness: no charge sessions")
    days = [s.local_start // _DAY for s in sessions]
    users = [truth.session_user.get(s.session_id) for s in sessions]
    out = []
    for k, resolution in enumerate(resolutions):
        points = [_point(s, resolution, zones) for s in sessions]
        per_user: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
        for user, point in zip(users, points, strict=True):
            if user is not None:
                per_user[user].append(point)
        rng = np.random.default_rng(np.random.SeedSequence([seed, 17, k]))
        out.append(
            UniquenessPoint(
                resolution=resolution,
                sessions=len(sessions),
                unique_in_day=_unique_in_day(points, days),
                trace_curve=_trace_curve(per_user, rng, samples),
            )
        )
    return UniquenessReport(
        points=tuple(out),
        reference_curve=DE_MONTJOYE_CURVE,
        reference_decay=DE_MONTJOYE_DECAY,
        users=len({u for u in users if u is not None}),
        population=population,
        knowledge="; ".join(observation.knowledge) or "the public sessions only",
    )
