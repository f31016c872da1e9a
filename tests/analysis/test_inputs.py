"""Inputs of ``iome link``: every malformed file is refused with its line number, nothing partial.

Each case writes a small file with one defect on a known line and asserts the error names that
file and line; the good files read back to exactly the sessions and trips they hold.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import require_shared

from iome_ref.analysis.inputs import NORWAY_HEADER, read_sessions
from iome_ref.analysis.ledgerview import parse_sim_args, read_db
from iome_ref.analysis.tripfiles import read_stations, read_trips, trip_observation
from iome_ref.errors import UsageError

PLAIN = "session_id,station,start_iso,end_iso,energy_wh,user\n"
TRIPS = "trip_id,vehicle,start_station,start_iso,end_station,end_iso\n"
STATIONS = "station,name,lat,lon\nA,Alpha,59.9,10.7\nB,Beta,59.95,10.8\n"
NORWAY_ROW = (
    "1;G1;G1-1;Private;NA;21.12.2018 10:20;10;21.12.2018 12:23;12;7,5;2,05;Dec;Friday;x;y\n"
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _refused(call: object, path: Path, line: int, words: str) -> None:
    with pytest.raises(UsageError) as caught:
        call()  # type: ignore[operator]
    message = str(caught.value)
    assert f"{path}:{line}:" in message, message
    assert words in message, message


def test_plain_sessions_read_with_offsets_and_cover_traffic(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "s.csv",
        PLAIN
        + "s1,A,2024-01-01T08:00:00+01:00,2024-01-01T09:00:00+01:00,5000,u1\n"
        + "s2,B,2024-01-01T10:00:00,2024-01-01T10:30:00,0,\n",
    )
    sessions, truth = read_sessions(path)
    assert [s.session_id for s in sessions] == ["s1", "s2"]
    assert sessions[0].start == 1704092400  # 07:00 UTC
    assert sessions[0].local_start % 86400 == 8 * 3600
    assert sessions[0].key != sessions[1].key
    assert truth.session_user == {"s1": "u1", "s2": None}


def test_norway_format_is_detected_by_its_header(tmp_path: Path) -> None:
    path = _write(tmp_path, "n.csv", ";".join(NORWAY_HEADER) + "\n" + NORWAY_ROW)
    sessions, truth = read_sessions(path)
    assert sessions[0].energy_wh == 7500
    assert sessions[0].end - sessions[0].start == 2 * 3600 + 3 * 60
    assert sessions[0].utc_offset_s == 3600  # Oslo in winter
    assert truth.session_user == {"1": "G1-1"}


def test_norway_session_over_the_autumn_switch_ends_on_the_winter_offset(tmp_path: Path) -> None:
    # Oslo leaves summer time at 03:00 on 27 Oct 2019: plugged in at 20:00 (+2 h), out at
    # 07:00 (+1 h), 12 h later in real time; the plug-out's local hour stays 07.
    row = "2;G1;G1-1;Private;NA;26.10.2019 20:00;20;27.10.2019 07:00;7;9,5;12;Oct;Saturday;x;y\n"
    path = _write(tmp_path, "n.csv", ";".join(NORWAY_HEADER) + "\n" + row)
    (session,), _ = read_sessions(path)
    assert (session.utc_offset_s, session.end_utc_offset_s) == (7200, 3600)
    assert session.end - session.start == 12 * 3600
    assert session.local_start % 86400 == 20 * 3600
    assert session.local_end % 86400 == 7 * 3600


def test_plain_session_end_keeps_its_own_offset(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "s.csv",
        PLAIN + "s1,A,2019-10-26T20:00:00+02:00,2019-10-27T07:00:00+01:00,5000,u1\n",
    )
    (session,), _ = read_sessions(path)
    assert session.end - session.start == 12 * 3600
    assert session.local_end % 86400 == 7 * 3600


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a,b,c\n", 1, "header"),
        (PLAIN + "s1,A,2024-01-01T08:00+01:00,2024-01-01T09:00,5,u\n", 2, "UTC offset"),
        (
            PLAIN
            + "s1,A,2024-01-01T08:00,2024-01-01T09:00,5,u\ns2,A,yesterday,2024-01-01T09:00,5,u\n",
            3,
            "start_iso",
        ),
        (PLAIN + "s1,A,2024-01-01T08:00,2024-01-01T09:00,-5,u\n", 2, "energy"),
        (PLAIN + "s1,A,2024-01-01T08:00,2024-01-01T09:00,1" + "0" * 20 + ",u\n", 2, "energy"),
        (PLAIN + "s1,A,2024-01-01T08:00,2024-01-01T07:00,5,u\n", 2, "end"),
        (PLAIN + "s1,A,2024-01-01T08:00,2024-01-01T09:00,5.5,u\n", 2, "energy_wh"),
        (PLAIN + "s1,A,2024-01-01T08:00,2024-01-01T09:00,5\n", 2, "expected 6 fields"),
        (
            PLAIN
            + "s1,A,2024-01-01T08:00,2024-01-01T09:00,5,u\n\n"
            + "s1,A,2024-01-01T08:00,2024-01-01T09:00,5,u\n",
            4,
            "repeats line 2",
        ),
        (
            ";".join(NORWAY_HEADER)
            + "\n"
            + NORWAY_ROW.replace("21.12.2018 10:20", "2018-12-21 10:20"),
            2,
            "dd.mm.yyyy",
        ),
        (";".join(NORWAY_HEADER) + "\n" + NORWAY_ROW.replace("7,5", "-7,5"), 2, "energy"),
        (
            ";".join(NORWAY_HEADER)
            + "\n"
            + NORWAY_ROW.replace("21.12.2018 12:23", "21.12.2018 09:23"),
            2,
            "end",
        ),
    ],
)
def test_malformed_sessions_are_refused_with_the_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = _write(tmp_path, "bad.csv", text)
    _refused(lambda: read_sessions(path), path, line, words)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("trip,vehicle\n", 1, "header"),
        (
            TRIPS
            + "t1,v,A,2024-01-01T08:00,B,2024-01-01T09:00\n"
            + "t2,v,A,2024-01-01T10:00,C,2024-01-01T11:00\n",
            3,
            "unknown station 'C'",
        ),
        (TRIPS + "t1,v,A,2024-01-01T08:00,B,2024-01-01T07:00\n", 2, "after start_iso"),
        (TRIPS + "t1,v,A,2024-01-01T08:00,A,2024-01-01T09:00\n", 2, "other than"),
        (TRIPS + "t1,v,A,2024-13-01T08:00,B,2024-01-01T09:00\n", 2, "start_iso"),
    ],
)
def test_malformed_trips_are_refused_with_the_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    stations = read_stations(_write(tmp_path, "st.csv", STATIONS))
    path = _write(tmp_path, "trips.csv", text)
    _refused(lambda: read_trips(path, stations), path, line, words)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("station,name,lat\n", 1, "header"),
        (STATIONS + "C,Gamma,95,10\n", 4, "lat"),
        (STATIONS + "A,Again,59,10\n", 4, "repeats line 2"),
    ],
)
def test_malformed_stations_are_refused_with_the_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = _write(tmp_path, "st.csv", text)
    _refused(lambda: read_stations(path), path, line, words)


def test_trip_ends_hide_the_pairing_in_ids_and_keys(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "trips.csv",
        TRIPS
        + "t1,v1,A,2024-01-01T08:00,B,2024-01-01T09:00\n"
        + "t2,v2,B,2024-01-01T08:10,A,2024-01-01T09:05\n",
    )
    observation, truth = trip_observation(read_trips(path, None), seed=3, resolution_s=60)
    assert len(observation.departures()) == len(observation.arrivals()) == 2
    for end in observation.trip_ends:
        assert "t1" not in end.end_id + end.key
        assert "t2" not in end.end_id + end.key
        assert end.time_hi - end.time_lo == 59
    assert {r.bucket_s for r in observation.trips} == {60}
    assert len(truth.trip_pairs) == 2


def test_db_reader_refuses_what_is_not_a_ledger(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite"
    with pytest.raises(UsageError, match="no such ledger"):
        read_db(missing)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(UsageError, match="not a ledger"):
        read_db(other)


def test_sim_args_are_parsed_and_unknown_ones_refused() -> None:
    assert parse_sim_args("--evs 10 --round-hours=2 --time-bucket 1") == {
        "evs": 10,
        "round_s": 7200,
        "time_bucket_s": 1,
    }
    with pytest.raises(UsageError, match="unknown option"):
        parse_sim_args("--cars 3")
    with pytest.raises(UsageError, match="expected a number"):
        parse_sim_args("--evs many")


def test_the_norway_file_reads_whole() -> None:
    path = require_shared("norway-residential-ev-sessions/ev_charging_reports.csv")
    sessions, truth = read_sessions(path)
    assert len(sessions) == 6878
    assert len(set(truth.session_user.values())) == 97
