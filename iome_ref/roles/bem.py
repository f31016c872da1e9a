"""The building energy manager (BEM) of a smart home: device readings in, ESDPs out.

Paper §III steps 1-2: the BEM "collects the data related to future energy generation and
consumption" from the home's devices (sealed and signed readings, IOME-DATA-001..003), may
receive a weather prediction from a third party, "runs the ML algorithm on the received data to
predict the future energy generation and supply", keeps "the raw data of the devices ... in a
local storage along with the learning outcome" (committed by hash: ``DataCommitment``) and
"sends only the outcome of the learning algorithm to the public chain" as an ``ESDP``.

The reading checks live here, not in ``roles.devices``: they are the receiver's, needing the
BEM's X25519 private key, its registry of device keys and the last sequence number it accepted;
``roles.devices`` holds the sending side and the envelope format both sides share. The learning
algorithm is ``roles.forecasting``; the homes whose energy the readings measure are simulated in
``simulation.homes``, which no role can see.

No clock, no I/O: times are arguments.
"""

from __future__ import annotations

import functools
import itertools
import re
import typing
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from iome_ref.constants import MAX_SAFE_INT, SIGNATURE_LEN
from iome_ref.crypto import KeyPair, verify
from iome_ref.encoding import compute_hash, decode_json_object
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
    compute_reading_json,
    compute_reading_key,
)
from iome_ref.roles.forecasting import EnergyForecast, EnergyModel, compute_features
from iome_ref.roles.weather import HOUR_S, Weather, WeatherForecast

__all__ = [
    "BuildingEnergyManager",
    "check_reading_fresh",
    "decrypt_reading",
    "verify_reading",
]

_READING_FIELDS: Final = frozenset({"device_id", "seq", "t", "period_s", "value"})

# --------------------------------------------------------------------------- reading checks


@enforces("IOME-DATA-002")
def decrypt_reading(
    sealed: SealedReading, private_key: X25519PrivateKey, public_raw: bytes | None = None
) -> bytes:
    """Open a sealed reading: X25519 with its ephemeral key, HKDF, ChaCha20-Poly1305.

    Paper §III: "the data is encrypted with the PK of the BEM". The associated data binds the
    clear ``device_id`` and ``seq``, so moving a ciphertext to another device or sequence
    number fails here, as does any changed byte or a reading sealed to another manager.
    ``public_raw``, the raw public key of ``private_key``, spares a manager that kept it the
    derivation on every reading.

    Raises:
        Rejected: IOME-DATA-002.
    """
    try:
        ephemeral = X25519PublicKey.from_public_bytes(sealed.ephemeral_pk)
        shared = private_key.exchange(ephemeral)
        if public_raw is None:
            public_raw = private_key.public_key().public_bytes_raw()
        key = compute_reading_key(shared, sealed.ephemeral_pk, public_raw)
        aad = compute_reading_aad(sealed.device_id, sealed.seq, sealed.count)
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


#: One reading in RFC 8785 form (``compute_reading_json``): an identifier, then integers
#: without sign, leading zero or exponent (value alone may be negative, never ``-0``), of at
#: most 15 digits, so within ±MAX_SAFE_INT (16 digits) without a check; a longer one is left
#: to the general parser.
_READING_FORM: Final = (
    rb'\{"device_id":"([a-z0-9][a-z0-9-]{0,31})","period_s":([1-9][0-9]{0,14}),'
    rb'"seq":(0|[1-9][0-9]{0,14}),"t":(0|[1-9][0-9]{0,14}),"value":(0|-?[1-9][0-9]{0,14})\}'
)
_CANONICAL_READING: Final = re.compile(_READING_FORM)
_UNCAPTURED: Final = _READING_FORM.replace(b"(", b"(?:")
#: ``{"readings":[...]}`` of one or more readings in that form.
_CANONICAL_UPLOAD: Final = re.compile(
    rb'\{"readings":\[' + _UNCAPTURED + rb"(?:," + _UNCAPTURED + rb")*\]\}"
)


def _parse_canonical_readings(text: bytes, count: int) -> list[Reading] | None:
    """The readings of a plaintext written as devices write it (RFC 8785, what IOME-DATA-001
    says it is), read by pattern; None when the text is not exactly that form, and the caller
    then runs the general parser, which decides.

    Faithful: on text of this form the general parser finds these very readings (a property
    test compares both on every shape of upload and on edits of it, and at the number
    bounds); the pattern only skips its generic work (a JSON tree, duplicate-member and
    nesting checks) on the form every device sends.
    """
    whole = _CANONICAL_READING if count == 1 else _CANONICAL_UPLOAD
    if whole.fullmatch(text) is None:
        return None
    found = _CANONICAL_READING.findall(text)
    if len(found) != count:
        return None
    return [
        Reading(device_id.decode(), int(seq), int(t), int(period_s), int(value))
        for device_id, period_s, seq, t, value in found
    ]


