"""Simulated drivers with the habits of real ones: profiles drawn from fitted habits, and trips.

Why a module of its own: this is where a vehicle gets a life (home, work, stations, habits) and
each day a plan, reproducibly from seeds. It holds no data and no fitting; the charging-session
model it draws from lives in :mod:`iome_ref.simulation.sessions`.

DESIGN "Simulated drivers behave like real ones": an observer links one-time-key sessions by
(station, hour, kWh) habits, so random movers would flatter every privacy measure. Each vehicle
gets a :class:`DriverProfile` (home, home station, work station, 1-3 preferred stations, a usual
morning departure, a usual plug-in hour and kWh with the driver's own day-to-day spread, a
charging rate, weekend behaviour) and :func:`trips_for_round` turns it into trips.

How the fit is used. Plug-in hour and kWh are normal scores in the probit scale of the fitted
marginals (:mod:`iome_ref.simulation.sessions` states the model and the figures). A profile
starts from one real driver (``FITTED.driver_habits``: score means and sds, usual departure,
sessions per week; no ids), moved slightly so no two vehicles are copies. Drivers therefore
carry their real correlations (frequent chargers take less per session) and sessions pooled
over simulated drivers weigh each by its rate, as the real ones do.

Habits are drawn in proportion to the weeks the data watched each driver, so pooled simulated
sessions weigh drivers as the real sessions do. Simulated (2,000 profiles x 8 weeks on
``generate_city(1, 200, 10000)``, planned sessions) against the data: plug-in hour
total-variation distance 0.041, median kWh 9.43 (data 9.05), 2.83 sessions per driver-week
(3.17: a driver who would charge more than once a day charges once), weekend ratio 0.82
(0.895), 0.48% of sessions at a second garage, plugged in a median 10.8 h (10.0 h; TV
distance 0.071 on the realism figure's bins, 22.1% over 17 h against 18.7%, 11.3% cut at
IOME-CHG-006's day against 6.6% longer than a day), 99.4% of trips to the driver's own
stations, commute departure sd 1.2 h within a driver against 1.5 h over all, hops and
off-network driving 1.020 times what the sessions charge.
``tests/unit/test_drivers.py`` (``test_simulated_sessions_match_the_fit``, ``..._durations_...``,
``..._put_back_...``) keeps these in bounds.

What the loop publishes (issue 15, "Simulated drivers must be as linkable as real ones"): a
charging driver charges at most once per tour and stays plugged in until it next leaves (at
home: the next tour's departure, so weekends and days off make the long sessions real cars
show), but for a short stay (the car goes out again the same day; the share of short stays
at each plug-in hour, their hours and their chargers' kW are fitted: mostly daytime). A
session is cut at IOME-CHG-006's day: one session, not two (charging is long over by then).
It charges at home, or at its second garage for the share of sessions its real driver's
station changes imply (``DriverHabit.away_share``: 13 of 97 real users; most drivers 0). The
leg into the session uses that session's energy (``PlannedTrip.off_network_wh``), so the
battery takes the habitual kWh instead of topping up to a cap.
``tests/analysis/test_realism.py`` compares the six figures of a seeded run with the Norway
sessions (``iome_ref.analysis.realism``).

Time: unix seconds read as local wall-clock time (day = t // 86400, weekday from 1970-01-01, a
Thursday). A day's plan is a pure function of ``(profile.seed, day)``, so a round boundary never
splits a tour: the commute out and the one home always agree, whatever the round length.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from iome_ref.errors import UsageError
from iome_ref.simulation.city import City
from iome_ref.simulation.sessions import (
    FITTED,
    QUANTILE_LEVELS,
    DriverFit,
    compute_score,
    compute_share,
    kwh_at,
    long_stay_kwh_at,
    plugin_hour_at,
    short_stay_h_at,
    short_stay_kw_at,
)

__all__ = [
    "DriverProfile",
    "PlannedTrip",
    "TripPlanner",
    "draw_profiles",
    "is_weekend",
    "trips_for_day",
    "trips_for_round",
]

_DAY: Final = 86_400
_HOUR: Final = 3_600


# -- profiles -----------------------------------------------------------------------------------

#: Where a driver works: the centre suburb r0, the home region, or a neighbouring one.
WORK_IN_CENTRE: Final = 0.4
WORK_AT_HOME_REGION: Final = 0.3
#: Preferred stations are drawn among this many stations nearest home (home station excluded).
PREFERRED_POOL: Final = 6
#: Occasional stations (rare trips) drawn from neighbouring regions.
OCCASIONAL_STATIONS: Final = 3
#: Share of errand days that go to an occasional station instead of a preferred one.
EXPLORE_PROB: Final = 0.05
#: Share of drivers who often work weekends, and the weekend work probabilities.
WEEKEND_WORKER_SHARE: Final = 0.1
WEEKEND_WORK_PROB: Final = (0.03, 0.4)
#: Per-driver ranges (uniform) of day-type probabilities.
COMMUTE_PROB_RANGE: Final = (0.75, 0.95)
WEEKDAY_ERRAND_RANGE: Final = (0.2, 0.5)
WEEKEND_TRIP_RANGE: Final = (0.4, 0.85)
#: A profile moves its real driver's habits by these spreads (hours for the departure, score
#: units for plug-in and kWh, ln units for sd and rate), so no two vehicles are copies.
HABIT_SPREAD_H: Final = 0.25
HABIT_SPREAD_SCORE: Final = 0.1
HABIT_SPREAD_LOG: Final = 0.1
#: Sessions per week are clipped to this range.
SESSIONS_PER_WEEK_RANGE: Final = (0.25, 14.0)
#: Clamps keeping a day's tour inside its day and after the previous night's return (hours).
DEPARTURE_HOURS: Final = (5.0, 11.0)
ERRAND_EARLIEST_HOUR: Final = 7.0
LATEST_RETURN_HOUR: Final = 26.0
MIN_STAY_S: Final = 3_600
#: Longest time plugged in: just under IOME-CHG-006's one-day bound on a session.
MAX_PLUGGED_S: Final = 86_400 - 600
ERRAND_DWELL_H: Final = (0.5, 4.0)
#: Uniform draws per driver-day.
_DAY_DRAWS: Final = 13
_DAY_DRAW_STRUCT: Final = struct.Struct(f"<{_DAY_DRAWS}I")

Purpose = Literal["commute-out", "commute-back", "errand-out", "errand-back"]


@dataclass(frozen=True)
class DriverProfile:
    """One vehicle's habits (DESIGN "Simulated drivers behave like real ones").

    ``leg_s`` holds the travel time between the home station and each other station of the
    profile (roads are undirected: both ways). Plug-in hour and kWh are scores in the fitted
    marginals' probit scale (:mod:`iome_ref.simulation.sessions`); ``usual_plugin_hour`` and
    ``typical_kwh`` are their medians, for reading. ``seed`` makes the day plans.
    """

    vehicle_id: str
    seed: int
    home_id: str
    home_region: str
    home_station: str
    work_station: str
    work_region: str
    preferred_stations: tuple[str, ...]
    occasional_stations: tuple[str, ...]
    leg_s: dict[str, int]
    departure_hour: float
    plugin_score: float
    plugin_score_sd: float
    kwh_score: float
    kwh_score_sd: float
    usual_plugin_hour: float
    typical_kwh: float
    sessions_per_week: float
    commute_prob: float
    weekday_errand_prob: float
    weekend_trip_prob: float
    weekend_work_prob: float
    #: The driver's second garage (the nearest preferred station: a neighbour's or a shared
    #: car's garage) and the share of its sessions there (``DriverHabit.away_share``; most
    #: drivers 0).
    second_station: str = ""
    away_share: float = 0.0
    #: Energy the hops between stations use per session, on average (Wh): the leg into a
    #: session drives that much less off the network, so sessions put back what the driver
    #: uses in all (``_hop_wh_per_session``).
    hop_wh_per_session: int = 0

    @property
    def habitual_stations(self) -> frozenset[str]:
        """Home, work and preferred stations: where this driver is normally seen."""
        return frozenset((self.home_station, self.work_station, *self.preferred_stations))


@dataclass(frozen=True)
class PlannedTrip:
    """A trip a driver's habits call for; the loop may still divert it (paper §III decision).

    ``charge_wh`` is the energy the driver habitually charges on arrival (0: no session);
    ``travel_s`` is the fastest travel time, so arrival is ``departure_time + travel_s``;
    ``plug_out_time`` is when the vehicle unplugs there (real cars stay plugged in long after
    charging: the session lasts until then, and the loop publishes it when it ends).
    """

    origin_station: str
    destination_station: str
    departure_time: int
    travel_s: int
    charge_wh: int
    purpose: Purpose
    #: When a charging vehicle unplugs at the destination (None: as soon as it is charged).
    plug_out_time: int | None = None
    #: Energy used on the way beyond the hop between the two stations (Wh): real drives
    #: are longer than a generated city's hops, and a driver charges about what it drives,
    #: so the leg ending in a session uses that session's energy (else sessions would be
    #: cut short by a battery the hops barely drain).
    off_network_wh: int = 0


def draw_profiles(
    city: City, n: int, rng: np.random.Generator, *, fit: DriverFit = FITTED
) -> list[DriverProfile]:
    """``n`` driver profiles on ``city``: vehicle ids ``ev-000 ..``, homes drawn from the city.

    Work is in the centre r0 (40%), the home region (30%) or a neighbouring region; preferred
    stations are 1-3 of the six stations nearest home; occasional stations lie in neighbouring
    regions. Hours, kWh and the weekly rate start from one of ``fit.driver_habits``.
    """
    if n < 0:
        raise UsageError("drivers", f"n must not be negative, got {n}")
    home_ids = list(city.homes)
    if n and not home_ids:
        raise UsageError("drivers", "the city has no homes to draw drivers from")
    if n and not fit.driver_habits:
        raise UsageError("drivers", "the fit has no driver habits to draw profiles from")
    width = max(3, len(str(max(n - 1, 0))))
    picks: list[int] = (
        rng.choice(len(home_ids), size=n, replace=n > len(home_ids)).tolist() if n else []
    )
    return [
        _profile(city, f"ev-{i:0{width}d}", home_ids[pick], rng, fit)
        for i, pick in enumerate(picks)
    ]


def _stations_for(
    city: City, home_id: str, home_station: str, rng: np.random.Generator
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """Work, preferred and occasional stations, all reachable from the home station."""

    row: list[int] = city.travel_matrix[city.station_index[home_station]].tolist()
    index = city.station_index

    def reachable(stations: Sequence[str]) -> list[str]:
        return [s for s in stations if row[index[s]] > 0]

    home_region = city.home_region[home_id]
    neighbours = city.neighbour_regions(home_region)
    where = rng.random()
    if where < WORK_IN_CENTRE:
        work_region = city.regions[0]
    elif where < WORK_IN_CENTRE + WORK_AT_HOME_REGION or not neighbours:
        work_region = home_region
    else:
        work_region = neighbours[int(rng.integers(len(neighbours)))]
    candidates = reachable(city.stations_in(work_region)) or reachable(city.station_ids)
    work = candidates[int(rng.integers(len(candidates)))] if candidates else home_station

    nearby = reachable(city.nearest_stations(city.homes[home_id], PREFERRED_POOL + 1))
    pool = [s for s in nearby if s != work] or [work]
    count = min(len(pool), int(rng.integers(1, 4)))
    preferred = tuple(pool[j] for j in sorted(rng.choice(len(pool), size=count, replace=False)))
    habitual = {home_station, work, *preferred}
    far = [s for r in neighbours for s in reachable(city.stations_in(r)) if s not in habitual]
    take = min(OCCASIONAL_STATIONS, len(far))
    occasional = tuple(far[j] for j in sorted(rng.choice(len(far), size=take, replace=False)))
    return work, preferred, occasional


def _profile(
    city: City, vehicle_id: str, home_id: str, rng: np.random.Generator, fit: DriverFit
) -> DriverProfile:
    home_station = city.home_station(home_id)
    work, preferred, occasional = _stations_for(city, home_id, home_station, rng)
    weeks = np.array([h.weeks for h in fit.driver_habits])
    habit = fit.driver_habits[int(rng.choice(len(weeks), p=weeks / weeks.sum()))]
    u = rng.random(5).tolist()
    z = rng.normal(size=6).tolist()
    departure = habit.departure_hour
    if departure is None:
        departure = float(np.interp(u[0], QUANTILE_LEVELS, fit.driver_departure_hour_quantiles))
    plugin_score = habit.plugin_score + HABIT_SPREAD_SCORE * z[1]
    kwh_score = habit.kwh_score + HABIT_SPREAD_SCORE * z[2]
    weekly = habit.sessions_per_week * math.exp(HABIT_SPREAD_LOG * z[3])
    profile = DriverProfile(
        vehicle_id=vehicle_id,
        seed=int(rng.integers(1 << 62)),
        home_id=home_id,
        home_region=city.home_region[home_id],
        home_station=home_station,
        work_station=work,
        work_region=city.station_region[work],
        preferred_stations=preferred,
        occasional_stations=occasional,
        leg_s={s: city.travel_time(home_station, s) or 0 for s in (work, *preferred, *occasional)},
        departure_hour=departure + HABIT_SPREAD_H * z[0],
        plugin_score=plugin_score,
        plugin_score_sd=habit.plugin_score_sd * math.exp(HABIT_SPREAD_LOG * z[4]),
        kwh_score=kwh_score,
        kwh_score_sd=habit.kwh_score_sd * math.exp(HABIT_SPREAD_LOG * z[5]),
        usual_plugin_hour=plugin_hour_at(compute_share(plugin_score), fit),
        typical_kwh=kwh_at(compute_share(kwh_score), fit),
        sessions_per_week=min(max(weekly, SESSIONS_PER_WEEK_RANGE[0]), SESSIONS_PER_WEEK_RANGE[1]),
        commute_prob=_between(COMMUTE_PROB_RANGE, u[1]),
        weekday_errand_prob=_between(WEEKDAY_ERRAND_RANGE, u[2]),
        weekend_trip_prob=_between(WEEKEND_TRIP_RANGE, u[3]),
        weekend_work_prob=WEEKEND_WORK_PROB[1 if u[4] < WEEKEND_WORKER_SHARE else 0],
        second_station=preferred[0] if preferred else work,
        away_share=habit.away_share,
    )
    hop_wh = _hop_wh_per_session(profile, city, fit)
    return dataclasses.replace(profile, hop_wh_per_session=hop_wh)


def _hop_wh_per_session(profile: DriverProfile, city: City, fit: DriverFit) -> int:
    """Expected hop energy over expected sessions, per week (weekdays and weekend days).

    Without it the hops drain the battery by what no session puts back (a session takes the
    habitual kWh, a tour's hops use a few more), until the loop's low-battery top-ups fill
    it at whatever station the car stands: 22 kWh sessions away from home that no real
    driver makes.
    """
    wh = {s: city.energy_wh(profile.home_station, s) or 0 for s in profile.leg_s}
    errand = [wh[s] for s in profile.preferred_stations if s != profile.home_station]
    errand_wh = sum(errand) / len(errand) if errand else 0.0
    work_wh = wh.get(profile.work_station, 0) if profile.work_station != profile.home_station else 0
    per_weekday = profile.sessions_per_week / (5.0 + 2.0 * fit.weekend_ratio)
    hops = sessions = 0.0
    for days, commute, trip, ratio in (
        (5, profile.commute_prob, profile.weekday_errand_prob, 1.0),
        (2, profile.weekend_work_prob, profile.weekend_trip_prob, fit.weekend_ratio),
    ):
        errand_p = (1.0 - commute) * trip
        tour = commute + errand_p
        hops += days * 2 * (commute * work_wh + errand_p * errand_wh)
        sessions += days * min(per_weekday * ratio, tour)
    return round(hops / sessions) if sessions > 0 else 0


def _between(bounds: tuple[float, float], u: float) -> float:
    return bounds[0] + u * (bounds[1] - bounds[0])


# -- trips --------------------------------------------------------------------------------------


def trips_for_round(
    profile: DriverProfile, round_start: int, round_len: int, *, fit: DriverFit = FITTED
) -> list[PlannedTrip]:
    """The trips ``profile`` departs on in ``[round_start, round_start + round_len)``.

    No rng argument (a change from the first contract): day plans come from
    ``(profile.seed, day)`` alone, so the same trips appear whatever the round length and
    a tour's way out and way home never disagree across a round boundary.
    """
    return _round_trips(lambda day: trips_for_day(profile, day, fit=fit), round_start, round_len)


def _first_day(round_start: int) -> int:
    """The earliest day whose tour may still depart at ``round_start`` (a late return)."""
    return (round_start - int(LATEST_RETURN_HOUR * _HOUR)) // _DAY


def _round_trips(
    day_trips: Callable[[int], list[PlannedTrip]], round_start: int, round_len: int
) -> list[PlannedTrip]:
    """The trips of the days ``day_trips`` gives that depart in the round, by departure."""
    end = round_start + round_len
    last_day = (end - 1) // _DAY
    trips = [
        trip
        for day in range(max(_first_day(round_start), 0), last_day + 1)
        for trip in day_trips(day)
        if round_start <= trip.departure_time < end
    ]
    return sorted(trips, key=lambda t: t.departure_time)


class TripPlanner:
    """:func:`trips_for_round` of one driver, remembering the day plans and trips it made.

    A day's plan and its trips are pure functions of ``(profile, day, fit)`` (module
    docstring; a profile and a fit are frozen, trips too), so a round asking for a day again
    is given the very trips computed before instead of computing them again: with 6 h rounds
    a day was planned about five times (its own rounds, the next day's rounds looking back
    for late returns, the plug-out look-ahead of the two days before). Same trips, tested
    against :func:`trips_for_round` over rounds of any length and order. Days before a
    round's first are forgotten (rounds move forward; an earlier one is computed again).
    """

    def __init__(self, profile: DriverProfile, *, fit: DriverFit = FITTED) -> None:
        self.profile = profile
        self.fit = fit
        self._plans: dict[int, _DayPlan | None] = {}
        self._trips: dict[int, list[PlannedTrip]] = {}

    def trips_for_round(self, round_start: int, round_len: int) -> list[PlannedTrip]:
        """``trips_for_round(self.profile, round_start, round_len, fit=self.fit)``."""
        first = _first_day(round_start)
        for kept in (self._plans, self._trips):
            for day in [day for day in kept if day < first]:
                del kept[day]
        return _round_trips(self._day_trips, round_start, round_len)

    def _plan(self, day: int) -> _DayPlan | None:
        if day not in self._plans:
            self._plans[day] = _plan_day(self.profile, day, self.fit)
        return self._plans[day]

    def _day_trips(self, day: int) -> list[PlannedTrip]:
        trips = self._trips.get(day)
        if trips is None:
            trips = _trips_of_day(self.profile, day, self.fit, self._plan)
            self._trips[day] = trips
        return trips


def is_weekend(day: int) -> bool:
    """Saturday or Sunday for a unix day number (1970-01-01, day 0, was a Thursday)."""
    return (day + 3) % 7 >= 5


@dataclass(frozen=True)
class _Tour:
    """One day's tour before timing: where, and which arrivals charge how much."""

    destination: str
    commute: bool
    #: The sessions' cumulative shares in the kWh marginals (None: no session there).
    charge_home: float | None
    charge_away: float | None
    #: The session whose plug-in hour follows the fitted distribution is the one away.
    main_away: bool


