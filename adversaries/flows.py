"""Honest protocol flows that attacks start from or interrupt, played through role operations.

:func:`trip_extraction` is the paper's Fig. 5 end to end through the implementation's own
roles: two stations attest a vehicle's one-time keys while it is docked, the verifiers
co-sign the claim and hand over their batch for a consortium block, the Trip goes on the
public chain in a block the harness builds, and the predictor counts it in an O-D matrix. The
crash sweep (tests/attack/test_crash_sweep.py) and the tamper adversary's crash variant
interrupt it.

A crash loses what a node holds only in memory (spec/scenarios.md, "Crash and restart"), and
a node may keep it or not. The flow therefore recovers the way honest actors would, so that
the same steps are right for both kinds of node: a vehicle whose docking was interrupted
docks again with a fresh one-time key (it never reuses one); a docking the station may have
forgotten is not ended by hand; verifiers interrupted between co-signing and handing over
their batch drop whatever batch survived and judge the claim again.

What must not live here: attacks (one module each).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from adversaries.play import Script
from iome_ref.models import Presence

__all__ = ["TRIP_ACTORS", "TRIP_STEPS", "TripFlow", "trip_extraction"]

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
#: Steps of the flow without a crash: two legs of dock, attest, undock; co-sign, batch and
#: its consortium block; the Trip's block; the O-D matrix and its block.
TRIP_STEPS: Final = 12
_ZONES: Final = ["st-a", "st-b", "st-c"]
_HOUR: Final = 3600


@dataclass(frozen=True)
class TripFlow:
    """What the flow recorded: the presences and claim that end on the consortium chain (tx
    ids known in advance: a station's signature is deterministic), the step committing them,
    and the crash's ``reopen`` step (None without a crash)."""

    source: Presence
    destination: Presence
    claim_id: str
    consortium_commit: int
    crash_step: int | None


class _Crash:
    """Counts the flow's own steps and crashes the node once, after step ``after``."""

    def __init__(self, script: Script, after: int | None) -> None:
        self.script, self.after, self.count = script, after, 0
        self.step: int | None = None

    def done(self) -> bool:
        """One more flow step was added; True when the node crashed right after it."""
        self.count += 1
        if self.count != self.after:
            return False
        self.step = self.script.reopen()
        return True


def _leg(
    script: Script, crash: _Crash, *, station: str, kind: str, key: str, vehicle: str, t: int
) -> tuple[Presence, int]:
    """A vehicle docks at ``station`` with a fresh key and is attested; the presence and the
    attest step. A crash between docking and attesting: it docks again with a fresh key."""
    public = script.dock(station, vehicle, key, t)
    if crash.done():
        # The station may have forgotten the docking: a new docking, a new one-time key.
        return _leg(
            script,
            crash,
            station=station,
            kind=kind,
            key=f"{key}+",
            vehicle=f"{vehicle}+",
            t=t + 30,
        )
    attest = script.role(
        "station_attest",
        {"station": station, "kind": kind, "one_time_pk": public, "t": t},
        actor=station,
        result={"presence": {"one_time_pk": public, "t": t}},
    )
    if not crash.done():
        script.role(
            "station_undock", {"station": station, "vehicle": vehicle, "t": t + 60}, actor="vehicle"
        )
        crash.done()
    # After a crash the docking may be gone: it is not ended by hand (a step less).
    return script.b.presence(kind, station, key, t), attest


def trip_extraction(
    script: Script, tag: str = "trip", *, crash_after: int | None = None
) -> TripFlow:
    """Append the honest trip st-a -> st-b of one vehicle to ``script`` (Fig. 5 steps 1-11),
    with a crash after the flow's step ``crash_after`` (1 to ``TRIP_STEPS``) if given, and
    the recovery; it ends checking that the presences and the claim are on the consortium
    chain once."""
    for name in TRIP_ACTORS:
        if name not in script.keys:
            script.keys.append(name)
    crash = _Crash(script, crash_after)
    t1 = script.tick(60)
    t2 = t1 + 1800
    source, source_step = _leg(
        script, crash, station="st-a", kind="source", key=f"{tag}/pk1", vehicle=tag, t=t1
    )
    destination, destination_step = _leg(
        script, crash, station="st-b", kind="destination", key=f"{tag}/pk2", vehicle=tag, t=t2
    )
    claim = script.b.claim(source, destination, t2 + 120)
    script.now = max(script.now, t2 + 180)
    cosign_args = {
        "claim": claim.model_dump(mode="json"),
        "source": script.ref(source_step, "presence"),
        "destination": script.ref(destination_step, "presence"),
    }
    trip_result = {"trip": {"origin_station_id": "st-a", "destination_station_id": "st-b"}}
    trip_step = script.role(
        "verifier_cosign", cosign_args | {"t": script.tick()}, actor="vehicle", result=trip_result
    )
    if crash.done():
        # What survived of the verifiers' batch is dropped; they judge the claim again.
        script.role("verifier_batch", {}, actor="verifiers")
        trip_step = script.role(
            "verifier_cosign",
            cosign_args | {"t": script.tick()},
            actor="vehicle",
            result=trip_result,
        )
    batch = script.role("verifier_batch", {}, actor="verifiers")
    crash.done()
    consortium_commit = script.build("verifiers", script.ref(batch, "txs"))
    crash.done()
    # A Trip's block is not before its end_time (IOME-BLK-008), rounded up to the bucket.
    script.build("public", [script.ref(trip_step, "trip")], time=t2 + _HOUR)
    crash.done()
    start = t1 - t1 % _HOUR
    od_args = {
        "predictor": "predictor",
        "zones": _ZONES,
        "period_start": start,
        "period_end": start + 4 * _HOUR,
    }
    counted_once = {"matrices": [{"cells": [[0, 1, 1]]}]}
    matrices = script.role("predictor_od", od_args, actor="predictor", result=counted_once)
    crash.done()
    script.build("public", script.ref(matrices, "matrices"), time=start + 5 * _HOUR)
    crash.done()
    # The trip is counted once and its audit trail is on the consortium chain once.
    script.role("predictor_od", od_args, actor="predictor", result=counted_once)
    for tx_id in (source.tx_id, destination.tx_id, claim.tx_id):
        script.check_tx("verifiers", tx_id, present=True)
    return TripFlow(source, destination, claim.tx_id, consortium_commit, crash.step)
