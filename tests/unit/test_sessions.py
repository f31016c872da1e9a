"""The fitted charging-session model: the stored fit, its marginals and the refit from a CSV.

The fitted constants are checked by refitting the real sessions in ../shared/data (skipped with
the reason when absent; IOME_REQUIRE_SHARED=1 fails instead). Everything else runs without it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from conftest import require_shared

from iome_ref.errors import UsageError
from iome_ref.simulation import sessions
from iome_ref.simulation.sessions import (
    FITTED,
    QUANTILE_LEVELS,
    SHORT_STAY_H,
    DriverFit,
    fit_sessions,
    kwh_at,
    plugin_hour_at,
)

TIME = "%d.%m.%Y %H:%M"
SESSIONS = "norway-residential-ev-sessions/ev_charging_reports.csv"


def test_accepts_fitted_constants_match_the_real_sessions() -> None:
    refit = fit_sessions(require_shared(SESSIONS))
    for field in dataclasses.fields(DriverFit):
        expected = getattr(refit, field.name)
        stored = getattr(FITTED, field.name)
        if field.name == "driver_habits":
            assert len(stored) == len(expected)
            for got, want in zip(stored, expected, strict=True):
                assert got.departure_hour is None or want.departure_hour is not None
                assert tuple(x or 0.0 for x in got) == pytest.approx(
                    tuple(x or 0.0 for x in want), abs=1e-3
                )
        else:
            assert stored == pytest.approx(expected, abs=1e-3), field.name


def test_accepts_fitted_shapes() -> None:
    assert FITTED.sessions == 6878
    assert FITTED.drivers == 97
    assert len(FITTED.plugin_hour_weights) == 24
    assert sum(FITTED.plugin_hour_weights) == pytest.approx(1.0, abs=1e-3)
    assert len(FITTED.plugout_hour_weights) == 24
    for table in (
        FITTED.kwh_quantiles,
        FITTED.short_stay_quantiles,
        FITTED.short_stay_kw_quantiles,
        FITTED.long_stay_kwh_quantiles,
        FITTED.driver_departure_hour_quantiles,
        FITTED.within_departure_hour_quantiles,
    ):
        assert len(table) == len(QUANTILE_LEVELS)
        assert list(table) == sorted(table)
    assert len(FITTED.driver_habits) == 76
    # 13 of the 97 users charge at a second garage; 13 of the fitted drivers are among them.
    assert sum(h.away_share > 0 for h in FITTED.driver_habits) == 13
    assert all(0 <= h.away_share < 0.5 for h in FITTED.driver_habits)
    assert len(FITTED.short_stay_share_by_hour) == 24
    assert all(0 <= s <= 1 for s in FITTED.short_stay_share_by_hour)
    # Short stays are a daytime thing: most noon plug-ins, few evening ones.
    assert FITTED.short_stay_share_by_hour[11] > 0.5 > FITTED.short_stay_share_by_hour[21]
    assert FITTED.short_stay_quantiles[-1] <= SHORT_STAY_H
    assert FITTED.long_stay_kwh_quantiles[8] > kwh_at(0.5, FITTED)  # long stays take more
    assert all(h.sessions_per_week > 0 and h.weeks >= 4 for h in FITTED.driver_habits)
    # The evening plug-in peak and the kWh median as stated in the module docstring.
    assert max(range(24), key=lambda h: FITTED.plugin_hour_weights[h]) == 16
    assert kwh_at(0.5, FITTED) == pytest.approx(9.05)


def test_accepts_marginals_invert() -> None:
    assert plugin_hour_at(0.0, FITTED) == 4.0
    assert plugin_hour_at(1.0, FITTED) == 28.0
    hours = [plugin_hour_at(u / 100, FITTED) for u in range(101)]
    assert hours == sorted(hours)
    assert kwh_at(0.0, FITTED) == pytest.approx(FITTED.kwh_quantiles[0])
    assert kwh_at(1.0, FITTED) == pytest.approx(FITTED.kwh_quantiles[-1])


def _hours_by_definition(fit: DriverFit) -> list[float]:
    """plugin_hour_at by its definition: np.interp over the knots' lists, computed anew."""
    cumulative, hours = sessions._plugin_knots(fit)
    return [float(np.interp(u / 64, cumulative, hours)) for u in range(65)]