def _tour(profile: DriverProfile, day: int, u: list[float], fit: DriverFit) -> _Tour | None:
    weekend = is_weekend(day)
    if weekend:
        p_commute = profile.weekend_work_prob
        p_errand = (1.0 - p_commute) * profile.weekend_trip_prob
    else:
        p_commute = profile.commute_prob
        p_errand = (1.0 - p_commute) * profile.weekday_errand_prob
    if u[0] >= p_commute + p_errand:
        return None
    per_weekday = profile.sessions_per_week / (5.0 + 2.0 * fit.weekend_ratio)
    expected = per_weekday * (fit.weekend_ratio if weekend else 1.0) / (p_commute + p_errand)
    # One session per tour at most: a second one would be away from home, where the real
    # (residential) drivers are seldom seen; heavy chargers fall short of their rate instead.
    main = u[3] < min(expected, 1.0)
    # A session at the second garage turns the day's tour into a trip there.
    main_away = main and u[12] < profile.away_share and profile.second_station in profile.leg_s
    commute = u[0] < p_commute and not main_away
    destination = profile.second_station if main_away else profile.work_station
    if not commute and not main_away:
        pool = profile.preferred_stations
        if u[1] < EXPLORE_PROB and profile.occasional_stations:
            pool = profile.occasional_stations
        destination = pool[min(int(u[2] * len(pool)), len(pool) - 1)] if pool else destination
    if destination == profile.home_station:
        return None
    home_on = main and not main_away
    away_on = main and main_away
    return _Tour(
        destination=destination,
        commute=commute,
        charge_home=_session_share(profile, u[6]) if home_on else None,
        charge_away=_session_share(profile, u[7]) if away_on else None,
        main_away=main_away,
    )


