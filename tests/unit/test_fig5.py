"""Paper Fig. 5 end to end with the real actors: one assertion block per step, 1 to 11.

A vehicle docks at station A and shows PK1 (1); A signs its presence (2); the vehicle drives to
B and shows PK2 (3); B signs its presence (4); the vehicle sends a claim to the verifiers (5);
they check the stations with the certificate authority (6) and match PK1 and PK2 with the
claim's signatures (7); a quorum publishes the anonymous Trip on the public chain (8); the
presences and the claim go to the verifiers' consortium chain (9); the mobility predictor
counts the public Trips into an O-D matrix (10), which the public chain accepts (11).

Every chain write goes through a Ledger, so each step is judged by the same rules a node
applies. Negative variants follow: a station refusing an undocked key, verifiers refusing a
trip faster than the road graph, and a co-signer refusing a tampered proposal.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from iome_ref.chain.ledger import Ledger
from iome_ref.chain.store import MemoryStore
from iome_ref.constants import CHAIN_CONSORTIUM, CHAIN_PUBLIC, ROLE_STATION, ROLE_VERIFIER
from iome_ref.crypto import KeyPair
from iome_ref.encoding import canonical_json
from iome_ref.errors import Rejected
from iome_ref.models import Presence, SignedModel, Trip, TripClaim
from iome_ref.roles.manager import BlockProducer
from iome_ref.roles.predictor import MobilityPredictor
from iome_ref.roles.station import ChargingStation
from iome_ref.roles.vehicle import Battery, ElectricVehicle
from iome_ref.roles.verifier import Verifier, VerifierQuorum
from iome_ref.rules import check_stateless
from iome_ref.vectors.world import T0, World, build_world

DOCK = T0 + 86_400 + 420  # the vehicle plugs in at A
T1 = DOCK + 1_800  # after a 30 min charge it leaves A: the source presence
T2 = T1 + 1_500  # arrives at B (the world's road table: A -> B takes at least 1,200 s)
ZONES = ["st-c", "st-a", "st-b"]  # the predictor sorts them
PERIOD = (T0 + 86_400, T0 + 2 * 86_400)


@dataclass
class Scene:
    """The actors and the node's chains of one run of Fig. 5."""

    world: World
    ledger: Ledger
    producer: BlockProducer
    a: ChargingStation
    b: ChargingStation
    ev: ElectricVehicle
    quorum: VerifierQuorum
    predictor: MobilityPredictor

    def publish(self, chain_id: str, txs: list[SignedModel], time: int) -> None:
        self.ledger.submit(self.producer.seal(self.ledger.chains[chain_id], txs, time))


@pytest.fixture
def scene() -> Scene:
    world = build_world(21)
    ledger = Ledger(MemoryStore(), world.context())
    ledger.add_chain("public", CHAIN_PUBLIC)
    ledger.add_chain("verifiers", CHAIN_CONSORTIUM)
    verifiers = [Verifier(n, world.key(n)) for n in ("verifier-1", "verifier-2", "verifier-3")]
    return Scene(
        world,
        ledger,
        BlockProducer(world.key("producer")),
        ChargingStation("st-a", world.key("st-a"), "north"),
        ChargingStation("st-b", world.key("st-b"), "south"),
        ElectricVehicle("ev-1", b"ev-1 secret", Battery(60_000, 30_000, 0.95), "north"),
        VerifierQuorum(verifiers, 2, world.travel, world.directory),
        MobilityPredictor(world.key("predictor")),
    )


def _drive_a_to_b(scene: Scene) -> tuple[KeyPair, KeyPair, Presence, Presence]:
    """Steps 1-4 (asserted in the end-to-end test)."""
    pk1 = scene.ev.one_time_key(0, "source")
    scene.a.dock("ev-1", pk1.public_hex, DOCK)
    p1 = scene.a.sign_presence("source", pk1.public_hex, T1)
    scene.a.undock("ev-1", T1)
    pk2 = scene.ev.one_time_key(0, "destination")
    scene.b.dock("ev-1", pk2.public_hex, T2)
    p2 = scene.b.sign_presence("destination", pk2.public_hex, T2)
    return pk1, pk2, p1, p2


