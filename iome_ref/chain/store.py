"""Block store: a dumb, durable, atomic container of encoded blocks, in memory or in SQLite.

What lives here: the ``Store`` protocol, ``StoredBlock``, ``MemoryStore`` and ``SqliteStore``.
What must not: protocol rules. The store never decodes a block, checks a signature or a hash;
it keeps the bytes it is given and returns them exactly. The chain layer re-verifies every
stored block when it loads (IOME-BLK-012) and detects tampering by re-hashing these bytes, so a
corrupted file is caught there, not here.

The store refuses only what would make its own indexes lie: a height that is not head + 1 and a
transaction id already stored in the same chain. These are storage-level backstops for rules
the chain layer enforces (IOME-BLK-001, IOME-REC-002); reaching one means the caller skipped
the chain layer, so they raise ``UsageError`` rather than a protocol verdict: each requirement
id has exactly one enforcing function, in the rules the chain layer applies.

``SqliteStore`` is the only code below ``node`` that touches disk (STYLE §1). Both stores behave
identically, which tests/unit/test_store.py checks with Hypothesis.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Final, NamedTuple, Protocol, Self, TypeVar

from iome_ref.errors import UsageError

__all__ = ["SCHEMA_VERSION", "MemoryStore", "SqliteStore", "Store", "StoredBlock"]

#: Version of the SQLite layout below; a file carrying any other version is refused.
SCHEMA_VERSION: Final = "1"

#: Blocks read per query when iterating a SQLite chain, so a long chain never sits in memory.
_PAGE_BLOCKS: Final = 256

#: Store-internal meta key; user keys are stored under ``_PARAM_PREFIX`` so they cannot clash.
_SCHEMA_KEY: Final = "schema_version"
_PARAM_PREFIX: Final = "param:"

_SCHEMA: Final = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE blocks ("
    " chain_id TEXT NOT NULL, height INTEGER NOT NULL, block_hash TEXT NOT NULL,"
    " body BLOB NOT NULL, PRIMARY KEY (chain_id, height))",
    # ``position`` keeps the block's transaction order, which the read-back must reproduce.
    "CREATE TABLE txs ("
    " chain_id TEXT NOT NULL, tx_id TEXT NOT NULL, height INTEGER NOT NULL,"
    " position INTEGER NOT NULL, PRIMARY KEY (chain_id, tx_id))",
    "CREATE INDEX txs_by_block ON txs (chain_id, height, position)",
    "CREATE INDEX txs_by_id ON txs (tx_id, chain_id)",
    "CREATE TABLE evidence (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, body BLOB NOT NULL)",
)

T = TypeVar("T")


class StoredBlock(NamedTuple):
    """One block as the store keeps it.

    ``body`` is the canonical JSON of the whole block, kept byte for byte; the other fields are
    indexes the chain layer derived from it and re-derives on load (IOME-BLK-012).
    """

    chain_id: str
    height: int
    block_hash: str
    body: bytes
    tx_ids: tuple[str, ...]


class Store(Protocol):
    """What the chain layer needs from durable storage, and nothing about protocol rules.

    ``append`` is atomic: the block, its transaction index and any evidence commit together or
    not at all. Reads reflect committed appends only. A closed store raises ``UsageError``.
    """

    def append(self, block: StoredBlock, evidence: Sequence[tuple[str, bytes]] = ()) -> None:
        """Store ``block`` as the new head of its chain, with ``evidence`` (kind, body) rows.

        Raises:
            UsageError: ("store") if ``block.height`` is not head height + 1 (0 for a new
                chain), if a tx id is already in that chain or repeated in the block, on
                arguments of the wrong type or on a storage failure. Nothing is stored then.
        """
        ...

    def blocks(self, chain_id: str) -> Iterator[StoredBlock]:
        """Blocks of ``chain_id`` in ascending height, as of the call (later appends unseen)."""
        ...

    def head(self, chain_id: str) -> StoredBlock | None:
        """The highest block of ``chain_id``, or None for a chain with no block."""
        ...

    def chain_ids(self) -> list[str]:
        """Ids of the chains holding at least one block, sorted."""
        ...

    def has_tx(self, chain_id: str, tx_id: str) -> bool:
        """Whether ``tx_id`` is in a block of ``chain_id``."""
        ...

    def find_tx(self, tx_id: str) -> tuple[str, int] | None:
        """(chain_id, height) holding ``tx_id``; the smallest chain_id if several chains do."""
        ...

    def evidence(self) -> list[tuple[str, bytes]]:
        """Every evidence (kind, body) pair, in the order appended."""
        ...

    def record_evidence(self, kind: str, body: bytes) -> None:
        """Keep evidence found while refusing a block, which therefore has no block to ride on."""
        ...

    def set_meta(self, key: str, value: str) -> None:
        """Record a chain parameter (e.g. the chain kind), replacing any earlier value."""
        ...

    def get_meta(self, key: str) -> str | None:
        """The parameter ``key``, or None if never set."""
        ...

    def close(self) -> None:
        """Release the store; further calls raise ``UsageError``. Closing twice is harmless."""
        ...

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --- argument checks shared by both stores, so they refuse the same inputs the same way ---


def _text(field: str, value: object) -> str:
    """Return ``value`` as a plain str, refusing non-strings and text SQLite cannot store.

    A lone surrogate cannot be encoded as UTF-8; refusing it in both stores keeps them equal.
    """
    if not isinstance(value, str):
        raise UsageError("store", f"{field} must be a str, found {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError("store", f"{field} must be valid Unicode text, found {value!r}") from None
    return str(value)


def _blob(field: str, value: object) -> bytes:
    """Return ``value`` as plain bytes, refusing anything else."""
    if not isinstance(value, bytes):
        raise UsageError("store", f"{field} must be bytes, found {type(value).__name__}")
    return bytes(value)


def _normalize_block(block: object) -> StoredBlock:
    """Check the shape of ``block`` and rebuild it from plain immutable values."""
    if not isinstance(block, StoredBlock):
        raise UsageError("store", f"block must be a StoredBlock, found {type(block).__name__}")
    height = block.height
    if isinstance(height, bool) or not isinstance(height, int) or height < 0:
        raise UsageError("store", f"height must be a non-negative int, found {height!r}")
    tx_ids = block.tx_ids
    if not isinstance(tx_ids, tuple):
        raise UsageError("store", f"tx_ids must be a tuple, found {type(tx_ids).__name__}")
    return StoredBlock(
        chain_id=_text("chain_id", block.chain_id),
        height=int(height),
        block_hash=_text("block_hash", block.block_hash),
        body=_blob("body", block.body),
        tx_ids=tuple(_text("tx_id", tx_id) for tx_id in tx_ids),
    )


def _normalize_evidence(evidence: object) -> list[tuple[str, bytes]]:
    """Check that ``evidence`` is a sequence of (kind, body) pairs."""
    if not isinstance(evidence, Sequence) or isinstance(evidence, str | bytes):
        raise UsageError("store", f"evidence must be a sequence, found {type(evidence).__name__}")
    items: list[tuple[str, bytes]] = []
    for item in evidence:
        if not isinstance(item, tuple) or len(item) != 2:
            raise UsageError("store", f"evidence items must be (kind, body) pairs, found {item!r}")
        items.append((_text("evidence kind", item[0]), _blob("evidence body", item[1])))
    return items


def _refuse_height(block: StoredBlock, head_height: int | None) -> None:
    """Refuse a block that does not extend its chain's head by one (backstop of IOME-BLK-001)."""
    expected = 0 if head_height is None else head_height + 1
    if block.height != expected:
        raise UsageError(
            "store",
            f"height of the next block of chain {block.chain_id} must be {expected},"
            f" found {block.height}",
        )