def _session_share(profile: DriverProfile, u: float) -> float:
    """A session's cumulative share in the kWh marginals, drawn from the driver's habit."""
    return compute_share(profile.kwh_score + profile.kwh_score_sd * compute_score(u))


@dataclass(frozen=True)
class _DayPlan:
    """A day's tour with its times, before plug-out times are added."""

    tour: _Tour
    leg_s: int
    out_departure: int
    back_departure: int
    purposes: tuple[Purpose, Purpose]
    plugged_draw: float


def _plan_day(profile: DriverProfile, day: int, fit: DriverFit) -> _DayPlan | None:
    u = _day_uniforms(profile.seed, day)
    tour = _tour(profile, day, u, fit)
    if tour is None:
        return None
    leg = profile.leg_s[tour.destination]
    start = day * _DAY
    plugin_score = profile.plugin_score + profile.plugin_score_sd * compute_score(u[8])
    target = start + _seconds(min(plugin_hour_at(compute_share(plugin_score), fit), 26.0))
    latest_home = start + _seconds(LATEST_RETURN_HOUR)
    if tour.commute:
        hour = profile.departure_hour + float(
            np.interp(u[9], QUANTILE_LEVELS, fit.within_departure_hour_quantiles)
        )
        out_departure = start + _seconds(min(max(hour, DEPARTURE_HOURS[0]), DEPARTURE_HOURS[1]))
        back_departure = max(min(target, latest_home) - leg, out_departure + leg + MIN_STAY_S)
        purposes: tuple[Purpose, Purpose] = ("commute-out", "commute-back")
    else:
        out_departure, back_departure = _errand_times(
            tour, leg, start=start, target=target, u=u[10], fit=fit
        )
        purposes = ("errand-out", "errand-back")
    return _DayPlan(tour, leg, out_departure, back_departure, purposes, u[11])


