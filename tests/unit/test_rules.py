"""Each protocol rule of ``iome_ref.rules`` at its exact limits, and every refusal branch.

Mutation testing (README "Mutation testing") found what the vectors alone leave open: a limit
checked with ``>=`` where ``>`` is meant (or the reverse) passes every test that stays far from
the limit, and a rule with two refusal branches may have one no test reaches. So each limit
here is tested at the last accepted value and at the first refused one, and each branch alone.
The rules are pure functions of their arguments, so they are called directly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from helpers import rejects

from iome_ref.constants import (
    ANCHOR_PERIOD_S,
    HANDOVER_MISSED_PERIODS,
    MAX_BLOCK_TXS,
    MAX_CHARGE_SESSION_S,
    MAX_CHARGER_POWER_W,
    MAX_EPS_VALIDITY_S,
    MAX_ESDP_HORIZON_S,
    MAX_SESSION_ENERGY_WH,
    ROLE_BACKUP,
    ROLE_DISTRIBUTION,
    ROLE_MANAGER,
    ROLE_PREDICTOR,
    ROLE_STATION,
    ROLE_VERIFIER,
    ZERO_HASH,
)
from iome_ref.encoding import compute_hash
from iome_ref.errors import Rejected
from iome_ref.models import Block, Trip
from iome_ref.rules import check_stateless, energy, ledger, mobility, revocation
from iome_ref.rules.certificates import Certified, get_certified_keys
from iome_ref.rules.encoding import check_tx_id
from iome_ref.rules.ledger import AnchorTip, BlockRef
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import REVOKED_AT, T0, World, build_world

SILENCE = HANDOVER_MISSED_PERIODS * ANCHOR_PERIOD_S


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(3)


@pytest.fixture
def b(world: World) -> Builder:
    return Builder(world)


def _hash(text: str) -> str:
    return compute_hash(text.encode())


@contextmanager
def refused(req_id: str, start: str) -> Iterator[None]:
    """``rejects(req_id)``, with a message starting with ``start``: reading the message kills
    the mutants that drop or garble it (a test is the only reader a message has)."""
    with rejects(req_id, match="^" + re.escape(f"{req_id}: {start}")):
        yield


# --- mobility: claims ----------------------------------------------------------------------


@pytest.mark.req("IOME-CLAIM-002")
def test_rejects_claim_whose_two_keys_are_equal(b: Builder) -> None:
    # Both presences under one key: the keys match the presences, yet it is one key twice.
    source = b.presence("source", "st-a", "ev-1/otk-1", T0 + 100)
    destination = b.presence("destination", "st-b", "ev-1/otk-1", T0 + 2_000)
    claim = b.claim(source, destination)
    with refused("IOME-CLAIM-002", "source_pk equals destination_pk"):
        mobility.check_claim_keys(claim, source, destination)


@pytest.mark.req("IOME-CLAIM-002")
def test_rejects_claim_with_either_key_foreign(b: Builder) -> None:
    source = b.presence("source", "st-a", "ev-1/otk-1", T0 + 100)
    destination = b.presence("destination", "st-b", "ev-1/otk-2", T0 + 2_000)
    foreign = b.key("ev-2/otk-1").public_hex
    mobility.check_claim_keys(b.claim(source, destination), source, destination)
    for field in ("source_pk", "destination_pk"):
        claim = b.claim(source, destination, **{field: foreign})
        with refused("IOME-CLAIM-002", "claim keys differ from the presences' one-time keys"):
            mobility.check_claim_keys(claim, source, destination)


@pytest.mark.req("IOME-CLAIM-001")
def test_rejects_claim_naming_presences_of_wrong_kind_or_id(b: Builder) -> None:
    source = b.presence("source", "st-a", "ev-1/otk-1", T0 + 100)
    destination = b.presence("destination", "st-b", "ev-1/otk-2", T0 + 2_000)
    claim = b.claim(source, destination)
    mobility.check_claim_presences(claim, source, destination)
    with refused("IOME-CLAIM-001", f"source presence {claim.source_presence_id} unknown"):
        mobility.check_claim_presences(claim, None, destination)
    with refused("IOME-CLAIM-001", f"source presence {claim.source_presence_id} unknown"):
        mobility.check_claim_presences(claim, destination, destination)
    with refused("IOME-CLAIM-001", f"destination presence {claim.destination_presence_id} unknown"):
        mobility.check_claim_presences(claim, source, None)
    with refused("IOME-CLAIM-001", f"destination presence {claim.destination_presence_id} unknown"):
        mobility.check_claim_presences(claim, source, source)
    # Right ids, wrong kinds: each presence alone of the wrong kind is refused.
    wrong_source = b.presence("destination", "st-a", "ev-1/otk-1", T0 + 100)
    wrong_destination = b.presence("source", "st-b", "ev-1/otk-2", T0 + 2_000)
    for s, d in ((wrong_source, destination), (source, wrong_destination)):
        with refused("IOME-CLAIM-001", "presences are of kinds "):
            mobility.check_claim_presences(b.claim(s, d), s, d)


@pytest.mark.req("IOME-CLAIM-007")
def test_rejects_claim_between_two_stations_sharing_one_key(b: Builder) -> None:
    source = b.presence("source", "st-a", "ev-1/otk-1", T0 + 100)
    destination = b.presence(
        "destination", "st-b", "ev-1/otk-2", T0 + 2_000, station_pk=source.station_pk
    )
    with refused("IOME-CLAIM-007", "stations st-a and st-b sign with one key"):
        mobility.check_claim_stations_differ(source, destination)
    same_station = b.presence("destination", "st-a", "ev-1/otk-2", T0 + 2_000)
    with refused("IOME-CLAIM-007", "source and destination are both station st-a"):
        mobility.check_claim_stations_differ(source, same_station)


@pytest.mark.req("IOME-CLAIM-003")
def test_rejects_claim_ending_at_its_start_time(b: Builder) -> None:
    source = b.presence("source", "st-a", "ev-1/otk-1", T0 + 100)
    mobility.check_claim_order(source, b.presence("destination", "st-b", "ev-1/otk-2", T0 + 101))
    with refused("IOME-CLAIM-003", f"t1 {T0 + 100} is not before t2 {T0 + 100}"):
        mobility.check_claim_order(
            source, b.presence("destination", "st-b", "ev-1/otk-2", T0 + 100)
        )


@pytest.mark.req("IOME-CLAIM-004")
def test_rejects_trip_one_second_faster_than_the_road_and_a_trip_with_no_route(
    b: Builder,
) -> None:
    source = b.presence("source", "st-a", "ev-1/otk-1", T0 + 100)
    destination = b.presence("destination", "st-b", "ev-1/otk-2", T0 + 1_300)
    mobility.check_claim_travel_time(source, destination, 1_200)  # exactly the shortest time
    with refused("IOME-CLAIM-004", "trip took 1200 s, shortest possible is 1201 s"):
        mobility.check_claim_travel_time(source, destination, 1_201)
    with refused("IOME-CLAIM-004", "no route from st-a to st-b"):
        mobility.check_claim_travel_time(source, destination, None)


@pytest.mark.req("IOME-CLAIM-005")
def test_rejects_claim_reusing_either_presence(b: Builder) -> None:
    source = b.presence("source", "st-a", "ev-1/otk-1", T0 + 100)
    destination = b.presence("destination", "st-b", "ev-1/otk-2", T0 + 2_000)
    claim = b.claim(source, destination)
    mobility.check_claim_presences_unused(claim, {_hash("other")})
    for used in (source.tx_id, destination.tx_id):
        with refused("IOME-CLAIM-005", f"presence {used} is already in a claim"):
            mobility.check_claim_presences_unused(claim, {used})


@pytest.mark.req("IOME-CLAIM-006")
def test_rejects_claim_dated_one_second_before_the_destination(b: Builder) -> None:
    source = b.presence("source", "st-a", "ev-1/otk-1", T0 + 100)
    destination = b.presence("destination", "st-b", "ev-1/otk-2", T0 + 2_000)
    mobility.check_claim_after_trip(b.claim(source, destination, T0 + 2_000), destination)
    with refused(
        "IOME-CLAIM-006", f"claim timestamp {T0 + 1_999} is before destination time {T0 + 2_000}"
    ):
        mobility.check_claim_after_trip(b.claim(source, destination, T0 + 1_999), destination)


# --- mobility: presences, trips --------------------------------------------------------------


@pytest.mark.req("IOME-PRES-001", "IOME-PRES-002")
def test_rejects_presence_key_seen_or_equal_to_the_station(b: Builder) -> None:
    presence = b.presence("source", "st-a", "ev-1/otk-1", T0 + 100)
    mobility.check_presence_key_fresh(presence, False)
    mobility.check_presence_key_not_station(presence)
    with refused("IOME-PRES-001", f"one_time_pk {presence.one_time_pk} already has a Presence"):
        mobility.check_presence_key_fresh(presence, True)
    own = b.presence("source", "st-a", "st-a", T0 + 100)
    with refused("IOME-PRES-002", "one_time_pk equals station_pk"):
        mobility.check_presence_key_not_station(own)


@pytest.mark.req("IOME-TRIP-001")
def test_rejects_trip_ending_at_its_start(b: Builder) -> None:
    mobility.check_trip_interval(b.trip(start=T0, end=T0 + 60))
    with refused("IOME-TRIP-001", f"start_time {T0 + 60} is not before end_time {T0 + 60}"):
        mobility.check_trip_interval(b.trip(start=T0 + 60, end=T0 + 60))


@pytest.mark.req("IOME-TRIP-002")
def test_rejects_trip_one_signature_short_of_the_quorum(b: Builder) -> None:
    trip = b.trip(verifiers=("verifier-1", "verifier-2"))
    mobility.check_trip_quorum(trip, 2)
    with refused("IOME-TRIP-002", "2 verifier signatures, quorum is 3"):
        mobility.check_trip_quorum(trip, 3)


@pytest.mark.req("IOME-TRIP-003")
def test_rejects_trip_signed_twice_by_one_verifier(b: Builder) -> None:
    mobility.check_trip_verifiers_distinct(b.trip(verifiers=("verifier-1", "verifier-2")))
    with refused("IOME-TRIP-003", "a verifier key appears twice in verifier_sigs"):
        mobility.check_trip_verifiers_distinct(b.trip(verifiers=("verifier-1", "verifier-1")))


@pytest.mark.req("IOME-TRIP-004")
def test_rejects_trip_off_its_bucket_at_either_end_or_with_bucket_zero(b: Builder) -> None:
    # T0 is a multiple of 900; a bucket of 1 accepts every time.
    mobility.check_trip_buckets(b.trip(start=T0, end=T0 + 900, time_bucket_s=900))
    mobility.check_trip_buckets(b.trip(start=T0 + 1, end=T0 + 7, time_bucket_s=1))
    for start, end, bucket in (
        (T0 + 60, T0 + 900, 900),
        (T0, T0 + 960, 900),
        (T0, T0 + 900, 0),
    ):
        with refused("IOME-TRIP-004", f"times {start}/{end} are not multiples of bucket {bucket}"):
            mobility.check_trip_buckets(b.trip(start=start, end=end, time_bucket_s=bucket))


@pytest.mark.req("IOME-TRIP-006")
def test_rejects_trip_from_a_station_to_itself(b: Builder) -> None:
    mobility.check_trip_stations_differ(b.trip("st-a", "st-b"))
    with refused("IOME-TRIP-006", "origin and destination are both station st-a"):
        mobility.check_trip_stations_differ(b.trip("st-a", "st-a"))


# --- mobility: charging sessions -------------------------------------------------------------


@pytest.mark.req("IOME-CHG-001")
def test_rejects_session_of_zero_length(b: Builder) -> None:
    mobility.check_charge_interval(b.charge(start=T0, end=T0 + 1))
    with refused("IOME-CHG-001", f"end_time {T0} is not after start_time {T0}"):
        mobility.check_charge_interval(b.charge(start=T0, end=T0))


@pytest.mark.req("IOME-CHG-002")
def test_rejects_session_energy_one_wh_past_the_charger_limit_or_zero(b: Builder) -> None:
    duration = 3_600
    limit = MAX_CHARGER_POWER_W * duration // 3600
    assert limit == MAX_CHARGER_POWER_W
    for energy_wh in (1, limit):
        mobility.check_charge_energy(b.charge(start=T0, end=T0 + duration, energy_wh=energy_wh))
    for energy_wh in (0, limit + 1):
        session = b.charge(start=T0, end=T0 + duration, energy_wh=energy_wh)
        with refused("IOME-CHG-002", f"energy_wh {energy_wh} outside 1..{limit} for {duration} s"):
            mobility.check_charge_energy(session)
    # The limit is floored: 10 s at 350 kW is 972.2 Wh, so 972 Wh passes and 973 Wh does not.
    mobility.check_charge_energy(b.charge(start=T0, end=T0 + 10, energy_wh=972))
    with refused("IOME-CHG-002", "energy_wh 973 outside 1..972 for 10 s"):
        mobility.check_charge_energy(b.charge(start=T0, end=T0 + 10, energy_wh=973))


@pytest.mark.req("IOME-CHG-006")
def test_rejects_session_one_second_longer_than_the_limit(b: Builder) -> None:
    mobility.check_charge_duration(b.charge(start=T0, end=T0 + MAX_CHARGE_SESSION_S))
    with refused(
        "IOME-CHG-006",
        f"session lasts {MAX_CHARGE_SESSION_S + 1} s, limit is {MAX_CHARGE_SESSION_S} s",
    ):
        mobility.check_charge_duration(b.charge(start=T0, end=T0 + MAX_CHARGE_SESSION_S + 1))


@pytest.mark.req("IOME-CHG-007")
def test_rejects_session_one_wh_above_one_battery(b: Builder) -> None:
    mobility.check_charge_battery_bound(b.charge(energy_wh=MAX_SESSION_ENERGY_WH))
    with refused(
        "IOME-CHG-007",
        f"energy_wh {MAX_SESSION_ENERGY_WH + 1} exceeds one battery, {MAX_SESSION_ENERGY_WH} Wh",
    ):
        mobility.check_charge_battery_bound(b.charge(energy_wh=MAX_SESSION_ENERGY_WH + 1))


@pytest.mark.req("IOME-CHG-005")
def test_rejects_station_not_certified_for_its_id_or_at_the_start(b: Builder) -> None:
    directory = b.world.directory
    mobility.check_charge_station_certified_at_start(b.charge(start=T0), directory)
    with refused(
        "IOME-CHG-005",
        f"station_pk is not certified at start_time {T0 - 1}: IOME-CERT-",
    ):
        mobility.check_charge_station_certified_at_start(b.charge(start=T0 - 1), directory)
    # The start is checked for the station the session names, not any station.
    other = b.charge(station_id="st-b")
    with refused(
        "IOME-CHG-005",
        f"station_pk is not certified at start_time {other.start_time}: IOME-CERT-005 ",
    ):
        mobility.check_charge_station_certified_at_start(other, directory)


@pytest.mark.req("IOME-CHG-003", "IOME-CHG-004")
def test_rejects_session_key_seen_or_equal_to_the_station(b: Builder) -> None:
    session = b.charge()
    mobility.check_charge_key_fresh(session, False)
    mobility.check_charge_key_not_station(session)
    with refused("IOME-CHG-003", f"one_time_pk {session.one_time_pk} already has a ChargeSession"):
        mobility.check_charge_key_fresh(session, True)
    with refused("IOME-CHG-004", "one_time_pk equals station_pk"):
        mobility.check_charge_key_not_station(b.charge(vehicle_key="st-a"))


# --- mobility: O-D matrices ------------------------------------------------------------------


@pytest.mark.req("IOME-ODM-001")
def test_rejects_zones_unsorted_or_repeated_on_either_side(b: Builder) -> None:
    mobility.check_od_zones(b.od_matrix([]))
    for zones in (["st-b", "st-a"], ["st-a", "st-a"]):
        for side in ("origins", "destinations"):
            with refused("IOME-ODM-001", f"{side} are not sorted and unique"):
                mobility.check_od_zones(b.od_matrix([], **{side: zones}))


@pytest.mark.req("IOME-ODM-002")
def test_rejects_each_kind_of_bad_cell(b: Builder) -> None:
    two_by_three: dict[str, Any] = {"origins": ["st-a", "st-b"], "destinations": ["x", "y", "z"]}
    # The last cell inside the matrix, count 1, strictly ascending, is accepted.
    mobility.check_od_cells(
        b.od_matrix([], cells=[[0, 0, 1], [0, 2, 1], [1, 0, 5], [1, 2, 1]], **two_by_three)
    )
    for cells, message in (
        ([[0, 0]], "cells[0]: expected [i, j, count], found [0, 0]"),
        ([[2, 0, 1]], "cells[0]: [2, 0] is outside the 2 x 3 matrix"),
        ([[0, 3, 1]], "cells[0]: [0, 3] is outside the 2 x 3 matrix"),
        ([[0, 0, 0]], "cells[0]: count is 0, expected at least 1"),
        ([[0, 1, 1], [0, 1, 1]], "cells[1]: [0, 1] does not follow [0, 1]"),
        ([[1, 0, 1], [0, 2, 1]], "cells[1]: [0, 2] does not follow [1, 0]"),
        ([[0, 2, 1], [0, 1, 1]], "cells[1]: [0, 1] does not follow [0, 2]"),
    ):
        with refused("IOME-ODM-002", message):
            mobility.check_od_cells(b.od_matrix([], cells=cells, **two_by_three))


@pytest.mark.req("IOME-ODM-003")
def test_rejects_empty_period(b: Builder) -> None:
    mobility.check_od_period(b.od_matrix([], period=(T0, T0 + 1)))
    with refused("IOME-ODM-003", f"period_start {T0} is not before period_end {T0}"):
        mobility.check_od_period(b.od_matrix([], period=(T0, T0)))


@pytest.mark.req("IOME-ODM-004")
def test_counts_trips_ending_inside_the_half_open_period_within_the_zones(b: Builder) -> None:
    period = (T0 + 3_600, T0 + 7_200)

    def trip(origin: str, destination: str, end: int) -> Trip:
        return b.trip(origin, destination, start=end - 1_800, end=end)

    trips = [
        trip("st-a", "st-b", period[0]),  # ends at the start: counted
        trip("st-a", "st-b", period[1] - 60),  # counted
        trip("st-b", "st-a", period[1]),  # ends at the end: not counted
        trip("st-a", "st-c", period[0] - 60),  # before: not counted
        trip("st-x", "st-a", period[0] + 60),  # origin outside the zones
        trip("st-a", "st-x", period[0] + 60),  # destination outside the zones
        trip("st-c", "st-a", period[0] + 60),
    ]
    zones = ["st-a", "st-b", "st-c"]
    expected = [[0, 1, 2], [2, 0, 1]]
    assert mobility.compute_od_cells(trips, zones, zones, *period) == expected
    # Distinct origin and destination lists index separately.
    assert mobility.compute_od_cells(trips, ["st-c"], ["st-a", "st-b"], *period) == [[0, 0, 1]]
    mobility.check_od_counts(b.od_matrix(trips, period=period), trips)
    inflated = b.od_matrix(trips, period=period, cells=[[0, 1, 3], [2, 0, 1]])
    with refused("IOME-ODM-004", "cells differ from the recomputation from public Trips"):
        mobility.check_od_counts(inflated, trips)


# --- energy ----------------------------------------------------------------------------------


@pytest.mark.req("IOME-ESDP-001", "IOME-ESDP-002", "IOME-ESDP-003")
def test_rejects_esdp_at_each_window_limit(b: Builder) -> None:
    t = T0 + 3_600
    energy.check_esdp_window(b.esdp(window_start=t, window_end=t + 1))
    with refused("IOME-ESDP-001", f"window_start {t} is not before window_end {t}"):
        energy.check_esdp_window(b.esdp(window_start=t, window_end=t))
    energy.check_esdp_horizon(b.esdp(window_start=t, window_end=t + MAX_ESDP_HORIZON_S))
    with refused(
        "IOME-ESDP-002",
        f"window is {MAX_ESDP_HORIZON_S + 1} s long, limit is {MAX_ESDP_HORIZON_S} s",
    ):
        energy.check_esdp_horizon(b.esdp(window_start=t, window_end=t + MAX_ESDP_HORIZON_S + 1))
    energy.check_esdp_precedes_window(b.esdp(t=t, window_start=t))
    with refused("IOME-ESDP-003", f"timestamp {t + 1} is after window_start {t}"):
        energy.check_esdp_precedes_window(b.esdp(t=t + 1, window_start=t))


@pytest.mark.req("IOME-EPS-001", "IOME-EPS-002", "IOME-EPS-009")
def test_rejects_registration_faults(b: Builder) -> None:
    reg = b.registration()
    energy.check_registration_by_authority(reg, reg.ca_pk)
    energy.check_registration_regions(reg)
    energy.check_registration_new(reg, None)
    with refused("IOME-EPS-001", f"ca_pk {reg.ca_pk} is not the certificate authority "):
        energy.check_registration_by_authority(reg, b.key("home-1").public_hex)
    with refused("IOME-EPS-001", f"ca_pk {reg.ca_pk} is not the certificate authority None"):
        energy.check_registration_by_authority(reg, None)
    for regions in ([], ["south", "north"], ["north", "north"]):
        with refused("IOME-EPS-002", "regions must be non-empty, sorted and unique, found "):
            energy.check_registration_regions(b.registration(regions=regions))
    energy.check_registration_regions(b.registration(regions=["north"]))
    with refused("IOME-EPS-009", f"issuer {reg.issuer_pk} is already registered by {reg.tx_id}"):
        energy.check_registration_new(b.registration(t=T0 + 61), reg)


@pytest.mark.req("IOME-EPS-003", "IOME-EPS-008", "IOME-EPS-011")
def test_rejects_eps_at_each_validity_limit(b: Builder) -> None:
    t = T0 + 3_600
    eps = b.eps(ZERO_HASH, t=t, expiry=t + 1)
    energy.check_eps_expiry(eps)
    with refused("IOME-EPS-003", f"expiry {t} is not after issued_at {t}"):
        energy.check_eps_expiry(b.eps(ZERO_HASH, t=t, expiry=t))
    energy.check_eps_validity_bounded(b.eps(ZERO_HASH, t=t, expiry=t + MAX_EPS_VALIDITY_S))
    with refused(
        "IOME-EPS-008", f"validity is {MAX_EPS_VALIDITY_S + 1} s, limit is {MAX_EPS_VALIDITY_S} s"
    ):
        energy.check_eps_validity_bounded(b.eps(ZERO_HASH, t=t, expiry=t + MAX_EPS_VALIDITY_S + 1))
    energy.check_eps_in_force_at_block(eps, t)
    with refused("IOME-EPS-011", f"expiry {t + 1} is not after the block's time {t + 1}"):
        energy.check_eps_in_force_at_block(eps, t + 1)


@pytest.mark.req("IOME-EPS-004", "IOME-EPS-005", "IOME-EPS-006", "IOME-EPS-007", "IOME-EPS-010")
def test_rejects_eps_against_its_chain_state(b: Builder) -> None:
    reg = b.registration()
    tip = _hash("tip")
    eps = b.eps(tip)
    energy.check_eps_issuer_registered(eps, reg)
    energy.check_eps_region_registered(eps, reg)
    energy.check_eps_extends_chain(eps, tip)
    energy.check_eps_not_equivocating(eps, None)
    energy.check_eps_not_equivocating(eps, eps.tx_id)  # the same signal again is no fork
    energy.check_eps_not_before_predecessor(eps, None)
    energy.check_eps_not_before_predecessor(eps, eps.issued_at)
    with refused("IOME-EPS-006", f"issuer {eps.issuer_pk} has no IssuerRegistration"):
        energy.check_eps_issuer_registered(eps, None)
    with refused("IOME-EPS-007", "region east is not among registered regions "):
        energy.check_eps_region_registered(b.eps(tip, region="east"), reg)
    with refused("IOME-EPS-004", f"prev_tx_id {tip} is not tip {_hash('other')}"):
        energy.check_eps_extends_chain(eps, _hash("other"))
    with refused("IOME-EPS-004", f"prev_tx_id {tip} is not tip None"):
        energy.check_eps_extends_chain(eps, None)
    with refused("IOME-EPS-005", f"prev_tx_id {tip} is already extended by {_hash('other')}"):
        energy.check_eps_not_equivocating(eps, _hash("other"))
    with refused(
        "IOME-EPS-010",
        f"issued_at {eps.issued_at} is before its predecessor's time {eps.issued_at + 1}",
    ):
        energy.check_eps_not_before_predecessor(eps, eps.issued_at + 1)


# --- ledger ----------------------------------------------------------------------------------


def _ref(block: Block) -> BlockRef:
    return BlockRef.of(block)


@pytest.mark.req("IOME-BLK-006")
def test_rejects_block_one_transaction_over_the_limit(b: Builder) -> None:
    # A parsed block never holds more than MAX_BLOCK_TXS (IOME-ENC-010 bounds the list), so
    # the rule's own limit is tested on blocks built without parsing.
    template = b.block("public", [], T0)

    def of(count: int) -> Block:
        one = b.commitment(data=b"x")
        txs = [one.model_copy(update={"tx_id": f"{i:064x}"}) for i in range(count)]
        return template.model_copy(update={"txs": txs})

    ledger.check_block_txs_distinct(of(MAX_BLOCK_TXS))
    with refused("IOME-BLK-006", f"{MAX_BLOCK_TXS + 1} transactions, limit is {MAX_BLOCK_TXS}"):
        ledger.check_block_txs_distinct(of(MAX_BLOCK_TXS + 1))
    twice = b.commitment()
    with refused("IOME-BLK-006", "a transaction appears twice in the block"):
        ledger.check_block_txs_distinct(template.model_copy(update={"txs": [twice, twice]}))


@pytest.mark.req("IOME-BLK-008")
def test_rejects_tx_one_second_after_its_block(b: Builder) -> None:
    tx = b.commitment(t=T0 + 600)
    ledger.check_tx_not_after_block(tx, T0 + 600)
    with refused("IOME-BLK-008", f"DataCommitment time {T0 + 600} is after block time {T0 + 599}"):
        ledger.check_tx_not_after_block(tx, T0 + 599)


@pytest.mark.req("IOME-BLK-001", "IOME-BLK-002", "IOME-BLK-004", "IOME-BLK-007")
def test_rejects_block_against_its_head_at_each_limit(b: Builder) -> None:
    genesis = b.block("public", [], T0 + 10)
    ledger.check_genesis(genesis)
    head = _ref(genesis)
    child = b.block("public", [], T0 + 10)  # same time as the parent: allowed
    ledger.check_block_height(child, head)
    ledger.check_block_prev_hash(child, head)
    ledger.check_block_time(child, head)
    with refused("IOME-BLK-007", "first block has height 1 and prev_hash "):
        ledger.check_genesis(child)
    with refused("IOME-BLK-007", f"first block has height 0 and prev_hash {_hash('x')[:16]}..."):
        ledger.check_genesis(genesis.model_copy(update={"prev_hash": _hash("x")}))
    with refused("IOME-BLK-001", "height is 2, expected 1"):
        ledger.check_block_height(child.model_copy(update={"height": 2}), head)
    with refused("IOME-BLK-002", f"prev_hash is {_hash('x')}, head is {head.block_hash}"):
        ledger.check_block_prev_hash(child.model_copy(update={"prev_hash": _hash("x")}), head)
    with refused("IOME-BLK-004", f"time {T0 + 9} is before parent time {T0 + 10}"):
        ledger.check_block_time(child.model_copy(update={"time": T0 + 9}), head)


@pytest.mark.req("IOME-BLK-009")
def test_rejects_equivocation_only_by_one_producer_with_two_hashes(b: Builder) -> None:
    block = b.block("public", [], T0)
    ledger.check_block_not_equivocating(block, None)
    ledger.check_block_not_equivocating(block, _ref(block))  # the same block again
    other = Block.create(
        b.key("producer"), chain_id="public", height=0, prev_hash=ZERO_HASH, time=T0 + 1, txs=[]
    )
    by_another = Block.create(
        b.key("producer-2"), chain_id="public", height=0, prev_hash=ZERO_HASH, time=T0, txs=[]
    )
    ledger.check_block_not_equivocating(by_another, _ref(block))
    with refused(
        "IOME-BLK-009", f"producer {block.producer_pk[:16]}... signed two blocks at height 0"
    ):
        ledger.check_block_not_equivocating(other, _ref(block))


@pytest.mark.req("IOME-ANC-004", "IOME-ANC-002", "IOME-ANC-003")
def test_rejects_anchor_not_above_the_anchored_height(b: Builder) -> None:
    tip = AnchorTip(_hash("tip"), 5, T0)
    anchor = b.anchor(6, _hash("h"), tip.tx_id, T0 + 900)
    ledger.check_anchor_height(anchor, tip)
    ledger.check_anchor_height(b.anchor(0, _hash("h"), None, T0), None)
    ledger.check_anchor_extends_tip(anchor, tip)
    ledger.check_anchor_extends_tip(b.anchor(0, _hash("h"), None, T0), None)
    ledger.check_anchor_not_forking(anchor, None)
    ledger.check_anchor_not_forking(anchor, anchor.tx_id)
    with refused("IOME-ANC-004", "height 5 is not above anchored height 5"):
        ledger.check_anchor_height(b.anchor(5, _hash("h"), tip.tx_id, T0 + 900), tip)
    with refused("IOME-ANC-002", f"prev_anchor_id is {tip.tx_id}, tip is None"):
        ledger.check_anchor_extends_tip(anchor, None)
    with refused("IOME-ANC-003", f"anchor {tip.tx_id} is already extended by {_hash('other')}"):
        ledger.check_anchor_not_forking(anchor, _hash("other"))


@pytest.mark.req("IOME-ANC-007", "IOME-ANC-009")
def test_rejects_handover_one_second_before_the_silence_is_long_enough(b: Builder) -> None:
    tip = AnchorTip(_hash("tip"), 5, T0)
    ledger.check_handover_missed_periods(b.handover(tip.tx_id, T0 + SILENCE), tip)
    with refused("IOME-ANC-007", f"manager silent {SILENCE - 1} s, handover needs {SILENCE} s"):
        ledger.check_handover_missed_periods(b.handover(tip.tx_id, T0 + SILENCE - 1), tip)
    handover = b.handover(tip.tx_id, T0 + 5 * SILENCE)
    ledger.check_handover_after_handover(handover, None)
    ledger.check_handover_after_handover(handover, T0 + 4 * SILENCE)
    with refused(
        "IOME-ANC-009", f"manager in office for {SILENCE - 1} s, handover needs {SILENCE} s"
    ):
        ledger.check_handover_after_handover(handover, T0 + 4 * SILENCE + 1)


@pytest.mark.req("IOME-ANC-006", "IOME-ANC-008")
def test_rejects_handover_by_another_manager_or_to_itself(b: Builder) -> None:
    tip = AnchorTip(_hash("tip"), 5, T0)
    handover = b.handover(tip.tx_id, T0 + SILENCE)
    ledger.check_handover_manager(handover, handover.old_manager_pk)
    ledger.check_handover_tip(handover, tip)
    with refused("IOME-ANC-006", "old_manager_pk is not the manager in office of fleet"):
        ledger.check_handover_manager(handover, b.key("fleet-backup").public_hex)
    with refused("IOME-ANC-006", "new_manager_pk equals old_manager_pk"):
        ledger.check_handover_manager(
            b.handover(tip.tx_id, T0 + SILENCE, new="fleet-manager"),
            handover.old_manager_pk,
        )
    with refused("IOME-ANC-008", f"last_anchor_id is {tip.tx_id}, tip is None"):
        ledger.check_handover_tip(handover, None)


@pytest.mark.req("IOME-ANC-010")
def test_rejects_anchor_one_second_before_the_later_of_tip_and_handover(b: Builder) -> None:
    tip = AnchorTip(_hash("tip"), 5, T0 + 100)
    at = b.anchor(6, _hash("h"), tip.tx_id, T0 + 100)
    ledger.check_anchor_time(at, tip, None)
    ledger.check_anchor_time(at, None, T0 + 100)
    ledger.check_anchor_time(at, None, None)
    with refused(
        "IOME-ANC-010",
        f"timestamp {T0 + 100} is before the previous anchor or handover at {T0 + 101}",
    ):
        ledger.check_anchor_time(at, AnchorTip(tip.tx_id, 5, T0 + 101), T0 + 50)
    with refused(
        "IOME-ANC-010",
        f"timestamp {T0 + 100} is before the previous anchor or handover at {T0 + 101}",
    ):
        ledger.check_anchor_time(at, AnchorTip(tip.tx_id, 5, T0 + 50), T0 + 101)


@pytest.mark.req("IOME-ANC-005")
def test_rejects_anchor_naming_another_head_or_a_height_the_child_lacks(b: Builder) -> None:
    anchor = b.anchor(6, _hash("h"), None, T0)
    ledger.check_anchor_head(anchor, _hash("h"))
    with refused("IOME-ANC-005", f"head_hash {_hash('h')} is not child block 6 (None)"):
        ledger.check_anchor_head(anchor, None)


def test_block_ref_keeps_the_signed_header_without_transactions(b: Builder) -> None:
    # The header is equivocation evidence (IOME-BLK-009): exactly what the producer signed.
    block = b.block("public", [b.commitment()], T0)
    ref = BlockRef.of(block)
    assert ref[:4] == (block.height, block.block_hash, block.time, block.producer_pk)
    assert ref.header == {
        key: value for key, value in block.model_dump(mode="json").items() if key != "txs"
    }
    assert set(ref.header) == {
        "type",
        "chain_id",
        "height",
        "prev_hash",
        "merkle_root",
        "time",
        "producer_pk",
        "block_hash",
        "signature",
    }


@pytest.mark.req("IOME-BLK-003", "IOME-BLK-005", "IOME-BLK-011", "IOME-ENC-011")
def test_rejects_header_or_tx_whose_hashes_do_not_match_naming_both(b: Builder) -> None:
    block = b.block("public", [b.commitment()], T0)
    ledger.check_block_chain_id(block, "public")
    ledger.check_block_hash(block)
    ledger.check_block_merkle_root(block)
    with refused("IOME-BLK-005", "block is for chain public, not fleet"):
        ledger.check_block_chain_id(block, "fleet")
    rehashed = block.model_copy(update={"block_hash": _hash("x")})
    with refused(
        "IOME-BLK-011", f"block_hash is {_hash('x')}, header hashes to {block.block_hash}"
    ):
        ledger.check_block_hash(rehashed)
    rerooted = block.model_copy(update={"merkle_root": _hash("x")})
    with refused("IOME-BLK-003", f"merkle_root is {_hash('x')}, txs give {block.merkle_root}"):
        ledger.check_block_merkle_root(rerooted)
    tx = b.commitment()
    check_tx_id(tx)
    with refused("IOME-ENC-011", f"tx_id is {_hash('x')}, canonical hash is {tx.tx_id}"):
        check_tx_id(tx.model_copy(update={"tx_id": _hash("x")}))


def test_stateless_pipeline_without_directory_checks_no_certificate(b: Builder) -> None:
    # ``iome validate`` without --pki: nothing certified is reported, signatures still are.
    assert check_stateless(b.charge()) == []
    assert check_stateless(b.charge(), b.world.directory) == [
        Certified(b.key("st-a").public_hex, ROLE_STATION, "st-a")
    ]


def test_accepts_first_anchor_at_time_zero(b: Builder) -> None:
    # With no tip and no handover the floor is 0, the least time there is.
    ledger.check_anchor_time(b.anchor(0, _hash("h"), None, 0), None, None)


@pytest.mark.req("IOME-BLK-012")
def test_rejects_stored_block_unreadable_rehashed_or_refused_naming_the_cause(
    b: Builder,
) -> None:
    block = b.block("public", [], T0)
    body = json.dumps(block.model_dump(mode="json")).encode()
    seen: list[Block] = []
    assert ledger.check_stored_block(body, block.block_hash, seen.append) == block
    assert seen == [block]
    with refused("IOME-BLK-012", "stored block is unreadable: "):
        ledger.check_stored_block(b"{", block.block_hash, seen.append)
    with refused("IOME-BLK-012", f"stored block 0 no longer hashes to {_hash('x')}"):
        ledger.check_stored_block(body, _hash("x"), seen.append)
    # The header hashes to what was recorded, but the block_hash field says otherwise.
    forged = json.dumps(block.model_dump(mode="json") | {"block_hash": _hash("x")}).encode()
    with refused("IOME-BLK-012", f"stored block 0 no longer hashes to {block.block_hash}"):
        ledger.check_stored_block(forged, block.block_hash, seen.append)

    def refuse(_: Block) -> None:
        raise Rejected("IOME-BLK-004", "time runs backwards")

    with refused("IOME-BLK-012", "stored block 0 is refused on reload: IOME-BLK-004: time runs"):
        ledger.check_stored_block(body, block.block_hash, refuse)


@pytest.mark.req("IOME-BLK-012")
def test_rejects_stored_block_whose_indexes_no_longer_match_its_body(b: Builder) -> None:
    # The store keeps a block's height and transaction ids beside its body: an edit of either
    # index is an altered store, named as such; matching indexes (or none given) pass.
    tx = b.commitment()
    block = b.block("public", [tx], T0)
    body = json.dumps(block.model_dump(mode="json")).encode()
    seen: list[Block] = []
    assert ledger.check_stored_block(body, block.block_hash, seen.append, 0, [tx.tx_id]) == block
    assert ledger.check_stored_block(body, block.block_hash, seen.append, 0) == block
    assert ledger.check_stored_block(body, block.block_hash, seen.append, None, [tx.tx_id])
    assert seen == [block, block, block]
    with refused("IOME-BLK-012", "stored block 0 is indexed at height 1"):
        ledger.check_stored_block(body, block.block_hash, seen.append, 1, [tx.tx_id])
    with refused("IOME-BLK-012", "stored block 0 is indexed with other transactions than it"):
        ledger.check_stored_block(body, block.block_hash, seen.append, 0, [])
    with refused("IOME-BLK-012", "stored block 0 is indexed with other transactions than it"):
        ledger.check_stored_block(body, block.block_hash, seen.append, None, [_hash("x")])
    # The body's own refusal is named first, whatever the indexes say.
    with refused("IOME-BLK-012", f"stored block 0 no longer hashes to {_hash('x')}"):
        ledger.check_stored_block(body, _hash("x"), seen.append, 1, [])


@pytest.mark.req("IOME-ANC-001")
def test_rejects_anchor_by_a_manager_not_in_office(b: Builder) -> None:
    anchor = b.anchor(0, _hash("h"), None, T0)
    ledger.check_anchor_manager(anchor, None)
    ledger.check_anchor_manager(anchor, anchor.manager_pk)
    with refused(
        "IOME-ANC-001", f"{anchor.manager_pk[:16]}... is not the current manager of fleet"
    ):
        ledger.check_anchor_manager(anchor, b.key("fleet-backup").public_hex)


@pytest.mark.req("IOME-REC-001", "IOME-REC-002")
def test_rejects_record_with_one_party_twice_or_replayed(b: Builder) -> None:
    record = b.external()
    ledger.check_record_parties(record)
    ledger.check_tx_not_replayed(record, False)
    with refused("IOME-REC-001", "party_a_pk equals party_b_pk"):
        ledger.check_record_parties(b.external(a="home-1", b="home-1"))
    with refused("IOME-REC-002", f"ExternalRecord {record.tx_id} is already on this chain"):
        ledger.check_tx_not_replayed(record, True)


@pytest.mark.req("IOME-BLK-010")
def test_rejects_each_type_off_its_chain_kinds(b: Builder) -> None:
    claim_source = b.presence("source", "st-a", "ev-1/otk-1", T0)
    ledger.check_tx_allowed(claim_source, "consortium")
    for kind in ("public", "child", "unknown"):
        with refused("IOME-BLK-010", f"Presence is not allowed on a {kind} chain"):
            ledger.check_tx_allowed(claim_source, kind)


# --- certificates each transaction needs -----------------------------------------------------


def test_names_the_role_and_subject_each_type_certifies(b: Builder) -> None:
    def pk(name: str) -> str:
        return b.key(name).public_hex

    source = b.presence("source", "st-a", "ev-1/otk-1", T0)
    tip = _hash("tip")
    assert get_certified_keys(b.esdp(issuer="home-1")) == []
    assert get_certified_keys(b.esdp(issuer="grid-north", issuer_role="distribution")) == [
        Certified(pk("grid-north"), ROLE_DISTRIBUTION, None)
    ]
    assert get_certified_keys(b.registration()) == [
        Certified(pk("grid-north"), ROLE_DISTRIBUTION, "grid-north")
    ]
    assert get_certified_keys(b.eps(tip)) == [Certified(pk("grid-north"), ROLE_DISTRIBUTION, None)]
    assert get_certified_keys(source) == [Certified(pk("st-a"), ROLE_STATION, "st-a")]
    assert get_certified_keys(b.charge("st-b")) == [Certified(pk("st-b"), ROLE_STATION, "st-b")]
    assert get_certified_keys(b.trip(verifiers=("verifier-2", "verifier-1"))) == [
        Certified(pk("verifier-2"), ROLE_VERIFIER, None),
        Certified(pk("verifier-1"), ROLE_VERIFIER, None),
    ]
    assert get_certified_keys(b.od_matrix([])) == [Certified(pk("predictor"), ROLE_PREDICTOR, None)]
    assert get_certified_keys(b.handover(tip, T0)) == [
        Certified(pk("fleet-backup"), ROLE_BACKUP, "fleet")
    ]
    anchor = b.anchor(0, tip, None, T0)
    assert get_certified_keys(anchor) == [Certified(pk("fleet-manager"), ROLE_MANAGER, "fleet")]
    assert get_certified_keys(anchor, ROLE_BACKUP) == [
        Certified(pk("fleet-manager"), ROLE_BACKUP, "fleet")
    ]
    assert get_certified_keys(b.commitment()) == []
    assert get_certified_keys(b.external()) == []


# --- revocation lists ------------------------------------------------------------------------


@pytest.mark.req("IOME-REV-001", "IOME-REV-002")
def test_rejects_list_that_is_no_crl_or_claims_another_time(b: Builder) -> None:
    listed = b.revocation_list({"st-c": T0 + 4_000}, T0 + 30_000)
    crl = revocation.check_revocation_list_der(listed)
    revocation.check_revocation_list_time(listed, crl)
    with refused("IOME-REV-001", "crl is not a DER X.509 CRL: "):
        revocation.check_revocation_list_der(listed.model_copy(update={"crl": "3000"}))
    later = listed.model_copy(update={"this_update": T0 + 30_001})
    with refused("IOME-REV-002", f"this_update is {T0 + 30_001}, the CRL says {T0 + 30_000}"):
        revocation.check_revocation_list_time(later, crl)


@pytest.mark.req("IOME-REV-003")
def test_rejects_use_whose_block_came_at_or_after_the_revocation(world: World) -> None:
    """A use is re-judged at its block's time too (IOME-CERT-021 judged it there): claimed
    before st-revoked's revocation date, included at it, it is evidence; included the second
    before, it is not."""
    revoked = world.key("st-revoked").public_hex
    use = revocation.CertifiedUse(
        _hash("c"), "Presence", revoked, ROLE_STATION, "st-revoked", REVOKED_AT - 60, REVOKED_AT - 1
    )
    revocation.check_use_not_revoked_later(use, world.directory)
    with refused(
        "IOME-REV-003",
        f"Presence {_hash('c')} relied on {revoked[:16]}..., refused now: "
        f"IOME-CERT-003: certificate 'st-revoked' was revoked at {REVOKED_AT}",
    ):
        revocation.check_use_not_revoked_later(
            use._replace(included_at=REVOKED_AT), world.directory
        )


@pytest.mark.req("IOME-REV-003")
def test_rejects_use_of_a_key_refused_now_naming_the_tx_and_the_reason(world: World) -> None:
    revoked = world.key("st-revoked").public_hex
    before = revocation.CertifiedUse(
        _hash("a"), "Presence", revoked, ROLE_STATION, "st-revoked", REVOKED_AT - 1
    )
    revocation.check_use_not_revoked_later(before, world.directory)
    at = before._replace(at=REVOKED_AT)
    with refused(
        "IOME-REV-003",
        f"Presence {_hash('a')} relied on {revoked[:16]}..., refused now: "
        f"IOME-CERT-003: certificate 'st-revoked' was revoked at {REVOKED_AT}",
    ):
        revocation.check_use_not_revoked_later(at, world.directory)
    # The subject is re-checked too: a key certified for st-a never vouched for st-b.
    other = revocation.CertifiedUse(
        _hash("b"), "ChargeSession", world.key("st-a").public_hex, ROLE_STATION, "st-b", T0 + 1
    )
    with refused(
        "IOME-REV-003",
        f"ChargeSession {_hash('b')} relied on {other.public_key[:16]}..., "
        "refused now: IOME-CERT-005",
    ):
        revocation.check_use_not_revoked_later(other, world.directory)
