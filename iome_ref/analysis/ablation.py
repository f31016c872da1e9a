"""The ablation table: how much each public signal contributes to linking a simulated city.

What lives here: the linking figure with every public signal, then with each one dropped in
turn (exact times, energy, station, a record's position in its block, the sessions a vehicle
makes under fresh keys before a trip, Trip-ChargeSession timing), which is the list the default
mitigation will be designed from. What must not: a linker of its own; it drives
:mod:`iome_ref.analysis.habits` with signals removed from the observation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from iome_ref.analysis.observations import GroundTruth, Observation

__all__ = ["ABLATED_SIGNALS", "AblatedSignal", "AblationReport", "AblationRow", "run_ablation"]

AblatedSignal = Literal[
    "exact-times", "energy", "station", "block-position", "pre-trip-sessions", "trip-timing"
]
ABLATED_SIGNALS: Final[tuple[AblatedSignal, ...]] = (
    "exact-times",
    "energy",
    "station",
    "block-position",
    "pre-trip-sessions",
    "trip-timing",
)


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
    figure: str
    rows: tuple[AblationRow, ...]
    population: str
    knowledge: str
    seed: int


def run_ablation(
    observation: Observation, truth: GroundTruth, *, seed: int, population: str
) -> AblationReport:
    """The linking figure (class doc of :class:`AblationRow`) with all signals, then each
    dropped in turn; rows in :data:`ABLATED_SIGNALS` order after the full one."""
    raise NotImplementedError
