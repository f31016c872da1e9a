"""The closed energy-mobility loop of the paper, in rounds, with every role a real actor.

One round (paper Fig. 4 steps 1-5, Fig. 5 steps 1-11):
predictions (BEMs, with weather records) -> prices (the distribution company's EPS per region,
using the last O-D matrix) -> vehicle decisions and movement (presences, charging sessions)
-> trip extraction (claims to the verifier quorum) -> O-D matrix -> child-chain blocks and
anchors (with backup takeover) -> ground truth (homes' actual energy, sealed device readings).

Every object on a ledger is built and signed by the actor holding the key, and every block is
submitted to the node's ledger, which judges it by the full rules: a refusal is a bug in the
simulation, never swallowed.

Cost (issue 16): what is batched leaves every step of the paper as it was, so the outputs of a
seed are byte-identical to before. Each device sends one sealed, signed upload per metering
call (``simulation.homes.send_measurements``); a home's seal randomness is drawn in one call
(the same bytes); readings are written and read in their RFC 8785 form without the generic
encoder and parser (each proven equal to them); a BEM learns all its pending periods in one
numpy pass (the same samples) and the feature rows of a forecast window are computed once per
region; blocks are cut by size from the bytes each transaction carries; the baseline run shares
the price-aware run's keys. Every reading is still sealed, opened and verified, every
transaction signed by its actor and judged by the node. What remains is mostly signatures,
their verification by the node and the verifier quorum, and model construction
(``tests/bench/test_bench_simulation.py`` measures CPU per trip, before/after).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from iome_ref.chain.store import Store
from iome_ref.constants import MAX_CHARGE_SESSION_S, MAX_SAFE_INT
from iome_ref.crypto import KeyPair
from iome_ref.encoding import canonical_json, compute_hash
from iome_ref.errors import UsageError
from iome_ref.models import (
    EPS,
    ESDP,
    ChargeSession,
    DataCommitment,
    ODMatrix,
    SignedModel,
    Trip,
)
from iome_ref.roles.bem import BuildingEnergyManager
from iome_ref.roles.devices import DeviceKind, IoTDevice, derive_x25519_private
from iome_ref.roles.fleet import RideRequest, RideShareFleet
from iome_ref.roles.grid import DistributionCompany
from iome_ref.roles.predictor import MobilityPredictor
from iome_ref.roles.station import ChargingStation, Direction
from iome_ref.roles.vehicle import Battery, Decision, ElectricVehicle, StationIndex
from iome_ref.roles.weather import Climate, WeatherProvider, co_sign_record
from iome_ref.simulation.city import City, generate_city
from iome_ref.simulation.drivers import DriverProfile, PlannedTrip, TripPlanner, draw_profiles
from iome_ref.simulation.graphml import load_graphml
from iome_ref.simulation.homes import (
    HomeEnergy,
    HomeProfile,
    compute_device_id,
    draw_home,
    send_measurements,
    simulate_home_energy,
)
from iome_ref.simulation.network import (
    PUBLIC,
    VERIFIERS,
    Network,
    build_network,
)
from iome_ref.simulation.routing import check_station_count
from iome_ref.simulation.sessions import FITTED, kwh_at
from iome_ref.simulation.summary import RegionRound, RoundRecord

__all__ = ["Simulation", "SimulationConfig", "compute_child_chain_names"]

#: Certificates run a year from T_CERT; the simulated clock starts a day later.
T_CERT = 1_704_067_200
FLEET = "fleet"
#: Charger power for the duration of a session (11 kW bidirectional, DrivingPolicy's basis).
SESSION_POWER_W = 11_000
#: Energy the grid expects per arriving trip when it reads the O-D matrix: the median session
#: of the real charging data the drivers are fitted to.
TYPICAL_SESSION_WH = round(kwh_at(0.5, FITTED) * 1000)


def compute_child_chain_names(regions: int) -> tuple[str, ...]:
    """The child chains of a run with ``regions`` regions ``r0 .. r{k-1}``: the fleet's, then
    one per region, a virtual power plant for even regions and a microgrid for odd ones
    (paper Fig. 4): ``fleet, vpp-r0, mg-r1, vpp-r2, ...``."""
    return (FLEET, *(f"{'vpp' if i % 2 == 0 else 'mg'}-r{i}" for i in range(regions)))


@dataclass(frozen=True)
class SimulationConfig:
    """Everything that shapes a run; with the seed, it fixes every byte of the output."""

    seed: int = 1
    evs: int = 200
    stations: int = 20
    homes: int = 100
    rounds: int = 4
    regions: int = 5
    round_s: int = 6 * 3600
    time_bucket_s: int = 900
    fleet_share: float = 0.1
    #: Share of private vehicles whose owners act on price signals (paper §IV: "Depending on
    #: the perceived benefits and costs, EV owners will decide whether to participate"). The
    #: others drive and charge by habit, like every vehicle of the baseline. Participants keep
    #: their habitual sessions and answer prices inside them and by the paper's detour to
    #: discharge (ElectricVehicle.decide_window, decide), never down to less than half their
    #: battery. When every owner answers the same regional price, discharging overshoots the
    #: deficits it answers (seed 1, 200 EVs, 100 homes, 4 rounds of 6 h: imbalance 3.2 %
    #: below the baseline at 0.1, 6.0 % at 0.25, 14.2 % at 0.5, 3.7 % at 1.0). 0.25 is the
    #: default: at it the drivers stay as habitual as Norway's (tests/analysis/test_realism.py).
    participation: float = 0.25
    price_aware: bool = True
    #: Stop this child chain's manager at the start of this round (0-based, below ``rounds``);
    #: its backup takes over.
    fail_manager: tuple[str, int] | None = None
    graphml: Path | None = None

    def __post_init__(self) -> None:
        """Refuse a config no run can honour, before any key is made or file written."""
        if isinstance(self.stations, int) and not isinstance(self.stations, bool):
            check_station_count(self.stations)
        bounds: tuple[tuple[str, type, float, float], ...] = (
            ("seed", int, 0, MAX_SAFE_INT),
            ("evs", int, 1, MAX_SAFE_INT),
            ("stations", int, 2, MAX_SAFE_INT),
            ("homes", int, 1, MAX_SAFE_INT),
            ("rounds", int, 1, MAX_SAFE_INT),
            ("regions", int, 1, MAX_SAFE_INT),
            ("round_s", int, 3600, 86_400),
            ("time_bucket_s", int, 1, 86_400),
            ("fleet_share", float, 0.0, 1.0),
            ("participation", float, 0.0, 1.0),
        )
        for name, kind, low, high in bounds:
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or (kind is int and not isinstance(value, int))
            ):
                raise UsageError("simulate", f"{name}: expected {kind.__name__}, found {value!r}")
            if not low <= value <= high:
                raise UsageError("simulate", f"{name}: expected {low}..{high}, found {value}")
        self._check_fail_manager()

    def _check_fail_manager(self) -> None:
        """A failure nobody would see (unknown chain, a round that never runs) is refused."""
        if self.fail_manager is None:
            return
        chain, round_index = self.fail_manager
        chains = compute_child_chain_names(self.regions)
        if chain not in chains:
            raise UsageError(
                "simulate",
                f"fail_manager: no child chain {chain!r} with {self.regions} regions; "
                f"expected one of {', '.join(chains)}",
            )
        if isinstance(round_index, bool) or not isinstance(round_index, int):
            raise UsageError(
                "simulate", f"fail_manager: round must be an int, found {round_index!r}"
            )
        if not 0 <= round_index < self.rounds:
            raise UsageError(
                "simulate",
                f"fail_manager: round {round_index} is outside the run's rounds "
                f"0..{self.rounds - 1}",
            )

    @property
    def t0(self) -> int:
        return T_CERT + 24 * 3600


@dataclass(frozen=True)
class DrawnProfiles:
    """A run's driver profiles and its driving stream's state right after drawing them.

    ``draw_profiles`` is a function of the city, the vehicle count and the seeded stream, and
    profiles are frozen: a run of the same seed, city and count (the baseline beside its
    price-aware twin) takes these instead of drawing them again, and continues the stream
    from the same state, so every later draw is the same (tested: the same records).
    """

    profiles: tuple[DriverProfile, ...]
    rng_state_after: Mapping[str, Any]
    #: What the draws depend on: seed, vehicles, and what makes the city.
    drawn_for: tuple[object, ...]


def _profiles_depend_on(config: SimulationConfig) -> tuple[object, ...]:
    c = config
    return (c.seed, c.evs, c.stations, c.homes, c.regions, c.graphml)


@dataclass
class _Home:
    profile: HomeProfile
    bem: BuildingEnergyManager
    devices: dict[DeviceKind, IoTDevice]
    chain_id: str


@dataclass
class _Round:
    """What one round accumulates before it is published."""

    record: RoundRecord
    public: list[SignedModel] = field(default_factory=list)
    children: dict[str, list[SignedModel]] = field(default_factory=dict)
    trips: list[Trip] = field(default_factory=list)
    eps: dict[str, EPS] = field(default_factory=dict)


class Simulation:
    """A seeded run of the loop; ``run`` returns the per-round records."""

    def __init__(
        self,
        config: SimulationConfig,
        store: Store,
        keys: dict[str, KeyPair] | None = None,
        drawn: DrawnProfiles | None = None,
    ) -> None:
        """A run of ``config`` on ``store``; ``keys``, the ``net.keys`` of an earlier run of
        the same seed, spares deriving its keys again (``build_network``); ``drawn``, the
        ``drawn`` of an earlier run of the same seed, city and vehicle count, drawing its
        driver profiles again (``_make_vehicles``)."""
        self.config = config
        # One independent stream per concern, so adding draws in one never shifts another.
        # Stream 0 is reserved for the city, which generate_city derives from the seed itself.
        seeds = np.random.SeedSequence(config.seed).spawn(6)
        (
            _,
            self.rng_drive,
            self.rng_energy,
            self.rng_verify,
            self.rng_weather,
            self.rng_fleet,
        ) = (np.random.default_rng(s) for s in seeds)
        self.city = self._build_city()
        self.child_chains = list(compute_child_chain_names(len(self.city.regions)))
        self.net: Network = build_network(
            config.seed,
            store,
            t0=T_CERT,
            station_ids=self.city.station_ids,
            child_chains=self.child_chains,
            travel_time=self.city.station_travel_s,
            rng=self.rng_verify,
            time_bucket_s=config.time_bucket_s,
            keys=keys,
        )
        self.index = StationIndex(self.city)
        key = self.net.key
        self.stations = {
            s: ChargingStation(s, key(s), self.city.station_region[s])
            for s in self.city.station_ids
        }
        self.predictor = MobilityPredictor(key("predictor"))
        self.grid = DistributionCompany("grid", key("grid"), list(self.city.regions))
        self.climate = Climate(config.seed)
        self.weather = WeatherProvider(key("weather"), self.climate)
        self.homes = [self._make_home(h) for h in sorted(self.city.homes)]
        self.vehicles = self._make_vehicles(drawn)
        self.completed: Counter[tuple[str, str]] = Counter()
        self.last_ods: list[ODMatrix] = []
        self.trip_counter = 0
        self.records: list[RoundRecord] = []
        self.backlog: dict[str, list[SignedModel]] = {}
        n_fleet = round(config.evs * config.fleet_share)
        self.fleet = RideShareFleet(FLEET, self.vehicles[:n_fleet])
        self.fleet_ids = {v.vehicle_id for v in self.fleet.vehicles}
        #: Each private vehicle's trips_for_round, every day planned once (TripPlanner).
        self.planners = {
            v.vehicle_id: TripPlanner(cast("DriverProfile", v.profile))
            for v in self.vehicles[n_fleet:]
        }
        #: Public sessions still running at the end of their round, published when they end.
        self.plugged_in: list[ChargeSession] = []

    # --- set-up -----------------------------------------------------------------------------

    def _build_city(self) -> City:
        c = self.config
        if c.graphml is not None:
            return load_graphml(c.graphml, c.seed, c.stations, c.homes, c.regions)
        return generate_city(c.seed, c.stations, c.homes, c.regions)

    def _region_chain(self, region: str) -> str:
        """Even regions run a virtual power plant, odd ones a microgrid (paper Fig. 4)."""
        return self.child_chains[1 + self.city.regions.index(region)]

    def _make_home(self, home_id: str) -> _Home:
        region = self.city.home_region[home_id]
        profile = draw_home(home_id, region, self.rng_energy)
        bem = BuildingEnergyManager(
            home_id,
            region,
            self.net.key(f"{home_id}/bem"),
            derive_x25519_private("sim", self.config.seed, home_id, "bem"),
        )
        devices = {}
        for kind in profile.device_kinds:
            device_id = compute_device_id(home_id, kind)
            devices[kind] = IoTDevice(device_id, self.net.key(device_id), kind)
            bem.register_device(device_id, devices[kind].public_hex, kind)
        return _Home(profile, bem, devices, self._region_chain(region))

    def _make_vehicles(self, drawn: DrawnProfiles | None) -> list[ElectricVehicle]:
        drawn_for = _profiles_depend_on(self.config)
        if drawn is None:
            profiles = draw_profiles(self.city, self.config.evs, self.rng_drive)
            drawn = DrawnProfiles(tuple(profiles), self.rng_drive.bit_generator.state, drawn_for)
        else:
            if drawn.drawn_for != drawn_for:
                raise UsageError(
                    "simulation",
                    f"profiles drawn for {drawn.drawn_for}, not for this run's {drawn_for}",
                )
            # The same draws from the same seeded stream: take their result and the stream's
            # state after them (DrawnProfiles).
            profiles = list(drawn.profiles)
            self.rng_drive.bit_generator.state = dict(drawn.rng_state_after)
        #: What this run drew for its drivers, for a later run of the same seed to reuse.
        self.drawn = drawn
        # Drawn for every run alike, so the baseline differs from its price-aware twin only in
        # whether anyone acts on prices.
        participates = self.rng_drive.random(len(profiles)) < self.config.participation
        vehicles = []
        for i, profile in enumerate(profiles):
            capacity = int(self.rng_drive.choice([40_000, 60_000, 77_000]))
            soh = round(float(self.rng_drive.uniform(0.75, 1.0)), 3)
            usable = int(capacity * soh)
            soc = int(usable * float(self.rng_drive.uniform(0.4, 0.9)))
            vehicles.append(
                ElectricVehicle(
                    vehicle_id=profile.vehicle_id,
                    secret=self.net.key(f"ev-{i}/secret").public_bytes,
                    battery=Battery(capacity, soc, soh),
                    home_region=profile.home_region,
                    profile=profile,
                    price_aware=self.config.price_aware and participates[i],
                    location=profile.home_station,
                )
            )
        return vehicles

    # --- the loop ---------------------------------------------------------------------------

    def run(self, progress: Callable[[int], None] | None = None) -> list[RoundRecord]:
        """Start, then every configured round; ``progress`` hears each finished round."""
        self.start()
        for _ in range(self.config.rounds):
            record = self.step()
            if progress is not None:
                progress(record.round)
        return self.records

    def start(self) -> None:
        """Register the grid's price chain and give the homes a day of metering history."""
        self._register_grid()
        self._warm_up()

    def step(self) -> RoundRecord:
        """Run the next round of the loop and return its record.

        Any failure is a bug in an actor or in the reference, never an expected refusal; it
        carries the seed and round so that ``iome simulate`` with them replays it exactly.
        """
        r = len(self.records)
        try:
            self._round(r)
        except Exception as exc:
            exc.add_note(f"simulation seed {self.config.seed}, round {r}: {self.config}")
            raise
        return self.records[-1]

    def _register_grid(self) -> None:
        t = self.config.t0 - 3600
        reg = self.net.authority.register_issuer(
            self.grid.key.public_hex, "grid", self.city.regions, t
        )
        self.grid.on_registration(reg)
        self.net.publish(PUBLIC, [reg], t)

    def _warm_up(self) -> None:
        """A day of metering before the first round, so BEMs forecast from history rather than
        from priors. Nothing of it is published: it is the homes' past."""
        start = self.config.t0 - 24 * 3600
        forecasts = {
            g: self.weather.forecast(g, start, self.rng_weather, hours=24)
            for g in self.city.regions
        }
        for home in self.homes:
            home.bem.on_forecast(forecasts[home.profile.region])
        self._meter_homes(start, self.config.t0)

    def _meter_homes(self, start: int, end: int) -> list[HomeEnergy]:
        """What each home actually made and used over ``[start, end)``, in ``homes`` order;
        its devices sign and seal their readings to its BEM, which opens and checks them."""
        hours = (end - start) // 3600
        weather = {g: self.climate.actual(g, start, hours) for g in self.city.regions}
        energies = []
        for home in self.homes:
            energy = simulate_home_energy(
                home.profile, start, end, weather[home.profile.region], self.rng_energy
            )
            send_measurements(home.devices, home.bem, energy.measurements, self.rng_energy)
            energies.append(energy)
        return energies

    def _round(self, r: int) -> None:
        start = self.config.t0 + r * self.config.round_s
        end = start + self.config.round_s
        state = _Round(RoundRecord(r, start, end, {g: RegionRound() for g in self.city.regions}))
        state.children = {chain: [] for chain in self.child_chains}
        state.eps = self._energy_step(state, start, end)
        self._mobility_step(state, start)
        self._publish_mobility(state, start, end)
        self._ground_truth(state, start, end)
        self._child_chains(state, r, end)
        self.records.append(state.record)

    def _energy_step(self, state: _Round, start: int, end: int) -> dict[str, EPS]:
        """Fig. 4 steps 1-3: weather, BEM predictions, regional forecast and prices."""
        hours = self.config.round_s // 3600
        forecasts = {
            g: self.weather.forecast(g, start - 600, self.rng_weather, hours=hours + 1)
            for g in self.city.regions
        }
        # The hash a record names is the forecast message's, the same for every home of its
        # region: hashed once per region (each BEM still verifies the forecast it receives).
        message_hashes = {g: forecast.message_hash for g, forecast in forecasts.items()}
        esdps: list[ESDP] = []
        records: list[SignedModel] = []
        for home in self.homes:
            region = home.profile.region
            forecast = forecasts[region]
            home.bem.on_forecast(forecast)
            records.append(
                co_sign_record(message_hashes[region], home.bem.key, self.weather.key, start - 600)
            )
            supply, demand = home.bem.forecast(start, end, forecast)
            esdps.append(home.bem.publish_esdp(start, end, supply, demand, start - 300))
        regional = self.grid.forecast_regions(
            esdps,
            self.last_ods,
            self.city.station_region,
            TYPICAL_SESSION_WH,
            window_s=self.config.round_s,
        )
        prices = self.grid.set_prices(regional)
        signals = {}
        for region, expected in regional.items():
            record = state.record.regions[region]
            record.predicted_supply_wh = expected.supply_wh
            record.predicted_demand_wh = expected.demand_wh
            p = prices[region]
            record.price_micro_per_kwh, record.feed_in_micro_per_kwh = p.price, p.feed_in
            record.incentive_micro_per_kwh = p.incentive
            signals[region] = self.grid.publish_eps(region, p, start - 60, end)
            esdps.append(self.grid.publish_esdp(region, expected, start, end, start - 60))
        # Predictions and prices go on the public chain at the start of the round they price,
        # while they are in force (IOME-EPS-011): vehicles act on them during the round. The
        # authority's current revocation list rides with them: certificates are judged by
        # what the chain holds (chains.md, "What a verdict may depend on").
        crl = self.net.authority.revocation_list(start)
        self.net.publish(PUBLIC, [crl, *records, *esdps, *signals.values()], start)
        return signals

    def _mobility_step(self, state: _Round, start: int) -> None:
        """Fig. 4 step 4-5 and Fig. 5 steps 1-8: decide, drive, dock, charge, claim."""
        eps = state.eps
        self._fleet_step(state, start)
        for vehicle in self.vehicles[len(self.fleet.vehicles) :]:
            region_eps = eps.get(vehicle.current_region(self.city))
            if region_eps is not None:
                vehicle.observe_price(region_eps.price_micro_per_kwh)
            plans = self.planners[vehicle.vehicle_id].trips_for_round(start, self.config.round_s)
            if not plans:
                decision = vehicle.decide(eps, None, self.city, start, index=self.index)
                self._act_in_place(state, vehicle, decision, start + 1800)
                continue
            for plan in plans:
                self._drive(state, vehicle, plan)

    def _fleet_step(self, state: _Round, start: int) -> None:
        """The ride-share fleet routes with energy cost in its objective (paper §II-A, §III):
        one request per fleet vehicle per round, assigned by the dispatcher."""
        vehicles = self.fleet.vehicles
        if not vehicles:
            return
        ids = self.city.station_ids
        requests = []
        for i in range(len(vehicles)):
            origin, destination = (
                ids[int(j)] for j in self.rng_fleet.choice(len(ids), 2, replace=False)
            )
            t = start + int(self.rng_fleet.integers(0, self.config.round_s * 3 // 4))
            requests.append(RideRequest(f"ride-{start}-{i}", origin, destination, t))
        prices = {region: signal.price_micro_per_kwh for region, signal in state.eps.items()}
        by_id = {v.vehicle_id: v for v in vehicles}
        by_request = {r.request_id: r for r in requests}
        assignments = self.fleet.assign(requests, prices, self.city, index=self.index)
        # The dispatcher keeps its log and commits to it on the fleet's child chain (paper §III).
        log = canonical_json([asdict(a) for a in assignments])
        office = self.net.in_office(FLEET)
        state.children[FLEET].append(
            DataCommitment.create(
                {"signature": office.key},
                data_hash=compute_hash(log),
                owner_pk=office.key.public_hex,
                timestamp=start,
            )
        )
        for assignment in assignments:
            vehicle, request = by_id[assignment.vehicle_id], by_request[assignment.request_id]
            if vehicle.location != request.origin:
                pickup = self.city.station_energy_wh.get(
                    (vehicle.location or request.origin, request.origin), 0
                )
                vehicle.battery.drive(min(pickup, vehicle.battery.soc_wh))
                vehicle.location = request.origin
            self._trip(
                state,
                vehicle,
                (request.origin, request.destination),
                request.t + assignment.pickup_s,
            )

    def _drive(self, state: _Round, vehicle: ElectricVehicle, plan: PlannedTrip) -> None:
        """A planned trip under the paper's §III decision: straight, or via L to discharge."""
        now = plan.departure_time
        if vehicle.location != plan.origin_station:
            vehicle.location = plan.origin_station  # repositioned off-network (home charger)
        decision = vehicle.decide(state.eps, plan, self.city, now, index=self.index)
        if decision.action in ("charge_now", "discharge_now"):
            now = self._act_in_place(state, vehicle, decision, now)
            decision = Decision("straight")
        legs = [(plan.origin_station, plan.destination_station)]
        if decision.action == "discharge_at" and decision.station_id is not None:
            legs = [
                (plan.origin_station, decision.station_id),
                (decision.station_id, plan.destination_station),
            ]
        for leg_index, leg in enumerate(legs):
            last = leg_index == len(legs) - 1
            if leg[0] != leg[1]:
                now = self._trip(
                    state,
                    vehicle,
                    leg,
                    now,
                    discharge_wh=0 if last else decision.energy_wh,
                    charge_wh=plan.charge_wh if last else 0,
                    plug_out=plan.plug_out_time if last else None,
                    off_network_wh=plan.off_network_wh if last else 0,
                )

    def _trip(
        self,
        state: _Round,
        vehicle: ElectricVehicle,
        leg: tuple[str, str],
        depart: int,
        *,
        discharge_wh: int = 0,
        charge_wh: int = 0,
        plug_out: int | None = None,
        off_network_wh: int = 0,
    ) -> int:
        """One trip between stations: two presences, a session, a claim, a verified Trip.

        On arrival the vehicle discharges if it chose this station as L, else charges what
        its habit says (``charge_wh``, fitted to real sessions: not capped at one price
        action's ``max_session_wh``, since a car plugged in overnight takes what it needs) as
        moved by its price response (``ElectricVehicle.decide_window``), or tops up when it
        runs low; a habitual session lasts until ``plug_out``. The leg also
        uses ``off_network_wh`` driven beyond the stations (``PlannedTrip.off_network_wh``).
        Returns when it leaves the destination station.
        """
        origin, destination = leg
        travel = self.city.travel_time(origin, destination)
        need = self.city.energy_wh(origin, destination)
        if travel is None or need is None or vehicle.battery.soc_wh < need:
            return depart
        self.trip_counter += 1
        pk1 = vehicle.one_time_key(self.trip_counter, "source")
        pk2 = vehicle.one_time_key(self.trip_counter, "destination")
        src_station, dst_station = self.stations[origin], self.stations[destination]
        src_station.dock(vehicle.vehicle_id, pk1.public_hex, depart)
        source = src_station.sign_presence("source", pk1.public_hex, depart)
        src_station.undock(vehicle.vehicle_id, depart)
        vehicle.battery.drive(need)
        vehicle.battery.drive(min(off_network_wh, vehicle.battery.soc_wh))
        arrive = depart + travel
        dst_station.dock(vehicle.vehicle_id, pk2.public_hex, arrive)
        destination_presence = dst_station.sign_presence("destination", pk2.public_hex, arrive)
        direction: Direction
        if discharge_wh > 0:
            direction, want = "discharge", discharge_wh
        elif charge_wh > 0:  # the habitual window: a price-aware driver moves its energy
            eps = state.eps.get(dst_station.region)
            window = vehicle.decide_window(eps, destination, charge_wh, arrive)
            direction = "discharge" if window.action == "discharge_now" else "charge"
            want = window.energy_wh
        else:
            battery, policy = vehicle.battery, vehicle.policy
            low = battery.soc_wh < battery.usable_wh * policy.baseline_charge_below
            direction = "charge"
            want = min(battery.headroom_wh if low else 0, policy.max_session_wh)
        leave = arrive
        if want > 0:
            leave = self._session(
                state,
                vehicle,
                dst_station,
                pk2,
                direction=direction,
                energy_wh=want,
                start=arrive,
                until=plug_out if charge_wh else None,
            )
        dst_station.undock(vehicle.vehicle_id, leave)
        vehicle.location = destination
        claim = vehicle.claim(source, destination_presence, arrive)
        # The node's verifier quorum judges the claim on its consortium chain and co-signs.
        trip = self.net.node.cosign(claim, source, destination_presence, arrive)
        assert trip is not None, "every verifier of the simulation answers"
        state.trips.append(trip)
        self.completed[leg] += 1
        state.record.trips_completed += 1
        return leave

    def _session(
        self,
        state: _Round,
        vehicle: ElectricVehicle,
        station: ChargingStation,
        key: KeyPair,
        *,
        direction: Direction,
        energy_wh: int,
        start: int,
        until: int | None = None,
    ) -> int:
        """A public (or fleet) charging session at the region's current price; returns its end.

        The session lasts until the vehicle unplugs (``until``, at most IOME-CHG-006's bound),
        or until it is charged; one that ends after this round is published in the round it
        ends in (IOME-BLK-008: no transaction is later than its block).
        """
        battery = vehicle.battery
        moved = battery.charge(energy_wh) if direction == "charge" else battery.discharge(energy_wh)
        if moved <= 0:
            return start
        duration = max(60, moved * 3600 // SESSION_POWER_W)
        if until is not None:
            duration = min(max(duration, until - start), MAX_CHARGE_SESSION_S)
        signal = state.eps.get(station.region)
        price = 0
        if signal is not None:
            price = signal.price_micro_per_kwh
            if direction == "discharge":
                price = signal.feed_in_micro_per_kwh + signal.incentive_micro_per_kwh
        session = station.record_session(key, direction, moved, price, start, start + duration)
        # Fleet vehicles charge inside their fleet's child chain; others on the public chain.
        fleet = vehicle.vehicle_id in self.fleet_ids
        if fleet:
            state.children[FLEET].append(session)
        elif session.end_time > state.record.end:
            self.plugged_in.append(session)
        else:
            state.public.append(session)
        region = state.record.regions[station.region]
        if direction == "charge":
            region.ev_charged_wh += moved
        else:
            region.ev_discharged_wh += moved
        return start + duration

    def _act_in_place(
        self, state: _Round, vehicle: ElectricVehicle, decision: Decision, t: int
    ) -> int:
        """Charge or discharge where the vehicle stands, under a fresh one-time key."""
        if decision.action not in ("charge_now", "discharge_now") or decision.energy_wh <= 0:
            return t
        direction: Direction = "charge" if decision.action == "charge_now" else "discharge"
        if vehicle.location is None:  # a home charger: private, counted in the home's region
            moved = vehicle.battery.charge(decision.energy_wh) if direction == "charge" else 0
            state.record.regions[vehicle.home_region].ev_charged_wh += moved
            return t
        self.trip_counter += 1
        key = vehicle.one_time_key(self.trip_counter, "source")
        station = self.stations[vehicle.location]
        station.dock(vehicle.vehicle_id, key.public_hex, t)
        end = self._session(
            state, vehicle, station, key, direction=direction, energy_wh=decision.energy_wh, start=t
        )
        station.undock(vehicle.vehicle_id, end)
        return end

    def _publish_mobility(self, state: _Round, start: int, end: int) -> None:
        """Fig. 5 steps 8-11: consortium block, public block, then the O-D matrix."""
        batch = self.net.node.take_batch(end)  # judged at the block's time (IOME-CERT-021)
        self.net.publish(VERIFIERS, batch.txs, end)
        withdrawn = {dropped.trip_id for dropped in batch.dropped}
        state.trips = [trip for trip in state.trips if trip.tx_id not in withdrawn]
        ended = [s for s in self.plugged_in if s.end_time <= end]
        self.plugged_in = [s for s in self.plugged_in if s.end_time > end]
        self.net.publish(PUBLIC, [*ended, *state.public, *state.trips], end)
        state.record.trips_extracted = len(state.trips)
        public_trips = self.net.node.get_chain(PUBLIC).trips
        ods = self.predictor.build(public_trips, self.city.station_ids, start, end)
        self.net.publish(PUBLIC, ods, end)
        self.last_ods = ods
        zones = {zone: k for k, zone in enumerate(self.city.station_ids)}
        state.record.od_matrix = {
            "zones": list(self.city.station_ids),
            "cells": sorted(
                [zones[od.origins[i]], zones[od.destinations[j]], count]
                for od in ods
                for i, j, count in od.cells
            ),
            "parts": len(ods),
        }

    def _ground_truth(self, state: _Round, start: int, end: int) -> None:
        """What actually happened in each region, and the readings the BEMs learn from."""
        for home, energy in zip(self.homes, self._meter_homes(start, end), strict=True):
            region = state.record.regions[home.profile.region]
            region.actual_supply_wh += energy.actual_supply_wh
            region.actual_demand_wh += energy.actual_demand_wh
            state.children[home.chain_id].append(home.bem.commit_raw_data(end))
        for region in state.record.regions.values():
            region.actual_demand_wh += region.ev_charged_wh
            region.actual_supply_wh += region.ev_discharged_wh

    def _child_chains(self, state: _Round, r: int, end: int) -> None:
        """Managers publish their chains' blocks and anchor them; a backup takes over a
        manager that went silent (paper §III), continuing the anchor sequence."""
        fail = self.config.fail_manager
        anchors: list[SignedModel] = []
        public_state = self.net.node.get_chain(PUBLIC)
        for chain_id in self.child_chains:
            manager, backup = self.net.managers[chain_id], self.net.backups[chain_id]
            if fail is not None and fail == (chain_id, r):
                manager.active = False
            tip = public_state.anchor_tips.get(chain_id)
            if not manager.active and not backup.active:
                office_since = public_state.handover_times.get(chain_id)
                if tip is None or not backup.is_manager_silent(tip, end, office_since):
                    self._pending_children(state, chain_id)
                    continue
                anchors.append(backup.take_over(manager.key.public_hex, tip, end, office_since))
            office = self.net.in_office(chain_id)
            self.net.publish(chain_id, self._take_pending(state, chain_id), end)
            anchor = office.anchor(self.net.node.get_chain(chain_id), tip, end)
            if anchor is not None:
                anchors.append(anchor)
        self.net.publish(PUBLIC, anchors, end)

    def _pending_children(self, state: _Round, chain_id: str) -> None:
        """Nobody is in office: the chain's members keep their transactions until someone is."""
        self.backlog.setdefault(chain_id, []).extend(state.children[chain_id])

    def _take_pending(self, state: _Round, chain_id: str) -> list[SignedModel]:
        return [*self.backlog.pop(chain_id, []), *state.children[chain_id]]

    # --- reporting --------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        c = self.config
        return {
            "seed": c.seed,
            "evs": c.evs,
            "stations": len(self.city.station_ids),
            "homes": len(self.homes),
            "regions": list(self.city.regions),
            "rounds": c.rounds,
            "round_s": c.round_s,
            "time_bucket_s": c.time_bucket_s,
            "price_aware": c.price_aware,
            "participation": c.participation,
            "child_chains": self.child_chains,
            "fail_manager": f"{c.fail_manager[0]}@{c.fail_manager[1]}" if c.fail_manager else None,
            "driver_fit": {
                "source": "norway-residential-ev-sessions (Sørensen et al. 2021)",
                "sessions": FITTED.sessions,
                "drivers": FITTED.drivers,
                "plugin_hour_shares": list(FITTED.plugin_hour_weights),
                "kwh_quantiles": list(FITTED.kwh_quantiles),
                "sessions_per_week_mean": FITTED.sessions_per_week_mean,
                "weekend_ratio": FITTED.weekend_ratio,
            },
        }
