"""Simulated homes: the physical ground truth that BEM forecasts are scored against.

A home's panels, loads and thermal response (:class:`HomeProfile`) are the world, not a role:
its building energy manager never knows them and sees only what the home's devices measure.
:func:`simulate_home_energy` says what actually happened in a window under the actual weather:
the totals the simulation scores predictions on, and the measurements the devices then sign and
seal to the BEM. Kept in ``simulation`` so no role can reach the truth it is meant to predict
(simulation may import roles, never the reverse).

No clock, no I/O: times are arguments and randomness comes from the caller's seeded source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

import numpy as np

from iome_ref.errors import UsageError
from iome_ref.roles.bem import BuildingEnergyManager
from iome_ref.roles.devices import SEAL_ENTROPY_LEN, DeviceKind, IoTDevice, Reading
from iome_ref.roles.randomness import RandomSource, as_generator, random_bytes
from iome_ref.roles.weather import HOUR_S, Weather

__all__ = [
    "DAILY_LOAD_SHAPE",
    "HomeEnergy",
    "HomeProfile",
    "Measurement",
    "compute_device_id",
    "draw_home",
    "send_measurements",
    "simulate_home_energy",
]

_DAY_HOURS: Final = 24

_SHAPE = (
    0.55, 0.5, 0.5, 0.5, 0.55, 0.65, 0.9, 1.4, 1.4, 0.95, 0.85, 0.85,
    0.9, 0.85, 0.85, 0.9, 1.1, 1.6, 1.8, 1.8, 1.6, 1.3, 1.0, 0.75,
)  # fmt: skip
#: Household load by UTC hour of day, mean 1: low at night, morning and evening peaks.
DAILY_LOAD_SHAPE: Final = tuple(value * _DAY_HOURS / sum(_SHAPE) for value in _SHAPE)


@dataclass(frozen=True, slots=True)
class HomeProfile:
    """A home's physical parameters: the simulation's truth, unknown to its BEM's model."""

    home_id: str
    region: str
    #: Peak PV power at 1000 W/m², kW; 0 for a home without panels.
    panel_kw: float
    #: Mean non-thermal load, W, shaped over the day by DAILY_LOAD_SHAPE.
    base_load_w: float
    #: Extra load per °C below ``heating_below_c`` and above ``cooling_above_c``, W/°C.
    heating_w_per_c: float
    cooling_w_per_c: float
    heating_below_c: float = 15.0
    cooling_above_c: float = 24.0
    #: Lognormal sigma of hourly load noise.
    load_sigma: float = 0.15

    @property
    def device_kinds(self) -> tuple[DeviceKind, ...]:
        """The devices this home has: a solar meter only if it has panels."""
        return ("solar", "load", "thermostat") if self.panel_kw > 0 else ("load", "thermostat")


def compute_device_id(home_id: str, kind: DeviceKind) -> str:
    """The id of a home's device of ``kind``: ``<home_id>-<kind>``."""
    return f"{home_id}-{kind}"


def draw_home(home_id: str, region: str, rng: RandomSource) -> HomeProfile:
    """A home drawn from ``rng``: 60 % have 3-8 kW of panels; loads of 300-700 W base."""
    gen = as_generator(rng)
    has_panel = gen.random() < 0.6
    panel_kw = round(float(gen.uniform(3.0, 8.0)), 1) if has_panel else 0.0
    return HomeProfile(
        home_id=home_id,
        region=region,
        panel_kw=panel_kw,
        base_load_w=float(gen.uniform(300.0, 700.0)),
        heating_w_per_c=float(gen.uniform(40.0, 150.0)),
        cooling_w_per_c=float(gen.uniform(20.0, 100.0)),
    )


class Measurement(NamedTuple):
    """A device's measured value for ``[t - period_s, t)`` (unit as for Reading.value)."""

    kind: DeviceKind
    t: int
    period_s: int
    value: int


class HomeEnergy(NamedTuple):
    """What actually happened in a home: totals, and what its devices measured."""

    actual_supply_wh: int
    actual_demand_wh: int
    measurements: tuple[Measurement, ...]


