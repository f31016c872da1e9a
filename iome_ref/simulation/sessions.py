"""The fitted charging-session model: real drivers' habits, and the fit that produced them.

Why a module of its own: DESIGN "Simulated drivers behave like real ones" rests on real data,
and this is where that data's shape lives: the fitted constants (:data:`FITTED`), the marginals
they define (:func:`plugin_hour_at`, :func:`kwh_at`), the probit scale between shares and
scores (:func:`compute_score`, :func:`compute_share`) and the refit from a sessions CSV
(:func:`fit_sessions`). It reads a file only when asked to refit; it draws no profiles and
plans no trips (that is :mod:`iome_ref.simulation.drivers`, which imports this module, never
the reverse).

The model. Plug-in hour and kWh follow a Gaussian copula: the pooled real distribution is the
marginal (24 hourly shares, uniform within the hour; kWh quantiles, log-linear between them),
and each driver is a normal score ``N(mean, sd)`` in that marginal's probit scale. Each real
driver's habits are kept (``FITTED.driver_habits``: score means and sds, usual departure,
sessions per week; no ids), so drivers carry their real correlations (frequent chargers take
less per session).

The fit (:data:`FITTED`, refit by :func:`fit_sessions`; ``tests/unit/test_sessions.py`` checks
the constants against ``../shared/data/norway-residential-ev-sessions``): 6,878 residential
sessions by 97 drivers in Norwegian apartment garages, Dec 2018 - Jan 2020 (Sørensen et al.,
Data in Brief 36, 2021). Per-driver figures use the 76 drivers with at least 10 sessions over at
least 4 weeks.

- Plug-in hour: evening peak (15-16 h: 25.5% of sessions; 14-21 h: 73.8%). In probit units a
  driver's own scores spread with sd 0.88 on average and drivers' means with sd 0.41: a habit,
  with much day-to-day variation (the real sessions' plug-in sd is ~3.5 h within a driver).
- kWh per session: median 9.05 kWh (5-95% 1.6-38.1); a lognormal (ln-mu 2.114, ln-sigma 1.127,
  median 8.3 kWh) overstates the upper tail, hence the quantiles. Probit sd 0.79 within a
  driver, 0.75 between drivers; frequent chargers take less (r = -0.58 with ln rate).
- Morning departure (plug-out in 4-12 h; 66 of the 76 drivers have >= 5): usual hour median
  8.5 h (5-95% 7.3-10.3 h), day-to-day deviation 10-90% -1.3..+2.2 h.
- Duration plugged in: median 10.0 h (5-95% 0.6-28.7 h; 6.6% over a day); lognormal ln-mu
  1.818 (hours), ln-sigma 1.382 (used for errand dwell times). Two kinds, split at the
  trough between them (SHORT_STAY_H, 6 h): short stays (39.8%; the car goes out again the
  same day: 60-77% of plug-ins at 7-15 h, 7-9% at 21-24 h), median 2.2 h and 6.5 kWh,
  charging all along at the garages' 3.6 kW (5.7-7.8 kW for the top fifth); long stays (the
  car stays plugged in until it next leaves), median 11.7 kWh against 9.05 for all.
- Second garages: 13 of 97 users charge at more than one garage (87% at one over the whole
  time watched, 99.3% over 7-day windows): most moved once (one change in 50-130 sessions),
  three alternate. ``DriverHabit.away_share`` holds the share that reproduces each driver's
  station changes.
- Sessions per driver per week: 3.58 averaged over drivers (median 2.6, 10-90% 1.0-7.5;
  between drivers lognormal ln-mu 0.994, ln-sigma 0.788), 3.17 per driver-week (sessions over
  weeks watched, pooled); weekly counts have variance/mean 1.10 (near Poisson).
- Weekend: 0.895 sessions per weekend day for each session per weekday.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

from iome_ref.errors import UsageError

__all__ = [
    "FITTED",
    "QUANTILE_LEVELS",
    "SHORT_STAY_H",
    "DriverFit",
    "DriverHabit",
    "compute_score",
    "compute_share",
    "duration_h_at",
    "fit_sessions",
    "kwh_at",
    "long_stay_kwh_at",
    "plugin_hour_at",
    "short_stay_h_at",
    "short_stay_kw_at",
]

#: Levels of every stored quantile table (0 and 1 are the observed minimum and maximum).
QUANTILE_LEVELS: Final = (
    0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 1.0,
)  # fmt: skip
#: Drivers with fewer sessions, or active over a shorter span, do not enter per-driver figures.
MIN_DRIVER_SESSIONS: Final = 10
MIN_SPAN_DAYS: Final = 28
#: Morning plug-outs (departures from home) are those in [4 h, 12 h); a driver's usual
#: departure needs MIN_MORNINGS of them.
MORNING_HOURS: Final = (4, 12)
MIN_MORNINGS: Final = 5
#: A session plugged in for less than this is a short stay (the real durations' trough lies at
#: 6-8 h, between same-day stays and the overnight mode).
SHORT_STAY_H: Final = 6.0
#: Plug-in hours are written in [4, 28): the quietest hour (4-5 h) starts the day, so a late
#: plug-in after midnight stays next to the evening it belongs to.
DAY_START_HOUR: Final = 4
_DAY: Final = 86_400
_WEEK_DAYS: Final = 7.0
_NORMAL: Final = NormalDist()
_EDGE: Final = 1e-6


class DriverHabit(NamedTuple):
    """One real driver's habits, in the copula's probit scale (module docstring)."""

    #: Mean and sd of the driver's plug-in hour scores.
    plugin_score: float
    plugin_score_sd: float
    #: Mean morning (4-12 h) plug-out hour; None with fewer than MIN_MORNINGS of them.
    departure_hour: float | None
    #: Mean and sd of the driver's kWh scores.
    kwh_score: float
    kwh_score_sd: float
    #: (sessions - 1) / weeks between the first and the last session.
    sessions_per_week: float
    #: Weeks between the first and the last session: how long the data watched this driver.
    weeks: float
    #: Share of sessions at a second station (another garage: a shared car's, a neighbour's,
    #: one at work): the share that, drawn independently for each session, changes station
    #: from one session to the next as often as this driver did (``s`` changes over ``n - 1``
    #: consecutive pairs: ``a`` with ``2a(1 - a) = s``). Not the raw share away from the main
    #: station: most real drivers with two garages moved once (one change in a hundred
    #: sessions), and a raw share would have them alternate every week.
    away_share: float


@dataclass(frozen=True)
class DriverFit:
    """Charging habits fitted to real sessions (the module docstring states the figures).

    Hours are local wall-clock hours; ``*_quantiles`` are values at :data:`QUANTILE_LEVELS`.
    """

    sessions: int
    drivers: int
    #: Share of sessions plugged in during each hour 0..23 (sums to 1).
    plugin_hour_weights: tuple[float, ...]
    #: Share of sessions unplugged during each hour 0..23.
    plugout_hour_weights: tuple[float, ...]
    duration_log_mu: float
    duration_log_sigma: float
    #: Hours plugged in (plug-in to plug-out), at QUANTILE_LEVELS.
    duration_quantiles: tuple[float, ...]
    #: Share of the sessions plugged in during each hour 0..23 that are short stays (unplugged
    #: within SHORT_STAY_H, before the next morning: the car goes out again the same day).
    short_stay_share_by_hour: tuple[float, ...]
    #: Hours plugged in of the short stays, at QUANTILE_LEVELS.
    short_stay_quantiles: tuple[float, ...]
    #: kWh per hour plugged in of the short stays (the car charges most of a short stay: the
    #: garages' 3.6-7.4 kW chargers), at QUANTILE_LEVELS: a short stay takes at most that.
    short_stay_kw_quantiles: tuple[float, ...]
    #: kWh of the other sessions (plugged in SHORT_STAY_H or longer), at QUANTILE_LEVELS: a
    #: driver's kWh score maps through these for a long stay, so that short stays (kWh set by
    #: their hours) and long ones pool to the real kWh.
    long_stay_kwh_quantiles: tuple[float, ...]
    kwh_log_mu: float
    kwh_log_sigma: float
    kwh_quantiles: tuple[float, ...]
    #: A driver's mean morning plug-out hour, across drivers (for habits without one).
    driver_departure_hour_quantiles: tuple[float, ...]
    #: A morning plug-out hour minus its driver's mean.
    within_departure_hour_quantiles: tuple[float, ...]
    #: Mean over drivers of each one's rate, and the rate per driver-week (sessions / weeks
    #: watched, summed over drivers): what a simulation drawing habits by weeks reproduces.
    sessions_per_week_mean: float
    sessions_per_driver_week: float
    sessions_per_week_log_mu: float
    sessions_per_week_log_sigma: float
    #: Variance over mean of a driver's weekly session counts (pooled over drivers).
    sessions_per_week_dispersion: float
    #: Sessions per weekend day over sessions per weekday.
    weekend_ratio: float
    #: The habits of each fitted driver, in file order (no ids): profiles start from one.
    driver_habits: tuple[DriverHabit, ...]


#: The fit of ../shared/data/norway-residential-ev-sessions (fit_sessions, 4 decimals).
# fmt: off
FITTED: Final = DriverFit(
    sessions=6878,
    drivers=97,
    plugin_hour_weights=(
        0.0148, 0.0058, 0.0036, 0.0025, 0.001, 0.0013, 0.0028, 0.0115, 0.0118, 0.0096, 0.0169,
        0.0252, 0.0294, 0.0427, 0.0593, 0.1144, 0.1404, 0.0884, 0.0849, 0.0983, 0.0848, 0.0673,
        0.0544, 0.0289,
    ),
    plugout_hour_weights=(
        0.0066, 0.0042, 0.0016, 0.0012, 0.002, 0.0026, 0.065, 0.179, 0.0662, 0.0475, 0.0501,
        0.0541, 0.0422, 0.0389, 0.0421, 0.0459, 0.053, 0.0779, 0.0627, 0.0451, 0.0371, 0.0358,
        0.0238, 0.0153,
    ),
    duration_log_mu=1.8182,
    duration_log_sigma=1.3815,
    duration_quantiles=(
        0.0033, 0.0276, 0.148, 0.6136, 1.1636, 2.2251, 3.4188, 6.0897, 10.0263, 11.9221,
        14.2222, 16.513, 20.8152, 28.7234, 46.6184, 66.1702, 255.0294,
    ),
    short_stay_share_by_hour=(
        0.0392, 0.075, 0.2, 0.2353, 0.5714, 0.6667, 0.3684, 0.6076, 0.679, 0.7576, 0.7586,
        0.7651, 0.6535, 0.6357, 0.6222, 0.5645, 0.4885, 0.4422, 0.3493, 0.2704, 0.1876, 0.0935,
        0.0697, 0.0704,
    ),
    short_stay_quantiles=(
        0.0033, 0.0108, 0.0194, 0.1466, 0.4704, 0.9412, 1.3871, 1.7791, 2.2131, 2.6555, 3.118,
        3.6732, 4.5013, 5.1529, 5.6082, 5.8009, 5.9986,
    ),
    short_stay_kw_quantiles=(
        0.0688, 0.5907, 0.7599, 1.1193, 1.4841, 2.1647, 2.8686, 3.4055, 3.5483, 3.5971, 3.6628,
        5.6896, 6.6928, 7.047, 7.2939, 7.3819, 7.7768,
    ),
    long_stay_kwh_quantiles=(
        0.01, 1.4016, 2.0232, 2.958, 4.176, 6.05, 7.51, 9.23, 11.7, 14.1, 17.0, 21.306, 33.02,
        48.072, 58.1408, 62.2504, 80.86,
    ),
    kwh_log_mu=2.1143,
    kwh_log_sigma=1.1269,
    kwh_quantiles=(
        0.01, 0.06, 0.4054, 1.5985, 2.76, 4.45, 5.941, 7.34, 9.05, 11.602, 14.49, 18.21, 26.056,
        38.1145, 52.7084, 59.3892, 80.86,
    ),
    driver_departure_hour_quantiles=(
        7.1567, 7.168, 7.2004, 7.3009, 7.5694, 7.8639, 8.1506, 8.297, 8.456, 8.5708, 8.9787,
        9.2286, 9.9433, 10.334, 10.7791, 11.1447, 11.6017,
    ),
    within_departure_hour_quantiles=(
        -5.6273, -2.9064, -2.4003, -1.6803, -1.3108, -0.948, -0.7622, -0.6235, -0.4621, -0.1992,
        0.3652, 1.2727, 2.2292, 2.8924, 3.4043, 3.6664, 4.6925,
    ),
    sessions_per_week_mean=3.5798,
    sessions_per_driver_week=3.1738,
    sessions_per_week_log_mu=0.9935,
    sessions_per_week_log_sigma=0.7882,
    sessions_per_week_dispersion=1.0953,
    weekend_ratio=0.8953,
    driver_habits=(
        DriverHabit(-0.2822, 1.0469, 9.312, 0.9077, 0.9191, 0.7097, 57.7731, 0.0),
        DriverHabit(0.412, 0.9867, 9.9971, -0.076, 0.6316, 2.8397, 57.7516, 0.0),
        DriverHabit(0.8606, 0.9403, 10.5, 0.8138, 0.4738, 1.4503, 55.8524, 0.0),
        DriverHabit(0.1135, 0.8637, 10.4085, -0.4527, 0.4589, 3.3554, 55.433, 0.0),
        DriverHabit(0.3394, 1.3805, 9.1369, -0.0641, 0.7741, 5.7804, 55.0136, 0.0),
        DriverHabit(-0.119, 0.7772, 7.6326, 0.7386, 0.9943, 2.4675, 54.7118, 0.0),
        DriverHabit(-0.9076, 0.8171, 9.1434, -0.6741, 0.5023, 2.1408, 53.2515, 0.0),
        DriverHabit(0.7296, 1.0866, 9.6273, 0.7411, 0.542, 1.7953, 54.0312, 0.0),
        DriverHabit(-0.0846, 1.1835, 8.5035, 0.5362, 1.0382, 1.4362, 51.5258, 0.0),
        DriverHabit(0.4741, 1.1544, 8.2288, 0.521, 0.8129, 0.7244, 53.8355, 0.0542),
        DriverHabit(-0.1602, 1.0888, 8.648, -0.2233, 0.8755, 5.2242, 53.0224, 0.0),
        DriverHabit(-0.0215, 0.5765, 7.6554, 0.2329, 0.7059, 4.0966, 51.9937, 0.0),
        DriverHabit(0.2258, 0.9756, 8.2291, -0.667, 0.6132, 12.3746, 51.5572, 0.0),
        DriverHabit(-0.4571, 1.1032, 10.1107, 0.218, 0.3272, 1.343, 51.3766, 0.0),
        DriverHabit(-0.2191, 1.4264, 8.044, 0.7175, 0.399, 2.6557, 49.7051, 0.0),
        DriverHabit(-0.4547, 0.9583, 8.3102, 0.3247, 0.8507, 2.4621, 49.5508, 0.0),
        DriverHabit(0.2176, 0.8554, 8.2172, 0.536, 0.7714, 4.199, 47.8684, 0.0),
        DriverHabit(-0.2348, 0.7213, 8.4354, 0.4309, 0.7873, 3.6499, 46.0284, 0.0),
        DriverHabit(-0.118, 1.1253, None, 0.8358, 1.1803, 0.3907, 35.8316, 0.0371),
        DriverHabit(-0.0565, 0.7711, None, -0.1559, 0.5382, 1.9818, 14.1283, 0.0),
        DriverHabit(0.3053, 0.6993, 7.5556, 0.6715, 0.5608, 1.2495, 40.0162, 0.0101),
        DriverHabit(-0.4304, 0.7246, None, 0.4274, 0.3247, 0.5381, 37.1645, 0.0),
        DriverHabit(-0.1079, 1.1066, 8.1742, 1.2335, 1.0449, 2.4252, 35.8732, 0.0058),
        DriverHabit(0.0203, 0.803, 7.45, 1.3817, 0.6292, 1.2501, 35.996, 0.0),
        DriverHabit(-0.3014, 0.894, 10.0333, 0.567, 1.2021, 0.8749, 32.0031, 0.0),
        DriverHabit(0.6834, 0.6295, 8.3986, 1.6627, 1.0501, 0.5249, 34.2908, 0.0),
        DriverHabit(-0.1697, 0.6991, 7.605, 1.0323, 0.6238, 1.7512, 33.691, 0.0),
        DriverHabit(-0.3216, 0.8567, 7.8639, 1.3625, 0.8333, 1.8042, 32.148, 0.0087),
        DriverHabit(-0.1258, 1.0442, 8.1625, 0.654, 1.4517, 3.532, 31.1439, 0.1432),
        DriverHabit(-0.0285, 1.2118, 8.4403, 0.9972, 0.5819, 1.5772, 19.0213, 0.0),
        DriverHabit(0.5103, 1.1691, 9.331, 0.0931, 0.7634, 2.7479, 29.8409, 0.0),
        DriverHabit(0.3102, 1.1402, 9.1202, 2.3124, 0.7676, 0.5629, 28.4267, 0.1938),
        DriverHabit(0.3118, 0.5049, 7.2619, 1.7732, 0.4642, 1.9583, 27.5743, 0.0189),
        DriverHabit(0.0385, 0.9383, 8.3146, 1.3274, 1.0193, 1.5484, 26.4791, 0.0),
        DriverHabit(0.1518, 0.8365, 8.5669, 0.7598, 0.965, 4.8699, 26.6946, 0.0),
        DriverHabit(-0.0481, 0.7848, 7.1741, -0.7983, 0.5443, 5.4346, 25.2086, 0.0037),
        DriverHabit(-1.3873, 0.8226, None, 1.0513, 0.7293, 1.6292, 24.5514, 0.0),
        DriverHabit(-0.0043, 0.6253, 8.0523, 0.1989, 0.6167, 4.6506, 24.728, 0.0044),
        DriverHabit(-0.024, 0.9018, 7.6, -0.6668, 1.3014, 1.1183, 24.1444, 0.0),
        DriverHabit(-0.0689, 0.7821, 8.9797, -0.7654, 0.8566, 6.0666, 21.0991, 0.0079),
        DriverHabit(-0.185, 0.8365, None, -0.4135, 0.4945, 3.382, 21.2892, 0.0),
        DriverHabit(-0.1674, 0.9531, 9.2286, 1.4062, 0.3833, 1.5437, 19.4336, 0.0),
        DriverHabit(-0.7184, 0.8684, 7.1567, -0.9379, 1.0838, 0.5575, 19.7321, 0.0),
        DriverHabit(-0.2013, 1.0558, 8.297, 0.4199, 0.6544, 3.2035, 18.1052, 0.0),
        DriverHabit(-0.1387, 0.7108, 8.8782, 0.0701, 0.9722, 2.0934, 19.5856, 0.0),
        DriverHabit(0.1054, 0.7664, 7.9531, 0.1226, 0.811, 7.7192, 19.1729, 0.0),
        DriverHabit(-0.001, 0.5334, 8.3042, 0.9785, 1.7484, 2.2643, 18.9906, 0.0),
        DriverHabit(-0.7512, 0.8129, 9.788, -0.5276, 0.3535, 1.772, 18.0584, 0.0),
        DriverHabit(-0.2695, 0.815, 9.8896, -0.8672, 0.7933, 3.7171, 18.0248, 0.0),
        DriverHabit(0.1871, 1.0354, 7.7833, -0.4715, 0.7347, 9.5757, 17.8576, 0.0),
        DriverHabit(-0.8624, 0.512, None, 0.1085, 0.2726, 2.7078, 17.7267, 0.0),
        DriverHabit(-0.511, 0.7232, 10.8987, -0.7765, 0.7545, 4.0748, 16.4427, 0.0),
        DriverHabit(-0.0427, 0.8444, 8.4717, -1.0866, 0.7848, 9.1798, 16.8848, 0.0),
        DriverHabit(-0.4936, 0.7199, None, 0.3565, 0.2973, 1.4363, 16.0137, 0.0),
        DriverHabit(0.1312, 1.1568, 8.8656, -0.4083, 0.8551, 4.9892, 16.0347, 0.0),
        DriverHabit(0.1425, 0.932, 8.4787, -0.5262, 0.5256, 5.058, 16.0143, 0.0),
        DriverHabit(0.3448, 1.0042, 8.9778, 0.6162, 0.8587, 2.182, 16.0406, 0.0),
        DriverHabit(-0.2547, 1.1687, 7.5833, 0.5732, 1.473, 1.9458, 15.9316, 0.0),
        DriverHabit(0.3071, 0.7987, 8.9953, -0.3843, 0.7783, 5.4983, 16.0049, 0.0),
        DriverHabit(0.1415, 0.7145, 8.1387, -0.2943, 0.4688, 7.3129, 15.7256, 0.0044),
        DriverHabit(0.2772, 0.831, 8.0731, -0.4333, 0.583, 8.5862, 15.7228, 0.0),
        DriverHabit(-0.0864, 0.6683, 7.3764, -0.7883, 0.7017, 6.6115, 15.4277, 0.0),
        DriverHabit(-0.4145, 0.6379, 8.6631, -0.4408, 0.4157, 6.1527, 14.3028, 0.0),
        DriverHabit(0.1843, 0.9648, 9.0436, -0.5887, 0.7161, 9.5694, 14.003, 0.0),
        DriverHabit(-0.0903, 0.7243, 8.055, -0.2805, 0.6791, 7.1227, 13.478, 0.0),
        DriverHabit(-0.1827, 0.9332, 9.3179, -0.4847, 0.4365, 2.2286, 12.5641, 0.0),
        DriverHabit(0.2512, 0.8119, 8.2556, 1.2849, 0.9797, 1.5522, 11.5964, 0.0),
        DriverHabit(-1.2147, 0.5134, None, -0.4764, 0.3386, 2.5673, 11.296, 0.0),
        DriverHabit(-0.2069, 1.063, 8.475, 0.078, 1.4537, 5.78, 10.8996, 0.0),
        DriverHabit(-0.9598, 0.7884, None, -0.6364, 1.7366, 2.004, 6.9859, 0.0774),
        DriverHabit(0.4665, 1.2006, 8.5631, 0.038, 1.1189, 2.896, 9.3231, 0.0),
        DriverHabit(-0.0099, 0.7178, 8.5708, 0.5742, 0.7062, 3.1967, 8.759, 0.0),
        DriverHabit(-0.2127, 0.7981, 8.7938, -0.6548, 0.4592, 9.2379, 6.062, 0.0),
        DriverHabit(-0.3141, 0.759, 7.2758, -0.3161, 0.9439, 7.672, 5.8655, 0.0),
        DriverHabit(-0.4532, 0.6511, 11.6017, -0.3948, 1.2882, 6.9616, 5.8895, 0.0),
        DriverHabit(-0.3358, 1.0386, None, -0.3556, 1.7347, 2.5214, 5.156, 0.0),
    ),
)

# fmt: on


# -- the marginals ------------------------------------------------------------------------------


def _plugin_knots(fit: DriverFit) -> tuple[list[float], list[float]]:
    """Cumulative share at each whole hour from DAY_START_HOUR to DAY_START_HOUR + 24."""
    weights = fit.plugin_hour_weights
    order = [(DAY_START_HOUR + i) % 24 for i in range(24)]
    total = sum(weights)
    cumulative = [0.0]
    for hour in order:
        cumulative.append(cumulative[-1] + weights[hour] / total)
    cumulative[-1] = 1.0  # exactly, whatever the rounding of the sum
    return cumulative, [float(DAY_START_HOUR + i) for i in range(25)]


class _KnotArrays:
    """``_plugin_knots`` as arrays, of the last few fits asked about, by identity (a DriverFit
    is frozen; hashing one walks all its habits): recomputing them on every plug-in hour drawn
    was a third of a day's plan. ``np.interp`` turns lists into these very float64 arrays, so
    the hours are the same. ``cache_clear`` as a ``functools`` cache has (the mutation runs
    clear every cache of the reference)."""

    kept: Final = 8

    def __init__(self) -> None:
        self._known: dict[int, tuple[DriverFit, npt.NDArray[np.float64], npt.NDArray[np.float64]]]
        self._known = {}
        #: Forget every fit (an attribute of the object, not a method: the clearing of the
        #: mutation runs calls what it finds on classes too, unbound).
        self.cache_clear = self._known.clear

    def of(self, fit: DriverFit) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The cumulative shares and the hours of ``fit``'s knots."""
        known = self._known.get(id(fit))
        if known is None or known[0] is not fit:
            if len(self._known) >= self.kept:
                self._known.clear()
            cumulative, hours = _plugin_knots(fit)
            known = (fit, np.asarray(cumulative), np.asarray(hours))
            self._known[id(fit)] = known
        return known[1], known[2]


