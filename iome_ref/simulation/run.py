"""Run the loop twice (price-aware and a baseline that ignores prices) and write the results.

The summary is the run's evidence: per round and region, forecasts against ground truth,
prices and vehicle energy; the ledger audit (from the ledger alone); and the effect of the
loop, measured as regional imbalance against the same seed's baseline.

Every output file appears whole or not at all: each is written under a temporary name beside
its destination and renamed over it only once complete, so a run that fails (a bug, a full
disk, Ctrl-C) leaves no partial ledger or summary behind, and an earlier file stays intact.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from iome_ref.chain.store import MemoryStore, SqliteStore, Store
from iome_ref.crypto import KeyPair
from iome_ref.simulation.loop import DrawnProfiles, Simulation, SimulationConfig
from iome_ref.simulation.summary import audit_ledger, imbalance_wh

__all__ = ["atomic_output", "open_fresh_store", "run_simulation", "write_summary"]

Progress = Callable[[str, int], None]


#: SQLite's companion files of a database ``X``: ``X-wal`` and ``X-shm`` (WAL mode).
_SQLITE_SUFFIXES = ("", "-wal", "-shm")


def _remove(path: Path) -> None:
    for suffix in _SQLITE_SUFFIXES:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``; renamed to ``path`` if the block succeeds, removed
    (with any SQLite companions) if it raises, whatever it raises."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    _remove(temporary)
    try:
        yield temporary
    except BaseException:
        _remove(temporary)
        raise
    for suffix in _SQLITE_SUFFIXES[1:]:
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.replace(temporary, path)


def open_fresh_store(db: Path | None) -> Store:
    """A new SQLite file (any earlier one at ``db`` is replaced) or, without ``db``, memory."""
    if db is None:
        return MemoryStore()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    return SqliteStore(db)


def _run(
    config: SimulationConfig,
    store: Store,
    label: str,
    progress: Progress | None,
    *,
    keys: dict[str, KeyPair] | None = None,
    drawn: DrawnProfiles | None = None,
) -> tuple[Simulation, dict[str, Any]]:
    sim = Simulation(config, store, keys, drawn)
    records = sim.run(None if progress is None else lambda r: progress(label, r))
    result = {
        "rounds": [record.to_json() for record in records],
        "imbalance_wh": imbalance_wh(records),
        "ev_charged_wh": sum(g.ev_charged_wh for r in records for g in r.regions.values()),
        "ev_discharged_wh": sum(g.ev_discharged_wh for r in records for g in r.regions.values()),
        "trips_completed": sum(r.trips_completed for r in records),
    }
    return sim, result


def _run_audited(
    config: SimulationConfig, db: Path | None, progress: Progress | None
) -> tuple[Simulation, dict[str, Any], dict[str, Any]]:
    store = open_fresh_store(db)
    try:
        sim, aware = _run(config, store, "price-aware", progress)
        audit = audit_ledger(sim.net.ledger, sim.completed)
    finally:
        store.close()
    return sim, aware, audit


def _run_baseline(
    config: SimulationConfig, progress: Progress | None, aware: Simulation
) -> dict[str, Any]:
    """The same seed without prices, in memory. It shares the price-aware run's keys and
    driver profiles: the same seed derives the same keys and draws the same profiles on the
    same city (``DrawnProfiles``), so they are shared, not made again."""
    _, baseline = _run(
        replace(config, price_aware=False),
        MemoryStore(),
        "baseline",
        progress,
        keys=aware.net.keys,
        drawn=aware.drawn,
    )
    return baseline


def run_simulation(
    config: SimulationConfig, db: Path | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """The price-aware run on ``db`` (its ledgers), then the baseline in memory.

    ``db`` receives the ledgers only if both runs complete (module docstring).
    """
    if db is None:
        sim, aware, audit = _run_audited(config, None, progress)
        baseline = _run_baseline(config, progress, sim)
    else:
        with atomic_output(db) as temporary:
            sim, aware, audit = _run_audited(config, temporary, progress)
            baseline = _run_baseline(config, progress, sim)
    reduction = baseline["imbalance_wh"] - aware["imbalance_wh"]
    return {
        "config": sim.describe(),
        "price_aware": aware,
        "baseline": baseline,
        "effect": {
            "imbalance_wh": aware["imbalance_wh"],
            "baseline_imbalance_wh": baseline["imbalance_wh"],
            "reduction_wh": reduction,
            "reduction_per_mille": round(1000 * reduction / baseline["imbalance_wh"])
            if baseline["imbalance_wh"]
            else 0,
        },
        "audit": audit,
    }


def write_summary(summary: dict[str, Any], out_dir: Path) -> Path:
    """summary.json, sorted and indented: same seed, same bytes."""
    path = out_dir / "summary.json"
    with atomic_output(path) as temporary:
        temporary.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n", "utf-8")
    return path
