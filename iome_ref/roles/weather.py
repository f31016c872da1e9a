"""The weather a home lives in, and the third-party provider that forecasts it.

Paper §III step 1: "The BEM may receive information from third parties, e.g., weather
prediction. To ensure the integrity of the data and protect against non-repudiation attack
where a node denies its previous communication, the communications with external parties are
stored in the public blockchain in the form of transactions." A :class:`WeatherForecast` is
signed by its provider; the exchange is recorded as an ``ExternalRecord`` signed by both the
BEM and the provider (:func:`co_sign_record`).

:class:`Climate` is the simulated truth (hourly irradiance and temperature per region, from a
seed); the provider forecasts it with errors drawn from the caller's seeded random source. All
signed figures are integers: W/m² and tenths of a degree Celsius. No clock, no I/O.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from iome_ref.crypto import KeyPair, verify
from iome_ref.encoding import canonical_json, compute_hash
from iome_ref.errors import UsageError
from iome_ref.models import ExternalRecord
from iome_ref.roles.randomness import RandomSource, as_generator

__all__ = [
    "HOUR_S",
    "MAX_IRRADIANCE_W_M2",
    "WEATHER_FORECAST_TAG",
    "Climate",
    "Weather",
    "WeatherForecast",
    "WeatherProvider",
    "co_sign_record",
]

HOUR_S: Final = 3600
_DAY_HOURS: Final = 24
#: Upper bound of ground irradiance, W/m² (standard test conditions of a solar panel).
MAX_IRRADIANCE_W_M2: Final = 1000
#: Signature tag of a forecast: the provider signs SHA-256 of the payload's JCS bytes.
WEATHER_FORECAST_TAG: Final = "WeatherForecast"
#: Days of cached truth kept by one Climate before the cache is dropped (memory bound).
_CACHE_DAYS: Final = 4096


@dataclass(frozen=True, slots=True)
class Weather:
    """Hourly weather of one region from ``start`` (a whole hour): hour i is
    ``[start + i*3600, start + (i+1)*3600)``."""

    region: str
    start: int
    irradiance_w_m2: tuple[int, ...]
    temperature_dc: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.start % HOUR_S != 0:
            raise UsageError("weather", f"start {self.start} is not a whole hour")
        if len(self.irradiance_w_m2) != len(self.temperature_dc):
            raise UsageError("weather", "irradiance and temperature differ in length")

    @property
    def hours(self) -> int:
        return len(self.irradiance_w_m2)

    @property
    def end(self) -> int:
        return self.start + self.hours * HOUR_S

    def covers(self, start: int, end: int) -> bool:
        """Whether every hour of ``[start, end)`` is in this series."""
        return self.start <= start and end <= self.end

    def window(self, start: int, end: int) -> Weather:
        """The hours of ``[start, end)`` (whole hours, inside this series)."""
        if start % HOUR_S or end % HOUR_S or not self.covers(start, end) or start > end:
            raise UsageError(
                "weather",
                f"window [{start}, {end}) is not whole hours inside [{self.start}, {self.end})",
            )
        lo, hi = (start - self.start) // HOUR_S, (end - self.start) // HOUR_S
        return Weather(self.region, start, self.irradiance_w_m2[lo:hi], self.temperature_dc[lo:hi])

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "start": self.start,
            "irradiance_w_m2": list(self.irradiance_w_m2),
            "temperature_dc": list(self.temperature_dc),
        }


@dataclass(frozen=True, slots=True)
class WeatherForecast:
    """A provider's signed forecast: what the BEM receives and both then record on chain."""

    weather: Weather
    issued_at: int
    provider_pk: str
    signature: str

    def payload(self) -> dict[str, Any]:
        return {
            "type": "WeatherForecast",
            **self.weather.to_json(),
            "issued_at": self.issued_at,
            "provider_pk": self.provider_pk,
        }

    def compute_payload_hash(self) -> str:
        """SHA-256 hex of the payload's JCS bytes: what the provider signs."""
        return compute_hash(canonical_json(self.payload()))

    def to_json(self) -> dict[str, Any]:
        return {**self.payload(), "signature": self.signature}

    @property
    def message_hash(self) -> str:
        """SHA-256 hex of the whole signed message: the ExternalRecord's ``message_hash``."""
        return compute_hash(canonical_json(self.to_json()))

    def verify(self) -> None:
        """Check the provider's signature before the BEM relies on the forecast.

        Raises:
            Rejected: IOME-SIG-001..008 from :func:`iome_ref.crypto.verify`.
        """
        verify(self.provider_pk, self.signature, WEATHER_FORECAST_TAG, self.compute_payload_hash())


def _region_number(region: str) -> int:
    """A stable 64-bit number for a region name (seeds its local weather)."""
    return int.from_bytes(hashlib.sha256(region.encode("utf-8")).digest()[:8], "little")


