"""The Ledger: blocks apply atomically, persist, survive a reopen exactly, and keep evidence.

A store is trusted for durability, never for validity (IOME-BLK-012): reopening re-verifies
every stored block, so a hand-edited SQLite file is refused with the id of the rule the edit
breaks. Blocks are built from the ledger's own head (not a builder's cursor), so a refused
block never shifts the heights of the blocks a test submits after it.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from iome_ref.chain.anchoring import verify_anchors
from iome_ref.chain.ledger import Ledger
from iome_ref.chain.state import ChainState
from iome_ref.chain.store import MemoryStore, SqliteStore, Store, StoredBlock
from iome_ref.constants import ANCHOR_PERIOD_S, HANDOVER_MISSED_PERIODS, ZERO_HASH
from iome_ref.encoding import compute_hash
from iome_ref.errors import IoMEError, Malformed, Rejected, UsageError
from iome_ref.models import (
    EPS,
    Anchor,
    Block,
    SignedModel,
    parse_message,
)
from iome_ref.rules import check_stateless
from iome_ref.rules.encoding import check_block_signature
from iome_ref.rules.ledger import check_block_hash
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import CHAINS, T0, World, build_world

_SILENCE = HANDOVER_MISSED_PERIODS * ANCHOR_PERIOD_S


# --- helpers -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(11)


@pytest.fixture
def b(world: World) -> Builder:
    return Builder(world)


def open_ledger(world: World, store: Store) -> Ledger:
    ledger = Ledger(store, world.context())
    for chain_id, kind in CHAINS.items():
        ledger.add_chain(chain_id, kind)
    return ledger


def next_block(
    ledger: Ledger,
    b: Builder,
    chain_id: str,
    txs: Sequence[SignedModel],
    time: int,
    *,
    producer: str = "producer",
) -> Block:
    """The block extending ``chain_id``'s current head in ``ledger``."""
    head = ledger.chains[chain_id].head
    return Block.create(
        b.key(producer),
        chain_id=chain_id,
        height=0 if head is None else head.height + 1,
        prev_hash=ZERO_HASH if head is None else head.block_hash,
        time=time,
        txs=list(txs),
    )


def submit(
    ledger: Ledger, b: Builder, chain_id: str, txs: Sequence[SignedModel], time: int
) -> Block:
    block = next_block(ledger, b, chain_id, txs, time)
    ledger.submit(block)
    return block


def snapshot(state: ChainState) -> bytes:
    """Every field of a chain's state except evidence (which outlives refused blocks)."""
    return state.snapshot(with_evidence=False)


def store_view(store: Store, tx_ids: Sequence[str] = ()) -> Any:
    """What the store shows: every chain's blocks, the given tx ids' places, the evidence."""
    return (
        {chain: list(store.blocks(chain)) for chain in store.chain_ids()},
        {tx_id: store.find_tx(tx_id) for tx_id in tx_ids},
        store.evidence(),
    )


def refused(action: Callable[[], object]) -> IoMEError:
    """Run ``action`` expecting an IoMEError (any other exception type fails the test)."""
    with pytest.raises(IoMEError) as exc:
        action()
    return exc.value


def fleet_blocks(ledger: Ledger, b: Builder, count: int, start: int = 0) -> list[Block]:
    """Child-chain blocks of the fleet, one data commitment each, 100 s apart."""
    return [
        submit(
            ledger,
            b,
            "fleet",
            [b.commitment(data=f"fleet {h}".encode(), t=T0 + 100 * h)],
            T0 + 100 * h + 50,
        )
        for h in range(start, start + count)
    ]


Populated = dict[str, Any]


def populate(ledger: Ledger, b: Builder) -> Populated:
    """Blocks on all three chains: registration, EPS chain, anchors, presences and a claim,
    a trip, a charging session, an O-D matrix. Returns the objects later checks need."""
    reg = b.registration()
    esdp = b.esdp()
    eps1 = b.eps(reg.tx_id, t=T0 + 5500)
    fleet = fleet_blocks(ledger, b, 4)
    submit(ledger, b, "public", [reg, esdp], T0 + 5000)
    anchor1 = b.anchor(1, fleet[1].block_hash, None, T0 + 5500)
    submit(ledger, b, "public", [eps1, anchor1], T0 + 6000)
    src = b.presence("source", "st-a", "ev-1/otk-1", T0 + 7200)
    dst = b.presence("destination", "st-b", "ev-1/otk-2", T0 + 9000)
    claim = b.claim(src, dst)
    submit(ledger, b, "verifiers", [src], T0 + 7300)
    # The claim names a presence applied earlier in the same block.
    submit(ledger, b, "verifiers", [dst, claim], T0 + 9100)
    trip = b.trip(start=T0 + 7200, end=T0 + 9000)
    charge = b.charge(vehicle_key="ev-1/otk-3")
    eps2 = b.eps(eps1.tx_id, t=T0 + 9500, price_micro_per_kwh=-40_000)
    anchor2 = b.anchor(3, fleet[3].block_hash, anchor1.tx_id, T0 + 9500)
    submit(ledger, b, "public", [trip, charge, eps2, anchor2], T0 + 9600)
    odm = b.od_matrix([trip], period=(T0, T0 + 20_000))
    submit(ledger, b, "public", [odm, b.external()], T0 + 20_000)
    return {
        "reg": reg,
        "esdp": esdp,
        "eps1": eps1,
        "eps2": eps2,
        "anchor1": anchor1,
        "anchor2": anchor2,
        "src": src,
        "dst": dst,
        "claim": claim,
        "charge": charge,
        "fleet": fleet,
    }


