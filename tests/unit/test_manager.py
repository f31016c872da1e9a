"""Managers and backups of a child chain: anchoring, and handovers that cannot churn.

A backup takes office only from a manager silent for HANDOVER_MISSED_PERIODS anchor periods,
counted from its latest Anchor (IOME-ANC-007) and from its own office start (IOME-ANC-009), and
no Anchor is dated before the previous one or before its signer took office (IOME-ANC-010).
The roles refuse to make what the chain refuses, and the chain refuses it from anyone.
"""

from __future__ import annotations

import pytest

from iome_ref.chain.ledger import Ledger
from iome_ref.chain.store import MemoryStore
from iome_ref.constants import ANCHOR_PERIOD_S, HANDOVER_MISSED_PERIODS
from iome_ref.errors import Rejected
from iome_ref.models import Block, SignedModel
from iome_ref.roles.manager import BlockProducer, ChainManager
from iome_ref.rules.ledger import AnchorTip
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import CHAINS, T0, World, build_world

_SILENCE = HANDOVER_MISSED_PERIODS * ANCHOR_PERIOD_S


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(17)


class Scene:
    """A ledger with a fleet chain, its manager, two backups and the public producer."""

    def __init__(self, world: World) -> None:
        self.b = Builder(world)
        self.ledger = Ledger(MemoryStore(), world.context())
        for chain_id, kind in CHAINS.items():
            self.ledger.add_chain(chain_id, kind)
        self.manager = ChainManager("fleet", world.key("fleet-manager"))
        self.backup = ChainManager("fleet", world.key("fleet-backup"), active=False)
        self.backup_2 = ChainManager("fleet", world.key("fleet-backup-2"), active=False)
        self.producer = BlockProducer(world.key("producer"))

    def child_block(self, t: int) -> Block:
        """The manager in office seals one data commitment into the fleet chain."""
        fleet = self.ledger.chains["fleet"]
        block = self.producer.seal(fleet, [self.b.commitment(data=b"%d" % t, t=t)], t)
        self.ledger.submit(block)
        return block

    def publish(self, txs: list[SignedModel], t: int) -> None:
        self.ledger.submit(self.producer.seal(self.ledger.chains["public"], txs, t))

    @property
    def public_tip(self) -> AnchorTip:
        return self.ledger.chains["public"].anchor_tips["fleet"]

    @property
    def office_since(self) -> int | None:
        return self.ledger.chains["public"].handover_times.get("fleet")


@pytest.fixture
def scene(world: World) -> Scene:
    """The manager anchored once at T0 + 1000, then went silent."""
    scene = Scene(world)
    scene.child_block(T0 + 100)
    scene.child_block(T0 + 200)
    anchor = scene.manager.anchor(scene.ledger.chains["fleet"], None, T0 + 1000)
    assert anchor is not None
    scene.publish([anchor], T0 + 1000)
    scene.manager.active = False
    return scene


@pytest.mark.req("IOME-ANC-007")
def test_backup_refuses_to_take_over_a_manager_not_yet_silent(scene: Scene) -> None:
    tip = scene.public_tip
    assert not scene.backup.is_manager_silent(tip, tip.timestamp + _SILENCE - 1)
    with pytest.raises(Rejected) as exc:
        scene.backup.take_over(scene.manager.key.public_hex, tip, tip.timestamp + _SILENCE - 1)
    assert exc.value.req_id == "IOME-ANC-007"
    assert not scene.backup.active


@pytest.mark.req("IOME-ANC-009")
def test_second_backup_waits_for_the_new_manager_periods(scene: Scene) -> None:
    tip = scene.public_tip
    taken = tip.timestamp + _SILENCE
    scene.publish([scene.backup.take_over(scene.manager.key.public_hex, tip, taken)], taken)
    assert scene.office_since == taken

    # A second backup one second later: the old Anchor is long silent (IOME-ANC-007 holds),
    # but the manager in office has just taken office.
    assert not scene.backup_2.is_manager_silent(tip, taken + 1, scene.office_since)
    with pytest.raises(Rejected) as by_role:
        scene.backup_2.take_over(scene.backup.key.public_hex, tip, taken + 1, scene.office_since)
    assert by_role.value.req_id == "IOME-ANC-009"
    assert not scene.backup_2.active
    # A backup that ignores the rule is refused by the chain.
    churn = scene.b.handover(
        tip.tx_id, taken + 1, old="fleet-backup", new="fleet-backup-2", chain_id="fleet"
    )
    with pytest.raises(Rejected) as by_chain:
        scene.publish([churn], taken + 1)
    assert by_chain.value.req_id == "IOME-ANC-009"

    # The first backup goes silent too: after its full periods the second may take over.
    later = taken + _SILENCE
    assert scene.backup_2.is_manager_silent(tip, later, scene.office_since)
    handover = scene.backup_2.take_over(scene.backup.key.public_hex, tip, later, scene.office_since)
    scene.publish([handover], later)
    assert scene.ledger.chains["public"].offices["fleet"].manager_pk == (
        scene.backup_2.key.public_hex
    )
    assert scene.office_since == later


@pytest.mark.req("IOME-ANC-010")
def test_new_manager_cannot_anchor_before_taking_office(scene: Scene) -> None:
    tip = scene.public_tip
    taken = tip.timestamp + _SILENCE
    scene.publish([scene.backup.take_over(scene.manager.key.public_hex, tip, taken)], taken)
    scene.child_block(taken - 100)
    fleet = scene.ledger.chains["fleet"]
    with pytest.raises(Rejected) as by_role:
        scene.backup.anchor(fleet, tip, taken - 1)
    assert by_role.value.req_id == "IOME-ANC-010"
    head = fleet.head
    assert head is not None
    backdated = scene.b.anchor(
        head.height, head.block_hash, tip.tx_id, taken - 1, manager="fleet-backup"
    )
    with pytest.raises(Rejected) as by_chain:
        scene.publish([backdated], taken)
    assert by_chain.value.req_id == "IOME-ANC-010"
    anchor = scene.backup.anchor(fleet, tip, taken)
    assert anchor is not None
    scene.publish([anchor], taken)
    assert scene.public_tip.tx_id == anchor.tx_id
