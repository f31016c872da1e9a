"""Plots of a simulation summary: what the loop did to each region, against the baseline.

SVG from matplotlib's object API (no pyplot state), with a fixed hash salt and no date, so
the same summary gives the same bytes, like every other output of a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import matplotlib as mpl
from matplotlib.figure import Figure

from iome_ref.simulation.run import atomic_output

__all__ = ["write_plots"]

mpl.use("Agg")
#: Fixed SVG ids: set at each save, never globally, so another module's plots cannot change ours.
_SVG_SALT: Final = "iome"


def _regions(summary: dict[str, Any]) -> list[str]:
    return list(summary["config"]["regions"])


def write_plots(summary: dict[str, Any], out_dir: Path) -> Path:
    """imbalance.svg: per round, each region's |demand - supply| with and without prices,
    and the price each region was given."""
    aware, baseline = summary["price_aware"]["rounds"], summary["baseline"]["rounds"]
    rounds = [r["round"] for r in aware]
    figure = Figure(figsize=(10, 7), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True)
    for region in _regions(summary):
        line = top.plot(
            rounds,
            [r["regions"][region]["imbalance_wh"] / 1000 for r in aware],
            marker="o",
            label=f"{region} price-aware",
        )[0]
        top.plot(
            rounds,
            [r["regions"][region]["imbalance_wh"] / 1000 for r in baseline],
            linestyle="--",
            color=line.get_color(),
            label=f"{region} baseline",
        )
        bottom.plot(
            rounds,
            [r["regions"][region]["price_micro_per_kwh"] / 1e6 for r in aware],
            marker="o",
            color=line.get_color(),
            label=region,
        )
    effect = summary["effect"]
    top.set_title(
        f"Regional imbalance |demand - supply|: {effect['imbalance_wh'] / 1000:.0f} kWh "
        f"with prices vs {effect['baseline_imbalance_wh'] / 1000:.0f} kWh without"
    )
    top.set_ylabel("kWh per round")
    top.legend(ncols=2, fontsize="small")
    bottom.set_title("Price signal (EPS) per region")
    bottom.set_ylabel("price per kWh")
    bottom.set_xlabel("round")
    bottom.set_xticks(rounds)
    bottom.legend(ncols=len(_regions(summary)), fontsize="small")
    path = out_dir / "imbalance.svg"
    with atomic_output(path) as temporary, mpl.rc_context({"svg.hashsalt": _SVG_SALT}):
        figure.savefig(temporary, format="svg", metadata={"Date": None})
    return path
