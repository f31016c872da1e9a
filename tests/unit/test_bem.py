"""Building energy manager and its weather provider (paper §III 1-2): readings in, ESDPs out."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from hypothesis import given
from hypothesis import strategies as st

from iome_ref.chain.ledger import Ledger
from iome_ref.chain.store import MemoryStore
from iome_ref.constants import CHAIN_CHILD, CHAIN_PUBLIC, MAX_SAFE_INT
from iome_ref.crypto import KeyPair
from iome_ref.encoding import canonical_json, compute_hash
from iome_ref.errors import IoMEError, Rejected, UsageError
from iome_ref.roles.bem import (
    BuildingEnergyManager,
    _canonical_body,
    _parse_canonical_readings,
    _parse_readings_general,
)
from iome_ref.roles.devices import (
    IoTDevice,
    Reading,
    SealedReading,
    compute_reading_aad,
    compute_reading_json,
    compute_reading_key,
    compute_upload_plaintext,
    derive_x25519_private,
)
from iome_ref.roles.forecasting import EnergyModel, compute_features
from iome_ref.roles.weather import (
    Climate,
    Weather,
    WeatherForecast,
    WeatherProvider,
    co_sign_record,
)
from iome_ref.vectors.builders import ChainCursor
from iome_ref.vectors.world import T0, build_world

DAY = 86_400
T = T0 + DAY  # the simulation's t0: midnight UTC


def _bem(model: EnergyModel | None = None) -> BuildingEnergyManager:
    return BuildingEnergyManager(
        "home-1",
        "r0",
        KeyPair.derive("test", "bem"),
        derive_x25519_private("test", "bem"),
        model=model,
    )


def _device(bem: BuildingEnergyManager, kind: str = "load", register: bool = True) -> IoTDevice:
    device = IoTDevice(f"home-1-{kind}", KeyPair.derive("test", "dev", kind), kind)  # type: ignore[arg-type]
    if register:
        bem.register_device(device.device_id, device.public_hex, device.kind)
    return device


def _sealed(bem: BuildingEnergyManager, device: IoTDevice, t: int = T + 3600) -> SealedReading:
    return device.seal(device.reading(t, 3600, 400), bem.public_key, random.Random(t))


def _seal_payload(
    payload: bytes, device_id: str, seq: int, recipient: X25519PublicKey
) -> SealedReading:
    """Seal arbitrary bytes as the devices do, to forge what a device never would."""
    ephemeral = X25519PrivateKey.from_private_bytes(bytes([7]) * 32)
    epk = ephemeral.public_key().public_bytes_raw()
    key = compute_reading_key(ephemeral.exchange(recipient), epk, recipient.public_bytes_raw())
    nonce = bytes(12)
    ciphertext = ChaCha20Poly1305(key).encrypt(nonce, payload, compute_reading_aad(device_id, seq))
    return SealedReading(device_id, seq, epk, nonce, ciphertext)


def _refused(call: Callable[[], object]) -> Rejected:
    with pytest.raises(Rejected) as exc:
        call()
    return exc.value


# --------------------------------------------------------------------------- IOME-DATA-001


@pytest.mark.req("IOME-DATA-001", "IOME-DATA-002", "IOME-DATA-003")
def test_accepts_reading_from_registered_device() -> None:
    bem = _bem()
    device = _device(bem)
    reading = bem.on_reading(_sealed(bem, device))
    assert reading == Reading("home-1-load", 0, T + 3600, 3600, 400)
    assert bem.raw_readings == [reading]


@pytest.mark.req("IOME-DATA-001")
def test_rejects_reading_from_unregistered_device() -> None:
    bem = _bem()
    device = _device(bem, register=False)
    exc = _refused(lambda: bem.on_reading(_sealed(bem, device)))
    assert exc.req_id == "IOME-DATA-001"
    assert bem.raw_readings == []


@pytest.mark.req("IOME-DATA-001")
def test_rejects_reading_signed_by_another_key() -> None:
    bem = _bem()
    _device(bem)
    impostor = IoTDevice("home-1-load", KeyPair.derive("test", "impostor"), "load")
    exc = _refused(lambda: bem.on_reading(_sealed(bem, impostor)))
    assert exc.req_id == "IOME-DATA-001"


@pytest.mark.req("IOME-DATA-001")
def test_rejects_signed_reading_moved_to_another_envelope() -> None:
    bem = _bem()
    device = _device(bem)
    reading = device.reading(T + 3600, 3600, 400)
    signature = device.sign(reading)
    # A genuine signed reading (seq 0) re-sealed under seq 5: decryption succeeds, but the
    # signed content names another slot than its envelope.
    forged = _seal_payload(reading.plaintext() + signature, device.device_id, 5, bem.public_key)
    exc = _refused(lambda: bem.on_reading(forged))
    assert exc.req_id == "IOME-DATA-001"


NOT_READINGS = [
    b"not json",
    b'{"device_id":"home-1-load","seq":0}',
    b'{"device_id":"home-1-load","period_s":3600,"seq":0,"t":1,"value":1.5}',
    b'{"device_id":"home-1-load","period_s":3600,"seq":0,"t":1,"value":true}',
    b"",
]


@pytest.mark.req("IOME-DATA-001")
@pytest.mark.parametrize("plaintext", NOT_READINGS)
def test_rejects_signed_plaintext_that_is_not_a_reading(plaintext: bytes) -> None:
    bem = _bem()
    device = _device(bem)
    signature = bytes.fromhex(device.key.sign("Reading", compute_hash(plaintext)))
    forged = _seal_payload(plaintext + signature, device.device_id, 0, bem.public_key)
    exc = _refused(lambda: bem.on_reading(forged))
    assert exc.req_id == "IOME-DATA-001"


# --------------------------------------------------------------------------- IOME-DATA-002


@pytest.mark.req("IOME-DATA-002")
def test_rejects_tampered_ciphertext() -> None:
    bem = _bem()
    sealed = _sealed(bem, _device(bem))
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    tampered = SealedReading(
        sealed.device_id, sealed.seq, sealed.ephemeral_pk, sealed.nonce, flipped
    )
    assert _refused(lambda: bem.on_reading(tampered)).req_id == "IOME-DATA-002"


@pytest.mark.req("IOME-DATA-002")
@pytest.mark.parametrize(("device_id", "seq"), [("home-1-solar", 0), ("home-1-load", 1)])
def test_rejects_changed_associated_data(device_id: str, seq: int) -> None:
    bem = _bem()
    _device(bem, "solar")
    sealed = _sealed(bem, _device(bem))
    moved = SealedReading(device_id, seq, sealed.ephemeral_pk, sealed.nonce, sealed.ciphertext)
    assert _refused(lambda: bem.on_reading(moved)).req_id == "IOME-DATA-002"


@pytest.mark.req("IOME-DATA-002")
def test_rejects_reading_sealed_to_another_manager() -> None:
    bem = _bem()
    other = BuildingEnergyManager(
        "home-2", "r0", KeyPair.derive("test", "bem2"), derive_x25519_private("test", "bem2")
    )
    device = _device(bem)
    sealed = device.seal(device.reading(T, 3600, 1), other.public_key, random.Random(1))
    assert _refused(lambda: bem.on_reading(sealed)).req_id == "IOME-DATA-002"


@pytest.mark.req("IOME-DATA-002")
@pytest.mark.parametrize("field", ["ephemeral_pk", "nonce", "ciphertext"])
def test_rejects_malformed_envelope(field: str) -> None:
    bem = _bem()
    sealed = _sealed(bem, _device(bem))
    changes: dict[str, Any] = {field: b"\x00" * 3}
    broken = replace(sealed, **changes)
    assert _refused(lambda: bem.on_reading(broken)).req_id == "IOME-DATA-002"


@pytest.mark.req("IOME-DATA-002")
def test_rejects_small_order_ephemeral_key() -> None:
    bem = _bem()
    sealed = _sealed(bem, _device(bem))
    zero = SealedReading(sealed.device_id, sealed.seq, bytes(32), sealed.nonce, sealed.ciphertext)
    assert _refused(lambda: bem.on_reading(zero)).req_id == "IOME-DATA-002"


# --------------------------------------------------------------------------- IOME-DATA-003


@pytest.mark.req("IOME-DATA-003")
def test_rejects_replayed_reading() -> None:
    bem = _bem()
    sealed = _sealed(bem, _device(bem))
    bem.on_reading(sealed)
    exc = _refused(lambda: bem.on_reading(sealed))
    assert exc.req_id == "IOME-DATA-003"
    assert len(bem.raw_readings) == 1


@pytest.mark.req("IOME-DATA-003")
def test_rejects_reading_older_than_the_last_accepted() -> None:
    bem = _bem()
    device = _device(bem)
    first = _sealed(bem, device, T + 3600)
    second = _sealed(bem, device, T + 7200)
    bem.on_reading(second)
    assert _refused(lambda: bem.on_reading(first)).req_id == "IOME-DATA-003"


@pytest.mark.req("IOME-DATA-003")
def test_accepts_increasing_sequence_and_restart_after_key_change() -> None:
    bem = _bem()
    device = _device(bem)
    for hour in range(1, 4):
        bem.on_reading(_sealed(bem, device, T + hour * 3600))
    replacement = IoTDevice("home-1-load", KeyPair.derive("test", "new meter"), "load")
    bem.register_device(replacement.device_id, replacement.public_hex, "load")
    assert bem.on_reading(_sealed(bem, replacement, T + 5 * 3600)).seq == 0


@pytest.mark.req("IOME-DATA-002")
def test_rejects_tampered_replay_as_undecryptable_first() -> None:
    bem = _bem()
    sealed = _sealed(bem, _device(bem))
    bem.on_reading(sealed)
    tampered = SealedReading(
        sealed.device_id, sealed.seq, sealed.ephemeral_pk, sealed.nonce, sealed.ciphertext[:-1]
    )
    assert _refused(lambda: bem.on_reading(tampered)).req_id == "IOME-DATA-002"


# --------------------------------------------------------------------------- BEM forecasts


def _weather(start: int, hours: int, irradiance: int = 500, temp_dc: int = 100) -> Weather:
    return Weather("r0", start, (irradiance,) * hours, (temp_dc,) * hours)


def test_accepts_forecast_adding_ev_arrivals_from_the_od_matrix() -> None:
    bem = _bem()
    weather = _weather(T, 6)
    base = bem.forecast(T, T + 6 * 3600, weather, 0)
    with_ev = bem.forecast(T, T + 6 * 3600, weather, 12_000)
    assert with_ev == (base[0], base[1] + 12_000)
    assert base == (0, 3000)  # the prior: 0 supply, 500 Wh per hour of demand, 6 hours
    assert bem.forecasts[-1].ev_wh == 12_000


def test_accepts_forecast_learning_from_sealed_readings() -> None:
    """Readings that follow a known relation, sent through the sealed path, are learned."""
    bem = _bem(EnergyModel(ridge=0.0))
    solar, load, thermostat = (_device(bem, kind) for kind in ("solar", "load", "thermostat"))
    rng = np.random.default_rng(5)
    nonce = random.Random(5)
    for day in range(3):
        start = T + day * DAY
        irradiance = tuple(int(x) for x in rng.integers(0, 900, 24))
        temps = tuple(int(x) for x in rng.integers(-50, 250, 24))
        weather = Weather("r0", start, irradiance, temps)
        bem.forecast(start, start + DAY, weather)
        for hour in range(24):
            t = start + (hour + 1) * 3600
            row = compute_features([t - 3600], [temps[hour] / 10.0], [irradiance[hour]])[0]
            demand = 600.0 + 150.0 * row[1] - 10.0 * row[5]
            for device, value in (
                (solar, round(5.0 * irradiance[hour])),
                (load, round(demand)),
                (thermostat, temps[hour]),
            ):
                sealed = device.seal(device.reading(t, 3600, value), bem.public_key, nonce)
                bem.on_reading(sealed)
    start = T + 3 * DAY
    weather = _weather(start, 6, irradiance=400, temp_dc=50)
    supply, demand = bem.forecast(start, start + 6 * 3600, weather)
    rows = compute_features(range(start, start + 6 * 3600, 3600), [5.0] * 6, [400] * 6)
    assert supply == pytest.approx(6 * 5.0 * 400, abs=3)
    assert demand == pytest.approx(sum(600.0 + 150.0 * r[1] - 10.0 * r[5] for r in rows), abs=6)
    assert bem.model.samples == 72  # every hour of days 0-2 ended by the window's start


def test_rejects_forecast_window_not_covered_by_weather() -> None:
    with pytest.raises(UsageError) as exc:
        _bem().forecast(T, T + 7 * 3600, _weather(T, 6))
    assert exc.value.component == "bem"


def test_accepts_esdp_and_commitment_on_their_chains() -> None:
    world = build_world(1)
    ledger = Ledger(MemoryStore(), world.context())
    ledger.add_chain("public", CHAIN_PUBLIC)
    ledger.add_chain("fleet", CHAIN_CHILD)
    cursor = ChainCursor()
    bem = _bem()
    device = _device(bem)
    for hour in (1, 2):
        bem.on_reading(_sealed(bem, device, T + hour * 3600))
    supply, demand = bem.forecast(T + 3 * 3600, T + 9 * 3600, _weather(T, 12))
    esdp = bem.publish_esdp(T + 3 * 3600, T + 9 * 3600, supply, demand, T + 3 * 3600)
    provider = WeatherProvider(KeyPair.derive("test", "weather"), Climate(1))
    forecast = provider.forecast("r0", T + 3 * 3600, random.Random(1))
    bem.on_forecast(forecast)
    record = co_sign_record(forecast.message_hash, bem.key, provider.key, T + 3 * 3600)
    commitment = bem.commit_raw_data(T + 3 * 3600)
    producer = world.key("producer")
    ledger.submit(cursor.next_block(producer, "public", [esdp, record], T + 3 * 3600))
    ledger.submit(cursor.next_block(producer, "fleet", [commitment], T + 3 * 3600))
    assert esdp.issuer_role == "bem"
    assert (esdp.region, esdp.supply_wh, esdp.demand_wh) == ("r0", supply, demand)
    assert record.party_a_pk == bem.key.public_hex
    assert record.party_b_pk == provider.key.public_hex


def _jcs_reading(seq: int, t: int) -> str:
    """A load reading of 400 Wh as RFC 8785 writes it, spelled out: members sorted by name."""
    return f'{{"device_id":"home-1-load","period_s":3600,"seq":{seq},"t":{t},"value":400}}'


def test_accepts_commitments_over_readings_since_the_last_one() -> None:
    bem = _bem()
    device = _device(bem)
    for hour in (1, 2):
        bem.on_reading(_sealed(bem, device, T + hour * 3600))
    first = bem.commit_raw_data(T + 3 * 3600)
    expected = f"[{_jcs_reading(0, T + 3600)},{_jcs_reading(1, T + 7200)}]".encode()
    assert first.data_hash == compute_hash(expected)
    bem.on_reading(_sealed(bem, device, T + 4 * 3600))
    second = bem.commit_raw_data(T + 5 * 3600)
    assert second.data_hash == compute_hash(f"[{_jcs_reading(2, T + 4 * 3600)}]".encode())
    empty = bem.commit_raw_data(T + 6 * 3600)
    assert empty.data_hash == compute_hash(b"[]")
    assert [(s, e) for _, s, e in bem.commitments] == [(0, 2), (2, 3), (3, 3)]
    assert bem.compute_raw_data(0, 2) == expected


# --------------------------------------------------------------------------- weather


def test_accepts_climate_independent_of_query_order() -> None:
    one, two = Climate(3), Climate(3)
    whole = one.actual("r1", T, 48)
    first = two.actual("r1", T + DAY, 24)
    second = two.actual("r1", T, 24)
    assert whole.irradiance_w_m2 == second.irradiance_w_m2 + first.irradiance_w_m2
    assert whole.temperature_dc == second.temperature_dc + first.temperature_dc
    assert Climate(4).actual("r1", T, 48) != whole
    assert one.actual("r2", T, 48) != whole


def test_accepts_climate_dark_at_night_and_bounded() -> None:
    weather = Climate(1).actual("r0", T, 24 * 30)
    irradiance = np.asarray(weather.irradiance_w_m2).reshape(30, 24)
    assert irradiance.min() >= 0
    assert irradiance.max() <= 1000
    assert irradiance[:, 0].max() == 0  # 00:00-01:00 UTC
    assert irradiance[:, 12].min() > 0  # noon


def test_accepts_signed_forecast_and_same_seed_same_bytes() -> None:
    provider = WeatherProvider(KeyPair.derive("test", "weather"), Climate(2))
    first = provider.forecast("r0", T + 1800, random.Random(3), hours=6)
    assert first.weather.start == T
    assert first.issued_at == T + 1800
    first.verify()
    assert provider.forecast("r0", T + 1800, random.Random(3), hours=6) == first
    assert provider.forecast("r0", T + 1800, random.Random(4), hours=6) != first


def test_rejects_tampered_forecast() -> None:
    bem = _bem()
    provider = WeatherProvider(KeyPair.derive("test", "weather"), Climate(2))
    forecast = provider.forecast("r0", T, random.Random(3))
    warmer = replace(
        forecast.weather, temperature_dc=tuple(t + 50 for t in forecast.weather.temperature_dc)
    )
    tampered = WeatherForecast(warmer, forecast.issued_at, forecast.provider_pk, forecast.signature)
    with pytest.raises(Rejected) as exc:
        bem.on_forecast(tampered)
    assert exc.value.req_id == "IOME-SIG-001"


def test_rejects_external_record_with_one_party() -> None:
    key = KeyPair.derive("test", "both")
    with pytest.raises(UsageError, match="two distinct parties") as exc:
        co_sign_record("0" * 64, key, key, T)
    assert exc.value.component == "weather"


# --------------------------------------------------------------------------- uploads


def _upload(bem: BuildingEnergyManager, device: IoTDevice, hours: int = 3) -> SealedReading:
    readings = [device.reading(T + h * 3600, 3600, 100 * h) for h in range(1, hours + 1)]
    return device.seal_upload(readings, bem.public_key, random.Random(hours))


@pytest.mark.req("IOME-DATA-001", "IOME-DATA-002", "IOME-DATA-003")
def test_accepts_upload_of_consecutive_readings_keeping_them_all() -> None:
    bem = _bem()
    device = _device(bem)
    sealed = _upload(bem, device)
    assert (sealed.seq, sealed.count) == (0, 3)
    readings = bem.on_upload(sealed)
    assert readings == [
        Reading("home-1-load", h - 1, T + h * 3600, 3600, 100 * h) for h in (1, 2, 3)
    ]
    assert bem.raw_readings == readings
    later = device.seal(device.reading(T + 4 * 3600, 3600, 1), bem.public_key, random.Random(0))
    assert bem.on_reading(later).seq == 3
    assert _refused(lambda: bem.on_upload(sealed)).req_id == "IOME-DATA-003"  # replayed
    assert len(bem.raw_readings) == 4


@pytest.mark.req("IOME-DATA-002")
@pytest.mark.parametrize("count", [1, 2, 4])
def test_rejects_upload_with_another_count(count: int) -> None:
    bem = _bem()
    sealed = _upload(bem, _device(bem))
    assert _refused(lambda: bem.on_upload(replace(sealed, count=count))).req_id == "IOME-DATA-002"
    assert bem.raw_readings == []


def _signed_upload(device: IoTDevice, items: list[dict[str, Any]]) -> bytes:
    plaintext = canonical_json({"readings": items})
    signature = device.key.sign("Reading", compute_hash(plaintext))
    return plaintext + bytes.fromhex(signature)


def _seal_upload_payload(
    payload: bytes, device_id: str, seq: int, count: int, recipient: X25519PublicKey
) -> SealedReading:
    ephemeral = X25519PrivateKey.from_private_bytes(bytes([9]) * 32)
    epk = ephemeral.public_key().public_bytes_raw()
    key = compute_reading_key(ephemeral.exchange(recipient), epk, recipient.public_bytes_raw())
    aad = compute_reading_aad(device_id, seq, count)
    ciphertext = ChaCha20Poly1305(key).encrypt(bytes(12), payload, aad)
    return SealedReading(device_id, seq, epk, bytes(12), ciphertext, count)


@pytest.mark.req("IOME-DATA-001")
def test_rejects_signed_upload_not_matching_its_envelope() -> None:
    """A device's genuine signature over readings that are not the envelope's slots: seqs not
    consecutive, another device's id, fewer or more readings than the count, not a list."""
    bem = _bem()
    device = _device(bem)

    def item(seq: int, device_id: str = device.device_id) -> dict[str, Any]:
        return {"device_id": device_id, "seq": seq, "t": T + 3600, "period_s": 3600, "value": 1}

    cases: list[tuple[list[dict[str, Any]] | Any, int]] = [
        ([item(0), item(2)], 2),
        ([item(0), item(1, "home-1-solar")], 2),
        ([item(0), item(1)], 3),
        ([item(0), item(1), item(2)], 2),
        ([item(0), {**item(1), "value": 1.5}], 2),
    ]
    for items, count in cases:
        sealed = _seal_upload_payload(
            _signed_upload(device, items), device.device_id, 0, count, bem.public_key
        )
        assert _refused(lambda s=sealed: bem.on_upload(s)).req_id == "IOME-DATA-001", items
    not_a_list = canonical_json({"readings": {"a": 1}})
    payload = not_a_list + bytes.fromhex(device.key.sign("Reading", compute_hash(not_a_list)))
    sealed = _seal_upload_payload(payload, device.device_id, 0, 2, bem.public_key)
    assert _refused(lambda: bem.on_upload(sealed)).req_id == "IOME-DATA-001"
    extra = canonical_json({"readings": [item(0), item(1)], "more": 1})
    payload = extra + bytes.fromhex(device.key.sign("Reading", compute_hash(extra)))
    sealed = _seal_upload_payload(payload, device.device_id, 0, 2, bem.public_key)
    assert _refused(lambda: bem.on_upload(sealed)).req_id == "IOME-DATA-001"
    assert bem.raw_readings == []
    good = _seal_upload_payload(
        _signed_upload(device, [item(0), item(1)]), device.device_id, 0, 2, bem.public_key
    )
    assert [r.seq for r in bem.on_upload(good)] == [0, 1]


