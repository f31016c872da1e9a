"""The habit linker at 10k and 100k sessions, and its full Norway figure (issue 15).

Each benchmark round is one whole evaluation: five folds of users, each fitted (two passes)
and ranked, plus the nearest-neighbour floor and the bootstrap intervals. The synthetic
populations keep ~8 sessions per station and day, so the 100k one (~1,200 sessions a day)
is linked station by station (habits.BLOCK_LIMIT): read the growth against sessions from
``extra_info``. The Norway benchmark asserts the issue's bar: the habit linker beats the
nearest-neighbour floor by at least 5 points top-1 on the full data.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from iome_ref.analysis.habits import HabitReport, evaluate_habits
from iome_ref.analysis.inputs import read_sessions
from iome_ref.analysis.observations import Observation
from tests.analysis.habit_data import habit_population
from tests.conftest import require_shared

NORWAY = "norway-residential-ev-sessions/ev_charging_reports.csv"


def _record(benchmark: BenchmarkFixture, report: HabitReport, sessions: int) -> None:
    benchmark.extra_info["sessions"] = sessions
    benchmark.extra_info["queries"] = report.habit.queries
    benchmark.extra_info["habit_top1"] = round(report.habit.top1, 4)
    benchmark.extra_info["floor_top1"] = round(report.floor.top1, 4)
    benchmark.extra_info["chance_top1"] = round(report.habit.chance_top1, 4)


@pytest.mark.timeout(3600)
@pytest.mark.parametrize(("users", "stations"), [(150, 15), (1_500, 150)])
def test_bench_habit_linker(benchmark: BenchmarkFixture, users: int, stations: int) -> None:
    observation, truth = habit_population(users=users, days=84, stations=stations, seed=11)

    def evaluate() -> HabitReport:
        return evaluate_habits(observation, truth, seed=1, population=f"{users} synthetic")

    report = benchmark.pedantic(evaluate, rounds=1, iterations=1, warmup_rounds=0)
    _record(benchmark, report, len(observation.sessions))
    assert report.habit.top1 > 3 * report.habit.chance_top1


@pytest.mark.timeout(3600)
def test_bench_habit_linker_on_norway(benchmark: BenchmarkFixture) -> None:
    sessions, truth = read_sessions(Path(require_shared(NORWAY)))
    observation = Observation("sessions", sessions)

    def evaluate() -> HabitReport:
        return evaluate_habits(observation, truth, seed=1, population="Norway residential")

    report = benchmark.pedantic(evaluate, rounds=1, iterations=1, warmup_rounds=0)
    _record(benchmark, report, len(sessions))
    benchmark.extra_info["margin_points"] = round(report.margin_points, 2)
    benchmark.extra_info["margin_ci"] = [round(x, 2) for x in report.margin_ci]
    assert report.margin_points >= 5.0
