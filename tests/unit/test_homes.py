"""Simulated homes: the ground truth BEM forecasts are scored against."""

from __future__ import annotations

import numpy as np
import pytest

from iome_ref.crypto import KeyPair
from iome_ref.errors import UsageError
from iome_ref.roles.bem import BuildingEnergyManager
from iome_ref.roles.devices import IoTDevice, derive_x25519_private
from iome_ref.roles.weather import Climate, Weather, WeatherProvider
from iome_ref.simulation.homes import (
    DAILY_LOAD_SHAPE,
    HomeProfile,
    compute_device_id,
    draw_home,
    send_measurements,
    simulate_home_energy,
)
from iome_ref.vectors.world import T0

DAY = 86_400
T = T0 + DAY  # the simulation's t0: midnight UTC


def _weather(start: int, hours: int, irradiance: int = 500, temp_dc: int = 100) -> Weather:
    return Weather("r0", start, (irradiance,) * hours, (temp_dc,) * hours)


HOME = HomeProfile(
    "home-1", "r0", panel_kw=5.0, base_load_w=400.0, heating_w_per_c=100.0, cooling_w_per_c=50.0
)


def test_accepts_ground_truth_totals_equal_to_metered_sums() -> None:
    weather = Climate(1).actual("r0", T, 24)
    energy = simulate_home_energy(HOME, T, T + DAY, weather, np.random.default_rng(1))
    solar = [m.value for m in energy.measurements if m.kind == "solar"]
    load = [m.value for m in energy.measurements if m.kind == "load"]
    assert (len(solar), len(load)) == (24, 24)
    assert energy.actual_supply_wh == sum(solar)
    assert energy.actual_demand_wh == sum(load)
    assert [m.t for m in energy.measurements if m.kind == "thermostat"] == [
        T + (h + 1) * 3600 for h in range(24)
    ]
    coarse = simulate_home_energy(
        HOME, T, T + DAY, weather, np.random.default_rng(1), interval_s=6 * 3600
    )
    # Same noise draws; only the rounding to whole Wh per interval differs.
    assert coarse.actual_supply_wh == pytest.approx(energy.actual_supply_wh, abs=24)
    assert coarse.actual_demand_wh == pytest.approx(energy.actual_demand_wh, abs=24)
    assert len(coarse.measurements) == 12


def test_accepts_solar_proportional_to_irradiance_and_none_at_night() -> None:
    weather = Weather("r0", T, (0, 200, 800), (100, 100, 100))
    energy = simulate_home_energy(HOME, T, T + 3 * 3600, weather, np.random.default_rng(2))
    solar = [m.value for m in energy.measurements if m.kind == "solar"]
    assert solar[0] == 0
    assert solar[1] == pytest.approx(1000, rel=0.15)  # 5 kW x 200 W/m² = 1 kWh
    assert solar[2] == pytest.approx(4000, rel=0.15)


def test_accepts_more_demand_in_colder_weather() -> None:
    mild = Weather("r0", T, (0,) * 24, (150,) * 24)
    cold = Weather("r0", T, (0,) * 24, (-50,) * 24)
    a = simulate_home_energy(HOME, T, T + DAY, mild, np.random.default_rng(3))
    b = simulate_home_energy(HOME, T, T + DAY, cold, np.random.default_rng(3))
    assert b.actual_demand_wh > a.actual_demand_wh
    # Same noise, 20 °C colder: 100 W/°C x 20 °C x 24 h more, before noise (lognormal ~ 1).
    assert b.actual_demand_wh - a.actual_demand_wh == pytest.approx(48_000, rel=0.1)


def test_accepts_home_without_panels_measuring_no_solar() -> None:
    home = HomeProfile("home-2", "r0", 0.0, 400.0, 100.0, 50.0)
    energy = simulate_home_energy(home, T, T + 3600, _weather(T, 1), np.random.default_rng(1))
    assert home.device_kinds == ("load", "thermostat")
    assert [m.kind for m in energy.measurements] == ["load", "thermostat"]
    assert energy.actual_supply_wh == 0


def test_accepts_daily_load_shape_with_mean_one() -> None:
    assert sum(DAILY_LOAD_SHAPE) / 24 == pytest.approx(1.0)
    assert max(DAILY_LOAD_SHAPE) == DAILY_LOAD_SHAPE[18]  # the evening peak


