"""``iome bench`` and the report's short benchmark: rates, their ratios, and projections.

Built on workloads.py (fresh one-time keys, fresh parsed objects, interleaved medians): every
rate is measured in the same run as the raw libsodium Ed25519 verify, and the figures that
compare are ratios against it (a fraction of 1.0 means an operation costs exactly its
signature checks). Absolute rates are printed for the projections only, with the machine they
were measured on.

Figures:
- transaction validation (``check_stateless`` per type) and block validation (``apply_block``
  of 100 ESDPs) per second, and each as a fraction of the raw verify bound;
- trip extraction per second per verifier (a quorum of 3, 2 co-signing), and its scaling from
  1 to 2 worker processes (wall clock, since the work is in other processes);
- conformance cases per second in process against over stdio (``iome serve --stdio``, started
  with this interpreter: :data:`SERVE_STDIO`);
- projections: verifier cores for a city (1M vehicles) and a country (30M), 2 trips a day,
  at average and 10x peak load, and whether one machine (:data:`MACHINE_CORES`) suffices.

- linking vs trips: the observer's forced links on a synthetic city of N trips;
- simulation rounds vs vehicles (``full`` only: the report's short run leaves it out, and says
  so).

What must not live here: the workloads and the measuring routine (workloads.py).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any, Final

from iome_ref.errors import ImplementationError
from iome_ref.report.model import BenchFigure, BenchSection, Plot
from iome_ref.report.workloads import (
    BOUND,
    SIGN_BOUND,
    block_application,
    fractions_of_bound,
    measure_interleaved,
    raw_sign_sodium,
    raw_verify_batch,
    raw_verify_sodium,
    stateless_check,
    strict_verify,
    trip_extraction,
    trip_extraction_batch,
)

__all__ = [
    "FULL",
    "MACHINE_CORES",
    "SHORT",
    "BenchConfig",
    "projections",
    "run_bench",
    "short_section",
    "write_bench",
]

#: Cores of the one large machine the projections compare against.
MACHINE_CORES: Final = 64
#: Trips per vehicle per day in the projections (issue 17).
TRIPS_PER_DAY: Final = 2
PEAK_FACTOR: Final = 10
POPULATIONS: Final = {"city (1M vehicles)": 1_000_000, "country (30M vehicles)": 30_000_000}
_DAY_S: Final = 86_400
#: How long the benchmark waits for a child process's figure before giving up on it.
_CHILD_TIMEOUT_S: Final = 600.0
#: The wire server measured: ``iome serve --stdio`` started by this very interpreter, so the
#: figure needs no ``iome`` on PATH (a venv's ``bin/iome`` run without activating it) and never
#: times another installation's server.
SERVE_STDIO: Final = f"stdio:{shlex.quote(sys.executable)} -m iome_ref serve --stdio"

#: Called as work advances: (section, done, total or None, what was just done).
Progress = Callable[[str, int, int | None, str], None]


@dataclass(frozen=True)
class BenchConfig:
    """How long to measure: objects per pool, interleaved rounds, conformance cases, and the
    sizes of the scaling series (trips observed, vehicles simulated)."""

    pool: int
    rounds: int
    cases: int
    parallel_calls: int
    link_trips: tuple[int, ...]
    sim_vehicles: tuple[int, ...]


#: 40 rounds: at 12 the medians of two runs differed by up to 0.1 of the bound (the strict
#: verify once read 1.04 of the raw verify it wraps); at 40, by about 0.03, for under two
#: seconds more.
SHORT: Final = BenchConfig(
    pool=40, rounds=40, cases=20, parallel_calls=24, link_trips=(500, 2_000), sim_vehicles=()
)
FULL: Final = BenchConfig(
    pool=60,
    rounds=60,
    cases=80,
    parallel_calls=120,
    link_trips=(1_000, 10_000, 100_000),
    sim_vehicles=(50, 100, 200),
)
#: Grid of the synthetic city the linking series observes: stations 1.5 km apart, 30 km/h.
_GRID_M: Final = 1500.0
_SPEED_M_S: Final = 30 / 3.6


def _synthetic_trips(n_trips: int, seed: int) -> tuple[list[Any], dict[tuple[str, str], int]]:
    """``n_trips`` exact trips, 8 per vehicle, on a square grid of stations sized to the load,
    each vehicle leaving where it arrived after a log-normal dwell (so trip ends chain)."""
    import numpy as np  # noqa: PLC0415

    from iome_ref.analysis.tripfiles import ExactTrip  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    side = max(4, int(np.sqrt(max(16, n_trips // 200))))
    names = [f"s{i}" for i in range(side * side)]
    xy = np.array([(i % side, i // side) for i in range(side * side)], dtype=float) * _GRID_M
    tau = np.floor(np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2) / _SPEED_M_S)
    vehicles = max(1, n_trips // 8)
    where = rng.integers(0, len(names), size=vehicles)
    clock = rng.integers(0, 86_400, size=vehicles)
    trips = []
    for k in range(n_trips):
        v = k % vehicles
        origin, destination = int(where[v]), int(rng.integers(0, len(names) - 1))
        destination += destination >= origin
        end = int(clock[v]) + int(tau[origin, destination]) + int(rng.integers(0, 300))
        trips.append(
            ExactTrip(f"t{k}", f"v{v}", names[origin], int(clock[v]), names[destination], end)
        )
        where[v], clock[v] = destination, end + int(rng.lognormal(8.0, 1.0))
    travel = {
        (a, b): int(tau[i, j]) for i, a in enumerate(names) for j, b in enumerate(names) if i != j
    }
    return trips, travel


def _linking_seconds(n_trips: int) -> float:
    """Wall seconds for the observer on ``n_trips``: publish at 60 s, build the pairing and
    dwell graphs, find every forced link and anonymity set."""
    from iome_ref.analysis.forced import forced_links, observation_graphs  # noqa: PLC0415
    from iome_ref.analysis.tripfiles import trip_observation  # noqa: PLC0415

    trips, travel = _synthetic_trips(n_trips, seed=n_trips)
    started = time.process_time()
    observation, _ = trip_observation(trips, seed=1, resolution_s=60, travel_s=travel)
    pairing, dwell = observation_graphs(observation, max_dwell_s=2 * 3600)
    forced_links(pairing)
    forced_links(dwell)
    return time.process_time() - started


def _round_seconds(vehicles: int) -> float:
    """CPU seconds of one 6-hour round of the closed loop with ``vehicles``, after a warm-up
    round (set-up and first day outside the timing)."""
    from iome_ref.chain.store import MemoryStore  # noqa: PLC0415
    from iome_ref.simulation.loop import Simulation, SimulationConfig  # noqa: PLC0415

    config = SimulationConfig(
        seed=1, evs=vehicles, stations=max(20, vehicles // 50), homes=50, rounds=1_000, regions=5
    )
    simulation = Simulation(config, MemoryStore())
    simulation.start()
    simulation.step()
    started = time.process_time()
    simulation.step()
    return time.process_time() - started


def _extract_timed(calls: int, start: Barrier, elapsed: Queue[float]) -> None:
    """In a child process: build ``calls`` fresh trip extractions, wait for every sibling to
    have built its own, then put the wall seconds the extractions take."""
    work = trip_extraction(calls)
    start.wait()
    started = time.perf_counter()
    for _ in range(calls):
        work.run()
    elapsed.put(time.perf_counter() - started)


def _timed_processes(workers: int, calls: int) -> float:
    """Wall seconds ``workers`` processes take to extract ``calls`` trips each, all starting
    together once every one has built its workload (building, signing the presences and
    claims, is not extraction), the slowest one's time."""
    context = multiprocessing.get_context("fork")
    start = context.Barrier(workers)
    elapsed: Queue[float] = context.Queue()
    children = [
        context.Process(target=_extract_timed, args=(calls, start, elapsed)) for _ in range(workers)
    ]
    for child in children:
        child.start()
    try:
        times: list[float] = []
        deadline = time.monotonic() + _CHILD_TIMEOUT_S
        while len(times) < workers:
            try:
                times.append(elapsed.get(timeout=1.0))
            except queue.Empty:
                # A child that died never reports (and its siblings wait at the barrier).
                dead = [c.exitcode for c in children if c.exitcode not in (None, 0)]
                if dead or time.monotonic() > deadline:
                    start.abort()  # the siblings waiting to start stop there
                    raise ImplementationError(
                        "bench", f"trip extraction process failed (exit codes {dead})"
                    ) from None
        return max(times)
    finally:
        for child in children:
            child.join(timeout=5.0)
            if child.is_alive():
                child.kill()
                child.join()