@pytest.mark.req("IOME-DATA-003")
def test_rejects_upload_overlapping_accepted_readings() -> None:
    bem = _bem()
    device = _device(bem)
    bem.on_upload(_upload(bem, device, hours=2))  # seqs 0, 1
    readings = [device.reading(T + h * 3600, 3600, 5) for h in (3, 4)]  # seqs 2, 3
    overlapping = [replace(readings[0], seq=1), replace(readings[1], seq=2)]
    sealed = device.seal_upload(overlapping, bem.public_key, random.Random(1))
    assert _refused(lambda: bem.on_upload(sealed)).req_id == "IOME-DATA-003"
    assert [r.seq for r in bem.raw_readings] == [0, 1]


def test_rejects_sealing_an_upload_that_is_not_one_devices_consecutive_readings() -> None:
    bem = _bem()
    device, other = _device(bem), _device(bem, "solar")
    first, second = device.reading(T + 3600, 3600, 1), device.reading(T + 7200, 3600, 1)
    rng = random.Random(0)
    for readings in ([], [first, first], [second, first], [first, other.reading(T, 3600, 1)]):
        with pytest.raises(UsageError) as exc:
            device.seal_upload(readings, bem.public_key, rng)
        assert exc.value.component == "device"
    assert device.seal_upload([first, second], bem.public_key, rng).count == 2


