"""``iome report``: the committed sample is current, and each file meets its format.

The sample (reports/ref/, configuration in helpers.SAMPLE_ARGS) is regenerated once and
compared outside its run-time sections: that is the same-seed determinism check, across
commits. The format checks read the committed files, which that comparison keeps current.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import xmlschema
from conftest import require_shared
from jsonschema import Draft4Validator, Draft202012Validator

from iome_ref.report.schemas import SCHEMAS
from iome_ref.vectors.spec_index import default_spec_dir, load_requirements

from .helpers import SAMPLE, SAMPLE_ARGS, comparable_files, run_report


def test_accepts_regenerated_sample_identical_outside_run_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = tmp_path / "ref"
    # The benchmark only fills the run-time section, which is not compared: leave it out here.
    result = run_report(monkeypatch, *SAMPLE_ARGS, "--out", str(out), "--skip", "benchmark")
    assert result.exit_code == 0, result.output
    assert f"open {out.as_posix()}/index.html" in result.output
    fresh, committed = comparable_files(out), comparable_files(SAMPLE)
    stale = sorted(name for name in fresh if fresh[name] != committed[name])
    assert not stale, (
        f"reports/ref/ is stale in {stale}: uv run python -m tests.report.update_sample"
    )
    # The run-time member is marked, last, and really holds this run's durations.
    document = json.loads((out / "report.json").read_bytes())
    assert list(document)[-1] == "runtime"
    assert document["runtime"]["total_s"] > 0


def test_accepts_sample_report_json_against_its_committed_schema() -> None:
    assert SCHEMAS.check_schema_files(default_spec_dir()) == []
    schema = json.loads(SCHEMAS.build_schema_files()["schemas/report/report.json"])
    document = json.loads((SAMPLE / "report.json").read_bytes())
    Draft202012Validator(schema).validate(document)
    # Every requirement id of spec/ is listed, in the spec's order.
    ids = [entry["req_id"] for entry in document["requirements"]]
    assert ids == list(load_requirements(default_spec_dir()))


def test_accepts_sample_junit_against_the_junit_xsd() -> None:
    xsd = xmlschema.XMLSchema(require_shared("schemas/junit-10.xsd"))
    xsd.validate(SAMPLE / "junit.xml")
    document = json.loads((SAMPLE / "report.json").read_bytes())
    tree = xsd.to_dict(SAMPLE / "junit.xml")
    assert int(tree["@tests"]) == len(document["checks"]) == document["counts"]["checks"] > 0


def test_accepts_sample_sarif_against_the_official_schema() -> None:
    schema = json.loads(require_shared("schemas/sarif-schema-2.1.0.json").read_bytes())
    sarif = json.loads((SAMPLE / "findings.sarif").read_bytes())
    Draft4Validator(schema).validate(sarif)
    assert sarif["version"] == "2.1.0"
    assert sarif["runs"][0]["results"] == []  # the reference has no finding


def test_rejects_bad_section_profile_or_impl_with_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for args in (("--skip", "everything"), ("--profile", "slow"), ("--impl", "python:no.such:X")):
        result = run_report(monkeypatch, "report", *args, "--out", str(tmp_path))
        assert result.exit_code == 2
        assert result.output.strip().splitlines()[-1].startswith("error "), result.output
    assert list(tmp_path.iterdir()) == []  # nothing written, not even the folders


def test_accepts_sessions_file_as_a_second_observed_population(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sessions = tmp_path / "sessions.csv"
    sessions.write_text(
        "session_id,station,start_iso,end_iso,energy_wh,user\n"
        "s1,st-a,2026-01-05T08:00:00,2026-01-05T10:00:00,5000,u1\n"
        "s2,st-b,2026-01-05T18:00:00,2026-01-05T20:00:00,3000,u2\n"
    )
    only_observer = ("--skip", "conformance", "--skip", "adversaries", "--skip", "benchmark")
    out = tmp_path / "out"
    result = run_report(
        monkeypatch, "report", *only_observer, "--sessions", str(sessions), "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    document = json.loads((out / "report.json").read_bytes())
    observer = document["observer"]
    assert observer["status"] == "run"
    population = observer["population"]
    assert f"{sessions.as_posix()}: sessions file sessions.csv: 2 sessions" in population
    assert observer["details"]["sessions"]["source"] == "sessions"
    assert document["sessions"] == sessions.as_posix()
    # Sections left out are marked, never filled with figures.
    assert document["conformance"] == {
        "status": "not run",
        "reason": "left out (--skip conformance)",
        "suites": [],
        "exit_code": None,
        "aborted": None,
    }
    # The suite's cases are still listed, as not run: coverage is the suite's, not this run's.
    assert {check["verdict"] for check in document["checks"]} == {"not run"}
    assert document["counts"]["by_verdict"] == {"not run": len(document["checks"])}
    assert {entry["status"] for entry in document["requirements"]} == {"not run"}
    # A bad sessions file is a usage error naming its line, before any long work: exit 2.
    sessions.write_text("session_id,station,start_iso,end_iso,energy_wh,user\ns1,st-a,never\n")
    result = run_report(
        monkeypatch, "report", *only_observer, "--sessions", str(sessions), "--out", str(out)
    )
    assert result.exit_code == 2
    assert "error link: " in result.output
    assert f"{sessions.as_posix()}:2: expected 6 fields" in result.output
