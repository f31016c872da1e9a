"""The measuring routines of the benchmark scripts, checked as ordinary short tests (the
scripts' own modules are long benchmarks, skipped by default: tests/bench/conftest.py)."""

from __future__ import annotations

from iome_ref.simulation.loop import SimulationConfig
from tests.bench.test_bench_simulation import (
    measure_crypto,
    measure_steady,
    measure_whole_crypto,
    measure_whole_run,
)


def test_crypto_floor_is_a_part_of_a_round() -> None:
    """The floor sees the libraries' calls (a renamed binding would make it 0 and every cap
    infinite) and is less than the round that contains it."""
    config = SimulationConfig(seed=3, evs=40, stations=20, homes=10, rounds=1_000, regions=2)
    crypto, crypto_trips = measure_crypto(config, rounds=1)
    whole, trips = measure_steady(config, rounds=1)
    assert crypto_trips == trips > 0  # the same seeded rounds
    assert 0 < crypto < whole


def test_whole_run_floor_is_a_part_of_the_run() -> None:
    config = SimulationConfig(seed=3, evs=40, stations=20, homes=10, rounds=1, regions=2)
    crypto, crypto_trips = measure_whole_crypto(config)
    whole, trips = measure_whole_run(config)
    assert crypto_trips == trips > 0
    assert 0 < crypto < whole