class Climate:
    """The simulated true weather of a city: hourly irradiance and temperature per region.

    Each day draws a city-wide cloudiness and temperature anomaly (weather systems are larger
    than suburbs) plus a per-region perturbation, from ``seed``, the day and the region only:
    the weather of an hour never depends on which hours were asked for before. The sun follows
    a seasonal day length (northern hemisphere, UTC hours); clouds cut irradiance by up to
    75 %; temperature follows season, day anomaly and a diurnal cycle peaking at 15:00.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._days: dict[tuple[str, int], tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]] = {}

    def _day(self, region: str, day: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        cached = self._days.get((region, day))
        if cached is not None:
            return cached
        city = np.random.default_rng([self.seed, day, 0])
        local = np.random.default_rng([self.seed, day, 1, _region_number(region)])
        season = math.cos(2 * math.pi * ((day % 365) - 172) / 365)  # +1 at midsummer
        cloud = float(np.clip(city.beta(2.0, 3.0) + local.normal(0.0, 0.08), 0.0, 1.0))
        hours = np.arange(_DAY_HOURS) + 0.5
        half_day = 6.0 + 2.0 * season  # hours from noon to sunset
        elevation = np.clip(np.cos(np.pi * (hours - 12.0) / (2.0 * half_day)), 0.0, None)
        elevation[np.abs(hours - 12.0) >= half_day] = 0.0
        hourly_cloud = np.clip(cloud + local.normal(0.0, 0.1, _DAY_HOURS), 0.0, 1.0)
        peak = MAX_IRRADIANCE_W_M2 * (0.8 + 0.2 * season)
        irradiance = peak * elevation * (1.0 - 0.75 * hourly_cloud)
        offset = (_region_number(region) % 2001 - 1000) / 1000.0  # +-1 °C per suburb
        mean_c = 8.0 + 9.0 * season + city.normal(0.0, 2.5) + offset
        swing = 2.0 + 4.0 * (1.0 - cloud)  # clear days swing more
        temperature = (
            mean_c
            + swing * np.cos(2 * np.pi * (hours - 15.0) / _DAY_HOURS)
            + local.normal(0.0, 0.3, _DAY_HOURS)
        )
        result = (
            np.rint(irradiance).astype(np.int64),
            np.rint(temperature * 10.0).astype(np.int64),
        )
        if len(self._days) >= _CACHE_DAYS:
            self._days.clear()
        self._days[(region, day)] = result
        return result

    def actual(self, region: str, start: int, hours: int) -> Weather:
        """The true weather of ``region`` for ``hours`` whole hours from ``start``."""
        if start % HOUR_S != 0 or hours < 0:
            raise UsageError("weather", f"start {start} is not a whole hour or hours {hours} < 0")
        first = start // HOUR_S
        irradiance: list[int] = []
        temperature: list[int] = []
        hour = first
        while hour < first + hours:
            day, offset = divmod(hour, _DAY_HOURS)
            take = min(_DAY_HOURS - offset, first + hours - hour)
            irr, temp = self._day(region, day)
            irradiance.extend(irr[offset : offset + take].tolist())
            temperature.extend(temp[offset : offset + take].tolist())
            hour += take
        return Weather(region, start, tuple(irradiance), tuple(temperature))


class WeatherProvider:
    """A third-party weather service: forecasts the climate with errors, and signs them."""

    def __init__(self, key: KeyPair, climate: Climate) -> None:
        self.key = key
        self.climate = climate

    def forecast(
        self, region: str, t: int, rng: RandomSource, *, hours: int = 6
    ) -> WeatherForecast:
        """A signed forecast issued at ``t`` for ``hours`` hours from the hour containing ``t``.

        Errors: a forecast-wide cloud error (lognormal, sigma 0.2) and hourly jitter (0.05) on
        irradiance, a forecast-wide bias (1 °C) and hourly jitter (0.3 °C) on temperature.
        """
        start = t - t % HOUR_S
        truth = self.climate.actual(region, start, hours)
        gen = as_generator(rng)
        factor = np.exp(gen.normal(0.0, 0.2) + gen.normal(0.0, 0.05, hours))
        irradiance = np.clip(
            np.rint(np.asarray(truth.irradiance_w_m2, dtype=float) * factor),
            0,
            MAX_IRRADIANCE_W_M2,
        ).astype(np.int64)
        temperature = np.rint(
            np.asarray(truth.temperature_dc, dtype=float)
            + gen.normal(0.0, 10.0)
            + gen.normal(0.0, 3.0, hours)
        ).astype(np.int64)
        weather = Weather(region, start, tuple(irradiance.tolist()), tuple(temperature.tolist()))
        unsigned = WeatherForecast(weather, t, self.key.public_hex, "")
        signature = self.key.sign(WEATHER_FORECAST_TAG, unsigned.compute_payload_hash())
        return WeatherForecast(weather, t, self.key.public_hex, signature)


def co_sign_record(
    message_hash: str, bem_key: KeyPair, provider_key: KeyPair, t: int
) -> ExternalRecord:
    """The exchange as an ``ExternalRecord`` signed by the BEM (party a) and the provider (b).

    Paper §III: external communications are stored on the public chain so that neither side
    can later deny them; both signatures make the record binding on both.

    Raises:
        UsageError: the two keys are one key (the chain would refuse it, IOME-REC-001).
    """
    if bem_key.public_hex == provider_key.public_hex:
        raise UsageError("weather", "an external record needs two distinct parties (IOME-REC-001)")
    return ExternalRecord.create(
        {"sig_a": bem_key, "sig_b": provider_key},
        message_hash=message_hash,
        party_a_pk=bem_key.public_hex,
        party_b_pk=provider_key.public_hex,
        timestamp=t,
    )
