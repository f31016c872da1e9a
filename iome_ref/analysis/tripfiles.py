"""Trips files: ``--trips FILE [--stations FILE]``, and the chain view of exact trips.

What lives here: ``ExactTrip`` (a trip as it happened), the trips and stations readers (every
bad line refused with its number), great-circle travel times, and ``trip_observation``: what a
chain shows of the trips when each end is a fresh one-time key (the PK1/PK2 of Fig. 5), with
the ground truth kept apart.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from iome_ref.analysis.inputs import (
    COMPONENT,
    expect_header,
    fail_at,
    fields_of,
    iso_time,
    nonempty,
    published_window,
    read_rows,
    unique,
)
from iome_ref.analysis.observations import (
    GroundTruth,
    Observation,
    ObservedTrip,
    ObservedTripEnd,
    Station,
    TravelMatrix,
)
from iome_ref.errors import UsageError

__all__ = [
    "DEFAULT_SPEED_KMH",
    "STATIONS_HEADER",
    "TRIPS_HEADER",
    "ExactTrip",
    "great_circle_travel",
    "read_stations",
    "read_trips",
    "trip_observation",
]

TRIPS_HEADER: Final = (
    "trip_id",
    "vehicle",
    "start_station",
    "start_iso",
    "end_station",
    "end_iso",
)
STATIONS_HEADER: Final = ("station", "name", "lat", "lon")
#: Great-circle speed used for travel times from a stations file (stated in every report).
DEFAULT_SPEED_KMH: Final = 60.0
_EARTH_RADIUS_KM: Final = 6371.0


@dataclass(frozen=True)
class ExactTrip:
    """A trip as it happened (file or simulation): the truth ``publish`` coarsens."""

    trip_id: str
    vehicle: str
    origin: str
    start: int
    destination: str
    end: int


def read_stations(path: Path) -> dict[str, Station]:
    """``station,name,lat,lon`` rows; latitude in [-90, 90], longitude in [-180, 180].

    Raises:
        UsageError: ("link") with the file and line of the first bad row.
    """
    rows = read_rows(path, ",")
    header = next(rows, None)
    if header is None:
        raise UsageError(COMPONENT, f"{path}: empty file")
    expect_header(path, header[1], STATIONS_HEADER)
    stations: dict[str, Station] = {}
    seen: dict[str, int] = {}
    for line, raw in rows:
        station, name, lat_text, lon_text = fields_of(path, line, raw, len(STATIONS_HEADER))
        nonempty(path, line, "station", station)
        unique(path, line, "station", station, seen)
        lat = _coordinate(path, line, "lat", lat_text, 90.0)
        lon = _coordinate(path, line, "lon", lon_text, 180.0)
        stations[station] = Station(station, name, lat, lon)
    if not stations:
        raise UsageError(COMPONENT, f"{path}: no stations after the header")
    return stations


def _coordinate(path: Path, line: int, field: str, text: str, bound: float) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > bound:
        raise fail_at(
            path, line, f"{field}: expected a number in -{bound:g}..{bound:g}, found {text!r}"
        )
    return value


def read_trips(path: Path, stations: dict[str, Station] | None) -> tuple[ExactTrip, ...]:
    """``trip_id,vehicle,start_station,start_iso,end_station,end_iso`` rows.

    Raises:
        UsageError: ("link") with the file and line of the first bad row: header, field
            count, time, end not after start, same start and end station (IOME-TRIP-006 would
            refuse it), a station absent from ``stations`` (when given), repeated trip id.
    """
    rows = read_rows(path, ",")
    header = next(rows, None)
    if header is None:
        raise UsageError(COMPONENT, f"{path}: empty file")
    expect_header(path, header[1], TRIPS_HEADER)
    trips: list[ExactTrip] = []
    seen: dict[str, int] = {}
    for line, raw in rows:
        trip_id, vehicle, origin, start_iso, destination, end_iso = fields_of(
            path, line, raw, len(TRIPS_HEADER)
        )
        nonempty(path, line, "trip_id", trip_id)
        unique(path, line, "trip_id", trip_id, seen)
        nonempty(path, line, "vehicle", vehicle)
        for field, station in (("start_station", origin), ("end_station", destination)):
            nonempty(path, line, field, station)
            if stations is not None and station not in stations:
                raise fail_at(path, line, f"{field}: unknown station {station!r}")
        if origin == destination:
            raise fail_at(path, line, f"end_station: expected a station other than {origin!r}")
        start, _ = iso_time(path, line, "start_iso", start_iso)
        end, _ = iso_time(path, line, "end_iso", end_iso)
        if end <= start:
            raise fail_at(path, line, f"end_iso: expected after start_iso, found {end - start} s")
        trips.append(ExactTrip(trip_id, vehicle, origin, start, destination, end))
    if not trips:
        raise UsageError(COMPONENT, f"{path}: no trips after the header")
    return tuple(trips)


def great_circle_travel(stations: Mapping[str, Station], speed_kmh: float) -> TravelMatrix:
    """τ(A, B) as the great-circle distance at ``speed_kmh``, rounded down (a lower bound)."""
    names = tuple(sorted(s for s, v in stations.items() if v.lat is not None and v.lon is not None))
    lat = np.radians([stations[n].lat or 0.0 for n in names])
    lon = np.radians([stations[n].lon or 0.0 for n in names])
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
    km = 2 * _EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    seconds = np.floor(km / speed_kmh * 3600).astype(np.int64)
    np.fill_diagonal(seconds, -1)
    return TravelMatrix(names, seconds)


def trip_observation(
    trips: Sequence[ExactTrip],
    *,
    seed: int,
    resolution_s: int = 1,
    delay_s: int = 0,
    stations: dict[str, Station] | None = None,
    travel_s: Mapping[tuple[str, str], int] | None = None,
    knowledge: Sequence[str] = (),
) -> tuple[Observation, GroundTruth]:
    """What a chain shows of ``trips`` when each end is a fresh key (the PK1/PK2 of Fig. 5).

    Each departure and arrival becomes a keyed end whose time is published at
    ``resolution_s``; each trip becomes a public Trip record with bucket ``resolution_s``
    (IOME-TRIP-005 rounding). End ids and keys are drawn in a seeded order unrelated to the
    trip ids, so nothing but time and place ties a PK1 to its PK2.
    """
    rng = np.random.default_rng(seed)
    n = len(trips)
    dep_order = rng.permutation(n)
    arr_order = rng.permutation(n)
    ends: list[ObservedTripEnd] = []
    end_vehicle: dict[str, str] = {}
    pairs: dict[str, str] = {}
    trip_of_end: dict[str, str] = {}
    dep_id = [""] * n
    arr_id = [""] * n
    for rank, k in enumerate(dep_order):
        dep_id[k] = f"d{rank}"
    for rank, k in enumerate(arr_order):
        arr_id[k] = f"a{rank}"
    for k, trip in enumerate(trips):
        d_lo, d_hi = published_window(trip.start, resolution_s)
        a_lo, a_hi = published_window(trip.end, resolution_s)
        ends.append(
            ObservedTripEnd(dep_id[k], "departure", trip.origin, f"pk1-{dep_id[k]}", d_lo, d_hi)
        )
        ends.append(
            ObservedTripEnd(arr_id[k], "arrival", trip.destination, f"pk2-{arr_id[k]}", a_lo, a_hi)
        )
        end_vehicle[dep_id[k]] = end_vehicle[arr_id[k]] = trip.vehicle
        pairs[dep_id[k]] = arr_id[k]
        trip_of_end[dep_id[k]] = trip_of_end[arr_id[k]] = trip.trip_id
    ends.sort(key=lambda e: (e.time_lo, e.kind, e.station, e.end_id))
    records = sorted(
        (
            ObservedTrip(
                f"T{rank}",
                t.origin,
                t.destination,
                t.start // resolution_s * resolution_s,
                -(-t.end // resolution_s) * resolution_s,
                resolution_s,
            )
            for rank, t in enumerate(trips[k] for k in rng.permutation(n))
        ),
        key=lambda r: (r.end, r.start, r.origin, r.destination, r.trip_id),
    )
    by_vehicle: dict[str, list[str]] = defaultdict(list)
    for k in sorted(range(n), key=lambda k: (trips[k].vehicle, trips[k].start, trips[k].trip_id)):
        by_vehicle[trips[k].vehicle] += (dep_id[k], arr_id[k])
    vehicle_ends = {v: tuple(ends_of_v) for v, ends_of_v in by_vehicle.items()}
    observation = Observation(
        source="trips",
        trips=tuple(records),
        trip_ends=tuple(ends),
        stations=dict(stations or {}),
        travel_s=travel_s,
        resolution_s=resolution_s,
        delay_s=delay_s,
        knowledge=tuple(knowledge),
    )
    truth = GroundTruth(
        end_vehicle=end_vehicle,
        trip_pairs=pairs,
        vehicle_ends=vehicle_ends,
        trip_of_end=trip_of_end,
    )
    return observation, truth
