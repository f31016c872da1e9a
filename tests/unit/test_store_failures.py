"""How the stores refuse wrong use and report a damaged or unusable file: one sentence each.

Every refusal is a ``UsageError("store")`` whose message says what was wrong and what was
found (the CLI prints it as is), never a traceback, and never a change to what is stored.
tests/unit/test_store.py covers the behaviour of correct use; this file covers the messages a
user reads when something goes wrong, one per kind of fault and per store operation.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from iome_ref.chain.ledger import Ledger
from iome_ref.chain.store import MemoryStore, SqliteStore, Store, StoredBlock
from iome_ref.cli import EXIT_ERROR, app
from iome_ref.errors import UsageError
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import CHAINS, T0, build_world


def _block(height: int, tx_ids: tuple[str, ...] = ()) -> StoredBlock:
    return StoredBlock("main", height, f"hash-{height}", b"body-%d" % height, tx_ids)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "s")
    yield opened
    opened.close()


def _refusal(call: Callable[[], object]) -> str:
    with pytest.raises(UsageError) as info:
        call()
    assert info.value.component == "store"
    return info.value.message


# --- wrong arguments: the same sentence from both stores ---

_READS: list[tuple[str, Callable[[Store], object], str]] = [
    ("blocks", lambda s: list(s.blocks(7)), "chain_id must be a str, found int"),  # type: ignore[arg-type]
    ("head", lambda s: s.head(b"main"), "chain_id must be a str, found bytes"),  # type: ignore[arg-type]
    ("has_tx chain", lambda s: s.has_tx(None, "t"), "chain_id must be a str, found NoneType"),  # type: ignore[arg-type]
    ("has_tx tx", lambda s: s.has_tx("main", 1), "tx_id must be a str, found int"),  # type: ignore[arg-type]
    ("find_tx", lambda s: s.find_tx(["t"]), "tx_id must be a str, found list"),  # type: ignore[arg-type]
    ("set_meta key", lambda s: s.set_meta(1, "v"), "key must be a str, found int"),  # type: ignore[arg-type]
    ("set_meta value", lambda s: s.set_meta("k", 1), "value must be a str, found int"),  # type: ignore[arg-type]
    ("get_meta", lambda s: s.get_meta(1), "key must be a str, found int"),  # type: ignore[arg-type]
    (
        "record_evidence kind",
        lambda s: s.record_evidence(1, b""),  # type: ignore[arg-type]
        "evidence kind must be a str, found int",
    ),
    (
        "record_evidence body",
        lambda s: s.record_evidence("k", "text"),  # type: ignore[arg-type]
        "evidence body must be bytes, found str",
    ),
    (
        "surrogate",
        lambda s: s.find_tx("\udcff"),
        "tx_id must be valid Unicode text, found '\\udcff'",
    ),
]


@pytest.mark.parametrize(("call", "message"), [r[1:] for r in _READS], ids=[r[0] for r in _READS])
def test_rejects_wrong_argument_of_each_operation(
    store: Store, call: Callable[[Store], object], message: str
) -> None:
    store.append(_block(0, ("t",)))
    assert _refusal(lambda: call(store)) == message
    assert store.evidence() == []
    assert store.get_meta("k") is None
    assert [b.height for b in store.blocks("main")] == [0]


_APPENDS: list[tuple[Any, Any, str]] = [
    ((1, 2), (), "block must be a StoredBlock, found tuple"),
    (
        StoredBlock._make(("main", 0.0, "h", b"", ())),
        (),
        "height must be a non-negative int, found 0.0",
    ),
    (
        StoredBlock._make(("main", -1, "h", b"", ())),
        (),
        "height must be a non-negative int, found -1",
    ),
    (StoredBlock._make(("main", 0, "h", b"", ["t"])), (), "tx_ids must be a tuple, found list"),
    (StoredBlock._make((7, 0, "h", b"", ())), (), "chain_id must be a str, found int"),
    (StoredBlock._make(("main", 0, None, b"", ())), (), "block_hash must be a str, found NoneType"),
    (StoredBlock._make(("main", 0, "h", "", ())), (), "body must be bytes, found str"),
    (StoredBlock._make(("main", 0, "h", b"", (b"t",))), (), "tx_id must be a str, found bytes"),
    (_block(0), "", "evidence must be a sequence, found str"),
    (_block(0), None, "evidence must be a sequence, found NoneType"),
    (_block(0), [["k", b""]], "evidence items must be (kind, body) pairs, found ['k', b'']"),
    (
        _block(0),
        [("k", b"", b"")],
        "evidence items must be (kind, body) pairs, found ('k', b'', b'')",
    ),
]


@pytest.mark.parametrize(("block", "evidence", "message"), _APPENDS)
def test_rejects_malformed_append_with_its_reason(
    store: Store, block: Any, evidence: Any, message: str
) -> None:
    assert _refusal(lambda: store.append(block, evidence)) == message
    assert store.chain_ids() == []
    assert store.evidence() == []


def test_rejects_height_gap_naming_expected_height(store: Store) -> None:
    store.append(_block(0))
    assert _refusal(lambda: store.append(_block(2))) == (
        "height of the next block of chain main must be 1, found 2"
    )
    assert [b.height for b in store.blocks("main")] == [0]


def test_rejects_repeated_tx_naming_it(store: Store) -> None:
    store.append(_block(0, ("t-1",)))
    assert _refusal(lambda: store.append(_block(1, ("t-2", "t-1")))) == (
        "tx_id t-1 must appear once in chain main, found it again"
    )
    assert _refusal(lambda: store.append(_block(1, ("t-3", "t-3")))) == (
        "tx_id t-3 must appear once in chain main, found it again"
    )
    assert store.find_tx("t-2") is None
    assert store.find_tx("t-3") is None


def test_rejects_every_operation_once_closed(store: Store) -> None:
    store.close()
    closed = "the store must be open, found it closed"
    calls: list[Callable[[], object]] = [
        lambda: store.append(_block(0)),
        lambda: list(store.blocks("main")),
        lambda: store.head("main"),
        store.chain_ids,
        lambda: store.has_tx("main", "t"),
        lambda: store.find_tx("t"),
        store.evidence,
        lambda: store.record_evidence("k", b""),
        lambda: store.set_meta("k", "v"),
        lambda: store.get_meta("k"),
    ]
    assert [_refusal(call) for call in calls] == [closed] * len(calls)


# --- SQLite files another program damaged or holds ---


def _drop(path: Path, *tables: str) -> None:
    raw = sqlite3.connect(path)
    for table in tables:
        raw.execute(f"DROP TABLE {table}")
    raw.commit()
    raw.close()


def test_rejects_each_operation_on_file_missing_a_table(tmp_path: Path) -> None:
    """Another program dropped tables: every operation names what it could not do, and why."""
    path = tmp_path / "chain.sqlite"
    store = SqliteStore(path)
    store.append(_block(0, ("t",)))
    _drop(path, "txs", "evidence")
    why = f"{path}: SQLite reported SQLITE_ERROR (no such table: "
    assert _refusal(lambda: store.head("main")) == f"cannot read the head from the store {why}txs)"
    # The head's height comes from the blocks table; the page of tx ids fails.
    assert _refusal(lambda: list(store.blocks("main"))) == (
        f"cannot read blocks from the store {why}txs)"
    )
    assert _refusal(lambda: store.has_tx("main", "t")) == (
        f"cannot read a transaction from the store {why}txs)"
    )
    assert _refusal(lambda: store.find_tx("t")) == (
        f"cannot read a transaction from the store {why}txs)"
    )
    assert _refusal(store.evidence) == f"cannot read evidence from the store {why}evidence)"
    assert _refusal(lambda: store.record_evidence("k", b"")) == (
        f"cannot record evidence in the store {why}evidence)"
    )
    _drop(path, "blocks", "meta")
    assert _refusal(lambda: list(store.blocks("main"))) == (
        f"cannot read blocks from the store {why}blocks)"
    )
    assert _refusal(store.chain_ids) == f"cannot read chain ids from the store {why}blocks)"
    assert _refusal(lambda: store.get_meta("k")) == (
        f"cannot read a parameter from the store {why}meta)"
    )
    assert _refusal(lambda: store.set_meta("k", "v")) == (
        f"cannot write a parameter to the store {why}meta)"
    )
    assert _refusal(lambda: store.append(_block(0))) == f"cannot append to the store {why}blocks)"
    store.close()


def test_rejects_record_evidence_while_locked(tmp_path: Path) -> None:
    path = tmp_path / "chain.sqlite"
    with SqliteStore(path, timeout_s=0.05) as store:
        raw = sqlite3.connect(path, isolation_level=None)
        raw.execute("BEGIN IMMEDIATE")
        try:
            assert _refusal(lambda: store.record_evidence("k", b"v")) == (
                f"cannot record evidence in the store {path}: the file is locked by another"
                " connection; close it and retry"
            )
        finally:
            raw.execute("ROLLBACK")
            raw.close()
        store.record_evidence("k", b"v")
        assert store.evidence() == [("k", b"v")]


def test_rejects_corrupt_file_on_read(tmp_path: Path) -> None:
    path = tmp_path / "chain.sqlite"
    with SqliteStore(path) as store:
        for height in range(40):
            store.append(StoredBlock("main", height, "h", b"x" * 3000, (f"t{height}",)))
    damaged = bytearray(path.read_bytes())
    damaged[3 * 4096 : 6 * 4096] = b"\x5a" * (3 * 4096)
    path.write_bytes(bytes(damaged))
    with SqliteStore(path) as store:
        assert _refusal(lambda: list(store.blocks("main"))) == (
            f"cannot read blocks from the store {path}: the SQLite database is corrupt"
        )


def test_rejects_opening_non_database_and_missing_directory(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_bytes(b"x" * 4096)
    assert _refusal(lambda: SqliteStore(text)) == (
        f"cannot open the store {text}: the file is not a SQLite database"
    )
    missing = tmp_path / "absent" / "chain.sqlite"
    assert _refusal(lambda: SqliteStore(missing)) == (
        f"cannot open the store {missing}: the file cannot be opened (missing directory,"
        " a directory, or no permission)"
    )
    assert not missing.parent.exists()


def test_rejects_store_without_write_ahead_log() -> None:
    """An in-memory database has no WAL, so it cannot give the durability a store promises."""
    assert _refusal(lambda: SqliteStore(":memory:")) == (
        "cannot open the store :memory:: journal mode must be wal, found memory"
    )


def test_rejects_other_applications_database_with_reason(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    raw.execute("INSERT INTO meta VALUES ('owner', 'someone else')")
    raw.commit()
    raw.close()
    content = path.read_bytes()
    assert _refusal(lambda: SqliteStore(path)) == (
        f"cannot open the store {path}: it is a SQLite database of another application"
        " (no IoME schema_version)"
    )
    # The refused file is left as it was: once the store switched it to WAL (a new header,
    # -wal and -shm files beside it) before finding it was not its own.
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.sqlite"]


def _sqlite_error(name: str | None, text: str = "detail") -> sqlite3.Error:
    error = sqlite3.OperationalError(text)
    if name is not None:
        error.sqlite_errorname = name
    return error


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("SQLITE_BUSY", "the file is locked by another connection; close it and retry"),
        ("SQLITE_BUSY_TIMEOUT", "the file is locked by another connection; close it and retry"),
        ("SQLITE_LOCKED", "the file is locked by another connection; close it and retry"),
        (
            "SQLITE_LOCKED_SHAREDCACHE",
            "the file is locked by another connection; close it and retry",
        ),
        ("SQLITE_NOTADB", "the file is not a SQLite database"),
        ("SQLITE_CORRUPT", "the SQLite database is corrupt"),
        ("SQLITE_CORRUPT_INDEX", "the SQLite database is corrupt"),
        (
            "SQLITE_CANTOPEN",
            "the file cannot be opened (missing directory, a directory, or no permission)",
        ),
        (
            "SQLITE_CANTOPEN_ISDIR",
            "the file cannot be opened (missing directory, a directory, or no permission)",
        ),
        ("SQLITE_READONLY", "the file is read-only"),
        ("SQLITE_READONLY_DBMOVED", "the file is read-only"),
        ("SQLITE_FULL", "the disk is full"),
        ("SQLITE_IOERR_WRITE", "SQLite reported SQLITE_IOERR_WRITE (detail)"),
        (None, "SQLite reported OperationalError (detail)"),
        ("", "SQLite reported OperationalError (detail)"),
    ],
)
def test_rejects_each_sqlite_failure_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str | None, reason: str
) -> None:
    """Failures a test cannot cause on demand (a full disk, a read-only file as root), raised
    where the store opens its file: each reads as the sentence a user can act on."""

    def connect(*args: object, **kwargs: object) -> sqlite3.Connection:
        raise _sqlite_error(name)

    monkeypatch.setattr(sqlite3, "connect", connect)
    path = tmp_path / "chain.sqlite"
    assert _refusal(lambda: SqliteStore(path)) == f"cannot open the store {path}: {reason}"


def test_rejects_lock_held_longer_than_timeout(tmp_path: Path) -> None:
    """``timeout_s`` is the caller's: a lock released after it has passed is not waited for."""
    path = tmp_path / "chain.sqlite"
    SqliteStore(path).close()
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    raw.execute("BEGIN IMMEDIATE")
    release = threading.Timer(1.0, lambda: raw.execute("ROLLBACK"))
    release.start()
    try:
        assert _refusal(lambda: SqliteStore(path, timeout_s=0.05)) == (
            f"cannot open the store {path}: the file is locked by another connection;"
            " close it and retry"
        )
    finally:
        release.join()
        raw.close()
    SqliteStore(path, timeout_s=0.05).close()