def test_fig5_steps_1_to_11(scene: Scene) -> None:  # noqa: PLR0915 - the steps, in order
    world, ledger, ev = scene.world, scene.ledger, scene.ev
    public, consortium = ledger.chains["public"], ledger.chains["verifiers"]

    # Step 1: at A the vehicle shows a fresh one-time key PK1, not its home key.
    pk1 = ev.one_time_key(0, "source")
    scene.a.dock("ev-1", pk1.public_hex, DOCK)
    assert scene.a.is_docked(pk1.public_hex)
    assert pk1.public_hex != ev.home_key.public_hex
    # While docked, PK1 co-signs a public charging session (trips.md step 2).
    session = scene.a.record_session(pk1, "charge", 20_000, 250_000, DOCK, T1)
    ev.battery.charge(session.energy_wh)

    # Step 2: A signs SignA(h(PK1, t1)) and SignA(PK1): the source presence.
    p1 = scene.a.sign_presence("source", pk1.public_hex, T1)
    check_stateless(p1)
    assert (p1.kind, p1.station_id, p1.one_time_pk, p1.t) == ("source", "st-a", pk1.public_hex, T1)
    scene.a.undock("ev-1", T1)
    scene.publish("public", [session], T1)
    assert public.charge_keys == {pk1.public_hex}

    # Step 3: the vehicle drives to B and shows a second fresh key PK2.
    ev.battery.drive(2_000)
    pk2 = ev.one_time_key(0, "destination")
    assert pk2.public_hex not in {pk1.public_hex, ev.home_key.public_hex}
    scene.b.dock("ev-1", pk2.public_hex, T2)

    # Step 4: B signs the destination presence once the trip is complete.
    p2 = scene.b.sign_presence("destination", pk2.public_hex, T2)
    check_stateless(p2)
    assert (p2.kind, p2.station_id, p2.one_time_pk, p2.t) == (
        "destination",
        "st-b",
        pk2.public_hex,
        T2,
    )

    # Step 5: the claim, signed by both one-time keys, goes to the verifiers: the public chain
    # refuses it, because it links PK1 and PK2 (IOME-BLK-010).
    claim = ev.claim(p1, p2, T2 + 60)
    check_stateless(claim)
    with pytest.raises(Rejected) as caught:
        scene.publish("public", [claim], T2 + 60)
    assert caught.value.req_id == "IOME-BLK-010"
    trip = scene.quorum.on_claim(claim, p1, p2, consortium, T2 + 60, random.Random(5))

    # Step 6: both presences were signed by genuine stations, certified by the CA at t.
    for presence in (p1, p2):
        world.directory.check_certified(
            presence.station_pk, ROLE_STATION, presence.t, presence.station_id
        )

    # Step 7: PK1 and PK2 are the presences' keys and signed the claim.
    assert (claim.source_pk, claim.destination_pk) == (p1.one_time_pk, p2.one_time_pk)

    # Step 8: the anonymous Trip, bucketed, signed by a quorum, lands on the public chain.
    assert (trip.origin_station_id, trip.destination_station_id) == ("st-a", "st-b")
    assert trip.start_time <= T1 < T2 <= trip.end_time
    assert trip.start_time % 900 == trip.end_time % 900 == 0
    for sig in trip.verifier_sigs:
        world.directory.check_certified(sig.verifier_pk, ROLE_VERIFIER, trip.end_time)
    scene.publish("public", [trip], trip.end_time)
    assert public.trips == [trip]
    on_chain = canonical_json(trip.model_dump(mode="json")).decode()
    for secret_link in (pk1.public_hex, pk2.public_hex, p1.tx_id, p2.tx_id, claim.tx_id):
        assert secret_link not in on_chain

    # Step 9: the presences and the claim are kept on the verifiers' consortium chain.
    batch = scene.quorum.take_consortium_txs()
    assert batch == [p1, p2, claim]
    scene.publish("verifiers", batch, T2 + 60)
    assert consortium.claimed_presences == {p1.tx_id, p2.tx_id}
    assert {p1.tx_id, p2.tx_id, claim.tx_id} <= consortium.tx_ids
    assert {p1.tx_id, p2.tx_id, claim.tx_id}.isdisjoint(public.tx_ids)

    # Step 10: the predictor counts the public Trips into an O-D matrix.
    [odm] = scene.predictor.build(public.trips, ZONES, *PERIOD)
    assert odm.origins == odm.destinations == ["st-a", "st-b", "st-c"]
    assert odm.cells == [[0, 1, 1]]  # one trip st-a -> st-b

    # Step 11: the public chain recomputes and accepts it; an inflated one is refused.
    [inflated] = scene.predictor.build([trip, trip], ZONES, *PERIOD)
    with pytest.raises(Rejected) as caught:
        scene.publish("public", [inflated], PERIOD[1])
    assert caught.value.req_id == "IOME-ODM-004"
    scene.publish("public", [odm], PERIOD[1])
    assert odm.tx_id in public.tx_ids