# --------------------------------------------------------------------------- reading the form


_ID = st.from_regex(r"[a-z0-9][a-z0-9-]{0,31}", fullmatch=True)
_INT = st.one_of(st.integers(-MAX_SAFE_INT - 2, MAX_SAFE_INT + 2), st.sampled_from([0, 1, -1]))
_READINGS = st.lists(
    st.builds(Reading, st.one_of(_ID, st.text(max_size=4)), _INT, _INT, _INT, _INT),
    min_size=1,
    max_size=5,
)


def _plaintext_or_none(readings: list[Reading]) -> bytes | None:
    try:
        return compute_upload_plaintext(readings)
    except IoMEError:  # beyond the safe range: no device writes it
        return None


@given(_READINGS, st.data())
def test_accepts_canonical_reading_pattern_as_the_general_parser(
    readings: list[Reading], data: st.DataObject
) -> None:
    """The pattern read of a device's plaintext finds what the strict parser finds, and on any
    edit of it (a byte changed, added or dropped) either the same or nothing, leaving the
    verdict to the strict parser: the fast path never accepts what the general one refuses."""
    text = _plaintext_or_none(readings)
    if text is None:
        return
    count = len(readings)
    general = _parse_readings_general(text, count)
    fast = _parse_canonical_readings(text, count)
    assert fast is None or fast == general
    valid = all(
        r.device_id == r.device_id.lower()
        and min(r.seq, r.t) >= 0
        and r.period_s >= 1
        and _ID_FORM.fullmatch(r.device_id)
        for r in readings
    )
    if valid:
        assert fast == general == readings
    at = data.draw(st.integers(0, len(text)))
    byte = data.draw(st.binary(min_size=0, max_size=1))
    for edited in (text[:at] + byte + text[at + 1 :], text[:at] + byte + text[at:]):
        for n in (count, count + 1):
            fast = _parse_canonical_readings(edited, n)
            assert fast is None or fast == _parse_readings_general(edited, n)


