"""``iome attack`` and ``run_attacks``: the reference meets every expected outcome, the report is
deterministic and matches its committed schema, findings become scenarios that replay, and bad
usage or a broken implementation exits 2 with the seed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from adversaries.base import Adversary
from adversaries.registry import ADVERSARIES, PARTS, select_adversaries
from adversaries.report import AttackReport
from adversaries.runner import REPORT_NAME, run_attacks
from iome_ref.conformance.scenarios import execute, load_scenario
from iome_ref.errors import UsageError
from iome_ref.vectors.spec_index import default_spec_dir, load_requirements
from tests.conformance.helpers import ROOT, ZOO, CrashesOnEps, invoke

SCHEMA = default_spec_dir() / "schemas" / "adversaries" / "attack-report.json"


@pytest.fixture(scope="module")
def reference_report(tmp_path_factory: pytest.TempPathFactory) -> AttackReport:
    return run_attacks("ref", seed=1, out=tmp_path_factory.mktemp("attack"))


def _without_timing(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "timing"}


def test_every_adversary_declares_a_complete_model() -> None:
    defined = set(load_requirements(default_spec_dir()))
    for name, adversary in ADVERSARIES.items():
        assert isinstance(adversary, Adversary)
        assert adversary.name == name
        assert adversary.capabilities, name
        assert adversary.targets, name
        assert set(adversary.targets) <= defined, name
        assert adversary.expected in {"blocked", "leaks"}


def test_reference_meets_every_expected_outcome(reference_report: AttackReport) -> None:
    assert reference_report.exit_code == 0
    assert [a.name for a in reference_report.adversaries] == list(ADVERSARIES)
    for adversary in reference_report.adversaries:
        assert adversary.outcome == adversary.expected, adversary.detail
        assert adversary.findings == []
        assert adversary.scenarios_played >= 1
        if adversary.outcome == "leaks":
            # A leak is measured; part 1's sentence states the measured figure.
            assert adversary.figure is not None
            assert adversary.figure > 0
            assert adversary.figure_text is not None
            if adversary.name in PARTS[1]:
                assert f"{adversary.figure:g}" in adversary.figure_text


def test_report_matches_its_committed_schema(
    reference_report: AttackReport, tmp_path: Path
) -> None:
    schema = json.loads(SCHEMA.read_text())
    Draft202012Validator(schema).validate(reference_report.model_dump(mode="json"))


def test_same_seed_gives_the_same_report_apart_from_timing(tmp_path: Path) -> None:
    names = ["replay", "equivocation"]
    first = run_attacks("ref", seed=5, names=names, out=tmp_path / "a")
    second = run_attacks("ref", seed=5, names=names, out=tmp_path / "b")
    a = json.loads((tmp_path / "a" / REPORT_NAME).read_bytes())
    b = json.loads((tmp_path / "b" / REPORT_NAME).read_bytes())
    assert list(a)[-1] == "timing"
    assert _without_timing(a) == _without_timing(b)
    assert first.seed == second.seed == 5


def test_unknown_adversary_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no adversary nobody"):
        select_adversaries(["replay", "nobody"])


def test_cli_reference_exits_0_with_a_line_per_adversary(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    result = invoke(monkeypatch, "attack", "--adversary", "tamper,replay", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["replay", "leaks", "4", "of", "4", *lines[0].split()[5:]]
    assert lines[1].split() == ["tamper", "blocked"]
    assert "as expected (seed 1, profile quick)" in lines[2]
    assert (tmp_path / REPORT_NAME).is_file()


def test_cli_finding_exits_1_and_its_scenario_replays(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    impl = f"{ZOO}:SkipsRevocation"
    result = invoke(
        monkeypatch,
        "attack",
        "--impl",
        impl,
        "--adversary",
        "rogue-station",
        "--seed",
        "2",
        "--out",
        str(tmp_path),
    )
    assert result.exit_code == 1, result.output
    assert "rogue-station  succeeded IOME-CERT-003 (seed 2, scenarios " in result.stdout
    scenario = load_scenario(tmp_path / "rogue-station-revoked.json")
    assert scenario.metadata.origin == "adversary"
    assert scenario.metadata.seed == 2
    assert scenario.metadata.observed is not None
    replayed = invoke(
        monkeypatch, "replay", str(tmp_path / "rogue-station-revoked.json"), "--impl", impl
    )
    assert replayed.exit_code == 1
    assert "expect reject IOME-CERT-003, got accept: DIVERGED" in replayed.stdout
    assert (
        invoke(monkeypatch, "replay", str(tmp_path / "rogue-station-revoked.json")).exit_code == 0
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--adversary", "nobody"], "no adversary nobody"),
        (["--profile", "slow"], "--profile 'slow'"),
        (["--impl", "bogus:x"], "--impl 'bogus:x'"),
    ],
)
def test_cli_bad_usage_exits_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str], message: str
) -> None:
    result = invoke(monkeypatch, "attack", *args, "--out", str(tmp_path))
    assert result.exit_code == 2
    assert message in result.output


def test_broken_implementation_is_an_error_naming_the_seed(tmp_path: Path) -> None:
    report = run_attacks(
        "python:crashes", seed=7, names=["equivocation"], out=tmp_path, iut=CrashesOnEps()
    )
    assert report.exit_code == 2
    (adversary,) = report.adversaries
    assert adversary.outcome == "error"
    assert adversary.detail.startswith("seed 7: ")
    # The scenario that broke it is kept and replays to the same error.
    assert adversary.error_scenario is not None
    scenario = load_scenario(tmp_path / adversary.error_scenario)
    assert scenario.metadata.observed == f"error: {adversary.detail}"
    assert execute(scenario, CrashesOnEps()).status == "error"


def test_findings_name_the_id_a_correct_node_enforces(tmp_path: Path) -> None:
    """The scenario of a finding, replayed on the attacked implementation, diverges at a step
    expecting the finding's id."""
    from iome_ref.conformance.runner import open_iut  # noqa: PLC0415

    iut = open_iut(f"{ZOO}:IgnoresReplay")
    try:
        report = run_attacks("ignores-replay", names=["replay"], out=tmp_path, iut=iut)
        (finding,) = report.adversaries[0].findings
        assert finding.requirement_id == "IOME-REC-002"
        assert finding.scenario is not None
        result = execute(load_scenario(tmp_path / finding.scenario), iut)
    finally:
        iut.close()
    assert result.status == "diverged"
    assert result.divergence is not None
    assert result.divergence.expected_code == "IOME-REC-002"


