"""ChainContext: what every chain of a node judges against besides its own state."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from iome_ref.constants import TRIP_QUORUM
from iome_ref.pki import CertificateDirectory
from iome_ref.rules.ledger import BlockRef

__all__ = ["ChainContext", "TravelTimes"]

#: Shortest travel time in seconds between two stations, None when unreachable.
TravelTimes = Callable[[str, str], int | None]


def _no_routes(_origin: str, _destination: str) -> int | None:
    return None


def _no_children(_chain_id: str) -> Sequence[BlockRef] | None:
    return None


@dataclass(frozen=True)
class ChainContext:
    """The PKI, the road graph's travel times, the trip quorum and the child chains held.

    ``child_chain`` returns the blocks of a child chain this node holds, None for one it does
    not hold: IOME-ANC-005 is then left to those who hold it (``verify_anchors``).
    """

    directory: CertificateDirectory
    travel_time: TravelTimes = _no_routes
    quorum: int = TRIP_QUORUM
    child_chain: Callable[[str], Sequence[BlockRef] | None] = _no_children

    @staticmethod
    def travel_table(table: Mapping[tuple[str, str], int]) -> TravelTimes:
        """A TravelTimes over a fixed table, for vectors and tests."""
        return lambda origin, destination: table.get((origin, destination))
