"""Vectors for presences, trip claims, trips, charging sessions and O-D matrices (Fig. 5)."""

from __future__ import annotations

from iome_ref.constants import (
    MAX_CHARGE_SESSION_S,
    MAX_CHARGER_POWER_W,
    MAX_SESSION_ENERGY_WH,
)
from iome_ref.rules.mobility import compute_od_cells
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.cases.book import CaseBook
from iome_ref.vectors.world import REVOKED_AT, T0

__all__ = [
    "charge_session_cases",
    "od_matrix_cases",
    "presence_cases",
    "trip_cases",
    "trip_claim_cases",
]

_T1 = T0 + 7200
_T2 = _T1 + 1800  # st-a -> st-b takes at least 1200 s in the world's travel table


def presence_cases(b: Builder) -> CaseBook:
    chain = "verifiers"
    book = CaseBook("presence", chain=chain)
    source = b.presence("source", "st-a", "ev-1/otk-1", _T1)
    book.valid("source", "station A attests one-time key PK1 at t1 (Fig. 5 steps 1-2)", source)
    book.valid(
        "destination",
        "station B attests PK2 at t2 (Fig. 5 steps 3-4)",
        b.presence("destination", "st-b", "ev-1/otk-2", _T2),
    )
    book.invalid(
        "key-reused",
        "IOME-PRES-001",
        "a one-time key presented at a second docking",
        b.presence("destination", "st-b", "ev-1/otk-1", _T2),
        setup=[b.block(chain, [source], _T1 + 10)],
        flags=["linkability"],
    )
    book.invalid(
        "station-own-key",
        "IOME-PRES-002",
        "a station attesting its own key as a vehicle",
        b.presence("source", "st-a", "st-a", _T1),
        flags=["sybil"],
    )
    book.valid(
        "revoked-station-before",
        "a station attests before its certificate was revoked",
        b.presence("source", "st-revoked", "ev-2/otk-1", REVOKED_AT - 1),
        block_time=REVOKED_AT - 1,
        flags=["boundary"],
    )
    book.invalid(
        "revoked-station-after",
        "IOME-CERT-003",
        "the same station after revocation",
        b.presence("source", "st-revoked", "ev-2/otk-1", REVOKED_AT + 1),
        block_time=REVOKED_AT + 100,
    )
    book.invalid(
        "station-id-mismatch",
        "IOME-CERT-005",
        "station A's key signing as station B",
        b.presence("source", "st-a", "ev-1/otk-1", _T1, station_id="st-b"),
        flags=["sybil"],
    )
    book.invalid(
        "impostor-authority",
        "IOME-CERT-001",
        "a station certificate issued by another authority of the same name",
        b.presence("source", "st-foreign", "ev-1/otk-1", _T1),
        flags=["sybil"],
    )
    book.invalid(
        "uncertified-station",
        "IOME-CERT-006",
        "a key with no station certificate",
        b.presence("source", "st-fake", "ev-1/otk-1", _T1),
        flags=["sybil"],
    )
    swapped = source.model_copy(update={"station_pk_sig": source.station_sig})
    book.invalid(
        "signatures-swapped",
        "IOME-SIG-001",
        "SignA(PK) replaced by SignA(h(PK, t)): tags differ",
        swapped,
        flags=["cross-type-replay"],
    )
    book.invalid(
        "on-public-chain",
        "IOME-BLK-010",
        "a presence on the public chain would expose PK1 with its station",
        source,
        chain="public",
        flags=["privacy"],
    )
    return book


