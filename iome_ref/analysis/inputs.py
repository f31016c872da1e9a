"""Reading an observer's input files: line-numbered refusals, and the sessions readers.

What lives here: the CSV helpers every reader shares (each bad line raises
``UsageError("link", "FILE:LINE: what was expected, what was found")``), the sessions readers
(Norway's format or a plain CSV, detected by the header) and ``published_window`` (a time as a
chain at some resolution shows it). Trips files are :mod:`iome_ref.analysis.tripfiles`; ledgers
and simulated runs :mod:`iome_ref.analysis.ledgerview`.

Every reader checks the whole file before returning anything, so no partial view exists and no
partial result can be printed as if complete.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import zoneinfo
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from iome_ref.analysis.observations import GroundTruth, ObservedSession
from iome_ref.constants import MAX_SAFE_INT
from iome_ref.errors import UsageError

__all__ = [
    "COMPONENT",
    "NORWAY_HEADER",
    "PLAIN_SESSIONS_HEADER",
    "expect_header",
    "fail_at",
    "fields_of",
    "iso_time",
    "nonempty",
    "published_window",
    "read_rows",
    "read_sessions",
    "read_text",
    "unique",
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
#: The Norway data set's garages are in Norway; its times are local wall-clock times.
NORWAY_ZONE: Final = "Europe/Oslo"
_NORWAY_TIME: Final = "%d.%m.%Y %H:%M"


def fail_at(path: Path, line: int, message: str) -> UsageError:
    return UsageError(COMPONENT, f"{path}:{line}: {message}")


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(COMPONENT, f"{path}: cannot read ({exc})") from None


def read_rows(path: Path, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank line, the header included."""
    reader = csv.reader(io.StringIO(read_text(path), newline=""), delimiter=delimiter)
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                yield reader.line_num, [c.strip() for c in cells]
    except csv.Error as exc:
        raise fail_at(path, reader.line_num, f"malformed CSV ({exc})") from None


def expect_header(path: Path, found: list[str], expected: Sequence[str]) -> None:
    if tuple(found) != tuple(expected):
        raise fail_at(path, 1, f"header: expected {','.join(expected)}, found {','.join(found)}")


def fields_of(path: Path, line: int, cells: list[str], width: int) -> list[str]:
    if len(cells) != width:
        raise fail_at(path, line, f"expected {width} fields, found {len(cells)}")
    return cells


