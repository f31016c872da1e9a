"""Presence, trip-claim, trip, charging-session and O-D matrix checks (paper Fig. 5, §II-B).

The claim checks are the verifier's list from DESIGN §2, one function each, in the order a
verifier applies them so that every rejected claim names one deterministic rule.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence

from iome_ref.constants import (
    MAX_CHARGE_SESSION_S,
    MAX_CHARGER_POWER_W,
    MAX_SESSION_ENERGY_WH,
    ROLE_STATION,
)
from iome_ref.errors import Rejected
from iome_ref.models import ChargeSession, ODMatrix, Presence, Trip, TripClaim
from iome_ref.pki import CertificateDirectory
from iome_ref.requirements import enforces

__all__ = [
    "check_charge_battery_bound",
    "check_charge_duration",
    "check_charge_energy",
    "check_charge_interval",
    "check_charge_key_fresh",
    "check_charge_key_not_station",
    "check_charge_station_certified_at_start",
    "check_claim_after_trip",
    "check_claim_keys",
    "check_claim_order",
    "check_claim_presences",
    "check_claim_presences_unused",
    "check_claim_stations_differ",
    "check_claim_travel_time",
    "check_od_cells",
    "check_od_counts",
    "check_od_period",
    "check_od_zones",
    "check_presence_key_fresh",
    "check_presence_key_not_station",
    "check_trip_buckets",
    "check_trip_interval",
    "check_trip_nonce_unlinked",
    "check_trip_quorum",
    "check_trip_stations_differ",
    "check_trip_verifiers_distinct",
    "compute_od_cells",
]


@enforces("IOME-PRES-001")
def check_presence_key_fresh(presence: Presence, key_seen: bool) -> None:
    """Paper §II-B: one-time PKs are "used exclusively for public charging or discharging during
    a single trip"; a key in two presences would link two dockings.

    Raises:
        Rejected: IOME-PRES-001.
    """
    if key_seen:
        raise Rejected(
            "IOME-PRES-001", f"one_time_pk {presence.one_time_pk} already has a Presence"
        )


@enforces("IOME-PRES-002")
def check_presence_key_not_station(presence: Presence) -> None:
    """A station cannot attest its own key as a docked vehicle (self-made Sybil trips).

    Raises:
        Rejected: IOME-PRES-002.
    """
    if presence.one_time_pk == presence.station_pk:
        raise Rejected("IOME-PRES-002", "one_time_pk equals station_pk")


@enforces("IOME-CLAIM-001")
def check_claim_presences(
    claim: TripClaim, source: Presence | None, destination: Presence | None
) -> None:
    """The verifier must hold both presences, a source then a destination (Fig. 5 step 5).

    Raises:
        Rejected: IOME-CLAIM-001.
    """
    if source is None or source.tx_id != claim.source_presence_id:
        raise Rejected("IOME-CLAIM-001", f"source presence {claim.source_presence_id} unknown")
    if destination is None or destination.tx_id != claim.destination_presence_id:
        raise Rejected(
            "IOME-CLAIM-001", f"destination presence {claim.destination_presence_id} unknown"
        )
    if source.kind != "source" or destination.kind != "destination":
        raise Rejected(
            "IOME-CLAIM-001",
            f"presences are of kinds {source.kind}/{destination.kind}, expected source/destination",
        )


@enforces("IOME-CLAIM-002")
def check_claim_keys(claim: TripClaim, source: Presence, destination: Presence) -> None:
    """Fig. 5 step 7: "matches PK1 and PK2 with their corresponding signatures"; the claim's
    keys must be the presences' keys, else a vehicle could claim someone else's docking.

    Raises:
        Rejected: IOME-CLAIM-002.
    """
    if claim.source_pk != source.one_time_pk or claim.destination_pk != destination.one_time_pk:
        raise Rejected("IOME-CLAIM-002", "claim keys differ from the presences' one-time keys")
    if claim.source_pk == claim.destination_pk:
        raise Rejected("IOME-CLAIM-002", "source_pk equals destination_pk")


@enforces("IOME-CLAIM-007")
def check_claim_stations_differ(source: Presence, destination: Presence) -> None:
    """A trip joins two stations: with one station at both ends, that station alone signs
    both presences, so it could fabricate the whole trip from two keys of its own, and
    τ(A, A) = 0 leaves IOME-CLAIM-004 nothing to check. Two distinct certified station keys
    are what "fabrication needs two colluding stations" (trips.md, Security) rests on, so the
    keys must differ as well as the ids.

    Raises:
        Rejected: IOME-CLAIM-007.
    """
    if source.station_id == destination.station_id:
        raise Rejected(
            "IOME-CLAIM-007", f"source and destination are both station {source.station_id}"
        )
    if source.station_pk == destination.station_pk:
        raise Rejected(
            "IOME-CLAIM-007",
            f"stations {source.station_id} and {destination.station_id} sign with one key",
        )


@enforces("IOME-CLAIM-003")
def check_claim_order(source: Presence, destination: Presence) -> None:
    """A trip ends after it starts.

    Raises:
        Rejected: IOME-CLAIM-003.
    """
    if source.t >= destination.t:
        raise Rejected("IOME-CLAIM-003", f"t1 {source.t} is not before t2 {destination.t}")


@enforces("IOME-CLAIM-004")
def check_claim_travel_time(
    source: Presence, destination: Presence, shortest_s: int | None
) -> None:
    """A trip faster than the road graph allows is two vehicles pretending to be one.

    ``shortest_s`` is the shortest travel time between the stations, None if unreachable.

    Raises:
        Rejected: IOME-CLAIM-004.
    """
    elapsed = destination.t - source.t
    if shortest_s is None:
        raise Rejected(
            "IOME-CLAIM-004",
            f"no route from {source.station_id} to {destination.station_id}",
        )
    if elapsed < shortest_s:
        raise Rejected(
            "IOME-CLAIM-004", f"trip took {elapsed} s, shortest possible is {shortest_s} s"
        )


@enforces("IOME-CLAIM-005")
def check_claim_presences_unused(claim: TripClaim, used_presences: set[str]) -> None:
    """One docking supports one trip end: reuse would double-count the O-D matrix.

    Raises:
        Rejected: IOME-CLAIM-005.
    """
    for presence_id in (claim.source_presence_id, claim.destination_presence_id):
        if presence_id in used_presences:
            raise Rejected("IOME-CLAIM-005", f"presence {presence_id} is already in a claim")


@enforces("IOME-CLAIM-006")
def check_claim_after_trip(claim: TripClaim, destination: Presence) -> None:
    """A claim is made once the trip is over: a claim dated before its destination docking
    asserts a trip that had not happened when it was signed.

    Raises:
        Rejected: IOME-CLAIM-006.
    """
    if claim.timestamp < destination.t:
        raise Rejected(
            "IOME-CLAIM-006",
            f"claim timestamp {claim.timestamp} is before destination time {destination.t}",
        )


@enforces("IOME-TRIP-001")
def check_trip_interval(trip: Trip) -> None:
    """A published trip ends after it starts.

    Raises:
        Rejected: IOME-TRIP-001.
    """
    if trip.start_time >= trip.end_time:
        raise Rejected(
            "IOME-TRIP-001",
            f"start_time {trip.start_time} is not before end_time {trip.end_time}",
        )


@enforces("IOME-TRIP-006")
def check_trip_stations_differ(trip: Trip) -> None:
    """The public side of IOME-CLAIM-007: a Trip from a station to itself is one that a single
    station could have fabricated, and it moves no energy between locations.

    Raises:
        Rejected: IOME-TRIP-006.
    """
    if trip.origin_station_id == trip.destination_station_id:
        raise Rejected(
            "IOME-TRIP-006",
            f"origin and destination are both station {trip.origin_station_id}",
        )


def _derivations(values: Sequence[str], joined: Sequence[Sequence[str]] = ()) -> dict[str, str]:
    """Each hex value, each group of them joined, and what a verifier holding no secret could
    derive from one: the value itself, SHA-256 of its hex text, SHA-256 of its raw bytes."""
    derived: dict[str, str] = {}
    named = [*((v, v[:16]) for v in values), *(("".join(g), "a join") for g in joined)]
    for value, name in named:
        derived[value] = name
        derived[hashlib.sha256(value.encode()).hexdigest()] = f"SHA-256 of {name}"
        derived[hashlib.sha256(bytes.fromhex(value)).hexdigest()] = f"SHA-256 of {name}"
    return derived


@enforces("IOME-TRIP-007")
def check_trip_nonce_unlinked(
    trip: Trip,
    claim: TripClaim,
    source: Presence,
    destination: Presence,
    private_keys: Sequence[str] = (),
) -> None:
    """A Trip's nonce must not be derived from what the Trip hides: the claim's one-time keys,
    its presences or the claim itself, or the public nonce becomes the link (trips.md,
    "Identical trips"); nor, when the checker knows them, from the keys of the vehicle's
    private transactions (``private_keys``). A keyed derivation cannot be told from a random
    draw; this catches the derivations anyone can recompute, the ones an observer would use.

    Raises:
        Rejected: IOME-TRIP-007.
    """
    keys = [source.one_time_pk, destination.one_time_pk]
    presences = [source.tx_id, destination.tx_id]
    hidden = [*keys, *presences, claim.tx_id, *private_keys]
    derived = _derivations(hidden, [keys, presences, [*keys, *presences, claim.tx_id]])
    if trip.nonce in derived:
        raise Rejected(
            "IOME-TRIP-007",
            f"nonce: expected a random draw, found {derived[trip.nonce]} of the claim "
            f"{claim.tx_id[:16]}",
        )


@enforces("IOME-TRIP-003")
def check_trip_verifiers_distinct(trip: Trip) -> None:
    """One verifier signing twice must not count twice toward the quorum.

    Raises:
        Rejected: IOME-TRIP-003.
    """
    keys = [sig.verifier_pk for sig in trip.verifier_sigs]
    if len(set(keys)) != len(keys):
        raise Rejected("IOME-TRIP-003", "a verifier key appears twice in verifier_sigs")


@enforces("IOME-TRIP-002")
def check_trip_quorum(trip: Trip, quorum: int) -> None:
    """k of n verifiers vouch for a trip, so no single verifier can fabricate mobility data.

    Called after every listed signature and certificate verified.

    Raises:
        Rejected: IOME-TRIP-002.
    """
    if len(trip.verifier_sigs) < quorum:
        raise Rejected(
            "IOME-TRIP-002", f"{len(trip.verifier_sigs)} verifier signatures, quorum is {quorum}"
        )


@enforces("IOME-TRIP-004")
def check_trip_buckets(trip: Trip) -> None:
    """Published times are coarsened to the declared bucket; exact times re-link keys.

    Raises:
        Rejected: IOME-TRIP-004.
    """
    bucket = trip.time_bucket_s
    if bucket < 1 or trip.start_time % bucket or trip.end_time % bucket:
        raise Rejected(
            "IOME-TRIP-004",
            f"times {trip.start_time}/{trip.end_time} are not multiples of bucket {bucket}",
        )


@enforces("IOME-CHG-001")
def check_charge_interval(session: ChargeSession) -> None:
    """A session lasts a positive time.

    Raises:
        Rejected: IOME-CHG-001.
    """
    if session.end_time <= session.start_time:
        raise Rejected(
            "IOME-CHG-001",
            f"end_time {session.end_time} is not after start_time {session.start_time}",
        )


@enforces("IOME-CHG-002")
def check_charge_energy(session: ChargeSession) -> None:
    """Energy is positive and physically possible for the session's duration.

    Raises:
        Rejected: IOME-CHG-002.
    """
    duration = session.end_time - session.start_time
    limit = MAX_CHARGER_POWER_W * duration // 3600
    if not 0 < session.energy_wh <= limit:
        raise Rejected(
            "IOME-CHG-002", f"energy_wh {session.energy_wh} outside 1..{limit} for {duration} s"
        )


@enforces("IOME-CHG-006")
def check_charge_duration(session: ChargeSession) -> None:
    """A session lasts at most MAX_CHARGE_SESSION_S: without a bound, a session from time 0
    to now makes IOME-CHG-002 allow 165 GWh.

    Raises:
        Rejected: IOME-CHG-006.
    """
    duration = session.end_time - session.start_time
    if duration > MAX_CHARGE_SESSION_S:
        raise Rejected(
            "IOME-CHG-006", f"session lasts {duration} s, limit is {MAX_CHARGE_SESSION_S} s"
        )


@enforces("IOME-CHG-007")
def check_charge_battery_bound(session: ChargeSession) -> None:
    """A session flows one way into or out of one traction battery, so it cannot move more
    than the largest battery holds (MAX_SESSION_ENERGY_WH), however long it lasts.

    Raises:
        Rejected: IOME-CHG-007.
    """
    if session.energy_wh > MAX_SESSION_ENERGY_WH:
        raise Rejected(
            "IOME-CHG-007",
            f"energy_wh {session.energy_wh} exceeds one battery, {MAX_SESSION_ENERGY_WH} Wh",
        )


@enforces("IOME-CHG-005")
def check_charge_station_certified_at_start(
    session: ChargeSession, directory: CertificateDirectory
) -> None:
    """The station vouches for the whole session, so its certificate must hold at the start
    as well as at ``end_time`` (the claimed time, checked with every certificate): else a
    station certified today signs for energy metered before it was certified. A certificate's
    validity is one interval and a revocation lasts, so valid at both ends means valid
    throughout.

    Raises:
        Rejected: IOME-CHG-005, chained to the certificate rule broken at ``start_time``.
    """
    try:
        directory.check_certified(
            session.station_pk, ROLE_STATION, session.start_time, session.station_id
        )
    except Rejected as exc:
        raise Rejected(
            "IOME-CHG-005",
            f"station_pk is not certified at start_time {session.start_time}: "
            f"{exc.req_id} {exc.message}",
        ) from exc


@enforces("IOME-CHG-003")
def check_charge_key_fresh(session: ChargeSession, key_seen: bool) -> None:
    """One one-time key, one public session: a second would link two of a vehicle's sessions.

    Raises:
        Rejected: IOME-CHG-003.
    """
    if key_seen:
        raise Rejected(
            "IOME-CHG-003", f"one_time_pk {session.one_time_pk} already has a ChargeSession"
        )


@enforces("IOME-CHG-004")
def check_charge_key_not_station(session: ChargeSession) -> None:
    """A station cannot be its own customer.

    Raises:
        Rejected: IOME-CHG-004.
    """
    if session.one_time_pk == session.station_pk:
        raise Rejected("IOME-CHG-004", "one_time_pk equals station_pk")


@enforces("IOME-ODM-001")
def check_od_zones(odm: ODMatrix) -> None:
    """Sorted unique zone lists give every matrix one canonical form.

    Raises:
        Rejected: IOME-ODM-001.
    """
    for name, zones in (("origins", odm.origins), ("destinations", odm.destinations)):
        if list(zones) != sorted(set(zones)):
            raise Rejected("IOME-ODM-001", f"{name} are not sorted and unique")


@enforces("IOME-ODM-002")
def check_od_cells(odm: ODMatrix) -> None:
    """Each cell is ``[i, j, count]`` inside the matrix, non-zero, strictly ascending by (i, j).

    Zero cells are left out and order is fixed, so a matrix has exactly one encoding and one
    tx id, and a pair cannot be listed twice to double its count.

    Raises:
        Rejected: IOME-ODM-002.
    """
    n_origins, n_destinations = len(odm.origins), len(odm.destinations)
    previous = (-1, -1)
    for k, cell in enumerate(odm.cells):
        if len(cell) != 3:  # [i, j, count]
            raise Rejected("IOME-ODM-002", f"cells[{k}]: expected [i, j, count], found {cell}")
        i, j, count = cell
        if i >= n_origins or j >= n_destinations:
            raise Rejected(
                "IOME-ODM-002",
                f"cells[{k}]: [{i}, {j}] is outside the {n_origins} x {n_destinations} matrix",
            )
        if count < 1:
            raise Rejected("IOME-ODM-002", f"cells[{k}]: count is {count}, expected at least 1")
        if (i, j) <= previous:
            raise Rejected(
                "IOME-ODM-002", f"cells[{k}]: [{i}, {j}] does not follow {list(previous)}"
            )
        previous = (i, j)


@enforces("IOME-ODM-003")
def check_od_period(odm: ODMatrix) -> None:
    """The period is non-empty.

    Raises:
        Rejected: IOME-ODM-003.
    """
    if odm.period_start >= odm.period_end:
        raise Rejected(
            "IOME-ODM-003",
            f"period_start {odm.period_start} is not before period_end {odm.period_end}",
        )


def compute_od_cells(
    trips: Iterable[Trip],
    origins: Sequence[str],
    destinations: Sequence[str],
    period_start: int,
    period_end: int,
) -> list[list[int]]:
    """The sparse cells of trips ending in [period_start, period_end) (paper Fig. 5 step 10).

    Trips touching a station outside the zone lists are not counted: they are the predictor's
    declared scope, and the recomputation must use the same scope.
    """
    row = {zone: i for i, zone in enumerate(origins)}
    column = {zone: j for j, zone in enumerate(destinations)}
    counts: Counter[tuple[int, int]] = Counter()
    for trip in trips:
        if not period_start <= trip.end_time < period_end:
            continue
        i = row.get(trip.origin_station_id)
        j = column.get(trip.destination_station_id)
        if i is not None and j is not None:
            counts[i, j] += 1
    return [[i, j, counts[i, j]] for i, j in sorted(counts)]


@enforces("IOME-ODM-004")
def check_od_counts(odm: ODMatrix, public_trips: Iterable[Trip]) -> None:
    """Anyone can recompute the matrix from public Trips (DESIGN §2); a predictor that inflates
    a cell is caught here.

    Raises:
        Rejected: IOME-ODM-004.
    """
    expected = compute_od_cells(
        public_trips, odm.origins, odm.destinations, odm.period_start, odm.period_end
    )
    if [list(cell) for cell in odm.cells] != expected:
        raise Rejected("IOME-ODM-004", "cells differ from the recomputation from public Trips")
