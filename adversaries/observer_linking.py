"""Adversary 14: a passive observer re-linking one-time keys from public records.

The paper claims one-time keys make charging "unlinkable over time"; spec/trips.md ("What the
public chain reveals") says this does not hold against a passive chain observer, and this
adversary measures it on what an implementation actually publishes. A small seeded population
of vehicles drives two consecutive trips each (A to B, then B to C), charging or discharging
under a fresh one-time key at every docking; each vehicle's home publishes energy predictions
(ESDPs) under its long-lived home key, and the home recharges in the evening what the vehicle
discharged during the day. The implementation plays the honest verifiers: it co-signs every
trip (``verifier_cosign``) with its own time-bucket policy, and its public chain must accept the
sessions, the predictions and the trips. The observer then reads only the public chain:

- **PK1 to PK2**: for each published Trip, the charging sessions at its origin that end near
  its (bucketed) start, and those at its destination that begin near its end. A single
  candidate on both sides links the trip's two one-time keys.
- **Consecutive trips**: a trip ending at B followed by the only trip leaving B within the
  dwell bound chains the vehicle's trajectory.
- **Home key to one-time key**: a home's evening prediction exceeds its morning one by exactly
  the energy a discharge session moved; a unique match links the one-time key to the home key.

PK1 to PK2 is measured twice: by the forced-link analysis of ``iome link``
(:mod:`iome_ref.analysis.forced`: a link is certain when every consistent explanation of the
records contains it; each key's anonymity set is how many partners it has in some explanation),
which gives the figure, and by a deliberately simple unique-window matcher
(:func:`link_trip_keys`) beside it. Chaining and home keys use simple matchers over the records
of :mod:`iome_ref.analysis.observations`, which the habit and follow analyses of ``iome link``
can replace without touching the attack. Expected outcome: ``leaks``; the figure is the share of
trips whose PK1-PK2 link is certain and right, and the text gives the other figures; the detail
states the observer's knowledge.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, NamedTuple

from adversaries.base import AttackResult, Capability, Expected, Invariant, Profile
from adversaries.capable import judge_declared
from adversaries.play import Measure, Script, capabilities
from iome_ref.analysis.forced import forced_links, pairing_graph
from iome_ref.analysis.observations import ObservedSession, ObservedTrip, ObservedTripEnd
from iome_ref.conformance.iut import IUT
from iome_ref.conformance.scenarios import ReplayResult
from iome_ref.models import ESDP, ChargeSession, Presence
from iome_ref.vectors.world import T0

__all__ = ["ObserverLinking", "chain_trips", "link_home_keys", "link_trip_keys"]

_VERIFIERS: Final = ("verifier-1", "verifier-2", "verifier-3")
_STATIONS: Final = ("st-a", "st-b", "st-c")
_HOUR: Final = 3600
#: Vehicles per profile (two trips each).
_VEHICLES: Final = {"quick": 8, "thorough": 24}
#: What the observer assumes: a departure within this many seconds after its session at the
#: origin ends, a session at the destination beginning within it after the arrival.
_SLACK_S: Final = 300
#: The longest a vehicle stays at a station between two trips, as the observer assumes.
_DWELL_S: Final = 2 * _HOUR
_EVENING: Final = (T0 + 18 * _HOUR, T0 + 22 * _HOUR)
_MORNING: Final = (T0 + 1 * _HOUR, T0 + 5 * _HOUR)
KNOWLEDGE: Final = (
    "reads every public block: ChargeSessions, ESDPs, Trips",
    f"a departure follows the end of the vehicle's session at its origin within {_SLACK_S} s, "
    f"and its session at the destination begins within {_SLACK_S} s of its arrival",
    f"a vehicle stays at most {_DWELL_S} s at a station between two trips",
    "a home recharges in the evening exactly what its vehicle discharged that day",
)


# -- the observer (replaceable by iome_ref.analysis) --------------------------------------------


def link_trip_keys(
    trips: Sequence[ObservedTrip], sessions: Sequence[ObservedSession]
) -> dict[str, tuple[str, str]]:
    """Trip id -> (departure key, arrival key) for every trip with exactly one candidate
    session at each end."""
    links: dict[str, tuple[str, str]] = {}
    for trip in trips:
        departures = [
            s.key
            for s in sessions
            if s.station == trip.origin
            and trip.start - _SLACK_S <= s.end <= trip.start + trip.bucket_s
        ]
        arrivals = [
            s.key
            for s in sessions
            if s.station == trip.destination
            and trip.end - trip.bucket_s <= s.start <= trip.end + _SLACK_S
        ]
        if len(departures) == 1 and len(arrivals) == 1:
            links[trip.trip_id] = (departures[0], arrivals[0])
    return links


def force_trip_keys(
    trips: Sequence[ObservedTrip],
    sessions: Sequence[ObservedSession],
    travel_s: Mapping[tuple[str, str], int],
) -> tuple[set[tuple[str, str]], list[int]]:
    """The (departure key, arrival key) pairs that every consistent explanation of the public
    records agrees on, by the forced-link analysis of ``iome link``
    (:func:`iome_ref.analysis.forced.forced_links`), and the anonymity set of every departure
    key (how many arrival keys it is paired with in some explanation; 0: none).

    Every session is a candidate end of both kinds: it may end at a departure (its end meets a
    Trip's start window at its station) or begin at an arrival (its start meets a Trip's end
    window); a pair must also allow the road graph's travel time.
    """
    departures = [
        ObservedTripEnd(f"dep:{s.session_id}", "departure", s.station, s.key, s.end, s.end)
        for s in sessions
    ]
    arrivals = [
        ObservedTripEnd(f"arr:{s.session_id}", "arrival", s.station, s.key, s.start, s.start)
        for s in sessions
    ]
    graph = pairing_graph(departures, arrivals, trips, dict(travel_s))
    result = forced_links(graph)
    forced = {
        (departures[int(left)].key, arrivals[int(right)].key)
        for left, right, certain in zip(graph.left, graph.right, result.forced, strict=True)
        if certain
    }
    return forced, [int(n) for n in result.options_left]


def chain_trips(trips: Sequence[ObservedTrip]) -> dict[str, str]:
    """Trip id -> the id of the trip the observer takes to be the same vehicle's next one:
    the first trip leaving the arrival station after the arrival (within the bucket) and
    within the dwell bound; no chain when two leave in the same first bucket."""
    chained: dict[str, str] = {}
    for trip in trips:
        following = sorted(
            (other.start, other.trip_id)
            for other in trips
            if other.origin == trip.destination
            and other.start >= trip.end - trip.bucket_s
            and other.start - trip.end <= _DWELL_S
            and other.trip_id != trip.trip_id
        )
        if following and (len(following) == 1 or following[0][0] != following[1][0]):
            chained[trip.trip_id] = following[0][1]
    return chained


def link_home_keys(
    sessions: Sequence[ObservedSession], predictions: dict[str, tuple[int, int]]
) -> dict[str, str]:
    """One-time key -> home key, where exactly one home's evening prediction exceeds its
    morning one by the energy the key's discharge session moved. ``predictions`` maps a home
    key to its (morning, evening) predicted demand."""
    deltas: dict[int, list[str]] = {}
    for home, (morning, evening) in predictions.items():
        deltas.setdefault(evening - morning, []).append(home)
    links: dict[str, str] = {}
    for session in sessions:
        homes = deltas.get(session.energy_wh, [])
        if session.direction == "discharge" and len(homes) == 1:
            links[session.key] = homes[0]
    return links


# -- the population ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Leg:
    """One trip of a vehicle as it happened: the ground truth the observer never sees."""

    vehicle: int
    leg: int
    departure_key: str
    arrival_key: str
    step: int


class _Truth(NamedTuple):
    """Who did what in a population: the legs, the sessions, each discharge key's home key
    and each home's (morning, evening) predicted demand. Only scoring reads it."""

    legs: list[_Leg]
    sessions: list[ChargeSession]
    home_of: dict[str, str]
    demand: dict[str, tuple[int, int]]
    travel: dict[tuple[str, str], int]