def _process_rates(calls: int, rounds: int = 3) -> dict[int, float]:
    """Trips extracted per second by 1 and by 2 processes doing ``calls`` each: medians of
    ``rounds`` runs, the two counts alternating (the load then weighs on both alike)."""
    seconds: dict[int, list[float]] = {1: [], 2: []}
    for round_index in range(rounds):
        for workers in (1, 2) if round_index % 2 == 0 else (2, 1):
            seconds[workers].append(_timed_processes(workers, calls))
    return {n: n * calls / statistics.median(times) for n, times in seconds.items()}


def _pipeline_scaling(batch: int, rounds: int = 3) -> dict[str, float]:
    """Median wall seconds per run of trip extraction in batches of ``batch`` claims on 1 and
    2 worker processes and of ``6 * batch`` raw verifies spread alike, interleaved, each run
    on fresh objects (the first run of each starts its workers and is not measured)."""
    works = [
        trip_extraction_batch(1, batch, rounds + 1),
        trip_extraction_batch(2, batch, rounds + 1),
        raw_verify_batch(1, 6 * batch, rounds + 1),
        raw_verify_batch(2, 6 * batch, rounds + 1),
    ]
    try:
        for work in works:
            work.run()
        return measure_interleaved(
            {work.name: work.run for work in works}, rounds, timer=time.perf_counter
        )
    finally:
        for work in works:
            work.close()


