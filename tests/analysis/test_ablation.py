"""The ablation table: the linking figure without each public signal in turn."""

from __future__ import annotations

import dataclasses

from iome_ref.analysis.ablation import ABLATED_SIGNALS, run_ablation
from tests.analysis.habit_data import commuter_population, habit_population


def test_accepts_ablation_rows_and_losses() -> None:
    """Twelve users on seven stations (two alone at theirs, the others in pairs): the
    station is the strongest signal here, so dropping it must cost the most."""
    observation, truth = habit_population(users=12, days=12, stations=7)
    report = run_ablation(observation, truth, seed=1, population="synthetic")
    assert [row.dropped for row in report.rows] == [None, *ABLATED_SIGNALS]
    full, *dropped = report.rows
    assert full.loss_points == 0.0
    for row in report.rows:
        assert row.ci_low <= row.top1 <= row.ci_high
        assert row.loss_points == 100 * (full.top1 - row.top1)
    by_signal = {row.dropped: row for row in dropped}
    assert by_signal["station"].loss_points == max(r.loss_points for r in dropped)
    assert by_signal["station"].loss_points > 0
    # Without blocks or trips in the observation, those signals carry nothing.
    for signal in ("block-position", "pre-trip-sessions", "trip-timing", "session-end-departure"):
        assert by_signal[signal].top1 == full.top1
    assert dataclasses.asdict(report)["population"] == "synthetic"


def test_accepts_session_end_departure_separates_users_nothing_else_can() -> None:
    """Twelve commuters charge at one station at random hours and kWh until their morning
    Trip to their own workplace: with the Trip each session's end left on, the linker
    re-links them; without it, it is near chance (1 in 12)."""
    observation, truth = commuter_population()
    report = run_ablation(observation, truth, seed=1, population="commuters")
    full = report.rows[0]
    without = {row.dropped: row for row in report.rows}["session-end-departure"]
    assert full.top1 >= 0.9
    assert without.top1 <= 0.35
    assert without.loss_points >= 50