StoreFactory = Callable[[], Store]


@pytest.fixture(params=["memory", "sqlite"])
def reopenable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """A factory giving the same store again, as a restarted node would open it."""
    if request.param == "memory":
        memory = MemoryStore()
        yield lambda: memory
    else:
        opened: list[SqliteStore] = []

        def reopen() -> SqliteStore:
            for store in opened:
                store.close()
            opened.append(SqliteStore(tmp_path / "node.sqlite"))
            return opened[-1]

        yield reopen
        for store in opened:
            store.close()


# --- reopen ----------------------------------------------------------------------------------


@pytest.mark.req("IOME-BLK-012")
def test_accepts_reopened_ledger_with_identical_state(
    world: World, b: Builder, reopenable: StoreFactory
) -> None:
    ledger = open_ledger(world, reopenable())
    made = populate(ledger, b)
    before = {chain_id: snapshot(state) for chain_id, state in ledger.chains.items()}
    all_tx_ids = [tx_id for state in ledger.chains.values() for tx_id in state.tx_ids]
    stored = store_view(ledger.store, all_tx_ids)

    reopened = open_ledger(world, reopenable())

    assert {chain_id: snapshot(state) for chain_id, state in reopened.chains.items()} == before
    assert store_view(reopened.store, all_tx_ids) == stored
    public = reopened.chains["public"]
    assert [ref.height for ref in public.blocks] == [0, 1, 2, 3]
    assert public.issuer_tips == {made["reg"].issuer_pk: made["eps2"].tx_id}
    assert public.anchor_tips["fleet"].tx_id == made["anchor2"].tx_id
    assert reopened.chains["verifiers"].claimed_presences == {made["src"].tx_id, made["dst"].tx_id}
    assert all(
        reopened.store.has_tx(chain, tx)
        for chain, state in reopened.chains.items()
        for tx in state.tx_ids
    )
    # The blocks read back are the blocks submitted.
    assert [blk.block_hash for blk in reopened.blocks("fleet")] == [
        blk.block_hash for blk in made["fleet"]
    ]


@pytest.mark.req("IOME-EPS-004")
def test_accepts_next_eps_extending_restored_tip(
    world: World, b: Builder, reopenable: StoreFactory
) -> None:
    made = populate(open_ledger(world, reopenable()), b)
    reopened = open_ledger(world, reopenable())
    eps3 = b.eps(made["eps2"].tx_id, t=T0 + 21_000)
    submit(reopened, b, "public", [eps3], T0 + 21_000)
    assert reopened.chains["public"].issuer_tips[eps3.issuer_pk] == eps3.tx_id


def _after_reopen_cases(b: Builder, made: Populated) -> list[tuple[str, str, SignedModel]]:
    """(chain, expected id, tx) refused after a reopen because of restored state."""
    fleet = made["fleet"]
    return [
        ("public", "IOME-EPS-005", b.eps(made["eps1"].tx_id, t=T0 + 21_000, region="south")),
        ("public", "IOME-EPS-004", b.eps(compute_hash(b"unknown"), t=T0 + 21_000)),
        ("public", "IOME-EPS-009", b.registration(t=T0 + 21_000)),
        ("public", "IOME-REC-002", made["esdp"]),
        ("public", "IOME-CHG-003", b.charge(vehicle_key="ev-1/otk-3", end=T0 + 9060)),
        (
            "public",
            "IOME-ANC-001",
            b.anchor(
                3,
                fleet[3].block_hash,
                made["anchor2"].tx_id,
                T0 + 21_000,
                manager="fleet-manager-2",
            ),
        ),
        (
            "public",
            "IOME-ANC-004",
            b.anchor(3, fleet[3].block_hash, made["anchor2"].tx_id, T0 + 21_000),
        ),
        ("verifiers", "IOME-PRES-001", b.presence("source", "st-c", "ev-1/otk-1", T0 + 21_000)),
        ("verifiers", "IOME-CLAIM-005", b.claim(made["src"], made["dst"], t=T0 + 21_000)),
    ]


