"""Simulated drivers: habit-shaped profiles and their trips, held to the fit they are drawn from.

Runs without the shared data; the fit itself is tested in test_sessions.py.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from typing import Any

import numpy as np
import pytest
from helpers import usage_error
from hypothesis import given
from hypothesis import strategies as st

from iome_ref.simulation import drivers
from iome_ref.simulation.city import City, generate_city
from iome_ref.simulation.drivers import (
    MAX_PLUGGED_S,
    DriverProfile,
    PlannedTrip,
    TripPlanner,
    draw_profiles,
    is_weekend,
    trips_for_day,
    trips_for_round,
)
from iome_ref.simulation.sessions import (
    FITTED,
    QUANTILE_LEVELS,
    SHORT_STAY_H,
    DriverFit,
    kwh_at,
    short_stay_kw_at,
)
from iome_ref.vectors.world import T0

#: First simulated day (the simulation starts a day after T0, a Monday).
DAY0 = (T0 + 86_400) // 86_400


@pytest.fixture(scope="module")
def city() -> City:
    return generate_city(seed=1, n_stations=60, n_homes=2000, n_regions=5)


@pytest.fixture(scope="module")
def profiles(city: City) -> list[DriverProfile]:
    return draw_profiles(city, 400, np.random.default_rng(5))


@pytest.fixture(scope="module")
def four_weeks(profiles: list[DriverProfile]) -> dict[str, list[PlannedTrip]]:
    return {
        p.vehicle_id: [t for day in range(DAY0, DAY0 + 28) for t in trips_for_day(p, day)]
        for p in profiles
    }


# -- profiles -------------------------------------------------------------------------------------


def test_accepts_profile_shapes(city: City, profiles: list[DriverProfile]) -> None:
    assert [p.vehicle_id for p in profiles[:2]] == ["ev-000", "ev-001"]
    assert len({p.vehicle_id for p in profiles}) == 400
    for p in profiles:
        assert p.home_region == city.home_region[p.home_id]
        assert p.home_station == city.home_station(p.home_id)
        assert p.work_region == city.station_region[p.work_station]
        assert 1 <= len(p.preferred_stations) <= 3
        assert p.home_station not in p.preferred_stations
        assert p.work_station not in p.preferred_stations
        assert len(set(p.preferred_stations)) == len(p.preferred_stations)
        assert not set(p.occasional_stations) & p.habitual_stations
        for station, seconds in p.leg_s.items():
            assert seconds == city.travel_time(p.home_station, station) > 0
        assert 6.0 < p.departure_hour < 12.5
        assert 4.0 <= p.usual_plugin_hour <= 28.0
        assert p.typical_kwh > 0
        assert 0.25 <= p.sessions_per_week <= 14.0
    regions = Counter(p.work_region for p in profiles)
    assert regions["r0"] > max(regions[r] for r in city.regions[1:])  # the centre employs


@pytest.mark.parametrize("seed", [9, 10])
def test_accepts_same_seed_same_profiles(city: City, seed: int) -> None:
    a = draw_profiles(city, 50, np.random.default_rng(seed))
    b = draw_profiles(city, 50, np.random.default_rng(seed))
    c = draw_profiles(city, 50, np.random.default_rng(seed + 100))
    assert a == b
    assert a != c
    week = range(DAY0, DAY0 + 7)
    assert [trips_for_day(p, d) for p in a for d in week] == [
        trips_for_day(p, d) for p in b for d in week
    ]
    assert [trips_for_day(p, d) for p in a for d in week] != [
        trips_for_day(p, d) for p in c for d in week
    ]


def test_rejects_bad_profile_requests(city: City) -> None:
    with usage_error("drivers"):
        draw_profiles(city, -1, np.random.default_rng(1))
    empty = generate_city(seed=1, n_stations=5, n_homes=0)
    with usage_error("drivers"):
        draw_profiles(empty, 1, np.random.default_rng(1))
    assert draw_profiles(empty, 0, np.random.default_rng(1)) == []
    no_habits = dataclasses.replace(FITTED, driver_habits=())
    with usage_error("drivers"):
        draw_profiles(city, 1, np.random.default_rng(1), fit=no_habits)


# -- trips ----------------------------------------------------------------------------------------


def test_accepts_rounds_of_any_length_give_the_same_trips(profiles: list[DriverProfile]) -> None:
    start = DAY0 * 86_400
    end = start + 7 * 86_400
    for p in profiles[:40]:
        by_day = [t for d in range(DAY0 - 2, DAY0 + 9) for t in trips_for_day(p, d)]
        expected = sorted(
            (t for t in by_day if start <= t.departure_time < end),
            key=lambda t: t.departure_time,
        )
        six_hours = [t for r in range(28) for t in trips_for_round(p, start + r * 21_600, 21_600)]
        ninety_minutes = [t for r in range(112) for t in trips_for_round(p, start + r * 5400, 5400)]
        assert trips_for_round(p, start, end - start) == expected
        assert six_hours == expected
        assert ninety_minutes == expected


@given(
    which=st.integers(0, 399),
    rounds=st.lists(
        st.tuples(st.integers(-3 * 86_400, 10 * 86_400), st.integers(1, 3 * 86_400)),
        min_size=1,
        max_size=12,
    ),
    forward=st.booleans(),
)
def test_planner_gives_the_trips_of_trips_for_round(
    profiles: list[DriverProfile], which: int, rounds: list[tuple[int, int]], forward: bool
) -> None:
    """TripPlanner remembers day plans for speed (issue 16): the trips of any sequence of
    rounds, forward as the loop asks or in any order, are those trips_for_round gives."""
    profile = profiles[which]
    planner = TripPlanner(profile)
    start = DAY0 * 86_400
    asked = sorted(rounds) if forward else rounds
    for offset, length in asked:
        assert planner.trips_for_round(start + offset, length) == trips_for_round(
            profile, start + offset, length
        )


def test_planner_plans_each_day_once_over_consecutive_rounds(
    profiles: list[DriverProfile], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What TripPlanner is for: over a week of consecutive 6 h rounds (as the loop asks) each
    day is planned once and its trips made once; trips_for_round plans days again."""
    planned: list[int] = []
    made: list[int] = []
    plan_day, trips_of_day = drivers._plan_day, drivers._trips_of_day

    def counting_plans(profile: DriverProfile, day: int, fit: DriverFit) -> object:
        planned.append(day)
        return plan_day(profile, day, fit)

    def counting_trips(
        profile: DriverProfile, day: int, fit: DriverFit, plan_of: Any
    ) -> list[PlannedTrip]:
        made.append(day)
        return trips_of_day(profile, day, fit, plan_of)

    monkeypatch.setattr(drivers, "_plan_day", counting_plans)
    monkeypatch.setattr(drivers, "_trips_of_day", counting_trips)
    start = DAY0 * 86_400
    for profile in profiles[:20]:
        planner = TripPlanner(profile)
        planned.clear()
        made.clear()
        for r in range(28):
            planner.trips_for_round(start + r * 21_600, 21_600)
        assert sorted(planned) == sorted(set(planned))
        assert sorted(made) == sorted(set(made))
        planned.clear()
        for r in range(28):
            trips_for_round(profile, start + r * 21_600, 21_600)
        assert len(planned) > len(set(planned))


