"""The report's privacy section: ``run_link`` (iome_ref.analysis) on a simulated city, and on
``--sessions`` when given, turned into the section's figures and plots.

The simulated city is small on the quick profile (seconds) and larger on thorough; both are
named in the section's population, so a reader knows whose data the figures describe.
Deterministic: run_link's report is a function of its options and seed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel

from iome_ref.analysis.link import SWEEP, run_link
from iome_ref.analysis.linkreport import LinkOptions, LinkReport
from iome_ref.report.model import ObserverSection, Plot

__all__ = ["SIMULATED", "observer_section"]

#: iome simulate arguments of the observed city, per profile ({seed} filled in).
SIMULATED: Final = {
    "quick": "--seed {seed} --evs 60 --stations 10 --homes 20 --rounds 2",
    "thorough": "--seed {seed} --evs 200 --stations 20 --homes 100 --rounds 4",
}
_FIGURES: Final = (
    "trips",
    "candidate_links",
    "forced_links",
    "forced_correct",
    "trips_forced_share",
    "anonymity_median",
    "largest_component",
)

#: The sweep's range per parameter, for the legend: "coarsen (1..3600)".
_UNITS: Final = {name: f"{values[0]}..{values[-1]}" for name, values in SWEEP.items()}

Progress = Callable[[str, int, int | None, str], None]


#: Session analyses whose scalar figures the section lists (link2's reports).
_SESSION_PARTS: Final = ("habits", "follow", "uniqueness")


def _figures(report: LinkReport, prefix: str) -> dict[str, float]:
    figures: dict[str, float] = {}
    if report.forced is not None:
        forced = report.forced.model_dump()
        figures |= {
            f"{prefix}{name}": float(forced[name]) for name in _FIGURES if forced[name] is not None
        }
    for part in _SESSION_PARTS:
        value = getattr(report, part, None)
        if isinstance(value, BaseModel):
            figures |= {
                f"{prefix}{part}.{name}": float(number)
                for name, number in value.model_dump().items()
                if isinstance(number, int | float) and not isinstance(number, bool)
            }
    return figures


def _notes(report: LinkReport, label: str) -> list[str]:
    reasons = (report.forced_absent, report.session_figures_absent)
    return [f"{label}: {reason}" for reason in reasons if reason]


def _plots(report: LinkReport, label: str) -> list[Plot]:
    plots = []
    if report.forced is not None and report.forced.anonymity_histogram:
        plots.append(
            Plot(
                name=f"anonymity-{label}",
                title=f"Anonymity sets ({label}): departure keys per set size",
                x_label="anonymity-set size (0: no consistent partner)",
                y_label="departure keys",
                series={
                    "keys": [
                        (float(size), float(n)) for size, n in report.forced.anonymity_histogram
                    ]
                },
                kind="bar",
            )
        )
    if report.sweep:
        series: dict[str, list[tuple[float, float]]] = {}
        for point in report.sweep:
            if point.trips_forced_share is not None:
                steps = series.setdefault(f"{point.parameter} ({_UNITS[point.parameter]})", [])
                steps.append((float(len(steps)), 100 * point.trips_forced_share))
        if series:
            plots.append(
                Plot(
                    name=f"leakage-{label}",
                    title=f"Leakage vs mitigation ({label}): trips linked with certainty",
                    x_label="mitigation step (weakest to strongest)",
                    y_label="% of trips forced",
                    series=series,
                )
            )
    return plots


def observer_section(
    seed: int, profile: str, sessions: Path | None, progress: Progress | None
) -> ObserverSection:
    """Run the observer; the section with its figures, plots and both reports."""
    sim_args = SIMULATED.get(profile, SIMULATED["quick"]).format(seed=seed)

    def step(label: str, done: int, total: int) -> None:
        if progress is not None:
            progress("observer", done, total, label)

    # The sessions file first: a bad file is refused (with its line) before any long work.
    observed = (
        None if sessions is None else run_link(LinkOptions(sessions=sessions, seed=seed), step)
    )
    simulated = run_link(LinkOptions(simulate=sim_args, sweep=True, seed=seed), step)
    figures = _figures(simulated, "")
    plots = _plots(simulated, "simulated city")
    notes = _notes(simulated, "simulated city")
    details: dict[str, Any] = {"simulated": simulated.model_dump(mode="json")}
    population = f"simulated city (iome simulate {sim_args}): {simulated.population}"
    if sessions is not None and observed is not None:
        figures |= _figures(observed, "sessions: ")
        plots += _plots(observed, "sessions")
        notes += _notes(observed, sessions.as_posix())
        details["sessions"] = observed.model_dump(mode="json")
        population += f"; and {sessions.as_posix()}: {observed.population}"
    return ObserverSection(
        status="run",
        population=population,
        figures=figures,
        notes=notes,
        plots=plots,
        details=details,
    )