def _errand_times(
    tour: _Tour, leg: int, *, start: int, target: int, u: float, fit: DriverFit
) -> tuple[int, int]:
    """An errand's departure from home and from its station.

    Home by the plug-in hour ``target``, having left at a real departure hour (the fitted
    plug-out hours: leaving home is unplugging there) between 7 h and a short dwell before;
    an errand charging at its station arrives there at ``target`` instead and dwells a
    drawn time (:data:`ERRAND_DWELL_H`).
    """
    latest_home = start + _seconds(LATEST_RETURN_HOUR)
    earliest_out = start + _seconds(ERRAND_EARLIEST_HOUR)
    shortest = _seconds(ERRAND_DWELL_H[0])
    if tour.main_away:
        dwell_h = math.exp(fit.duration_log_mu + fit.duration_log_sigma * compute_score(u))
        dwell = _seconds(min(max(dwell_h, ERRAND_DWELL_H[0]), ERRAND_DWELL_H[1]))
        out_arrival = min(target, latest_home - leg - dwell)
        out_arrival = max(out_arrival, earliest_out + leg)
        return out_arrival - leg, out_arrival + dwell
    back = min(target, latest_home) - leg
    latest_out = back - leg - shortest
    if latest_out <= earliest_out:
        return earliest_out, earliest_out + leg + shortest
    hour = _hour_between(
        fit.plugout_hour_weights, ERRAND_EARLIEST_HOUR, (latest_out - start) / _HOUR, u
    )
    out = min(max(start + _seconds(hour), earliest_out), latest_out)
    return out, back