#: What precedes the readings in an upload of several, and what follows them.
_UPLOAD_HEAD: Final = len(b'{"readings":[')
_UPLOAD_TAIL: Final = len(b"]}")


def _canonical_body(plaintext: bytes, count: int) -> bytes | None:
    """The RFC 8785 texts of the ``count`` readings of ``plaintext`` joined by commas, as
    ``compute_raw_data`` writes them, when the plaintext is in the form devices write; None
    otherwise (the texts are then written from the readings).

    Faithful: in that form (``_READING_FORM``) each reading is spelled as RFC 8785 spells the
    reading it parses to (an identifier needing no escape, integers in plain decimal), in
    upload order, between ``{"readings":[`` and ``]}``; a property test compares the two
    over every shape of upload.
    """
    whole = _CANONICAL_READING if count == 1 else _CANONICAL_UPLOAD
    if whole.fullmatch(plaintext) is None:
        return None
    return plaintext if count == 1 else plaintext[_UPLOAD_HEAD:-_UPLOAD_TAIL]


def _parse_readings(text: bytes, count: int) -> list[Reading] | None:
    """The readings the plaintext encodes: one reading object when ``count`` is 1, else
    ``{"readings": [...]}`` of exactly ``count``; None when it is anything else."""
    fast = _parse_canonical_readings(text, count)
    return fast if fast is not None else _parse_readings_general(text, count)


def _parse_readings_general(text: bytes, count: int) -> list[Reading] | None:
    """``_parse_readings`` by the strict JSON parser, for any spelling of the plaintext."""
    try:
        data = decode_json_object(text)
    except IoMEError:
        return None
    if count == 1:
        items: Any = [data]
    else:
        items = data.get("readings") if set(data) == {"readings"} else None
        if not isinstance(items, list) or len(items) != count:
            return None
    readings = [_parse_reading(item) for item in items]
    return None if None in readings else typing.cast("list[Reading]", readings)


