"""Electric vehicles: battery, one-time keys, trip claims and the price-driven mobility decision.

Paper §III, mobility grid: "When an EV receives the EPS (step 3), it first checks if there is
a trip scheduled during the EPS expiry time (step 4). If so, the EV explores the possibility of
opportunistically maximizing user benefits by charging the vehicle in one place and
discharging in another place [...] comparing the net gain to move to location L for
discharging." :func:`net_gain` is that comparison, term for term; :meth:`ElectricVehicle.decide`
applies it to the stations a vehicle can reach. "The best time to charge or discharge" is
chosen inside the driver's habitual plug-in windows (:meth:`ElectricVehicle.decide_window`):
real price-responsive drivers (smart charging, V2G) shift how much they draw, and in which
direction, while plugged in where and when they always are; they do not add sessions.

Money is integer micro-units (prices per kWh, gains in micro-units), energy integer Wh,
distances integer metres, times integer unix seconds. A vehicle reads no clock and draws no
randomness: ``now`` is an argument and every key derives from the vehicle's secret.

The road graph is read through :class:`RoadMap`, a structural protocol satisfied by the
simulation's ``City``; roles sit below the simulation and must not import it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol, TypeGuard, runtime_checkable

import numpy as np
import numpy.typing as npt

from iome_ref.crypto import KeyPair
from iome_ref.errors import UsageError
from iome_ref.models import EPS, Presence, TripClaim
from iome_ref.rules.mobility import (
    check_claim_after_trip,
    check_claim_order,
    check_claim_stations_differ,
)

__all__ = [
    "Action",
    "Battery",
    "CostModel",
    "Decision",
    "DrivingPolicy",
    "ElectricVehicle",
    "RoadMap",
    "StationIndex",
    "StationMatrices",
    "TripEnd",
    "TripPlan",
    "compute_one_time_seed",
    "net_gain",
]

TripEnd = Literal["source", "destination"]
Action = Literal["straight", "discharge_at", "charge_now", "discharge_now", "idle"]

_WH_PER_KWH: Final = 1000
_M_PER_KM: Final = 1000


class RoadMap(Protocol):
    """What a vehicle, a fleet and a station index read of the city (the simulation's City).

    Pair tables are keyed (from, to) over station ids; a missing pair means unreachable.
    """

    @property
    def stations(self) -> Mapping[str, int]: ...
    @property
    def station_region(self) -> Mapping[str, str]: ...
    @property
    def station_travel_s(self) -> Mapping[tuple[str, str], int]: ...
    @property
    def station_energy_wh(self) -> Mapping[tuple[str, str], int]: ...
    @property
    def station_distance_m(self) -> Mapping[tuple[str, str], int]: ...


class TripPlan(Protocol):
    """A scheduled trip between two stations (the simulation's PlannedTrip)."""

    @property
    def origin_station(self) -> str: ...
    @property
    def destination_station(self) -> str: ...
    @property
    def departure_time(self) -> int: ...


@dataclass(slots=True)
class Battery:
    """A traction battery whose usable capacity shrinks with its state of health.

    Paper §II-A: "The SOH determines the amount of energy each battery can contribute, and the
    range of reachable charging stations"; so every energy limit below uses ``usable_wh``.
    """

    capacity_wh: int
    soc_wh: int
    soh: float

    def __post_init__(self) -> None:
        if self.capacity_wh <= 0 or not 0.0 < self.soh <= 1.0:
            raise UsageError(
                "vehicle",
                f"battery needs capacity > 0 and 0 < soh <= 1, got "
                f"{self.capacity_wh} Wh, soh {self.soh}",
            )
        if not 0 <= self.soc_wh <= self.usable_wh:
            raise UsageError("vehicle", f"soc {self.soc_wh} Wh outside 0..{self.usable_wh} Wh")

    @property
    def usable_wh(self) -> int:
        return int(self.capacity_wh * self.soh)

    @property
    def headroom_wh(self) -> int:
        """Energy the battery can still take."""
        return self.usable_wh - self.soc_wh

    def charge(self, energy_wh: int) -> int:
        """Add up to ``energy_wh``; return what fitted (a full battery takes no more)."""
        taken = max(0, min(energy_wh, self.headroom_wh))
        self.soc_wh += taken
        return taken

    def discharge(self, energy_wh: int) -> int:
        """Give up to ``energy_wh`` to the grid; return what was given."""
        given = max(0, min(energy_wh, self.soc_wh))
        self.soc_wh -= given
        return given

    def drive(self, energy_wh: int) -> None:
        """Spend the energy of a drive; a drive the battery cannot supply is a caller bug."""
        if energy_wh > self.soc_wh:
            raise UsageError("vehicle", f"drive needs {energy_wh} Wh, battery holds {self.soc_wh}")
        self.soc_wh -= energy_wh


@dataclass(frozen=True, slots=True)
class CostModel:
    """Parameters of the paper's relocation and depreciation costs (§III), in micro-units.

    Defaults are typical of a mid-size EV: a 0.10/km direct cost (about 0.17 kWh/km of driving
    energy at retail price plus tyre and maintenance wear), 0.05/km loss of vehicle value with
    mileage, and a pack costing 8,000 to replace over 2,000 full equivalent cycles, i.e. 4.00
    per full cycle.
    """

    #: Direct cost of physically moving the vehicle one extra km (paper: "direct cost").
    transport_micro_per_km: int = 100_000
    #: Vehicle value lost per extra km (paper: "depreciation [...] with additional mileage").
    mileage_micro_per_km: int = 50_000
    #: Replacement cost of the battery pack.
    battery_cost_micro: int = 8_000_000_000
    #: Full equivalent cycles to end of life (paper: "remaining recharge cycles").
    cycle_life: int = 2_000

    @property
    def cycle_cost_micro(self) -> float:
        """Cost of one full equivalent cycle: the pack's price spread over its life."""
        return self.battery_cost_micro / self.cycle_life

    def cycle_cost_micro_per_kwh(self, usable_wh: int) -> float:
        """Wear cost of moving one kWh through a battery of ``usable_wh`` usable energy."""
        return self.cycle_cost_micro * _WH_PER_KWH / usable_wh


@dataclass(frozen=True, slots=True)
class DrivingPolicy:
    """How a driver trades money against convenience; the defaults are stated, not fitted.

    A vehicle keeps ``reserve_fraction`` of its usable energy on arrival anywhere (range
    anxiety), discharges at most ``max_session_wh`` per stop (11 kW bidirectional charger for
    2 h), detours at most ``max_detour_m``, charges to ``target_fraction`` when it must charge
    before a trip, and acts only for a gain of at least ``min_gain_micro`` so it does not churn
    on noise. A baseline (price-unaware) driver charges when below ``baseline_charge_below``.
    """

    reserve_fraction: float = 0.15
    target_fraction: float = 0.8
    baseline_charge_below: float = 0.3
    max_session_wh: int = 22_000
    max_detour_m: int = 15_000
    min_gain_micro: int = 100_000
    #: How far a price-aware driver moves a habitual session's energy: between
    #: ``1 - window_flex`` and ``1 + window_flex`` times the habitual kWh (reference / price).
    window_flex: float = 0.5
    #: Share of usable energy a discharge never goes below (the minimum state of charge V2G
    #: programmes let a driver set): selling down to the reserve would leave the car low,
    #: and it would then plug in for a full top-up before its next trips.
    v2g_floor_fraction: float = 0.5
    #: Weight of a newly observed price in the reference price (exponential average).
    reference_weight: float = 0.1


@dataclass(frozen=True, slots=True)
class Decision:
    """What a vehicle does with the current price signals.

    ``station_id`` is where it acts: L for ``discharge_at``, its current station for
    ``charge_now``/``discharge_now`` (None: at home, a private charger), None otherwise.
    ``gain_micro`` is the expected net gain over not acting, ``extra_distance_m`` the detour.
    """

    action: Action
    station_id: str | None = None
    energy_wh: int = 0
    gain_micro: int = 0
    extra_distance_m: int = 0


_STRAIGHT: Final = Decision("straight")
_IDLE: Final = Decision("idle")


def net_gain(
    *,
    feed_in_l: int,
    feed_in_current: int,
    incentive_l: int,
    energy_wh: int,
    extra_distance_m: int,
    extra_cycle_fraction: float,
    costs: CostModel,
) -> int:
    """Net gain in micro-units of moving to L to discharge ``energy_wh`` (paper §III).

    The paper: "the difference between the expected gain from energy discharging, which is the
    difference between the feed-in tariff at location L and the feed-in tariff at the
    vehicle's current location, and the cost of relocation from the current location to L.
    This cost includes the direct cost to physically transport the vehicle and the depreciation
    cost associated with additional mileage and with reductions in the remaining recharge
    cycles for the EV battery." The relocation incentive at L (paper §II-A: EVs "can be
    incentivised to visit the surrounding suburbs and to discharge energy") is paid per kWh
    discharged there, so it adds to L's tariff.

        gain = (feed_in_L - feed_in_current + incentive_L) * energy_kWh
               - transport_per_km * extra_km
               - mileage_per_km * extra_km - cycle_cost * extra_cycle_fraction

    ``extra_cycle_fraction`` is the extra battery throughput of the detour in full equivalent
    cycles: the discharged energy itself is not counted, because the paper's baseline
    discharges the same energy at the current location.
    """
    gain = (feed_in_l - feed_in_current + incentive_l) * energy_wh / _WH_PER_KWH
    extra_km = extra_distance_m / _M_PER_KM
    relocation = costs.transport_micro_per_km * extra_km
    depreciation = costs.mileage_micro_per_km * extra_km + (
        costs.cycle_cost_micro * extra_cycle_fraction
    )
    return round(gain - relocation - depreciation)


def compute_one_time_seed(secret: bytes, trip_index: int, end: TripEnd) -> bytes:
    """HMAC-SHA256(secret, "otk/<index>/<end>"): the seed of one one-time key.

    HMAC-SHA256 is a pseudorandom function: without the secret its outputs are
    indistinguishable from independent random strings, so no one but the vehicle can link two
    one-time keys to each other or to the vehicle's home key (derived under another label).
    The derivation is deterministic so a simulation replays byte for byte from its seed.
    """
    if trip_index < 0 or end not in ("source", "destination"):
        raise UsageError(
            "vehicle", f"one-time key needs index >= 0 and a trip end, got {trip_index}/{end}"
        )
    return hmac.new(secret, b"otk/%d/%s" % (trip_index, end.encode()), hashlib.sha256).digest()


@runtime_checkable
class StationMatrices(Protocol):
    """Optional dense form of the pair tables (the simulation's City has it): row i, column j
    is the figure from ``station_ids[i]`` to ``station_ids[j]``, negative when unreachable."""

    station_ids: tuple[str, ...]
    station_index: Mapping[str, int]
    travel_matrix: npt.NDArray[np.int32]
    distance_matrix: npt.NDArray[np.int32]


class StationIndex:
    """Each station's nearby stations, built lazily once per station and shared by all vehicles.

    The decision of one vehicle must cost O(candidates), not O(stations): the candidates L for
    a detour are the stations within ``radius_m`` of the trip's origin or destination (at most
    ``max_candidates`` each, nearest first). Stations far from both ends but near the middle of
    a long trip are not considered; the detour bound (``DrivingPolicy.max_detour_m``) makes
    them rare winners, and the saving is what lets 10^5 vehicles decide per round. A city with
    dense matrices (:class:`StationMatrices`) is ranked by numpy, one row per station.
    """

    def __init__(self, city: RoadMap, *, radius_m: int = 15_000, max_candidates: int = 16) -> None:
        self.city = city
        self.radius_m = radius_m
        self.max_candidates = max_candidates
        self._matrices = city if isinstance(city, StationMatrices) else None
        self._near: dict[str, tuple[str, ...]] = {}
        self._by_travel_to: dict[str, tuple[tuple[int, str], ...]] = {}

    def near(self, station: str) -> tuple[str, ...]:
        """Stations within the radius of ``station`` (itself included), nearest first.

        Ties in distance go to the smaller station id, so the order is deterministic.
        """
        found = self._near.get(station)
        if found is None:
            ranked = self._rank(station, outgoing=True, limit=self.radius_m)
            found = tuple(other for _, other in ranked[: self.max_candidates])
            self._near[station] = found
        return found

    def by_travel_to(self, station: str) -> tuple[tuple[int, str], ...]:
        """Every station that reaches ``station``, as (travel s, id), quickest first."""
        found = self._by_travel_to.get(station)
        if found is None:
            found = tuple(self._rank(station, outgoing=False, limit=None))
            self._by_travel_to[station] = found
        return found

    def _rank(self, station: str, *, outgoing: bool, limit: int | None) -> list[tuple[int, str]]:
        """(figure, other) sorted: distance from ``station`` if ``outgoing``, else travel to it."""
        matrices = self._matrices
        if matrices is not None:
            i = matrices.station_index[station]
            row = matrices.distance_matrix[i] if outgoing else matrices.travel_matrix[:, i]
            keep = row >= 0 if limit is None else (row >= 0) & (row <= limit)
            ids = matrices.station_ids
            return sorted((int(row[j]), ids[j]) for j in np.flatnonzero(keep).tolist())
        if outgoing:
            table = self.city.station_distance_m
            pairs = ((other, (station, other)) for other in self.city.stations)
        else:
            table = self.city.station_travel_s
            pairs = ((other, (other, station)) for other in self.city.stations)
        return sorted(
            (value, other)
            for other, key in pairs
            if (value := table.get(key)) is not None and (limit is None or value <= limit)
        )


def _is_valid(eps: EPS | None, t: int) -> TypeGuard[EPS]:
    """Whether ``eps`` is a signal in force at ``t``."""
    return eps is not None and eps.issued_at <= t < eps.expiry


@dataclass(slots=True)
class ElectricVehicle:
    """A private or fleet EV: its battery, its secret, where it is, and how it decides.

    ``location`` is the station the vehicle is at, None when at home (private charger).
    ``reference_price_micro`` is what the driver expects to pay for energy (its running
    average of observed prices): the yardstick for "the best time to charge or discharge".
    ``profile`` is the simulation's driver profile, opaque here.
    """

    vehicle_id: str
    secret: bytes = field(repr=False)
    battery: Battery
    home_region: str
    profile: object | None = None
    price_aware: bool = True
    location: str | None = None
    reference_price_micro: int = 250_000
    costs: CostModel = field(default_factory=CostModel)
    policy: DrivingPolicy = field(default_factory=DrivingPolicy)
    _issued: dict[str, KeyPair] = field(default_factory=dict, repr=False)

    # --- keys and claims (paper Fig. 5) ------------------------------------------------------

    @property
    def home_key(self) -> KeyPair:
        """The long-term key of home and office transactions, never shown at a station."""
        return KeyPair.from_seed(hmac.new(self.secret, b"home", hashlib.sha256).digest())

    def one_time_key(self, trip_index: int, end: TripEnd) -> KeyPair:
        """The fresh key for one end of one trip (paper §II-B: "two one-time PKs that are used
        exclusively for public charging or discharging during a single trip").

        The caller gives each trip a new index; the vehicle remembers the key until it claims.
        """
        key = KeyPair.from_seed(compute_one_time_seed(self.secret, trip_index, end))
        self._issued[key.public_hex] = key
        return key

    def claim(self, source: Presence, destination: Presence, t: int) -> TripClaim:
        """Fig. 5 step 5: name both presences and prove holding PK1 and PK2 by signing with both.

        The claim goes to the verifiers only: it is the one object linking PK1 and PK2. The
        vehicle signs only a claim the verifiers' chain would accept on its face: two different
        stations (IOME-CLAIM-007), t1 before t2 (IOME-CLAIM-003), made after the trip ended
        (IOME-CLAIM-006). A refused claim keeps both keys, which a later claim cannot reuse.

        Raises:
            UsageError: the vehicle holds no key of one of the presences.
            Rejected: IOME-CLAIM-007, IOME-CLAIM-003, IOME-CLAIM-006.
        """
        source_key = self._issued.get(source.one_time_pk)
        destination_key = self._issued.get(destination.one_time_pk)
        if source_key is None or destination_key is None:
            raise UsageError("vehicle", f"{self.vehicle_id} holds no one-time key of that presence")
        check_claim_stations_differ(source, destination)
        check_claim_order(source, destination)
        claim = TripClaim.create(
            {"source_sig": source_key, "destination_sig": destination_key},
            source_presence_id=source.tx_id,
            destination_presence_id=destination.tx_id,
            source_pk=source.one_time_pk,
            destination_pk=destination.one_time_pk,
            timestamp=t,
        )
        check_claim_after_trip(claim, destination)
        del self._issued[source.one_time_pk], self._issued[destination.one_time_pk]
        return claim

    def observe_price(self, price_micro: int) -> None:
        """Fold a paid or observed price into the reference price (exponential average)."""
        weight = self.policy.reference_weight
        self.reference_price_micro = round(
            (1 - weight) * self.reference_price_micro + weight * price_micro
        )

    # --- decisions (paper §III steps 3-5) ----------------------------------------------------

    @property
    def reserve_wh(self) -> int:
        """Energy the vehicle keeps on arrival anywhere (``DrivingPolicy.reserve_fraction``)."""
        return int(self.battery.usable_wh * self.policy.reserve_fraction)

    @property
    def v2g_floor_wh(self) -> int:
        """Energy a discharge leaves in the battery (``DrivingPolicy.v2g_floor_fraction``)."""
        return max(int(self.battery.usable_wh * self.policy.v2g_floor_fraction), self.reserve_wh)

    @property
    def target_wh(self) -> int:
        """State of charge a charge aims at (``DrivingPolicy.target_fraction``)."""
        return int(self.battery.usable_wh * self.policy.target_fraction)

    def current_region(self, city: RoadMap) -> str:
        return self.home_region if self.location is None else city.station_region[self.location]

    def decide(
        self,
        eps_by_region: Mapping[str, EPS],
        planned_trip: TripPlan | None,
        city: RoadMap,
        now: int,
        *,
        index: StationIndex | None = None,
    ) -> Decision:
        """Choose what to do under the current price signals (paper §III step 4).

        A trip departing before the origin region's EPS expires: charge first if the battery
        cannot make the trip with its reserve; otherwise discharge at the best station L on the
        way (by :func:`net_gain`) if it gains at least ``min_gain_micro``, else go straight.
        Otherwise a price-aware vehicle behaves as a baseline one here: straight, and charge
        when low. Its price response outside detours lives in :meth:`decide_window`, inside
        the sessions its habits make anyway (an extra session per price swing would make the
        simulated drivers plug in far more often, and for shorter, than real ones).

        Pass one shared ``index`` per city; without it a throwaway index is built.

        Raises:
            UsageError: the planned trip has no route.
        """
        if planned_trip is not None:
            route = (planned_trip.origin_station, planned_trip.destination_station)
            need = city.station_energy_wh.get(route)
            if need is None:
                raise UsageError("vehicle", f"no route {route[0]} -> {route[1]}")
            if self.battery.soc_wh < need + self.reserve_wh:
                return self._charge_to_target(planned_trip.origin_station)
        if not self.price_aware:
            return self._decide_baseline(planned_trip)
        if planned_trip is not None:
            origin_eps = eps_by_region.get(city.station_region[planned_trip.origin_station])
            if (
                _is_valid(origin_eps, now)
                and now <= planned_trip.departure_time < origin_eps.expiry
            ):
                return self._decide_detour(
                    eps_by_region, planned_trip, origin_eps, city, index or StationIndex(city)
                )
        return self._decide_baseline(planned_trip)

    def decide_window(
        self, eps: EPS | None, station_id: str | None, habitual_wh: int, now: int
    ) -> Decision:
        """What to do in a habitual plug-in window that starts at ``now`` (paper §III: "the
        best time to charge or discharge").

        ``habitual_wh`` is what the driver's habit charges in this window (about what it
        drives until the next one). A baseline vehicle, or one without a signal in force,
        charges exactly that. A price-aware vehicle keeps the window (same station, same
        plug-in and plug-out) and moves its energy by the price:

        - discharge (V2G) when the feed-in tariff plus incentive, net of battery wear, beats
          the reference price by at least ``min_gain_micro`` over the energy it can spare: what
          lies above the V2G floor and above the low-battery threshold (or reserve) plus
          ``habitual_wh`` for the next trips, at most ``max_session_wh``;
        - else charge ``habitual_wh * reference / price``, bounded to ``1 ± window_flex``
          times the habit (more when energy is cheaper than usual, less when dearer), raised
          to what keeps that floor for the next trips, and limited by the battery's headroom.

        The session is then signed by the station and the vehicle's one-time key as any other.
        """
        charge = Decision("charge_now", station_id, habitual_wh)
        if habitual_wh <= 0:
            return _IDLE
        if not self.price_aware or not _is_valid(eps, now):
            return charge
        battery, policy = self.battery, self.policy
        usable = battery.usable_wh
        floor = max(self.reserve_wh, int(usable * policy.baseline_charge_below)) + habitual_wh
        reference = self.reference_price_micro
        paid = eps.feed_in_micro_per_kwh + eps.incentive_micro_per_kwh
        margin = paid - self.costs.cycle_cost_micro_per_kwh(usable) - reference
        spare = min(battery.soc_wh - max(floor, self.v2g_floor_wh), policy.max_session_wh)
        if spare > 0 and margin > 0:
            gain = round(margin * spare / _WH_PER_KWH)
            if gain >= policy.min_gain_micro:
                return Decision("discharge_now", station_id, spare, gain)
        price = eps.price_micro_per_kwh
        ratio = reference / price if price > 0 else 1 + policy.window_flex
        factor = min(max(ratio, 1 - policy.window_flex), 1 + policy.window_flex)
        energy = max(round(habitual_wh * factor), floor - battery.soc_wh)
        energy = min(energy, battery.headroom_wh)
        if energy <= 0:
            return _IDLE
        gain = round((reference - price) * (energy - habitual_wh) / _WH_PER_KWH)
        return Decision("charge_now", station_id, energy, gain)

    def _charge_to_target(self, station_id: str | None) -> Decision:
        energy = min(max(self.target_wh - self.battery.soc_wh, 0), self.policy.max_session_wh)
        if energy <= 0:
            return _IDLE
        return Decision("charge_now", station_id, energy)

    def _decide_baseline(self, planned_trip: TripPlan | None) -> Decision:
        """Price-unaware driver: go where planned; top up when the battery runs low."""
        low = self.battery.soc_wh < self.battery.usable_wh * self.policy.baseline_charge_below
        if low:
            return self._charge_to_target(self.location)
        return _STRAIGHT if planned_trip is not None else _IDLE

    def _decide_detour(
        self,
        eps_by_region: Mapping[str, EPS],
        trip: TripPlan,
        origin_eps: EPS,
        city: RoadMap,
        index: StationIndex,
    ) -> Decision:
        """Best L by net gain among stations near either trip end; straight if none gains.

        Energy discharged at L is the disposable energy: what is left above the energy to reach
        L and then the destination and the V2G floor (:attr:`v2g_floor_wh`, at least the
        arrival reserve), at most one session. L is only a
        candidate where discharging pays after battery wear at least the reference price
        (paper §II-A: EVs "discharge when they have disposable energy"): otherwise the paper's
        tariff difference could favour selling energy the driver must buy back dearer.
        """
        origin, destination = trip.origin_station, trip.destination_station
        battery, policy, costs = self.battery, self.policy, self.costs
        usable, keep = battery.usable_wh, self.v2g_floor_wh
        distance, energy = city.station_distance_m, city.station_energy_wh
        regions = city.station_region
        straight_m = distance.get((origin, destination))
        straight_wh = energy.get((origin, destination))
        if straight_m is None or straight_wh is None:
            return _STRAIGHT
        feed_in_current = origin_eps.feed_in_micro_per_kwh
        floor = self.reference_price_micro + costs.cycle_cost_micro_per_kwh(usable)
        best = _STRAIGHT
        seen: set[str] = set()
        for station in (*index.near(origin), *index.near(destination)):
            if station in seen or station == origin:
                continue
            seen.add(station)
            eps = eps_by_region.get(regions[station])
            if not _is_valid(eps, trip.departure_time):
                continue
            paid = eps.feed_in_micro_per_kwh + eps.incentive_micro_per_kwh
            if paid <= feed_in_current or paid < floor:
                continue
            to_l, from_l = distance.get((origin, station)), distance.get((station, destination))
            wh_to, wh_from = energy.get((origin, station)), energy.get((station, destination))
            if to_l is None or from_l is None or wh_to is None or wh_from is None:
                continue
            extra_m = to_l + from_l - straight_m
            if extra_m > policy.max_detour_m:
                continue
            disposable = battery.soc_wh - wh_to - wh_from - keep
            amount = min(disposable, policy.max_session_wh)
            if amount <= 0:
                continue
            extra_wh = max(wh_to + wh_from - straight_wh, 0)
            gain = net_gain(
                feed_in_l=eps.feed_in_micro_per_kwh,
                feed_in_current=feed_in_current,
                incentive_l=eps.incentive_micro_per_kwh,
                energy_wh=amount,
                extra_distance_m=extra_m,
                extra_cycle_fraction=extra_wh / usable,
                costs=costs,
            )
            if gain >= policy.min_gain_micro and (
                gain > best.gain_micro
                or (gain == best.gain_micro and station < (best.station_id or ""))
            ):
                best = Decision("discharge_at", station, amount, gain, extra_m)
        return best
