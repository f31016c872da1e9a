"""The ablation table: how much each public signal contributes to linking a simulated city.

What lives here: the linking figure with every public signal, then with each one dropped in
turn (exact times, energy, station, a record's position in its block, the sessions a vehicle
makes under fresh keys before a trip, Trip-ChargeSession timing, and which Trip a session's
end left on: a session lasts until its vehicle's next departure), which is the list the default
mitigation will be designed from. What must not: a linker of its own; it drives
:mod:`iome_ref.analysis.habits` with signals removed from the observation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Literal, get_args

from iome_ref.analysis.habits import (
    ALL_SIGNALS,
    Signal,
    cross_fit,
    hits_of,
    score_ranking,
)
from iome_ref.analysis.observations import GroundTruth, Observation

__all__ = ["ABLATED_SIGNALS", "AblatedSignal", "AblationReport", "AblationRow", "run_ablation"]

AblatedSignal = Literal[
    "exact-times",
    "energy",
    "station",
    "block-position",
    "pre-trip-sessions",
    "trip-timing",
    "session-end-departure",
]
#: The rows after the full one, in the literal's order (one list: the type is the source).
ABLATED_SIGNALS: Final[tuple[AblatedSignal, ...]] = get_args(AblatedSignal)


@dataclass(frozen=True)
class AblationRow:
    """The linking figure without ``dropped`` (None: every signal), and its loss in points."""

    dropped: AblatedSignal | None
    top1: float
    ci_low: float
    ci_high: float
    loss_points: float


@dataclass(frozen=True)
class AblationReport:
    """The table: ``figure`` names the linking figure each row measures."""

    figure: str
    rows: tuple[AblationRow, ...]
    population: str
    knowledge: str
    seed: int


#: The signals the habit linker loses when one public signal is dropped ("exact-times" drops
#: none: it coarsens every time in the observation to the hour instead).
_DROPS: Final[dict[AblatedSignal, tuple[Signal, ...]]] = {
    "exact-times": (),
    "energy": ("energy",),
    "station": ("station",),
    "block-position": ("position",),
    "pre-trip-sessions": ("departure-timing",),
    "trip-timing": ("arrival-timing",),
    "session-end-departure": ("next-trip",),
}
_HOUR: Final = 3_600


def _to_the_hour(observation: Observation) -> Observation:
    """The observation with session times floored and Trip times bucketed to the hour."""
    sessions = tuple(
        replace(s, start=s.start // _HOUR * _HOUR, end=s.end // _HOUR * _HOUR)
        for s in observation.sessions
    )
    trips = tuple(
        replace(
            t,
            start=t.start // _HOUR * _HOUR,
            end=-(-t.end // _HOUR) * _HOUR,
            bucket_s=max(t.bucket_s, _HOUR),
        )
        for t in observation.trips
    )
    return replace(observation, sessions=sessions, trips=trips)


def run_ablation(
    observation: Observation, truth: GroundTruth, *, seed: int, population: str
) -> AblationReport:
    """The linking figure (the habit linker's previous-day top-1, users cross-fitted as in
    habits.py) with every public signal, then with each dropped in turn; rows in
    :data:`ABLATED_SIGNALS` order after the full one.

    Dropping a signal removes the features that need it and refits, so each row is the best
    this observer does without it: "pre-trip-sessions" removes the match of a session's end
    with a Trip leaving its station (the session a vehicle makes under a fresh key before it
    leaves), "trip-timing" the match of a session's start with a Trip arriving,
    "session-end-departure" which Trip a session's end left on (where the vehicle went next,
    and whether that Trip brought it to the query's session).

    Raises:
        UsageError: ("link") too few users charging on two consecutive days.
    """
    knowledge = "; ".join(observation.knowledge) or "the public records only"
    rows: list[AblationRow] = []
    full = None
    for dropped in (None, *ABLATED_SIGNALS):
        seen = observation
        signals: tuple[Signal, ...] = ALL_SIGNALS
        if dropped == "exact-times":
            seen = _to_the_hour(observation)
        elif dropped is not None:
            signals = tuple(x for x in ALL_SIGNALS if x not in _DROPS[dropped])
        fit = cross_fit(seen, truth, seed=seed, signals=signals)
        score = score_ranking(
            hits_of(fit), linker="habit", seed=seed, population=population, knowledge=knowledge
        )
        if full is None:
            full = score.top1
        rows.append(
            AblationRow(
                dropped=dropped,
                top1=score.top1,
                ci_low=score.ci_low,
                ci_high=score.ci_high,
                loss_points=100 * (full - score.top1),
            )
        )
    return AblationReport(
        figure="habit linker, previous-day re-link, top-1 (users never seen by the model)",
        rows=tuple(rows),
        population=population,
        knowledge=knowledge,
        seed=seed,
    )