# --- negative variants -----------------------------------------------------------------------


@pytest.mark.req("IOME-PRES-003")
def test_rejects_presence_for_a_key_not_docked_at_the_station(scene: Scene) -> None:
    pk1 = scene.ev.one_time_key(0, "source")
    scene.a.dock("ev-1", pk1.public_hex, DOCK)
    scene.a.undock("ev-1", T1)
    with pytest.raises(Rejected) as caught:  # the vehicle has left
        scene.a.sign_presence("source", pk1.public_hex, T1 + 1)
    assert caught.value.req_id == "IOME-PRES-003"
    with pytest.raises(Rejected) as caught:  # the key never docked at B
        scene.b.sign_presence("destination", pk1.public_hex, T2)
    assert caught.value.req_id == "IOME-PRES-003"


def test_rejects_trip_faster_than_the_road_graph(scene: Scene) -> None:
    pk1 = scene.ev.one_time_key(0, "source")
    scene.a.dock("ev-1", pk1.public_hex, DOCK)
    p1 = scene.a.sign_presence("source", pk1.public_hex, T1)
    # A second vehicle at B pretends to be the first: B sees PK2 only 10 minutes after t1.
    pk2 = scene.ev.one_time_key(0, "destination")
    scene.b.dock("ev-9", pk2.public_hex, T1 + 600)
    p2 = scene.b.sign_presence("destination", pk2.public_hex, T1 + 600)
    claim = scene.ev.claim(p1, p2, T1 + 660)
    consortium = scene.ledger.chains["verifiers"]
    with pytest.raises(Rejected) as caught:
        scene.quorum.on_claim(claim, p1, p2, consortium, T1 + 660, random.Random(5))
    assert caught.value.req_id == "IOME-CLAIM-004"
    assert scene.quorum.take_consortium_txs() == []
    assert consortium.tx_ids == set()


def test_rejects_claim_not_signed_by_the_holder_of_pk2(scene: Scene) -> None:
    _, _, p1, p2 = _drive_a_to_b(scene)
    thief = KeyPair.derive("test", "thief")
    # Step 7 fails: the destination signature is not by PK2.
    forged = TripClaim.create(
        {"source_sig": scene.ev.one_time_key(0, "source"), "destination_sig": thief},
        source_presence_id=p1.tx_id,
        destination_presence_id=p2.tx_id,
        source_pk=p1.one_time_pk,
        destination_pk=p2.one_time_pk,
        timestamp=T2 + 60,
    )
    with pytest.raises(Rejected) as caught:
        scene.quorum.on_claim(
            forged, p1, p2, scene.ledger.chains["verifiers"], T2 + 60, random.Random(5)
        )
    assert caught.value.req_id == "IOME-SIG-001"


@pytest.mark.req("IOME-TRIP-005")
def test_rejects_co_signing_a_tampered_proposal(scene: Scene) -> None:
    _, _, p1, p2 = _drive_a_to_b(scene)
    claim = scene.ev.claim(p1, p2, T2 + 60)
    trip = scene.quorum.on_claim(
        claim, p1, p2, scene.ledger.chains["verifiers"], T2 + 60, random.Random(5)
    )
    # A proposer that moves the trip to st-c (and re-hashes it) finds no co-signer.
    values = trip.model_dump(exclude={"tx_id", "verifier_sigs"})
    tampered = Trip.create({}, **(values | {"destination_station_id": "st-c"}), verifier_sigs=[])
    verifier = scene.quorum.verifiers[1]
    with pytest.raises(Rejected) as caught:
        verifier.co_sign(tampered, p1, p2, scene.quorum.time_bucket_s)
    assert caught.value.req_id == "IOME-TRIP-005"