def test_accepts_plugin_hours_from_knots_computed_once_per_fit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 16: a fit's knots are computed once, not on every plug-in hour drawn, and the
    hours are those of the definition; another fit, or another fit object at a kept fit's
    identity, gets its own knots."""
    other = dataclasses.replace(
        FITTED, plugin_hour_weights=tuple(reversed(FITTED.plugin_hour_weights))
    )
    expected = {id(fit): _hours_by_definition(fit) for fit in (FITTED, other)}
    computed: list[DriverFit] = []
    original = sessions._plugin_knots

    def counting(fit: DriverFit) -> tuple[list[float], list[float]]:
        computed.append(fit)
        return original(fit)

    monkeypatch.setattr(sessions, "_plugin_knots", counting)
    sessions._KNOTS.cache_clear()
    for fit in (FITTED, other, FITTED, other):
        assert [plugin_hour_at(u / 64, fit) for u in range(65)] == expected[id(fit)]
    assert computed == [FITTED, other]
    # A kept entry under FITTED's identity for another object (an id reused once a fit was
    # collected) is not taken for FITTED's.
    sessions._KNOTS._known[id(FITTED)] = (other, *sessions._KNOTS.of(other))
    assert [plugin_hour_at(u / 64, FITTED) for u in range(65)] == expected[id(FITTED)]
    assert computed == [FITTED, other, FITTED]
    sessions._KNOTS.cache_clear()
    fresh = sessions._KnotArrays()  # a cache of its own, cleared as functools caches are
    knots = [arrays.tolist() for arrays in fresh.of(other)]
    assert knots == list(original(other))
    fresh.cache_clear()
    fresh.of(other)
    assert computed == [FITTED, other, FITTED, other, other]


def write_sessions(
    path: Path, rows: list[tuple[str, str, str, str]], garages: list[str] | None = None
) -> None:
    header = (
        "session_ID;Garage_ID;User_ID;User_type;Shared_ID;Start_plugin;Start_plugin_hour;"
        "End_plugout;End_plugout_hour;El_kWh;Duration_hours;month_plugin;weekdays_plugin;"
        "Plugin_category;Duration_category"
    )
    lines = [header]
    for i, (user, start, end, kwh) in enumerate(rows):
        garage = garages[i] if garages else "G"
        hours = "NA"
        if end != "NA":
            span = dt.datetime.strptime(end, TIME) - dt.datetime.strptime(start, TIME)
            hours = f"{span.total_seconds() / 3600:g}".replace(".", ",")
        lines.append(
            f"{i};{garage};{user};Private;NA;{start};0;{end};0;{kwh};{hours};Jan;Monday;x;y"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_accepts_fit_of_a_small_sessions_file(tmp_path: Path) -> None:
    rows = []
    for day in range(1, 31, 2):  # one driver, every other day for four weeks, 18:00 -> 07:30
        rows.append(("u1", f"{day:02d}.01.2019 18:00", f"{day + 1:02d}.01.2019 07:30", "8,5"))
    rows.append(("u2", "03.01.2019 12:00", "NA", "NA"))  # no kWh: skipped
    path = tmp_path / "sessions.csv"
    write_sessions(path, rows)
    fit = fit_sessions(path)
    assert fit.sessions == 15
    assert fit.drivers == 1
    assert fit.plugin_hour_weights[18] == 1.0
    assert fit.plugout_hour_weights[7] == 1.0
    (habit,) = fit.driver_habits
    assert habit.departure_hour == 7.5
    assert habit.sessions_per_week == pytest.approx(14 / 4, abs=1e-3)
    assert habit.weeks == 4.0
    assert habit.kwh_score_sd == 0.0
    assert fit.kwh_quantiles[0] == fit.kwh_quantiles[-1] == 8.5
    assert habit.away_share == 0.0


def test_accepts_fit_of_second_garages_and_short_stays(tmp_path: Path) -> None:
    """u1 alternates two garages every session (the most a driver can: away share 0.5);
    u2 moves once in 15 sessions; short 2-hour noon stays, long overnight ones."""
    rows, garages = [], []
    for day in range(1, 31, 2):
        rows.append(("u1", f"{day:02d}.01.2019 18:00", f"{day + 1:02d}.01.2019 07:30", "8,5"))
        garages.append("A" if day % 4 == 1 else "B")
        rows.append(("u2", f"{day:02d}.01.2019 12:00", f"{day:02d}.01.2019 14:00", "7,0"))
        garages.append("A" if day < 15 else "C")
    path = tmp_path / "sessions.csv"
    write_sessions(path, rows, garages)
    fit = fit_sessions(path)
    alternating, mover = fit.driver_habits
    assert alternating.away_share == 0.5
    assert mover.away_share == pytest.approx((1 - (1 - 2 / 14) ** 0.5) / 2, abs=1e-4)
    assert fit.short_stay_share_by_hour[12] == 1.0
    assert fit.short_stay_share_by_hour[18] == 0.0
    assert fit.short_stay_quantiles[0] == fit.short_stay_quantiles[-1] == 2.0
    assert fit.short_stay_kw_quantiles[8] == 3.5
    assert fit.long_stay_kwh_quantiles[8] == 8.5


def test_rejects_unreadable_sessions(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        fit_sessions(tmp_path / "absent.csv")
    assert caught.value.component == "drivers"
    bad = tmp_path / "bad.csv"
    bad.write_text("a;b\n1;2\n", encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        fit_sessions(bad)
    assert "missing columns" in caught.value.message
    few = tmp_path / "few.csv"
    write_sessions(few, [("u1", "01.01.2019 18:00", "02.01.2019 07:00", "3,0")])
    with pytest.raises(UsageError) as caught:
        fit_sessions(few)
    assert "too few sessions" in caught.value.message
