"""The BEM's forecasting model: feature rows, least squares, fallbacks (paper §III step 1)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from iome_ref.roles.forecasting import EnergyModel, compute_features
from iome_ref.vectors.world import T0

DAY = 86_400
T = T0 + DAY  # the simulation's t0: midnight UTC


def test_accepts_features_hand_computed() -> None:
    rows = compute_features([T, T + 6 * 3600], [10.0, -2.5], [0, 800])
    mid = 2 * math.pi * 0.5 / 24  # hour 0 is taken at 00:30
    assert rows.shape == (2, 7)
    assert rows[0].tolist() == pytest.approx(
        [1, math.sin(mid), math.cos(mid), math.sin(2 * mid), math.cos(2 * mid), 10.0, 0.0]
    )
    six = 2 * math.pi * 6.5 / 24
    assert rows[1].tolist() == pytest.approx(
        [1, math.sin(six), math.cos(six), math.sin(2 * six), math.cos(2 * six), -2.5, 0.8]
    )


def test_accepts_ols_recovering_a_known_linear_relation() -> None:
    rng = np.random.default_rng(11)
    hours = T + 3600 * np.arange(60)
    temperature = rng.uniform(-5, 25, 60)
    irradiance = rng.uniform(0, 900, 60)
    rows = compute_features(hours, temperature, irradiance)
    true_demand = np.array([400.0, 120.0, -80.0, 30.0, 45.0, -12.0, 5.0])
    model = EnergyModel(ridge=0.0)
    for row in rows:
        model.add(row, supply=6200.0 * row[6], demand=float(row @ true_demand))
    fit = model.fit()
    assert fit is not None
    assert fit.supply_per_irradiance == pytest.approx(6200.0)
    assert fit.demand.tolist() == pytest.approx(true_demand.tolist())
    predicted = model.predict(compute_features([T + 12 * 3600], [5.0], [500]))
    expected = compute_features([T + 12 * 3600], [5.0], [500])[0] @ true_demand
    assert predicted[0].tolist() == pytest.approx([3100.0, expected])


def test_accepts_default_ridge_close_to_ols_with_a_week_of_data() -> None:
    rng = np.random.default_rng(12)
    hours = T + 3600 * np.arange(168)
    rows = compute_features(hours, rng.uniform(-5, 25, 168), rng.uniform(0, 900, 168))
    true_demand = np.array([700.0, 120.0, -80.0, 30.0, 45.0, -12.0, 5.0])
    model = EnergyModel()
    for row in rows:
        model.add(row, supply=0.0, demand=float(row @ true_demand))
    prediction = model.predict(rows)[:, 1]
    assert np.max(np.abs(prediction - rows @ true_demand)) < 5.0  # Wh per hour


def test_accepts_mean_fallback_when_history_is_short() -> None:
    model = EnergyModel(min_samples=3, prior_supply_wh_per_h=10.0, prior_demand_wh_per_h=700.0)
    rows = compute_features([T, T + 3600], [5.0, 5.0], [0, 0])
    assert model.predict(rows).tolist() == [[10.0, 700.0], [10.0, 700.0]]
    model.add(rows[0], 100.0, 300.0)
    model.add(rows[1], 200.0, 500.0)
    assert model.fit() is None
    assert model.predict(rows).tolist() == [[150.0, 400.0], [150.0, 400.0]]


def test_accepts_bounded_history_forgetting_old_samples() -> None:
    model = EnergyModel(history=4, min_samples=1, ridge=0.0)
    row = compute_features([T], [5.0], [500])[0]
    for _ in range(4):
        model.add(row, 0.0, 100.0)
    for _ in range(4):
        model.add(row, 0.0, 900.0)  # a new regime displaces the old one entirely
    assert model.samples == 4
    assert model.predict(row[None, :])[0, 1] == pytest.approx(900.0)


def test_accepts_predictions_clipped_at_zero() -> None:
    model = EnergyModel(min_samples=1, ridge=0.0)
    rows = compute_features(T + 3600 * np.arange(10), np.linspace(0, 20, 10), np.zeros(10))
    for row in rows:
        model.add(row, 0.0, float(100.0 - 10.0 * row[5]))  # demand falls with temperature
    far = compute_features([T], [40.0], [0])
    assert model.predict(far)[0].tolist() == [0.0, 0.0]