def iso_time(path: Path, line: int, field: str, text: str) -> tuple[int, int]:
    """(UTC seconds, local offset seconds) of an ISO 8601 time; a time without an offset is
    local time read as if it were UTC (offset 0), which keeps its hour of day."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise fail_at(path, line, f"{field}: expected an ISO 8601 time, found {text!r}") from None
    offset = moment.utcoffset()
    if offset is None:
        return int(moment.replace(tzinfo=dt.UTC).timestamp()), 0
    return int(moment.timestamp()), int(offset.total_seconds())


def _has_offset(text: str) -> bool:
    """Whether an ISO 8601 time (already parsed once) states its UTC offset."""
    return dt.datetime.fromisoformat(text).utcoffset() is not None


def nonempty(path: Path, line: int, field: str, text: str) -> str:
    if not text:
        raise fail_at(path, line, f"{field}: expected a non-empty value, found nothing")
    return text


def unique(path: Path, line: int, field: str, value: str, seen: dict[str, int]) -> None:
    if value in seen:
        raise fail_at(path, line, f"{field}: {value!r} repeats line {seen[value]}")
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
    end_offset: int


def _session_key(session_id: str) -> str:
    """A fresh one-time key per session (the issue: every session under its own key)."""
    return f"otk-{session_id}"


def _norway_rows(path: Path, rows: Iterator[tuple[int, list[str]]]) -> list[_SessionRow]:
    zone = zoneinfo.ZoneInfo(NORWAY_ZONE)
    out: list[_SessionRow] = []
    seen: dict[str, int] = {}
    for line, raw in rows:
        cells = fields_of(path, line, raw, len(NORWAY_HEADER))
        row = dict(zip(NORWAY_HEADER, cells, strict=True))
        sid = nonempty(path, line, "session_ID", row["session_ID"])
        unique(path, line, "session_ID", sid, seen)
        station = nonempty(path, line, "Garage_ID", row["Garage_ID"])
        user = nonempty(path, line, "User_ID", row["User_ID"])
        start_local = _norway_time(path, line, "Start_plugin", row["Start_plugin"])
        end_text = row["End_plugout"]
        end_local = (
            start_local if end_text == "NA" else _norway_time(path, line, "End_plugout", end_text)
        )
        start_at = start_local.replace(tzinfo=zone)
        end_at = end_local.replace(tzinfo=zone)
        start, end = int(start_at.timestamp()), int(end_at.timestamp())
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
                _offset_s(start_at),
                _offset_s(end_at),
            )
        )
    return out


def _offset_s(moment: dt.datetime) -> int:
    """Local time minus UTC at ``moment`` (a zone-aware time), seconds."""
    offset = moment.utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def _norway_time(path: Path, line: int, field: str, text: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(text, _NORWAY_TIME)
    except ValueError:
        raise fail_at(path, line, f"{field}: expected dd.mm.yyyy HH:MM, found {text!r}") from None


def _decimal(path: Path, line: int, field: str, text: str) -> float:
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise fail_at(path, line, f"{field}: expected a decimal number, found {text!r}")
    return value


def _check_session(path: Path, line: int, energy_wh: int, start: int, end: int) -> None:
    if not 0 <= energy_wh <= MAX_SAFE_INT:
        raise fail_at(path, line, f"energy: expected 0..{MAX_SAFE_INT} Wh, found {energy_wh}")
    if end < start:
        raise fail_at(path, line, f"end: expected not before the start, found {end - start} s")


def _plain_rows(path: Path, rows: Iterator[tuple[int, list[str]]]) -> list[_SessionRow]:
    out: list[_SessionRow] = []
    seen: dict[str, int] = {}
    for line, raw in rows:
        sid, station, start_iso, end_iso, energy, user = fields_of(
            path, line, raw, len(PLAIN_SESSIONS_HEADER)
        )
        nonempty(path, line, "session_id", sid)
        unique(path, line, "session_id", sid, seen)
        nonempty(path, line, "station", station)
        start, offset = iso_time(path, line, "start_iso", start_iso)
        end, end_offset = iso_time(path, line, "end_iso", end_iso)
        if _has_offset(start_iso) != _has_offset(end_iso):
            raise fail_at(
                path,
                line,
                "end_iso: expected a UTC offset exactly when start_iso has one, found "
                f"{start_iso!r} and {end_iso!r}",
            )
        try:
            energy_wh = int(energy)
        except ValueError:
            raise fail_at(
                path, line, f"energy_wh: expected a whole number of Wh, found {energy!r}"
            ) from None
        _check_session(path, line, energy_wh, start, end)
        out.append(
            _SessionRow(sid, station, start, end, energy_wh, user or None, offset, end_offset)
        )
    return out


def read_sessions(path: Path) -> tuple[tuple[ObservedSession, ...], GroundTruth]:
    """Sessions of either format (detected by the header), each under a fresh one-time key.

    Raises:
        UsageError: ("link") naming the file and line of the first bad row: unknown header,
            wrong field count, bad time or number, negative energy, end before start, a
            repeated session id, or a file with no session.
    """
    first = read_text(path).split("\n", 1)[0]
    rows = read_rows(path, ";" if first.count(";") > first.count(",") else ",")
    header = next(rows, None)
    if header is None:
        raise UsageError(COMPONENT, f"{path}: empty file")
    if tuple(header[1]) == NORWAY_HEADER:
        parsed = _norway_rows(path, rows)
    elif tuple(header[1]) == PLAIN_SESSIONS_HEADER:
        parsed = _plain_rows(path, rows)
    else:
        raise fail_at(
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
            end_utc_offset_s=None if r.end_offset == r.offset else r.end_offset,
        )
        for r in sorted(parsed, key=lambda r: (r.start, r.session_id))
    )
    truth = GroundTruth(session_user={r.session_id: r.user for r in parsed})
    return sessions, truth


def published_window(t: int, resolution_s: int) -> tuple[int, int]:
    lo = t - t % resolution_s
    return lo, lo + resolution_s - 1
