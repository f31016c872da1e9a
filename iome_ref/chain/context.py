"""ChainContext: the genesis configuration every chain of a node judges against.

A verdict may depend only on this configuration and on data with a height on the chain itself
(chains.md, "What a verdict may depend on"). The context is therefore a value that can be
written into a store beside the blocks (:meth:`ChainContext.genesis`) and read back, so a node
that reopens its store, or anyone running ``iome ledger verify``, judges under exactly the
configuration the blocks were accepted under.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from iome_ref.constants import TRIP_QUORUM
from iome_ref.encoding import canonical_json
from iome_ref.errors import IoMEError, UsageError
from iome_ref.pki import CertificateDirectory

__all__ = ["GENESIS_FORMAT", "ChainContext", "TravelTimes"]

#: Shortest travel time in seconds between two stations; a pair absent is unreachable.
TravelTimes = Mapping[tuple[str, str], int]

#: Format tag of the genesis document a store records.
GENESIS_FORMAT: Final = "iome-genesis/1"


@dataclass(frozen=True)
class ChainContext:
    """The PKI at genesis, the road graph's station travel times and the Trip quorum."""

    directory: CertificateDirectory
    travel: TravelTimes = field(default_factory=dict)
    quorum: int = TRIP_QUORUM

    def travel_time(self, origin: str, destination: str) -> int | None:
        """τ(origin, destination) in seconds, None when unreachable (IOME-CLAIM-004)."""
        return self.travel.get((origin, destination))

    def genesis(self) -> bytes:
        """The configuration as canonical JSON: what a store records and a verifier reloads.

        Travel times are a dense matrix over the sorted station ids (-1: unreachable), which
        keeps a city of thousands of stations to a few bytes per pair.
        """
        stations = sorted({name for pair in self.travel for name in pair})
        index = {name: i for i, name in enumerate(stations)}
        matrix = [[-1] * len(stations) for _ in stations]
        for (origin, destination), seconds in self.travel.items():
            matrix[index[origin]][index[destination]] = int(seconds)
        document: dict[str, Any] = {
            "format": GENESIS_FORMAT,
            "pki": self.directory.to_json(),
            "quorum": self.quorum,
            "travel": {"stations": stations, "seconds": matrix},
        }
        return canonical_json(document)

    @classmethod
    def from_genesis(cls, document: Mapping[str, Any]) -> ChainContext:
        """Rebuild a context from :meth:`genesis` output (already decoded).

        Raises:
            UsageError: the document is not a genesis configuration (component "genesis").
        """
        try:
            if document.get("format") != GENESIS_FORMAT:
                raise UsageError("genesis", f"format must be {GENESIS_FORMAT!r}")
            directory = CertificateDirectory.from_json(document["pki"])
            travel = document["travel"]
            stations = [str(name) for name in travel["stations"]]
            table = {
                (origin, stations[j]): int(seconds)
                for origin, row in zip(stations, travel["seconds"], strict=True)
                for j, seconds in enumerate(row)
                if int(seconds) >= 0
            }
            quorum = document["quorum"]
            if isinstance(quorum, bool) or not isinstance(quorum, int) or quorum < 1:
                raise UsageError("genesis", f"quorum must be a positive integer, found {quorum!r}")
        except UsageError:
            raise
        except IoMEError as exc:
            raise UsageError("genesis", f"the genesis PKI is unusable: {exc}") from None
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise UsageError("genesis", f"not a genesis configuration: {exc!r}") from None
        return cls(directory, table, quorum)
