"""Inputs of ``iome link``: one observer's view, whatever the source, and its ground truth apart.

What lives here: readers for a ledger (public chain only), a simulated run, a sessions file
(Norway's format or a plain CSV) and a trips file with its stations; and ``publish``, which
turns exact events into what a chain at a given time resolution and publication delay shows.

Every reader checks the whole file before returning anything: a bad line raises
``UsageError("link", "FILE:LINE: what was expected, what was found")`` and no partial view
exists, so no partial result can be printed as if complete.

Why the ledger reader opens SQLite itself, read-only, and reads only chains whose recorded kind
is ``public``: a node's ledger.sqlite also holds the verifiers' consortium chain, whose
TripClaims pair the one-time keys. Reading it would hand the observer the answer; the reader
never selects a block of another chain.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import shlex
import sqlite3
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from iome_ref.analysis.observations import (
    GroundTruth,
    Observation,
    ObservedSession,
    ObservedTrip,
    ObservedTripEnd,
    Station,
)
from iome_ref.errors import UsageError

if TYPE_CHECKING:
    from iome_ref.analysis.simtruth import SimulatedRun

__all__ = [
    "NORWAY_HEADER",
    "PLAIN_SESSIONS_HEADER",
    "STATIONS_HEADER",
    "TRIPS_HEADER",
    "ExactTrip",
    "read_db",
    "read_sessions",
    "read_stations",
    "read_trips",
    "run_simulated",
    "trip_observation",
]

COMPONENT: Final = "link"
NORWAY_HEADER: Final = (
    "session_ID",
    "Garage_ID",
    "User_ID",
    "User_type",
    "Shared_ID",
    "Start_plugin",
    "Start_plugin_hour",
    "End_plugout",
    "End_plugout_hour",
    "El_kWh",
    "Duration_hours",
    "month_plugin",
    "weekdays_plugin",
    "Plugin_category",
    "Duration_category",
)
PLAIN_SESSIONS_HEADER: Final = (
    "session_id",
    "station",
    "start_iso",
    "end_iso",
    "energy_wh",
    "user",
)
TRIPS_HEADER: Final = (
    "trip_id",
    "vehicle",
    "start_station",
    "start_iso",
    "end_station",
    "end_iso",
)
STATIONS_HEADER: Final = ("station", "name", "lat", "lon")
#: The Norway data set's garages are in Norway; its times are local wall-clock times.
NORWAY_ZONE: Final = "Europe/Oslo"
_NORWAY_TIME: Final = "%d.%m.%Y %H:%M"
#: Great-circle speed used for travel times from a stations file (stated in every report).
DEFAULT_SPEED_KMH: Final = 60.0
_EARTH_RADIUS_KM: Final = 6371.0


def _fail(path: Path, line: int, message: str) -> UsageError:
    return UsageError(COMPONENT, f"{path}:{line}: {message}")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(COMPONENT, f"{path}: cannot read ({exc})") from None


def _rows(path: Path, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank line, the header included."""
    reader = csv.reader(io.StringIO(_read_text(path), newline=""), delimiter=delimiter)
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                yield reader.line_num, [c.strip() for c in cells]
    except csv.Error as exc:
        raise _fail(path, reader.line_num, f"malformed CSV ({exc})") from None


def _expect_header(path: Path, found: list[str], expected: Sequence[str]) -> None:
    if tuple(found) != tuple(expected):
        raise _fail(path, 1, f"header: expected {','.join(expected)}, found {','.join(found)}")


def _cells(path: Path, line: int, cells: list[str], width: int) -> list[str]:
    if len(cells) != width:
        raise _fail(path, line, f"expected {width} fields, found {len(cells)}")
    return cells


