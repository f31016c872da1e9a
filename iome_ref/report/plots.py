"""SVG of the report's plots, for inlining in index.html and writing beside ``iome bench``.

matplotlib's object API (no pyplot state), a fixed hash salt and no date: the same data gives
the same bytes. The XML prologue is dropped so the SVG can sit inside HTML.
"""

from __future__ import annotations

import io
import re
from typing import Final

import matplotlib as mpl
from matplotlib.figure import Figure

from iome_ref.report.model import Plot

__all__ = ["svg_of"]

mpl.use("Agg")
#: Fixed SVG ids: set at each save, never globally, so another module's plots cannot change ours.
_SVG_SALT: Final = "iome-report"
_PROLOGUE: Final = re.compile(r"^.*?(?=<svg)", re.DOTALL)


def svg_of(plot: Plot, *, width: float = 6.4, height: float = 3.6) -> str:
    """The plot as one ``<svg>`` element (no XML declaration or doctype)."""
    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.subplots()
    names = list(plot.series)
    if plot.kind == "bar":
        bar_width = 0.8 / max(len(names), 1)
        for offset, name in enumerate(names):
            points = plot.series[name]
            axes.bar(
                [x + offset * bar_width for x, _ in points],
                [y for _, y in points],
                width=bar_width,
                label=name,
            )
    else:
        for name in names:
            points = plot.series[name]
            axes.plot([x for x, _ in points], [y for _, y in points], marker="o", label=name)
    if plot.x_ticks:
        axes.set_xticks(
            [x for x, _ in plot.x_ticks],
            [label for _, label in plot.x_ticks],
            rotation=45 if len(plot.x_ticks) > 6 else 0,
            ha="right" if len(plot.x_ticks) > 6 else "center",
            fontsize=7 if len(plot.x_ticks) > 6 else 9,
        )
    axes.set_title(plot.title, fontsize=10)
    axes.set_xlabel(plot.x_label)
    axes.set_ylabel(plot.y_label)
    axes.grid(alpha=0.3)
    if len(names) > 1:
        axes.legend(fontsize=8)
    buffer = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": _SVG_SALT}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return _PROLOGUE.sub("", buffer.getvalue(), count=1)