@pytest.mark.req(
    "IOME-EPS-005",
    "IOME-EPS-004",
    "IOME-EPS-009",
    "IOME-REC-002",
    "IOME-CHG-003",
    "IOME-ANC-001",
    "IOME-ANC-004",
    "IOME-PRES-001",
    "IOME-CLAIM-005",
)
def test_rejects_after_reopen_what_restored_state_forbids(
    world: World, b: Builder, reopenable: StoreFactory
) -> None:
    made = populate(open_ledger(world, reopenable()), b)
    reopened = open_ledger(world, reopenable())
    for chain, req_id, tx in _after_reopen_cases(b, made):
        before = snapshot(reopened.chains[chain])
        exc = refused(
            lambda chain=chain, tx=tx: reopened.submit(
                next_block(reopened, b, chain, [tx], T0 + 21_000)
            )
        )
        assert (type(exc), exc.req_id) == (Rejected, req_id), tx.tx_type
        assert snapshot(reopened.chains[chain]) == before


@pytest.mark.req("IOME-BLK-001")
def test_rejects_head_resubmitted_after_reopen(
    world: World, b: Builder, reopenable: StoreFactory
) -> None:
    ledger = open_ledger(world, reopenable())
    populate(ledger, b)
    head = list(ledger.blocks("public"))[-1]
    reopened = open_ledger(world, reopenable())
    assert refused(lambda: reopened.submit(head)).req_id == "IOME-BLK-001"


# --- tampering with the SQLite file -------------------------------------------------------


def _small_chain(world: World, b: Builder, path: Path) -> dict[str, Any]:
    """public#0 = [registration, ESDP], public#1 = [EPS]; the store is closed afterwards."""
    with SqliteStore(path) as store:
        ledger = open_ledger(world, store)
        reg, esdp = b.registration(), b.esdp()
        submit(ledger, b, "public", [reg, esdp], T0 + 5000)
        submit(ledger, b, "public", [b.eps(reg.tx_id, t=T0 + 5500)], T0 + 6000)
    return {"reg": reg, "esdp": esdp}


def _read_body(path: Path, height: int) -> bytes:
    with sqlite3.connect(path) as conn:
        (body,) = conn.execute(
            "SELECT body FROM blocks WHERE chain_id = 'public' AND height = ?", (height,)
        ).fetchone()
    conn.close()
    return bytes(body)


def _write_row(path: Path, height: int, body: bytes, block_hash: str | None = None) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE blocks SET body = ? WHERE chain_id = 'public' AND height = ?", (body, height)
        )
        if block_hash is not None:
            conn.execute(
                "UPDATE blocks SET block_hash = ? WHERE chain_id = 'public' AND height = ?",
                (block_hash, height),
            )
    conn.close()


def _forge(b: Builder, body: bytes, depth: int) -> tuple[bytes, str | None]:
    """Edit the ESDP of a stored block, then redo ``depth`` of the hashes and signatures an
    attacker would have to redo to hide the edit. Returns the body and the recorded hash."""
    block = json.loads(body)
    tx = block["txs"][1]
    tx["demand_wh"] += 1
    if depth >= 1:  # the tx id
        tx["tx_id"] = compute_hash(
            parse_message(tx).model_copy(update={"tx_id": "0" * 64}).canonical_bytes()
        )
    if depth >= 6:  # the issuer's signature (the attacker holds the home's key)
        tx["signature"] = b.key("home-1").sign("ESDP", tx["tx_id"])
    if depth >= 2:  # the Merkle root
        block["merkle_root"] = Block.parse(block).compute_merkle_root()
    if depth >= 3:  # the block hash in the body
        block["block_hash"] = Block.parse(block).compute_block_hash()
    if depth >= 5:  # the producer's signature (the attacker holds the producer key)
        block["signature"] = b.key("producer").sign("Block", block["block_hash"])
    recorded = block["block_hash"] if depth >= 4 else None  # the hash column too
    return json.dumps(block).encode(), recorded


