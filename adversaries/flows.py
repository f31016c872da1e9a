"""Honest protocol flows that attacks start from or interrupt, played through role operations.

:func:`trip_extraction` is the paper's Fig. 5 end to end through the implementation's own
roles: two stations attest a vehicle's one-time keys while it is docked, the verifiers
co-sign the claim and hand over their batch for a consortium block, the Trip goes on the
public chain in a block the harness builds, and the predictor counts it in an O-D matrix. The
crash sweep (tests/adversaries/test_crash_sweep.py) and the tamper adversary's crash variant
interrupt it between steps.

What must not live here: attacks (one module each).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from adversaries.play import Script
from iome_ref.models import Presence

__all__ = ["TRIP_ACTORS", "TripFlow", "trip_extraction"]

#: The certified actors the flow's role steps and built blocks need.
TRIP_ACTORS: Final = (
    "st-a",
    "st-b",
    "verifier-1",
    "verifier-2",
    "verifier-3",
    "predictor",
    "producer",
)
_ZONES: Final = ["st-a", "st-b", "st-c"]
_HOUR: Final = 3600


@dataclass(frozen=True)
class TripFlow:
    """What the flow recorded: the presences and claim (their tx ids are known in advance:
    a station's signature is deterministic), and the steps whose results hold the Trip and
    the O-D matrix parts."""

    source: Presence
    destination: Presence
    claim_id: str
    trip_step: int
    matrices_step: int
    #: Steps after which the flow has committed a block (consortium, Trip, O-D matrix).
    commits: tuple[int, ...]


def trip_extraction(script: Script, tag: str = "trip", *, crash: bool = False) -> TripFlow:
    """Append the honest trip st-a -> st-b of one vehicle to ``script`` (Fig. 5 steps 1-11).

    With ``crash``, the node crashes and restarts from its store after each block the flow
    commits, and what it committed must still be there.
    """
    for name in TRIP_ACTORS:
        if name not in script.keys:
            script.keys.append(name)
    b = script.b
    pk1, pk2 = f"{tag}/pk1", f"{tag}/pk2"
    t1 = script.tick(60)
    t2 = t1 + 1800
    commits = []
    attested = []
    legs = (("st-a", "source", pk1, t1), ("st-b", "destination", pk2, t2))
    for station, kind, key, t in legs:
        public = b.key(key).public_hex
        script.role(
            "station_dock",
            {"station": station, "vehicle": tag, "one_time_pk": public, "t": t},
            actor="vehicle",
        )
        attest = script.role(
            "station_attest",
            {"station": station, "kind": kind, "one_time_pk": public, "t": t},
            actor=station,
            result={"presence": {"one_time_pk": public, "t": t}},
        )
        attested.append(attest)
        script.role(
            "station_undock", {"station": station, "vehicle": tag, "t": t + 60}, actor="vehicle"
        )
    source = b.presence("source", "st-a", pk1, t1)
    destination = b.presence("destination", "st-b", pk2, t2)
    claim = b.claim(source, destination, t2 + 120)
    script.now = t2 + 180
    trip_step = script.role(
        "verifier_cosign",
        {
            "claim": claim.model_dump(mode="json"),
            "source": script.ref(attested[0], "presence"),
            "destination": script.ref(attested[1], "presence"),
            "t": script.tick(),
        },
        actor="vehicle",
        result={"trip": {"origin_station_id": "st-a", "destination_station_id": "st-b"}},
    )
    batch = script.role("verifier_batch", {}, actor="verifiers")
    commits.append(script.build("verifiers", script.ref(batch, "txs")))
    if crash:
        script.reopen()
        for tx_id in (source.tx_id, destination.tx_id, claim.tx_id):
            script.check_tx("verifiers", tx_id, present=True)
    # A Trip's block is not before its end_time (IOME-BLK-008), rounded up to the bucket.
    commits.append(script.build("public", [script.ref(trip_step, "trip")], time=t2 + _HOUR))
    start = t1 - t1 % _HOUR
    matrices = script.role(
        "predictor_od",
        {
            "predictor": "predictor",
            "zones": _ZONES,
            "period_start": start,
            "period_end": start + 4 * _HOUR,
        },
        actor="predictor",
        result={"matrices": [{"cells": [[0, 1, 1]]}]},
    )
    commits.append(script.build("public", script.ref(matrices, "matrices"), time=start + 5 * _HOUR))
    return TripFlow(source, destination, claim.tx_id, trip_step, matrices, tuple(commits))
