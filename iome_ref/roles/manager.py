"""Child-chain managers, their backups, and block producers.

Paper §III: "every private chain has at least one backup manager to interface with the public
chain, where the backup manager can act as the manager in case the main manager is
unavailable. The private chain manager is responsible for aggregating data from all private
chain participants and creating transactions to be stored on the public chain."
"""

from __future__ import annotations

from collections.abc import Sequence

from iome_ref.chain.state import ChainState
from iome_ref.constants import ANCHOR_PERIOD_S, HANDOVER_MISSED_PERIODS, ZERO_HASH
from iome_ref.crypto import KeyPair
from iome_ref.models import Anchor, Block, ManagerHandover, SignedModel
from iome_ref.rules.ledger import (
    AnchorTip,
    check_anchor_time,
    check_handover_after_handover,
    check_handover_missed_periods,
)

__all__ = ["BlockProducer", "ChainManager"]


class BlockProducer:
    """A certified producer (proof of authority): seals transactions into the next block."""

    def __init__(self, key: KeyPair) -> None:
        self.key = key

    def seal(self, state: ChainState, txs: Sequence[SignedModel], time: int) -> Block:
        """The next block of ``state``'s chain holding ``txs`` in order."""
        head = state.head
        return Block.create(
            self.key,
            chain_id=state.chain_id,
            height=head.height + 1 if head else 0,
            prev_hash=head.block_hash if head else ZERO_HASH,
            time=max(time, head.time if head else time),
            txs=list(txs),
        )


class ChainManager(BlockProducer):
    """Manager or backup of one child chain: produces its blocks and anchors its head.

    ``active`` is False for a backup until it takes over, and False for a manager that has
    failed: a failed manager neither produces nor anchors, which is what its backup watches.
    ``office_since`` is the time this key took office by a handover, None otherwise.
    """

    def __init__(self, chain_id: str, key: KeyPair, *, active: bool = True) -> None:
        super().__init__(key)
        self.chain_id = chain_id
        self.active = active
        self.office_since: int | None = None

    def anchor(self, child: ChainState, tip: AnchorTip | None, t: int) -> Anchor | None:
        """Anchor the child chain's head if it grew since the last anchor (paper §II-B).

        Raises:
            Rejected: IOME-ANC-010, ``t`` is before the last anchor or this key's office start.
        """
        head = child.head
        if head is None or (tip is not None and head.height <= tip.height):
            return None
        anchor = Anchor.create(
            {"signature": self.key},
            chain_id=self.chain_id,
            height=head.height,
            head_hash=head.block_hash,
            prev_anchor_id=tip.tx_id if tip else None,
            timestamp=t,
            manager_pk=self.key.public_hex,
        )
        check_anchor_time(anchor, tip, self.office_since)
        return anchor

    @staticmethod
    def is_manager_silent(tip: AnchorTip, now: int, office_since: int | None = None) -> bool:
        """Whether the manager in office missed HANDOVER_MISSED_PERIODS anchor periods, counted
        from the later of the last anchor and its office start (IOME-ANC-007, IOME-ANC-009).

        ``office_since`` is the chain's office start (the latest handover's time), if any.
        """
        since = max(tip.timestamp, office_since or tip.timestamp)
        return now - since >= HANDOVER_MISSED_PERIODS * ANCHOR_PERIOD_S

    def take_over(
        self, old_manager_pk: str, tip: AnchorTip, t: int, office_since: int | None = None
    ) -> ManagerHandover:
        """As the backup, take office from the silent manager, continuing from ``tip``.

        ``office_since`` is the chain's office start, if the manager being replaced took office
        by a handover. The backup refuses to take over a manager that is not silent yet.

        Raises:
            Rejected: IOME-ANC-007, IOME-ANC-009; the backup then stays inactive.
        """
        handover = ManagerHandover.create(
            {"signature": self.key},
            chain_id=self.chain_id,
            old_manager_pk=old_manager_pk,
            new_manager_pk=self.key.public_hex,
            last_anchor_id=tip.tx_id,
            timestamp=t,
        )
        check_handover_missed_periods(handover, tip)
        check_handover_after_handover(handover, office_since)
        self.active = True
        self.office_since = t
        return handover
