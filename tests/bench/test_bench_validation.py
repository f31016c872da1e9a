"""What strict validation costs against the raw Ed25519 operations it is built on (issue 16).

Run: ``python -m uv run pytest tests/bench -n 0 --benchmark-enable --benchmark-only -q``
(add ``--benchmark-json=bench.json`` to keep the figures). In the default suite each benchmark
runs as a short test (``--benchmark-disable``): a few interleaved rounds, no figure trusted.

Every workload comes from ``iome_ref.report.workloads`` (the same ones ``iome bench`` prints):
fresh one-time keys and freshly parsed objects, one per call. Each benchmark measures its item
interleaved with the bound, libsodium's raw verify of a fresh key (and, for an item that signs,
libsodium's raw sign), in the same process, round by round, and compares medians; it stores in
``extra_info``:

- ``fraction_of_bound``: raw signature cost of the item / its cost (1.0 = it costs exactly the
  Ed25519 operations it needs; the issue's target is >= 0.9);
- ``per_second`` and ``bound_per_second``: items and raw verifies per CPU second;
- ``median_s``, ``bound_median_s``, ``rounds``, ``signatures_per_op``, ``signs_per_op``.

pytest-benchmark's own timing (the table it prints) is of the item alone and is not what the
fraction is computed from: its means swing with the machine's load, the interleaved medians do
not. Timings are never asserted.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from iome_ref.report import workloads
from iome_ref.report.workloads import BOUND, SIGN_BOUND, Workload


def _rounds(config: pytest.Config) -> int:
    return 201 if config.getoption("benchmark_enable", default=False) else 3


@pytest.fixture(scope="module")
def rounds(request: pytest.FixtureRequest) -> int:
    return _rounds(request.config)


@pytest.fixture(scope="module")
def bounds(rounds: int) -> dict[str, Workload]:
    # Pools big enough that every call of every measurement gets a fresh key.
    size = 2 * rounds + 8
    return {BOUND: workloads.raw_verify_sodium(size), SIGN_BOUND: workloads.raw_sign_sodium(size)}


@pytest.fixture(scope="module")
def stateless(rounds: int) -> dict[str, Workload]:
    return workloads.stateless_check(2 * rounds + 8)


def _measure(
    benchmark: BenchmarkFixture, item: Workload, bounds: dict[str, Workload], rounds: int
) -> None:
    """Interleaved medians of the item and the bound(s), then pytest-benchmark's own rounds."""
    items = {item.name: item.run, BOUND: bounds[BOUND].run}
    if item.signs_per_op:
        items[SIGN_BOUND] = bounds[SIGN_BOUND].run
    medians = workloads.measure_interleaved(items, rounds)
    fraction = workloads.fractions_of_bound(medians, {item.name: item}).get(item.name)
    per_op = medians[item.name] / item.ops_per_run
    benchmark.extra_info.update(
        fraction_of_bound=None if fraction is None else round(fraction, 4),
        per_second=round(1 / per_op, 1),
        bound_per_second=round(1 / medians[BOUND], 1),
        median_s=per_op,
        bound_median_s=medians[BOUND],
        rounds=rounds,
        signatures_per_op=item.signatures_per_op,
        signs_per_op=item.signs_per_op,
        timer="process_time",
    )
    benchmark.pedantic(item.run, rounds=rounds, iterations=1, warmup_rounds=1)
    assert per_op > 0


@pytest.mark.benchmark(group="signature")
def test_bench_raw_verify_openssl(
    benchmark: BenchmarkFixture, bounds: dict[str, Workload], rounds: int
) -> None:
    """``cryptography``'s verify of a fresh key: the library the bound was chosen over."""
    _measure(benchmark, workloads.raw_verify_openssl(2 * rounds + 8), bounds, rounds)


@pytest.mark.parametrize("fresh", [True, False], ids=["fresh-key", "seen-key"])
@pytest.mark.benchmark(group="signature")
def test_bench_strict_verify(
    benchmark: BenchmarkFixture, bounds: dict[str, Workload], rounds: int, fresh: bool
) -> None:
    """``iome_ref.crypto.verify``: hex decoding, IOME-SIG-002..008, the equation."""
    _measure(benchmark, workloads.strict_verify(2 * rounds + 8, fresh=fresh), bounds, rounds)