def _hour_between(weights: Sequence[float], low: float, high: float, u: float) -> float:
    """The hour at share ``u`` of the hourly ``weights`` (uniform within an hour; hour ``h``
    past midnight weighs ``weights[h % 24]``) restricted to ``[low, high]``."""
    edges = [low, *range(math.floor(low) + 1, math.ceil(high)), high]
    mass = [0.0]
    for a, b in itertools.pairwise(edges):
        mass.append(mass[-1] + weights[math.floor(a) % 24] * (b - a))
    if mass[-1] <= 0:
        return low + u * (high - low)
    return float(np.interp(u * mass[-1], mass, edges))


def _plug_out(
    profile: DriverProfile,
    day: int,
    plan: _DayPlan,
    *,
    arrival: int,
    leaves: int | None,
    fit: DriverFit,
    plan_of: Callable[[int], _DayPlan | None],
) -> tuple[int, bool]:
    """When a vehicle plugged in at ``arrival`` unplugs, and whether that is a short stay
    (else it stays until it leaves).

    Real cars stay plugged in until they leave: at home until the next tour's departure
    (``leaves`` None: looked up within two days; none: a day), away until the way home. A
    share of the sessions plugged in at each hour (``fit.short_stay_share_by_hour``: most
    daytime, few evening ones) are short stays, unplugged after a real short stay's hours
    (the car goes out again the same day: one tour a day has no such outing of its own).
    Either way within IOME-CHG-006's day: a real car plugged in longer (6.6% of the real
    sessions) appears on the chain as one session cut at that bound, not two (charging is
    long over by then; a second session would move no energy).
    """
    if leaves is None:
        for later in (day + 1, day + 2):
            following = plan_of(later)
            if following is not None:
                leaves = following.out_departure
                break
    latest = arrival + MAX_PLUGGED_S if leaves is None else min(leaves, arrival + MAX_PLUGGED_S)
    hour = (arrival % _DAY) // _HOUR
    share = fit.short_stay_share_by_hour[hour] if fit.short_stay_share_by_hour else 0.0
    if plan.plugged_draw < share:
        hours = short_stay_h_at(plan.plugged_draw / share, fit)
        out = arrival + max(_seconds(hours), 60)
        if out < latest:
            return out, True
    return max(arrival, latest), False


