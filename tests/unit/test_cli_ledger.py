"""`iome ledger verify FILE`: re-verify a node's store from genesis, never writing to it."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iome_ref.chain.ledger import Ledger
from iome_ref.chain.store import MemoryStore, SqliteStore
from iome_ref.cli import EXIT_ACCEPTED, EXIT_ERROR, EXIT_REJECTED, app
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import CHAINS, T0, build_world

WORLD = build_world(43)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _store(path: Path, *, false_anchor: bool = False) -> None:
    b = Builder(WORLD)
    with SqliteStore(path) as store:
        ledger = Ledger(store, WORLD.context())
        for chain_id, kind in CHAINS.items():
            ledger.add_chain(chain_id, kind)
        fleet = [
            b.block("fleet", [b.commitment(data=f"f{h}".encode(), t=T0 + 100 * h)], T0 + 100 * h)
            for h in range(2)
        ]
        for block in fleet:
            ledger.submit(block)
        head = fleet[0 if false_anchor else 1].block_hash
        ledger.submit(b.block("public", [b.anchor(1, head, None, T0 + 1000)], T0 + 1100))
        ledger.submit(b.block("public", [b.esdp()], T0 + 5000))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_accepts_store_printing_each_chain(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "node.sqlite"
    _store(path)
    before = _digest(path)
    result = runner.invoke(app, ["ledger", "verify", str(path)])
    assert result.exit_code == EXIT_ACCEPTED, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"genesis {Ledger(MemoryStore(), WORLD.context()).genesis_hash}"
    assert lines[1].startswith("chain fleet (child): 2 blocks, height 1, head ")
    assert lines[2].startswith("chain public (public): 2 blocks, height 1, head ")
    assert lines[-1] == "verified: 2 chains, 0 evidence"  # a chain with no block is not stored
    assert _digest(path) == before  # the store itself is never written


def test_rejects_store_recorded_under_another_genesis(runner: CliRunner, tmp_path: Path) -> None:
    """A store's configuration is only as good as the store: an edited PKI or travel table
    would re-verify happily under itself, so the network's genesis hash is checked."""
    path = tmp_path / "node.sqlite"
    _store(path)
    agreed = Ledger(MemoryStore(), WORLD.context()).genesis_hash
    ok = runner.invoke(app, ["ledger", "verify", str(path), "--genesis-hash", agreed])
    assert ok.exit_code == EXIT_ACCEPTED, ok.output
    other = Ledger(MemoryStore(), build_world(44).context()).genesis_hash
    result = runner.invoke(app, ["ledger", "verify", str(path), "--genesis-hash", other])
    assert result.exit_code == EXIT_REJECTED, result.output
    assert result.stdout.splitlines()[-1] == f"genesis mismatch: expected {other}"


def test_rejects_store_holding_evidence(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "node.sqlite"
    _store(path, false_anchor=True)
    result = runner.invoke(app, ["ledger", "verify", str(path)])
    assert result.exit_code == EXIT_REJECTED, result.output
    assert any(line.startswith("evidence IOME-ANC-005: ") for line in result.stdout.splitlines())
    assert result.stdout.splitlines()[-1] == "verified: 2 chains, 1 evidence"


@pytest.mark.req("IOME-BLK-012")
def test_rejects_store_edited_on_disk(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "node.sqlite"
    _store(path)
    with sqlite3.connect(path) as conn:
        (body,) = conn.execute(
            "SELECT body FROM blocks WHERE chain_id = 'public' AND height = 1"
        ).fetchone()
        block = json.loads(body)
        block["txs"][0]["demand_wh"] += 1
        conn.execute(
            "UPDATE blocks SET body = ? WHERE chain_id = 'public' AND height = 1",
            (json.dumps(block).encode(),),
        )
    conn.close()
    result = runner.invoke(app, ["ledger", "verify", str(path)])
    assert result.exit_code == EXIT_REJECTED, result.output
    assert result.stdout.startswith("reject IOME-BLK-012: stored block 1 is refused on reload: ")


@pytest.mark.parametrize("content", [None, b"not a database", b""], ids=["absent", "text", "empty"])
def test_rejects_file_that_is_no_store(
    runner: CliRunner, tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "node.sqlite"
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(app, ["ledger", "verify", str(path)])
    assert result.exit_code == EXIT_ERROR, result.output
    assert result.stderr.startswith("error ")
    assert "Traceback" not in result.output


def test_rejects_file_that_is_no_store_naming_it(runner: CliRunner, tmp_path: Path) -> None:
    """The store opened is a copy in a scratch folder; the error names the file given."""
    path = tmp_path / "node.sqlite"
    path.write_bytes(b"not a database")
    result = runner.invoke(app, ["ledger", "verify", str(path)])
    assert result.exit_code == EXIT_ERROR, result.output
    assert result.stderr == (
        f"error store: cannot open the store {path}: the file is not a SQLite database\n"
    )


def test_rejects_folder_as_the_store(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["ledger", "verify", str(tmp_path)])
    assert result.exit_code == EXIT_ERROR, result.output
    assert result.stderr == f"error cli: FILE {tmp_path}: is a directory, expected a SQLite store\n"
