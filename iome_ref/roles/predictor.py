"""The mobility predictor: aggregates public Trips into an O-D matrix (paper Fig. 5 steps 10-11).

It counts with the very function the public chain uses to check the matrix
(:func:`iome_ref.rules.mobility.compute_od_counts`, IOME-ODM-004), so a matrix it signs is one
every node recomputes to the same counts from the same Trips.
"""

from __future__ import annotations

from collections.abc import Iterable

from iome_ref.crypto import KeyPair
from iome_ref.models import ODMatrix, Trip
from iome_ref.rules.mobility import compute_od_counts

__all__ = ["MobilityPredictor"]


class MobilityPredictor:
    """A certified predictor (role predictor) publishing O-D matrices on the public chain."""

    def __init__(self, key: KeyPair) -> None:
        self.key = key

    def build(
        self, trips: Iterable[Trip], zones: Iterable[str], period_start: int, period_end: int
    ) -> ODMatrix:
        """Count ``trips`` ending in [period_start, period_end) between ``zones``.

        ``trips`` must be the public Trips accepted before the matrix will be (trips.md,
        "Recomputing an O-D matrix"). Zones are sorted and deduplicated (IOME-ODM-001), so the
        caller may pass station ids in any order.
        """
        ordered = sorted(set(zones))
        return ODMatrix.create(
            {"signature": self.key},
            period_start=period_start,
            period_end=period_end,
            zones=ordered,
            counts=compute_od_counts(trips, ordered, period_start, period_end),
            predictor_pk=self.key.public_hex,
        )