_KNOTS: Final = _KnotArrays()


def plugin_hour_at(u: float, fit: DriverFit) -> float:
    """The plug-in hour (in [4, 28)) at cumulative share ``u`` of the fitted distribution."""
    cumulative, hours = _KNOTS.of(fit)
    return float(np.interp(u, cumulative, hours))


def _log_linear_at(u: float, table: Sequence[float]) -> float:
    """The value at cumulative share ``u`` of a quantile table, log-linear between levels."""
    return math.exp(float(np.interp(u, QUANTILE_LEVELS, np.log(table))))


def duration_h_at(u: float, fit: DriverFit) -> float:
    """Hours plugged in at cumulative share ``u`` (log-linear between stored quantiles)."""
    return _log_linear_at(u, fit.duration_quantiles)


def short_stay_h_at(u: float, fit: DriverFit) -> float:
    """Hours plugged in of a short stay at cumulative share ``u`` (log-linear)."""
    return _log_linear_at(u, fit.short_stay_quantiles)


def short_stay_kw_at(u: float, fit: DriverFit) -> float:
    """kWh per hour plugged in of a short stay at cumulative share ``u`` (linear)."""
    return float(np.interp(u, QUANTILE_LEVELS, fit.short_stay_kw_quantiles))


def long_stay_kwh_at(u: float, fit: DriverFit) -> float:
    """The kWh of a long stay at cumulative share ``u`` (log-linear between quantiles)."""
    return _log_linear_at(u, fit.long_stay_kwh_quantiles)


