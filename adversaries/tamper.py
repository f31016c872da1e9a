"""Adversary 7: tampering with a block, a transaction inside a block, a child-chain anchor, and
the node's stored data itself (issue 14 item 7; spec/adversaries.md).

On the network the attacker edits what it relays: a transaction inside a block (its tx id
then no longer matches, IOME-ENC-011; or, re-hashed, its signature fails, IOME-SIG-001), the
body under a signed header (IOME-BLK-003), a header field (IOME-BLK-011), or the head an
Anchor names on its way to the public chain. On the node's disk (its SQLite file) it appends
rows the node never validated, edits their bytes, truncates them or records them under
another hash; the node restarts from the store (``reopen``) and must refuse it
(IOME-BLK-012), naming the rule that revealed the edit. It also crashes the node between
steps: everything committed must survive the restart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from adversaries.base import Capability, Profile
from adversaries.flows import trip_extraction
from adversaries.play import Script, capabilities
from adversaries.scripted import ScriptedAdversary
from iome_ref.encoding import compute_hash
from iome_ref.models import Block
from iome_ref.vectors.runner import StoredRow

__all__ = ["Tamper"]

_PUBLIC: Final = "public"
_FLEET: Final = "fleet"
_CONSORTIUM: Final = "verifiers"


def _history(script: Script) -> list[Block]:
    """Honest blocks on every chain kind, and the fleet anchored on the public chain."""
    blocks = [
        script.append(_PUBLIC, [script.b.esdp("tp/home-1", script.tick())]),
        script.append(_FLEET, [script.b.commitment("tp/home-2", b"meter", script.tick())]),
        script.append(_CONSORTIUM, [script.b.presence("source", "st-a", "tp/pk", script.tick())]),
    ]
    fleet = blocks[1]
    anchor = script.b.anchor(fleet.height, fleet.block_hash, None, script.tick())
    blocks.append(script.append(_PUBLIC, [anchor]))
    return blocks


#: Edits of a stored row: name -> (what the edit does, the row edited).
_DISK_EDITS: Final[dict[str, tuple[str, Callable[[StoredRow, Block], StoredRow]]]] = {
    "edited-time": (
        "the block's time changed in its stored bytes",
        lambda row, block: row.model_copy(
            update={"body_text": row.body_text.replace(str(block.time), str(block.time + 1))}
        ),
    ),
    "edited-tx": (
        "a transaction's amount changed inside the stored block",
        lambda row, _: row.model_copy(
            update={"body_text": row.body_text.replace('"supply_wh":', '"supply_wh":1')}
        ),
    ),
    "truncated": (
        "the stored bytes cut short",
        lambda row, _: row.model_copy(update={"body_text": row.body_text[:-1]}),
    ),
    "wrong-hash": (
        "the row recorded under another block hash",
        lambda row, _: row.model_copy(update={"block_hash": compute_hash(b"elsewhere")}),
    ),
    "not-json": (
        "the stored bytes replaced by garbage",
        lambda row, _: row.model_copy(update={"body_text": "\x00garbage"}),
    ),
}


class Tamper(ScriptedAdversary):
    name = "tamper"
    title = "Tampering with a block, a transaction in a block, an anchor and the stored file"
    capabilities = capabilities(Capability.NETWORK, Capability.STORAGE)
    targets = (
        "IOME-ENC-011",
        "IOME-SIG-001",
        "IOME-BLK-003",
        "IOME-BLK-011",
        "IOME-BLK-012",
    )
    invariant = "integrity"
    expected = "blocked"

    def scripts(self, seed: int, profile: Profile) -> list[Script]:
        scripts = [
            self._in_transit(seed),
            self._anchor(seed),
            self._crash(seed),
            self._crash_trip(seed),
        ]
        scripts += [self._disk(seed, edit) for edit in _DISK_EDITS]
        return scripts

    def _in_transit(self, seed: int) -> Script:
        script = self.script(
            seed,
            "in-transit",
            "blocks and transactions edited on their way to the node",
            "IOME-ENC-011",
            "IOME-SIG-001",
            "IOME-BLK-003",
            "IOME-BLK-011",
        )
        _history(script)
        esdp = script.b.esdp("tp/home-3", script.tick())
        edited = esdp.model_copy(update={"supply_wh": esdp.supply_wh * 10})
        script.append(_PUBLIC, [edited], "IOME-ENC-011", actor="network")
        rehashed = edited.model_copy(update={"tx_id": edited.compute_tx_id()})
        script.append(_PUBLIC, [rehashed], "IOME-SIG-001", actor="network")
        block = script.block(_PUBLIC, [esdp])
        swapped = block.model_copy(update={"txs": [script.b.esdp("tp/home-4", script.tick())]})
        script.submit_block(_PUBLIC, swapped, "IOME-BLK-003", actor="network")
        document = block.model_dump(mode="json")
        document["time"] += 1
        script.submit_block(_PUBLIC, document, "IOME-BLK-011", actor="network")
        script.check_head(_PUBLIC)
        script.check_tx(_PUBLIC, esdp.tx_id, present=False)
        return script

    def _anchor(self, seed: int) -> Script:
        script = self.script(
            seed,
            "anchor-in-transit",
            "an anchor whose head hash is edited in transit",
            "IOME-ENC-011",
            "IOME-SIG-001",
        )
        blocks = _history(script)
        tip = blocks[-1].txs[0]
        fleet = script.append(_FLEET, [script.b.commitment("tp/home-5", b"more", script.tick())])
        anchor = script.b.anchor(fleet.height, fleet.block_hash, tip.tx_id, script.tick())
        lying = anchor.model_copy(update={"head_hash": compute_hash(b"a history rewritten")})
        script.append(_PUBLIC, [lying], "IOME-ENC-011", actor="network")
        rehashed = lying.model_copy(update={"tx_id": lying.compute_tx_id()})
        script.append(_PUBLIC, [rehashed], "IOME-SIG-001", actor="network")
        script.append(_PUBLIC, [anchor])
        script.check_tx(_PUBLIC, anchor.tx_id, present=True)
        return script

    def _crash(self, seed: int) -> Script:
        script = self.script(
            seed,
            "crash-restart",
            "the node crashes and restarts from its store between steps",
            "IOME-BLK-012",
        )
        blocks = _history(script)
        script.reopen()
        for chain in (_PUBLIC, _FLEET, _CONSORTIUM):
            script.check_head(chain)
        for block in blocks:
            script.check_tx(block.chain_id, block.txs[0].tx_id, present=True)
        # A row appended honestly (another node's valid block) is loaded with the rest.
        extra = script.block(_PUBLIC, [script.b.esdp("tp/home-6", script.tick())])
        script.reopen([script.stored_row(extra)])
        script.check_head(_PUBLIC)
        script.append(_PUBLIC, [script.b.esdp("tp/home-7", script.tick())])
        script.check_head(_PUBLIC)
        return script

    def _crash_trip(self, seed: int) -> Script:
        script = self.script(
            seed,
            "crash-trip",
            "a trip extracted through the roles, the node crashing after the verifiers "
            "co-signed and before they handed over their batch",
            "IOME-BLK-012",
        )
        trip_extraction(script, "tp-trip", crash_after=7)
        return script

    def _disk(self, seed: int, edit: str) -> Script:
        what, change = _DISK_EDITS[edit]
        script = self.script(
            seed, f"disk-{edit}", f"the stored file edited: {what}", "IOME-BLK-012"
        )
        _history(script)
        block = script.block(_PUBLIC, [script.b.esdp("tp/home-8", script.tick())])
        row = change(script.stored_row(block), block)
        script.reopen([row], "IOME-BLK-012")
        return script
