"""Child chains on the public chain: anchors, backup takeover, and anchor verification.

Paper §III: "every private chain has at least one backup manager to interface with the
public chain, where the backup manager can act as the manager in case the main manager is
unavailable." The anchor sequence of a chain is one hash-linked list; a handover continues
it from the same tip, so a takeover leaves no gap and no fork.
"""

from __future__ import annotations

from collections.abc import Iterable

from iome_ref.chain.state import ChainState, Evidence, Journal, Office
from iome_ref.constants import ROLE_BACKUP, ROLE_MANAGER
from iome_ref.errors import Rejected
from iome_ref.models import Anchor, Block, ManagerHandover
from iome_ref.rules import ledger
from iome_ref.rules.ledger import AnchorTip

__all__ = ["apply_anchor", "apply_handover", "verify_anchors"]


def apply_anchor(state: ChainState, anchor: Anchor, journal: Journal) -> None:
    """Judge an anchor against the chain's anchor tip and the manager in office; its
    certificate (for the office's role) was checked by the common steps.

    IOME-ANC-005 is not judged here: the public chain's verdict must not depend on which child
    chains a node holds (chains.md); ``iome_ref.chain.ledger`` compares held chains and keeps
    any mismatch as evidence.

    Raises:
        Rejected: IOME-ANC-001..004, IOME-ANC-010.
    """
    office = state.offices.get(anchor.chain_id)
    ledger.check_anchor_manager(anchor, office.manager_pk if office else None)
    role = office.role if office else ROLE_MANAGER
    tip = state.anchor_tips.get(anchor.chain_id)
    fork_key = (anchor.chain_id, anchor.prev_anchor_id)
    successor = state.anchor_successors.get(fork_key)
    try:
        ledger.check_anchor_not_forking(anchor, successor.tx_id if successor else None)
    except Rejected:
        assert successor is not None  # the check raises only when a successor exists
        state.evidence.append(
            Evidence(
                "IOME-ANC-003", successor.model_dump(mode="json"), anchor.model_dump(mode="json")
            )
        )
        raise
    ledger.check_anchor_extends_tip(anchor, tip)
    ledger.check_anchor_height(anchor, tip)
    ledger.check_anchor_time(anchor, tip, state.handover_times.get(anchor.chain_id))
    journal.put(state.anchor_successors, fork_key, anchor)
    journal.put(state.anchors_at, (anchor.chain_id, anchor.height), anchor)
    journal.put(
        state.anchor_tips, anchor.chain_id, AnchorTip(anchor.tx_id, anchor.height, anchor.timestamp)
    )
    journal.put(state.offices, anchor.chain_id, Office(anchor.manager_pk, role))


def apply_handover(state: ChainState, handover: ManagerHandover, journal: Journal) -> None:
    """Let the certified backup take office after the manager missed its anchor periods; its
    certificate was checked by the common steps.

    Raises:
        Rejected: IOME-ANC-006..009.
    """
    tip = state.anchor_tips.get(handover.chain_id)
    ledger.check_handover_tip(handover, tip)
    assert tip is not None  # a chain without anchors has no tip to name, refused above
    office = state.offices.get(handover.chain_id)
    ledger.check_handover_manager(handover, office.manager_pk if office else None)
    ledger.check_handover_missed_periods(handover, tip)
    ledger.check_handover_after_handover(handover, state.handover_times.get(handover.chain_id))
    journal.put(state.handover_times, handover.chain_id, handover.timestamp)
    journal.put(state.offices, handover.chain_id, Office(handover.new_manager_pk, ROLE_BACKUP))


def verify_anchors(anchors: Iterable[Anchor], child_blocks: Iterable[Block]) -> int:
    """Check every anchor of a child chain against that chain's blocks (IOME-ANC-005).

    For auditors holding both chains; a public node that does not hold the child chain cannot.
    Returns the number of anchors verified.

    Raises:
        Rejected: IOME-ANC-005 for the first anchor whose hash is not the child's block.
    """
    hashes = {block.height: block.block_hash for block in child_blocks}
    count = 0
    for anchor in anchors:
        ledger.check_anchor_head(anchor, hashes.get(anchor.height))
        count += 1
    return count
