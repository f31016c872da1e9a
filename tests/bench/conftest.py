"""Benchmarks run only when asked for (``--benchmark-enable``), never in the default suite.

pytest-benchmark's disabled mode still runs each benchmarked function once, and the scaling
benchmarks build simulations of up to 100,000 vehicles: minutes that the default run, which
CI times, must not spend. Speed is read from a dedicated run's JSON, as ratios within it.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("benchmark_enable", default=False):
        return
    skip = pytest.mark.skip(reason="benchmark: run with -n 0 --benchmark-enable --benchmark-only")
    for item in items:
        if "tests/bench/" in item.nodeid or item.nodeid.startswith("bench/"):
            item.add_marker(skip)
