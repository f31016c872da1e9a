"""link.json: every figure ``iome link`` measures, each with its population and observer knowledge.

What lives here: ``LinkOptions`` (what was asked), the figure groups and ``LinkReport``.
pydantic models, frozen and closed (``extra="forbid"``), whose JSON Schema is committed under
spec/schemas/analysis/ (``iome_ref.analysis.schemas``). The habit, follow, uniqueness and
ablation groups are link2's dataclasses, embedded as they are so the schema follows them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from iome_ref.analysis.ablation import AblationReport
from iome_ref.analysis.follow import FollowReport, TripMatchScore
from iome_ref.analysis.habits import HabitReport
from iome_ref.analysis.uniqueness import UniquenessReport

__all__ = [
    "ChainFigures",
    "ChainZ3Figures",
    "ForcedFigures",
    "LinkOptions",
    "LinkReport",
    "PositionFigures",
    "SweepPoint",
    "TrajectoryFigures",
    "Z3Figures",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LinkOptions(_Model):
    """One run of ``iome link``: exactly one source, the mitigation parameters, the seed."""

    db: Path | None = None
    simulate: str | None = None
    sessions: Path | None = None
    trips: Path | None = None
    stations: Path | None = None
    coarsen_s: int = Field(1, ge=1, le=86_400, description="Published time resolution, s.")
    delay_s: int = Field(0, ge=0, le=86_400, description="Publication delay of Trips, s.")
    k: int = Field(1, ge=1, le=1000, description="O-D cells (and their Trips) below k withheld.")
    sweep: bool = False
    seed: int = Field(0, ge=0, le=2**53 - 1)
    max_dwell_s: int = Field(
        86_400, ge=0, le=30 * 86_400, description="Observer's bound on a stay at one station."
    )
    speed_kmh: float = Field(60.0, gt=0, le=300, description="Great-circle speed for --stations.")
    z3_timeout_ms: int = Field(10_000, ge=1, le=600_000)
    z3_components: int = Field(
        200, ge=0, le=1_000_000, description="Components Z3 re-checks (largest first)."
    )
    z3_max_edges: int = Field(
        2_000, ge=1, le=1_000_000, description="Larger components are not sent to Z3."
    )
    z3_budget_links: int = Field(
        20_000,
        ge=0,
        le=10_000_000,
        description="Most links Z3 chains with the battery (components smallest first).",
    )
    out: Path | None = None


class ChainFigures(_Model):
    """Vehicles whose trajectory the observer chains through forced, correct links."""

    vehicles: int
    chained_2: float = Field(description="Share of vehicles with >= 2 trips chained.")
    chained_3: float
    chained_4_plus: float
    vehicles_with_2_trips: int = Field(description="Vehicles that made >= 2 trips at all.")


class ForcedFigures(_Model):
    """The fast path: PK1 -> PK2 pairing through Trips, and arrival -> next departure dwell."""

    population: str
    knowledge: list[str]
    trips: int
    departures: int
    arrivals: int
    candidate_links: int
    components: int
    largest_component: int
    matching_size: int
    forced_links: int
    forced_correct: int | None
    forced_wrong: int | None
    trips_forced_share: float | None = Field(
        description="Trips whose PK1<->PK2 link is forced and correct, over all trips."
    )
    trips_both_keys_public: int | None = Field(
        description="Trips whose departure and arrival keys both appear on the public chain."
    )
    trips_arrival_key_forced: float | None = Field(
        description="Trips whose record is forced to its true arrival key (Trip<->session "
        "timing alone), over all trips."
    )
    trips_departure_key_forced: float | None = Field(
        description="Trips whose record is forced to its true departure key, over all trips."
    )
    anonymity_histogram: list[tuple[int, int]] = Field(
        description="(anonymity-set size, departure keys); size 0: no consistent partner."
    )
    anonymity_median: float
    dwell_links: int
    dwell_forced: int
    chains: ChainFigures | None


class PositionFigures(_Model):
    """What a record's position in its block says: neighbours made by one vehicle.

    A block lists transactions in the order its producer received them; if that order follows
    vehicles (one vehicle's sessions, then the next one's), neighbours are linked for free.
    ``same_vehicle``: share of pairs of consecutive public sessions (same block, adjacent among
    its sessions) made by one vehicle; ``chance``: the share for pairs drawn at random from the
    same blocks.
    """

    pairs: int
    same_vehicle: float
    chance: float


class Z3Figures(_Model):
    """Z3 re-check of the largest components: agreement, and what side knowledge adds."""

    seed: int
    timeout_ms: int
    components: int
    skipped_too_large: int = Field(description="Components over z3_max_edges, not checked.")
    largest_component_edges: int
    queries: int
    unknown: int
    agrees_with_fast_path: bool
    forced_with_side_knowledge: int
    forced_without: int
    side_knowledge: str


class ChainZ3Figures(_Model):
    """Z3 over whole trajectories (pairing and dwell links with the battery carried along).

    ``pairing_proven``/``dwell_proven``: links proven forced (``unsat`` without them) in the
    components checked; ``*_fast``: what the fast path forces on the same components, so the
    difference is what battery continuity adds. Links of a component whose check returned
    ``unknown`` are counted in ``undecided_links`` and in no other figure.
    """

    seed: int
    timeout_ms: int
    energy_model: str = Field(description="What the observer assumes about energy.")
    components_total: int = Field(description="Components of pairing and dwell links together.")
    components: int = Field(description="Components solved.")
    skipped_too_large: int = Field(description="Components over z3_max_edges links, unsolved.")
    skipped_over_budget: int = Field(
        description="Components left unsolved once z3_budget_links or z3_components was spent."
    )
    links_checked: int
    links_skipped: int
    largest_component_links: int
    queries: int
    unknown: int = Field(description="Solver checks that returned unknown (timeout).")
    undecided_links: int
    pairing_proven: int
    dwell_proven: int
    pairing_forced_fast: int
    dwell_forced_fast: int
    excluded_by_battery: int = Field(
        description="Links the fast path allows that no battery-consistent history has."
    )
    proven_correct: int | None
    proven_wrong: int | None
    chains: ChainFigures | None = Field(
        description="Trajectories chained through proven, correct links."
    )


class TrajectoryFigures(_Model):
    """Trajectories of a simulated city: why the public chain chains them or not, and how far
    the same fast path chains them when every trip end shows a fresh key.

    A trip's departure key is public only when its vehicle was plugged in at the origin until
    it left (the session's key); its arrival key only when it charged on arrival. Chaining two
    trips needs all four, joined by one session (its arrival session lasting until the next
    departure): ``chainable_*`` count vehicles for which the ground truth has such runs, the
    most any observer of the public chain could chain.
    """

    trips: int
    departure_key_public: float = Field(description="Share of trips whose departure key is public.")
    arrival_key_public: float
    both_keys_public: float
    chainable_2: float = Field(
        description="Vehicles with >= 2 consecutive trips whose keys are all public and joined."
    )
    chainable_3: float
    chainable_4_plus: float
    every_end_keyed_knowledge: str
    every_end_keyed_forced_share: float = Field(
        description="Trips whose PK1<->PK2 link is forced and correct when every end is keyed."
    )
    every_end_keyed: ChainFigures


class SweepPoint(_Model):
    """Leakage at one mitigation setting beside its utility cost."""

    parameter: Literal["coarsen", "delay", "k"]
    value: int
    trips_forced_share: float | None
    arrival_key_forced: float | None = Field(
        description="Trips whose record is forced to its true arrival key."
    )
    anonymity_median: float
    od_error: float = Field(
        description="Share of trips not counted in their own hourly O-D cell (moved or withheld)."
    )


class LinkReport(_Model):
    """Everything ``iome link`` measured (the file link.json)."""

    version: Literal["1"] = "1"
    source: Literal["db", "simulate", "sessions", "trips"]
    options: LinkOptions
    population: str
    knowledge: list[str]
    forced: ForcedFigures | None
    forced_absent: str | None = Field(None, description="Why there is no forced-link figure.")
    z3: Z3Figures | None
    z3_chains: ChainZ3Figures | None = None
    z3_chains_absent: str | None = Field(None, description="Why there is no z3_chains figure.")
    trajectories: TrajectoryFigures | None = Field(
        None, description="Simulated runs: trajectory chaining on the chain and fully keyed."
    )
    position: PositionFigures | None = Field(
        None, description="Block-position leak (sources with blocks and ground truth)."
    )
    habits: HabitReport | None
    follow: FollowReport | None
    trip_match: list[TripMatchScore] | None
    uniqueness: UniquenessReport | None
    ablation: AblationReport | None
    session_figures_absent: str | None = None
    sweep: list[SweepPoint]
    od_period_s: int
    plots: list[str]
