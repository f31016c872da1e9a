"""Synthetic users with habits, for the habit, follow, uniqueness and ablation tests.

Each user charges at one of a few stations on most days, at their own usual plug-in hour, kWh
and plugged-in time, with day-to-day spread: a small population whose answer the tests know.
"""

from __future__ import annotations

import numpy as np

from iome_ref.analysis.observations import GroundTruth, Observation, ObservedSession, ObservedTrip

DAY = 86_400
#: Monday 2024-01-01 00:00 UTC.
T0 = 1_704_067_200


def habit_population(
    users: int = 24, days: int = 21, stations: int = 3, seed: int = 7, cover: int = 0
) -> tuple[Observation, GroundTruth]:
    """``users`` habitual users over ``days`` days; ``cover`` unnamed sessions a day."""
    rng = np.random.default_rng(seed)
    sessions: list[ObservedSession] = []
    owner: dict[str, str | None] = {}
    for u in range(users):
        station = f"st{u % stations}"
        hour = rng.uniform(14.0, 21.0)
        kwh = rng.uniform(3.0, 30.0)
        plugged_h = rng.uniform(6.0, 14.0)
        for d in range(days):
            if rng.random() > 0.8:
                continue
            start = T0 + d * DAY + int(3600 * (hour + rng.normal(0, 0.7)))
            end = start + int(3600 * max(0.5, plugged_h + rng.normal(0, 1.0)))
            sid = f"u{u:02d}d{d:02d}"
            energy = max(100, int(1000 * kwh * rng.lognormal(0, 0.2)))
            sessions.append(ObservedSession(sid, station, start, end, energy, f"k-{sid}"))
            owner[sid] = f"user{u:02d}"
    for d in range(days):
        for c in range(cover):
            start = T0 + d * DAY + int(rng.uniform(0, DAY))
            sid = f"cover{d:02d}-{c}"
            station = f"st{int(rng.integers(stations))}"
            sessions.append(ObservedSession(sid, station, start, start + 7200, 5000, f"k-{sid}"))
            owner[sid] = None
    sessions.sort(key=lambda s: (s.start, s.session_id))
    observation = Observation("sessions", tuple(sessions), knowledge=("synthetic test users",))
    return observation, GroundTruth(session_user=owner)


def commuter_population(
    users: int = 12, days: int = 14, seed: int = 3
) -> tuple[Observation, GroundTruth]:
    """``users`` who all charge at one station at random hours and kWh, each plugged in until
    the morning Trip to their own workplace leaves: only the Trip each session's end left on
    tells them apart (the session-end -> next-departure signal)."""
    rng = np.random.default_rng(seed)
    sessions: list[ObservedSession] = []
    trips: list[ObservedTrip] = []
    owner: dict[str, str | None] = {}
    for d in range(days):
        for u in range(users):
            start = T0 + d * DAY + int(3600 * rng.uniform(16.0, 22.0))
            leave = T0 + (d + 1) * DAY + int(3600 * rng.uniform(6.0, 9.0))
            sid = f"u{u:02d}d{d:02d}"
            energy = int(1000 * rng.uniform(3.0, 30.0))
            sessions.append(ObservedSession(sid, "home", start, leave, energy, f"k-{sid}"))
            trips.append(ObservedTrip(f"t-{sid}", "home", f"work{u:02d}", leave, leave + 1200))
            owner[sid] = f"user{u:02d}"
    sessions.sort(key=lambda s: (s.start, s.session_id))
    trips.sort(key=lambda t: (t.start, t.trip_id))
    observation = Observation(
        "simulate", tuple(sessions), tuple(trips), knowledge=("synthetic commuters",)
    )
    return observation, GroundTruth(session_user=owner)
