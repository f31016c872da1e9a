"""The mobility predictor: aggregates public Trips into an O-D matrix (paper Fig. 5 steps 10-11).

It counts with the very function the public chain uses to check the matrix
(:func:`iome_ref.rules.mobility.compute_od_cells`, IOME-ODM-004), so a matrix it signs is one
every node recomputes to the same counts from the same Trips.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from iome_ref.constants import MAX_LIST_LEN
from iome_ref.crypto import KeyPair
from iome_ref.errors import UsageError
from iome_ref.models import ODMatrix, Trip
from iome_ref.rules.mobility import compute_od_cells

__all__ = ["MobilityPredictor"]


class MobilityPredictor:
    """A certified predictor (role predictor) publishing O-D matrices on the public chain."""

    def __init__(self, key: KeyPair, *, max_cells: int = MAX_LIST_LEN) -> None:
        if not 1 <= max_cells <= MAX_LIST_LEN:
            raise UsageError(
                "predictor", f"max_cells: expected 1..{MAX_LIST_LEN}, found {max_cells}"
            )
        self.key = key
        self.max_cells = max_cells

    def build(
        self, trips: Iterable[Trip], zones: Iterable[str], period_start: int, period_end: int
    ) -> list[ODMatrix]:
        """The period's matrix over ``zones``: as few ODMatrix parts as the list limits allow.

        ``trips`` must be the public Trips accepted before the matrices will be (trips.md,
        "Recomputing an O-D matrix"). Zones are sorted and deduplicated (IOME-ODM-001), so the
        caller may pass station ids in any order. Destinations are cut into runs of at most
        ``MAX_LIST_LEN`` zones and origins grouped, in order, so that no part holds more than
        ``max_cells`` cells; together the parts count every trip between ``zones`` exactly once.
        """
        ordered = sorted(set(zones))
        scope = set(ordered)
        in_period = [
            t
            for t in trips
            if period_start <= t.end_time < period_end and t.origin_station_id in scope
        ]
        parts: list[ODMatrix] = []
        for d in range(0, max(len(ordered), 1), MAX_LIST_LEN):
            destinations = ordered[d : d + MAX_LIST_LEN]
            for origins in self._origin_groups(ordered, destinations, in_period):
                parts.append(
                    ODMatrix.create(
                        {"signature": self.key},
                        period_start=period_start,
                        period_end=period_end,
                        origins=origins,
                        destinations=destinations,
                        cells=compute_od_cells(
                            in_period, origins, destinations, period_start, period_end
                        ),
                        predictor_pk=self.key.public_hex,
                    )
                )
        return parts

    def _origin_groups(
        self, ordered: list[str], destinations: list[str], trips: list[Trip]
    ) -> list[list[str]]:
        """Consecutive runs of origins, each with at most ``max_cells`` non-zero cells (an origin
        with more on its own forms a group alone: it still has at most ``MAX_LIST_LEN``)."""
        columns = set(destinations)
        pairs = {
            (t.origin_station_id, t.destination_station_id)
            for t in trips
            if t.destination_station_id in columns
        }
        cells_of = Counter(origin for origin, _ in pairs)
        groups: list[list[str]] = [[]]
        cells = 0
        for origin in ordered:
            if groups[-1] and (
                cells + cells_of[origin] > self.max_cells or len(groups[-1]) == MAX_LIST_LEN
            ):
                groups.append([])
                cells = 0
            groups[-1].append(origin)
            cells += cells_of[origin]
        return groups
