"""SVG plots of a link report: what a reader looks at before the numbers.

anonymity.svg (anonymity-set sizes of the departure keys), follow.svg (share of users followed
for n sessions), uniqueness.svg (sessions unique within their day at each resolution, beside
de Montjoye's 4-point figure), sweep.svg (with --sweep: leakage against each mitigation
parameter, beside its utility cost). A plot whose figures are absent is not written.

Object API only (no pyplot state), fixed hash salt, no date: same report, same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

import matplotlib as mpl
from matplotlib.figure import Figure

from iome_ref.simulation.run import atomic_output

if TYPE_CHECKING:
    from iome_ref.analysis.linkreport import LinkReport

__all__ = ["write_plots"]

mpl.use("Agg")
#: Fixed SVG ids: set at each save, never globally, so another module's plots cannot change ours.
_SVG_SALT: Final = "iome-link"


def _save(figure: Figure, path: Path) -> Path:
    with atomic_output(path) as temporary, mpl.rc_context({"svg.hashsalt": _SVG_SALT}):
        figure.savefig(temporary, format="svg", metadata={"Date": None})
    return path


def _anonymity(report: LinkReport, out: Path) -> Path | None:
    forced = report.forced
    if forced is None or not forced.anonymity_histogram:
        return None
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axes = figure.subplots()
    sizes = [s for s, _ in forced.anonymity_histogram]
    counts = [c for _, c in forced.anonymity_histogram]
    axes.bar([str(s) for s in sizes], counts, color="tab:red")
    share = forced.trips_forced_share
    axes.set_title(
        "Anonymity set of each departure key (PK1)"
        + (f": {share:.0%} of trips forced" if share is not None else "")
    )
    axes.set_xlabel("arrival keys it may pair with (1 = forced link)")
    axes.set_ylabel("departure keys")
    return _save(figure, out / "anonymity.svg")


def _follow(report: LinkReport, out: Path) -> Path | None:
    follow = report.follow
    if follow is None or not follow.curve:
        return None
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    axes = figure.subplots()
    axes.plot([n for n, _ in follow.curve], [s for _, s in follow.curve], marker="o")
    axes.set_title(f"Users followed for n consecutive sessions ({follow.users} users)")
    axes.set_xlabel("consecutive sessions linked, n")
    axes.set_ylabel("share of users")
    axes.set_ylim(0, 1)
    return _save(figure, out / "follow.svg")


def _uniqueness(report: LinkReport, out: Path) -> Path | None:
    uniqueness = report.uniqueness
    if uniqueness is None or not uniqueness.points:
        return None
    figure = Figure(figsize=(10, 5), layout="constrained")
    left, right = figure.subplots(1, 2)
    labels = [p.resolution.label for p in uniqueness.points]
    left.barh(labels, [p.unique_in_day for p in uniqueness.points], color="tab:purple")
    left.set_xlim(0, 1)
    left.set_title("Sessions unique within their day")
    for point in uniqueness.points:
        if point.trace_curve:
            right.plot(
                [p for p, _ in point.trace_curve],
                [s for _, s in point.trace_curve],
                marker=".",
                label=point.resolution.label,
            )
    if uniqueness.reference_curve:
        right.plot(
            [p for p, _ in uniqueness.reference_curve],
            [s for _, s in uniqueness.reference_curve],
            "k*",
            markersize=12,
            label="de Montjoye 2013",
        )
    right.set_xlabel("points known")
    right.set_ylabel("users singled out")
    right.set_ylim(0, 1)
    right.legend(fontsize="x-small")
    right.set_title("Uniqueness vs points known")
    return _save(figure, out / "uniqueness.svg")


def _sweep(report: LinkReport, out: Path) -> Path | None:
    if not report.sweep:
        return None
    parameters = sorted({p.parameter for p in report.sweep})
    figure = Figure(figsize=(12, 4.5), layout="constrained")
    panels = figure.subplots(1, len(parameters), squeeze=False)[0]
    for axes, parameter in zip(panels, parameters, strict=True):
        points = [p for p in report.sweep if p.parameter == parameter]
        xs = [str(p.value) for p in points]
        axes.plot(
            xs,
            [p.trips_forced_share or 0.0 for p in points],
            marker="o",
            color="tab:red",
            label="PK1<->PK2 forced (leak)",
        )
        axes.plot(
            xs,
            [p.arrival_key_forced or 0.0 for p in points],
            marker="^",
            color="tab:orange",
            label="Trip->arrival key forced (leak)",
        )
        axes.plot(xs, [p.od_error for p in points], marker="s", color="tab:blue", label="O-D error")
        axes.set_ylim(0, 1.05)
        axes.set_xlabel(
            {"coarsen": "time resolution, s", "delay": "publication delay, s", "k": "O-D k"}[
                parameter
            ]
        )
        axes.set_title(f"{parameter}: leak vs utility cost")
        axes.legend(fontsize="small")
    return _save(figure, out / "sweep.svg")


def write_plots(report: LinkReport, out: Path) -> list[Path]:
    """Every plot the report has figures for, under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = [plot(report, out) for plot in (_anonymity, _follow, _uniqueness, _sweep)]
    return [p for p in written if p is not None]