@pytest.mark.parametrize(
    ("depth", "req_id"),
    [
        (0, "IOME-ENC-011"),  # the tx id no longer hashes the tx
        (1, "IOME-BLK-003"),  # the Merkle root no longer covers the tx ids
        (2, "IOME-BLK-012"),  # the header no longer hashes to the recorded hash
        (3, "IOME-BLK-012"),  # the body's hash is new, the recorded one is not
        (4, "IOME-SIG-001"),  # the producer never signed the new hash
        (5, "IOME-SIG-001"),  # the ESDP's issuer never signed the new tx id
        (6, "IOME-BLK-002"),  # everything re-signed: the next block links to the old hash
    ],
    ids=[
        "edit-field",
        "redo-tx-id",
        "redo-merkle-root",
        "redo-block-hash",
        "redo-recorded-hash",
        "re-sign-block",
        "re-sign-everything",
    ],
)
@pytest.mark.req("IOME-BLK-012", "IOME-ENC-011", "IOME-BLK-003", "IOME-SIG-001", "IOME-BLK-002")
def test_rejects_tampered_transaction_on_reopen(
    world: World, b: Builder, tmp_path: Path, depth: int, req_id: str
) -> None:
    path = tmp_path / "node.sqlite"
    _small_chain(world, b, path)
    body = _read_body(path, 0)
    forged, recorded = _forge(b, body, depth)
    _write_row(path, 0, forged, recorded)
    if depth >= 6:  # an attacker who redoes everything also rewrites the store's tx index
        old_id, new_id = (json.loads(raw)["txs"][1]["tx_id"] for raw in (body, forged))
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE txs SET tx_id = ? WHERE tx_id = ?", (new_id, old_id))
        conn.close()
    with SqliteStore(path) as store:
        exc = refused(lambda: Ledger(store, world.context()))
    # Reopening reports that the store changed (BLK-012), chained to the rule that showed it.
    assert (type(exc), exc.req_id) == (Rejected, "IOME-BLK-012")
    if req_id != "IOME-BLK-012":
        assert isinstance(exc.__cause__, Rejected)
        assert exc.__cause__.req_id == req_id


def _header_time_plus_one(body: bytes) -> bytes:
    block = json.loads(body)
    block["time"] += 1
    return json.dumps(block).encode()


def _drop_field(body: bytes) -> bytes:
    block = json.loads(body)
    del block["merkle_root"]
    return json.dumps(block).encode()


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(_header_time_plus_one, id="header-edited"),
        pytest.param(lambda _: b"\xff\xfe not json", id="not-utf8"),
        pytest.param(lambda _: b"garbage {", id="not-json"),
        pytest.param(lambda _: b"[]", id="json-array"),
        pytest.param(lambda _: b'{"a":1,"a":2}', id="duplicate-names"),
        pytest.param(_drop_field, id="field-missing"),
        pytest.param(lambda body: body + b" " * (1 << 20), id="over-size-limit"),
    ],
)
@pytest.mark.req("IOME-BLK-012")
def test_rejects_unreadable_or_rehashed_stored_block(
    world: World, b: Builder, tmp_path: Path, edit: Callable[[bytes], bytes]
) -> None:
    path = tmp_path / "node.sqlite"
    _small_chain(world, b, path)
    body = _read_body(path, 0)
    _write_row(path, 0, edit(body))
    with SqliteStore(path) as store:
        exc = refused(lambda: Ledger(store, world.context()))
    assert (type(exc), exc.req_id) == (Rejected, "IOME-BLK-012")
    if exc.__cause__ is not None:  # a decoding failure is chained, and is itself an IoMEError
        assert isinstance(exc.__cause__, Malformed)


@pytest.mark.req("IOME-BLK-012")
def test_rejects_stored_bodies_swapped_between_heights(
    world: World, b: Builder, tmp_path: Path
) -> None:
    path = tmp_path / "node.sqlite"
    _small_chain(world, b, path)
    body0 = _read_body(path, 0)
    body1 = _read_body(path, 1)
    _write_row(path, 0, body1)
    _write_row(path, 1, body0)
    with SqliteStore(path) as store:
        exc = refused(lambda: Ledger(store, world.context()))
    assert (type(exc), exc.req_id) == (Rejected, "IOME-BLK-012")


@pytest.mark.req("IOME-BLK-007")
def test_rejects_store_missing_its_genesis_row(world: World, b: Builder, tmp_path: Path) -> None:
    path = tmp_path / "node.sqlite"
    _small_chain(world, b, path)
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM blocks WHERE chain_id = 'public' AND height = 0")
    conn.close()
    with SqliteStore(path) as store:
        exc = refused(lambda: Ledger(store, world.context()))
    assert (type(exc), exc.req_id) == (Rejected, "IOME-BLK-012")
    assert isinstance(exc.__cause__, Rejected)
    assert exc.__cause__.req_id == "IOME-BLK-007"


