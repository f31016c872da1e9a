"""What a worker process of ``chain.parallel`` answers, judged in the calling process too.

A worker runs ``_serve``, ``_judge_chunk``, ``judge_stateless``, ``as_rebuilt`` and
``directory_from_text``. Run only in worker processes, those functions escape mutation testing
(mutmut learns which tests reach a function in the calling process only), so these tests run
them in the calling process as well, and compare with what ``check_stateless`` says directly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from multiprocessing import Pipe
from pathlib import Path

import pytest
from pydantic import PrivateAttr

from iome_ref.chain import parallel
from iome_ref.chain.context import ChainContext
from iome_ref.chain.parallel import (
    DirectoryText,
    SignatureChecker,
    StatelessJob,
    as_rebuilt,
    as_sent,
    directory_from_text,
)
from iome_ref.chain.state import ChainState
from iome_ref.chain.transition import apply_block
from iome_ref.constants import CHAIN_CONSORTIUM, CHAIN_PUBLIC, ROLE_MANAGER, ZERO_HASH
from iome_ref.errors import Rejected, UsageError
from iome_ref.models import ESDP, Block, SignedModel
from iome_ref.rules.encoding import signature_checks
from iome_ref.rules.revocation import check_revocation_list_der
from iome_ref.rules.stateless import check_stateless
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import T0, World, build_world

WORLD: World = build_world(12)
B = Builder(WORLD)
T = T0 + 86_400 + 100


def as_received(tx: SignedModel) -> SignedModel:
    return type(tx).parse(tx.model_dump(mode="json"))


def mixed_batch() -> list[SignedModel]:
    """Accepted and refused transactions of several kinds, certified keys among them."""
    good = [
        B.presence("source", "st-a", "wk-0/otk-1", T),
        B.esdp("wk-home", T0 + 3600),
        B.trip(start=T0 + 7200),
    ]
    forged = good[0].model_copy(update={"station_sig": good[0].station_pk_sig})
    bad_id = good[1].model_copy(update={"tx_id": "cd" * 32})
    short_trip = B.trip(start=T0 + 7260, verifiers=("verifier-1",))
    return [as_received(tx) for tx in [*good, forged, bad_id, short_trip]]


def direct(tx: SignedModel, quorum: int, anchor_role: str) -> tuple[object, ...] | None:
    try:
        return tuple(check_stateless(tx, WORLD.directory, quorum=quorum, anchor_role=anchor_role))
    except Rejected:
        return None


@pytest.mark.req("IOME-SIG-001", "IOME-ENC-011", "IOME-TRIP-002")
@pytest.mark.parametrize("quorum", [1, 2])
def test_accepts_a_workers_answers_as_the_stateless_pipeline_gives_them(quorum: int) -> None:
    txs = mixed_batch()
    job = StatelessJob(DirectoryText.of(WORLD.directory), quorum, ROLE_MANAGER)
    answers = parallel._judge_chunk(job, [as_sent(tx) for tx in txs])
    expected = [direct(tx, quorum, ROLE_MANAGER) for tx in txs]
    assert answers == expected
    assert answers[0]  # the station's key, certified
    assert answers[3] is None
    assert answers[4] is None
    assert (answers[5] is None) == (quorum == 2)


def test_accepts_a_rebuilt_transaction_as_the_one_sent() -> None:
    for tx in mixed_batch():
        rebuilt = as_rebuilt(as_sent(tx))
        assert type(rebuilt) is type(tx)
        assert rebuilt == tx
        assert rebuilt.model_dump(exclude_unset=True) == tx.model_dump(exclude_unset=True)
        assert rebuilt.model_extra == tx.model_extra
        assert rebuilt.canonical_bytes() == tx.canonical_bytes()
        assert rebuilt.compute_tx_id() == tx.tx_id or tx.tx_id == "cd" * 32


def test_accepts_a_directory_rebuilt_from_its_text_once() -> None:
    sent = DirectoryText.of(WORLD.directory)
    rebuilt = directory_from_text(sent)
    assert rebuilt.to_json() == WORLD.directory.to_json()
    assert directory_from_text(sent) is rebuilt
    assert DirectoryText.of(rebuilt) == sent  # the same text, the same fingerprint
    for tx in mixed_batch():
        assert direct(tx, 2, ROLE_MANAGER) == _judged_with(tx, rebuilt)


def _judged_with(tx: SignedModel, directory: object) -> tuple[object, ...] | None:
    job = StatelessJob(DirectoryText.of(WORLD.directory), 2, ROLE_MANAGER)
    return parallel.judge_stateless(as_rebuilt(as_sent(tx)), directory, job)  # type: ignore[arg-type]


def _fail(_: None, part: list[int]) -> list[int]:
    raise ValueError(f"refused {part}")


def _double(offset: int, part: list[int]) -> list[int]:
    return [2 * item + offset for item in part]


def test_accepts_a_workers_loop_answering_each_message_in_turn() -> None:
    """``_serve`` answers (True, result) or (False, the exception), until None or end of file."""
    ours, theirs = Pipe()
    worker = threading.Thread(target=parallel._serve, args=(theirs,), daemon=True)
    worker.start()
    ours.send((_double, 1, [1, 2]))
    assert ours.recv() == (True, [3, 5])
    ours.send((_fail, None, [7]))
    ok, error = ours.recv()
    assert not ok
    assert isinstance(error, ValueError)
    assert str(error) == "refused [7]"
    ours.send(None)
    worker.join(timeout=10)
    assert not worker.is_alive()
    ours, theirs = Pipe()
    worker = threading.Thread(target=parallel._serve, args=(theirs,), daemon=True)
    worker.start()
    ours.close()
    worker.join(timeout=10)
    assert not worker.is_alive()


def trips_block(verifiers: tuple[str, ...]) -> Block:
    trips: list[SignedModel] = [
        B.trip(start=T0 + 7200 + 60 * i, end=T0 + 9000 + 60 * i, verifiers=verifiers)
        for i in range(4)
    ]
    block = Block.create(
        WORLD.key("producer"), chain_id="public", height=0, prev_hash=ZERO_HASH,
        time=T0 + 20_000, txs=trips,
    )  # fmt: skip
    return Block.parse(block.model_dump(mode="json"))


def trips_outcome(block: Block, quorum: int, checker: SignatureChecker | None) -> tuple[str, bytes]:
    state = ChainState("public", CHAIN_PUBLIC, WORLD.directory)
    context = ChainContext(WORLD.directory, WORLD.travel, quorum)
    try:
        apply_block(state, block, context, signatures=checker)
    except Rejected as exc:
        return f"{exc.req_id} {getattr(exc, '__notes__', [])}", state.snapshot()
    return "accepted", state.snapshot()


@pytest.mark.req("IOME-TRIP-002")
def test_rejects_trips_below_the_chains_quorum_alike_in_workers() -> None:
    """The workers judge a Trip with the chain's quorum, not a default one."""
    with SignatureChecker(2, min_parallel_batch=1) as pool:
        for verifiers, quorum in [(("verifier-1", "verifier-2"), 2), (("verifier-1",), 2)]:
            block = trips_block(verifiers)
            expected = trips_outcome(block, quorum, None)
            assert trips_outcome(trips_block(verifiers), quorum, pool) == expected
        assert trips_outcome(trips_block(("verifier-1", "verifier-2")), 3, pool)[0].startswith(
            "IOME-TRIP-002"
        )
        assert trips_outcome(trips_block(("verifier-1", "verifier-2")), 2, pool)[0] == "accepted"


