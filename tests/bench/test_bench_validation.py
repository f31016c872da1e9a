"""What strict validation costs against the raw Ed25519 verify it is built on.

In the default suite each benchmark runs once, as a test (``--benchmark-disable``).
Run: ``python -m uv run pytest tests/bench -n 0 --benchmark-enable --benchmark-only -q``
(add ``--benchmark-json=bench.json`` to keep the figures).

Every benchmark records ``signatures_per_op`` in ``extra_info``, so one run's JSON gives the
ratio the design is judged by: for a benchmark with mean time ``m`` seconds per operation,
its signature rate is ``signatures_per_op / m``, and

    overhead ratio = (signature rate of a validation benchmark) / (rate of ``raw_verify``)

is 1.0 when validation costs nothing beyond raw signature verification. ``tx_id`` (role
``component``, no signature) times the canonical encoding and hash alone: the part of a
transaction's overhead that is not signature checking.
"""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pytest_benchmark.fixture import BenchmarkFixture

from iome_ref.chain.state import ChainState
from iome_ref.chain.transition import apply_block
from iome_ref.constants import CHAIN_PUBLIC
from iome_ref.crypto import signing_message, verify
from iome_ref.models import Block, SignedModel
from iome_ref.rules import check_stateless
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import T0, build_world

_WORLD = build_world(31)
_B = Builder(_WORLD)
_ESDP = _B.esdp()
_CHARGE = _B.charge()
_BLOCK_TXS = 100
_BLOCK = _B.block("public", [_B.esdp(f"home-{i}") for i in range(_BLOCK_TXS)], T0 + 5000)


def _signatures(tx: SignedModel) -> int:
    return len(tx.SIGNATURES)


@pytest.mark.benchmark(group="signature")
def test_bench_raw_verify(benchmark: BenchmarkFixture) -> None:
    """Baseline: one Ed25519 verification by ``cryptography`` (OpenSSL), key already loaded."""
    public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(_ESDP.issuer_pk))
    message = signing_message("ESDP", _ESDP.tx_id)
    signature = bytes.fromhex(_ESDP.signature)
    benchmark.extra_info.update(signatures_per_op=1, role="baseline")
    assert benchmark(public_key.verify, signature, message) is None


@pytest.mark.benchmark(group="signature")
def test_bench_strict_verify(benchmark: BenchmarkFixture) -> None:
    """``iome_ref.crypto.verify``: hex decoding, the IOME-SIG-002..008 checks, then the equation."""
    benchmark.extra_info.update(signatures_per_op=1, role="validation")
    result = benchmark(verify, _ESDP.issuer_pk, _ESDP.signature, "ESDP", _ESDP.tx_id)
    assert result is None


@pytest.mark.benchmark(group="transaction")
def test_bench_tx_id(benchmark: BenchmarkFixture) -> None:
    """RFC 8785 canonical bytes and SHA-256 of one ESDP: what every validation pays once."""
    benchmark.extra_info.update(signatures_per_op=0, role="component")
    assert benchmark(_ESDP.compute_tx_id) == _ESDP.tx_id


@pytest.mark.parametrize("tx", [_ESDP, _CHARGE], ids=["esdp-1-sig", "charge-session-2-sigs"])
@pytest.mark.benchmark(group="transaction")
def test_bench_check_stateless(benchmark: BenchmarkFixture, tx: SignedModel) -> None:
    """A whole transaction: canonical bytes, tx id, every signature, the type's field rules."""
    benchmark.extra_info.update(signatures_per_op=_signatures(tx), role="validation")
    assert benchmark(check_stateless, tx) == []  # accepted; no certificates asked for


@pytest.mark.benchmark(group="block")
def test_bench_apply_block_of_100_esdps(benchmark: BenchmarkFixture) -> None:
    """A 100-transaction public block applied to a fresh chain: header, producer certificate,
    and each transaction's placement, identity and rules. Measured per block."""
    ctx = _WORLD.context()
    states: list[ChainState] = []

    def setup() -> tuple[tuple[ChainState, Block, Any], dict[str, Any]]:
        states.append(ChainState("public", CHAIN_PUBLIC, _WORLD.directory))
        return (states[-1], _BLOCK, ctx), {}

    benchmark.extra_info.update(
        signatures_per_op=1 + sum(_signatures(tx) for tx in _BLOCK.txs),
        txs_per_op=len(_BLOCK.txs),
        role="validation",
    )
    benchmark.pedantic(apply_block, setup=setup, rounds=20, warmup_rounds=1)
    assert states
    for state in states:
        assert state.height == 0
        assert len(state.tx_ids) == _BLOCK_TXS
