"""Scaling of the closed loop with the number of vehicles (issue: 1k, 10k and 100k vehicles).

One benchmark round is one simulated round of the loop (6 h) on a simulation that has already
run its first round, so set-up and the warm-up day are outside the timing. Homes (200) and
stations (vehicles / 50, at least 20) are held so that cost is read against vehicles; the
vehicles' trips dominate: two presences, a claim, a quorum Trip and usually a session each,
all signed, and verified once (an object the verifiers checked is marked, so the ledger
applying their block does not verify it again).

``test_bench_cpu_per_trip`` is issue 16's figure: CPU seconds of three rounds of the default
simulation (200 vehicles, 100 homes) per completed trip, metering of the homes included.
"""

from __future__ import annotations

import time

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from iome_ref.chain.store import MemoryStore
from iome_ref.simulation.loop import Simulation, SimulationConfig


# A 100,000-vehicle round takes minutes; the suite's 300 s backstop would cut it short.
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("evs", [1_000, 10_000, 100_000])
def test_bench_round_per_vehicle_count(benchmark: BenchmarkFixture, evs: int) -> None:
    config = SimulationConfig(
        seed=1, evs=evs, stations=max(20, evs // 50), homes=200, rounds=1_000, regions=5
    )
    sim = Simulation(config, MemoryStore())
    sim.start()
    sim.step()
    public = sim.net.ledger.chains["public"]
    height = public.height

    def one_round() -> int:
        return sim.step().trips_completed

    trips = benchmark.pedantic(one_round, rounds=1, iterations=1, warmup_rounds=0)
    benchmark.extra_info["vehicles"] = evs
    benchmark.extra_info["trips_in_round"] = trips
    assert trips > 0
    assert public.height > height  # the timed round published its blocks


@pytest.mark.timeout(1200)
def test_bench_cpu_per_trip(benchmark: BenchmarkFixture) -> None:
    config = SimulationConfig(seed=1, evs=200, stations=20, homes=100, rounds=1_000, regions=5)
    sim = Simulation(config, MemoryStore())
    sim.start()
    sim.step()
    spent: list[float] = []
    trips: list[int] = []

    def three_rounds() -> None:
        started = time.process_time()
        trips.append(sum(sim.step().trips_completed for _ in range(3)))
        spent.append(time.process_time() - started)

    benchmark.pedantic(three_rounds, rounds=1, iterations=1, warmup_rounds=0)
    benchmark.extra_info["trips"] = trips[0]
    benchmark.extra_info["cpu_ms_per_trip"] = round(1000 * spent[0] / trips[0], 3)
    assert trips[0] > 0