_ID_FORM = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


def _joined(readings: list[Reading]) -> bytes:
    """What compute_raw_data writes between the brackets, by the definition."""
    return ",".join(map(compute_reading_json, readings)).encode()


@given(_READINGS, st.data())
def test_accepts_canonical_body_as_the_readings_rfc8785_texts(
    readings: list[Reading], data: st.DataObject
) -> None:
    """The texts a BEM keeps from an upload in device form (issue 16: compute_raw_data joins
    them instead of writing each reading again) are the RFC 8785 texts of the readings the
    strict parser finds in it, for a device's plaintext and any edit of it; text not in that
    form gives none."""
    text = _plaintext_or_none(readings)
    if text is None:
        return
    count = len(readings)
    at = data.draw(st.integers(0, len(text)))
    byte = data.draw(st.binary(min_size=0, max_size=1))
    for edited in (text, text[:at] + byte + text[at + 1 :], text[:at] + byte + text[at:]):
        for n in (count, count + 1):
            body = _canonical_body(edited, n)
            if body is not None:
                parsed = _parse_readings_general(edited, n)
                assert parsed is not None
                assert body == _joined(parsed)
    spelled = json.dumps({"readings": [r.to_json() for r in readings]}).encode()
    assert _canonical_body(spelled, count) is None