def trip_claim_cases(b: Builder) -> CaseBook:
    chain = "verifiers"
    src = b.presence("source", "st-a", "ev-1/otk-1", _T1)
    dst = b.presence("destination", "st-b", "ev-1/otk-2", _T2)
    dst_other = b.presence("destination", "st-c", "ev-3/otk-2", _T2 + 600)
    src_fast = b.presence("source", "st-a", "ev-4/otk-1", _T1)
    dst_fast = b.presence("destination", "st-b", "ev-4/otk-2", _T1 + 600)
    src_late = b.presence("source", "st-b", "ev-5/otk-1", _T2)
    dst_early = b.presence("destination", "st-a", "ev-5/otk-2", _T1)
    second_src = b.presence("source", "st-c", "ev-6/otk-1", _T1)
    src_home = b.presence("source", "st-a", "ev-8/otk-1", _T1)
    dst_home = b.presence("destination", "st-a", "ev-8/otk-2", _T2)
    presences = [
        src,
        dst,
        dst_other,
        src_fast,
        dst_fast,
        src_late,
        dst_early,
        second_src,
        src_home,
        dst_home,
    ]
    setup = [b.block(chain, presences, _T2 + 1200)]
    book = CaseBook("trip-claim", chain=chain, setup=setup)
    claim = b.claim(src, dst)
    book.valid(
        "baseline",
        "the vehicle proves it holds PK1 and PK2 (Fig. 5 steps 5-7)",
        claim,
    )
    book.invalid(
        "unknown-presence",
        "IOME-CLAIM-001",
        "the destination presence was never recorded",
        b.claim(src, b.presence("destination", "st-b", "ev-9/otk-2", _T2)),
    )
    book.invalid(
        "two-sources",
        "IOME-CLAIM-001",
        "both ends are source presences",
        b.claim(src, second_src),
    )
    book.invalid(
        "foreign-key",
        "IOME-CLAIM-002",
        "the claim's PK2 is not the key in the destination presence",
        b.claim(src, dst, destination_pk=b.key("ev-7/otk-2").public_hex),
        flags=["sybil"],
    )
    book.invalid(
        "same-station",
        "IOME-CLAIM-007",
        "a 'trip' from station A back to A: A alone signs both ends, so A alone could fake it",
        b.claim(src_home, dst_home),
        flags=["sybil"],
    )
    book.invalid(
        "ends-before-start",
        "IOME-CLAIM-003",
        "t1 after t2",
        b.claim(src_late, dst_early, t=_T2 + 60),
    )
    book.invalid(
        "too-fast",
        "IOME-CLAIM-004",
        "A to B in 600 s where the road graph needs 1200 s",
        b.claim(src_fast, dst_fast),
        flags=["sybil"],
    )
    book.invalid(
        "premature",
        "IOME-CLAIM-006",
        "a claim dated before its destination docking",
        b.claim(src, dst, t=_T2 - 1),
    )
    book.invalid(
        "presence-reused",
        "IOME-CLAIM-005",
        "the source presence already supports a recorded trip",
        b.claim(src, dst_other),
        setup=[*setup, b.block(chain, [claim], _T2 + 1300)],
        flags=["replay"],
    )
    one_signer = claim.model_copy(update={"destination_sig": claim.source_sig})
    book.invalid(
        "one-key-signs-both",
        "IOME-SIG-001",
        "PK1 signed for PK2 too: no proof of holding PK2",
        one_signer,
        flags=["sybil"],
    )
    book.invalid(
        "on-public-chain",
        "IOME-BLK-010",
        "a claim on the public chain publishes the PK1-PK2 link",
        claim,
        setup=(),
        chain="public",
        flags=["privacy"],
    )
    return book


def trip_cases(b: Builder) -> CaseBook:
    book = CaseBook("trip")
    trip = b.trip()
    book.valid("two-of-three", "a trip signed by a quorum of two verifiers (Fig. 5 step 8)", trip)
    twin = b.trip(nonce="ab" * 32)
    book.valid(
        "same-trip-other-vehicle",
        "a second vehicle on the same route in the same buckets: the nonce keeps both",
        twin,
        setup=[b.block("public", [trip], T0 + 10_000)],
    )
    book.valid(
        "three-of-three",
        "all three verifiers sign",
        b.trip(verifiers=("verifier-1", "verifier-2", "verifier-3")),
    )
    book.invalid(
        "ends-before-start",
        "IOME-TRIP-001",
        "end before start",
        b.trip(start=T0 + 9000, end=T0 + 7200),
    )
    book.invalid(
        "same-station",
        "IOME-TRIP-006",
        "a published trip from station A to itself",
        b.trip("st-a", "st-a"),
        flags=["sybil"],
    )
    book.invalid(
        "single-verifier",
        "IOME-TRIP-002",
        "one verifier alone",
        b.trip(verifiers=("verifier-1",)),
        flags=["collusion"],
    )
    book.invalid(
        "verifier-twice",
        "IOME-TRIP-003",
        "one verifier counted twice toward the quorum",
        b.trip(verifiers=("verifier-1", "verifier-1")),
        flags=["collusion"],
    )
    book.invalid(
        "exact-times",
        "IOME-TRIP-004",
        "times not on the declared bucket: exact times re-link keys",
        b.trip(start=T0 + 7201),
        flags=["privacy"],
    )
    book.invalid("zero-bucket", "IOME-TRIP-004", "a bucket of 0 seconds", b.trip(time_bucket_s=0))
    book.invalid(
        "station-signs",
        "IOME-CERT-004",
        "a station in the verifier quorum",
        b.trip(verifiers=("verifier-1", "st-a")),
        flags=["sybil"],
    )
    other = b.trip(destination="st-c")
    book.invalid(
        "signature-from-other-trip",
        "IOME-SIG-001",
        "quorum signatures copied from another trip",
        trip.model_copy(update={"verifier_sigs": other.verifier_sigs}),
        flags=["replay"],
    )
    leaky = trip.model_dump(mode="json") | {"source_pk": b.key("ev-1/otk-1").public_hex}
    book.invalid(
        "carries-key",
        "IOME-ENC-004",
        "a trip carrying a one-time key",
        leaky,
        flags=["privacy"],
    )
    book.invalid(
        "on-consortium-chain",
        "IOME-BLK-010",
        "trips belong on the public chain",
        trip,
        chain="verifiers",
    )
    return book