def _set_kind(path: Path, kind: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'param:chain:public:kind'", (kind,))
        assert conn.total_changes == 1
    conn.close()


@pytest.mark.req("IOME-BLK-010")
def test_rejects_stored_chain_kind_edited(world: World, b: Builder, tmp_path: Path) -> None:
    path = tmp_path / "node.sqlite"
    _small_chain(world, b, path)
    _set_kind(path, "consortium")
    with SqliteStore(path) as store:
        exc = refused(lambda: Ledger(store, world.context()))
    assert (type(exc), exc.req_id) == (Rejected, "IOME-BLK-012")
    assert isinstance(exc.__cause__, Rejected)
    assert exc.__cause__.req_id == "IOME-BLK-010"
    _set_kind(path, "bogus")
    with SqliteStore(path) as store:
        exc = refused(lambda: Ledger(store, world.context()))
    assert type(exc) is UsageError


# --- atomic blocks ------------------------------------------------------------------------


def _atomic_cases(b: Builder, made: Populated) -> list[tuple[str, str, list[SignedModel]]]:
    """(chain, expected id, [valid tx, invalid tx]) at block time T0 + 21_000."""
    t = T0 + 21_000
    fleet = made["fleet"]
    eps3 = b.eps(made["eps2"].tx_id, t=t)
    trip = b.trip(start=T0 + 14_400, end=T0 + 16_200)
    anchor3 = b.anchor(4, fleet[4].block_hash, made["anchor2"].tx_id, t)
    return [
        ("public", "IOME-ESDP-001", [b.esdp("home-7", t=t - 5000), b.esdp("home-8", window_end=0)]),
        ("public", "IOME-EPS-007", [eps3, b.eps(eps3.tx_id, t=t, region="west")]),
        (
            "public",
            "IOME-ANC-004",
            # The second anchor extends the first but does not move forward.
            [anchor3, b.anchor(4, fleet[4].block_hash, anchor3.tx_id, t)],
        ),
        (
            "public",
            "IOME-ODM-004",
            [trip, b.od_matrix([], period=(T0 + 14_400, T0 + 20_000))],
        ),
        (
            "public",
            "IOME-CHG-003",
            [b.charge(vehicle_key="ev-9/otk-1"), b.charge(vehicle_key="ev-9/otk-1", end=T0 + 9060)],
        ),
        (
            "verifiers",
            "IOME-PRES-001",
            [
                b.presence("source", "st-c", "ev-9/otk-2", t),
                b.presence("destination", "st-a", "ev-9/otk-2", t),
            ],
        ),
    ]


@pytest.mark.req(
    "IOME-ESDP-001",
    "IOME-EPS-007",
    "IOME-ANC-004",
    "IOME-ODM-004",
    "IOME-CHG-003",
    "IOME-PRES-001",
)
def test_rejects_block_whose_second_tx_is_invalid_leaving_no_trace(
    world: World, b: Builder, reopenable: StoreFactory
) -> None:
    ledger = open_ledger(world, reopenable())
    made = populate(ledger, b)
    made["fleet"] += fleet_blocks(ledger, b, 1, start=4)
    for chain, req_id, txs in _atomic_cases(b, made):
        before = {chain_id: snapshot(state) for chain_id, state in ledger.chains.items()}
        stored = store_view(ledger.store, [tx.tx_id for tx in txs])
        exc = refused(lambda chain=chain, txs=txs: submit(ledger, b, chain, txs, T0 + 21_000))
        assert (type(exc), exc.req_id) == (Rejected, req_id)
        assert {chain_id: snapshot(state) for chain_id, state in ledger.chains.items()} == before
        assert store_view(ledger.store, [tx.tx_id for tx in txs]) == stored
        # The valid prefix is still acceptable on its own.
        height = ledger.chains[chain].height
        submit(ledger, b, chain, txs[:1], T0 + 21_000)
        assert ledger.chains[chain].height == height + 1
        assert ledger.store.has_tx(chain, txs[0].tx_id)
        assert not ledger.store.has_tx(chain, txs[1].tx_id)


class _FailingStore(MemoryStore):
    """A store whose next append fails, as a full disk would."""

    fail = False

    def append(self, block: StoredBlock, evidence: Sequence[tuple[str, bytes]] = ()) -> None:
        if self.fail:
            raise UsageError("store", "cannot append to the store: the disk is full")
        super().append(block, evidence)


def test_rejects_block_when_store_fails_rolling_back_state(world: World, b: Builder) -> None:
    store = _FailingStore()
    ledger = open_ledger(world, store)
    reg = b.registration()
    submit(ledger, b, "public", [reg], T0 + 5000)
    before = snapshot(ledger.chains["public"])
    store.fail = True
    eps = b.eps(reg.tx_id, t=T0 + 5500)
    exc = refused(lambda: submit(ledger, b, "public", [eps], T0 + 6000))
    assert type(exc) is UsageError
    assert snapshot(ledger.chains["public"]) == before
    store.fail = False
    submit(ledger, b, "public", [eps], T0 + 6000)
    assert ledger.chains["public"].issuer_tips[eps.issuer_pk] == eps.tx_id


# --- evidence -------------------------------------------------------------------------------


def _evidence_of(ledger: Ledger, req_id: str) -> list[dict[str, Any]]:
    return [json.loads(body) for kind, body in ledger.evidence() if kind == req_id]


def _eps_equivocation(ledger: Ledger, b: Builder) -> tuple[EPS, EPS]:
    reg = b.registration()
    first = b.eps(reg.tx_id, t=T0 + 5500)
    submit(ledger, b, "public", [reg, first], T0 + 6000)
    second = b.eps(reg.tx_id, t=T0 + 5500, price_micro_per_kwh=999_000)
    exc = refused(lambda: submit(ledger, b, "public", [second], T0 + 7000))
    assert (type(exc), exc.req_id) == (Rejected, "IOME-EPS-005")
    return first, second


def _block_equivocation(ledger: Ledger, b: Builder) -> tuple[Block, Block]:
    submit(ledger, b, "public", [b.esdp()], T0 + 5000)
    first = submit(ledger, b, "public", [b.esdp("home-2")], T0 + 6000)
    twin = Block.create(
        b.key("producer"),
        chain_id="public",
        height=1,
        prev_hash=ledger.chains["public"].blocks[0].block_hash,
        time=T0 + 6000,
        txs=[b.esdp("home-3")],
    )
    exc = refused(lambda: ledger.submit(twin))
    assert (type(exc), exc.req_id) == (Rejected, "IOME-BLK-009")
    return first, twin


def _anchor_fork(ledger: Ledger, b: Builder) -> tuple[Anchor, Anchor]:
    fleet = fleet_blocks(ledger, b, 3)
    first = b.anchor(1, fleet[1].block_hash, None, T0 + 1000)
    submit(ledger, b, "public", [first], T0 + 1100)
    fork = b.anchor(2, fleet[2].block_hash, None, T0 + 1900)
    exc = refused(lambda: submit(ledger, b, "public", [fork], T0 + 2000))
    assert (type(exc), exc.req_id) == (Rejected, "IOME-ANC-003")
    return first, fork


def _check_evidence_survives(
    world: World, ledger: Ledger, reopenable: StoreFactory, req_id: str
) -> dict[str, Any]:
    (body,) = _evidence_of(ledger, req_id)
    assert set(body) == {"first", "second"}
    reopened = open_ledger(world, reopenable())
    assert _evidence_of(reopened, req_id) == [body]
    return body


@pytest.mark.req("IOME-EPS-005")
def test_rejects_eps_equivocation_keeping_both_signed_signals(
    world: World, b: Builder, reopenable: StoreFactory
) -> None:
    ledger = open_ledger(world, reopenable())
    first, second = _eps_equivocation(ledger, b)
    body = _check_evidence_survives(world, ledger, reopenable, "IOME-EPS-005")
    kept = [parse_message(body["first"]), parse_message(body["second"])]
    assert kept == [first, second]
    for signal in kept:  # both carry the issuer's valid signature: attributable
        assert isinstance(signal, EPS)
        check_stateless(signal)


@pytest.mark.req("IOME-EPS-005")
def test_rejects_equivocation_within_one_block_keeping_evidence(world: World, b: Builder) -> None:
    ledger = open_ledger(world, MemoryStore())
    reg = b.registration()
    submit(ledger, b, "public", [reg], T0 + 5000)
    before = snapshot(ledger.chains["public"])
    first = b.eps(reg.tx_id, t=T0 + 5500)
    second = b.eps(reg.tx_id, t=T0 + 5500, region="south")
    exc = refused(lambda: submit(ledger, b, "public", [first, second], T0 + 6000))
    assert exc.req_id == "IOME-EPS-005"
    assert snapshot(ledger.chains["public"]) == before  # the first signal is rolled back too
    (body,) = _evidence_of(ledger, "IOME-EPS-005")
    assert (parse_message(body["first"]), parse_message(body["second"])) == (first, second)


@pytest.mark.req("IOME-BLK-009")
def test_rejects_producer_equivocation_keeping_both_signed_headers(
    world: World, b: Builder, reopenable: StoreFactory
) -> None:
    ledger = open_ledger(world, reopenable())
    first, twin = _block_equivocation(ledger, b)
    body = _check_evidence_survives(world, ledger, reopenable, "IOME-BLK-009")
    # Evidence keeps whole signed headers, so each is attributable to the producer.
    kept = [Block.parse({**body[which], "txs": []}) for which in ("first", "second")]
    assert [header.block_hash for header in kept] == [first.block_hash, twin.block_hash]
    for header in kept:
        check_block_hash(header)
        check_block_signature(header)
    assert ledger.chains["public"].blocks[1].block_hash == first.block_hash


@pytest.mark.req("IOME-ANC-003")
def test_rejects_anchor_fork_keeping_both_signed_anchors(
    world: World, b: Builder, reopenable: StoreFactory
) -> None:
    ledger = open_ledger(world, reopenable())
    first, fork = _anchor_fork(ledger, b)
    body = _check_evidence_survives(world, ledger, reopenable, "IOME-ANC-003")
    kept = [parse_message(body["first"]), parse_message(body["second"])]
    assert kept == [first, fork]
    for anchor in kept:  # both carry the manager's valid signature: attributable
        assert isinstance(anchor, Anchor)
        check_stateless(anchor)


# --- anchoring ----------------------------------------------------------------------------


@pytest.mark.req("IOME-ANC-005")
def test_accepts_anchor_sequence_verified_against_child_blocks(world: World, b: Builder) -> None:
    ledger = open_ledger(world, MemoryStore())
    fleet = fleet_blocks(ledger, b, 4)
    a1 = b.anchor(1, fleet[1].block_hash, None, T0 + 1000)
    a2 = b.anchor(3, fleet[3].block_hash, a1.tx_id, T0 + 1900)
    assert verify_anchors([a1, a2], fleet) == 2
    assert verify_anchors([], fleet) == 0
    assert verify_anchors(iter([a1]), iter(fleet)) == 1


@pytest.mark.parametrize(
    ("height", "head"),
    [(3, 2), (9, 3), (2, 3)],
    ids=["other-block-hash", "beyond-child-head", "hash-of-next-block"],
)
@pytest.mark.req("IOME-ANC-005")
def test_rejects_anchor_naming_wrong_child_head(
    world: World, b: Builder, height: int, head: int
) -> None:
    ledger = open_ledger(world, MemoryStore())
    fleet = fleet_blocks(ledger, b, 4)
    a1 = b.anchor(1, fleet[1].block_hash, None, T0 + 1000)
    bad = b.anchor(height, fleet[head].block_hash, a1.tx_id, T0 + 1900)
    exc = refused(lambda: verify_anchors([a1, bad], fleet))
    assert (type(exc), exc.req_id) == (Rejected, "IOME-ANC-005")
    # A node holding the fleet chain accepts the anchor (the public chain's verdict must not
    # depend on which child chains a node holds) and records the mismatch as evidence, with
    # the signed child header, when there is a child block at that height to contradict.
    submit(ledger, b, "public", [a1], T0 + 1100)
    submit(ledger, b, "public", [bad], T0 + 2000)
    evidence = [(kind, json.loads(body)) for kind, body in ledger.evidence()]
    if height < len(fleet):
        ((kind, body),) = evidence
        assert kind == "IOME-ANC-005"
        assert parse_message(body["first"]) == bad
        assert body["second"]["block_hash"] == fleet[height].block_hash
    else:
        assert evidence == []


@pytest.mark.req("IOME-ANC-005")
def test_records_anchor_mismatch_whichever_chain_arrives_last(world: World, b: Builder) -> None:
    """A node that receives the public chain before the child chain finds the same evidence,
    and reaches the same state, as one that received them the other way round."""
    live = open_ledger(world, MemoryStore())
    fleet = fleet_blocks(live, b, 4)
    a1 = b.anchor(1, fleet[1].block_hash, None, T0 + 1000)
    bad = b.anchor(3, fleet[2].block_hash, a1.tx_id, T0 + 1900)
    public = [
        submit(live, b, "public", [a1], T0 + 1100),
        submit(live, b, "public", [bad], T0 + 2000),
    ]
    syncing = open_ledger(world, MemoryStore())
    for block in [*public, *fleet]:
        syncing.submit(block)
    assert [kind for kind, _ in syncing.evidence()] == ["IOME-ANC-005"]
    assert syncing.evidence() == live.evidence()
    for chain_id, state in live.chains.items():
        assert syncing.chains[chain_id].snapshot() == state.snapshot()


@pytest.mark.req(
    "IOME-CERT-004",
    "IOME-ANC-002",
    "IOME-ANC-006",
    "IOME-ANC-007",
    "IOME-ANC-008",
)
def test_accepts_handover_continuing_anchors_without_gap(
    world: World, b: Builder, reopenable: StoreFactory
) -> None:
    ledger = open_ledger(world, reopenable())
    fleet = fleet_blocks(ledger, b, 6)
    a1 = b.anchor(1, fleet[1].block_hash, None, T0 + 1000)
    submit(ledger, b, "public", [a1], T0 + 1100)
    a2 = b.anchor(2, fleet[2].block_hash, a1.tx_id, T0 + 1900)
    submit(ledger, b, "public", [a2], T0 + 2000)

    # The manager then goes silent. One second short of two periods is too early.
    early = b.handover(a2.tx_id, a2.timestamp + _SILENCE - 1)
    exc = refused(lambda: submit(ledger, b, "public", [early], a2.timestamp + _SILENCE))
    assert exc.req_id == "IOME-ANC-007"
    stale = b.handover(a1.tx_id, a2.timestamp + _SILENCE)
    exc = refused(lambda: submit(ledger, b, "public", [stale], a2.timestamp + _SILENCE))
    assert exc.req_id == "IOME-ANC-008"

    handover = b.handover(a2.tx_id, a2.timestamp + _SILENCE)
    submit(ledger, b, "public", [handover], a2.timestamp + _SILENCE + 10)
    t = handover.timestamp + 100
    a3 = b.anchor(4, fleet[4].block_hash, a2.tx_id, t, manager="fleet-backup")
    submit(ledger, b, "public", [a3], t + 10)
    a4 = b.anchor(5, fleet[5].block_hash, a3.tx_id, t + ANCHOR_PERIOD_S, manager="fleet-backup")
    submit(ledger, b, "public", [a4], t + ANCHOR_PERIOD_S + 10)

    anchors = [a1, a2, a3, a4]
    assert [a.prev_anchor_id for a in anchors] == [None, a1.tx_id, a2.tx_id, a3.tx_id]
    assert verify_anchors(anchors, fleet) == 4
    assert ledger.chains["public"].anchor_tips["fleet"].tx_id == a4.tx_id

    reopened = open_ledger(world, reopenable())
    public = reopened.chains["public"]
    assert public.offices["fleet"].manager_pk == b.key("fleet-backup").public_hex
    late = t + 3 * ANCHOR_PERIOD_S
    old = b.anchor(5, fleet[5].block_hash, a4.tx_id, late)
    exc = refused(lambda: submit(reopened, b, "public", [old], late))
    # The replaced manager holds a manager's certificate; a backup is in office.
    assert (type(exc), exc.req_id) == (Rejected, "IOME-CERT-004")
    # A handover must name the manager in office, and hand over to a different key.
    not_in_office = b.handover(a4.tx_id, late)
    to_itself = b.handover(a4.tx_id, late, old="fleet-backup")
    for bad in (not_in_office, to_itself):
        exc = refused(lambda bad=bad: submit(reopened, b, "public", [bad], late))
        assert (type(exc), exc.req_id) == (Rejected, "IOME-ANC-006")
    (child,) = fleet_blocks(reopened, b, 1, start=6)
    a5 = b.anchor(6, child.block_hash, a4.tx_id, late, manager="fleet-backup")
    submit(reopened, b, "public", [a5], late)
    assert public.anchor_tips["fleet"].tx_id == a5.tx_id


@pytest.mark.req("IOME-ENC-002")
def test_rejects_block_too_large_to_send_leaving_state_and_store_unchanged(
    world: World, b: Builder
) -> None:
    """A block sealed in-process never crossed the wire's size check; the ledger applies it,
    so a block no peer could receive, and no reopened store could read, is refused here."""
    ledger = open_ledger(world, MemoryStore())
    submit(ledger, b, "public", [b.esdp()], T0 + 5000)
    esdps = [b.esdp(t=T0 + 3601 + k) for k in range(2600)]
    block = next_block(ledger, b, "public", esdps, T0 + 9000)
    before, stored = snapshot(ledger.chains["public"]), store_view(ledger.store)
    assert refused(lambda: ledger.submit(block)).req_id == "IOME-ENC-002"
    assert snapshot(ledger.chains["public"]) == before
    assert store_view(ledger.store) == stored


@pytest.mark.req("IOME-TRIP-002")
def test_rejects_trip_below_the_quorum_of_the_chains_own_context(world: World, b: Builder) -> None:
    # The quorum is genesis configuration: a chain configured for 3 refuses a Trip that the
    # default quorum of 2 would accept.
    context = dataclasses.replace(world.context(), quorum=3)
    ledger = Ledger(MemoryStore(), context)
    ledger.add_chain("public", "public")
    trip = b.trip(verifiers=("verifier-1", "verifier-2"))
    exc = refused(lambda: submit(ledger, b, "public", [trip], T0 + 9100))
    assert (type(exc), exc.req_id) == (Rejected, "IOME-TRIP-002")
    submit(
        ledger,
        b,
        "public",
        [b.trip(verifiers=("verifier-1", "verifier-2", "verifier-3"))],
        T0 + 9100,
    )
    assert [t.verifier_sigs[2].verifier_pk for t in ledger.chains["public"].trips] == [
        b.key("verifier-3").public_hex
    ]