def _session_trip(
    profile: DriverProfile,
    day: int,
    plan: _DayPlan,
    *,
    leg: tuple[str, str, int, Purpose],
    kwh_share: float | None,
    leaves: int | None,
    fit: DriverFit,
    plan_of: Callable[[int], _DayPlan | None],
) -> PlannedTrip:
    """One leg of a day's tour, with its session (if ``kwh_share`` is set).

    The session's kWh follows the driver's draw (``kwh_share``) in the real figures of its
    kind: a long stay takes that share of the long stays' kWh; a short stay charges all
    along (as the real ones do) at that share of the short stays' kW, so it takes what a
    charger delivers in its hours. The two kinds pool to the real kWh, a driver taking much
    takes much in both, and a short stay is not stretched by its charging time.
    """
    origin, destination, departure, purpose = leg
    plug_out = None
    charge_wh = 0
    if kwh_share is not None:
        arrival = departure + plan.leg_s
        plug_out, short = _plug_out(
            profile, day, plan, arrival=arrival, leaves=leaves, fit=fit, plan_of=plan_of
        )
        kwh = long_stay_kwh_at(kwh_share, fit)
        if short:
            kwh = short_stay_kw_at(kwh_share, fit) * (plug_out - arrival) / _HOUR
        charge_wh = max(1, round(kwh * 1000.0))
    return PlannedTrip(
        origin_station=origin,
        destination_station=destination,
        departure_time=departure,
        travel_s=plan.leg_s,
        charge_wh=charge_wh,
        purpose=purpose,
        off_network_wh=max(0, charge_wh - profile.hop_wh_per_session),
        plug_out_time=plug_out,
    )


