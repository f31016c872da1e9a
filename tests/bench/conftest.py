"""The long benchmarks run only when asked for, twice over.

pytest-benchmark's disabled mode (``--benchmark-disable`` in addopts) still runs each
benchmarked function once, as a test: the validation benchmarks so keep working between
benchmark runs, as short tests. The scaling benchmarks build simulations of up to 100,000
vehicles (an hour) and time the stdio wire: they run only with ``--benchmark-enable`` AND
``--bench-scaling``, so the README's benchmark command (``--benchmark-enable`` alone) times
the validation, block, trip and parallel benchmarks in minutes and never starts them.
"""

from __future__ import annotations

import pytest

LONG_BENCHMARKS = (
    "test_bench_simulation.py",
    "test_bench_iut.py",
    "test_bench_link.py",
    "test_bench_habits.py",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--bench-scaling",
        action="store_true",
        default=False,
        help="also run the hour-long scaling benchmarks (with --benchmark-enable)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    enabled = config.getoption("benchmark_enable", default=False)
    if enabled and config.getoption("bench_scaling", default=False):
        return
    reason = (
        "scaling benchmark (up to an hour): add --bench-scaling"
        if enabled
        else "long benchmark: run with -n 0 --benchmark-enable --bench-scaling"
    )
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if item.path.name in LONG_BENCHMARKS:
            item.add_marker(skip)