def _observed(session: ChargeSession) -> ObservedSession:
    return ObservedSession(
        session_id=session.tx_id,
        station=session.station_id,
        start=session.start_time,
        end=session.end_time,
        energy_wh=session.energy_wh,
        key=session.one_time_pk,
        direction=session.direction,
    )


class ObserverLinking:
    """A passive chain observer (issue 14, adversary 14)."""

    name: str = "observer-linking"
    title: str = (
        "Home-key to one-time-key linking by energy and time; a passive observer chaining "
        "PK1 to PK2 and consecutive trips"
    )
    capabilities: frozenset[Capability] = capabilities(Capability.PASSIVE_OBSERVER)
    colluders: int = 0
    targets: tuple[str, ...] = ("IOME-TRIP-004", "IOME-TRIP-005", "IOME-BLK-010")
    invariant: Invariant = "key-unlinkability"
    expected: Expected = "leaks"

    def population(self, seed: int, vehicles: int) -> tuple[Script, _Truth]:
        """The seeded population's day, as the steps that publish it, and its ground truth."""
        script = Script(
            self,
            f"population-{vehicles}",
            f"{vehicles} vehicles drive two trips each; the observer reads the public chain",
            seed,
            ("IOME-TRIP-004", "IOME-TRIP-005", "IOME-BLK-010"),
            T0,
        )
        script.keys.extend(_VERIFIERS)
        b = script.b
        travel = script.b.world.travel
        rng = random.Random(f"observer-linking {seed}")
        legs: list[_Leg] = []
        sessions: list[ChargeSession] = []
        predictions: list[ESDP] = []
        home_of: dict[str, str] = {}
        demand: dict[str, tuple[int, int]] = {}
        for v in range(vehicles):
            a, mid, c = rng.choice(_STATIONS), "", ""
            mid = rng.choice([s for s in _STATIONS if s != a])
            c = rng.choice([s for s in _STATIONS if s != mid])
            keys = [f"ev-{v}/pk{i}" for i in range(1, 5)]
            t1 = T0 + 2 * _HOUR + 60 * rng.randrange(12 * 60)
            t2 = t1 + travel[(a, mid)] + 60 * rng.randrange(10)
            discharged = 5_000 + rng.randrange(25_000)
            t3 = t2 + 1860 + 60 * rng.randrange(5, 60)
            t4 = t3 + travel[(mid, c)] + 60 * rng.randrange(10)
            visits = [
                # A vehicle charges until it leaves and from the moment it arrives: each
                # session ends at a departure presence or begins at an arrival presence (the
                # trip-end model of iome_ref.analysis.ledgerview.public_observation).
                (a, keys[0], "charge", t1 - 1800, t1, 10_000 + rng.randrange(20_000)),
                (mid, keys[1], "discharge", t2, t2 + 1800, discharged),
                (mid, keys[2], "charge", t3 - 900, t3, 2_000 + rng.randrange(10_000)),
                (c, keys[3], "charge", t4, t4 + 900, 2_000 + rng.randrange(10_000)),
            ]
            for station, key, direction, start, end, energy in visits:
                sessions.append(
                    b.charge(station, key, start, end, direction=direction, energy_wh=energy)
                )
            for leg, (src, dst, k1, k2, d, r) in enumerate(
                [(a, mid, keys[0], keys[1], t1, t2), (mid, c, keys[2], keys[3], t3, t4)]
            ):
                source: Presence = b.presence("source", src, k1, d)
                destination: Presence = b.presence("destination", dst, k2, r)
                claim = b.claim(source, destination)
                args: dict[str, Any] = {
                    "claim": claim.model_dump(mode="json"),
                    "source": source.model_dump(mode="json"),
                    "destination": destination.model_dump(mode="json"),
                    "t": r + 60,
                }
                step = script.role("verifier_cosign", args, actor="verifiers")
                legs.append(_Leg(v, leg, b.key(k1).public_hex, b.key(k2).public_hex, step))
            home = f"home-{v}"
            base = 8_000 + rng.randrange(4_000)
            morning = b.esdp(
                home, T0 + 60, window_start=_MORNING[0], window_end=_MORNING[1], demand_wh=base
            )
            evening = b.esdp(
                home,
                t2 + 1900,
                window_start=_EVENING[0],
                window_end=_EVENING[1],
                demand_wh=base + discharged,
            )
            predictions.extend([morning, evening])
            home_of[b.key(keys[1]).public_hex] = b.key(home).public_hex
            demand[b.key(home).public_hex] = (base, base + discharged)
        batch = script.role("verifier_batch", {}, actor="verifiers")
        script.build("verifiers", script.ref(batch, "txs"), time=_EVENING[0] - 60)
        public = sorted([*sessions, *predictions], key=lambda tx: tx.time)
        block = script.append("public", public, time=_EVENING[0] - 60)
        script.check_tx("public", block.txs[0].tx_id, present=True)
        script.build(
            "public", [script.ref(leg.step, "trip") for leg in legs], time=_EVENING[0], leak=True
        )
        return script, _Truth(legs, sessions, home_of, demand, dict(travel))

    @staticmethod
    def _measure(
        played: Sequence[tuple[Script, ReplayResult]], truths: Sequence[_Truth]
    ) -> Measure | None:
        linked = correct_links = chained = correct_chains = homes = correct_homes = total = 0
        certain = correct_certain = 0
        options: list[int] = []
        for (_, result), (legs, sessions, home_of, demand, travel) in zip(
            played, truths, strict=True
        ):
            if result.status != "pass":
                return None
            replies = {step.index: step.reply for step in result.steps}
            trips = []
            truth: dict[str, _Leg] = {}
            for leg in legs:
                trip = json.loads(replies[leg.step])["trip"]
                trips.append(
                    ObservedTrip(
                        trip_id=trip["tx_id"],
                        origin=trip["origin_station_id"],
                        destination=trip["destination_station_id"],
                        start=trip["start_time"],
                        end=trip["end_time"],
                        bucket_s=trip["time_bucket_s"],
                    )
                )
                truth[trip["tx_id"]] = leg
            observed = [_observed(s) for s in sessions]
            links = link_trip_keys(trips, observed)
            total += len(trips)
            linked += len(links)
            correct_links += sum(
                (truth[t].departure_key, truth[t].arrival_key) == pair for t, pair in links.items()
            )
            pairs_true = {(leg.departure_key, leg.arrival_key) for leg in legs}
            forced, anonymity = force_trip_keys(trips, observed, travel)
            certain += len(forced)
            correct_certain += len(forced & pairs_true)
            departure_keys = {leg.departure_key for leg in legs}
            options += [
                n for s, n in zip(observed, anonymity, strict=True) if s.key in departure_keys
            ]
            chain = chain_trips(trips)
            chained += len(chain)
            correct_chains += sum(
                truth[t].leg == 0 and truth[n].leg == 1 and truth[t].vehicle == truth[n].vehicle
                for t, n in chain.items()
            )
            home_links = link_home_keys(observed, demand)
            homes += len(home_of)
            correct_homes += sum(home_of.get(key) == home for key, home in home_links.items())
        if not total:
            return None
        pairs = total // 2
        singled = sum(n == 1 for n in options)
        return Measure(
            correct_certain / total,
            "fraction of trips whose PK1-PK2 link is certain and right",
            f"PK1-PK2 certain and right for {correct_certain} of {total} trips "
            f"({correct_certain / total:g}; {certain} forced links), {singled} of "
            f"{len(options)} departure keys with an anonymity set of 1; the unique-window "
            f"matcher links {correct_links} of {total} correctly ({linked} linked); "
            f"consecutive trips chained correctly for {correct_chains} of {pairs} vehicles "
            f"({chained} chains); one-time keys linked to their home key: {correct_homes} of "
            f"{homes}",
        )

    def attack(self, iut: IUT, seed: int, profile: Profile) -> AttackResult:
        script, truth = self.population(seed, _VEHICLES[profile])
        result = judge_declared(
            self,
            iut,
            seed,
            [script],
            lambda played: self._measure(played, [truth]),
            required=[script],
        )
        if result.outcome != "leaks":
            return result
        return replace(
            result, detail=f"{result.detail}; the observer knows: {'; '.join(KNOWLEDGE)}"
        )