def test_accepts_a_program_ending_without_closing_its_checker() -> None:
    """Worker processes are daemons: a program that never closes its checker still exits
    (a non-daemon worker would wait for work for ever, and the program with it)."""
    SignatureChecker(1).close()  # here too, so mutation testing maps this test to it
    root = Path(parallel.__file__).resolve().parents[2]
    code = "from iome_ref.chain.parallel import SignatureChecker; checker = SignatureChecker(1)"
    # Its own session, so a program that hangs is stopped with its workers, not left behind.
    program = subprocess.Popen([sys.executable, "-c", code], cwd=root, start_new_session=True)
    try:
        assert program.wait(timeout=30) == 0
    finally:
        if program.poll() is None:
            os.killpg(program.pid, signal.SIGKILL)
            program.wait()


def test_rejects_a_model_whose_private_defaults_cannot_be_shared() -> None:
    class Holder(ESDP):
        _listed: list[int] = PrivateAttr(default_factory=list)

    with pytest.raises(TypeError, match="Holder: private defaults must be None or bool"):
        Holder.from_fields({})


def _two_blocks_outcome(checker: SignatureChecker | None) -> tuple[str, list[str], bytes]:
    """A revocation list in one block, then presences of the revoked station in the next."""
    revoke_at = T + 50
    crl = B.revocation_list({"st-a": revoke_at}, revoke_at)
    state = ChainState("verifiers", CHAIN_CONSORTIUM, WORLD.directory)
    first = Block.create(
        WORLD.key("producer"), chain_id="verifiers", height=0, prev_hash=ZERO_HASH,
        time=revoke_at + 20, txs=[B.presence("source", "st-b", "two-0/otk-1", T), crl],
    )  # fmt: skip
    apply_block(
        state, Block.parse(first.model_dump(mode="json")), WORLD.context(), signatures=checker
    )
    later = [B.presence("source", "st-a", f"two-{i}/otk-1", revoke_at + 30 + i) for i in range(3)]
    second = Block.create(
        WORLD.key("producer"), chain_id="verifiers", height=1, prev_hash=first.block_hash,
        time=revoke_at + 100, txs=later,
    )  # fmt: skip
    try:
        apply_block(
            state, Block.parse(second.model_dump(mode="json")), WORLD.context(), signatures=checker
        )
    except Rejected as exc:
        return exc.req_id, exc.__notes__, state.snapshot()
    return "accepted", [], state.snapshot()


