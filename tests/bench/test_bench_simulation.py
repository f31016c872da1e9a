"""Scaling of the closed loop with the number of vehicles (issue: 1k, 10k and 100k vehicles),
and issue 16's figure: CPU time per completed trip.

One benchmark round is one simulated round of the loop (6 h) on a simulation that has already
run its first round, so set-up and the warm-up day are outside the timing. Homes (200) and
stations (vehicles / 50, at least 20) are held so that cost is read against vehicles; the
vehicles' trips dominate: two presences, a claim, a quorum Trip and usually a session each,
all signed, and verified once (an object the verifiers checked is marked, so the ledger
applying their block does not verify it again).

``crypto`` and ``whole-crypto`` are the CPU time of the same work spent inside the
cryptographic libraries only: the floor while the protocol does the cryptography it does; each
``cap`` is the base's figure over this tree's floor, the most a faster code could gain.

``test_bench_cpu_per_trip`` records CPU milliseconds per completed trip of three rounds of the
default simulation (200 vehicles, 100 homes) after its first, homes' metering included;
``test_bench_cpu_per_trip_whole_run`` the same for a whole ``iome simulate`` run with its
defaults (set-up, warm-up day, the price-aware run and its baseline). Both in ``extra_info``:
the figure to compare across commits, never asserted (timings are not tests).

Before/after on one machine, interleaved so that both see the same load (eb5b1d1: the tree
before any issue-16 work, the issue's "before")::

    git worktree add --detach /tmp/sim-base eb5b1d1
    python -m tests.bench.test_bench_simulation --base /tmp/sim-base --repeat 3

runs each measurement in a fresh process against the base tree's ``iome_ref`` and this
tree's, alternately, and prints CPU ms per trip (``time.process_time``) with medians, their
ratio and the load average. ``--config '{"evs": 1000, "stations": 50, "homes": 500}'``
measures a larger city.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def measure_steady(config: SimulationConfig, rounds: int = 3) -> tuple[float, int]:
    """CPU seconds and completed trips of ``rounds`` rounds after the first (set-up, warm-up
    day and first round untimed)."""
    sim = Simulation(config, MemoryStore())
    sim.start()
    sim.step()
    started = time.process_time()
    trips = sum(sim.step().trips_completed for _ in range(rounds))
    return time.process_time() - started, trips


#: The C functions of the cryptographic libraries (libsodium through PyNaCl, OpenSSL through
#: cryptography, hashlib): signing, verifying, one-time keys, sealing, hashing.
_CRYPTO = re.compile(r"_sodium\.|cryptography\.hazmat|ed25519\.|x25519\.|_hashlib\.")


def _crypto_seconds(work: Callable[[], int]) -> tuple[float, int]:
    """CPU seconds ``work`` spends inside the cryptographic libraries (cProfile's own time of
    their C functions; the profiler slows the Python, not the C calls it times), and what it
    returns (trips)."""
    profile = cProfile.Profile()
    profile.enable()
    trips = work()
    profile.disable()
    functions = pstats.Stats(profile).get_stats_profile().func_profiles
    spent = sum(
        row.tottime
        for name, row in functions.items()
        if row.file_name == "~" and _CRYPTO.search(name)
    )
    return spent, trips


def measure_crypto(config: SimulationConfig, rounds: int = 3) -> tuple[float, int]:
    """The rounds of :func:`measure_steady`, the time inside the cryptographic libraries only:
    the floor of their cost while the protocol signs, verifies and seals what it does,
    whatever the Python around it costs."""
    sim = Simulation(config, MemoryStore())
    sim.start()
    sim.step()
    return _crypto_seconds(lambda: sum(sim.step().trips_completed for _ in range(rounds)))


def measure_whole_crypto(config: SimulationConfig) -> tuple[float, int]:
    """:func:`measure_whole_run`, the time inside the cryptographic libraries only."""
    return _crypto_seconds(lambda: measure_whole_run(config)[1])


def measure_whole_run(config: SimulationConfig) -> tuple[float, int]:
    """CPU seconds and completed trips (price-aware and baseline) of ``iome simulate``'s work:
    both runs from set-up on, ledgers in memory."""
    # Imported here: the base tree this module may measure has the same function.
    from iome_ref.simulation.run import run_simulation  # noqa: PLC0415

    started = time.process_time()
    summary = run_simulation(config)
    spent = time.process_time() - started
    return spent, summary["price_aware"]["trips_completed"] + summary["baseline"]["trips_completed"]


@pytest.mark.timeout(1200)
def test_bench_cpu_per_trip(benchmark: BenchmarkFixture) -> None:
    config = SimulationConfig(seed=1, evs=200, stations=20, homes=100, rounds=1_000, regions=5)
    measured: list[tuple[float, int]] = []
    benchmark.pedantic(
        lambda: measured.append(measure_steady(config)), rounds=1, iterations=1, warmup_rounds=0
    )
    spent, trips = measured[0]
    benchmark.extra_info["trips"] = trips
    benchmark.extra_info["cpu_ms_per_trip"] = round(1000 * spent / trips, 3)
    assert trips > 0


@pytest.mark.timeout(1200)
def test_bench_cpu_per_trip_whole_run(benchmark: BenchmarkFixture) -> None:
    measured: list[tuple[float, int]] = []
    benchmark.pedantic(
        lambda: measured.append(measure_whole_run(SimulationConfig())),
        rounds=1,
        iterations=1,
        warmup_rounds=0,
    )
    spent, trips = measured[0]
    benchmark.extra_info["trips"] = trips
    benchmark.extra_info["cpu_ms_per_trip"] = round(1000 * spent / trips, 3)
    assert trips > 0


# --------------------------------------------------------------------------- before/after

_KINDS = {
    "steady": measure_steady,
    "whole": measure_whole_run,
    "crypto": measure_crypto,
    "whole-crypto": measure_whole_crypto,
}


def _measure_in(tree: Path, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """One measurement in a fresh process importing ``iome_ref`` from ``tree``."""
    argv = [sys.executable, __file__, "--measure", kind, "--config", json.dumps(config)]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    if Path(result["tree"]).resolve() != tree.resolve():
        raise SystemExit(f"measured {result['tree']}, expected {tree}: PYTHONPATH not honoured")
    return result


def main() -> None:
    """Interleaved before/after CPU per trip (module docstring), or one measurement."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--base", type=Path, help="work tree of the commit to compare with")
    parser.add_argument("--repeat", type=int, default=3, help="alternations (default 3)")
    parser.add_argument(
        "--kinds",
        default="steady,crypto,whole,whole-crypto",
        help="steady, crypto, whole, whole-crypto (comma-separated)",
    )
    parser.add_argument("--config", default="{}", help="SimulationConfig fields as JSON")
    parser.add_argument("--measure", choices=sorted(_KINDS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    config: dict[str, Any] = json.loads(args.config)
    if args.measure is not None:
        import iome_ref  # noqa: PLC0415

        steady = args.measure in {"steady", "crypto"}
        fields = {"rounds": 1_000, **config} if steady else config
        spent, trips = _KINDS[args.measure](SimulationConfig(**fields))
        tree = Path(iome_ref.__file__).resolve().parent.parent
        print(json.dumps({"tree": str(tree), "cpu_s": spent, "trips": trips}))
        return
    if args.base is None:
        parser.error("--base is required")
    trees = {"base": args.base, "this": Path(__file__).resolve().parents[2]}
    medians_of: dict[str, dict[str, float]] = {}
    for kind in args.kinds.split(","):
        runs: dict[str, list[float]] = {label: [] for label in trees}
        for _ in range(args.repeat):
            for label, tree in trees.items():
                result = _measure_in(tree, kind, config)
                runs[label].append(round(1000 * result["cpu_s"] / result["trips"], 3))
        medians = medians_of[kind] = {
            label: statistics.median(values) for label, values in runs.items()
        }
        print(
            json.dumps(
                {
                    "kind": kind,
                    "config": config,
                    "cpu_ms_per_trip": runs,
                    "median": medians,
                    "base_over_this": round(medians["base"] / medians["this"], 2),
                    "loadavg": os.getloadavg(),
                }
            )
        )
    # Were every line of this tree's Python free, a run would cost its cryptography: the
    # base's figure over that is the most any speed-up of the code can reach.
    for kind, floor in (("steady", "crypto"), ("whole", "whole-crypto")):
        if kind in medians_of and floor in medians_of:
            cap = medians_of[kind]["base"] / medians_of[floor]["this"]
            print(json.dumps({"kind": f"{kind} cap", "base_over_this_crypto": round(cap, 2)}))


if __name__ == "__main__":
    main()
