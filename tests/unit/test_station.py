"""The station attests only a key docked at it, once per docking (IOME-PRES-003), and co-signs
charging sessions the chain would accept; its presences enter a consortium chain as they are.
"""

from __future__ import annotations

import pytest
from helpers import usage_error

from iome_ref.chain.state import ChainState, Journal
from iome_ref.chain.transition import apply_tx
from iome_ref.constants import MAX_CHARGE_SESSION_S
from iome_ref.crypto import KeyPair
from iome_ref.errors import Rejected
from iome_ref.roles.station import ChargingStation
from iome_ref.rules import check_stateless
from iome_ref.vectors.world import T0, World, build_world

T = T0 + 86_400


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(3)


@pytest.fixture
def station(world: World) -> ChargingStation:
    return ChargingStation("st-a", world.key("st-a"), "north")


PK1 = KeyPair.derive("test", "ev-1", "otk-1")
PK2 = KeyPair.derive("test", "ev-1", "otk-2")


@pytest.mark.req("IOME-PRES-003")
def test_accepts_presence_of_a_docked_key(world: World, station: ChargingStation) -> None:
    station.dock("ev-1", PK1.public_hex, T)
    presence = station.sign_presence("source", PK1.public_hex, T + 5)
    check_stateless(presence)  # tx id and both station signatures verify
    assert (presence.station_id, presence.station_pk) == ("st-a", world.key("st-a").public_hex)
    assert (presence.kind, presence.one_time_pk, presence.t) == ("source", PK1.public_hex, T + 5)
    # A genuine station's presence enters the consortium chain (certificate, PRES-001/002).
    apply_tx(
        ChainState("verifiers", "consortium", world.directory),
        presence,
        world.context(),
        T + 5,
        Journal(),
    )


@pytest.mark.req("IOME-PRES-003")
def test_rejects_presence_for_an_undocked_key(station: ChargingStation) -> None:
    station.dock("ev-1", PK1.public_hex, T)
    with pytest.raises(Rejected) as caught:
        station.sign_presence("source", PK2.public_hex, T + 5)
    assert caught.value.req_id == "IOME-PRES-003"


@pytest.mark.req("IOME-PRES-003")
def test_rejects_second_presence_in_one_docking(station: ChargingStation) -> None:
    station.dock("ev-1", PK1.public_hex, T)
    station.sign_presence("destination", PK1.public_hex, T + 5)
    with pytest.raises(Rejected) as caught:
        station.sign_presence("source", PK1.public_hex, T + 600)
    assert caught.value.req_id == "IOME-PRES-003"


@pytest.mark.req("IOME-PRES-003")
def test_rejects_presence_dated_before_the_docking(station: ChargingStation) -> None:
    station.dock("ev-1", PK1.public_hex, T)
    with pytest.raises(Rejected) as caught:
        station.sign_presence("source", PK1.public_hex, T - 1)
    assert caught.value.req_id == "IOME-PRES-003"


@pytest.mark.req("IOME-PRES-003")
def test_rejects_presence_after_undocking(station: ChargingStation) -> None:
    station.dock("ev-1", PK1.public_hex, T)
    station.undock("ev-1", T + 60)
    with pytest.raises(Rejected) as caught:
        station.sign_presence("source", PK1.public_hex, T + 61)
    assert caught.value.req_id == "IOME-PRES-003"
    assert not station.is_docked(PK1.public_hex)


@pytest.mark.req("IOME-PRES-003")
def test_accepts_a_new_presence_after_redocking_with_a_new_key(station: ChargingStation) -> None:
    # Arrive (destination of one trip), leave, dock again for the next trip's source.
    station.dock("ev-1", PK1.public_hex, T)
    first = station.sign_presence("destination", PK1.public_hex, T)
    station.undock("ev-1", T + 3600)
    station.dock("ev-1", PK2.public_hex, T + 7200)
    second = station.sign_presence("source", PK2.public_hex, T + 7200)
    assert first.tx_id != second.tx_id
    assert station.docked == 1


@pytest.mark.req("IOME-PRES-002")
def test_rejects_presence_for_the_station_own_key(world: World, station: ChargingStation) -> None:
    own = world.key("st-a").public_hex
    station.dock("ev-1", own, T)
    with pytest.raises(Rejected) as caught:
        station.sign_presence("source", own, T)
    assert caught.value.req_id == "IOME-PRES-002"


def test_rejects_docking_twice(station: ChargingStation) -> None:
    station.dock("ev-1", PK1.public_hex, T)
    with usage_error("station"):
        station.dock("ev-1", PK2.public_hex, T + 1)
    with usage_error("station"):
        station.dock("ev-2", PK1.public_hex, T + 1)


