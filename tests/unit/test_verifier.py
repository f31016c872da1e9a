"""Verifiers: claims are judged by the consortium chain's own rules, and each verifier co-signs
only the Trip it derives itself (IOME-TRIP-005)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from helpers import usage_error

from iome_ref.chain.state import ChainState, Journal
from iome_ref.chain.transition import apply_tx
from iome_ref.errors import Rejected
from iome_ref.models import Presence, Trip, TripClaim
from iome_ref.roles.verifier import (
    RandomSource,
    TripFields,
    Verifier,
    VerifierQuorum,
    check_trip_matches_claim,
    compute_trip_fields,
)
from iome_ref.rules import check_stateless
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import REVOKED_AT, T0, World, build_world

T = T0 + 86_400 + 100  # t1; st-a -> st-b takes at least 1,200 s in the world's road table


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(5)


@pytest.fixture
def b(world: World) -> Builder:
    return Builder(world)


def verifiers(world: World) -> list[Verifier]:
    return [Verifier(name, world.key(name)) for name in ("verifier-1", "verifier-2", "verifier-3")]


def quorum(world: World, *, bucket: int = 900) -> VerifierQuorum:
    ctx = world.context()
    return VerifierQuorum(verifiers(world), 2, ctx.travel, world.directory, time_bucket_s=bucket)


def trip_of(
    b: Builder, key: str = "ev-1", t1: int = T, t2: int = T + 1_500, origin: str = "st-a"
) -> tuple[Presence, Presence, TripClaim]:
    source = b.presence("source", origin, f"{key}/otk-1", t1)
    destination = b.presence("destination", "st-b", f"{key}/otk-2", t2)
    return source, destination, b.claim(source, destination, t2 + 10)


def consortium(world: World) -> ChainState:
    return ChainState("verifiers", "consortium", world.directory)


# --- derivation (paper Fig. 5 step 8) --------------------------------------------------------


def test_trip_fields_round_start_down_and_end_up(b: Builder) -> None:
    source, destination, _ = trip_of(b, t1=T0 + 1_000, t2=T0 + 2_500)
    # T0 is a multiple of 900 (1,704,067,200 = 900 * 1,893,408): 1,000 -> 900, 2,500 -> 2,700.
    assert compute_trip_fields(source, destination, 900) == TripFields(
        "st-a", "st-b", T0 + 900, T0 + 2_700, 900
    )
    # b = 1 publishes exact times; a time already on the grid stays.
    assert compute_trip_fields(source, destination, 1)[2:4] == (T0 + 1_000, T0 + 2_500)
    assert compute_trip_fields(source, destination, 100)[2:4] == (T0 + 1_000, T0 + 2_500)


@pytest.mark.req("IOME-TRIP-005")
def test_accepts_co_signing_the_derived_trip(world: World, b: Builder) -> None:
    source, destination, _ = trip_of(b)
    verifier = verifiers(world)[1]
    proposal = verifiers(world)[0].propose(source, destination, 900, random.Random(1))
    signature = verifier.co_sign(proposal, source, destination, 900)
    assert signature.verifier_pk == world.key("verifier-2").public_hex


def _tampered(proposal: Trip, **fields: object) -> Trip:
    values = proposal.model_dump(exclude={"tx_id"}) | fields
    return Trip.create({}, **values)


@pytest.mark.req("IOME-TRIP-005")
@pytest.mark.parametrize(
    "change",
    [
        {"start_time": T0 + 86_400 - 900},  # a shifted start
        {"end_time": T0 + 86_400 + 2_700},  # a later end
        {"origin_station_id": "st-c"},  # another station
        {"start_time": T, "end_time": T + 1_500, "time_bucket_s": 1},  # exact times
    ],
)
def test_rejects_co_signing_a_tampered_proposal(
    world: World, b: Builder, change: dict[str, object]
) -> None:
    source, destination, _ = trip_of(b)
    proposal = verifiers(world)[0].propose(source, destination, 900, random.Random(1))
    with pytest.raises(Rejected) as caught:
        verifiers(world)[1].co_sign(_tampered(proposal, **change), source, destination, 900)
    assert caught.value.req_id == "IOME-TRIP-005"


@pytest.mark.req("IOME-TRIP-005")
def test_rejects_co_signing_a_proposal_with_a_stale_tx_id(world: World, b: Builder) -> None:
    source, destination, _ = trip_of(b)
    proposal = verifiers(world)[0].propose(source, destination, 900, random.Random(1))
    # Same fields as derived, but the tx id is that of another trip.
    other = proposal.model_copy(update={"tx_id": "ab" * 32})
    with pytest.raises(Rejected) as caught:
        check_trip_matches_claim(other, compute_trip_fields(source, destination, 900))
    assert caught.value.req_id == "IOME-TRIP-005"


# --- the quorum over the consortium chain (steps 6-8) ----------------------------------------


def test_on_claim_returns_a_quorum_trip_the_public_chain_accepts(world: World, b: Builder) -> None:
    state, q = consortium(world), quorum(world)
    source, destination, claim = trip_of(b)
    trip = q.on_claim(claim, source, destination, state, T + 2_000, random.Random(7))
    assert len(trip.verifier_sigs) == 2
    assert len({sig.verifier_pk for sig in trip.verifier_sigs}) == 2
    public = ChainState("public", "public", world.directory)
    apply_tx(public, trip, world.context(), trip.end_time, Journal())
    assert public.trips == [trip]
    assert q.pending == 3
    txs = q.take_consortium_txs()
    assert txs == [source, destination, claim]
    assert state.tx_ids == set()  # the provisional application was rolled back
    journal = Journal()
    for tx in txs:  # and the batch applies for real, in order
        apply_tx(state, tx, world.context(), T + 2_000, journal)
    assert state.claimed_presences == {source.tx_id, destination.tx_id}


def test_on_claim_leaves_presences_already_on_chain_out_of_the_batch(
    world: World, b: Builder
) -> None:
    state, q = consortium(world), quorum(world)
    source, destination, claim = trip_of(b)
    journal = Journal()
    for presence in (source, destination):
        apply_tx(state, presence, world.context(), T + 1_500, journal)
    q.on_claim(claim, source, destination, state, T + 2_000, random.Random(7))
    assert q.take_consortium_txs() == [claim]


def test_on_claim_draws_nonces_from_the_seeded_source(world: World, b: Builder) -> None:
    source, destination, claim = trip_of(b)
    other = trip_of(b, key="ev-2")
    q = quorum(world)
    state = consortium(world)
    first = q.on_claim(claim, source, destination, state, T + 2_000, random.Random(7))
    second = q.on_claim(other[2], other[0], other[1], state, T + 2_000, random.Random(8))
    # Same stations, same buckets, two vehicles: distinct transactions (trips.md "Identical
    # trips").
    assert first.start_time == second.start_time
    assert first.end_time == second.end_time
    assert first.tx_id != second.tx_id
    q.take_consortium_txs()
    replay = quorum(world).on_claim(claim, source, destination, state, T + 2_000, random.Random(7))
    assert replay == first
    generator: RandomSource = np.random.default_rng(7)
    with_numpy = quorum(world).on_claim(
        claim, source, destination, consortium(world), T + 2_000, generator
    )
    assert with_numpy.nonce != first.nonce


def test_rejects_claim_faster_than_the_road_graph(world: World, b: Builder) -> None:
    state, q = consortium(world), quorum(world)
    source, destination, claim = trip_of(b, t2=T + 600)  # st-a -> st-b needs 1,200 s
    with pytest.raises(Rejected) as caught:
        q.on_claim(claim, source, destination, state, T + 2_000, random.Random(7))
    assert caught.value.req_id == "IOME-CLAIM-004"
    assert state.tx_ids == set()
    assert state.presences == {}
    assert q.pending == 0


@pytest.mark.req("IOME-CLAIM-007")
def test_rejects_claim_of_a_station_to_itself_and_publishes_nothing(
    world: World, b: Builder
) -> None:
    # One station signs both presences for two keys it made itself: the trip needs no vehicle.
    state, q = consortium(world), quorum(world)
    source = b.presence("source", "st-a", "st-a-made/otk-1", T)
    destination = b.presence("destination", "st-a", "st-a-made/otk-2", T + 1)
    claim = b.claim(source, destination, T + 1)
    with pytest.raises(Rejected) as caught:
        q.on_claim(claim, source, destination, state, T + 2_000, random.Random(7))
    assert caught.value.req_id == "IOME-CLAIM-007"
    assert (state.tx_ids, q.pending) == (set(), 0)


@pytest.mark.req("IOME-TRIP-006")
def test_verifiers_never_propose_a_trip_the_public_chain_refuses(b: Builder) -> None:
    # Derivation is mechanical; the consortium chain's IOME-CLAIM-007 is what keeps a trip from
    # a station to itself from ever being proposed, and the public chain refuses one anyway.
    trip = b.trip("st-b", "st-b")
    with pytest.raises(Rejected) as caught:
        check_stateless(trip)
    assert caught.value.req_id == "IOME-TRIP-006"


def test_rejects_presence_reused_within_one_batch(world: World, b: Builder) -> None:
    state, q = consortium(world), quorum(world)
    source, destination, claim = trip_of(b)
    q.on_claim(claim, source, destination, state, T + 2_000, random.Random(7))
    again = b.claim(source, destination, T + 1_600)
    with pytest.raises(Rejected) as caught:
        q.on_claim(again, source, destination, state, T + 2_000, random.Random(8))
    assert caught.value.req_id == "IOME-CLAIM-005"
    assert q.pending == 3


def test_rejects_presence_of_a_revoked_station(world: World, b: Builder) -> None:
    t1 = REVOKED_AT + 100
    source, destination, claim = trip_of(b, t1=t1, t2=t1 + 2_000, origin="st-revoked")
    with pytest.raises(Rejected) as caught:
        quorum(world).on_claim(
            claim, source, destination, consortium(world), t1 + 3_000, random.Random(1)
        )
    assert caught.value.req_id == "IOME-CERT-003"


def test_rejects_presence_signed_before_revocation_judged_after(world: World, b: Builder) -> None:
    """The verifiers judge a claim on the consortium chain at the time they batch it: a
    presence st-revoked signed before its revocation but delivered after it is refused at that
    time (IOME-CERT-021), so it never enters a consortium block that the chain would refuse."""
    t1 = REVOKED_AT - 3_000
    source, destination, claim = trip_of(b, t1=t1, t2=t1 + 2_000, origin="st-revoked")
    assert (
        quorum(world)
        .on_claim(claim, source, destination, consortium(world), REVOKED_AT - 1, random.Random(1))
        .verifier_sigs
    )
    with pytest.raises(Rejected) as caught:
        quorum(world).on_claim(
            claim, source, destination, consortium(world), REVOKED_AT, random.Random(1)
        )
    assert caught.value.req_id == "IOME-CERT-021"


def test_rejects_presence_of_a_station_certified_by_another_authority(
    world: World, b: Builder
) -> None:
    source, destination, claim = trip_of(b, origin="st-foreign")
    with pytest.raises(Rejected) as caught:
        quorum(world).on_claim(
            claim, source, destination, consortium(world), T + 2_000, random.Random(1)
        )
    assert caught.value.req_id == "IOME-CERT-001"


def test_rejects_claim_whose_keys_are_not_the_presences(world: World, b: Builder) -> None:
    source, destination, _ = trip_of(b)
    stranger = b.key("ev-9/otk-2").public_hex
    forged = b.claim(source, destination, T + 1_600, destination_pk=stranger)
    with pytest.raises(Rejected) as caught:
        quorum(world).on_claim(
            forged, source, destination, consortium(world), T + 2_000, random.Random(1)
        )
    assert caught.value.req_id == "IOME-CLAIM-002"


class ShiftingVerifier(Verifier):
    """A dishonest proposer publishing the trip an hour early."""

    def propose(
        self, source: Presence, destination: Presence, time_bucket_s: int, rng: RandomSource
    ) -> Trip:
        honest = super().propose(source, destination, time_bucket_s, rng)
        return _tampered(
            honest, start_time=honest.start_time - 3_600, end_time=honest.end_time - 3_600
        )


@pytest.mark.req("IOME-TRIP-005")
def test_rejects_quorum_when_the_proposer_tampers(world: World, b: Builder) -> None:
    honest = verifiers(world)
    cheat = ShiftingVerifier("verifier-1", world.key("verifier-1"))
    # The cheat only proposes dishonestly: its co-signing, like the others', derives the true
    # trip, so every verifier refuses the shifted proposal and there is no quorum.
    q = VerifierQuorum([cheat, *honest[1:]], 2, world.travel, world.directory)
    state = consortium(world)
    source, destination, claim = trip_of(b)
    with pytest.raises(Rejected) as caught:
        q.on_claim(claim, source, destination, state, T + 2_000, random.Random(1))
    assert caught.value.req_id == "IOME-TRIP-005"
    assert state.tx_ids == set()
    assert q.pending == 0


def test_rejects_switching_consortium_state_with_a_pending_batch(world: World, b: Builder) -> None:
    q = quorum(world)
    source, destination, claim = trip_of(b)
    q.on_claim(claim, source, destination, consortium(world), T + 2_000, random.Random(1))
    source2, destination2, claim2 = trip_of(b, key="ev-2")
    with usage_error("verifier"):
        q.on_claim(claim2, source2, destination2, consortium(world), T + 2_000, random.Random(1))


@pytest.mark.parametrize(("k", "bucket"), [(0, 900), (4, 900), (2, 0)])
def test_rejects_impossible_quorum(world: World, k: int, bucket: int) -> None:
    with usage_error("verifier"):
        VerifierQuorum(verifiers(world), k, world.travel, world.directory, time_bucket_s=bucket)


def test_directory_can_be_replaced(world: World) -> None:
    q = quorum(world)
    other = build_world(6).directory
    q.directory = other
    assert q.directory is other
    assert q.context.quorum == 2