def charge_session_cases(b: Builder) -> CaseBook:
    book = CaseBook("charge-session")
    session = b.charge()
    book.valid("charge", "a one-time key charges 20 kWh in 30 minutes", session)
    book.valid(
        "discharge",
        "a vehicle sells energy back",
        b.charge(vehicle_key="ev-2/otk-1", direction="discharge"),
    )
    book.valid(
        "child-chain",
        "a fleet vehicle charging inside its fleet's child chain",
        session,
        chain="fleet",
    )
    book.invalid(
        "ends-before-start",
        "IOME-CHG-001",
        "end before start",
        b.charge(start=T0 + 9000, end=T0 + 7200),
    )
    book.invalid("zero-energy", "IOME-CHG-002", "no energy moved", b.charge(energy_wh=0))
    limit = MAX_CHARGER_POWER_W * 1800 // 3600
    book.valid(
        "power-limit",
        "exactly the most energy MAX_CHARGER_POWER_W allows",
        b.charge(energy_wh=limit),
        flags=["boundary"],
    )
    book.invalid(
        "impossible-energy",
        "IOME-CHG-002",
        "1 Wh more than any charger delivers in 30 minutes",
        b.charge(energy_wh=limit + 1),
        flags=["boundary"],
    )
    day = MAX_CHARGE_SESSION_S
    book.valid(
        "duration-limit",
        "a session of exactly MAX_CHARGE_SESSION_S",
        b.charge(vehicle_key="ev-3/otk-1", start=T0 + 7200, end=T0 + 7200 + day),
        flags=["boundary"],
    )
    book.invalid(
        "duration-too-long",
        "IOME-CHG-006",
        "a session one second longer than MAX_CHARGE_SESSION_S",
        b.charge(vehicle_key="ev-3/otk-1", start=T0 + 7200, end=T0 + 7201 + day),
        flags=["boundary"],
    )
    book.invalid(
        "since-epoch",
        "IOME-CHG-006",
        "a session from time 0 claiming 165 GWh, within the power bound over 54 years",
        b.charge(start=0, end=T0 + 9000, energy_wh=165_000_000_000),
        flags=["physics"],
    )
    four_hours = 4 * 3600
    book.valid(
        "battery-limit",
        "exactly MAX_SESSION_ENERGY_WH in four hours at 250 kW",
        b.charge(end=T0 + 7200 + four_hours, energy_wh=MAX_SESSION_ENERGY_WH),
        flags=["boundary"],
    )
    book.invalid(
        "more-than-a-battery",
        "IOME-CHG-007",
        "1 Wh more than MAX_SESSION_ENERGY_WH, though the power bound allows 1.4 MWh",
        b.charge(end=T0 + 7200 + four_hours, energy_wh=MAX_SESSION_ENERGY_WH + 1),
        flags=["boundary", "physics"],
    )
    book.valid(
        "starts-at-certificate",
        "a session starting the second the station's certificate becomes valid",
        b.charge(start=T0, end=T0 + 1800),
        flags=["boundary"],
    )
    book.invalid(
        "starts-before-certificate",
        "IOME-CHG-005",
        "a session starting before the station was certified, ending after",
        b.charge(start=T0 - 1, end=T0 + 1800),
        flags=["boundary"],
    )
    book.invalid(
        "key-reused",
        "IOME-CHG-003",
        "a one-time key in a second session links the two",
        b.charge(start=T0 + 20_000, end=T0 + 21_000),
        setup=[b.block("public", [session], T0 + 10_000)],
        flags=["linkability"],
    )
    book.invalid(
        "station-own-key",
        "IOME-CHG-004",
        "the station as its own customer",
        b.charge(vehicle_key="st-a"),
    )
    book.invalid(
        "revoked-station",
        "IOME-CERT-003",
        "a revoked station records a session",
        b.charge("st-revoked", start=REVOKED_AT + 10, end=REVOKED_AT + 1810),
        block_time=REVOKED_AT + 2000,
    )
    book.invalid(
        "vehicle-did-not-sign",
        "IOME-SIG-001",
        "the station signed in the vehicle's place",
        session.model_copy(update={"vehicle_sig": session.station_sig}),
        flags=["non-repudiation"],
    )
    return book


