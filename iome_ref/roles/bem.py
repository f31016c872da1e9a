"""The building energy manager (BEM) of a smart home, and the home's simulated ground truth.

Paper §III steps 1-2: the BEM "collects the data related to future energy generation and
consumption" from the home's devices (sealed and signed readings, IOME-DATA-001..003), may
receive a weather prediction from a third party, "runs the ML algorithm on the received data to
predict the future energy generation and supply", keeps "the raw data of the devices ... in a
local storage along with the learning outcome" (committed by hash: ``DataCommitment``) and
"sends only the outcome of the learning algorithm to the public chain" as an ``ESDP``.

The learning algorithm is ordinary least squares (``numpy.linalg.lstsq``, lightly ridge
regularised) of hourly supply and demand on [1, two daily harmonics, temperature, irradiance]
over a bounded window of recent samples, plus the EV charging the O-D matrix predicts.
:func:`simulate_home_energy` is the truth the simulation scores predictions against.

No clock, no I/O: times are arguments and randomness comes from the caller's seeded source.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from iome_ref.constants import MAX_SAFE_INT, SIGNATURE_LEN
from iome_ref.crypto import KeyPair, verify
from iome_ref.encoding import canonical_json, compute_hash, decode_json_object
from iome_ref.errors import IoMEError, Rejected, UsageError
from iome_ref.models import ESDP, DataCommitment
from iome_ref.requirements import enforces
from iome_ref.roles.devices import (
    DEVICE_KINDS,
    READING_SIGNATURE_TAG,
    DeviceKind,
    Reading,
    SealedReading,
    compute_reading_aad,
    compute_reading_key,
)
from iome_ref.roles.randomness import RandomSource, as_generator
from iome_ref.roles.weather import HOUR_S, Weather, WeatherForecast

__all__ = [
    "DAILY_LOAD_SHAPE",
    "N_FEATURES",
    "BuildingEnergyManager",
    "EnergyFit",
    "EnergyForecast",
    "EnergyModel",
    "HomeEnergy",
    "HomeProfile",
    "Measurement",
    "check_reading_fresh",
    "compute_device_id",
    "compute_features",
    "decrypt_reading",
    "draw_home",
    "simulate_home_energy",
    "verify_reading",
]

_DAY_HOURS: Final = 24
_READING_FIELDS: Final = frozenset({"device_id", "seq", "t", "period_s", "value"})

# --------------------------------------------------------------------------- reading checks


@enforces("IOME-DATA-002")
def decrypt_reading(sealed: SealedReading, private_key: X25519PrivateKey) -> bytes:
    """Open a sealed reading: X25519 with its ephemeral key, HKDF, ChaCha20-Poly1305.

    Paper §III: "the data is encrypted with the PK of the BEM". The associated data binds the
    clear ``device_id`` and ``seq``, so moving a ciphertext to another device or sequence
    number fails here, as does any changed byte or a reading sealed to another manager.

    Raises:
        Rejected: IOME-DATA-002.
    """
    try:
        ephemeral = X25519PublicKey.from_public_bytes(sealed.ephemeral_pk)
        shared = private_key.exchange(ephemeral)
        key = compute_reading_key(
            shared, sealed.ephemeral_pk, private_key.public_key().public_bytes_raw()
        )
        aad = compute_reading_aad(sealed.device_id, sealed.seq)
        return ChaCha20Poly1305(key).decrypt(sealed.nonce, sealed.ciphertext, aad)
    except InvalidTag:
        raise Rejected(
            "IOME-DATA-002",
            f"sealed reading of {sealed.device_id!r} seq {sealed.seq!r}: expected a valid "
            "authentication tag, found a mismatch (wrong key, ciphertext or associated data)",
        ) from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise Rejected(
            "IOME-DATA-002", f"sealed reading: expected a well-formed envelope, found {exc}"
        ) from None


def _parse_reading(text: bytes) -> Reading | None:
    """The reading the plaintext encodes, or None when it is not exactly one reading object."""
    try:
        data = decode_json_object(text)
    except IoMEError:
        return None
    if set(data) != _READING_FIELDS:
        return None
    device_id, numbers = data["device_id"], [data[k] for k in ("seq", "t", "period_s", "value")]
    if not isinstance(device_id, str) or any(
        type(n) is not int or abs(n) > MAX_SAFE_INT for n in numbers
    ):
        return None
    seq, t, period_s, value = numbers
    if seq < 0 or t < 0 or period_s < 1:
        return None
    return Reading(device_id, seq, t, period_s, value)


@enforces("IOME-DATA-001")
def verify_reading(sealed: SealedReading, payload: bytes, registered_pk: str | None) -> Reading:
    """Accept a decrypted reading only if its device, registered with this BEM, signed it.

    Paper §III: "Each device signs the hash of the exchanged data that protects data
    integrity." ``payload`` is plaintext || 64-byte signature (tag ``Reading`` over the
    SHA-256 hex of the plaintext); the signed reading must name the device and sequence
    number of its envelope, or a device could vouch for another's slot.

    Raises:
        Rejected: IOME-DATA-001.
    """
    if registered_pk is None:
        raise Rejected(
            "IOME-DATA-001",
            f"device_id: expected a device registered here, found {sealed.device_id!r}",
        )
    if len(payload) <= SIGNATURE_LEN:
        raise Rejected(
            "IOME-DATA-001", f"payload: expected a reading and a signature, found {len(payload)} B"
        )
    plaintext, signature = payload[:-SIGNATURE_LEN], payload[-SIGNATURE_LEN:]
    try:
        verify(registered_pk, signature.hex(), READING_SIGNATURE_TAG, compute_hash(plaintext))
    except IoMEError as exc:
        raise Rejected(
            "IOME-DATA-001",
            f"signature of {sealed.device_id!r}: expected it to verify under the registered key, "
            f"found {exc.req_id}",
        ) from None
    reading = _parse_reading(plaintext)
    if reading is None:
        raise Rejected("IOME-DATA-001", "plaintext: expected one signed reading object")
    if (reading.device_id, reading.seq) != (sealed.device_id, sealed.seq):
        raise Rejected(
            "IOME-DATA-001",
            f"reading: expected device {sealed.device_id!r} seq {sealed.seq!r} of the envelope, "
            f"found {reading.device_id!r} seq {reading.seq}",
        )
    return reading


@enforces("IOME-DATA-003")
def check_reading_fresh(reading: Reading, last_seq: int | None) -> None:
    """Refuse a reading whose sequence number is not above the device's last accepted one.

    A replayed reading is authentic (decrypts, verifies) yet would count energy twice in the
    forecast; the sequence number is what tells it apart. Checked after IOME-DATA-002/001, so
    a forged envelope is reported as forged, not as a replay.

    Raises:
        Rejected: IOME-DATA-003.
    """
    if last_seq is not None and reading.seq <= last_seq:
        raise Rejected(
            "IOME-DATA-003",
            f"seq of {reading.device_id!r}: expected above {last_seq}, found {reading.seq}",
        )


# --------------------------------------------------------------------------- the model

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


# --------------------------------------------------------------------------- the manager


@dataclass(frozen=True, slots=True)
class EnergyForecast:
    """A learning outcome the BEM keeps locally beside the raw data (paper §III)."""

    window_start: int
    window_end: int
    supply_wh: int
    demand_wh: int
    ev_wh: int


@dataclass(slots=True)
class _Period:
    """Accepted readings of one metering period, accumulated until the period is learned."""

    supply_wh: int = 0
    demand_wh: int = 0
    temperature_dc_sum: int = 0
    temperature_n: int = 0
    energy_readings: int = 0


@dataclass(frozen=True, slots=True)
class _Device:
    public_hex: str
    kind: DeviceKind


class BuildingEnergyManager:
    """A home's BEM: opens device readings, learns, forecasts, publishes ESDPs, commits data.

    Learning happens when a forecast is asked for: every metering period that ended by the
    forecast window's start becomes one sample (its Wh per hour, and the mean feature row of
    its hours). Features are what the BEM knew: the irradiance and temperature of the weather
    forecasts it received (it has no irradiance sensor), the thermostat's measured temperature
    when one reported for that period. A period whose hours the BEM has no weather for is
    dropped. Weather is kept for ``weather_keep_s`` before the latest window.
    """

    def __init__(
        self,
        home_id: str,
        region: str,
        key: KeyPair,
        x25519_private: X25519PrivateKey,
        *,
        model: EnergyModel | None = None,
        weather_keep_s: int = 2 * 86_400,
    ) -> None:
        self.home_id = home_id
        self.region = region
        self.key = key
        self._x25519 = x25519_private
        self.public_key: X25519PublicKey = x25519_private.public_key()
        self.model = model if model is not None else EnergyModel()
        self.weather_keep_s = weather_keep_s
        #: Raw readings accepted, in order: the local storage of paper §III.
        self.raw_readings: list[Reading] = []
        #: Learning outcomes, in order.
        self.forecasts: list[EnergyForecast] = []
        #: Commitments made, with the slice of ``raw_readings`` each covers.
        self.commitments: list[tuple[DataCommitment, int, int]] = []
        self._devices: dict[str, _Device] = {}
        self._last_seq: dict[str, int] = {}
        self._pending: dict[tuple[int, int], _Period] = {}
        self._weather: dict[int, tuple[int, int]] = {}
        self._committed = 0

    # ---- devices

    def register_device(self, device_id: str, public_key_hex: str, kind: DeviceKind) -> None:
        """Trust ``public_key_hex`` for ``device_id`` (paper §III: home devices are trusted).

        Re-registering a device with a new key (a replaced meter) restarts its sequence.
        """
        if kind not in DEVICE_KINDS:
            raise UsageError("bem", f"kind {kind!r} is not one of {DEVICE_KINDS}")
        previous = self._devices.get(device_id)
        if previous is not None and previous.public_hex != public_key_hex:
            self._last_seq.pop(device_id, None)
        self._devices[device_id] = _Device(public_key_hex, kind)

    def on_reading(self, sealed: SealedReading) -> Reading:
        """Open, authenticate and de-duplicate a sealed reading, then keep it.

        Raises:
            Rejected: IOME-DATA-002 (decryption), IOME-DATA-001 (signature, registration),
                IOME-DATA-003 (replay), in that order.
        """
        payload = decrypt_reading(sealed, self._x25519)
        device = self._devices.get(sealed.device_id)
        reading = verify_reading(sealed, payload, device.public_hex if device else None)
        check_reading_fresh(reading, self._last_seq.get(reading.device_id))
        assert device is not None  # verify_reading refuses unregistered devices
        self._last_seq[reading.device_id] = reading.seq
        self.raw_readings.append(reading)
        period = self._pending.setdefault((reading.t, reading.period_s), _Period())
        if device.kind == "thermostat":
            period.temperature_dc_sum += reading.value
            period.temperature_n += 1
        else:
            period.energy_readings += 1
            if device.kind == "solar":
                period.supply_wh += reading.value
            elif device.kind == "load":
                period.demand_wh += reading.value
            elif reading.value > 0:  # a battery discharging into the home supplies it
                period.supply_wh += reading.value
            else:
                period.demand_wh -= reading.value
        return reading

    # ---- weather

    def on_forecast(self, forecast: WeatherForecast) -> None:
        """Verify a provider's forecast and remember its hours as features.

        Raises:
            Rejected: IOME-SIG-001..008 when the provider's signature does not verify.
        """
        forecast.verify()
        self._remember_weather(forecast.weather)

    def _remember_weather(self, weather: Weather) -> None:
        for i, (irr, temp) in enumerate(
            zip(weather.irradiance_w_m2, weather.temperature_dc, strict=True)
        ):
            self._weather[weather.start + i * HOUR_S] = (irr, temp)

    # ---- learning and forecasting

    def _learn(self, before: int) -> None:
        """Turn every pending period that ended by ``before`` into a model sample."""
        done = [key for key in self._pending if key[0] <= before]
        for t, period_s in sorted(done):
            period = self._pending.pop((t, period_s))
            start = t - period_s
            hours = range(start - start % HOUR_S, t, HOUR_S)
            known = [self._weather.get(h) for h in hours]
            if period.energy_readings == 0 or not known or any(w is None for w in known):
                continue
            irradiance = [w[0] for w in known if w is not None]
            temperature_c = [w[1] / 10.0 for w in known if w is not None]
            if period.temperature_n:
                measured = period.temperature_dc_sum / period.temperature_n / 10.0
                temperature_c = [measured] * len(temperature_c)
            row = compute_features(list(hours), temperature_c, irradiance).mean(axis=0)
            scale = HOUR_S / period_s
            self.model.add(row, period.supply_wh * scale, period.demand_wh * scale)
        horizon = before - self.weather_keep_s
        for hour in [h for h in self._weather if h < horizon]:
            del self._weather[hour]

    def forecast(
        self,
        window_start: int,
        window_end: int,
        weather: Weather | WeatherForecast,
        ev_arrivals_wh: int = 0,
    ) -> tuple[int, int]:
        """Predicted (supply_wh, demand_wh) of the home for ``[window_start, window_end)``.

        Paper §III step 1 (learning at the edge) and step 5 (mobility feeds the next energy
        prediction): the model's hourly rates over the window's forecast weather, summed, plus
        ``ev_arrivals_wh`` of EV charging expected at home from the O-D matrix.

        Raises:
            UsageError: the window is not whole hours or ``weather`` does not cover it.
        """
        series = weather.weather if isinstance(weather, WeatherForecast) else weather
        if window_start % HOUR_S or window_end % HOUR_S or window_start >= window_end:
            raise UsageError("bem", f"window [{window_start}, {window_end}) is not whole hours")
        if not series.covers(window_start, window_end):
            raise UsageError(
                "bem", f"weather [{series.start}, {series.end}) does not cover the window"
            )
        if ev_arrivals_wh < 0:
            raise UsageError("bem", f"ev_arrivals_wh {ev_arrivals_wh} is negative")
        self._learn(window_start)
        self._remember_weather(series)
        part = series.window(window_start, window_end)
        rows = compute_features(
            range(window_start, window_end, HOUR_S),
            np.asarray(part.temperature_dc, dtype=np.float64) / 10.0,
            part.irradiance_w_m2,
        )
        supply, demand = self.model.predict(rows).sum(axis=0)
        outcome = EnergyForecast(
            window_start,
            window_end,
            round(float(supply)),
            round(float(demand)) + ev_arrivals_wh,
            ev_arrivals_wh,
        )
        self.forecasts.append(outcome)
        return outcome.supply_wh, outcome.demand_wh

    # ---- publication

    def publish_esdp(
        self, window_start: int, window_end: int, supply_wh: int, demand_wh: int, timestamp: int
    ) -> ESDP:
        """The learning outcome as an ESDP signed by the home's key (paper §III step 2)."""
        return ESDP.create(
            {"signature": self.key},
            region=self.region,
            issuer_role="bem",
            window_start=window_start,
            window_end=window_end,
            supply_wh=supply_wh,
            demand_wh=demand_wh,
            timestamp=timestamp,
            issuer_pk=self.key.public_hex,
        )

    def compute_raw_data(self, start: int, end: int) -> bytes:
        """JCS bytes of ``raw_readings[start:end]``: what a commitment hashes, for disputes."""
        return canonical_json([reading.to_json() for reading in self.raw_readings[start:end]])

    def commit_raw_data(self, t: int) -> DataCommitment:
        """Commit to the raw readings accepted since the last commitment (paper §III).

        "A private chain participant can store its raw data locally, and the hash of this data
        is stored on the private chain for dispute resolution": the hash is SHA-256 of the JCS
        array of the readings, in acceptance order.
        """
        start, end = self._committed, len(self.raw_readings)
        commitment = DataCommitment.create(
            {"signature": self.key},
            data_hash=compute_hash(self.compute_raw_data(start, end)),
            owner_pk=self.key.public_hex,
            timestamp=t,
        )
        self.commitments.append((commitment, start, end))
        self._committed = end
        return commitment


# --------------------------------------------------------------------------- ground truth

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
