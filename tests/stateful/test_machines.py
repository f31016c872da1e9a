"""The conformance state machines (iome_ref/conformance/machines/) against the reference and
against broken implementations: the reference passes, a bug is found and its exported
scenario replays it, and the coverage gate refuses a run in which a rule never ran."""

from __future__ import annotations

import pytest

from iome_ref.conformance.adapters import ReferenceIUT, open_iut
from iome_ref.conformance.machines import MACHINES, Budget, run_machine
from iome_ref.conformance.machines.integrity import IntegrityMachine
from iome_ref.conformance.runner import ConformOptions, run_conformance
from iome_ref.conformance.scenarios import execute, load_scenario

ZOO = "python:tests.conformance.zoo.members"
BUDGET = Budget(examples=30, steps=20)
HASH = "0" * 64


@pytest.mark.parametrize("family", sorted(MACHINES))
def test_accepts_reference_against_itself(family: str) -> None:
    result = run_machine(MACHINES[family], ReferenceIUT(), seed=3, budget=BUDGET, spec_hash=HASH)
    assert (result.status, result.detail) == ("pass", "")
    assert all(" ran 0" not in line for line in result.coverage)


@pytest.mark.parametrize(
    ("member", "family", "req_id"),
    [
        ("IgnoresReplay", "integrity", "IOME-REC-002"),
        ("ReusesOneTimeKey", "sybil", "IOME-PRES-001"),
        ("ForgetsEquivocation", "integrity", "IOME-BLK-009"),
    ],
)
def test_rejects_zoo_member_and_scenario_replays_it(
    monkeypatch: pytest.MonkeyPatch, member: str, family: str, req_id: str
) -> None:
    from tests.conformance.helpers import ROOT  # noqa: PLC0415

    monkeypatch.chdir(ROOT)
    iut = open_iut(f"{ZOO}:{member}")
    result = run_machine(MACHINES[family], iut, seed=1, budget=BUDGET, spec_hash=HASH)
    assert result.status == "diverged", result.detail
    assert req_id in result.detail or req_id in str(result.scenario.steps[-1])
    buggy = execute(result.scenario, iut)
    assert buggy.status == "diverged"
    assert buggy.divergence is not None
    assert req_id in buggy.divergence.expected
    # The reference gives every answer the scenario expects.
    assert execute(result.scenario, ReferenceIUT()).status == "pass"


def test_same_seed_same_scenario(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conformance.helpers import ROOT  # noqa: PLC0415

    monkeypatch.chdir(ROOT)
    runs = [
        run_machine(
            MACHINES["sybil"],
            open_iut(f"{ZOO}:ReusesOneTimeKey"),
            seed=5,
            budget=BUDGET,
            spec_hash=HASH,
        ).scenario
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


def test_rejects_run_when_a_rule_never_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The coverage gate: a rule whose precondition never holds fails the run (error)."""
    monkeypatch.setattr(IntegrityMachine, "has_blocks", lambda self: False)
    result = run_machine(IntegrityMachine, ReferenceIUT(), seed=3, budget=BUDGET, spec_hash=HASH)
    assert result.status == "error"
    assert "coverage gate" in result.detail
    assert "equivocate never ran" in result.detail
    assert "replay_block_elsewhere never ran" in result.detail


def test_conform_writes_machine_scenario_that_replays(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from pathlib import Path  # noqa: PLC0415

    from tests.conformance.helpers import ROOT  # noqa: PLC0415

    monkeypatch.chdir(ROOT)
    directory = Path(str(tmp_path))
    impl = f"{ZOO}:IgnoresReplay"
    iut = open_iut(impl)
    report = run_conformance(
        iut, ConformOptions(impl=impl, seed=2, only=("IOME-REC-002",), scenarios_dir=directory)
    )
    case = next(c for c in report.cases if c.id == "machine-integrity")
    assert case.verdict.value == "fail"
    assert case.scenario is not None
    scenario = load_scenario(directory / case.scenario)
    assert (scenario.metadata.origin, scenario.metadata.seed) == ("state-machine", 2)
    assert execute(scenario, iut).status == "diverged"
    assert execute(scenario, ReferenceIUT()).status == "pass"
