"""Uniqueness of sessions against resolution, and de Montjoye's curve beside it."""

from __future__ import annotations

import pytest

from iome_ref.analysis.observations import GroundTruth, Observation, ObservedSession
from iome_ref.analysis.uniqueness import (
    DE_MONTJOYE_CURVE,
    DE_MONTJOYE_DECAY,
    Resolution,
    compute_uniqueness,
)
from iome_ref.errors import UsageError
from tests.analysis.habit_data import T0, habit_population

HOUR = 3_600


def _session(sid: str, station: str, hour: float, kwh: float) -> ObservedSession:
    start = T0 + int(hour * HOUR)
    return ObservedSession(sid, station, start, start + HOUR, int(kwh * 1000), f"k-{sid}")


def test_accepts_uniqueness_of_a_known_day() -> None:
    """Three sessions at A: two in the 18 h hour (9.2 and 9.7 kWh), one at 20 h; one at B."""
    sessions = (
        _session("s1", "A", 18.1, 9.2),
        _session("s2", "A", 18.5, 9.7),
        _session("s3", "A", 20.0, 30.0),
        _session("s4", "B", 18.2, 9.1),
    )
    truth = GroundTruth(session_user={"s1": "u", "s2": "v", "s3": "u", "s4": None})
    resolutions = (
        Resolution("station", "hour", 1.0),
        Resolution("station", "hour", None),
        Resolution("station", "day", None),
        Resolution("zone", "hour", 1.0),
    )
    report = compute_uniqueness(
        Observation("sessions", sessions), truth, seed=1, population="p", resolutions=resolutions
    )
    by_label = {p.resolution.label: p.unique_in_day for p in report.points}
    assert by_label["station/hour/1kWh"] == 0.5  # s1, s2 share A, 18 h and the 9 kWh bin
    assert by_label["station/hour/any kWh"] == 0.5  # s1, s2 share A at 18 h
    assert by_label["station/day/any kWh"] == 0.25  # only s4 is alone at B
    assert by_label["zone/hour/1kWh"] == 0.25  # one zone: s1, s2, s4 share 18 h and 9 kWh
    assert report.users == 2
    assert report.reference_curve == DE_MONTJOYE_CURVE
    # p = 1: u's 20 h point is theirs alone, their 18 h one and v's only one are shared;
    # p = 2: only u has two points, and no one else holds both.
    curve = dict(report.points[1].trace_curve)
    assert 0.0 < curve[1] < 0.5
    assert curve[2] == 1.0
    assert 3 not in curve


def test_accepts_uniqueness_falls_as_resolution_coarsens() -> None:
    observation, truth = habit_population(users=20, days=10, stations=2)
    report = compute_uniqueness(observation, truth, seed=1, population="p")
    shares = {p.resolution.label: p.unique_in_day for p in report.points}
    assert shares["station/hour/1kWh"] >= shares["station/hour/any kWh"]
    assert shares["station/hour/any kWh"] >= shares["station/day/any kWh"]
    assert shares["station/day/any kWh"] >= shares["zone/day/any kWh"]
    for point in report.points:
        curve = [share for _, share in point.trace_curve]
        assert all(0.0 <= s <= 1.0 for s in curve)


def test_accepts_de_montjoye_reference_data() -> None:
    assert DE_MONTJOYE_CURVE == ((4, 0.95),)
    assert DE_MONTJOYE_DECAY[0] == (1, 0.95)
    values = [v for _, v in DE_MONTJOYE_DECAY]
    assert values == sorted(values, reverse=True)


def test_rejects_no_sessions() -> None:
    with pytest.raises(UsageError) as caught:
        compute_uniqueness(Observation("sessions"), GroundTruth(), seed=1, population="p")
    assert caught.value.component == "link"