def test_accepts_round_bounds_departure_at_start_in_at_end_out(
    profiles: list[DriverProfile],
) -> None:
    """A trip departing at a round's first second is that round's, one departing at its end
    is the next round's; rounds from the first unix day on find that day's trips."""
    for profile in profiles[:40]:
        trip = next(t for d in range(DAY0, DAY0 + 14) for t in trips_for_day(profile, d))
        t = trip.departure_time
        assert trip in trips_for_round(profile, t, 60)
        assert trip not in trips_for_round(profile, t - 60, 60)
        first_days = [t for d in (0, 1) for t in trips_for_day(profile, d)]
        assert trips_for_round(profile, 0, 2 * 86_400) == sorted(
            (t for t in first_days if t.departure_time < 2 * 86_400),
            key=lambda t: t.departure_time,
        )


def test_accepts_tours_are_continuous_and_timed(
    city: City, profiles: list[DriverProfile], four_weeks: dict[str, list[PlannedTrip]]
) -> None:
    for p in profiles:
        trips = four_weeks[p.vehicle_id]
        location = p.home_station
        arrival = 0
        for trip in trips:
            assert trip.origin_station == location
            assert trip.origin_station != trip.destination_station
            assert trip.departure_time >= arrival
            assert trip.travel_s == city.travel_time(trip.origin_station, trip.destination_station)
            assert trip.charge_wh >= 0
            location = trip.destination_station
            arrival = trip.departure_time + trip.travel_s
        assert location == p.home_station