def _cases_per_second(impl: str, count: int) -> float:
    """Conformance vector cases played per second on ``impl`` (start-up excluded)."""
    from iome_ref.conformance.runner import collect_cases, open_iut  # noqa: PLC0415
    from iome_ref.conformance.scenarios import execute  # noqa: PLC0415
    from iome_ref.vectors.spec_index import default_spec_dir  # noqa: PLC0415

    cases = [c for c in collect_cases(default_spec_dir(), 1, "quick") if c.machine is None]
    chosen = cases[:count]
    iut = open_iut(impl)
    try:
        manifest = iut.hello()
        started = time.perf_counter()
        for case in chosen:
            execute(case.scenario, iut, seed=1, manifest=manifest)
        elapsed = time.perf_counter() - started
    finally:
        iut.close()
    return len(chosen) / elapsed


def projections(per_core_trips_s: float) -> tuple[list[BenchFigure], Plot]:
    figures: list[BenchFigure] = []
    series: dict[str, list[tuple[float, float]]] = {"average": [], f"{PEAK_FACTOR}x peak": []}
    for label, vehicles in POPULATIONS.items():
        average = vehicles * TRIPS_PER_DAY / _DAY_S
        for name, load in (("average", average), (f"{PEAK_FACTOR}x peak", average * PEAK_FACTOR)):
            cores = load / per_core_trips_s
            machines = cores / MACHINE_CORES
            verdict = (
                "one machine suffices"
                if cores <= MACHINE_CORES
                else f"needs {machines:.1f} machines of {MACHINE_CORES} cores"
            )
            figures.append(
                BenchFigure(
                    name=f"verifier cores (quorum's work), {label}, {name}",
                    value=cores,
                    unit="cores",
                    note=f"{load:.0f} trips/s; {verdict}",
                )
            )
            series[name].append((vehicles / 1e6, cores))
    limit = MACHINE_CORES * per_core_trips_s * _DAY_S / (TRIPS_PER_DAY * PEAK_FACTOR)
    figures.append(
        BenchFigure(
            name=f"vehicles one {MACHINE_CORES}-core machine serves at {PEAK_FACTOR}x peak",
            value=limit,
            unit="vehicles",
            note="beyond this, verification needs more than one machine",
        )
    )
    plot = Plot(
        name="projection",
        title=f"Verifier cores needed ({TRIPS_PER_DAY} trips/vehicle/day; "
        f"one machine = {MACHINE_CORES} cores)",
        x_label="vehicles (millions)",
        y_label="cores",
        series={k: list(v) for k, v in series.items()},
    )
    return figures, plot


