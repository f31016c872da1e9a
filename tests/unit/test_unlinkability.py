"""IOME-TRIP-007: a Trip's nonce is drawn at random, never derived from the claim's one-time
keys, its presences, the claim, or the vehicle's private keys."""

from __future__ import annotations

import hashlib
import random

import pytest
from helpers import rejects

from iome_ref.chain.store import MemoryStore
from iome_ref.models import Presence, Trip, TripClaim
from iome_ref.node import Actor, Node
from iome_ref.rules.mobility import check_trip_nonce_unlinked
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.generate import build_context
from iome_ref.vectors.world import T0, build_world

WORLD = build_world(17)
B = Builder(WORLD)


def _claim() -> tuple[TripClaim, Presence, Presence]:
    source = B.presence("source", "st-a", "ev-1/otk-1", T0 + 3600)
    destination = B.presence("destination", "st-b", "ev-1/otk-2", T0 + 3600 + 1800)
    return B.claim(source, destination), source, destination


def _with_nonce(nonce: str) -> Trip:
    return B.trip("st-a", "st-b", T0 + 3600, T0 + 5400, nonce=nonce)


@pytest.mark.req("IOME-TRIP-007")
def test_accepts_trip_the_reference_verifiers_cosign() -> None:
    claim, source, destination = _claim()
    actors = {
        name: Actor("verifier", name, WORLD.key(name))
        for name in ("verifier-1", "verifier-2", "verifier-3")
    }
    node = Node(
        build_context(WORLD),
        store=MemoryStore(),
        rng=random.Random(5),
        actors=actors,
    )
    trip = node.cosign(claim, source, destination, T0 + 6000)
    assert trip is not None
    check_trip_nonce_unlinked(trip, claim, source, destination, [WORLD.key("home-1").public_hex])


def _derived() -> list[tuple[str, str]]:
    claim, source, destination = _claim()
    home = WORLD.key("home-1").public_hex
    pk1 = source.one_time_pk
    return [
        ("the first key", pk1),
        ("SHA-256 of the key's bytes", hashlib.sha256(bytes.fromhex(pk1)).hexdigest()),
        ("SHA-256 of the key's text", hashlib.sha256(pk1.encode()).hexdigest()),
        ("the second presence id", destination.tx_id),
        ("SHA-256 of the claim id", hashlib.sha256(bytes.fromhex(claim.tx_id)).hexdigest()),
        (
            "SHA-256 of both keys joined",
            hashlib.sha256((pk1 + destination.one_time_pk).encode()).hexdigest(),
        ),
        ("a home key", home),
    ]


@pytest.mark.req("IOME-TRIP-007")
@pytest.mark.parametrize(("what", "nonce"), _derived(), ids=[what for what, _ in _derived()])
def test_rejects_nonce_derived_from_what_the_trip_hides(what: str, nonce: str) -> None:
    claim, source, destination = _claim()
    home = [WORLD.key("home-1").public_hex]
    with rejects("IOME-TRIP-007"):
        check_trip_nonce_unlinked(_with_nonce(nonce), claim, source, destination, home)