def kwh_at(u: float, fit: DriverFit) -> float:
    """The kWh per session at cumulative share ``u`` (log-linear between stored quantiles)."""
    return _log_linear_at(u, fit.kwh_quantiles)


def compute_score(u: float) -> float:
    """The standard normal score at cumulative share ``u`` (kept off 0 and 1): the probit scale."""
    return _NORMAL.inv_cdf(min(max(u, _EDGE), 1.0 - _EDGE))


def compute_share(score: float) -> float:
    """The cumulative share at normal score ``score``: back from the probit scale to a marginal."""
    return _NORMAL.cdf(score)


def _rotated_hour(hour: float) -> float:
    return hour if hour >= DAY_START_HOUR else hour + 24.0


# -- fitting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Session:
    driver: str
    station: str
    plugin: dt.datetime
    plugout: dt.datetime | None
    kwh: float
    duration_h: float | None


_COLUMNS: Final = (
    "User_ID",
    "Garage_ID",
    "Start_plugin",
    "End_plugout",
    "El_kWh",
    "Duration_hours",
)
_TIME_FORMAT: Final = "%d.%m.%Y %H:%M"


def _number(text: str) -> float | None:
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _time(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text.strip(), _TIME_FORMAT)
    except ValueError:
        return None


def _read_sessions(csv_path: Path) -> list[_Session]:
    try:
        with csv_path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter=";")
            missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise UsageError("drivers", f"{csv_path}: missing columns {missing}")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError("drivers", f"{csv_path}: cannot read sessions ({exc})") from exc
    sessions = []
    for row in rows:
        plugin = _time(row["Start_plugin"] or "")
        kwh = _number(row["El_kWh"] or "")
        if plugin is None or kwh is None or kwh <= 0:
            continue
        duration = _number(row["Duration_hours"] or "")
        sessions.append(
            _Session(
                driver=row["User_ID"] or "",
                station=row["Garage_ID"] or "",
                plugin=plugin,
                plugout=_time(row["End_plugout"] or ""),
                kwh=kwh,
                duration_h=duration if duration is not None and duration > 0 else None,
            )
        )
    if not sessions:
        raise UsageError("drivers", f"{csv_path}: no usable sessions")
    return sessions