def _duplicate_tx(chain_id: str, tx_id: str) -> UsageError:
    """The refusal of a tx id already in the chain (backstop of IOME-REC-002)."""
    return UsageError(
        "store",
        f"tx_id {tx_id} must appear once in chain {chain_id}, found it again",
    )


class MemoryStore(Store):
    """A store in process memory, for tests, simulations and the sans-IO ``Node``.

    Lists are only ever appended to, so ``blocks`` can hand out a bounded view without copying.
    """

    def __init__(self) -> None:
        self._chains: dict[str, list[StoredBlock]] = {}
        # tx_id -> chain_id -> height: one tx id may sit in several chains, once in each.
        self._tx_index: dict[str, dict[str, int]] = {}
        self._evidence: list[tuple[str, bytes]] = []
        self._meta: dict[str, str] = {}
        self._closed = False

    def _require_open(self) -> None:
        if self._closed:
            raise UsageError("store", "the store must be open, found it closed")

    def append(self, block: StoredBlock, evidence: Sequence[tuple[str, bytes]] = ()) -> None:
        self._require_open()
        block = _normalize_block(block)
        items = _normalize_evidence(evidence)
        chain = self._chains.get(block.chain_id, [])
        _refuse_height(block, chain[-1].height if chain else None)
        # Every check happens before the first mutation, which is what makes this atomic.
        seen: set[str] = set()
        for tx_id in block.tx_ids:
            if tx_id in seen or block.chain_id in self._tx_index.get(tx_id, {}):
                raise _duplicate_tx(block.chain_id, tx_id)
            seen.add(tx_id)
        self._chains.setdefault(block.chain_id, chain).append(block)
        for tx_id in block.tx_ids:
            self._tx_index.setdefault(tx_id, {})[block.chain_id] = block.height
        self._evidence.extend(items)

    def blocks(self, chain_id: str) -> Iterator[StoredBlock]:
        self._require_open()
        chain = self._chains.get(_text("chain_id", chain_id), [])
        return islice(chain, len(chain))

    def head(self, chain_id: str) -> StoredBlock | None:
        self._require_open()
        chain = self._chains.get(_text("chain_id", chain_id))
        return chain[-1] if chain else None

    def chain_ids(self) -> list[str]:
        self._require_open()
        return sorted(self._chains)

    def has_tx(self, chain_id: str, tx_id: str) -> bool:
        self._require_open()
        return _text("chain_id", chain_id) in self._tx_index.get(_text("tx_id", tx_id), {})

    def find_tx(self, tx_id: str) -> tuple[str, int] | None:
        self._require_open()
        places = self._tx_index.get(_text("tx_id", tx_id))
        return min(places.items()) if places else None

    def evidence(self) -> list[tuple[str, bytes]]:
        self._require_open()
        return list(self._evidence)

    def record_evidence(self, kind: str, body: bytes) -> None:
        self._require_open()
        self._evidence.extend(_normalize_evidence([(kind, body)]))

    def set_meta(self, key: str, value: str) -> None:
        self._require_open()
        self._meta[_text("key", key)] = _text("value", value)

    def get_meta(self, key: str) -> str | None:
        self._require_open()
        return self._meta.get(_text("key", key))

    def close(self) -> None:
        self._closed = True


