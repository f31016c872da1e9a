"""The scaling benchmarks run only when asked for (``--benchmark-enable``).

pytest-benchmark's disabled mode (``--benchmark-disable`` in addopts) still runs each
benchmarked function once, as a test: cheap for the validation benchmarks, which so keep
working between benchmark runs, but the scaling benchmarks build simulations of up to 100,000
vehicles: minutes that the default run, which CI times, must not spend. Speed is read from a
dedicated run's JSON, as ratios within it.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("benchmark_enable", default=False):
        return
    skip = pytest.mark.skip(reason="long benchmark: run with -n 0 --benchmark-enable")
    for item in items:
        if item.path.name in (
            "test_bench_simulation.py",
            "test_bench_iut.py",
            "test_bench_link.py",
            "test_bench_habits.py",
        ):
            item.add_marker(skip)