def test_accepts_commitments_over_device_uploads_without_writing_readings_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 16's claim for commitments: over uploads in the form devices write (of one
    reading and of several) the BEM joins the texts it received, writing no reading again,
    for whole uploads from the first to the last; the bytes are those of the definition."""
    bem = _bem()
    device = _device(bem)
    hour = 0
    for size in (1, 3, 2):
        batch = [device.reading(T + (hour + k + 1) * 3600, 3600, 7 * hour + k) for k in range(size)]
        hour += size
        bem.on_upload(device.seal_upload(batch, bem.public_key, random.Random(hour)))
    slices = [(0, 6), (0, 1), (1, 4), (4, 6), (1, 6), (0, 0), (6, 6)]
    expected = {(a, b): b"[" + _joined(bem.raw_readings[a:b]) + b"]" for a, b in slices}

    def written_again(reading: Reading) -> str:
        raise AssertionError(f"reading {reading.seq} written again")

    monkeypatch.setattr("iome_ref.roles.bem.compute_reading_json", written_again)
    for a, b in slices:
        assert bem.compute_raw_data(a, b) == expected[a, b]
    commitment = bem.commit_raw_data(T + 7 * 3600)
    assert commitment.data_hash == compute_hash(expected[0, 6])


@given(
    sizes=st.lists(st.integers(1, 4), min_size=1, max_size=5),
    spelled=st.lists(st.booleans(), min_size=5, max_size=5),
)
def test_accepts_raw_data_of_any_slice_as_its_definition(
    sizes: list[int], spelled: list[bool]
) -> None:
    """compute_raw_data of every slice, bounds in or out of range and across uploads received
    in device form or spelled otherwise, is the RFC 8785 array of the readings kept."""
    bem = _bem()
    device = _device(bem)
    hour = 0
    for size, other in zip(sizes, spelled, strict=False):
        batch = [
            device.reading(T + (hour + k + 1) * 3600, 3600, 10 * hour + k) for k in range(size)
        ]
        hour += size
        if other:
            items = [r.to_json() for r in batch]
            plaintext = json.dumps(items[0] if size == 1 else {"readings": items}).encode()
            signature = bytes.fromhex(device.key.sign("Reading", compute_hash(plaintext)))
            sealed = _seal_upload_payload(
                plaintext + signature, device.device_id, batch[0].seq, size, bem.public_key
            )
        else:
            sealed = device.seal_upload(batch, bem.public_key, random.Random(hour))
        bem.on_upload(sealed)
    n = len(bem.raw_readings)
    for start in range(-2, n + 3):
        for end in range(-2, n + 3):
            expected = b"[" + _joined(bem.raw_readings[start:end]) + b"]"
            assert bem.compute_raw_data(start, end) == expected


@pytest.mark.req("IOME-DATA-001")
def test_accepts_signed_upload_spelled_otherwise_by_the_general_parser() -> None:
    """A plaintext that is JSON of the readings but not in RFC 8785 form (spaces, members out
    of order) is read by the strict parser, as before the pattern was added."""
    bem = _bem()
    device = _device(bem)
    items = [
        {"value": 7, "t": T + h * 3600, "seq": h - 1, "period_s": 3600, "device_id": "home-1-load"}
        for h in (1, 2)
    ]
    plaintext = json.dumps({"readings": items}).encode()
    payload = plaintext + bytes.fromhex(device.key.sign("Reading", compute_hash(plaintext)))
    sealed = _seal_upload_payload(payload, device.device_id, 0, 2, bem.public_key)
    assert bem.on_upload(sealed) == [
        Reading("home-1-load", h - 1, T + h * 3600, 3600, 7) for h in (1, 2)
    ]


@pytest.mark.parametrize(
    ("field", "number"),
    [
        (field, number)
        for field in ("period_s", "seq", "t", "value")
        for number in ("9007199254740991", "9007199254740992", "-9007199254740992", "0", "-0")
    ]
    + [("value", "-9007199254740991"), ("seq", "01"), ("t", "1.0"), ("value", "1e3")],
)
def test_accepts_canonical_reading_pattern_at_the_number_bounds(field: str, number: str) -> None:
    """At and beyond ±MAX_SAFE_INT, at 0 and its odd spellings, the pattern read is the
    strict parser's (or leaves the text to it)."""
    fields = {"device_id": '"home-1-load"', "period_s": "3600", "seq": "2", "t": "7200"}
    fields["value"] = "5"
    fields[field] = number
    one = "{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}"
    for text, count in ((one, 1), (f'{{"readings":[{one},{one}]}}', 2)):
        fast = _parse_canonical_readings(text.encode(), count)
        assert fast is None or fast == _parse_readings_general(text.encode(), count)