def _usage_error(path: str, action: str, exc: sqlite3.Error) -> UsageError:
    """Turn a SQLite failure into one sentence a user can act on, never a raw traceback."""
    name: str = getattr(exc, "sqlite_errorname", "") or type(exc).__name__
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        reason = "the file is locked by another connection; close it and retry"
    elif name == "SQLITE_NOTADB":
        reason = "the file is not a SQLite database"
    elif name.startswith("SQLITE_CORRUPT"):
        reason = "the SQLite database is corrupt"
    elif name.startswith("SQLITE_CANTOPEN"):
        reason = "the file cannot be opened (missing directory, a directory, or no permission)"
    elif name.startswith("SQLITE_READONLY"):
        reason = "the file is read-only"
    elif name == "SQLITE_FULL":
        reason = "the disk is full"
    else:
        reason = f"SQLite reported {name} ({exc})"
    return UsageError("store", f"cannot {action} {path}: {reason}")


def _head_height(conn: sqlite3.Connection, chain_id: str) -> int | None:
    """Height of the head of ``chain_id``, None for a chain with no block."""
    (height,) = conn.execute(
        "SELECT MAX(height) FROM blocks WHERE chain_id = ?", (chain_id,)
    ).fetchone()
    return None if height is None else int(height)


class SqliteStore(Store):
    """A store in one SQLite file: WAL journal, ``synchronous=FULL``, one transaction per append.

    Python 3.11's ``sqlite3`` has no ``autocommit`` parameter, so the connection runs with
    ``isolation_level=None`` and every write is bracketed by explicit ``BEGIN IMMEDIATE`` /
    ``COMMIT`` / ``ROLLBACK``: the head is read and extended inside one write transaction, so two
    stores on one file cannot both append the same height. ``synchronous=FULL`` makes a returned
    ``append`` survive power loss, which the chain's durability claim rests on.
    """

    def __init__(self, path: str | Path, *, timeout_s: float = 5.0) -> None:
        """Open or create the store at ``path``, waiting up to ``timeout_s`` for a lock.

        Raises:
            UsageError: ("store") if the file is not a SQLite database, is another
                application's database, has an unknown schema version, or is locked.
        """
        self._path = str(path)
        self._conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(self._path, timeout=timeout_s, isolation_level=None)
        except sqlite3.Error as exc:
            raise _usage_error(self._path, "open the store", exc) from None
        self._conn = conn
        try:
            self._configure(conn)
        except BaseException:
            self.close()
            raise

    def _configure(self, conn: sqlite3.Connection) -> None:
        """Check the schema, set the journal and sync modes, then create the schema if new.

        The first check only reads, so a file the store refuses (another application's
        database, another schema version) is left byte for byte as it was: switching it to WAL
        would rewrite its header for good and leave -wal and -shm files beside it.
        """
        try:
            self._check_schema(conn)
            (mode,) = conn.execute("PRAGMA journal_mode=WAL").fetchone()
            conn.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            raise _usage_error(self._path, "open the store", exc) from None
        if str(mode).lower() != "wal":
            raise UsageError(
                "store",
                f"cannot open the store {self._path}: journal mode must be wal, found {mode}",
            )
        with self._transaction("open the store") as tx:
            # Checked again inside the write transaction: another store may have created it.
            if not self._check_schema(tx):
                for statement in _SCHEMA:
                    tx.execute(statement)
                tx.execute("INSERT INTO meta VALUES (?, ?)", (_SCHEMA_KEY, SCHEMA_VERSION))

    def _check_schema(self, conn: sqlite3.Connection) -> bool:
        """Whether the file holds this store's schema; False for an empty file. Only reads.

        Raises:
            UsageError: ("store") for any other content: another application's database or
                another schema version.
        """
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if not tables:
            return False
        row = None
        if "meta" in tables:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (_SCHEMA_KEY,)).fetchone()
        if row is None:
            raise UsageError(
                "store",
                f"cannot open the store {self._path}: it is a SQLite database of another "
                "application (no IoME schema_version)",
            )
        if row[0] != SCHEMA_VERSION:
            raise UsageError(
                "store",
                f"cannot open the store {self._path}: schema_version must be "
                f"{SCHEMA_VERSION}, found {row[0]!r}",
            )
        return True

    def _require_open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise UsageError("store", "the store must be open, found it closed")
        return self._conn

    @contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        """Run the body in one write transaction; on any failure roll back and re-raise.

        A ``sqlite3.Error`` becomes ``UsageError``; ``Rejected`` and ``UsageError`` raised by the
        body pass through unchanged. Either way nothing of the body stays in the file.
        """
        conn = self._require_open()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _usage_error(self._path, action, exc) from None
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as failure:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error as exc:
                    # SQLite may already have rolled back (e.g. after SQLITE_FULL); report the
                    # original failure, which is the one the caller can act on.
                    failure.add_note(f"ROLLBACK also failed: {exc}")
            if isinstance(failure, sqlite3.Error):
                raise _usage_error(self._path, action, failure) from None
            raise

    def _read(self, action: str, query: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read-only ``query``, mapping SQLite failures to ``UsageError``."""
        conn = self._require_open()
        try:
            return query(conn)
        except sqlite3.Error as exc:
            raise _usage_error(self._path, action, exc) from None

    def append(self, block: StoredBlock, evidence: Sequence[tuple[str, bytes]] = ()) -> None:
        self._require_open()
        block = _normalize_block(block)
        items = _normalize_evidence(evidence)
        with self._transaction("append to the store") as conn:
            _refuse_height(block, _head_height(conn, block.chain_id))
            conn.execute(
                "INSERT INTO blocks VALUES (?, ?, ?, ?)",
                (block.chain_id, block.height, block.block_hash, block.body),
            )
            # Duplicates are found by the primary key as rows go in, after the block row: the
            # rollback in _transaction is what keeps the block out, and the tests rely on it.
            for position, tx_id in enumerate(block.tx_ids):
                try:
                    conn.execute(
                        "INSERT INTO txs VALUES (?, ?, ?, ?)",
                        (block.chain_id, tx_id, block.height, position),
                    )
                except sqlite3.IntegrityError as exc:
                    if getattr(exc, "sqlite_errorname", "") == "SQLITE_CONSTRAINT_PRIMARYKEY":
                        raise _duplicate_tx(block.chain_id, tx_id) from None
                    raise
            conn.executemany("INSERT INTO evidence (kind, body) VALUES (?, ?)", items)

    def blocks(self, chain_id: str) -> Iterator[StoredBlock]:
        chain_id = _text("chain_id", chain_id)
        top = self._read("read blocks from the store", lambda conn: _head_height(conn, chain_id))
        return self._iter_blocks(chain_id, -1 if top is None else top)

    def _iter_blocks(self, chain_id: str, top: int) -> Iterator[StoredBlock]:
        """Yield heights 0..top a page at a time; the chain is append-only, so pages agree."""
        start = 0
        while start <= top:
            stop = min(top, start + _PAGE_BLOCKS - 1)
            rows, txs = self._read_page(chain_id, start, stop)
            by_height: dict[int, list[str]] = {}
            for height, tx_id in txs:
                by_height.setdefault(height, []).append(tx_id)
            for height, block_hash, body in rows:
                yield StoredBlock(
                    chain_id, height, block_hash, body, tuple(by_height.get(height, ()))
                )
            start = stop + 1

    def _read_page(
        self, chain_id: str, start: int, stop: int
    ) -> tuple[list[tuple[int, str, bytes]], list[tuple[int, str]]]:
        """Block rows and their tx ids (in block order) for heights start..stop."""
        span = (chain_id, start, stop)

        def query(
            conn: sqlite3.Connection,
        ) -> tuple[list[tuple[int, str, bytes]], list[tuple[int, str]]]:
            rows = conn.execute(
                "SELECT height, block_hash, body FROM blocks"
                " WHERE chain_id = ? AND height BETWEEN ? AND ? ORDER BY height",
                span,
            ).fetchall()
            txs = conn.execute(
                "SELECT height, tx_id FROM txs"
                " WHERE chain_id = ? AND height BETWEEN ? AND ? ORDER BY height, position",
                span,
            ).fetchall()
            return rows, txs

        return self._read("read blocks from the store", query)

    def head(self, chain_id: str) -> StoredBlock | None:
        chain_id = _text("chain_id", chain_id)

        def query(conn: sqlite3.Connection) -> StoredBlock | None:
            row = conn.execute(
                "SELECT height, block_hash, body FROM blocks WHERE chain_id = ?"
                " ORDER BY height DESC LIMIT 1",
                (chain_id,),
            ).fetchone()
            if row is None:
                return None
            height, block_hash, body = row
            tx_ids = conn.execute(
                "SELECT tx_id FROM txs WHERE chain_id = ? AND height = ? ORDER BY position",
                (chain_id, height),
            ).fetchall()
            return StoredBlock(chain_id, height, block_hash, body, tuple(t for (t,) in tx_ids))

        return self._read("read the head from the store", query)

    def chain_ids(self) -> list[str]:
        rows = self._read(
            "read chain ids from the store",
            lambda conn: conn.execute("SELECT DISTINCT chain_id FROM blocks").fetchall(),
        )
        # A file edited by another program may hold a chain id that is not text; sorting it
        # among str ids would raise TypeError, a traceback instead of a refusal.
        for (chain_id,) in rows:
            if not isinstance(chain_id, str):
                raise UsageError(
                    "store",
                    f"cannot read chain ids from the store {self._path}: a chain id must be"
                    f" text, found {chain_id!r}",
                )
        return sorted(chain_id for (chain_id,) in rows)

    def has_tx(self, chain_id: str, tx_id: str) -> bool:
        key = (_text("chain_id", chain_id), _text("tx_id", tx_id))
        row = self._read(
            "read a transaction from the store",
            lambda conn: conn.execute(
                "SELECT 1 FROM txs WHERE chain_id = ? AND tx_id = ?", key
            ).fetchone(),
        )
        return row is not None

    def find_tx(self, tx_id: str) -> tuple[str, int] | None:
        key = (_text("tx_id", tx_id),)
        rows = self._read(
            "read a transaction from the store",
            lambda conn: conn.execute(
                "SELECT chain_id, height FROM txs WHERE tx_id = ?", key
            ).fetchall(),
        )
        # Sorting in Python rather than with ORDER BY keeps the order identical to MemoryStore
        # whatever collation SQLite would use.
        return min((str(c), int(h)) for c, h in rows) if rows else None

    def evidence(self) -> list[tuple[str, bytes]]:
        rows = self._read(
            "read evidence from the store",
            lambda conn: conn.execute("SELECT kind, body FROM evidence ORDER BY seq").fetchall(),
        )
        return [(kind, body) for kind, body in rows]

    def record_evidence(self, kind: str, body: bytes) -> None:
        self._require_open()
        items = _normalize_evidence([(kind, body)])
        with self._transaction("record evidence in the store") as conn:
            conn.executemany("INSERT INTO evidence (kind, body) VALUES (?, ?)", items)

    def set_meta(self, key: str, value: str) -> None:
        row = (_PARAM_PREFIX + _text("key", key), _text("value", value))
        with self._transaction("write a parameter to the store") as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", row)

    def get_meta(self, key: str) -> str | None:
        name = (_PARAM_PREFIX + _text("key", key),)
        row = self._read(
            "read a parameter from the store",
            lambda conn: conn.execute("SELECT value FROM meta WHERE key = ?", name).fetchone(),
        )
        return None if row is None else str(row[0])

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
