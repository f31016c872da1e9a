"""Uniqueness of charging sessions and traces against resolution, beside de Montjoye's curve.

What lives here: how many sessions are unique within their day at a given resolution (place:
station or zone; time: hour or day; energy: kWh bins), and de Montjoye's measure, the share
of users singled out by p of their points, with the published curve as data for the plot. What
must not: plotting (link1's link.py draws), or linking.

de Montjoye et al., "Unique in the Crowd", Sci. Rep. 3, 1376 (2013): with hourly times and
mobile-antenna places, 4 random points single out 95% of 1.5 M people.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from iome_ref.analysis.observations import GroundTruth, Observation

__all__ = [
    "DEFAULT_RESOLUTIONS",
    "DE_MONTJOYE_CURVE",
    "Resolution",
    "UniquenessPoint",
    "UniquenessReport",
    "compute_uniqueness",
]

#: (points p, share of people unique) published by de Montjoye et al. 2013 at hourly,
#: antenna resolution.
DE_MONTJOYE_CURVE: Final[tuple[tuple[int, float], ...]] = ((4, 0.95),)


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
    p of their points (``trace_curve``: ``(p, share)`` for p = 1..5, users with >= p points)."""

    resolution: Resolution
    sessions: int
    unique_in_day: float
    trace_curve: tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class UniquenessReport:
    points: tuple[UniquenessPoint, ...]
    reference_curve: tuple[tuple[int, float], ...]
    users: int
    population: str
    knowledge: str


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
    zone for all). Trace uniqueness draws ``samples`` random p-subsets per user from ``seed``.
    """
    raise NotImplementedError