@pytest.mark.parametrize(
    ("t_start", "t_end", "interval_s"),
    [(T + 1, T + 3601, 3600), (T, T + 3600, 1800), (T, T + 3 * 3600, 2 * 3600), (T, T, 3600)],
)
def test_rejects_span_not_in_whole_intervals(t_start: int, t_end: int, interval_s: int) -> None:
    with pytest.raises(UsageError) as exc:
        simulate_home_energy(
            HOME, t_start, t_end, _weather(T, 6), np.random.default_rng(1), interval_s=interval_s
        )
    assert exc.value.component == "bem"


def test_accepts_same_seed_same_homes_readings_and_esdps() -> None:
    """Roles are deterministic: one seed, one history, byte for byte."""

    def run(seed: int) -> list[str]:
        rng = np.random.default_rng(seed)
        climate = Climate(seed)
        provider = WeatherProvider(KeyPair.derive("weather"), climate)
        home = draw_home("home-7", "r0", rng)
        bem = BuildingEnergyManager(
            home.home_id, home.region, KeyPair.derive("bem", 7), derive_x25519_private("bem", 7)
        )
        devices = {}
        for kind in home.device_kinds:
            devices[kind] = IoTDevice(
                compute_device_id(home.home_id, kind), KeyPair.derive("dev", 7, kind), kind
            )
            bem.register_device(devices[kind].device_id, devices[kind].public_hex, kind)
        out = []
        for r in range(4):
            start = T + r * 6 * 3600
            forecast = provider.forecast("r0", start, rng)
            bem.on_forecast(forecast)
            supply, demand = bem.forecast(start, start + 6 * 3600, forecast, 1000)
            out.append(bem.publish_esdp(start, start + 6 * 3600, supply, demand, start).tx_id)
            actual = climate.actual("r0", start, 6)
            truth = simulate_home_energy(home, start, start + 6 * 3600, actual, rng)
            for m in truth.measurements:
                device = devices[m.kind]
                sealed = device.seal(device.reading(m.t, m.period_s, m.value), bem.public_key, rng)
                out.append(sealed.ciphertext.hex())
                bem.on_reading(sealed)
            out.append(bem.commit_raw_data(start + 6 * 3600).tx_id)
        return out

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_accepts_uploads_as_faithful_to_one_message_per_reading() -> None:
    """Issue 16: sending each device's measurements as one upload leaves the BEM with the same
    readings, the same learning and the same forecasts as sealing every reading alone."""

    def run(batched: bool) -> tuple[list[object], list[tuple[int, int]]]:
        rng = np.random.default_rng(3)
        climate = Climate(3)
        provider = WeatherProvider(KeyPair.derive("weather"), climate)
        home = draw_home("home-3", "r0", rng)
        bem = BuildingEnergyManager(
            home.home_id, home.region, KeyPair.derive("bem", 3), derive_x25519_private("bem", 3)
        )
        devices = {
            kind: IoTDevice(
                compute_device_id(home.home_id, kind), KeyPair.derive("dev", 3, kind), kind
            )
            for kind in home.device_kinds
        }
        for device in devices.values():
            bem.register_device(device.device_id, device.public_hex, device.kind)
        forecasts = []
        seal_rng = np.random.default_rng(99)
        for r in range(3):
            start = T + r * 6 * 3600
            forecast = provider.forecast("r0", start, rng)
            bem.on_forecast(forecast)
            forecasts.append(bem.forecast(start, start + 6 * 3600, forecast, 0))
            truth = simulate_home_energy(
                home, start, start + 6 * 3600, climate.actual("r0", start, 6), rng
            )
            if batched:
                send_measurements(devices, bem, truth.measurements, seal_rng)
            else:
                for m in truth.measurements:
                    device = devices[m.kind]
                    reading = device.reading(m.t, m.period_s, m.value)
                    bem.on_reading(device.seal(reading, bem.public_key, seal_rng))
        return list(bem.raw_readings), forecasts

    (single, single_forecasts), (uploads, upload_forecasts) = run(False), run(True)
    assert upload_forecasts == single_forecasts
    # The same readings; stored in arrival order (by device within an upload round).
    assert sorted(uploads, key=repr) == sorted(single, key=repr)
    assert uploads != single
    assert len(uploads) > 10