def simulate_home_energy(
    home: HomeProfile,
    t_start: int,
    t_end: int,
    weather: Weather,
    rng: RandomSource,
    *,
    interval_s: int = HOUR_S,
) -> HomeEnergy:
    """The home's true supply and demand over ``[t_start, t_end)`` under ``weather``.

    Solar: ``panel_kw`` x irradiance, with 3 % hourly efficiency noise. Load: base load x
    daily shape, plus heating below and cooling above comfort temperatures, with lognormal
    noise. Each device measures every ``interval_s`` (a multiple of an hour): energy meters
    the Wh of the interval, the thermostat its mean temperature (deci-°C, 0.2 °C noise).
    Totals equal the sums of the measurements, so predictions are scored on what was metered.

    Raises:
        UsageError: times not whole hours, intervals not dividing the span, weather short.
    """
    span = t_end - t_start
    if t_start % HOUR_S or interval_s <= 0 or interval_s % HOUR_S or span <= 0 or span % interval_s:
        raise UsageError(
            "bem",
            f"[{t_start}, {t_end}) with interval {interval_s}: expected whole hours and whole "
            "intervals",
        )
    if not weather.covers(t_start, t_end):
        raise UsageError("bem", f"weather [{weather.start}, {weather.end}) does not cover span")
    gen = as_generator(rng)
    part = weather.window(t_start, t_end)
    hours = span // HOUR_S
    irradiance = np.asarray(part.irradiance_w_m2, dtype=np.float64)
    temperature = np.asarray(part.temperature_dc, dtype=np.float64) / 10.0
    hour_of_day = (np.arange(hours) + t_start // HOUR_S) % _DAY_HOURS
    solar = home.panel_kw * irradiance * np.clip(1.0 + gen.normal(0.0, 0.03, hours), 0.0, None)
    thermal = home.heating_w_per_c * np.clip(
        home.heating_below_c - temperature, 0.0, None
    ) + home.cooling_w_per_c * np.clip(temperature - home.cooling_above_c, 0.0, None)
    load = (home.base_load_w * np.asarray(DAILY_LOAD_SHAPE)[hour_of_day] + thermal) * np.exp(
        gen.normal(0.0, home.load_sigma, hours)
    )
    per = interval_s // HOUR_S
    n = hours // per
    solar_wh = np.rint(solar.reshape(n, per).sum(axis=1)).astype(np.int64).tolist()
    load_wh = np.rint(load.reshape(n, per).sum(axis=1)).astype(np.int64).tolist()
    temp_dc = (
        np.rint(temperature.reshape(n, per).mean(axis=1) * 10.0 + gen.normal(0.0, 2.0, n))
        .astype(np.int64)
        .tolist()
    )
    measurements: list[Measurement] = []
    for k in range(n):
        t = t_start + (k + 1) * interval_s
        if home.panel_kw > 0:
            measurements.append(Measurement("solar", t, interval_s, solar_wh[k]))
        measurements.append(Measurement("load", t, interval_s, load_wh[k]))
        measurements.append(Measurement("thermostat", t, interval_s, temp_dc[k]))
    supply = sum(solar_wh) if home.panel_kw > 0 else 0
    return HomeEnergy(supply, sum(load_wh), tuple(measurements))


def send_measurements(
    devices: Mapping[DeviceKind, IoTDevice],
    bem: BuildingEnergyManager,
    measurements: Sequence[Measurement],
    rng: RandomSource,
) -> None:
    """Each device reads its measurements and sends them to ``bem`` as one sealed upload.

    Paper §III step 1 unchanged (encrypted to the BEM's key, signed hash of the exchanged
    data), batched per device: a smart meter buffers and pushes at intervals, and the BEM uses
    readings only when it next forecasts, so it holds the same readings at the same decisions
    as with one message per reading, for a quarter of the key exchanges and signatures.
    The uploads' ephemeral secrets and nonces are drawn from ``rng`` in one call: the same
    bytes, in the same order, as one draw per upload (``SEAL_ENTROPY_LEN``).
    """
    readings: dict[DeviceKind, list[Reading]] = {}
    for m in measurements:
        readings.setdefault(m.kind, []).append(devices[m.kind].reading(m.t, m.period_s, m.value))
    entropy = random_bytes(rng, SEAL_ENTROPY_LEN * len(readings))
    for i, (kind, upload) in enumerate(readings.items()):
        drawn = entropy[i * SEAL_ENTROPY_LEN : (i + 1) * SEAL_ENTROPY_LEN]
        bem.on_upload(devices[kind].seal_upload_drawn(upload, bem.public_key, drawn))
