"""Building energy manager, its weather provider and the homes' ground truth (paper §III 1-2)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from iome_ref.chain.ledger import Ledger
from iome_ref.chain.store import MemoryStore
from iome_ref.constants import CHAIN_CHILD, CHAIN_PUBLIC
from iome_ref.crypto import KeyPair
from iome_ref.encoding import canonical_json, compute_hash
from iome_ref.errors import IoMEError, Rejected, UsageError
from iome_ref.roles.bem import (
    DAILY_LOAD_SHAPE,
    BuildingEnergyManager,
    EnergyModel,
    HomeProfile,
    compute_device_id,
    compute_features,
    draw_home,
    simulate_home_energy,
)
from iome_ref.roles.devices import (
    IoTDevice,
    Reading,
    SealedReading,
    compute_reading_aad,
    compute_reading_key,
    derive_x25519_private,
)
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


# --------------------------------------------------------------------------- the model


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
    assert exc.value.req_id == "bem"


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


def test_accepts_commitments_over_readings_since_the_last_one() -> None:
    bem = _bem()
    device = _device(bem)
    for hour in (1, 2):
        bem.on_reading(_sealed(bem, device, T + hour * 3600))
    first = bem.commit_raw_data(T + 3 * 3600)
    expected = canonical_json([r.to_json() for r in bem.raw_readings])
    assert first.data_hash == compute_hash(expected)
    bem.on_reading(_sealed(bem, device, T + 4 * 3600))
    second = bem.commit_raw_data(T + 5 * 3600)
    assert second.data_hash == compute_hash(canonical_json([bem.raw_readings[2].to_json()]))
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
    with pytest.raises(UsageError) as exc:
        co_sign_record("0" * 64, key, key, T)
    assert exc.value.req_id == "IOME-REC-001"


# --------------------------------------------------------------------------- ground truth


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
    with pytest.raises(IoMEError) as exc:
        simulate_home_energy(
            HOME, t_start, t_end, _weather(T, 6), np.random.default_rng(1), interval_s=interval_s
        )
    assert exc.value.req_id in {"bem", "weather"}


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