def test_rejects_chain_id_that_is_not_text(tmp_path: Path) -> None:
    """A chain id another program rewrote as a blob (a TEXT column keeps a blob as it is): once
    a TypeError traceback from sorting it among the others, in the store and in ``iome ledger
    verify``."""
    path = tmp_path / "chain.sqlite"
    world = build_world(3)
    b = Builder(world)
    with SqliteStore(path) as store:
        ledger = Ledger(store, world.context())
        for chain_id, kind in CHAINS.items():
            ledger.add_chain(chain_id, kind)
        ledger.submit(b.block("fleet", [b.commitment(data=b"f", t=T0)], T0))
        ledger.submit(b.block("public", [b.esdp()], T0 + 5000))
    raw = sqlite3.connect(path)
    raw.execute("UPDATE blocks SET chain_id = CAST(chain_id AS BLOB) WHERE chain_id = 'fleet'")
    raw.commit()
    raw.close()
    with SqliteStore(path) as store:
        assert _refusal(store.chain_ids) == (
            f"cannot read chain ids from the store {path}: a chain id must be text, found b'fleet'"
        )
    result = CliRunner().invoke(app, ["ledger", "verify", str(path)])
    assert result.exit_code == EXIT_ERROR, result.output
    assert "a chain id must be text, found b'fleet'" in result.output