def test_accepts_vehicle_mostly_uses_its_stations(
    profiles: list[DriverProfile], four_weeks: dict[str, list[PlannedTrip]]
) -> None:
    shares = []
    for p in profiles:
        trips = four_weeks[p.vehicle_id]
        if trips:
            shares.append(np.mean([t.destination_station in p.habitual_stations for t in trips]))
    assert np.mean(shares) > 0.97
    assert min(shares) > 0.8
    sessions = Counter(
        t.destination_station == p.home_station
        for p in profiles
        for t in four_weeks[p.vehicle_id]
        if t.charge_wh
    )
    assert sessions[True] > 3 * sessions[False]  # residential data: most charging at home


def test_accepts_departure_hours_cluster(
    profiles: list[DriverProfile], four_weeks: dict[str, list[PlannedTrip]]
) -> None:
    within, pooled = [], []
    for p in profiles:
        hours = [
            (t.departure_time % 86_400) / 3600
            for t in four_weeks[p.vehicle_id]
            if t.purpose == "commute-out"
        ]
        if len(hours) >= 5:
            within.append(float(np.std(hours)))
            pooled.extend(hours)
    assert np.mean(within) < 0.9 * np.std(pooled)
    assert 7.0 < np.median(pooled) < 10.0  # morning commute