def run_bench(config: BenchConfig, progress: Progress | None = None) -> BenchSection:
    """Measure every figure under ``config``."""

    def step(done: int, what: str) -> None:
        if progress is not None:
            progress("benchmark", done, 5, what)

    stateless = stateless_check(config.pool)
    workloads = {
        BOUND: raw_verify_sodium(config.pool),
        # Measured so a trip's two co-signatures count in its fraction of the bound.
        SIGN_BOUND: raw_sign_sodium(config.pool),
        "strict_verify": strict_verify(config.pool),
        # A fresh block every round: a block applied before carries its checked tx ids and
        # signatures, and would measure nothing (a smaller pool gave "5.7 of the bound").
        "apply_block": block_application(config.rounds + 1),
        "trip_extraction": trip_extraction(config.pool),
        **stateless,
    }
    medians = measure_interleaved({k: w.run for k, w in workloads.items()}, config.rounds)
    fractions = fractions_of_bound(medians, workloads)
    step(1, "validation")
    figures = [
        BenchFigure(
            name="raw Ed25519 verify (libsodium)",
            value=1 / medians[BOUND],
            unit="per second",
            note="the bound, fresh keys",
        )
    ]
    for name, work in workloads.items():
        if name == BOUND:
            continue
        figures.append(
            BenchFigure(
                name=f"{name} per second",
                value=1 / medians[name],
                unit="per second",
                note=f"{fractions[name]:.2f} of the raw verify bound "
                f"({work.signatures_per_op} signatures"
                + (f", {work.signs_per_op} signed" if work.signs_per_op else "")
                + ")"
                if name in fractions
                else work.description,
            )
        )
    per_verifier = 1 / medians["trip_extraction"]
    rates = _process_rates(config.parallel_calls)
    one, two = rates[1], rates[2]
    step(2, "trip extraction scaling")
    figures += [
        BenchFigure(
            name="trip extraction, 1 process",
            value=one,
            unit="trips per second",
            note="wall clock from when every process has built its trips, medians of runs "
            "alternating 1 and 2 processes; slowed by other processes on a loaded machine",
        ),
        BenchFigure(name="trip extraction, 2 processes", value=two, unit="trips per second"),
        BenchFigure(
            name="trip extraction scaling 1 -> 2 cores",
            value=two / one,
            unit="ratio",
            note=f"{os.cpu_count()} cores on this machine; 2.0 is linear",
        ),
    ]
    pipeline = _pipeline_scaling(config.parallel_calls)
    figures += [
        BenchFigure(
            name="trip extraction in batches, 2 workers vs 1",
            value=pipeline["trip_extraction_batch_1w"] / pipeline["trip_extraction_batch_2w"],
            unit="ratio",
            note="VerifierQuorum.on_claims: stateless checks and trips in the workers, state "
            "rules in order in the calling process; wall clock, interleaved medians",
        ),
        BenchFigure(
            name="raw verify in batches, 2 processes vs 1",
            value=pipeline["raw_verify_batch_1w"] / pipeline["raw_verify_batch_2w"],
            unit="ratio",
            note="the machine's own scaling, measured beside it",
        ),
    ]
    inproc = _cases_per_second("ref", config.cases)
    stdio = _cases_per_second(SERVE_STDIO, config.cases)
    step(3, "conformance cases")
    figures += [
        BenchFigure(name="conformance cases in process", value=inproc, unit="cases per second"),
        BenchFigure(name="conformance cases over stdio", value=stdio, unit="cases per second"),
        BenchFigure(
            name="stdio / in process", value=stdio / inproc, unit="ratio", note="wire overhead"
        ),
    ]
    projected, projection = projections(per_verifier)
    figures += projected
    step(4, "projections")
    scaling: list[Plot] = []
    series = (
        (
            "linking",
            "Observer: forced links and anonymity sets",
            "trips observed",
            "trips per second",
            [(n, n / _linking_seconds(n)) for n in config.link_trips],
        ),
        (
            "simulation",
            "Closed loop: CPU seconds per 6-hour round",
            "vehicles",
            "seconds per round",
            [(n, _round_seconds(n)) for n in config.sim_vehicles],
        ),
    )
    for name, title, x_label, y_label, points in series:
        figures += [
            BenchFigure(name=f"{name}, {n} {x_label}", value=value, unit=y_label)
            for n, value in points
        ]
        if points:
            scaling.append(
                Plot(
                    name=name,
                    title=title,
                    x_label=x_label,
                    y_label=y_label,
                    series={name: [(float(n), value) for n, value in points]},
                )
            )
    throughput = Plot(
        name="throughput",
        title="Trip extraction throughput vs worker processes",
        x_label="worker processes (load)",
        y_label="trips per second",
        series={"measured": [(1.0, one), (2.0, two)], "linear": [(1.0, one), (2.0, 2 * one)]},
        x_ticks=[(1.0, "1"), (2.0, "2")],
    )
    ratios = Plot(
        name="fraction-of-bound",
        title="Validation as a fraction of raw Ed25519 verify (1.0 = only signatures cost)",
        x_label="workload",
        y_label="fraction of bound",
        series={"fraction": [(float(i), value) for i, value in enumerate(fractions.values())]},
        kind="bar",
        x_ticks=[(float(i), name) for i, name in enumerate(fractions)],
    )
    step(5, "done")
    return BenchSection(
        status="run",
        reason="projections use the CPU-time rate of one process"
        + (
            ""
            if config.sim_vehicles
            else "; simulation rounds vs vehicles: iome bench --profile full"
        ),
        figures=figures,
        plots=[throughput, ratios, projection, *scaling],
    )


def short_section(progress: Progress | None = None) -> BenchSection:
    """The report's benchmark: :data:`SHORT`, a few seconds."""
    return run_bench(SHORT, progress)


def write_bench(section: BenchSection, out: Path) -> list[Path]:
    """bench.json and one SVG per plot under ``out``."""
    from iome_ref.report.plots import svg_of  # noqa: PLC0415

    out.mkdir(parents=True, exist_ok=True)
    written = [out / "bench.json"]
    document = section.model_dump(mode="json")
    document["machine"] = {"cores": os.cpu_count(), "load": list(os.getloadavg())}
    written[0].write_text(json.dumps(document, indent=1) + "\n", "utf-8")
    for plot in section.plots:
        path = out / f"{plot.name}.svg"
        path.write_text(svg_of(plot, width=7.5, height=4.2), "utf-8")
        written.append(path)
    return written