@pytest.mark.parametrize("tx_type", workloads.STATELESS_TYPES)
@pytest.mark.benchmark(group="stateless")
def test_bench_stateless_check(
    benchmark: BenchmarkFixture,
    bounds: dict[str, Workload],
    stateless: dict[str, Workload],
    rounds: int,
    tx_type: str,
) -> None:
    """``check_stateless`` of a freshly parsed transaction with fresh keys: tx id (canonical
    bytes + SHA-256), the type's field rules, every signature."""
    _measure(benchmark, stateless[f"stateless_{tx_type}"], bounds, rounds)


@pytest.mark.benchmark(group="certificates")
def test_bench_certificate_check(
    benchmark: BenchmarkFixture, bounds: dict[str, Workload], rounds: int
) -> None:
    """A station's certificate path judged at a new time on every call (each presence it
    signs claims its own time): no signature, so no fraction; calls per second beside the
    raw verify's."""
    _measure(benchmark, workloads.certificate_check(2 * rounds + 8), bounds, rounds)


@pytest.mark.benchmark(group="certificates")
def test_bench_certificate_check_after_new_list(
    benchmark: BenchmarkFixture, bounds: dict[str, Workload], rounds: int
) -> None:
    """The same station's first check on a directory that has just taken a new revocation
    list: what every station costs a chain once after each RevocationList it accepts."""
    _measure(benchmark, workloads.certificate_check_new_list(2 * rounds + 8), bounds, rounds)


@pytest.mark.benchmark(group="block")
def test_bench_apply_block_of_100_esdps(
    benchmark: BenchmarkFixture, bounds: dict[str, Workload], request: pytest.FixtureRequest
) -> None:
    """A freshly parsed 100-ESDP public block (100 fresh home keys) applied to a fresh chain:
    header, producer certificate, each transaction's placement, tx id, rules, signature."""
    rounds = 21 if _rounds(request.config) > 3 else 2
    _measure(benchmark, workloads.block_application(2 * rounds + 4), bounds, rounds)


@pytest.mark.benchmark(group="trip")
def test_bench_trip_extraction(
    benchmark: BenchmarkFixture, bounds: dict[str, Workload], rounds: int
) -> None:
    """``VerifierQuorum.on_claim`` on fresh presences and claim: 6 verifies, 2 co-signatures,
    the certificates of both stations and every claim rule."""
    _measure(benchmark, workloads.trip_extraction(2 * rounds + 8), bounds, rounds)


@pytest.fixture
def parallel(request: pytest.FixtureRequest) -> Iterator[dict[str, Workload]]:
    enabled = _rounds(request.config) > 3
    batch, size = (200, 12) if enabled else (4, 3)
    built = {
        work.name: work
        for work in (
            workloads.trip_extraction_batch(1, batch, size),
            workloads.trip_extraction_batch(2, batch, size),
            workloads.raw_verify_batch(1, 6 * batch, size),
            workloads.raw_verify_batch(2, 6 * batch, size),
        )
    }
    yield built
    for work in built.values():
        work.close()


@pytest.mark.benchmark(group="parallel")
def test_bench_trip_extraction_on_2_workers_vs_1(
    benchmark: BenchmarkFixture, parallel: dict[str, Workload]
) -> None:
    """Trip extraction in batches (stateless checks and trip proposals in the workers) on 2
    worker processes vs 1, and beside it the machine's own scaling of raw verifies over 2
    processes vs 1 (wall clock, interleaved medians). Read with the load: on a machine whose
    cores are busy, nothing scales."""
    rounds = 11 if parallel["trip_extraction_batch_1w"].ops_per_run > 4 else 2
    load_before = os.getloadavg()[0]
    medians = workloads.measure_interleaved(
        {name: work.run for name, work in parallel.items()}, rounds, timer=time.perf_counter
    )
    benchmark.extra_info.update(
        trip_extraction_speedup=round(
            medians["trip_extraction_batch_1w"] / medians["trip_extraction_batch_2w"], 3
        ),
        raw_verify_speedup=round(
            medians["raw_verify_batch_1w"] / medians["raw_verify_batch_2w"], 3
        ),
        trip_per_second_2w=round(
            parallel["trip_extraction_batch_2w"].ops_per_run / medians["trip_extraction_batch_2w"],
            1,
        ),
        load_average_1min=[round(load_before, 2), round(os.getloadavg()[0], 2)],
        cpu_count=os.cpu_count(),
        rounds=rounds,
        timer="perf_counter",
    )
    benchmark.pedantic(parallel["trip_extraction_batch_2w"].run, rounds=1, iterations=1)
    assert all(value > 0 for value in medians.values())
