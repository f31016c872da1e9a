"""One valid object of every transaction type, built in a given world (shared by tests)."""

from __future__ import annotations

from iome_ref.models import SignedModel
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import T0


def build_samples(b: Builder) -> dict[str, SignedModel]:
    """Type name -> a valid, signed sample; a test checks every type is covered."""
    source = b.presence("source", "st-a", "ev-1/otk-1", T0 + 7200)
    destination = b.presence("destination", "st-b", "ev-1/otk-2", T0 + 9000)
    trip = b.trip()
    return {
        tx.tx_type: tx
        for tx in (
            b.esdp(),
            b.registration(),
            b.eps(b.registration().tx_id),
            source,
            b.claim(source, destination),
            trip,
            b.charge(),
            b.od_matrix([trip]),
            b.anchor(1, "ab" * 32, None, T0 + 1000),
            b.commitment(),
            b.external(),
            b.handover("cd" * 32, T0 + 3000),
            b.revocation_list({"st-c": T0 + 4000}, T0 + 4000),
        )
    }
