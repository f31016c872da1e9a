"""Are simulated drivers as habitual as real ones? Six figures, on any sessions with users.

What lives here: the figures issue 15 measures the driver model by (sessions per user per day,
plug-in hour distribution, kWh per session, plugged-in duration, users seen at one station
only, previous-day sessions at the same station), computed by one function from an
observer's sessions and their ground truth, so a simulated run and the Norway data are
measured by the same code; and the comparison that says whether each simulated figure lies
within the real one's 95% interval (or, for a distribution, within 0.1 total-variation
distance). What must not: fitting (``iome_ref.simulation.sessions`` fits), or changing the
driver model to pass (the model is fixed in ``iome_ref.simulation.drivers``).

Users at one station only: how many show a second station grows with how long they are
watched, so the figure compared is taken over user-windows of the simulated run's length
(``window_days``); the whole-span figure is kept beside it. Durations: IOME-CHG-006 bounds a
session by a day, so a simulated car plugged in longer is one session cut there; the last
duration bin (17 h and more) holds both the cut ones and the real sessions over a day.

Every figure counts charge sessions whose user the ground truth names (cover traffic and
discharges are left out: the real data has neither). Times of day are local
(``ObservedSession.local_start``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from iome_ref.analysis.habits import compute_wilson
from iome_ref.analysis.observations import GroundTruth, Observation, ObservedSession
from iome_ref.errors import UsageError

__all__ = [
    "DURATION_BINS_H",
    "KWH_BINS",
    "RealismCheck",
    "RealismFigures",
    "compare_realism",
    "compute_realism",
    "compute_tv_distance",
    "compute_tv_noise",
]

#: The bound the issue sets on a distribution: total-variation distance at most 0.1.
TV_BOUND: Final = 0.1
#: Bins (kWh, hours) of the energy and duration distributions compared by TV distance.
KWH_BINS: Final = (0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 13.0, 17.0, 22.0, 30.0, 45.0, math.inf)
#: The last duration bin starts at 17 h: IOME-CHG-006 bounds a session by a day, so the 6.6%
#: of real sessions plugged in longer than a day can only appear on a chain as a day at most.
DURATION_BINS_H: Final = (0.0, 0.5, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 17.0, math.inf)
#: The cap whose share the issue reports: sessions of exactly 22.000 kWh.
CAP_WH: Final = 22_000
_DAY: Final = 86_400
_HOUR: Final = 3_600
_BOOTSTRAP: Final = 1000
#: Columns of a user-window's bin counts: plug-in hours, kWh bins, duration bins.
_COLUMNS: Final = 24 + len(KWH_BINS) - 1 + len(DURATION_BINS_H) - 1


@dataclass(frozen=True)
class RealismFigures:
    """The six figures of one population, each with its 95% interval where it has one.

    ``sessions_per_user_day``: sessions over user-days watched (a user is watched from the
    day of their first session to that of their last; a simulated run watches every user for
    ``days``); interval: bootstrap over users. ``plugin_hour_shares``: share of plug-ins in
    each local hour 0..23. Medians: bootstrap over users. Shares of users and of sessions:
    Wilson intervals.

    ``one_station_users`` counts each user over the whole time watched; ``one_station_windows``
    counts user-windows of ``window_days`` instead (calendar windows from the first day seen,
    those with a session): whether a user shows a second station depends on how long it is
    watched (Norway watches users up to 57 weeks, 87% at one station; over 7-day windows
    99.3%), so a simulated run is compared over windows of its own length. Its interval
    treats the windows as independent (narrower than one over users: a stricter check).
    """

    population: str
    sessions: int
    users: int
    sessions_per_user_day: float
    sessions_per_user_day_ci: tuple[float, float]
    plugin_hour_shares: tuple[float, ...]
    kwh_median: float
    kwh_median_ci: tuple[float, float]
    kwh_shares: tuple[float, ...]
    kwh_at_cap: float
    duration_median_h: float
    duration_median_ci: tuple[float, float]
    duration_shares: tuple[float, ...]
    one_station_users: float
    one_station_users_ci: tuple[float, float]
    one_station_windows: float
    one_station_windows_ci: tuple[float, float]
    window_days: int | None
    previous_day_same_station: float
    previous_day_same_station_ci: tuple[float, float]
    previous_day_pairs: int
    #: Per user-window (the windows of ``one_station_windows``): its sessions' counts in the
    #: plug-in hour, kWh and duration bins, side by side (24 + 12 + 11 columns): what
    #: :func:`compute_tv_noise` resamples to know how far a population of that many
    #: user-windows lies from the whole by chance.
    window_counts: tuple[tuple[int, ...], ...] = ()


@dataclass(frozen=True)
class RealismCheck:
    """One figure, simulated beside real, and whether the simulated one is close enough.

    ``close``: the two 95% intervals overlap (scalar figures), or the distributions lie within
    :data:`TV_BOUND` total-variation distance (``tv`` set), or within ``tv_noise``: the 95th
    percentile of the distance between the real distribution and samples of the simulated
    size drawn from it (a few hundred sessions over 24 hourly bins are ~0.1 apart by chance
    alone, so a small run could not pass a fixed 0.1 however good its drivers), or drawn as
    the simulated run's number of real user-windows (sessions come in habits: a hundred
    users' week lies further from the whole than as many independent sessions).
    """

    figure: str
    simulated: float
    real: float
    simulated_ci: tuple[float, float] | None
    real_ci: tuple[float, float] | None
    tv: float | None
    tv_noise: float | None
    close: bool


def compute_tv_distance(p: Sequence[float], q: Sequence[float]) -> float:
    """Total-variation distance of two distributions over the same bins: half the L1 gap."""
    if len(p) != len(q):
        raise UsageError("link", f"tv distance: expected equal bins, found {len(p)} and {len(q)}")
    return 0.5 * sum(abs(a - b) for a, b in zip(p, q, strict=True))


def _shares(values: npt.NDArray[np.float64], bins: Sequence[float]) -> tuple[float, ...]:
    counts, _ = np.histogram(values, bins=np.array(bins))
    return tuple(float(c) / max(len(values), 1) for c in counts)


def _bootstrap_median(
    values: npt.NDArray[np.float64], groups: npt.NDArray[np.int64], seed: int
) -> tuple[float, float]:
    """95% percentile interval of the median, resampling whole users."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 4]))
    members = [values[groups == g] for g in np.unique(groups)]
    medians = [
        float(
            np.median(
                np.concatenate([members[i] for i in rng.integers(len(members), size=len(members))])
            )
        )
        for _ in range(_BOOTSTRAP // 5)
    ]
    low, high = np.percentile(medians, [2.5, 97.5])
    return float(low), float(high)


def compute_realism(
    observation: Observation,
    truth: GroundTruth,
    *,
    population: str,
    days: float | None = None,
    before: int | None = None,
    window_days: int | None = None,
    seed: int = 1,
) -> RealismFigures:
    """The six figures (class doc) of ``observation``'s charge sessions with a known user.

    ``days``: how long a simulated run watched every user (None: from each user's first to
    last session, the way a real data set watches them). ``before``: only sessions starting
    before this time count. A run publishes a session when it ends, so the sessions of its
    last day that outlast the run are missing, the long ones most: run a day longer than
    ``days`` and count only sessions that started within them, or durations read short.
    ``window_days``: the window of the one-station figure over user-windows (None: the whole
    time each user is watched).

    Raises:
        UsageError: ("link") no charge session has a known user.
    """
    named: list[tuple[str, ObservedSession]] = [
        (user, s)
        for s in observation.sessions
        if s.direction == "charge"
        and (before is None or s.start < before)
        and (user := truth.session_user.get(s.session_id)) is not None
    ]
    if not named:
        raise UsageError("link", f"{population}: no charge session with a known user")
    names = sorted({u for u, _ in named})
    code = {u: k for k, u in enumerate(names)}
    groups = np.array([code[u] for u, _ in named], dtype=np.int64)
    local = np.array([s.local_start for _, s in named], dtype=np.int64)
    kwh = np.array([s.energy_wh / 1000 for _, s in named], dtype=np.float64)
    duration = np.array([(s.end - s.start) / _HOUR for _, s in named], dtype=np.float64)
    day = local // _DAY
    per_user = np.bincount(groups, minlength=len(names)).astype(np.float64)
    if days is None:
        first = np.full(len(names), np.iinfo(np.int64).max)
        last = np.full(len(names), np.iinfo(np.int64).min)
        np.minimum.at(first, groups, day)
        np.maximum.at(last, groups, day)
        watched = (last - first + 1).astype(np.float64)
    else:
        watched = np.full(len(names), float(days))
    rng = np.random.default_rng(np.random.SeedSequence([seed, 5]))
    draws = rng.multinomial(len(names), np.full(len(names), 1 / len(names)), size=_BOOTSTRAP)
    rates = (draws @ per_user) / (draws @ watched)
    stations: dict[str, set[str]] = defaultdict(set)
    seen: dict[tuple[str, int], set[str]] = defaultdict(set)
    for (user, s), d in zip(named, day.tolist(), strict=True):
        stations[user].add(s.station)
        seen[(user, d)].add(s.station)
    pairs = same = 0
    for (user, s), d in zip(named, day.tolist(), strict=True):
        yesterday = seen.get((user, d - 1))
        if yesterday:
            pairs += 1
            same += s.station in yesterday
    one = sum(len(v) == 1 for v in stations.values())
    windowed: dict[tuple[str, int], set[str]] = defaultdict(set)
    first_day = int(day.min())
    hour_bin = (local % _DAY) // _HOUR
    kwh_bin = 24 + np.digitize(kwh, KWH_BINS[1:-1])
    duration_bin = 24 + len(KWH_BINS) - 1 + np.digitize(duration, DURATION_BINS_H[1:-1])
    counts: dict[tuple[str, int], list[int]] = {}
    for i, ((user, s), d) in enumerate(zip(named, day.tolist(), strict=True)):
        window = 0 if window_days is None else (d - first_day) // window_days
        windowed[(user, window)].add(s.station)
        row = counts.setdefault((user, window), [0] * _COLUMNS)
        for column in (hour_bin[i], kwh_bin[i], duration_bin[i]):
            row[int(column)] += 1
    one_window = sum(len(v) == 1 for v in windowed.values())
    hours = np.bincount((local % _DAY) // _HOUR, minlength=24)[:24]
    return RealismFigures(
        population=population,
        sessions=len(named),
        users=len(names),
        sessions_per_user_day=float(per_user.sum() / watched.sum()),
        sessions_per_user_day_ci=(
            float(np.percentile(rates, 2.5)),
            float(np.percentile(rates, 97.5)),
        ),
        plugin_hour_shares=tuple(float(h) / len(named) for h in hours),
        kwh_median=float(np.median(kwh)),
        kwh_median_ci=_bootstrap_median(kwh, groups, seed),
        kwh_shares=_shares(kwh, KWH_BINS),
        kwh_at_cap=float(np.mean([s.energy_wh == CAP_WH for _, s in named])),
        duration_median_h=float(np.median(duration)),
        duration_median_ci=_bootstrap_median(duration, groups, seed),
        duration_shares=_shares(duration, DURATION_BINS_H),
        one_station_users=one / len(names),
        one_station_users_ci=compute_wilson(one, len(names)),
        one_station_windows=one_window / len(windowed),
        one_station_windows_ci=compute_wilson(one_window, len(windowed)),
        window_days=window_days,
        window_counts=tuple(tuple(row) for row in counts.values()),
        previous_day_same_station=same / pairs if pairs else 0.0,
        previous_day_same_station_ci=compute_wilson(same, pairs),
        previous_day_pairs=pairs,
    )


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def compute_tv_noise(
    shares: Sequence[float],
    n: int,
    seed: int,
    *,
    groups: npt.NDArray[np.int64] | None = None,
    m: int = 0,
) -> float:
    """95th percentile of the TV distance between ``shares`` and the shares of ``n`` draws
    from it: how far a sample of that size lies from its own distribution by chance.

    With ``groups`` (one row of bin counts per user-window of the real population) and ``m``
    (the simulated run's user-windows): the larger of that and the same percentile over
    ``m`` user-windows drawn with replacement. Sessions come in users' habits, so ~250
    sessions of ~80 users lie further from the whole than 250 independent sessions do.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 6, n]))
    p = np.asarray(shares, dtype=np.float64)
    p = p / p.sum()
    draws = rng.multinomial(max(n, 1), p, size=_BOOTSTRAP) / max(n, 1)
    noise = float(np.percentile(0.5 * np.abs(draws - p).sum(axis=1), 95))
    if groups is None or m <= 0 or len(groups) == 0:
        return noise
    picks = rng.integers(len(groups), size=(_BOOTSTRAP, m))
    pooled = groups[picks].sum(axis=1).astype(np.float64)
    total = np.maximum(pooled.sum(axis=1, keepdims=True), 1.0)
    users = float(np.percentile(0.5 * np.abs(pooled / total - p).sum(axis=1), 95))
    return max(noise, users)


def compare_realism(
    simulated: RealismFigures, real: RealismFigures, *, seed: int = 1
) -> tuple[RealismCheck, ...]:
    """The six figures side by side (kWh and duration by median and by distribution)."""

    def scalar(
        name: str, sim: float, sim_ci: tuple[float, float], r: float, r_ci: tuple[float, float]
    ) -> RealismCheck:
        return RealismCheck(name, sim, r, sim_ci, r_ci, None, None, _overlap(sim_ci, r_ci))

    groups = np.array(real.window_counts, dtype=np.int64).reshape(-1, _COLUMNS)

    def distribution(
        name: str, sim: float, r: float, p: Sequence[float], q: Sequence[float], *, part: slice
    ) -> RealismCheck:
        tv = compute_tv_distance(p, q)
        noise = compute_tv_noise(
            q, simulated.sessions, seed, groups=groups[:, part], m=len(simulated.window_counts)
        )
        return RealismCheck(name, sim, r, None, None, tv, noise, tv <= max(TV_BOUND, noise))

    s, r = simulated, real
    return (
        scalar(
            "sessions per user per day",
            s.sessions_per_user_day,
            s.sessions_per_user_day_ci,
            r.sessions_per_user_day,
            r.sessions_per_user_day_ci,
        ),
        distribution(
            "plug-in hour (TV distance)",
            0.0,
            0.0,
            s.plugin_hour_shares,
            r.plugin_hour_shares,
            part=slice(0, 24),
        ),
        distribution(
            "kWh per session (median; TV distance)",
            s.kwh_median,
            r.kwh_median,
            s.kwh_shares,
            r.kwh_shares,
            part=slice(24, 24 + len(KWH_BINS) - 1),
        ),
        distribution(
            "plugged-in hours (median; TV distance)",
            s.duration_median_h,
            r.duration_median_h,
            s.duration_shares,
            r.duration_shares,
            part=slice(24 + len(KWH_BINS) - 1, _COLUMNS),
        ),
        scalar(
            "users at one station only"
            + (f" (per {r.window_days}-day window)" if r.window_days else ""),
            s.one_station_windows,
            s.one_station_windows_ci,
            r.one_station_windows,
            r.one_station_windows_ci,
        ),
        scalar(
            "previous-day session at the same station",
            s.previous_day_same_station,
            s.previous_day_same_station_ci,
            r.previous_day_same_station,
            r.previous_day_same_station_ci,
        ),
    )
