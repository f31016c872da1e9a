"""ChainState: everything a chain remembers to judge the next block, with an undo journal.

A block applies atomically: every change goes through a ``Journal``, and a rejected block
rolls the state back exactly, so a bad transaction halfway through a block leaves no trace.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from iome_ref.models import EPS, Anchor, IssuerRegistration, Presence, Trip
from iome_ref.rules.ledger import AnchorTip, BlockRef

__all__ = ["ChainState", "Evidence", "Journal", "Office"]

_MISSING: Any = object()


class Journal:
    """Undo log of the current block's changes."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], object]] = []

    def add(self, target: set[str], value: str) -> None:
        if value not in target:
            target.add(value)
            self._undo.append(lambda: target.discard(value))

    def put(self, target: dict[Any, Any], key: Any, value: Any) -> None:
        old = target.get(key, _MISSING)
        target[key] = value
        if old is _MISSING:
            self._undo.append(lambda: target.pop(key))
        else:
            self._undo.append(lambda: target.__setitem__(key, old))

    def append(self, target: list[Any], value: Any) -> None:
        target.append(value)
        self._undo.append(target.pop)

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()


class Evidence(NamedTuple):
    """Signed proof of misbehaviour: the rule broken and both conflicting objects (JSON)."""

    req_id: str
    first: dict[str, Any]
    second: dict[str, Any]


class Office(NamedTuple):
    """Who manages a child chain now, and under which certificate role."""

    manager_pk: str
    role: str


@dataclass
class ChainState:
    """State of one chain. Fields are grouped by the rule family that reads them."""

    chain_id: str
    kind: str
    blocks: list[BlockRef] = field(default_factory=list)
    tx_ids: set[str] = field(default_factory=set)
    #: Misbehaviour proofs; never journaled, so they survive the rejected block that held them.
    evidence: list[Evidence] = field(default_factory=list)
    # EPS chains (IOME-EPS-004..009): registration per issuer, tip per issuer, and the signal
    # extending each (issuer, predecessor) pair, to catch equivocation by that issuer only and
    # keep the first signal as evidence.
    registrations: dict[str, IssuerRegistration] = field(default_factory=dict)
    issuer_tips: dict[str, str] = field(default_factory=dict)
    successors: dict[tuple[str, str], EPS] = field(default_factory=dict)
    #: Time of each issuer's tip: registration timestamp or latest issued_at (IOME-EPS-010).
    issuer_tip_times: dict[str, int] = field(default_factory=dict)
    # One-time keys and presences (IOME-PRES-001, IOME-CHG-003, IOME-CLAIM-005). A presence
    # binds one key (IOME-PRES-001), so a presence used once is a key used once.
    presence_keys: set[str] = field(default_factory=set)
    presences: dict[str, Presence] = field(default_factory=dict)
    charge_keys: set[str] = field(default_factory=set)
    claimed_presences: set[str] = field(default_factory=set)
    # Public trips, for O-D recomputation (IOME-ODM-004).
    trips: list[Trip] = field(default_factory=list)
    # Anchoring (IOME-ANC-*), keyed by child chain id.
    anchor_tips: dict[str, AnchorTip] = field(default_factory=dict)
    #: (chain id, previous anchor id or None) -> the anchor extending it (IOME-ANC-003).
    anchor_successors: dict[tuple[str, str | None], Anchor] = field(default_factory=dict)
    offices: dict[str, Office] = field(default_factory=dict)
    #: Timestamp of the latest handover per child chain: its manager's office start
    #: (IOME-ANC-009, IOME-ANC-010).
    handover_times: dict[str, int] = field(default_factory=dict)

    @property
    def head(self) -> BlockRef | None:
        return self.blocks[-1] if self.blocks else None

    @property
    def height(self) -> int:
        """Height of the head, -1 for an empty chain."""
        return len(self.blocks) - 1

    def get_block_ref(self, height: int) -> BlockRef | None:
        return self.blocks[height] if 0 <= height < len(self.blocks) else None
