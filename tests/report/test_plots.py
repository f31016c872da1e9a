"""A plot's SVG depends on its data only: another module's matplotlib settings (the observer's
and the simulation's plots set their own id salt) must not change the report's bytes."""

from __future__ import annotations

import matplotlib as mpl

from iome_ref.analysis import linkplots
from iome_ref.report.model import Plot
from iome_ref.report.plots import svg_of
from iome_ref.simulation import plots as simulation_plots

PLOT = Plot(name="p", title="t", x_label="x", y_label="y", series={"a": [(0.0, 1.0), (1.0, 2.0)]})


def test_accepts_same_svg_whatever_the_global_salt() -> None:
    assert linkplots.__name__  # imported: their module code has run
    assert simulation_plots.__name__
    first = svg_of(PLOT)
    with mpl.rc_context({"svg.hashsalt": "someone-else"}):
        assert svg_of(PLOT) == first
    assert 'id="' in first  # the salt fixes these ids


def test_rejects_nothing_global_left_behind() -> None:
    before = mpl.rcParams["svg.hashsalt"]
    svg_of(PLOT)
    assert mpl.rcParams["svg.hashsalt"] == before
