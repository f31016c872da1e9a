"""Tests of iome_ref/chain/store.py: both stores keep bytes exactly, atomically and durably.

Every behavioural test runs on ``MemoryStore`` and ``SqliteStore`` through the ``backend``
fixture; SQLite-only tests cover reopening, file refusal and rollback of a failed append.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iome_ref.chain.store import SCHEMA_VERSION, MemoryStore, SqliteStore, Store, StoredBlock
from iome_ref.errors import IoMEError, UsageError


def make_block(
    chain_id: str, height: int, tx_ids: Sequence[str] = (), body: bytes | None = None
) -> StoredBlock:
    """A stored block whose body and hash are stand-ins: the store never looks inside."""
    if body is None:
        body = f'{{"chain_id":"{chain_id}","height":{height},"txs":{list(tx_ids)}}}'.encode()
    return StoredBlock(chain_id, height, hashlib.sha256(body).hexdigest(), body, tuple(tx_ids))


def tx(n: int) -> str:
    """A tx id shaped like the real ones (64 lowercase hex)."""
    return hashlib.sha256(b"tx%d" % n).hexdigest()


class Backend:
    """Opens the store under test; for SQLite, ``reopen`` closes and reopens the same file."""

    def __init__(self, kind: str, path: Path) -> None:
        self.kind = kind
        self.path = path
        self._opened: list[Store] = []

    def open(self) -> Store:
        store: Store = MemoryStore() if self.kind == "memory" else SqliteStore(self.path)
        self._opened.append(store)
        return store

    def reopen(self, store: Store) -> Store:
        """The store as a fresh process would see it (memory has no later process: same one)."""
        if self.kind == "memory":
            return store
        store.close()
        return self.open()

    def close_all(self) -> None:
        for store in self._opened:
            store.close()


@pytest.fixture(params=["memory", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    opened = Backend(request.param, tmp_path / "chain.sqlite")
    yield opened
    opened.close_all()


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.open()


def observe(store: Store, tx_ids: Sequence[str] = (), keys: Sequence[str] = ()) -> Any:
    """Everything a caller can see of ``store``, as plain comparable values."""
    chains = store.chain_ids()
    return (
        chains,
        {c: list(store.blocks(c)) for c in chains},
        {c: store.head(c) for c in chains},
        {(c, t): store.has_tx(c, t) for c in chains for t in tx_ids},
        {t: store.find_tx(t) for t in tx_ids},
        store.evidence(),
        {k: store.get_meta(k) for k in keys},
    )


# --- appending and reading back ---


def test_accepts_empty_store(store: Store) -> None:
    assert store.chain_ids() == []
    assert store.head("main") is None
    assert list(store.blocks("main")) == []
    assert store.find_tx(tx(1)) is None
    assert not store.has_tx("main", tx(1))
    assert store.evidence() == []
    assert store.get_meta("kind") is None


def test_accepts_appended_blocks_read_back_exactly(store: Store) -> None:
    # Bytes the store must not touch: NUL, invalid UTF-8, and an empty body.
    bodies = [b'{"a":1}', b"\x00\xff\xfe raw \x00", b""]
    blocks = [
        make_block("main", h, [tx(10 * h + i) for i in range(h + 1)], body)
        for h, body in enumerate(bodies)
    ]
    for block in blocks:
        store.append(block)
    assert list(store.blocks("main")) == blocks
    assert store.head("main") == blocks[-1]
    assert [type(b.body) for b in store.blocks("main")] == [bytes] * 3
    assert store.chain_ids() == ["main"]
    assert store.find_tx(tx(21)) == ("main", 2)
    assert store.has_tx("main", tx(0))
    assert not store.has_tx("main", tx(1))


def test_accepts_tx_order_within_block_kept(store: Store) -> None:
    ids = [tx(5), tx(1), tx(9), tx(3)]
    store.append(make_block("main", 0, ids))
    head = store.head("main")
    assert head is not None
    assert head.tx_ids == tuple(ids)


def test_accepts_blocks_iterator_as_of_call(store: Store) -> None:
    store.append(make_block("main", 0))
    blocks = store.blocks("main")
    store.append(make_block("main", 1))
    assert [b.height for b in blocks] == [0]


def test_accepts_blocks_iterator_of_empty_chain_as_of_call(store: Store) -> None:
    blocks = store.blocks("main")
    store.append(make_block("main", 0))
    store.append(make_block("main", 1))
    assert list(blocks) == []


def test_accepts_long_chain_across_pages(store: Store) -> None:
    blocks = [make_block("main", h, [tx(h)]) for h in range(600)]
    for block in blocks:
        store.append(block)
    assert list(store.blocks("main")) == blocks


def test_accepts_two_chains_independent(backend: Backend, store: Store) -> None:
    store.append(make_block("zone-b", 0, [tx(1)]))
    store.append(make_block("zone-a", 0, [tx(2)]))
    store.append(make_block("zone-b", 1, [tx(3)]))
    # The same tx in another chain is that chain's business: only a repeat within one chain
    # is refused (IOME-REC-002).
    store.append(make_block("zone-a", 1, [tx(1)]))
    store = backend.reopen(store)
    assert store.chain_ids() == ["zone-a", "zone-b"]
    assert [b.height for b in store.blocks("zone-a")] == [0, 1]
    assert store.has_tx("zone-a", tx(1))
    assert store.has_tx("zone-b", tx(1))
    assert not store.has_tx("zone-a", tx(3))
    assert store.find_tx(tx(1)) == ("zone-a", 1)
    assert store.find_tx(tx(3)) == ("zone-b", 1)


def test_accepts_evidence_in_insertion_order(backend: Backend, store: Store) -> None:
    store.append(make_block("main", 0), evidence=[("eps-fork", b"\x01"), ("block-fork", b"{}")])
    store.append(make_block("main", 1), evidence=[("anchor-fork", b"")])
    store = backend.reopen(store)
    assert store.evidence() == [
        ("eps-fork", b"\x01"),
        ("block-fork", b"{}"),
        ("anchor-fork", b""),
    ]


def test_accepts_meta_set_and_replaced(backend: Backend, store: Store) -> None:
    store.set_meta("kind", "child")
    store.set_meta("kind", "consortium")
    # The store's own schema_version key lives apart from callers' parameters.
    store.set_meta("schema_version", "caller value")
    store = backend.reopen(store)
    assert store.get_meta("kind") == "consortium"
    assert store.get_meta("schema_version") == "caller value"
    assert store.get_meta("absent") is None


def test_accepts_context_manager_closes(backend: Backend) -> None:
    with backend.open() as store:
        store.append(make_block("main", 0))
    with pytest.raises(UsageError) as info:
        store.head("main")
    assert info.value.component == "store"


# --- storage-level backstops: refused, nothing stored ---


@pytest.mark.parametrize("height", [1, 2, 0])
def test_rejects_height_not_head_plus_one(store: Store, height: int) -> None:
    if height == 0:
        store.append(make_block("main", 0))
        store.append(make_block("main", 1))
    before = observe(store, [tx(7)])
    with pytest.raises(UsageError) as info:
        store.append(make_block("main", height, [tx(7)]), evidence=[("k", b"v")])
    assert info.value.component == "store"
    assert observe(store, [tx(7)]) == before


def test_rejects_tx_already_in_chain(backend: Backend, store: Store) -> None:
    store.append(make_block("main", 0, [tx(1)]))
    with pytest.raises(UsageError) as info:
        store.append(make_block("main", 1, [tx(2), tx(1)]))
    assert info.value.component == "store"
    store = backend.reopen(store)
    head = store.head("main")
    assert head is not None
    assert head.height == 0
    assert not store.has_tx("main", tx(2))


def test_rejects_tx_twice_in_block_atomically(backend: Backend, store: Store) -> None:
    """The SQLite block row is written before the repeated tx id fails: rollback must undo it."""
    genesis = make_block("main", 0, [tx(1)])
    store.append(genesis)
    with pytest.raises(UsageError) as info:
        store.append(make_block("main", 1, [tx(2), tx(3), tx(2)]), evidence=[("block-fork", b"x")])
    assert info.value.component == "store"
    for _ in range(2):
        assert store.head("main") == genesis
        assert list(store.blocks("main")) == [genesis]
        assert not store.has_tx("main", tx(2))
        assert store.find_tx(tx(3)) is None
        assert store.evidence() == []
        store = backend.reopen(store)
    # The refused height is still free.
    store.append(make_block("main", 1, [tx(2)]))
    assert store.find_tx(tx(2)) == ("main", 1)


def test_rejects_failure_mid_append_rolls_back(tmp_path: Path) -> None:
    """A SQLite failure after the block and tx rows went in leaves the file as before."""
    path = tmp_path / "chain.sqlite"
    genesis = make_block("main", 0, [tx(1)])
    with SqliteStore(path) as store:
        store.append(genesis)
        # Inject a failure on the last write of an append, the evidence row.
        raw = sqlite3.connect(path)
        raw.execute(
            "CREATE TRIGGER fail BEFORE INSERT ON evidence BEGIN SELECT RAISE(ABORT, 'x'); END"
        )
        raw.commit()
        raw.close()
        with pytest.raises(UsageError) as info:
            store.append(make_block("main", 1, [tx(2)]), evidence=[("k", b"v")])
        assert info.value.component == "store"
        assert store.head("main") == genesis
        assert not store.has_tx("main", tx(2))
    with SqliteStore(path) as store:
        assert list(store.blocks("main")) == [genesis]
        assert store.find_tx(tx(2)) is None
        assert store.evidence() == []


# --- wrong use: UsageError("store"), identical on both stores ---


@pytest.mark.parametrize(
    ("block", "evidence"),
    # _make skips the constructor's static types: these values are wrong on purpose.
    [
        (("main", 0, "h", b"", ()), ()),
        (StoredBlock._make(("main", True, "h", b"", ())), ()),
        (StoredBlock._make(("main", -1, "h", b"", ())), ()),
        (StoredBlock._make(("main", 0, "h", "text", ())), ()),
        (StoredBlock._make(("main", 0, "h", b"", [tx(1)])), ()),
        (StoredBlock._make(("main", 0, "h", b"", (1,))), ()),
        (StoredBlock._make(("\ud800", 0, "h", b"", ())), ()),
        (StoredBlock._make((7, 0, "h", b"", ())), ()),
        (StoredBlock._make(("main", 0, "h", b"", ())), [("kind", "not bytes")]),
        (StoredBlock._make(("main", 0, "h", b"", ())), [("kind",)]),
        (StoredBlock._make(("main", 0, "h", b"", ())), b"kb"),
    ],
)
def test_rejects_wrong_argument_types(store: Store, block: Any, evidence: Any) -> None:
    with pytest.raises(UsageError) as info:
        store.append(block, evidence)
    assert info.value.component == "store"
    assert store.chain_ids() == []
    assert store.evidence() == []


def test_rejects_use_after_close(store: Store) -> None:
    store.close()
    store.close()
    for call in (
        lambda: store.head("main"),
        lambda: store.append(make_block("main", 0)),
        store.chain_ids,
        store.evidence,
        lambda: store.set_meta("k", "v"),
    ):
        with pytest.raises(UsageError) as info:
            call()
        assert info.value.component == "store"


# --- SQLite files ---


def test_accepts_reopened_sqlite_with_identical_state(tmp_path: Path) -> None:
    path = tmp_path / "chain.sqlite"
    ids = [tx(n) for n in range(6)]
    with SqliteStore(path) as store:
        store.append(make_block("main", 0, ids[:2]), evidence=[("k", b"\x00")])
        store.append(make_block("main", 1, ids[2:5], body=b"\xff" * 40))
        store.append(make_block("child-1", 0, ids[:1]))
        store.set_meta("kind", "consortium")
        before = observe(store, ids, ["kind"])
    with SqliteStore(path) as store:
        assert observe(store, ids, ["kind"]) == before
        store.append(make_block("main", 2, ids[5:]))
        head = store.head("main")
        assert head is not None
        assert head.height == 2


@pytest.mark.parametrize(
    "content", [b"not a database", b"SQLite format 3\x00" + b"\x07" * 200, b"x" * 4096]
)
def test_rejects_non_sqlite_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(UsageError) as info:
        SqliteStore(path)
    assert info.value.component == "store"
    assert str(path) in info.value.message
    assert path.read_bytes() == content


def test_rejects_directory_as_store(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        SqliteStore(tmp_path)
    assert info.value.component == "store"


def test_rejects_other_applications_database(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE notes (body TEXT)")
    raw.commit()
    raw.close()
    with pytest.raises(UsageError) as info:
        SqliteStore(path)
    assert "schema_version" in info.value.message


def test_rejects_unknown_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "chain.sqlite"
    SqliteStore(path).close()
    raw = sqlite3.connect(path)
    raw.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    raw.commit()
    raw.close()
    with pytest.raises(UsageError) as info:
        SqliteStore(path)
    assert info.value.component == "store"
    assert f"must be {SCHEMA_VERSION}, found '999'" in info.value.message


def test_rejects_locked_file(tmp_path: Path) -> None:
    path = tmp_path / "chain.sqlite"
    with SqliteStore(path) as store:
        store.append(make_block("main", 0))
        raw = sqlite3.connect(path, isolation_level=None)
        raw.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(UsageError) as info:
                SqliteStore(path, timeout_s=0.05)
            assert "locked" in info.value.message
        finally:
            raw.execute("ROLLBACK")
            raw.close()
        head = store.head("main")
        assert head is not None
        assert head.height == 0


def test_rejects_append_while_locked(tmp_path: Path) -> None:
    path = tmp_path / "chain.sqlite"
    with SqliteStore(path, timeout_s=0.05) as store:
        store.append(make_block("main", 0))
        raw = sqlite3.connect(path, isolation_level=None)
        raw.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(UsageError) as info:
                store.append(make_block("main", 1))
            assert "locked" in info.value.message
        finally:
            raw.execute("ROLLBACK")
            raw.close()
        store.append(make_block("main", 1))
        assert [b.height for b in store.blocks("main")] == [0, 1]


# --- both stores agree on every sequence of operations ---

CHAINS = ["main", "child-1", "zone-b"]
TX_POOL = [tx(n) for n in range(6)]
META_KEYS = ["kind", "schema_version"]
texts = st.text(max_size=4)

appends = st.tuples(
    st.just("append"),
    # A lone surrogate cannot be stored as UTF-8: both stores must refuse it alike.
    st.sampled_from([*CHAINS, *CHAINS, "\ud800"]),
    # Offset from the correct height: mostly right, sometimes a gap or a repeat.
    st.sampled_from([0, 0, 0, 0, 1, -1]),
    st.lists(st.sampled_from(TX_POOL), max_size=3),
    st.binary(max_size=12),
    texts,
    st.lists(st.tuples(texts, st.binary(max_size=4)), max_size=2),
)
metas = st.tuples(st.just("meta"), st.sampled_from(META_KEYS), texts)


def run(store: Store, op: tuple[Any, ...]) -> tuple[str, str, str] | None:
    """Apply one operation; return the refusal (class, id, message) or None."""
    try:
        if op[0] == "append":
            _, chain_id, offset, tx_ids, body, block_hash, evidence = op
            head = store.head(chain_id)
            height = (0 if head is None else head.height + 1) + offset
            block = StoredBlock(chain_id, max(height, 0), block_hash, body, tuple(tx_ids))
            store.append(block, evidence)
        else:
            store.set_meta(op[1], op[2])
    except IoMEError as exc:
        return type(exc).__name__, exc.req_id, exc.message
    return None


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(st.one_of(appends, metas), max_size=15))
def test_accepts_memory_and_sqlite_identical(ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chain.sqlite"
        memory = MemoryStore()
        with SqliteStore(path) as sqlite:
            for op in ops:
                assert run(memory, op) == run(sqlite, op)
                assert observe(memory, TX_POOL, META_KEYS) == observe(sqlite, TX_POOL, META_KEYS)
        with SqliteStore(path) as reopened:
            assert observe(memory, TX_POOL, META_KEYS) == observe(reopened, TX_POOL, META_KEYS)
