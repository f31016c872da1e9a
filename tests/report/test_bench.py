"""``iome bench``: the projections' arithmetic and the files written. Speed itself is never
asserted here (it is measured by ``iome bench`` and tests/bench, as ratios)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from iome_ref.errors import ImplementationError
from iome_ref.report import bench
from iome_ref.report.bench import (
    MACHINE_CORES,
    PEAK_FACTOR,
    POPULATIONS,
    SERVE_STDIO,
    TRIPS_PER_DAY,
    projections,
    write_bench,
)
from iome_ref.report.model import BenchFigure, BenchSection
from iome_ref.report.workloads import Workload

from .helpers import run_report


@pytest.mark.parametrize("per_core", [0.5, 50.0, 5000.0])
def test_accepts_projection_from_a_measured_per_core_rate(per_core: float) -> None:
    figures, plot = projections(per_core)
    by_name = {figure.name: figure for figure in figures}
    for label, vehicles in POPULATIONS.items():
        average = vehicles * TRIPS_PER_DAY / 86_400
        for name, load in (("average", average), (f"{PEAK_FACTOR}x peak", average * PEAK_FACTOR)):
            figure = by_name[f"verifier cores (quorum's work), {label}, {name}"]
            assert figure.value == pytest.approx(load / per_core)
            fits = load / per_core <= MACHINE_CORES
            assert ("one machine suffices" in figure.note) == fits
            assert ("machines of" in figure.note) == (not fits)
    limit = next(f for f in figures if f.unit == "vehicles")
    assert limit.value == pytest.approx(
        MACHINE_CORES * per_core * 86_400 / (TRIPS_PER_DAY * PEAK_FACTOR)
    )
    assert sorted(plot.series) == ["10x peak", "average"]


def test_accepts_bench_files_written(tmp_path: Path) -> None:
    _, projection = projections(100.0)
    section = BenchSection(
        status="run", figures=[BenchFigure(name="x", value=1.5, unit="ratio")], plots=[projection]
    )
    written = write_bench(section, tmp_path)
    assert [p.name for p in written] == ["bench.json", "projection.svg"]
    document = json.loads(written[0].read_bytes())
    assert document["figures"] == [{"name": "x", "value": 1.5, "unit": "ratio", "note": ""}]
    assert document["machine"]["cores"] >= 1
    assert written[1].read_text().startswith("<svg")


def test_rejects_unknown_bench_profile_with_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    result = run_report(monkeypatch, "bench", "--profile", "huge", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert "error cli: --profile 'huge': use short or full" in result.output
    assert not (tmp_path / "bench.json").exists()


def test_accepts_stdio_figure_without_iome_on_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A venv's ``bin/iome bench`` run without activating the venv has no ``iome`` on PATH:
    the wire server is started by this interpreter, not looked up."""
    monkeypatch.setenv("PATH", str(tmp_path))
    assert bench._cases_per_second(SERVE_STDIO, 2) > 0


def test_accepts_process_rates_timing_extraction_not_building(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each process builds its trips before the clock starts (the children are forked, so
    they build this slow, empty workload): what is timed is extraction only."""

    def slow_to_build(size: int) -> Workload:
        time.sleep(0.4)
        return Workload("trip_extraction", lambda: None, 6, size, "empty")

    monkeypatch.setattr(bench, "trip_extraction", slow_to_build)
    assert bench._timed_processes(2, 5) < 0.2
    rates = bench._process_rates(5, rounds=1)
    assert sorted(rates) == [1, 2]
    assert all(rate > 5 / 0.2 for rate in rates.values())


def test_rejects_process_rates_when_a_process_dies(monkeypatch: pytest.MonkeyPatch) -> None:
    """A child that dies while building never reports: the figure is refused at once, its
    sibling (waiting at the barrier) stopped, instead of a wait for the timeout."""

    def dies(size: int) -> Workload:
        raise SystemExit(3)

    monkeypatch.setattr(bench, "trip_extraction", dies)
    started = time.monotonic()
    with pytest.raises(ImplementationError, match=r"exit codes \[3"):
        bench._timed_processes(2, 5)
    assert time.monotonic() - started < 30