def test_accepts_learning_of_many_periods_at_once_as_one_at_a_time() -> None:
    """Periods of one and of several hours, with and without a thermostat reading, learned in
    one pass give the samples (bit for bit) that averaging each period's rows alone gave."""
    bem = _bem(EnergyModel(ridge=0.0, min_samples=2))
    load, thermostat = _device(bem, "load"), _device(bem, "thermostat")
    rng = random.Random(3)
    weather = Weather(
        "r0", T, tuple(rng.randrange(0, 900) for _ in range(24)), tuple(range(-40, 200, 10))
    )
    bem.forecast(T, T + 3600, weather)  # remembers the day's weather
    expected = EnergyModel(ridge=0.0, min_samples=2)
    t = T
    for k, period_s in enumerate([3600, 7200, 10_800, 3600, 7200, 14_400]):
        t += period_s
        bem.on_reading(load.seal(load.reading(t, period_s, 900 + k), bem.public_key, rng))
        hours = list(range(t - period_s, t, 3600))
        index = [(h - T) // 3600 for h in hours]
        temperature = [weather.temperature_dc[i] / 10.0 for i in index]
        if k % 2:
            bem.on_reading(
                thermostat.seal(thermostat.reading(t, period_s, 55), bem.public_key, rng)
            )
            temperature = [5.5] * len(hours)
        irradiance = [weather.irradiance_w_m2[i] for i in index]
        row = compute_features(hours, temperature, irradiance).mean(axis=0)
        expected.add(row, 0.0, (900 + k) * 3600 / period_s)
    bem.forecast(t, t + 3600, Weather("r0", t, (100,), (50,)))
    fit, reference = bem.model.fit(), expected.fit()
    assert fit is not None
    assert reference is not None
    assert bem.model.samples == expected.samples == 6
    assert fit.demand.tolist() == reference.demand.tolist()
    assert fit.supply_per_irradiance == reference.supply_per_irradiance