def test_accepts_fewer_trips_on_weekends(
    profiles: list[DriverProfile], four_weeks: dict[str, list[PlannedTrip]]
) -> None:
    days = Counter(
        is_weekend(t.departure_time // 86_400) for trips in four_weeks.values() for t in trips
    )
    per_weekday = days[False] / 20
    per_weekend_day = days[True] / 8
    assert per_weekend_day < 0.85 * per_weekday


def test_simulated_sessions_match_the_fit(
    profiles: list[DriverProfile], four_weeks: dict[str, list[PlannedTrip]]
) -> None:
    """The figures the module docstring states, on a smaller run (400 drivers x 4 weeks)."""
    hours, kwh, weekend = [], [], Counter()
    for trips in four_weeks.values():
        for t in trips:
            if t.charge_wh:
                arrival = t.departure_time + t.travel_s
                hours.append((arrival % 86_400) // 3600)
                kwh.append(t.charge_wh / 1000)
                weekend[is_weekend(arrival // 86_400)] += 1
    shares = np.bincount(hours, minlength=24) / len(hours)
    distance = 0.5 * float(np.abs(shares - np.array(FITTED.plugin_hour_weights)).sum())
    assert distance < 0.1
    assert float(np.median(kwh)) == pytest.approx(kwh_at(0.5, FITTED), rel=0.15)
    per_driver_week = len(kwh) / (len(profiles) * 4)
    assert per_driver_week == pytest.approx(FITTED.sessions_per_driver_week, rel=0.15)
    ratio = (weekend[True] / 8) / (weekend[False] / 20)
    assert ratio == pytest.approx(FITTED.weekend_ratio, abs=0.15)
    assert all(math.isfinite(k) and k > 0 for k in kwh)


def _sessions(
    profiles: list[DriverProfile], trips: dict[str, list[PlannedTrip]]
) -> list[tuple[DriverProfile, PlannedTrip, int | None]]:
    """Each planned session with the time its vehicle next departs (None: not in the trips)."""
    out = []
    for p in profiles:
        own = trips[p.vehicle_id]
        for i, t in enumerate(own):
            if t.charge_wh:
                out.append((p, t, own[i + 1].departure_time if i + 1 < len(own) else None))
    return out


def test_accepts_plugged_in_until_leaving_or_a_short_stay(
    profiles: list[DriverProfile], four_weeks: dict[str, list[PlannedTrip]]
) -> None:
    """A charging car stays plugged in until it next departs (within IOME-CHG-006's day), or
    for a short stay that takes no more than its charger delivers meanwhile."""
    kinds = Counter()
    top_kw = short_stay_kw_at(1.0, FITTED)
    for p, t, leaves in _sessions(profiles, four_weeks):
        assert t.off_network_wh == max(0, t.charge_wh - p.hop_wh_per_session)
        arrival = t.departure_time + t.travel_s
        assert t.plug_out_time is not None
        plugged = t.plug_out_time - arrival
        assert 0 < plugged <= MAX_PLUGGED_S
        assert t.charge_wh > 0
        if leaves is not None:
            assert t.plug_out_time <= leaves
        if plugged < SHORT_STAY_H * 3600 and t.plug_out_time != leaves:
            kinds["short"] += 1
            assert t.charge_wh <= top_kw * plugged / 3.6 + 1
        elif leaves is None or t.plug_out_time == leaves:
            kinds["until leaving"] += 1
        else:
            kinds["a day"] += 1
            assert plugged == MAX_PLUGGED_S
    assert kinds["until leaving"] > kinds["short"] > 0.2 * kinds["until leaving"]
    assert kinds["a day"] > 0  # weekends: plugged in longer than the protocol's day


def test_simulated_durations_match_the_fit(
    profiles: list[DriverProfile], four_weeks: dict[str, list[PlannedTrip]]
) -> None:
    """Planned plugged-in hours against the fitted ones (issue 15: within 0.1 TV distance),
    on the realism figure's bins (longer than 17 h is one bin: the protocol's day cuts it)."""
    edges = np.array([0.5, 1, 2, 4, 6, 8, 10, 12, 14, 17])
    hours = [
        (t.plug_out_time - t.departure_time - t.travel_s) / 3600
        for _, t, _ in _sessions(profiles, four_weeks)
        if t.plug_out_time is not None
    ]
    simulated = np.bincount(np.searchsorted(edges, hours, side="right"), minlength=11) / len(hours)
    cdf = np.interp(np.log(edges), np.log(FITTED.duration_quantiles), QUANTILE_LEVELS)
    fitted = np.diff(np.concatenate([[0.0], cdf, [1.0]]))
    assert 0.5 * float(np.abs(simulated - fitted).sum()) < 0.1
    assert float(np.median(hours)) == pytest.approx(
        float(np.interp(0.5, QUANTILE_LEVELS, FITTED.duration_quantiles)), rel=0.2
    )


def test_accepts_second_garage_share_from_the_habit(
    city: City, profiles: list[DriverProfile]
) -> None:
    """A driver with a second garage charges there for its habit's share of sessions; one
    without never leaves home to charge."""
    assert {p.away_share for p in profiles} <= {h.away_share for h in FITTED.driver_habits}
    assert any(p.away_share > 0 for p in profiles)
    for p in profiles:
        assert p.second_station in p.preferred_stations
    homebody, sharer = (
        dataclasses.replace(p, away_share=share)
        for p, share in zip(profiles[:2], (0.0, 0.3), strict=True)
    )
    days = range(DAY0, DAY0 + 400)
    at_home = [t.destination_station == homebody.home_station for d in days
               for t in trips_for_day(homebody, d) if t.charge_wh]  # fmt: skip
    assert at_home
    assert all(at_home)
    where = Counter(t.destination_station for d in days
                    for t in trips_for_day(sharer, d) if t.charge_wh)  # fmt: skip
    assert set(where) == {sharer.home_station, sharer.second_station}
    assert where[sharer.second_station] / where.total() == pytest.approx(0.3, abs=0.07)


def test_accepts_sessions_put_back_what_the_driver_uses(
    city: City, profiles: list[DriverProfile], four_weeks: dict[str, list[PlannedTrip]]
) -> None:
    """Over four weeks the hops and the off-network driving use about what the sessions
    charge: the battery does not drift down to the loop's low-battery top-ups."""
    used = charged = 0
    for p in profiles:
        for t in four_weeks[p.vehicle_id]:
            used += (
                city.energy_wh(t.origin_station, t.destination_station) or 0
            ) + t.off_network_wh
            charged += t.charge_wh
    assert used == pytest.approx(charged, rel=0.1)
    assert any(p.hop_wh_per_session > 0 for p in profiles)
