"""A ledger's store is trusted for durability, never for validity (IOME-BLK-012)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from iome_ref.chain.ledger import Ledger
from iome_ref.chain.store import SqliteStore
from iome_ref.errors import IoMEError, Rejected
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import CHAINS, T0, World, build_world


def _ledger(world: World, path: Path) -> Ledger:
    ledger = Ledger(SqliteStore(path), world.context())
    for chain_id, kind in CHAINS.items():
        ledger.add_chain(chain_id, kind)
    return ledger


def _populate(path: Path) -> tuple[World, Builder]:
    world = build_world(3)
    b = Builder(world)
    ledger = _ledger(world, path)
    reg = b.registration()
    first = b.eps(reg.tx_id)
    ledger.submit(b.block("public", [reg, b.esdp()], T0 + 5000))
    ledger.submit(b.block("public", [first], T0 + 6000))
    src = b.presence("source", "st-a", "ev-1/otk-1", T0 + 7200)
    ledger.submit(b.block("verifiers", [src], T0 + 7300))
    ledger.store.close()
    return world, b


@pytest.mark.req("IOME-BLK-012")
def test_accepts_reopened_store_with_identical_state(tmp_path: Path) -> None:
    path = tmp_path / "node.sqlite"
    world, b = _populate(path)
    reopened = _ledger(world, path)
    public = reopened.chains["public"]
    assert public.height == 1
    assert len(public.tx_ids) == 3
    (issuer,) = public.issuer_tips
    tip = public.issuer_tips[issuer]
    # The restored tip is the one the next signal must extend, and a reused key stays refused.
    reopened.submit(b.block("public", [b.eps(tip, t=T0 + 7000)], T0 + 8000))
    with pytest.raises(Rejected) as exc:
        reopened.submit(
            b.block(
                "verifiers", [b.presence("destination", "st-b", "ev-1/otk-1", T0 + 9000)], T0 + 9100
            )
        )
    assert exc.value.req_id == "IOME-PRES-001"


_GENESIS = "chain_id = 'public' AND height = 0"


def _stored_genesis(path: Path) -> dict[str, Any]:
    with sqlite3.connect(path) as conn:
        (body,) = conn.execute(f"SELECT body FROM blocks WHERE {_GENESIS}").fetchone()
    block: dict[str, Any] = json.loads(body)
    return block


def _tamper(path: Path, edit: bytes) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE blocks SET body = ? WHERE {_GENESIS}", (edit,))


@pytest.mark.req("IOME-BLK-012")
def test_rejects_tampered_block_on_reopen(tmp_path: Path) -> None:
    path = tmp_path / "node.sqlite"
    world, _ = _populate(path)
    block = _stored_genesis(path)
    block["time"] += 1  # a header edit: the stored hash no longer matches
    _tamper(path, json.dumps(block).encode())
    with pytest.raises(Rejected) as exc:
        _ledger(world, path)
    assert exc.value.req_id == "IOME-BLK-012"


@pytest.mark.req("IOME-BLK-012")
def test_rejects_unreadable_stored_block(tmp_path: Path) -> None:
    path = tmp_path / "node.sqlite"
    world, _ = _populate(path)
    _tamper(path, b"\xff not json")
    with pytest.raises(Rejected) as exc:
        _ledger(world, path)
    assert exc.value.req_id == "IOME-BLK-012"


def test_rejects_tampered_transaction_on_reopen(tmp_path: Path) -> None:
    """Editing a transaction inside a block breaks its tx id: reported as a changed store."""
    path = tmp_path / "node.sqlite"
    world, _ = _populate(path)
    block = _stored_genesis(path)
    block["txs"][1]["demand_wh"] += 1
    _tamper(path, json.dumps(block).encode())
    with pytest.raises(IoMEError) as exc:
        _ledger(world, path)
    assert exc.value.req_id == "IOME-BLK-012"
    assert isinstance(exc.value.__cause__, IoMEError)
    assert exc.value.__cause__.req_id == "IOME-ENC-011"


_INDEX_EDITS = {
    # The public chain holds blocks 0 and 1 (_populate); its stored height index edited.
    "height": "UPDATE blocks SET height = 5 WHERE chain_id = 'public' AND height = 1",
    "tx moved": "UPDATE txs SET height = 0 WHERE chain_id = 'public' AND height = 1",
    "tx dropped": "DELETE FROM txs WHERE chain_id = 'public' AND height = 1",
    "tx renamed": "UPDATE txs SET tx_id = 'ab' || substr(tx_id, 3)"
    " WHERE chain_id = 'public' AND height = 1",
}


@pytest.mark.req("IOME-BLK-012")
@pytest.mark.parametrize("edit", sorted(_INDEX_EDITS))
def test_rejects_edited_store_index_on_reopen_and_replay(tmp_path: Path, edit: str) -> None:
    """The store's indexes (a block's height, its transaction rows) are derived from the body;
    an edit that leaves the body intact used to reopen at one height while the index claimed
    another, so every later block of the chain was refused."""
    path = tmp_path / "node.sqlite"
    world, _ = _populate(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute(_INDEX_EDITS[edit]).rowcount >= 1
    with pytest.raises(Rejected) as exc:
        _ledger(world, path)
    assert exc.value.req_id == "IOME-BLK-012"
    with pytest.raises(Rejected) as replayed:
        Ledger.replay(SqliteStore(path))
    assert replayed.value.req_id == "IOME-BLK-012"
