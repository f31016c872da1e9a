"""The home energy forecasting model a building energy manager learns and predicts with.

Paper §III step 1: the BEM "runs the ML algorithm on the received data to predict the future
energy generation and supply". The algorithm is ordinary least squares (``numpy.linalg.lstsq``,
lightly ridge regularised) of hourly supply and demand on [1, two daily harmonics, temperature,
irradiance] over a bounded window of recent samples; the BEM adds the EV charging the O-D matrix
predicts. It is a module of its own because it is numerics, not protocol: it knows nothing of
keys, readings or chains, so it is tested and could be replaced apart from the role that feeds
it (``roles.bem``).

No clock, no I/O, no randomness.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from iome_ref.errors import UsageError
from iome_ref.roles.weather import HOUR_S

__all__ = [
    "N_FEATURES",
    "EnergyFit",
    "EnergyForecast",
    "EnergyModel",
    "compute_features",
]

_DAY_HOURS: Final = 24

#: Columns of a feature row: intercept, two daily harmonics, temperature °C, irradiance kW/m².
N_FEATURES: Final = 7
_IRRADIANCE: Final = 6


def compute_features(
    hour_starts: npt.ArrayLike, temperature_c: npt.ArrayLike, irradiance_w_m2: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Feature rows of whole hours: [1, sin, cos of the day, sin, cos of half-day, T, G].

    Two harmonics of the hour of day (taken at mid-hour, UTC) capture the morning and evening
    peaks of household load; temperature drives heating and cooling; irradiance (kW/m²) drives
    solar supply. Linear in every column, so the mean row of a period predicts its mean rate.
    """
    hours = (np.asarray(hour_starts, dtype=np.int64) // HOUR_S % _DAY_HOURS) + 0.5
    angle = 2.0 * np.pi * hours / _DAY_HOURS
    temperature = np.asarray(temperature_c, dtype=np.float64)
    irradiance = np.asarray(irradiance_w_m2, dtype=np.float64) / 1000.0
    return np.column_stack(
        [
            np.ones_like(angle),
            np.sin(angle),
            np.cos(angle),
            np.sin(2.0 * angle),
            np.cos(2.0 * angle),
            temperature,
            irradiance,
        ]
    )


class EnergyModel:
    """Least squares of hourly supply and demand rates (Wh per hour) on feature rows.

    Demand is fitted on every column (:func:`compute_features`). Supply is fitted through the
    origin on irradiance alone: a panel makes nothing in the dark, and an intercept or the
    daily harmonics let a short history predict solar output at night (measured: with the
    full row, a fresh model's night-time supply forecast was off by 1.4 kWh per home).

    History is a ring buffer of the last ``history`` samples, so a fit costs O(history), never
    O(lifetime): a BEM lives for many rounds and a city runs thousands of them. The fit is
    cached until a sample arrives. Below ``min_samples`` the model predicts the mean rates of
    its history (or the prior when empty). ``ridge`` adds ``ridge * ||w||²`` on every demand
    weight but the intercept, as extra rows of the same ``lstsq`` system, so a day or two of
    samples shrinks toward the mean instead of extrapolating; ``ridge=0`` is plain OLS.
    """

    def __init__(
        self,
        *,
        history: int = 168,
        min_samples: int = 6,
        ridge: float = 1.0,
        prior_supply_wh_per_h: float = 0.0,
        prior_demand_wh_per_h: float = 500.0,
    ) -> None:
        if history < 1 or min_samples < 1 or ridge < 0:
            raise UsageError("bem", "history and min_samples must be >= 1 and ridge >= 0")
        self.history = history
        self.min_samples = min_samples
        self.ridge = ridge
        self.prior = np.array([prior_supply_wh_per_h, prior_demand_wh_per_h])
        self._x = np.zeros((history, N_FEATURES))
        self._y = np.zeros((history, 2))
        self._count = 0
        self._next = 0
        self._fit: EnergyFit | None = None
        self._penalty = math.sqrt(ridge) * np.eye(N_FEATURES)[1:]

    @property
    def samples(self) -> int:
        return self._count

    def add(
        self, features: Sequence[float] | npt.NDArray[np.float64], supply: float, demand: float
    ) -> None:
        """Record one sample: a feature row and the observed supply and demand rates."""
        self._x[self._next] = features
        self._y[self._next] = (supply, demand)
        self._next = (self._next + 1) % self.history
        self._count = min(self._count + 1, self.history)
        self._fit = None

    def fit(self) -> EnergyFit | None:
        """The fitted weights, or None while history is below ``min_samples``."""
        if self._count < self.min_samples:
            return None
        if self._fit is None:
            x, y = self._x[: self._count], self._y[: self._count]
            solar = np.linalg.lstsq(x[:, _IRRADIANCE : _IRRADIANCE + 1], y[:, 0], rcond=None)[0]
            if self.ridge > 0:
                x = np.vstack([x, self._penalty])
                y = np.vstack([y, np.zeros((N_FEATURES - 1, 2))])
            demand = np.linalg.lstsq(x, y[:, 1], rcond=None)[0]
            self._fit = EnergyFit(float(solar[0]), np.asarray(demand, dtype=np.float64))
        return self._fit

    def predict(self, features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Rates (rows x [supply, demand]) for feature rows, clipped at zero (energy flows)."""
        fit = self.fit()
        if fit is None:
            mean = self._y[: self._count].mean(axis=0) if self._count else self.prior
            return np.tile(mean, (len(features), 1))
        supply = features[:, _IRRADIANCE] * fit.supply_per_irradiance
        return np.clip(np.column_stack([supply, features @ fit.demand]), 0.0, None)


@dataclass(frozen=True)
class EnergyFit:
    """Fitted weights: Wh/h of supply per kW/m² of irradiance; demand weights per column."""

    supply_per_irradiance: float
    demand: npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class EnergyForecast:
    """A learning outcome the BEM keeps locally beside the raw data (paper §III)."""

    window_start: int
    window_end: int
    supply_wh: int
    demand_wh: int
    ev_wh: int