@pytest.mark.req("IOME-CERT-003")
def test_rejects_a_station_revoked_in_an_earlier_block_alike_in_workers() -> None:
    """Workers keep directories rebuilt by fingerprint: the directory a revocation list put in
    force in one block is the one the next block's transactions are judged against."""
    with SignatureChecker(2, min_parallel_batch=1) as pool:
        found = _two_blocks_outcome(pool)
    assert found == _two_blocks_outcome(None)
    assert found[0] == "IOME-CERT-003"
    assert "in transaction 0 (Presence)" in found[1][0]


def test_accepts_directories_rebuilt_beyond_the_few_kept() -> None:
    directories = [
        WORLD.directory.with_revocation_list(
            check_revocation_list_der(B.revocation_list({"st-b": T + i}, T + i))
        )
        for i in range(6)
    ]
    for directory in [*directories, *directories[:2]]:
        rebuilt = directory_from_text(DirectoryText.of(directory))
        assert rebuilt.to_json() == directory.to_json()


def test_accepts_closing_a_checker_twice_then_judging_in_process() -> None:
    block_txs: list[SignedModel] = [B.esdp(f"close-{i}", T0 + 3600 + i) for i in range(3)]
    pool = SignatureChecker(1, min_parallel_batch=1)
    assert pool.parallel(1)
    pool.close()
    pool.close()
    assert not pool.parallel(1)
    assert pool.preverify([as_received(tx) for tx in block_txs]) == 3
    assert not SignatureChecker().parallel(10**6)  # no worker processes unless asked


def test_rejects_negative_workers_naming_both_bounds() -> None:
    for workers, batch in [(-1, 16), (0, 0)]:
        with pytest.raises(UsageError) as info:
            SignatureChecker(workers, min_parallel_batch=batch)
        assert str(info.value) == "parallel: workers must be >= 0 and min_parallel_batch >= 1"


def test_accepts_answers_in_order_with_any_number_of_workers() -> None:
    items = list(range(7))
    with SignatureChecker(3, min_parallel_batch=1) as pool:
        assert list(pool.map_ordered(_double, 0, items)) == [2 * i for i in items]
        assert list(pool.map_ordered(_double, 1, [4])) == [9]
    with pytest.raises(UsageError) as info:
        next(SignatureChecker(0).map_ordered(_double, 0, items))
    assert str(info.value) == "parallel: map_ordered needs worker processes"


def test_accepts_a_workers_signature_verdicts_as_in_process() -> None:
    txs = mixed_batch()
    groups = [signature_checks(tx) for tx in txs]
    expected = parallel.verify_groups(groups)
    assert parallel._verify_chunk(None, groups) == expected
    assert expected == [True, True, True, False, False, True]  # tx id changed: signed over it
