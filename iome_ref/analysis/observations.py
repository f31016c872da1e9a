"""The observer's view of a history, kept apart from the ground truth that scores it.

What lives here: frozen records of what a chain observer (or a reader of a real data set)
sees, the bundle ``Observation`` that states what the observer knows, and ``GroundTruth``,
which only scoring code may read. Every analysis (forced links, Z3, habits, follow,
uniqueness, ablation) takes an ``Observation``; none takes a ``GroundTruth`` except to score.
Keeping them in two objects makes "the observer used the answer" a type error, not a review
finding.

Times are UTC seconds. A published time is known only as a window ``[lo, hi]`` (coarsening and
publication delay widen it); an exact time has ``lo == hi``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "EndKind",
    "GroundTruth",
    "Observation",
    "ObservedSession",
    "ObservedTrip",
    "ObservedTripEnd",
    "Source",
    "Station",
    "TravelMatrix",
]

Source = Literal["db", "simulate", "sessions", "trips"]
EndKind = Literal["departure", "arrival"]


@dataclass(frozen=True)
class Station:
    """A station as public data names it; coordinates only when a stations file gives them."""

    station: str
    name: str = ""
    lat: float | None = None
    lon: float | None = None


class TravelMatrix(Mapping[tuple[str, str], int]):
    """Shortest travel times as a dense matrix, read as ``{(a, b): seconds}``.

    Why not a dict: a city of a few thousand stations has millions of pairs, and a dict of
    them costs gigabytes and seconds to build; the fast path reads the matrix directly.
    Negative entries are unreachable pairs (absent from the mapping).
    """

    def __init__(self, names: tuple[str, ...], seconds: npt.NDArray[np.int64]) -> None:
        self.names = names
        self.index = {name: i for i, name in enumerate(names)}
        self.seconds = seconds

    def __getitem__(self, key: tuple[str, str]) -> int:
        i, j = self.index.get(key[0]), self.index.get(key[1])
        if i is None or j is None or self.seconds[i, j] < 0:
            raise KeyError(key)
        return int(self.seconds[i, j])

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for i, j in zip(*np.nonzero(self.seconds >= 0), strict=True):
            yield self.names[int(i)], self.names[int(j)]

    def __len__(self) -> int:
        return int(np.count_nonzero(self.seconds >= 0))


@dataclass(frozen=True)
class ObservedSession:
    """One charging session under a one-time key, exactly as a public record shows it.

    ``key`` is the one-time key (a ChargeSession's ``one_time_pk``); for real data sets every
    session is treated as made under a fresh key, so ``key`` is derived from the session id.
    ``block_*`` are the public chain's ordering facts when the source is a ledger (None for
    files): a record's position in its block and the block's time are public too. A session
    whose plug-out the data set does not give (Norway's ``NA``) has ``end == start``.
    """

    session_id: str
    station: str
    start: int
    end: int
    energy_wh: int
    key: str
    direction: Literal["charge", "discharge"] = "charge"
    block_height: int | None = None
    block_position: int | None = None
    block_time: int | None = None
    #: Local time minus UTC at ``start``, seconds: time-of-day and weekday habits are local.
    utc_offset_s: int = 0
    #: Local time minus UTC at ``end`` (None: as at ``start``). A session plugged in over a
    #: daylight-saving switch ends on the other offset (Oslo: +1 h in winter, +2 h in summer).
    end_utc_offset_s: int | None = None

    @property
    def local_start(self) -> int:
        """``start`` on the local clock (seconds since the epoch, as if local were UTC)."""
        return self.start + self.utc_offset_s

    @property
    def local_end(self) -> int:
        """``end`` on the local clock (its own offset: a plug-out's time of day is local)."""
        offset = self.utc_offset_s if self.end_utc_offset_s is None else self.end_utc_offset_s
        return self.end + offset


@dataclass(frozen=True)
class ObservedTrip:
    """A public, anonymous Trip record: stations and published (bucketed) times, no key.

    ``start`` and ``end`` are the published times; the true t1 lies in
    ``[start, start + bucket_s]`` and t2 in ``[end - bucket_s, end]`` (IOME-TRIP-005), each
    widened by any publication delay the observer must allow for.
    """

    trip_id: str
    origin: str
    destination: str
    start: int
    end: int
    bucket_s: int = 1
    block_height: int | None = None
    block_position: int | None = None
    block_time: int | None = None


@dataclass(frozen=True)
class ObservedTripEnd:
    """One keyed end of a trip: a one-time key seen at a station, departing or arriving.

    The paper's PK1 (departure) and PK2 (arrival): the observer sees each key with a station and
    a time window, never which departure goes with which arrival. ``session_id`` names the
    public session that showed the key, when one did.
    """

    end_id: str
    kind: EndKind
    station: str
    key: str
    time_lo: int
    time_hi: int
    session_id: str | None = None


@dataclass(frozen=True)
class Observation:
    """Everything one observer sees, and a statement of what it knows besides.

    ``knowledge`` lists, in words, every assumption the observer makes beyond the records
    (travel-time model, dwell bound, resolution, delay); reports print it beside each figure.
    ``travel_s`` maps (origin, destination) to the shortest travel time in seconds; a pair
    absent from it is unreachable, unless ``travel_s`` is None (no travel model: any pair of
    distinct stations is reachable in no time). ``energy_wh`` maps the same pairs to the
    least energy a trip between them uses (the road graph's), and ``battery_wh`` bounds any
    vehicle's usable battery: with both, Z3 chains trips with the battery carried along
    (:mod:`iome_ref.analysis.z3chains`); None where the observer knows neither.
    """

    source: Source
    sessions: tuple[ObservedSession, ...] = ()
    trips: tuple[ObservedTrip, ...] = ()
    trip_ends: tuple[ObservedTripEnd, ...] = ()
    stations: Mapping[str, Station] = field(default_factory=dict)
    travel_s: Mapping[tuple[str, str], int] | None = None
    energy_wh: Mapping[tuple[str, str], int] | None = None
    battery_wh: int | None = None
    resolution_s: int = 1
    delay_s: int = 0
    knowledge: tuple[str, ...] = ()

    def departures(self) -> tuple[ObservedTripEnd, ...]:
        """The departure ends (PK1s), in the order given."""
        return tuple(e for e in self.trip_ends if e.kind == "departure")

    def arrivals(self) -> tuple[ObservedTripEnd, ...]:
        """The arrival ends (PK2s), in the order given."""
        return tuple(e for e in self.trip_ends if e.kind == "arrival")


@dataclass(frozen=True)
class GroundTruth:
    """Who did what, for scoring only: never passed to an observer.

    ``session_user`` maps a session id to its user or vehicle, or None for cover traffic (seen
    by the observer, never scored). ``end_vehicle`` maps a trip end id to its vehicle;
    ``trip_pairs`` maps a departure end id to the arrival end id of the same trip.
    ``vehicle_ends`` lists each vehicle's ends in time order (departure, arrival, departure,
    ...), which defines its trajectory; ``trip_of_end`` names the trip of each end, and
    ``session_trip`` the trip a public session belongs to, when it does.
    """

    session_user: Mapping[str, str | None] = field(default_factory=dict)
    end_vehicle: Mapping[str, str] = field(default_factory=dict)
    trip_pairs: Mapping[str, str] = field(default_factory=dict)
    vehicle_ends: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    trip_of_end: Mapping[str, str] = field(default_factory=dict)
    session_trip: Mapping[str, str] = field(default_factory=dict)
