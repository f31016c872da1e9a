"""The vehicle: battery limits, one-time keys, claims, the paper's net gain and its decisions.

Every expected figure below is computed by hand in the comment beside it, from the paper's
formula (§III) and the documented defaults of CostModel and DrivingPolicy: a test that merely
re-ran the code's arithmetic would prove nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from helpers import usage_error

from iome_ref.crypto import KeyPair
from iome_ref.errors import Rejected
from iome_ref.models import EPS, Presence
from iome_ref.roles.vehicle import (
    Battery,
    CostModel,
    Decision,
    ElectricVehicle,
    StationIndex,
    compute_one_time_seed,
    net_gain,
)
from iome_ref.rules import check_stateless

NOW = 1_704_153_600
GRID = KeyPair.derive("test", "grid")


@dataclass
class ToyCity:
    """A dict-backed RoadMap: o and d in region ra, l in rb (a 2 km detour), x far off in rc."""

    stations: dict[str, int] = field(default_factory=lambda: {"d": 1, "l": 2, "o": 0, "x": 3})
    station_region: dict[str, str] = field(
        default_factory=lambda: {"o": "ra", "d": "ra", "l": "rb", "x": "rc"}
    )
    station_distance_m: dict[tuple[str, str], int] = field(default_factory=dict)
    station_energy_wh: dict[tuple[str, str], int] = field(default_factory=dict)
    station_travel_s: dict[tuple[str, str], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        legs = {  # (a, b): (metres, Wh, seconds), both ways
            ("o", "d"): (10_000, 1_600, 900),
            ("o", "l"): (6_000, 1_000, 540),
            ("l", "d"): (6_000, 1_000, 540),
            ("o", "x"): (30_000, 5_000, 2_000),
            ("x", "d"): (30_000, 5_000, 2_000),
            ("l", "x"): (30_000, 5_000, 2_000),
        }
        for name in self.stations:
            legs[(name, name)] = (0, 0, 0)
        for (a, b), (metres, wh, seconds) in legs.items():
            for pair in ((a, b), (b, a)):
                self.station_distance_m[pair] = metres
                self.station_energy_wh[pair] = wh
                self.station_travel_s[pair] = seconds


@dataclass(frozen=True)
class Plan:
    """Shaped like simulation.drivers.PlannedTrip (the fields decide reads)."""

    origin_station: str
    destination_station: str
    departure_time: int


def eps(region: str, price: int, feed_in: int, incentive: int = 0, **over: Any) -> EPS:
    fields: dict[str, Any] = {
        "prev_tx_id": "0" * 64,
        "region": region,
        "price_micro_per_kwh": price,
        "feed_in_micro_per_kwh": feed_in,
        "incentive_micro_per_kwh": incentive,
        "issued_at": NOW - 60,
        "expiry": NOW + 3600,
        "issuer_pk": GRID.public_hex,
    } | over
    return EPS.create({"signature": GRID}, **fields)


def vehicle(soc_wh: int = 40_000, soh: float = 1.0, **over: Any) -> ElectricVehicle:
    fields: dict[str, Any] = {
        "vehicle_id": "ev-1",
        "secret": b"secret of ev-1",
        "battery": Battery(60_000, soc_wh, soh),
        "home_region": "ra",
        "location": "o",
    } | over
    return ElectricVehicle(**fields)


# Regions ra (where the trip is) pays 80,000 feed-in; rb offers 150,000 feed-in plus a 250,000
# incentive: the paper's overloaded suburb paying EVs to come and discharge.
PRICES = {"ra": eps("ra", 250_000, 80_000), "rb": eps("rb", 300_000, 150_000, 250_000)}
TRIP = Plan("o", "d", NOW + 600)


# --- net gain (paper §III), hand-computed ---------------------------------------------------


def test_net_gain_with_incentive_detour_and_wear() -> None:
    # gain   = (200,000 - 80,000 + 50,000) micro/kWh * 10 kWh         = 1,700,000
    # direct = 100,000 micro/km * 4 km                                =   400,000
    # depr.  = 50,000 * 4 km + (8e9 / 2,000 cycles) * 0.01 cycle      =   240,000
    gain = net_gain(
        feed_in_l=200_000,
        feed_in_current=80_000,
        incentive_l=50_000,
        energy_wh=10_000,
        extra_distance_m=4_000,
        extra_cycle_fraction=0.01,
        costs=CostModel(),
    )
    assert gain == 1_700_000 - 400_000 - 240_000 == 1_060_000


def test_net_gain_is_negative_when_tariffs_are_equal() -> None:
    # No tariff difference: only the 2 km of relocation (100,000 + 50,000 per km) remain.
    gain = net_gain(
        feed_in_l=80_000,
        feed_in_current=80_000,
        incentive_l=0,
        energy_wh=20_000,
        extra_distance_m=2_000,
        extra_cycle_fraction=0.0,
        costs=CostModel(),
    )
    assert gain == -300_000


def test_net_gain_without_detour_is_the_tariff_difference() -> None:
    # (300,000 - 100,000) micro/kWh * 5 kWh = 1,000,000; nothing to deduct.
    gain = net_gain(
        feed_in_l=300_000,
        feed_in_current=100_000,
        incentive_l=0,
        energy_wh=5_000,
        extra_distance_m=0,
        extra_cycle_fraction=0.0,
        costs=CostModel(),
    )
    assert gain == 1_000_000


def test_net_gain_counts_cycle_wear_at_pack_cost_over_life() -> None:
    # A 1,000,000 pack over 1 cycle: half a cycle of extra throughput costs 500,000.
    costs = CostModel(
        transport_micro_per_km=0, mileage_micro_per_km=0, battery_cost_micro=1_000_000, cycle_life=1
    )
    gain = net_gain(
        feed_in_l=0,
        feed_in_current=0,
        incentive_l=0,
        energy_wh=1_000,
        extra_distance_m=0,
        extra_cycle_fraction=0.5,
        costs=costs,
    )
    assert gain == -500_000


def test_net_gain_lower_feed_in_at_l_is_a_loss() -> None:
    # (50,000 - 80,000) * 10 kWh = -300,000; no relocation.
    gain = net_gain(
        feed_in_l=50_000,
        feed_in_current=80_000,
        incentive_l=0,
        energy_wh=10_000,
        extra_distance_m=0,
        extra_cycle_fraction=0.0,
        costs=CostModel(),
    )
    assert gain == -300_000


# --- decisions with a trip in the EPS window -------------------------------------------------


def test_decide_discharges_at_the_incentivised_station_on_the_way() -> None:
    # usable 60,000 Wh, V2G floor 50% = 30,000; disposable at l = 55,000 - 1,000 - 1,000
    # - 30,000 = 23,000, capped at one session of 22,000 Wh. Detour 6 + 6 - 10 = 2 km, extra energy
    # 1,000 + 1,000 - 1,600 = 400 Wh = 400/60,000 of a cycle.
    # gain = (150,000 - 80,000 + 250,000) * 22 = 7,040,000
    # cost = 100,000 * 2 + 50,000 * 2 + 4,000,000 * 400/60,000 = 326,666.67
    decision = vehicle(soc_wh=55_000).decide(PRICES, TRIP, ToyCity(), NOW)
    assert decision == Decision("discharge_at", "l", 22_000, 6_713_333, 2_000)


def test_decide_goes_straight_for_a_baseline_vehicle() -> None:
    assert vehicle(price_aware=False).decide(PRICES, TRIP, ToyCity(), NOW) == Decision("straight")


def test_decide_goes_straight_when_discharging_does_not_beat_the_reference_price() -> None:
    # Without the incentive rb pays 150,000 < 250,000 reference + 66,667 wear per kWh: the
    # energy is not disposable at that price, whatever the tariff difference.
    prices = {**PRICES, "rb": eps("rb", 300_000, 150_000, 0)}
    assert vehicle().decide(prices, TRIP, ToyCity(), NOW) == Decision("straight")


def test_decide_charges_first_when_the_trip_would_break_the_reserve() -> None:
    # 10,000 Wh < 1,600 trip + 9,000 reserve: charge to 80% = 48,000, one session of 22,000.
    decision = vehicle(soc_wh=10_000).decide(PRICES, TRIP, ToyCity(), NOW)
    assert decision == Decision("charge_now", "o", 22_000)


def test_decide_discharge_amount_is_limited_by_state_of_health() -> None:
    # soh 0.5: usable 30,000, V2G floor 15,000; disposable = 28,000 - 2,000 - 15,000
    # = 11,000 Wh. gain = 320,000 * 11 = 3,520,000; cost = 200,000 + 100,000
    # + 4,000,000 * 400/30,000 = 353,333.33; net 3,166,666.67.
    decision = vehicle(soc_wh=28_000, soh=0.5).decide(PRICES, TRIP, ToyCity(), NOW)
    assert decision == Decision("discharge_at", "l", 11_000, 3_166_667, 2_000)


def test_decide_ignores_stations_the_battery_cannot_reach_with_reserve() -> None:
    # 10,800 Wh: the trip (1,600 + reserve 9,000) is fine, but via l (2,000 + 9,000) it is not.
    assert vehicle(soc_wh=10_800).decide(PRICES, TRIP, ToyCity(), NOW) == Decision("straight")


def test_decide_never_discharges_below_the_v2g_floor() -> None:
    # 31,900 Wh: via l leaves 29,900 < the 30,000 floor: nothing to sell, though l pays well.
    assert vehicle(soc_wh=31_900).decide(PRICES, TRIP, ToyCity(), NOW) == Decision("straight")


def test_decide_goes_straight_when_the_detour_costs_more_than_it_earns() -> None:
    # 32,500 Wh: 500 Wh above the floor at l earn 320,000 * 0.5 = 160,000 < 326,667 detour cost.
    assert vehicle(soc_wh=32_500).decide(PRICES, TRIP, ToyCity(), NOW) == Decision("straight")


def test_decide_goes_straight_on_a_trip_after_the_eps_expiry() -> None:
    late = Plan("o", "d", NOW + 7200)
    assert vehicle().decide(PRICES, late, ToyCity(), NOW) == Decision("straight")


def test_decide_ignores_an_expired_signal_at_l() -> None:
    prices = {**PRICES, "rb": eps("rb", 300_000, 150_000, 250_000, expiry=NOW + 300)}
    assert vehicle().decide(prices, TRIP, ToyCity(), NOW) == Decision("straight")


def test_decide_breaks_ties_by_station_id() -> None:
    city = ToyCity()
    city.stations["k"] = 4
    city.station_region["k"] = "rb"
    for (a, b), value in list(city.station_distance_m.items()):
        if "l" in (a, b):
            twin = (a.replace("l", "k"), b.replace("l", "k"))
            city.station_distance_m[twin] = value
            city.station_energy_wh[twin] = city.station_energy_wh[(a, b)]
            city.station_travel_s[twin] = city.station_travel_s[(a, b)]
    city.station_distance_m[("k", "l")] = city.station_distance_m[("l", "k")] = 100
    city.station_energy_wh[("k", "l")] = city.station_energy_wh[("l", "k")] = 20
    decision = vehicle(soc_wh=55_000).decide(PRICES, TRIP, city, NOW)
    assert decision.station_id == "k"
    assert decision.gain_micro == 6_713_333


def test_rejects_decision_on_a_trip_without_route() -> None:
    city = ToyCity()
    del city.station_energy_wh[("o", "d")]
    with usage_error("vehicle"):
        vehicle().decide(PRICES, TRIP, city, NOW)


# --- without a trip: no session of its own; the price response lives in the habitual window ---


def test_decide_idles_without_a_trip_whatever_the_price() -> None:
    # 20,000 Wh is above the 30% low mark (18,000): no session, however cheap or well paid.
    cheap = {"ra": eps("ra", 50_000, 20_000)}
    assert vehicle(soc_wh=20_000, location=None).decide(cheap, None, ToyCity(), NOW) == Decision(
        "idle"
    )
    paid = {"ra": eps("ra", 600_000, 500_000)}
    assert vehicle().decide(paid, None, ToyCity(), NOW) == Decision("idle")


# Habitual window of 10,000 Wh at d. Defaults: usable 60,000, low mark 30% = 18,000, so the
# next trips' floor is 18,000 + 10,000 = 28,000; V2G floor 30,000; reference 250,000; wear
# 4,000,000 per cycle / 60 kWh = 66,666.67 per kWh; window_flex 0.5.


def test_window_baseline_charges_its_habit_whatever_the_price() -> None:
    cheap = eps("ra", 50_000, 20_000)
    window = vehicle(price_aware=False).decide_window(cheap, "d", 10_000, NOW)
    assert window == Decision("charge_now", "d", 10_000)


def test_window_charges_more_when_cheap_bounded_by_flex() -> None:
    # reference / price = 250,000 / 125,000 = 2, bounded to 1.5: 15,000 Wh;
    # gain = 125,000 * 5 kWh more bought cheap = 625,000.
    window = vehicle().decide_window(eps("ra", 125_000, 20_000), "d", 10_000, NOW)
    assert window == Decision("charge_now", "d", 15_000, 625_000)


def test_window_charges_less_when_dear() -> None:
    # 250,000 / 312,500 = 0.8: 8,000 Wh; gain = 62,500 * 2 kWh not bought dear = 125,000.
    window = vehicle().decide_window(eps("ra", 312_500, 20_000), "d", 10_000, NOW)
    assert window == Decision("charge_now", "d", 8_000, 125_000)


def test_window_keeps_the_next_trips_energy_when_dear() -> None:
    # 250,000 / 1,000,000 bounded to 0.5: 5,000 Wh, but 20,000 + 5,000 < the 28,000 floor:
    # 8,000 Wh; gain = 750,000 * 2 kWh = 1,500,000.
    window = vehicle(soc_wh=20_000).decide_window(eps("ra", 1_000_000, 80_000), "d", 10_000, NOW)
    assert window == Decision("charge_now", "d", 8_000, 1_500_000)


def test_window_discharges_what_lies_above_the_v2g_floor() -> None:
    # margin = 500,000 - 66,666.67 - 250,000 = 183,333.33 per kWh; spare = 50,000 - 30,000
    # = 20,000 Wh; gain = 3,666,666.67.
    window = vehicle(soc_wh=50_000).decide_window(eps("ra", 600_000, 500_000), "d", 10_000, NOW)
    assert window == Decision("discharge_now", "d", 20_000, 3_666_667)


def test_window_charges_instead_of_discharging_at_the_v2g_floor() -> None:
    # 30,000 Wh: nothing to spare; 250,000 / 600,000 bounded to 0.5: 5,000 Wh, gain 1,750,000.
    window = vehicle(soc_wh=30_000).decide_window(eps("ra", 600_000, 500_000), "d", 10_000, NOW)
    assert window == Decision("charge_now", "d", 5_000, 1_750_000)


def test_window_idles_with_a_full_battery_or_no_habitual_session() -> None:
    cheap = eps("ra", 125_000, 20_000)
    assert vehicle(soc_wh=60_000).decide_window(cheap, "d", 10_000, NOW) == Decision("idle")
    assert vehicle().decide_window(cheap, "d", 0, NOW) == Decision("idle")


def test_window_without_signal_in_force_charges_the_habit() -> None:
    expired = eps("ra", 125_000, 20_000, expiry=NOW)
    assert vehicle().decide_window(expired, "d", 10_000, NOW) == Decision("charge_now", "d", 10_000)
    assert vehicle().decide_window(None, "d", 10_000, NOW) == Decision("charge_now", "d", 10_000)


def test_decide_baseline_charges_below_threshold_only() -> None:
    # 15,000 < 30% of 60,000: charge to 48,000, one session of 22,000.
    low = vehicle(soc_wh=15_000, price_aware=False).decide(PRICES, None, ToyCity(), NOW)
    assert low == Decision("charge_now", "o", 22_000)
    high = vehicle(soc_wh=20_000, price_aware=False).decide(PRICES, None, ToyCity(), NOW)
    assert high == Decision("idle")


def test_decide_without_signal_falls_back_to_baseline() -> None:
    assert vehicle(soc_wh=15_000).decide({}, None, ToyCity(), NOW).action == "charge_now"


def test_observe_price_moves_reference_by_its_weight() -> None:
    ev = vehicle()
    ev.observe_price(350_000)  # 0.9 * 250,000 + 0.1 * 350,000
    assert ev.reference_price_micro == 260_000


# --- battery ---------------------------------------------------------------------------------


def test_battery_usable_energy_follows_state_of_health() -> None:
    battery = Battery(60_000, 10_000, 0.9)
    assert battery.usable_wh == 54_000
    assert battery.charge(50_000) == 44_000
    assert battery.soc_wh == 54_000
    assert battery.discharge(60_000) == 54_000
    with usage_error("vehicle"):
        battery.drive(1)


@pytest.mark.parametrize(("soc", "soh"), [(-1, 1.0), (61_000, 1.0), (40_000, 0.5), (0, 0.0)])
def test_rejects_impossible_battery(soc: int, soh: float) -> None:
    with usage_error("vehicle"):
        Battery(60_000, soc, soh)


# --- one-time keys ---------------------------------------------------------------------------


def test_one_time_keys_are_fresh_deterministic_and_not_the_home_key() -> None:
    ev = vehicle()
    keys = [ev.one_time_key(i, end) for i in range(50) for end in ("source", "destination")]
    publics = {key.public_hex for key in keys}
    assert len(publics) == 100
    assert ev.home_key.public_hex not in publics
    again = vehicle()
    assert again.one_time_key(7, "destination") == ev.one_time_key(7, "destination")
    other = vehicle(secret=b"secret of ev-2")
    assert publics.isdisjoint(
        other.one_time_key(i, end).public_hex
        for i in range(50)
        for end in ("source", "destination")
    )


def test_one_time_seed_is_hmac_sha256_of_the_label() -> None:
    expected = hmac.new(b"k", b"otk/3/source", hashlib.sha256).digest()
    assert compute_one_time_seed(b"k", 3, "source") == expected


def test_rejects_one_time_key_with_bad_label() -> None:
    with usage_error("vehicle"):
        compute_one_time_seed(b"k", -1, "source")


# --- claims ----------------------------------------------------------------------------------


def _presence(
    kind: str, station: KeyPair, one_time_pk: str, t: int, station_id: str = "st-a"
) -> Presence:
    return Presence.create(
        {"station_sig": station, "station_pk_sig": station},
        kind=kind,
        station_id=station_id,
        station_pk=station.public_hex,
        one_time_pk=one_time_pk,
        t=t,
    )


def test_claim_is_signed_by_both_one_time_keys() -> None:
    ev = vehicle()
    station_a, station_b = KeyPair.derive("test", "station"), KeyPair.derive("test", "station-b")
    pk1, pk2 = ev.one_time_key(0, "source"), ev.one_time_key(0, "destination")
    source = _presence("source", station_a, pk1.public_hex, NOW)
    destination = _presence("destination", station_b, pk2.public_hex, NOW + 900, "st-b")
    claim = ev.claim(source, destination, NOW + 901)
    check_stateless(claim)  # tx id and both one-time signatures verify
    assert (claim.source_pk, claim.destination_pk) == (pk1.public_hex, pk2.public_hex)
    with usage_error("vehicle"):  # the keys are spent: a second claim cannot be made
        ev.claim(source, destination, NOW + 902)


def test_rejects_claim_for_a_key_the_vehicle_never_made() -> None:
    station = KeyPair.derive("test", "station")
    stranger = KeyPair.derive("test", "stranger").public_hex
    source = _presence("source", station, stranger, NOW)
    with usage_error("vehicle"):
        vehicle().claim(source, source, NOW + 1)


@pytest.mark.req("IOME-CLAIM-007")
def test_rejects_claim_of_a_trip_from_a_station_to_itself() -> None:
    ev = vehicle()
    station = KeyPair.derive("test", "station")
    pk1, pk2 = ev.one_time_key(0, "source"), ev.one_time_key(0, "destination")
    source = _presence("source", station, pk1.public_hex, NOW)
    back_home = _presence("destination", station, pk2.public_hex, NOW + 900)
    with pytest.raises(Rejected) as same_station:
        ev.claim(source, back_home, NOW + 901)
    assert same_station.value.req_id == "IOME-CLAIM-007"
    # Two station ids under one key are one party at both ends.
    renamed = _presence("destination", station, pk2.public_hex, NOW + 900, "st-b")
    with pytest.raises(Rejected) as same_key:
        ev.claim(source, renamed, NOW + 901)
    assert same_key.value.req_id == "IOME-CLAIM-007"
    # A refused claim spends no key: the honest claim to another station still works.
    other = _presence("destination", KeyPair.derive("test", "b"), pk2.public_hex, NOW + 900, "b")
    assert ev.claim(source, other, NOW + 901).destination_pk == pk2.public_hex


@pytest.mark.req("IOME-CLAIM-006")
def test_rejects_claim_dated_before_the_trip_ended() -> None:
    ev = vehicle()
    pk1, pk2 = ev.one_time_key(0, "source"), ev.one_time_key(0, "destination")
    source = _presence("source", KeyPair.derive("test", "a"), pk1.public_hex, NOW)
    destination = _presence(
        "destination", KeyPair.derive("test", "b"), pk2.public_hex, NOW + 900, "st-b"
    )
    with pytest.raises(Rejected) as exc:
        ev.claim(source, destination, NOW + 899)
    assert exc.value.req_id == "IOME-CLAIM-006"


@pytest.mark.req("IOME-CLAIM-003")
def test_rejects_claim_ending_before_it_starts() -> None:
    ev = vehicle()
    pk1, pk2 = ev.one_time_key(0, "source"), ev.one_time_key(0, "destination")
    source = _presence("source", KeyPair.derive("test", "a"), pk1.public_hex, NOW + 900)
    destination = _presence("destination", KeyPair.derive("test", "b"), pk2.public_hex, NOW, "b")
    with pytest.raises(Rejected) as exc:
        ev.claim(source, destination, NOW + 901)
    assert exc.value.req_id == "IOME-CLAIM-003"


# --- station index ---------------------------------------------------------------------------


@dataclass
class MatrixCity(ToyCity):
    """The same city with the dense matrices the simulation's City carries."""

    station_ids: tuple[str, ...] = ()
    station_index: dict[str, int] = field(default_factory=dict)
    travel_matrix: Any = None
    distance_matrix: Any = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.station_ids = tuple(sorted(self.stations))
        self.station_index = {s: i for i, s in enumerate(self.station_ids)}
        n = len(self.station_ids)
        self.travel_matrix = np.full((n, n), -1, dtype=np.int32)
        self.distance_matrix = np.full((n, n), -1, dtype=np.int32)
        for (a, b), value in self.station_distance_m.items():
            i, j = self.station_index[a], self.station_index[b]
            self.distance_matrix[i, j] = value
            self.travel_matrix[i, j] = self.station_travel_s[(a, b)]


def test_station_index_ranks_nearby_stations_within_radius() -> None:
    index = StationIndex(ToyCity(), radius_m=10_000, max_candidates=3)
    assert index.near("o") == ("o", "l", "d")
    assert StationIndex(ToyCity(), radius_m=10_000, max_candidates=2).near("o") == ("o", "l")
    assert index.by_travel_to("d") == ((0, "d"), (540, "l"), (900, "o"), (2_000, "x"))


def test_station_index_matrix_path_agrees_with_mapping_path() -> None:
    plain, dense = StationIndex(ToyCity()), StationIndex(MatrixCity())
    for station in ("o", "d", "l", "x"):
        assert plain.near(station) == dense.near(station)
        assert plain.by_travel_to(station) == dense.by_travel_to(station)
    decision = vehicle().decide(PRICES, TRIP, MatrixCity(), NOW, index=dense)
    assert decision == vehicle().decide(PRICES, TRIP, ToyCity(), NOW)
