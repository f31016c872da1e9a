"""A simulated run with its ground truth recorded beside it, never inside the observer's view.

Why a subclass of the simulation: the public chain holds no vehicle ids (that is the point), and
the consortium chain's claims pair PK1 with PK2 but still name no vehicle. The truth an
observer is scored against (which vehicle held each one-time key, which keys made each trip)
exists only inside the run, so the run records it as it happens. The observer's view is then
read from the run's public chain by the same code that reads a ledger file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from iome_ref.analysis.observations import (
    GroundTruth,
    Observation,
    ObservedSession,
    ObservedTrip,
    TravelMatrix,
)
from iome_ref.chain.store import MemoryStore
from iome_ref.simulation.loop import Simulation, SimulationConfig
from iome_ref.simulation.network import PUBLIC

__all__ = ["SimulatedRun", "TrueTrip", "run_with_truth"]


@dataclass(frozen=True)
class TrueTrip:
    vehicle: str
    origin: str
    destination: str
    depart: int
    arrive: int
    departure_key: str | None  # the fresh key of a session that ended at ``depart`` at origin
    arrival_key: str  # PK2: signs the arrival session if the vehicle charged


class _RecordingSimulation(Simulation):
    """The simulation, noting which vehicle used each key and each trip's keys."""

    def __init__(self, config: SimulationConfig) -> None:
        super().__init__(config, MemoryStore())
        self.key_vehicle: dict[str, str] = {}
        self.true_trips: list[TrueTrip] = []
        #: Per vehicle, the last key that signed a session: (key, station, session end).
        self._last_session: dict[str, tuple[str, str, int]] = {}

    def _trip(self, state: Any, vehicle: Any, leg: tuple[str, str], depart: int, **kw: Any) -> int:
        before = self.trip_counter
        leave: int = super()._trip(state, vehicle, leg, depart, **kw)
        if self.trip_counter == before:
            return leave
        pk2 = vehicle.one_time_key(self.trip_counter, "destination").public_hex
        self.key_vehicle[pk2] = vehicle.vehicle_id
        travel = self.city.travel_time(*leg)
        last = self._last_session.get(vehicle.vehicle_id)
        departure_key = last[0] if last and last[1] == leg[0] and last[2] == depart else None
        # A session on arrival (charge, or discharge at a detour's stop) ends at ``leave``; a
        # next leg leaving then is "departed under" the same key.
        self._last_session[vehicle.vehicle_id] = (pk2, leg[1], leave)
        self.true_trips.append(
            TrueTrip(
                vehicle.vehicle_id,
                leg[0],
                leg[1],
                depart,
                depart + (travel or 0),
                departure_key,
                pk2,
            )
        )
        return leave

    def _act_in_place(self, state: Any, vehicle: Any, decision: Any, t: int) -> int:
        before = self.trip_counter
        location = vehicle.location
        end: int = super()._act_in_place(state, vehicle, decision, t)
        if self.trip_counter != before and location is not None:
            key = vehicle.one_time_key(self.trip_counter, "source").public_hex
            self.key_vehicle[key] = vehicle.vehicle_id
            self._last_session[vehicle.vehicle_id] = (key, location, end)
        return end


