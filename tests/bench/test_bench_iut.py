"""What the wire costs: vector cases per second through the reference in process and over
stdio (``iome serve --stdio``, one subprocess), measured in the same run, interleaved.

Run: ``python -m uv run pytest tests/bench/test_bench_iut.py -n 0 --benchmark-enable
--benchmark-only -q -s`` (add ``--benchmark-json=bench.json`` to keep the figures).

Each round runs every vector case once in process and once over stdio, alternating which goes
first, timing each side; the medians over rounds give ``cases_per_s_inproc``,
``cases_per_s_stdio`` and ``stdio_cost_ratio`` (stdio seconds per case / in-process seconds
per case) in ``extra_info``. The target is a ratio of at most 2; it is reported, not asserted:
speed depends on the machine and its load, a verdict must not.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from iome_ref.conformance.adapters import open_iut
from iome_ref.conformance.iut import IUT
from tests.conformance.iut_cases import load_cases, run_case_on

IOME = str(Path(sys.executable).parent / "iome")
CASES = load_cases()


def _seconds(iut: IUT) -> float:
    started = time.perf_counter()
    for _, context, case in CASES:
        run_case_on(iut, context, case)
    return time.perf_counter() - started


@pytest.mark.benchmark(group="iut")
def test_bench_iut_inproc_vs_stdio(benchmark: BenchmarkFixture) -> None:
    inproc, stdio = open_iut("ref"), open_iut(f"stdio:{IOME} serve --stdio", timeout_s=30)
    inproc.hello(), stdio.hello()
    _seconds(stdio)  # warm both: imports and caches are not the wire's cost
    _seconds(inproc)
    times: dict[str, list[float]] = {"inproc": [], "stdio": []}
    order = [("inproc", inproc), ("stdio", stdio)]

    def one_round() -> None:
        for name, iut in order:
            times[name].append(_seconds(iut))
        order.reverse()

    try:
        benchmark.pedantic(one_round, rounds=5, iterations=1)
    finally:
        stdio.close()
        inproc.close()
    per_case = {name: statistics.median(values) / len(CASES) for name, values in times.items()}
    ratio = per_case["stdio"] / per_case["inproc"]
    benchmark.extra_info.update(
        cases=len(CASES),
        cases_per_s_inproc=round(1 / per_case["inproc"], 1),
        cases_per_s_stdio=round(1 / per_case["stdio"], 1),
        stdio_cost_ratio=round(ratio, 3),
    )
    print(f"\nIUT benchmark: {benchmark.extra_info}")
    assert ratio > 0