def _parse_reading(data: Any) -> Reading | None:
    """The reading one decoded object encodes, or None when it is not exactly a reading."""
    if not isinstance(data, dict) or set(data) != _READING_FIELDS:
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
def verify_reading(
    sealed: SealedReading, payload: bytes, registered_pk: str | None
) -> list[Reading]:
    """Accept decrypted readings only if their device, registered with this BEM, signed them.

    Paper §III: "Each device signs the hash of the exchanged data that protects data
    integrity." ``payload`` is plaintext || 64-byte signature (tag ``Reading`` over the
    SHA-256 hex of the plaintext); the signed readings must name the device and the sequence
    numbers of their envelope (``seq``, ``seq + 1``, ... for an upload of ``count``), or a
    device could vouch for another's slot.

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
    readings = _parse_readings(plaintext, sealed.count)
    if readings is None:
        raise Rejected(
            "IOME-DATA-001",
            f"plaintext: expected {sealed.count} signed reading object(s) of the envelope",
        )
    for offset, reading in enumerate(readings):
        if (reading.device_id, reading.seq) != (sealed.device_id, sealed.seq + offset):
            raise Rejected(
                "IOME-DATA-001",
                f"reading: expected device {sealed.device_id!r} seq {sealed.seq + offset!r} of "
                f"the envelope, found {reading.device_id!r} seq {reading.seq}",
            )
    return readings


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


# --------------------------------------------------------------------------- the manager


@functools.lru_cache(maxsize=256)
def _window_features(part: Weather) -> npt.NDArray[np.float64]:
    """Feature rows of the hours of ``part`` (read-only).

    A pure function of the weather it is given, so it is computed once per forecast window and
    region however many homes of the region forecast from the same provider's forecast: each
    BEM still receives, verifies and uses that forecast itself.
    """
    rows = compute_features(
        range(part.start, part.end, HOUR_S),
        np.asarray(part.temperature_dc, dtype=np.float64) / 10.0,
        part.irradiance_w_m2,
    )
    rows.flags.writeable = False
    return rows


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
        self._public_raw = self.public_key.public_bytes_raw()
        self.model = model if model is not None else EnergyModel()
        self.weather_keep_s = weather_keep_s
        #: Raw readings accepted, in order: the local storage of paper §III.
        self.raw_readings: list[Reading] = []
        #: Learning outcomes, in order.
        self.forecasts: list[EnergyForecast] = []
        #: Commitments made, with the slice of ``raw_readings`` each covers.
        self.commitments: list[tuple[DataCommitment, int, int]] = []
        #: The RFC 8785 texts of the readings of each upload kept in the form devices write
        #: (``_canonical_body``), by the index of its first reading in ``raw_readings``: the
        #: index after its last, and the texts. ``compute_raw_data`` joins them instead of
        #: writing every reading again.
        self._bodies: dict[int, tuple[int, bytes]] = {}
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
        """Open, authenticate and de-duplicate a sealed reading, then keep it; for an upload
        of several, keep them all and return the last.

        Raises:
            Rejected: IOME-DATA-002 (decryption), IOME-DATA-001 (signature, registration),
                IOME-DATA-003 (replay), in that order.
        """
        return self.on_upload(sealed)[-1]

    def on_upload(self, sealed: SealedReading) -> list[Reading]:
        """Open, authenticate and de-duplicate an upload, then keep every reading of it, in
        order; all or none (a refusal keeps nothing).

        Raises:
            Rejected: IOME-DATA-002, IOME-DATA-001, IOME-DATA-003, in that order.
        """
        payload = decrypt_reading(sealed, self._x25519, self._public_raw)
        device = self._devices.get(sealed.device_id)
        readings = verify_reading(sealed, payload, device.public_hex if device else None)
        assert device is not None  # verify_reading refuses unregistered devices
        # Consecutive from the envelope's seq (IOME-DATA-001), so the first decides freshness.
        check_reading_fresh(readings[0], self._last_seq.get(sealed.device_id))
        self._last_seq[sealed.device_id] = readings[-1].seq
        first = len(self.raw_readings)
        for reading in readings:
            self._keep(device, reading)
        body = _canonical_body(payload[:-SIGNATURE_LEN], sealed.count)
        if body is not None:
            self._bodies[first] = (len(self.raw_readings), body)
        return readings

    def _keep(self, device: _Device, reading: Reading) -> None:
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
        """Turn every pending period that ended by ``before`` into a model sample.

        The periods' feature rows are computed in one ``compute_features`` call over all their
        hours (elementwise, so each row is the one a call per period gave), a period of
        several hours averaged over its slice as before, and added in period order: the very
        samples a period at a time gave (tested bit for bit), for one numpy pass instead of
        one per period (the simulation meters hourly, so a row is a period's sample).
        """
        done = sorted(key for key in self._pending if key[0] <= before)
        hour_starts: list[int] = []
        temperature_c: list[float] = []
        irradiance: list[int] = []
        counts: list[int] = []
        targets: list[tuple[float, float]] = []
        for t, period_s in done:
            period = self._pending.pop((t, period_s))
            start = t - period_s
            hours = range(start - start % HOUR_S, t, HOUR_S)
            known = [self._weather.get(h) for h in hours]
            if period.energy_readings == 0 or not known or None in known:
                continue
            weather = typing.cast("list[tuple[int, int]]", known)
            hour_starts.extend(hours)
            irradiance.extend(w[0] for w in weather)
            if period.temperature_n:
                measured = period.temperature_dc_sum / period.temperature_n / 10.0
                temperature_c.extend([measured] * len(weather))
            else:
                temperature_c.extend(w[1] / 10.0 for w in weather)
            counts.append(len(weather))
            scale = HOUR_S / period_s
            targets.append((period.supply_wh * scale, period.demand_wh * scale))
        if counts:
            rows = compute_features(hour_starts, temperature_c, irradiance)
            if len(counts) < len(rows):  # some period spans hours: the mean of its rows
                ends = itertools.accumulate(counts)
                slices = zip(counts, ends, strict=True)
                rows = np.array([rows[end - n : end].mean(axis=0) for n, end in slices])
            for row, (supply, demand) in zip(rows, targets, strict=True):
                self.model.add(row, supply, demand)
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
        rows = _window_features(series.window(window_start, window_end))
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
        # RFC 8785 of an array: its members' canonical bytes, joined (compute_reading_json);
        # whole uploads kept in that form give theirs as received (``_bodies``).
        bodies = self._kept_bodies(start, end)
        if bodies is None:
            return f"[{','.join(map(compute_reading_json, self.raw_readings[start:end]))}]".encode()
        return b"[" + b",".join(bodies) + b"]"

    def _kept_bodies(self, start: int, end: int) -> list[bytes] | None:
        """The kept texts of the uploads that make up ``raw_readings[start:end]`` exactly, or
        None (a slice counted from the end or past it, or not made of whole kept uploads)."""
        if start < 0 or not 0 <= end <= len(self.raw_readings):
            return None
        bodies, at = [], start
        while at < end:
            kept = self._bodies.get(at)
            if kept is None or kept[0] > end:
                return None
            at, body = kept
            bodies.append(body)
        return bodies

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