def _hour(t: dt.datetime) -> float:
    return t.hour + t.minute / 60.0


def _quantiles(values: Sequence[float] | npt.NDArray[np.float64]) -> tuple[float, ...]:
    return _rounded(np.quantile(np.asarray(values, dtype=np.float64), QUANTILE_LEVELS))


def _rounded(values: Sequence[float] | npt.NDArray[np.float64]) -> tuple[float, ...]:
    return tuple(round(float(v), 4) for v in values)


def _shares(hours: Sequence[int]) -> tuple[float, ...]:
    counts = np.bincount(np.asarray(hours, dtype=np.int64), minlength=24)[:24]
    return _rounded(counts / counts.sum())


@dataclass
class _Pooled:
    """Per-driver habits and the within-driver departure deviations gathered while fitting."""

    habits: list[DriverHabit]
    departures: list[float]
    within_departure: list[float]
    weekly_mean: list[float]
    weekly_var: list[float]


def _add_driver(own: list[_Session], marginals: DriverFit, pooled: _Pooled) -> None:
    """One driver's habits, if they have enough sessions over a long enough span."""
    starts = sorted(s.plugin for s in own)
    span_days = (starts[-1] - starts[0]).total_seconds() / _DAY
    if len(own) < MIN_DRIVER_SESSIONS or span_days < MIN_SPAN_DAYS:
        return
    cumulative, knots = _plugin_knots(marginals)
    plugin = np.array(
        [
            compute_score(float(np.interp(_rotated_hour(_hour(s.plugin)), knots, cumulative)))
            for s in own
        ]
    )
    log_q = np.log(marginals.kwh_quantiles)
    kwh = np.array(
        [compute_score(float(np.interp(math.log(s.kwh), log_q, QUANTILE_LEVELS))) for s in own]
    )
    mornings = np.array(
        [
            _hour(s.plugout)
            for s in own
            if s.plugout is not None and MORNING_HOURS[0] <= s.plugout.hour < MORNING_HOURS[1]
        ]
    )
    departure = None
    if len(mornings) >= MIN_MORNINGS:
        departure = round(float(mornings.mean()), 4)
        pooled.departures.append(float(mornings.mean()))
        pooled.within_departure.extend((mornings - mornings.mean()).tolist())
    week = Counter(int((t - starts[0]).total_seconds() // (_WEEK_DAYS * _DAY)) for t in starts)
    counts = np.array([week.get(i, 0) for i in range(max(week) + 1)], dtype=np.float64)
    pooled.weekly_mean.append(float(counts.mean()))
    pooled.weekly_var.append(float(counts.var()))
    pooled.habits.append(
        DriverHabit(
            plugin_score=round(float(plugin.mean()), 4),
            plugin_score_sd=round(float(plugin.std()), 4),
            departure_hour=departure,
            kwh_score=round(float(kwh.mean()), 4),
            kwh_score_sd=round(float(kwh.std()), 4),
            sessions_per_week=round((len(own) - 1) / (span_days / _WEEK_DAYS), 4),
            weeks=round(span_days / _WEEK_DAYS, 4),
            away_share=round(_away_share(own), 4),
        )
    )


def _away_share(own: Sequence[_Session]) -> float:
    """The per-session share at a second station that changes station between consecutive
    sessions as often as ``own`` did (:attr:`DriverHabit.away_share`)."""
    stations = [s.station for s in sorted(own, key=lambda s: s.plugin)]
    changes = sum(a != b for a, b in itertools.pairwise(stations))
    rate = min(changes / max(len(stations) - 1, 1), 0.5)
    return (1.0 - math.sqrt(1.0 - 2.0 * rate)) / 2.0


def _short_stays(
    sessions: Sequence[_Session],
) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    """Per plug-in hour, the share of short stays; their hours and kW, and the long stays'
    kWh, at QUANTILE_LEVELS."""
    timed = [s for s in sessions if s.duration_h is not None]
    short = [s for s in timed if s.duration_h is not None and s.duration_h < SHORT_STAY_H]
    long = [s.kwh for s in timed if s.duration_h is not None and s.duration_h >= SHORT_STAY_H]
    if not short or not long:
        return (0.0,) * 24, (), (), ()
    per_hour = np.bincount([s.plugin.hour for s in timed], minlength=24)[:24]
    short_per_hour = np.bincount([s.plugin.hour for s in short], minlength=24)[:24]
    hours = np.array([s.duration_h for s in short], dtype=np.float64)
    kw = np.array([s.kwh for s in short], dtype=np.float64) / hours
    return (
        _rounded(short_per_hour / np.maximum(per_hour, 1)),
        _quantiles(hours),
        _quantiles(kw),
        _quantiles(long),
    )


def _weekend_ratio(sessions: Sequence[_Session]) -> float:
    """Sessions per weekend day over sessions per weekday, over the calendar the data spans."""
    first = min(s.plugin.date() for s in sessions)
    last = max(s.plugin.date() for s in sessions)
    calendar = Counter(
        (first + dt.timedelta(days=i)).weekday() >= 5 for i in range((last - first).days + 1)
    )
    on_weekend = Counter(s.plugin.weekday() >= 5 for s in sessions)
    if not (calendar[True] and calendar[False] and on_weekend[False]):
        return 1.0
    return (on_weekend[True] / calendar[True]) / (on_weekend[False] / calendar[False])


def fit_sessions(csv_path: Path) -> DriverFit:
    """Fit :class:`DriverFit` to a sessions CSV in the Norwegian dataset's layout.

    Semicolon-separated, decimal comma, times "dd.mm.yyyy HH:MM"; rows without a plug-in time
    or a positive kWh are skipped, a missing plug-out only drops the row from plug-out figures.
    Figures are rounded to 4 decimals, as :data:`FITTED` stores them; habit scores are taken
    against the rounded marginals, so the simulation inverts exactly what was fitted.

    Raises:
        UsageError: ("drivers") the file cannot be read, lacks the columns, or has no driver
            with enough sessions to fit habits.
    """
    sessions = _read_sessions(csv_path)
    kwh = np.array([s.kwh for s in sessions])
    log_kwh = np.log(kwh)
    durations = np.log([s.duration_h for s in sessions if s.duration_h is not None])
    short_share, short_hours, short_kw, long_kwh = _short_stays(sessions)
    marginals = DriverFit(
        sessions=len(sessions),
        drivers=len({s.driver for s in sessions}),
        plugin_hour_weights=_shares([s.plugin.hour for s in sessions]),
        plugout_hour_weights=_shares([s.plugout.hour for s in sessions if s.plugout is not None]),
        duration_log_mu=round(float(durations.mean()), 4) if len(durations) else 0.0,
        duration_log_sigma=round(float(durations.std()), 4) if len(durations) else 0.0,
        duration_quantiles=_quantiles(np.exp(durations)) if len(durations) else (),
        short_stay_share_by_hour=short_share,
        short_stay_quantiles=short_hours,
        short_stay_kw_quantiles=short_kw,
        long_stay_kwh_quantiles=long_kwh,
        kwh_log_mu=round(float(log_kwh.mean()), 4),
        kwh_log_sigma=round(float(log_kwh.std()), 4),
        kwh_quantiles=_quantiles(kwh),
        driver_departure_hour_quantiles=(),
        within_departure_hour_quantiles=(),
        sessions_per_week_mean=0.0,
        sessions_per_driver_week=0.0,
        sessions_per_week_log_mu=0.0,
        sessions_per_week_log_sigma=0.0,
        sessions_per_week_dispersion=0.0,
        weekend_ratio=round(_weekend_ratio(sessions), 4),
        driver_habits=(),
    )
    by_driver: dict[str, list[_Session]] = defaultdict(list)
    for s in sessions:
        by_driver[s.driver].append(s)
    pooled = _Pooled([], [], [], [], [])
    for own in by_driver.values():
        _add_driver(own, marginals, pooled)
    if not pooled.habits or not pooled.departures:
        raise UsageError("drivers", f"{csv_path}: too few sessions per driver to fit habits")
    rates = np.array([h.sessions_per_week for h in pooled.habits])
    weeks = np.array([h.weeks for h in pooled.habits])
    return DriverFit(
        **{
            **marginals.__dict__,
            "driver_departure_hour_quantiles": _quantiles(pooled.departures),
            "within_departure_hour_quantiles": _quantiles(pooled.within_departure),
            "sessions_per_week_mean": round(float(rates.mean()), 4),
            "sessions_per_driver_week": round(float((rates * weeks).sum() / weeks.sum()), 4),
            "sessions_per_week_log_mu": round(float(np.log(rates).mean()), 4),
            "sessions_per_week_log_sigma": round(float(np.log(rates).std()), 4),
            "sessions_per_week_dispersion": round(
                sum(pooled.weekly_var) / sum(pooled.weekly_mean), 4
            ),
            "driver_habits": tuple(pooled.habits),
        }
    )
