"""A passive observer links a public Trip to its one-time keys through the Trip's nonce
(issue 14, beside items 4 and 14: key unlinkability; spec/adversaries.md).

A Trip's ``nonce`` keeps two identical trips distinct; verifiers that derive it from what the
Trip hides ("unique per trip, no random source needed") publish the link the one-time keys
exist to hide (IOME-TRIP-007). The observer reads the public chain, where the vehicle's first
one-time key also signs a public charging session, and tries the derivations anyone can
recompute (trips.md, IOME-TRIP-007): each key, presence id and the claim id, the keys joined,
the presence ids joined, all five joined, each as is and as the SHA-256 of its hex text or of
its bytes, under the time buckets a deployment may choose. For each candidate it asks whether
the public chain holds the Trip the verifiers would have published with that nonce; a correct
implementation, which draws the nonce at random, holds none of them.
"""

from __future__ import annotations

import hashlib
from typing import Final

from adversaries.base import Capability, Profile
from adversaries.flows import TripFlow, trip_extraction
from adversaries.play import Script, capabilities
from adversaries.scripted import ScriptedAdversary
from iome_ref.models import Trip

__all__ = ["NonceLinking"]

#: Time buckets (s) a deployment may publish Trips under; the observer reads the one used off
#: the chain, and here tries each.
_BUCKETS: Final = (1, 60, 300, 900, 3600)


def _candidates(flow: TripFlow) -> list[str]:
    """Nonces an observer can recompute from what the Trip hides."""
    keys = [flow.source.one_time_pk, flow.destination.one_time_pk]
    ids = [flow.source.tx_id, flow.destination.tx_id]
    values = [*keys, *ids, flow.claim_id, "".join(keys), "".join(ids), "".join([*keys, *ids])]
    values[-1] += flow.claim_id
    return sorted(
        {
            derived
            for value in values
            for derived in (
                value,
                hashlib.sha256(value.encode()).hexdigest(),
                hashlib.sha256(bytes.fromhex(value)).hexdigest(),
            )
            if len(derived) == 64
        }
    )


class NonceLinking(ScriptedAdversary):
    name = "nonce-linking"
    title = "A passive observer links a Trip to its one-time keys through the Trip's nonce"
    capabilities = capabilities(Capability.PASSIVE_OBSERVER)
    targets = ("IOME-TRIP-007",)
    invariant = "key-unlinkability"
    expected = "blocked"

    def scripts(self, seed: int, profile: Profile) -> list[Script]:
        script = self.script(
            seed,
            "derived-nonce",
            "the published Trip's nonce tried against what it hides",
            "IOME-TRIP-007",
        )
        flow = trip_extraction(script, "nl")
        # What the observer sees of the vehicle: its first key in a public session at st-a.
        t1, t2 = flow.source.t, flow.destination.t
        session = script.b.charge("st-a", "nl/pk1", t1 - 600, t1)
        script.build("public", [session.model_dump(mode="json")], time=t2 + 7 * 3600)
        for bucket in _BUCKETS:
            for nonce in _candidates(flow):
                linked = Trip.create(
                    {},
                    origin_station_id="st-a",
                    destination_station_id="st-b",
                    start_time=t1 // bucket * bucket,
                    end_time=-(-t2 // bucket) * bucket,
                    time_bucket_s=bucket,
                    nonce=nonce,
                    verifier_sigs=[],
                )
                script.check_tx("public", linked.tx_id, present=False, req_id="IOME-TRIP-007")
        return [script]