def od_matrix_cases(b: Builder) -> CaseBook:
    trips = [
        b.trip("st-a", "st-b", T0 + 7200, T0 + 9000),
        b.trip("st-a", "st-b", T0 + 7260, T0 + 9060),
        b.trip("st-b", "st-c", T0 + 9600, T0 + 12000),
        b.trip("st-c", "st-a", T0 + 90_000, T0 + 93_000),
    ]
    book = CaseBook("od-matrix", setup=[b.block("public", trips, T0 + 95_000)])
    odm = b.od_matrix(trips)
    book.valid(
        "recomputes",
        "the matrix equals the count of public trips in the period (Fig. 5 step 11)",
        odm,
    )
    book.valid(
        "empty",
        "a period with no trips",
        b.od_matrix(trips, period=(T0 + 200_000, T0 + 286_400)),
        block_time=T0 + 300_000,
    )
    book.valid(
        "one-part-of-several",
        "origins st-a alone: one part of a matrix split over disjoint origins",
        b.od_matrix(
            trips,
            origins=["st-a"],
            cells=compute_od_cells(trips, ["st-a"], ["st-a", "st-b", "st-c"], T0, T0 + 86_400),
        ),
    )
    book.invalid(
        "origins-unsorted",
        "IOME-ODM-001",
        "origins out of order",
        b.od_matrix(trips, origins=["st-b", "st-a", "st-c"]),
    )
    book.invalid(
        "destinations-repeated",
        "IOME-ODM-001",
        "a destination listed twice",
        b.od_matrix(trips, destinations=["st-a", "st-b", "st-b", "st-c"]),
    )
    cells = [list(cell) for cell in odm.cells]  # [[0, 1, 2], [1, 2, 1]]: A->B twice, B->C once
    for case_id, comment, bad in (
        ("cell-out-of-range", "a destination index past the list", [*cells, [2, 3, 1]]),
        ("cell-zero", "a pair listed with no trips", [[0, 0, 0], *cells]),
        ("cells-unordered", "cells not ascending by (i, j)", cells[::-1]),
        (
            "cell-repeated",
            "A->B listed twice, once each: the recount is right",
            [[0, 1, 1], [0, 1, 1], cells[1]],
        ),
        ("cell-short", "a cell without its count", [[0, 1], cells[1]]),
    ):
        book.invalid(case_id, "IOME-ODM-002", comment, b.od_matrix(trips, cells=bad))
    book.invalid(
        "period-inverted",
        "IOME-ODM-003",
        "period ends before it starts",
        b.od_matrix(trips, period=(T0 + 86_400, T0)),
    )
    book.invalid(
        "inflated-cell",
        "IOME-ODM-004",
        "one more A->B trip than the chain holds",
        b.od_matrix(trips, cells=[[0, 1, 3], cells[1]]),
        flags=["data-poisoning"],
    )
    book.invalid(
        "omitted-cell",
        "IOME-ODM-004",
        "the B->C trip left out",
        b.od_matrix(trips, cells=cells[:1]),
        flags=["data-poisoning"],
    )
    book.invalid(
        "uncertified-predictor",
        "IOME-CERT-006",
        "a matrix from an uncertified key",
        b.od_matrix(trips, predictor_pk=b.key("home-1").public_hex),
        flags=["sybil"],
    )
    return book
