"""What a simulation run reports, and the audit that proves the ledgers say what the run did.

The audit reads only the ledger (as any third party could) and compares it with the run's own
record of completed trips: trips on the public chain must equal the completed trips, every
O-D matrix must recompute from public trips, every child chain's anchors must verify.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from iome_ref.chain.anchoring import verify_anchors
from iome_ref.chain.ledger import Ledger
from iome_ref.errors import Rejected
from iome_ref.models import TRANSACTION_TYPES, Anchor, ManagerHandover, ODMatrix, Trip
from iome_ref.rules.mobility import compute_od_cells

__all__ = ["RegionRound", "RoundRecord", "audit_ledger", "imbalance_wh"]


@dataclass
class RegionRound:
    """One region in one round: forecasts, ground truth, prices and vehicle energy."""

    predicted_supply_wh: int = 0
    predicted_demand_wh: int = 0
    actual_supply_wh: int = 0
    actual_demand_wh: int = 0
    price_micro_per_kwh: int = 0
    feed_in_micro_per_kwh: int = 0
    incentive_micro_per_kwh: int = 0
    ev_charged_wh: int = 0
    ev_discharged_wh: int = 0

    @property
    def imbalance_wh(self) -> int:
        """Demand the region's own supply does not cover, or supply it cannot use."""
        return abs(self.actual_demand_wh - self.actual_supply_wh)

    def to_json(self) -> dict[str, int]:
        return {**self.__dict__, "imbalance_wh": self.imbalance_wh}


@dataclass
class RoundRecord:
    round: int
    start: int
    end: int
    regions: dict[str, RegionRound] = field(default_factory=dict)
    trips_completed: int = 0
    trips_extracted: int = 0
    od_matrix: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "round": self.round,
            "start": self.start,
            "end": self.end,
            "trips_completed": self.trips_completed,
            "trips_extracted": self.trips_extracted,
            "imbalance_wh": imbalance_wh([self]),
            "regions": {r: v.to_json() for r, v in sorted(self.regions.items())},
            "od_matrix": self.od_matrix,
        }


def imbalance_wh(rounds: list[RoundRecord]) -> int:
    """Total regional imbalance over rounds: the figure the price loop should reduce."""
    return sum(region.imbalance_wh for r in rounds for region in r.regions.values())


def audit_ledger(ledger: Ledger, completed_trips: Counter[tuple[str, str]]) -> dict[str, Any]:
    """Check the ledger against the run, from the ledger alone; returns the findings."""
    types_per_chain = {
        chain_id: dict(sorted(Counter(tx.tx_type for tx in ledger.transactions(chain_id)).items()))
        for chain_id in sorted(ledger.chains)
    }
    seen = {t for counts in types_per_chain.values() for t in counts}
    public = list(ledger.transactions("public"))
    public_trips = [tx for tx in public if isinstance(tx, Trip)]
    published = Counter((t.origin_station_id, t.destination_station_id) for t in public_trips)
    matrices = [tx for tx in public if isinstance(tx, ODMatrix)]
    od_ok = all(
        [list(cell) for cell in m.cells]
        == compute_od_cells(public_trips, m.origins, m.destinations, m.period_start, m.period_end)
        for m in matrices
    )
    anchors: dict[str, list[Anchor]] = {}
    handovers = []
    for tx in public:
        if isinstance(tx, Anchor):
            anchors.setdefault(tx.chain_id, []).append(tx)
        elif isinstance(tx, ManagerHandover):
            handovers.append({"chain_id": tx.chain_id, "timestamp": tx.timestamp})
    anchor_report: dict[str, dict[str, Any]] = {}
    for chain_id, chain_anchors in sorted(anchors.items()):
        try:
            verified = verify_anchors(chain_anchors, ledger.blocks(chain_id))
            anchor_report[chain_id] = {"anchors": verified, "verified": True}
        except Rejected as exc:
            anchor_report[chain_id] = {
                "anchors": len(chain_anchors),
                "verified": False,
                "error": str(exc),
            }
    return {
        "transactions_per_chain": types_per_chain,
        "missing_types": sorted(set(TRANSACTION_TYPES) - seen),
        "public_trips": len(public_trips),
        "completed_trips": sum(completed_trips.values()),
        "trips_match": published == completed_trips,
        "od_matrices": len(matrices),
        "od_recomputes": od_ok,
        "anchors": anchor_report,
        "handovers": handovers,
        "evidence": len(ledger.evidence()),
    }
