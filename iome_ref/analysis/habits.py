"""The habit linker: re-links one-time-key charging sessions to one user by their habits.

What lives here: the nearest-neighbour floor (issue 15: station, start hour and kWh re-link 67%
of the Norway sessions to the same user's previous-day session, top-1), the habit linker that
must beat it (station, time of day, weekday, energy, duration and dwell, weighted by a model
fitted on training users only), and the scoring of both on users the model never saw, with
chance level and a 95% confidence interval. What must not: reading a file, or a ground truth
while linking (:class:`~iome_ref.analysis.observations.GroundTruth` is read only to score and
to fit on training users).

The task ("previous-day re-link"): for each scored session ``q`` of user ``u`` on day ``d``
such that ``u`` has a session on day ``d - 1``, the candidates are every session of day
``d - 1`` (every user's, cover traffic included: the observer sees them all); a linker ranks
them; top-k is right when one of the first k candidates is ``u``'s. Days are whole days of
``start`` as given (real data sets: local wall-clock time, which the inputs read as UTC).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from iome_ref.analysis.observations import GroundTruth, Observation

__all__ = [
    "ALL_SIGNALS",
    "HabitModel",
    "HabitReport",
    "LinkScore",
    "Signal",
    "evaluate_habits",
    "fit_habit_model",
    "rank_candidates",
]

#: The public signals a linker may use (ablation.py drops them one at a time). ``time``: exact
#: start and end times (without it, times are known to the hour); ``energy``: kWh; ``station``;
#: ``duration``: plugged-in time and the dwell since the candidate ended; ``position``: a
#: record's block and position in it.
Signal = Literal["time", "energy", "station", "duration", "position"]
ALL_SIGNALS: Final[tuple[Signal, ...]] = ("time", "energy", "station", "duration", "position")


@dataclass(frozen=True)
class LinkScore:
    """One linker's figure on one population, with everything needed to read it.

    ``top1``/``top5``: shares of scored queries whose right user is ranked first / in the first
    five. ``chance_top1``/``chance_top5``: the same for a uniformly random ranking, averaged
    over the queries. ``ci_low``/``ci_high``: 95% interval of ``top1`` (``ci_method`` says
    how: a bootstrap over scored users, since one user's queries are not independent).
    """

    linker: str
    task: str
    top1: float
    top5: float
    chance_top1: float
    chance_top5: float
    ci_low: float
    ci_high: float
    ci_method: str
    queries: int
    users: int
    population: str
    knowledge: str


@dataclass(frozen=True)
class HabitModel:
    """Weights of the pair features (logistic regression fitted on training users only)."""

    signals: tuple[Signal, ...]
    features: tuple[str, ...]
    weights: tuple[float, ...]
    training_users: int
    training_pairs: int


@dataclass(frozen=True)
class HabitReport:
    """The habit linker beside the nearest-neighbour floor on the same scored users.

    ``margin_points``: habit top-1 minus floor top-1, in percentage points, with its paired
    bootstrap 95% interval. ``split`` states how users were split (deterministic from
    ``seed``); every scored user is scored by a model fitted on the other fold only.
    """

    habit: LinkScore
    floor: LinkScore
    margin_points: float
    margin_ci: tuple[float, float]
    split: str
    seed: int
    models: tuple[HabitModel, ...]


def fit_habit_model(
    observation: Observation,
    truth: GroundTruth,
    users: Sequence[str],
    *,
    signals: Sequence[Signal] = ALL_SIGNALS,
) -> HabitModel:
    """Fit the pair-feature weights on ``users``' previous-day pairs (positives: the same user;
    negatives: every other candidate of that day). Only ``users``' queries enter the fit."""
    raise NotImplementedError


def rank_candidates(
    observation: Observation, model: HabitModel | None, query_ids: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    """For each query session id, the session ids of the previous day, best first.

    ``model`` None ranks by the nearest-neighbour floor (station, start hour, kWh).
    """
    raise NotImplementedError


def evaluate_habits(
    observation: Observation,
    truth: GroundTruth,
    *,
    seed: int,
    population: str,
    signals: Sequence[Signal] = ALL_SIGNALS,
    folds: int = 2,
) -> HabitReport:
    """Score the habit linker and the floor on the previous-day re-link task (module doc).

    Users (those ``truth.session_user`` names) are split into ``folds`` folds by a hash of
    ``(seed, user)``; each fold is scored by a model fitted on the others. ``population`` names
    the data (e.g. "Norway residential, 97 users"); ``observation.knowledge`` is reported as
    the observer's knowledge.

    Raises:
        UsageError: ("link") fewer than two users with previous-day pairs.
    """
    raise NotImplementedError
