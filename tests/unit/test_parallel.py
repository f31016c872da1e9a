"""Batched, process-parallel signature checks change no verdict and no refusal id (issue 16)."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest
from helpers import usage_error

from iome_ref.chain.parallel import SignatureChecker, verify_groups
from iome_ref.chain.state import ChainState
from iome_ref.chain.store import MemoryStore
from iome_ref.chain.transition import apply_block
from iome_ref.constants import CHAIN_CONSORTIUM, CHAIN_PUBLIC, ZERO_HASH
from iome_ref.errors import Rejected
from iome_ref.models import Block, Presence, SignedModel, Trip, TripClaim
from iome_ref.roles.randomness import random_bytes
from iome_ref.roles.verifier import Verifier, VerifierQuorum
from iome_ref.rules.encoding import signature_checks
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import T0, World, build_world

WORLD: World = build_world(12)
B = Builder(WORLD)
T = T0 + 86_400 + 100


@pytest.fixture(scope="module")
def checker() -> SignatureChecker:
    with SignatureChecker(2, min_parallel_batch=1) as pool:
        yield pool  # type: ignore[misc]


def as_received(tx: SignedModel) -> SignedModel:
    return type(tx).parse(tx.model_dump(mode="json"))


def block_of(txs: list[SignedModel]) -> Block:
    block = Block.create(
        WORLD.key("producer"), chain_id="public", height=0, prev_hash=ZERO_HASH,
        time=T0 + 5000, txs=txs,
    )  # fmt: skip
    return Block.parse(block.model_dump(mode="json"))


def outcome(block: Block, checker: SignatureChecker | None) -> tuple[str, bytes]:
    state = ChainState("public", CHAIN_PUBLIC, WORLD.directory)
    try:
        apply_block(state, block, WORLD.context(), signatures=checker)
    except Rejected as exc:
        return f"{exc.req_id} {getattr(exc, '__notes__', [])}", state.snapshot()
    return "accepted", state.snapshot()


@pytest.mark.req("IOME-SIG-001")
def test_rejects_block_with_the_same_first_failure_with_or_without_workers(
    checker: SignatureChecker,
) -> None:
    esdps: list[SignedModel] = [B.esdp(f"par-home-{i}", T0 + 3600 + i) for i in range(12)]
    good = block_of(esdps)
    assert outcome(good, checker) == outcome(block_of(esdps), None)
    assert outcome(good, checker)[0] == "accepted"
    forged = [*esdps[:5], esdps[5].model_copy(update={"signature": esdps[6].signature}), *esdps[6:]]
    found, snapshot = outcome(block_of(forged), checker)
    assert found.startswith("IOME-SIG-001")
    assert "in transaction 5 (ESDP)" in found
    assert (found, snapshot) == outcome(block_of(forged), None)
    # Two faults: a later bad signature and an earlier rule: the earlier one is reported.
    early = esdps[2].model_copy(update={"window_end": esdps[2].window_start})
    early = type(early).create({"signature": WORLD.key("par-home-2")}, **early.model_dump(
        exclude={"tx_id", "signature"}
    ))  # fmt: skip
    two = [*esdps[:2], early, *forged[3:]]
    assert outcome(block_of(two), checker) == outcome(block_of(two), None)
    assert not outcome(block_of(two), checker)[0].startswith("IOME-SIG")


def claims(count: int, tag: str) -> list[tuple[TripClaim, Presence, Presence, int]]:
    out = []
    for i in range(count):
        source = B.presence("source", "st-a", f"{tag}-{i}/otk-1", T + i)
        destination = B.presence("destination", "st-b", f"{tag}-{i}/otk-2", T + i + 1500)
        claim = B.claim(source, destination, T + i + 1510)
        out.append(
            (as_received(claim), as_received(source), as_received(destination), T + i + 1510)
        )
    return out  # type: ignore[return-value]


def run_claims(
    batch: list[tuple[TripClaim, Presence, Presence, int]], checker: SignatureChecker | None
) -> list[str]:
    verifiers = [Verifier(n, WORLD.key(n)) for n in ("verifier-1", "verifier-2", "verifier-3")]
    quorum = VerifierQuorum(verifiers, 2, WORLD.context().travel, WORLD.directory)
    state = ChainState("verifiers", CHAIN_CONSORTIUM, WORLD.directory)
    fresh = [(as_received(c), as_received(s), as_received(d), t) for c, s, d, t in batch]
    outcomes = quorum.on_claims(fresh, state, random.Random(5), checker)  # type: ignore[arg-type]
    return [o.tx_id if isinstance(o, Trip) else o.req_id for o in outcomes]


@pytest.mark.req("IOME-SIG-001", "IOME-CLAIM-001")
def test_rejects_claims_in_a_batch_as_one_by_one(checker: SignatureChecker) -> None:
    batch = claims(6, "par")
    claim, source, destination, t = batch[1]
    forged = claim.model_copy(update={"source_sig": claim.destination_sig})
    batch[1] = (forged, source, destination, t)
    reused, _, _, _ = claims(1, "par-reuse")[0]
    batch.append((reused, batch[2][1], batch[2][2], T + 9000))  # with claim 2's presences
    expected = run_claims(batch, None)
    assert expected[1] == "IOME-SIG-001"
    assert expected[-1] == "IOME-CLAIM-001"  # names presences that are not its own: the state
    assert sum(len(e) == 64 for e in expected) == 5
    assert run_claims(batch, checker) == expected


def test_accepts_verify_groups_per_transaction() -> None:
    good, other = B.charge(), B.esdp()
    bad = signature_checks(good)
    bad[1] = (bad[1][0], bad[0][1], bad[1][2], bad[1][3])
    malformed = [("zz", "00", "ESDP", "00")]
    assert verify_groups([signature_checks(good), bad, malformed, signature_checks(other), []]) == [
        True, False, False, True, True,
    ]  # fmt: skip


def test_accepts_preverify_marking_only_what_verifies(checker: SignatureChecker) -> None:
    txs = [as_received(B.esdp(f"mark-{i}", T0 + 3600 + i)) for i in range(4)]
    txs[1] = txs[1].model_copy(update={"signature": txs[0].signature})
    assert checker.preverify(txs) == 3
    assert [tx.signatures_verified for tx in txs] == [True, False, True, True]
    assert checker.preverify(txs) == 0  # marked ones are not sent again; the bad one still fails
    with SignatureChecker(0) as local:
        fresh = [as_received(tx) for tx in txs]
        assert local.preverify(fresh) == 3


def test_rejects_negative_workers() -> None:
    with usage_error("parallel"):
        SignatureChecker(-1)
    with usage_error("parallel"):
        SignatureChecker(0, min_parallel_batch=0)


def test_accepts_ledger_submitting_with_a_signature_checker(checker: SignatureChecker) -> None:
    from iome_ref.chain.ledger import Ledger  # noqa: PLC0415 - only this test

    esdps: list[SignedModel] = [B.esdp(f"ledger-home-{i}", T0 + 3600 + i) for i in range(5)]
    snapshots = []
    for signatures in (checker, None):
        ledger = Ledger(MemoryStore(), WORLD.context(), signatures=signatures)
        ledger.add_chain("public", CHAIN_PUBLIC)
        block = block_of(esdps)
        ledger.submit(block)
        assert all(tx.signatures_verified for tx in block.txs)
        snapshots.append(ledger.chains["public"].snapshot())
    assert snapshots[0] == snapshots[1]


# --------------------------------------------------------------------------- whole pipeline
#
# With workers the whole stateless pipeline (and, for claims, the Trip proposal) runs in
# other processes; what the chain then decides must not change: same outcomes, same first
# refusal id (and its transaction), same state, same random source afterwards.


def faulty_claims(seed: int) -> list[tuple[TripClaim, Presence, Presence, int]]:
    """Eight claims, a seeded few of them broken in one of several ways (or none broken)."""
    rng = random.Random(seed)
    batch = claims(8, f"det-{seed}")
    for index in rng.sample(range(8), rng.randint(0, 3)):
        claim, source, destination, t = batch[index]
        fault = rng.choice(["sig", "tx_id", "reuse", "early", "presence_sig"])
        if fault == "sig":
            claim = claim.model_copy(update={"source_sig": claim.destination_sig})
        elif fault == "tx_id":
            claim = claim.model_copy(update={"tx_id": "ab" * 32})
        elif fault == "reuse":
            other = batch[(index + 1) % 8]
            claim, source, destination = other[0], other[1], other[2]
        elif fault == "early":
            t = source.t  # the claim is judged before its trip ended
        else:
            source = source.model_copy(update={"station_sig": source.station_pk_sig})
        batch[index] = (claim, source, destination, t)
    return batch


def claims_outcome(
    batch: list[tuple[TripClaim, Presence, Presence, int]],
    checker: SignatureChecker | None,
    *,
    numpy_rng: bool = False,
) -> tuple[list[str], bytes, str, int]:
    """Outcomes (trip tx ids or refusal ids), the consortium state, the random source's next
    draw and how many transactions the quorum hands over."""
    verifiers = [Verifier(n, WORLD.key(n)) for n in ("verifier-1", "verifier-2", "verifier-3")]
    quorum = VerifierQuorum(verifiers, 2, WORLD.context().travel, WORLD.directory)
    state = ChainState("verifiers", CHAIN_CONSORTIUM, WORLD.directory)
    rng = np.random.default_rng(11) if numpy_rng else random.Random(11)
    fresh = [(as_received(c), as_received(s), as_received(d), t) for c, s, d, t in batch]
    outcomes = quorum.on_claims(fresh, state, rng, checker)  # type: ignore[arg-type]
    found = [o.tx_id if isinstance(o, Trip) else o.req_id for o in outcomes]
    handed = len(quorum.take_consortium_txs())
    return found, state.snapshot(), random_bytes(rng, 8).hex(), handed


@pytest.mark.req("IOME-SIG-001", "IOME-ENC-011", "IOME-BLK-008")
@pytest.mark.parametrize("seed", range(12))
def test_rejects_claims_alike_in_workers_and_one_by_one(
    checker: SignatureChecker, seed: int
) -> None:
    batch = faulty_claims(seed)
    expected = claims_outcome(batch, None)
    assert claims_outcome(batch, checker) == expected
    with SignatureChecker(0) as local:
        assert claims_outcome(batch, local) == expected


@pytest.mark.req("IOME-SIG-001", "IOME-ENC-011", "IOME-BLK-008")
@pytest.mark.parametrize("seed", [0, 9, 11])
def test_rejects_claims_alike_with_a_numpy_random_source(
    checker: SignatureChecker, seed: int
) -> None:
    """Nonces drawn ahead and the state restored work for a numpy Generator too."""
    batch = faulty_claims(seed)
    expected = claims_outcome(batch, None, numpy_rng=True)
    assert claims_outcome(batch, checker, numpy_rng=True) == expected
    assert {"IOME-SIG-001", "IOME-ENC-011", "IOME-BLK-008"} & set(expected[0])


def test_rejects_a_seeded_fault_of_every_kind_somewhere() -> None:
    """The seeds above do break claims, with more than one rule (the test is not vacuous)."""
    ids = {i for seed in range(12) for i in claims_outcome(faulty_claims(seed), None)[0]}
    assert {"IOME-SIG-001", "IOME-ENC-011", "IOME-BLK-008"} <= ids


def test_accepts_trips_signed_in_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a refusal, no trip is proposed in the calling process: the workers' are taken
    (and they equal what the calling process would have signed)."""
    batch = claims(6, "taken")
    expected = claims_outcome(batch, None)
    with SignatureChecker(2, min_parallel_batch=1) as pool:
        claims_outcome(claims(2, "warm"), pool)  # the workers exist before the patch below
        proposed: list[object] = []
        original = Verifier.propose_with_nonce

        def counting(self: Verifier, *args: object) -> Trip:
            proposed.append(args)
            return original(self, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(Verifier, "propose_with_nonce", counting)
        assert claims_outcome(batch, pool) == expected
    assert proposed == []


def faulty_esdps(seed: int) -> list[SignedModel]:
    rng = random.Random(seed)
    esdps: list[SignedModel] = [B.esdp(f"det-{seed}-{i}", T0 + 3600 + i) for i in range(20)]
    for index in rng.sample(range(20), rng.randint(0, 3)):
        tx = esdps[index]
        fault = rng.choice(["sig", "tx_id", "window"])
        if fault == "sig":
            tx = tx.model_copy(update={"signature": esdps[(index + 1) % 20].signature})
        elif fault == "tx_id":
            tx = tx.model_copy(update={"tx_id": "cd" * 32})
        else:
            tx = B.esdp(f"det-{seed}-{index}", T0 + 3600, window_end=T0 + 3600)
        esdps[index] = tx
    return esdps


@pytest.mark.req("IOME-SIG-001", "IOME-ENC-011", "IOME-ESDP-001", "IOME-BLK-006")
@pytest.mark.parametrize("seed", range(12))
def test_rejects_blocks_alike_in_workers_and_in_order(checker: SignatureChecker, seed: int) -> None:
    block = block_of(faulty_esdps(seed))
    expected = outcome(block, None)
    assert outcome(block_of(faulty_esdps(seed)), checker) == expected
    with SignatureChecker(0) as local:
        assert outcome(block_of(faulty_esdps(seed)), local) == expected


@pytest.mark.req("IOME-CERT-003")
def test_rejects_after_a_revocation_list_in_the_same_block(checker: SignatureChecker) -> None:
    """A presence judged by the workers against the directory before a revocation list of the
    same block is judged again against the directory the list put in force."""
    revoke_at = T + 50
    crl = B.revocation_list({"st-a": revoke_at}, revoke_at)
    before = B.presence("source", "st-a", "rev-0/otk-1", T)
    after = [
        B.presence("source", "st-a", f"rev-{i}/otk-1", revoke_at + 10 + i) for i in range(1, 4)
    ]
    txs: list[SignedModel] = [before, crl, *after]
    found = []
    for signatures in (checker, None):
        block = Block.create(
            WORLD.key("producer"), chain_id="verifiers", height=0, prev_hash=ZERO_HASH,
            time=revoke_at + 100, txs=txs,
        )  # fmt: skip
        block = Block.parse(block.model_dump(mode="json"))
        state = ChainState("verifiers", CHAIN_CONSORTIUM, WORLD.directory)
        try:
            apply_block(state, block, WORLD.context(), signatures=signatures)
        except Rejected as exc:
            found.append((exc.req_id, exc.__notes__, state.snapshot()))
            continue
        found.append(("accepted", [], state.snapshot()))
    assert found[0] == found[1]
    assert found[0][0] == "IOME-CERT-003"
    assert "in transaction 2 (Presence)" in found[0][1][0]


def test_accepts_marks_only_for_the_arguments_judged_with() -> None:
    tx = as_received(B.charge())
    directory = WORLD.directory
    tx.mark_stateless_passed(directory, 2, "manager", ())
    assert tx.stateless_passed(directory, 2, "manager") == []
    assert tx.stateless_passed(directory, 3, "manager") is None
    assert tx.stateless_passed(directory, 2, "backup") is None
    assert tx.stateless_passed(build_world(12).directory, 2, "manager") is None  # equal, not it
    assert tx.signatures_verified
    copied = tx.model_copy(update={"vehicle_sig": tx.station_sig})
    assert copied.stateless_passed(directory, 2, "manager") is None
    unpickled = pickle.loads(pickle.dumps(tx))
    assert unpickled.stateless_passed(directory, 2, "manager") is None
    assert unpickled == tx
    rebuilt = type(tx).from_fields(tx.__dict__)
    assert rebuilt == tx
    assert rebuilt.stateless_passed(directory, 2, "manager") is None
    assert not rebuilt.signatures_verified


def _double_or_fail(offset: int, chunk: list[int]) -> list[int]:
    if offset < 0:
        raise ValueError("asked to fail")
    return [2 * item + offset for item in chunk]


def test_accepts_answers_in_order_after_an_abandoned_batch() -> None:
    """A batch its caller stopped reading (a refused transaction) leaves answers in flight;
    the next batch must not read them as its own."""
    with SignatureChecker(2, min_parallel_batch=1) as pool:
        first = pool.map_ordered(_double_or_fail, 0, list(range(40)))
        assert next(first) == 0
        del first
        assert list(pool.map_ordered(_double_or_fail, 1, list(range(30)))) == [
            2 * i + 1 for i in range(30)
        ]
        with pytest.raises(ValueError, match="asked to fail"):
            list(pool.map_ordered(_double_or_fail, -1, [1, 2, 3]))
        assert list(pool.map_ordered(_double_or_fail, 0, [5])) == [10]
    with usage_error("parallel"):
        SignatureChecker(0).map_ordered(_double_or_fail, 0, [1]).__next__()