def _iso(path: Path, line: int, field: str, text: str) -> tuple[int, int]:
    """(UTC seconds, local offset seconds) of an ISO 8601 time; a time without an offset is
    local time read as if it were UTC (offset 0), which keeps its hour of day."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _fail(path, line, f"{field}: expected an ISO 8601 time, found {text!r}") from None
    offset = moment.utcoffset()
    if offset is None:
        return int(moment.replace(tzinfo=dt.UTC).timestamp()), 0
    return int(moment.timestamp()), int(offset.total_seconds())


def _nonempty(path: Path, line: int, field: str, text: str) -> str:
    if not text:
        raise _fail(path, line, f"{field}: expected a non-empty value, found nothing")
    return text


def _unique(path: Path, line: int, field: str, value: str, seen: dict[str, int]) -> None:
    if value in seen:
        raise _fail(path, line, f"{field}: {value!r} repeats line {seen[value]}")
    seen[value] = line


# --- sessions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SessionRow:
    session_id: str
    station: str
    start: int
    end: int
    energy_wh: int
    user: str | None
    offset: int


def _session_key(session_id: str) -> str:
    """A fresh one-time key per session (the issue: every session under its own key)."""
    return f"otk-{session_id}"


def _norway_rows(path: Path, rows: Iterator[tuple[int, list[str]]]) -> list[_SessionRow]:
    zone = zoneinfo.ZoneInfo(NORWAY_ZONE)
    out: list[_SessionRow] = []
    seen: dict[str, int] = {}
    for line, raw in rows:
        cells = _cells(path, line, raw, len(NORWAY_HEADER))
        row = dict(zip(NORWAY_HEADER, cells, strict=True))
        sid = _nonempty(path, line, "session_ID", row["session_ID"])
        _unique(path, line, "session_ID", sid, seen)
        station = _nonempty(path, line, "Garage_ID", row["Garage_ID"])
        user = _nonempty(path, line, "User_ID", row["User_ID"])
        start_local = _norway_time(path, line, "Start_plugin", row["Start_plugin"])
        end_text = row["End_plugout"]
        end_local = (
            start_local if end_text == "NA" else _norway_time(path, line, "End_plugout", end_text)
        )
        start_at = start_local.replace(tzinfo=zone)
        start = int(start_at.timestamp())
        end = int(end_local.replace(tzinfo=zone).timestamp())
        offset = start_at.utcoffset()
        kwh = _decimal(path, line, "El_kWh", row["El_kWh"])
        _check_session(path, line, round(kwh * 1000), start, end)
        out.append(
            _SessionRow(
                sid,
                station,
                start,
                end,
                round(kwh * 1000),
                user,
                int(offset.total_seconds()) if offset is not None else 0,
            )
        )
    return out


def _norway_time(path: Path, line: int, field: str, text: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(text, _NORWAY_TIME)
    except ValueError:
        raise _fail(path, line, f"{field}: expected dd.mm.yyyy HH:MM, found {text!r}") from None


def _decimal(path: Path, line: int, field: str, text: str) -> float:
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise _fail(path, line, f"{field}: expected a decimal number, found {text!r}")
    return value


def _check_session(path: Path, line: int, energy_wh: int, start: int, end: int) -> None:
    if energy_wh < 0:
        raise _fail(path, line, f"energy: expected >= 0, found {energy_wh} Wh")
    if end < start:
        raise _fail(path, line, f"end: expected not before the start, found {end - start} s")


def _plain_rows(path: Path, rows: Iterator[tuple[int, list[str]]]) -> list[_SessionRow]:
    out: list[_SessionRow] = []
    seen: dict[str, int] = {}
    for line, raw in rows:
        sid, station, start_iso, end_iso, energy, user = _cells(
            path, line, raw, len(PLAIN_SESSIONS_HEADER)
        )
        _nonempty(path, line, "session_id", sid)
        _unique(path, line, "session_id", sid, seen)
        _nonempty(path, line, "station", station)
        start, offset = _iso(path, line, "start_iso", start_iso)
        end, _ = _iso(path, line, "end_iso", end_iso)
        try:
            energy_wh = int(energy)
        except ValueError:
            raise _fail(
                path, line, f"energy_wh: expected a whole number of Wh, found {energy!r}"
            ) from None
        _check_session(path, line, energy_wh, start, end)
        out.append(_SessionRow(sid, station, start, end, energy_wh, user or None, offset))
    return out


def read_sessions(path: Path) -> tuple[tuple[ObservedSession, ...], GroundTruth]:
    """Sessions of either format (detected by the header), each under a fresh one-time key.

    Raises:
        UsageError: ("link") naming the file and line of the first bad row: unknown header,
            wrong field count, bad time or number, negative energy, end before start, a
            repeated session id, or a file with no session.
    """
    first = _read_text(path).split("\n", 1)[0]
    rows = _rows(path, ";" if first.count(";") > first.count(",") else ",")
    header = next(rows, None)
    if header is None:
        raise UsageError(COMPONENT, f"{path}: empty file")
    if tuple(header[1]) == NORWAY_HEADER:
        parsed = _norway_rows(path, rows)
    elif tuple(header[1]) == PLAIN_SESSIONS_HEADER:
        parsed = _plain_rows(path, rows)
    else:
        raise _fail(
            path,
            header[0],
            "header: expected the Norway sessions header (session_ID;Garage_ID;...) or "
            f"{','.join(PLAIN_SESSIONS_HEADER)}, found {','.join(header[1])}",
        )
    if not parsed:
        raise UsageError(COMPONENT, f"{path}: no sessions after the header")
    sessions = tuple(
        ObservedSession(
            session_id=r.session_id,
            station=r.station,
            start=r.start,
            end=r.end,
            energy_wh=r.energy_wh,
            key=_session_key(r.session_id),
            utc_offset_s=r.offset,
        )
        for r in sorted(parsed, key=lambda r: (r.start, r.session_id))
    )
    truth = GroundTruth(session_user={r.session_id: r.user for r in parsed})
    return sessions, truth


# --- trips and stations -----------------------------------------------------------------------


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
    rows = _rows(path, ",")
    header = next(rows, None)
    if header is None:
        raise UsageError(COMPONENT, f"{path}: empty file")
    _expect_header(path, header[1], STATIONS_HEADER)
    stations: dict[str, Station] = {}
    seen: dict[str, int] = {}
    for line, raw in rows:
        station, name, lat_text, lon_text = _cells(path, line, raw, len(STATIONS_HEADER))
        _nonempty(path, line, "station", station)
        _unique(path, line, "station", station, seen)
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
        raise _fail(
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
    rows = _rows(path, ",")
    header = next(rows, None)
    if header is None:
        raise UsageError(COMPONENT, f"{path}: empty file")
    _expect_header(path, header[1], TRIPS_HEADER)
    trips: list[ExactTrip] = []
    seen: dict[str, int] = {}
    for line, raw in rows:
        trip_id, vehicle, origin, start_iso, destination, end_iso = _cells(
            path, line, raw, len(TRIPS_HEADER)
        )
        _nonempty(path, line, "trip_id", trip_id)
        _unique(path, line, "trip_id", trip_id, seen)
        _nonempty(path, line, "vehicle", vehicle)
        for field, station in (("start_station", origin), ("end_station", destination)):
            _nonempty(path, line, field, station)
            if stations is not None and station not in stations:
                raise _fail(path, line, f"{field}: unknown station {station!r}")
        if origin == destination:
            raise _fail(path, line, f"end_station: expected a station other than {origin!r}")
        start, _ = _iso(path, line, "start_iso", start_iso)
        end, _ = _iso(path, line, "end_iso", end_iso)
        if end <= start:
            raise _fail(path, line, f"end_iso: expected after start_iso, found {end - start} s")
        trips.append(ExactTrip(trip_id, vehicle, origin, start, destination, end))
    if not trips:
        raise UsageError(COMPONENT, f"{path}: no trips after the header")
    return tuple(trips)


def great_circle_travel(
    stations: dict[str, Station], speed_kmh: float
) -> dict[tuple[str, str], int]:
    """τ(A, B) as the great-circle distance at ``speed_kmh``, rounded down (a lower bound)."""
    names = sorted(s for s, v in stations.items() if v.lat is not None and v.lon is not None)
    lat = np.radians([stations[n].lat or 0.0 for n in names])
    lon = np.radians([stations[n].lon or 0.0 for n in names])
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
    km = 2 * _EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    seconds = np.floor(km / speed_kmh * 3600).astype(np.int64)
    return {
        (a, b): int(seconds[i, j])
        for i, a in enumerate(names)
        for j, b in enumerate(names)
        if i != j
    }


def _window(t: int, resolution_s: int) -> tuple[int, int]:
    lo = t - t % resolution_s
    return lo, lo + resolution_s - 1


def trip_observation(
    trips: Sequence[ExactTrip],
    *,
    seed: int,
    resolution_s: int = 1,
    delay_s: int = 0,
    stations: dict[str, Station] | None = None,
    travel_s: dict[tuple[str, str], int] | None = None,
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
        d_lo, d_hi = _window(trip.start, resolution_s)
        a_lo, a_hi = _window(trip.end, resolution_s)
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
    by_vehicle: dict[str, list[ExactTrip]] = defaultdict(list)
    for trip in trips:
        by_vehicle[trip.vehicle].append(trip)
    index = {t.trip_id: k for k, t in enumerate(trips)}
    vehicle_ends = {
        v: tuple(
            e
            for t in sorted(ts, key=lambda t: (t.start, t.trip_id))
            for e in (dep_id[index[t.trip_id]], arr_id[index[t.trip_id]])
        )
        for v, ts in sorted(by_vehicle.items())
    }
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


# --- public chain (ledger file or simulated run) --------------------------------------------

#: The store layout this reader understands (iome_ref.chain.store.SCHEMA_VERSION).
_STORE_SCHEMA: Final = "1"


@dataclass(frozen=True)
class _PublicBlock:
    height: int
    time: int
    txs: list[dict[str, Any]]


def _decode_block(chain: str, height: int, body: bytes) -> _PublicBlock:
    try:
        block = json.loads(body)
        return _PublicBlock(int(block["height"]), int(block["time"]), list(block["txs"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            COMPONENT, f"chain {chain} block {height}: not a block ({type(exc).__name__})"
        ) from None


def _public_blocks_from_db(path: Path) -> list[_PublicBlock]:
    """Blocks of the public chains of a node's store, opened read-only; never another chain."""
    if not path.is_file():
        raise UsageError(COMPONENT, f"{path}: no such ledger file")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise UsageError(COMPONENT, f"{path}: cannot open ({exc})") from None
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("schema_version") != _STORE_SCHEMA:
            raise UsageError(
                COMPONENT,
                f"{path}: store schema_version: expected {_STORE_SCHEMA}, "
                f"found {meta.get('schema_version')!r}",
            )
        public = sorted(
            key.removeprefix("param:chain:").removesuffix(":kind")
            for key, value in meta.items()
            if key.startswith("param:chain:") and key.endswith(":kind") and value == "public"
        )
        if not public:
            raise UsageError(COMPONENT, f"{path}: no chain of kind public in this ledger")
        blocks = [
            _decode_block(chain, height, bytes(body))
            for chain in public
            for height, body in conn.execute(
                "SELECT height, body FROM blocks WHERE chain_id = ? ORDER BY height", (chain,)
            )
        ]
    except sqlite3.Error as exc:
        raise UsageError(COMPONENT, f"{path}: not a ledger ({exc})") from None
    finally:
        conn.close()
    return blocks