def test_rejects_undocking_an_absent_vehicle(station: ChargingStation) -> None:
    with usage_error("station"):
        station.undock("ev-1", T)
    station.dock("ev-1", PK1.public_hex, T)
    with usage_error("station"):
        station.undock("ev-1", T - 1)


@pytest.mark.req("IOME-CHG-008")
def test_accepts_session_cosigned_by_station_and_one_time_key(
    world: World, station: ChargingStation
) -> None:
    station.dock("ev-1", PK1.public_hex, T)
    session = station.record_session(PK1, "discharge", 11_000, 150_000, T, T + 3600)
    check_stateless(session)
    assert (session.one_time_pk, session.station_id) == (PK1.public_hex, "st-a")
    apply_tx(
        ChainState("public", "public", world.directory),
        session,
        world.context(),
        T + 3600,
        Journal(),
    )


@pytest.mark.req("IOME-CHG-002")
def test_rejects_session_beyond_charger_power(station: ChargingStation) -> None:
    station.dock("ev-1", PK1.public_hex, T)
    with pytest.raises(Rejected) as caught:
        station.record_session(PK1, "charge", 400_000, 250_000, T, T + 3600)
    assert caught.value.req_id == "IOME-CHG-002"


@pytest.mark.req("IOME-CHG-001")
def test_rejects_session_ending_before_it_starts(station: ChargingStation) -> None:
    station.dock("ev-1", PK1.public_hex, T)
    with pytest.raises(Rejected) as caught:
        station.record_session(PK1, "charge", 1_000, 250_000, T, T)
    assert caught.value.req_id == "IOME-CHG-001"


@pytest.mark.req("IOME-CHG-006")
def test_rejects_session_longer_than_a_day(station: ChargingStation) -> None:
    station.dock("ev-1", PK1.public_hex, T)
    with pytest.raises(Rejected) as caught:
        station.record_session(PK1, "charge", 1_000, 250_000, T, T + MAX_CHARGE_SESSION_S + 1)
    assert caught.value.req_id == "IOME-CHG-006"


@pytest.mark.req("IOME-CHG-008")
def test_rejects_session_for_an_undocked_key(station: ChargingStation) -> None:
    with pytest.raises(Rejected) as never_docked:
        station.record_session(PK1, "charge", 1_000, 250_000, T, T + 600)
    assert never_docked.value.req_id == "IOME-CHG-008"
    station.dock("ev-2", PK2.public_hex, T)
    station.undock("ev-2", T + 60)
    with pytest.raises(Rejected) as gone:
        station.record_session(PK2, "charge", 1_000, 250_000, T, T + 60)
    assert gone.value.req_id == "IOME-CHG-008"


@pytest.mark.req("IOME-CHG-008")
def test_rejects_session_starting_before_the_docking(station: ChargingStation) -> None:
    station.dock("ev-1", PK1.public_hex, T)
    with pytest.raises(Rejected) as caught:
        station.record_session(PK1, "charge", 1_000, 250_000, T - 1, T + 600)
    assert caught.value.req_id == "IOME-CHG-008"


def test_refuses_to_end_a_docking_before_its_session_ends(station: ChargingStation) -> None:
    station.dock("ev-1", PK1.public_hex, T)
    station.record_session(PK1, "charge", 1_000, 250_000, T, T + 3600)
    with usage_error("station", match="docked at"):
        station.undock("ev-1", T + 60)
    assert station.is_docked(PK1.public_hex)
    station.undock("ev-1", T + 3600)


def test_presence_a_day_ahead_cannot_precede_a_docking_ending_a_minute_later(
    station: ChargingStation,
) -> None:
    # The reported case: a presence dated a day ahead, then the vehicle leaves a minute after
    # docking. Every call happens at its time, so leaving at T + 60 after signing for T + 1 day
    # is the clock running backwards; the station refuses it, and the presence stays inside the
    # docking.
    station.dock("ev-1", PK1.public_hex, T)
    ahead = station.sign_presence("source", PK1.public_hex, T + 86_400)
    with usage_error("station", match="docked at"):
        station.undock("ev-1", T + 60)
    assert station.is_docked(PK1.public_hex)
    station.undock("ev-1", ahead.t)
    assert not station.is_docked(PK1.public_hex)


@pytest.mark.req("IOME-PRES-003")
def test_accepts_presence_during_a_session(station: ChargingStation) -> None:
    # Charged from T to T + 3600, the source presence at departure: a witnessed time.
    station.dock("ev-1", PK1.public_hex, T)
    station.record_session(PK1, "charge", 1_000, 250_000, T, T + 3600)
    assert station.sign_presence("source", PK1.public_hex, T + 3600).t == T + 3600
    station.undock("ev-1", T + 3600)