@dataclass(frozen=True)
class SimulatedRun:
    """A finished run: its public records (what any observer reads) and, apart, its truth."""

    sessions: tuple[ObservedSession, ...]
    trips: tuple[ObservedTrip, ...]
    travel_s: TravelMatrix
    #: The road graph's energy per station pair, and the largest usable battery of the fleet
    #: (a car model's published capacity): what an observer of the city can know.
    energy_wh: TravelMatrix
    battery_wh: int
    key_vehicle: dict[str, str]
    true_trips: tuple[TrueTrip, ...]
    description: dict[str, Any]

    def observe(
        self,
        *,
        resolution_s: int = 1,
        delay_s: int = 0,
        trips: Sequence[ObservedTrip] | None = None,
    ) -> Observation:
        """The observer's view at ``resolution_s`` and ``delay_s`` (``trips``: the Trips
        published, when a mitigation withholds some)."""
        from iome_ref.analysis.ledgerview import public_observation  # noqa: PLC0415 - cycle

        return public_observation(
            self.sessions,
            self.trips if trips is None else trips,
            source="simulate",
            resolution_s=resolution_s,
            delay_s=delay_s,
            travel_s=self.travel_s,
            energy_wh=self.energy_wh,
            battery_wh=self.battery_wh,
            knowledge=(
                "reads only the run's public chain (ChargeSession, Trip; block height, "
                "position and time)",
                "knows the city's road graph: shortest travel time between stations",
                "knows each route's energy on the road graph (a lower bound of a trip's) and "
                f"the largest battery on sale in the fleet ({self.battery_wh} Wh usable at most)",
            ),
        )

    def truth(self, observation: Observation) -> GroundTruth:
        """Who held each key of ``observation``, for scoring only."""
        return _truth(self, observation)


def _truth(sim: SimulatedRun, observation: Observation) -> GroundTruth:
    session_of_key = {s.key: s.session_id for s in observation.sessions}
    end_ids = {e.end_id for e in observation.trip_ends}
    session_user = {s.session_id: sim.key_vehicle.get(s.key) for s in observation.sessions}
    end_vehicle = {
        e.end_id: v for e in observation.trip_ends if (v := sim.key_vehicle.get(e.key)) is not None
    }
    pairs: dict[str, str] = {}
    trip_of_end: dict[str, str] = {}
    per_vehicle: dict[str, list[str]] = defaultdict(list)
    session_trip: dict[str, str] = {}
    for n, trip in enumerate(sorted(sim.true_trips, key=lambda t: (t.depart, t.vehicle))):
        trip_id = f"trip{n}"
        dep = arr = None
        if trip.departure_key in session_of_key:
            dep = f"dep:{session_of_key[trip.departure_key]}"
            session_trip[session_of_key[trip.departure_key]] = trip_id
        if trip.arrival_key in session_of_key:
            arr = f"arr:{session_of_key[trip.arrival_key]}"
            session_trip[session_of_key[trip.arrival_key]] = trip_id
        for end in (dep, arr):
            name = end or f"unseen:{trip_id}:{'dep' if end is dep else 'arr'}"
            trip_of_end[name] = trip_id
            per_vehicle[trip.vehicle].append(name)
        if dep in end_ids and arr in end_ids and dep is not None and arr is not None:
            pairs[dep] = arr
    return GroundTruth(
        session_user=session_user,
        end_vehicle=end_vehicle,
        trip_pairs=pairs,
        vehicle_ends={v: tuple(ends) for v, ends in sorted(per_vehicle.items())},
        trip_of_end=trip_of_end,
        session_trip=session_trip,
    )


def run_with_truth(options: dict[str, Any]) -> SimulatedRun:
    """Run ``SimulationConfig(**options)`` in memory and keep its public records and truth."""
    from iome_ref.analysis.ledgerview import decode_block, public_records  # noqa: PLC0415

    sim = _RecordingSimulation(SimulationConfig(**options))
    sim.run(None)
    blocks = [decode_block(PUBLIC, b.height, b.body) for b in sim.net.ledger.store.blocks(PUBLIC)]
    sessions, trips = public_records(blocks)
    return SimulatedRun(
        sessions=tuple(sessions),
        trips=tuple(trips),
        travel_s=TravelMatrix(
            tuple(sim.city.station_ids), np.asarray(sim.city.travel_matrix, dtype=np.int64)
        ),
        energy_wh=TravelMatrix(
            tuple(sim.city.station_ids), np.asarray(sim.city.energy_matrix, dtype=np.int64)
        ),
        battery_wh=max((v.battery.capacity_wh for v in sim.vehicles), default=0),
        key_vehicle=dict(sim.key_vehicle),
        true_trips=tuple(sim.true_trips),
        description=sim.describe(),
    )