def _records(
    blocks: Iterable[_PublicBlock],
) -> tuple[list[ObservedSession], list[ObservedTrip]]:
    sessions: list[ObservedSession] = []
    trips: list[ObservedTrip] = []
    for block in blocks:
        for position, tx in enumerate(block.txs):
            kind = tx.get("type") if isinstance(tx, dict) else None
            ref = f"{block.height}.{position}"
            try:
                if kind == "ChargeSession":
                    sessions.append(
                        ObservedSession(
                            session_id=f"s{ref}",
                            station=str(tx["station_id"]),
                            start=int(tx["start_time"]),
                            end=int(tx["end_time"]),
                            energy_wh=int(tx["energy_wh"]),
                            key=str(tx["one_time_pk"]),
                            direction="discharge" if tx["direction"] == "discharge" else "charge",
                            block_height=block.height,
                            block_position=position,
                            block_time=block.time,
                        )
                    )
                elif kind == "Trip":
                    trips.append(
                        ObservedTrip(
                            trip_id=f"t{ref}",
                            origin=str(tx["origin_station_id"]),
                            destination=str(tx["destination_station_id"]),
                            start=int(tx["start_time"]),
                            end=int(tx["end_time"]),
                            bucket_s=int(tx["time_bucket_s"]),
                            block_height=block.height,
                            block_position=position,
                            block_time=block.time,
                        )
                    )
            except (KeyError, TypeError, ValueError) as exc:
                raise UsageError(
                    COMPONENT, f"public block {block.height} tx {position}: bad {kind} ({exc})"
                ) from None
    return sessions, trips