def test_a_crashing_stdio_implementation_stops_the_run(tmp_path: Path) -> None:
    """An IUT that dies is an error with its last stderr line; the adversaries after it are
    not run, and no process of its group is left."""
    from iome_ref.conformance.adapters import StdioIUT  # noqa: PLC0415
    from iome_ref.conformance.runner import open_iut  # noqa: PLC0415
    from tests.conformance.helpers import survivors  # noqa: PLC0415

    crashing = ROOT / "tests" / "conformance" / "iuts" / "crashing.py"
    iut = open_iut(f"stdio:{sys.executable} {crashing}")
    try:
        report = run_attacks("crashing", names=["sybil-flood", "tamper"], out=tmp_path, iut=iut)
    finally:
        iut.close()
    assert isinstance(iut, StdioIUT)
    assert survivors(iut.pid) == []
    assert report.exit_code == 2
    first, second = report.adversaries
    assert first.outcome == second.outcome == "error"
    assert "fatal: cannot judge anything" in first.detail
    assert second.detail == "seed 1: not run: the implementation broke during sybil-flood"


def test_out_that_is_a_file_is_refused_before_attacking(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "attack.json"
    blocker.write_text("{}")
    result = invoke(monkeypatch, "attack", "--out", str(blocker))
    assert result.exit_code == 2
    assert f"--out {blocker}: not a directory" in result.output
    assert "blocked" not in result.stdout