def trips_for_day(
    profile: DriverProfile, day: int, *, fit: DriverFit = FITTED
) -> list[PlannedTrip]:
    """One day's tour from home and back (or none), a pure function of (profile, day).

    Weekdays: commute with ``commute_prob``, else an errand with ``weekday_errand_prob``;
    weekends: work with ``weekend_work_prob``, else an errand with ``weekend_trip_prob``.
    Charging keeps the fitted rate: a day with a tour has ``r / P(tour)`` expected sessions
    (``r`` the day's share of ``sessions_per_week``, weekend days weighted by
    ``fit.weekend_ratio``), at most one: on arriving home, or (``away_share`` of them) at the
    driver's second garage, where that day's tour goes. The session's arrival is timed at a
    plug-in hour drawn from the driver's habit; tours are clamped to start after 5 h (commute)
    or 7 h (errand) and to be home by 2 h the next night. A charging vehicle stays plugged in
    until it leaves, or for a short stay (``_plug_out``; ``PlannedTrip.plug_out_time``).
    """
    return _trips_of_day(profile, day, fit, lambda later: _plan_day(profile, later, fit))


def _trips_of_day(
    profile: DriverProfile,
    day: int,
    fit: DriverFit,
    plan_of: Callable[[int], _DayPlan | None],
) -> list[PlannedTrip]:
    """``trips_for_day`` with day plans from ``plan_of`` (``_plan_day`` or a planner's)."""
    plan = plan_of(day)
    if plan is None:
        return []
    tour, home, away = plan.tour, profile.home_station, plan.tour.destination
    return [
        _session_trip(
            profile,
            day,
            plan,
            leg=(home, away, plan.out_departure, plan.purposes[0]),
            kwh_share=tour.charge_away,
            leaves=plan.back_departure,
            fit=fit,
            plan_of=plan_of,
        ),
        _session_trip(
            profile,
            day,
            plan,
            leg=(away, home, plan.back_departure, plan.purposes[1]),
            kwh_share=tour.charge_home,
            leaves=None,
            fit=fit,
            plan_of=plan_of,
        ),
    ]


def _day_uniforms(seed: int, day: int) -> list[float]:
    """Thirteen uniforms in [0, 1) for one driver-day: BLAKE2b of (seed, day).

    A hash rather than a seeded generator: ~1 us instead of ~20 us per day, and the same
    numbers on every platform and library version.
    """
    digest = hashlib.blake2b(
        f"iome-driver-day/{seed}/{day}".encode(), digest_size=_DAY_DRAW_STRUCT.size
    ).digest()
    return [word / 2.0**32 for word in _DAY_DRAW_STRUCT.unpack(digest)]


def _seconds(hours: float) -> int:
    return round(hours * _HOUR)