def _coarse_trip(trip: ObservedTrip, resolution_s: int) -> ObservedTrip:
    if resolution_s <= trip.bucket_s:
        return trip
    return replace(
        trip,
        start=trip.start // resolution_s * resolution_s,
        end=-(-trip.end // resolution_s) * resolution_s,
        bucket_s=resolution_s,
    )


def public_observation(
    sessions: Sequence[ObservedSession],
    trips: Sequence[ObservedTrip],
    *,
    source: str,
    resolution_s: int,
    delay_s: int,
    travel_s: dict[tuple[str, str], int] | None,
    knowledge: Sequence[str],
) -> Observation:
    """Keyed trip ends from public sessions, as a chain at ``resolution_s`` would show them.

    A session whose end meets the start window of a Trip at its origin is a departure end (the
    vehicle charged under a fresh key, then left); one whose start meets the end window of a
    Trip at its destination is an arrival end (it arrived, then charged). A session may be
    both, or neither. Times are widened to ``resolution_s``.
    """
    from iome_ref.analysis.forced import window_hits  # noqa: PLC0415 - forced imports us

    coarse = [_coarse_trip(t, resolution_s) for t in trips]
    index: dict[str, int] = {}

    def codes(names: Iterable[str]) -> np.ndarray[Any, np.dtype[np.int64]]:
        return np.array([index.setdefault(n, len(index)) for n in names], dtype=np.int64)

    s_station = codes(s.station for s in sessions)
    windows_start = [_window(s.start, resolution_s) for s in sessions]
    windows_end = [_window(s.end, resolution_s) for s in sessions]
    s_lo = np.array([w[0] for w in windows_start], dtype=np.int64)
    s_hi = np.array([w[1] for w in windows_start], dtype=np.int64)
    e_lo = np.array([w[0] for w in windows_end], dtype=np.int64)
    e_hi = np.array([w[1] for w in windows_end], dtype=np.int64)
    t_or = codes(t.origin for t in coarse)
    t_de = codes(t.destination for t in coarse)
    t_start = np.array([t.start for t in coarse], dtype=np.int64)
    t_end = np.array([t.end for t in coarse], dtype=np.int64)
    t_b = np.array([t.bucket_s for t in coarse], dtype=np.int64)
    _, dep = window_hits((s_station, e_lo, e_hi), (t_or, t_start - delay_s, t_start + t_b))
    _, arr = window_hits((s_station, s_lo, s_hi), (t_de, t_end - t_b - delay_s, t_end))
    ends: list[ObservedTripEnd] = []
    for k in sorted(set(dep.tolist())):
        s = sessions[k]
        ends.append(
            ObservedTripEnd(
                f"dep:{s.session_id}",
                "departure",
                s.station,
                s.key,
                int(e_lo[k]),
                int(e_hi[k]),
                s.session_id,
            )
        )
    for k in sorted(set(arr.tolist())):
        s = sessions[k]
        ends.append(
            ObservedTripEnd(
                f"arr:{s.session_id}",
                "arrival",
                s.station,
                s.key,
                int(s_lo[k]),
                int(s_hi[k]),
                s.session_id,
            )
        )
    ends.sort(key=lambda e: (e.time_lo, e.kind, e.station, e.end_id))
    return Observation(
        source=source,  # type: ignore[arg-type]
        sessions=tuple(sessions),
        trips=tuple(coarse),
        trip_ends=tuple(ends),
        travel_s=travel_s,
        resolution_s=resolution_s,
        delay_s=delay_s,
        knowledge=tuple(knowledge),
    )


def read_db(path: Path, *, resolution_s: int = 1, delay_s: int = 0) -> Observation:
    """The observer's view of a ledger file: its public chains only (module docstring).

    No travel-time model: a ledger does not carry the road graph, so only the published times
    constrain the pairing (stated in ``knowledge``).
    """
    sessions, trips = _records(_public_blocks_from_db(path))
    return public_observation(
        sessions,
        trips,
        source="db",
        resolution_s=resolution_s,
        delay_s=delay_s,
        travel_s=None,
        knowledge=(
            "reads only the ledger's public chains (ChargeSession, Trip; block height, "
            "position and time)",
            "no road graph: travel times unconstrained",
        ),
    )


# --- simulated run ---------------------------------------------------------------------------

_SIM_OPTIONS: Final = {
    "--seed": "seed",
    "--evs": "evs",
    "--stations": "stations",
    "--homes": "homes",
    "--rounds": "rounds",
    "--regions": "regions",
    "--round-hours": "round_s",
    "--time-bucket": "time_bucket_s",
    "--participation": "participation",
    "--fleet-share": "fleet_share",
}


def parse_sim_args(text: str) -> dict[str, Any]:
    """``--evs 100 --rounds 4 ...`` as SimulationConfig fields (``--round-hours`` in hours,
    ``--time-bucket`` the Trips' bucket in seconds: 1 publishes exact times)."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise UsageError(COMPONENT, f"--simulate: cannot split {text!r} ({exc})") from None
    out: dict[str, Any] = {}
    it = iter(words)
    for word in it:
        name, eq, value = word.partition("=")
        field = _SIM_OPTIONS.get(name)
        if field is None:
            raise UsageError(
                COMPONENT,
                f"--simulate: unknown option {name!r}; expected one of {', '.join(_SIM_OPTIONS)}",
            )
        if not eq:
            value = next(it, "")
        try:
            number: float = (
                float(value) if field in {"participation", "fleet_share"} else int(value)
            )
        except ValueError:
            raise UsageError(
                COMPONENT, f"--simulate: {name}: expected a number, found {value!r}"
            ) from None
        out[field] = int(number * 3600) if field == "round_s" else number
    return out


def run_simulated(sim_args: str) -> SimulatedRun:
    """Run a simulation in memory: its public records for the observer, its truth apart."""
    from iome_ref.analysis.simtruth import run_with_truth  # noqa: PLC0415 - it imports us

    return run_with_truth(parse_sim_args(sim_args))
