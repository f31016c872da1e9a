"""``iome conform``: verdicts, exit codes, baseline and relaxation files, --only, reports."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import xmlschema
from conftest import require_shared
from jsonschema import Draft202012Validator

from iome_ref.conformance.adapters.inproc import ReferenceIUT
from iome_ref.conformance.machines import MACHINES
from iome_ref.conformance.report import dump_report
from iome_ref.conformance.runner import ConformOptions, open_iut, run_conformance
from iome_ref.conformance.schemas import SCHEMAS
from iome_ref.conformance.verdicts import CaseVerdict
from iome_ref.errors import UsageError
from iome_ref.vectors.spec_index import default_spec_dir

from .helpers import (
    ROOT,
    ZOO,
    CrashesOnEps,
    DiesOnEps,
    NoReopen,
    OtherSpecVersion,
    drop_timing,
    invoke,
)

SPEC = default_spec_dir()


def _run(iut: object, **options: object) -> object:
    return run_conformance(iut, ConformOptions(scenarios_dir=None, **options))  # type: ignore[arg-type]


def test_accepts_reference_on_every_vector(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Timings are never asserted here: the 3-minute budget is measured, not tested.
    result = invoke(monkeypatch, "conform", "--impl", "ref", "--json", str(tmp_path / "r.json"))
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_bytes())
    assert report["counts"]["pass"] == len(report["cases"]) >= 270
    assert {summary["status"] for summary in report["requirements"]} == {"pass"}


def test_accepts_reference_over_stdio_with_the_same_verdicts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The wire path is itself tested: the reference behind ``iome serve --stdio`` gets the
    same verdict on every case as in process, and the same report apart from --impl and timing."""
    reports = {}
    for impl in ("ref", "stdio:iome serve --stdio"):
        out = tmp_path / f"{len(reports)}.json"
        result = invoke(monkeypatch, "conform", "--impl", impl, "--json", str(out))
        assert result.exit_code == 0, result.output
        report = json.loads(out.read_bytes())
        reports[impl] = {k: v for k, v in report.items() if k not in ("impl", "timing")}
    assert reports["ref"] == reports["stdio:iome serve --stdio"]


def test_rejects_broken_implementation_naming_the_id(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    result = invoke(
        monkeypatch, "conform", "--impl", f"{ZOO}:IgnoresPrevTxId", "--scenarios", str(tmp_path)
    )
    assert result.exit_code == 1
    assert (
        "fail  IOME-EPS-004: 3 fail [eps-011-skips-tip, eps-012-stale-prev, machine-sybil]"
        in result.stdout
    )
    # Each failure prints its seed and the scenario written for it.
    assert "fail  eps-011-skips-tip (seed 1, scenario eps-011-skips-tip.json)" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "eps-011-skips-tip.json",
        "eps-012-stale-prev.json",
        "machine-sybil.json",  # the Sybil machine finds the same bug by extending EPS chains
    ]


def test_only_filters_cases_by_requirement_id() -> None:
    report = _run(ReferenceIUT(), only=("IOME-EPS-004",))
    ids = {case.id for case in report.cases}  # type: ignore[attr-defined]
    assert {"eps-011-skips-tip", "eps-012-stale-prev"} <= ids
    # The accepting checks of the id come along: the valid cases of its file.
    assert "eps-001-first" in ids
    assert not any(case_id.startswith("presence-") for case_id in ids)


def test_rejects_unknown_only_id_and_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    result = invoke(monkeypatch, "conform", "--only", "IOME-EPS-999")
    assert result.exit_code == 2
    assert "IOME-EPS-999" in result.output
    result = invoke(monkeypatch, "conform", "--profile", "fast")
    assert result.exit_code == 2
    assert "quick, thorough" in result.output
    result = invoke(monkeypatch, "conform", "--impl", "stdio-ish")
    assert result.exit_code == 2


def _write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document), "utf-8")
    return path


def test_baseline_turns_known_failures_into_xfail(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    baseline = _write(
        tmp_path / "baseline.json",
        {
            "entries": [
                {"case": "eps-011-skips-tip", "reason": "issue 7: tips are not tracked yet"},
                {"case": "eps-012-stale-prev", "reason": "issue 7: tips are not tracked yet"},
                {"case": "machine-sybil", "reason": "issue 7: the Sybil machine extends EPS tips"},
            ]
        },
    )
    result = invoke(
        monkeypatch,
        "conform",
        "--impl",
        f"{ZOO}:IgnoresPrevTxId",
        "--only",
        "IOME-EPS-004",
        "--baseline",
        str(baseline),
        "--scenarios",
        str(tmp_path / "s"),
    )
    assert result.exit_code == 0, result.output
    assert "xfail IOME-EPS-004: 3 xfail" in result.stdout


def test_rejects_xpass_of_a_stale_baseline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    baseline = _write(
        tmp_path / "baseline.json",
        {"entries": [{"case": "eps-011-skips-tip", "reason": "fixed since, but still listed"}]},
    )
    result = invoke(monkeypatch, "conform", "--only", "IOME-EPS-004", "--baseline", str(baseline))
    assert result.exit_code == 1
    assert "xpass eps-011-skips-tip" in result.stdout


@pytest.mark.parametrize(
    ("option", "document", "message"),
    [
        (
            "--baseline",
            {"entries": [{"case": "eps-011-skips-tip", "reason": "  "}]},
            "entries.0.reason",
        ),
        ("--baseline", {"entries": [{"case": "eps-011-skips-tip"}]}, "entries.0.reason"),
        ("--baseline", {"entries": [{"case": "no-such-case", "reason": "x"}]}, "entries.0.case"),
        (
            "--relax",
            {"entries": [{"expected": "IOME-CERT-006", "found": "IOME-SIG-002"}]},
            "entries.0.reason",
        ),
        (
            "--relax",
            {"entries": [{"expected": "IOME-CERT-006", "found": "IOME-SIG-002", "reason": ""}]},
            "entries.0.reason",
        ),
        (
            "--relax",
            {"entries": [{"expected": "CERT-6", "found": "IOME-SIG-002", "reason": "x"}]},
            "entries.0.expected",
        ),
    ],
)
def test_rejects_entry_without_reason_or_target(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, option: str, document: object, message: str
) -> None:
    path = _write(tmp_path / "file.json", document)
    result = invoke(monkeypatch, "conform", "--only", "IOME-EPS-004", option, str(path))
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_relaxation_downgrades_a_named_mismatch_to_a_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    relax = _write(
        tmp_path / "relax.json",
        {
            "entries": [
                {
                    "expected": "IOME-CERT-006",
                    "found": "IOME-SIG-002",
                    "reason": "this node verifies signatures first; the order is fixed in 2.0",
                },
                {"expected": "IOME-EPS-004", "found": "IOME-EPS-005", "reason": "never happens"},
            ]
        },
    )
    impl = f"{ZOO}:SignaturesBeforeCertificates"
    result = invoke(
        monkeypatch,
        "conform",
        "--impl",
        impl,
        "--only",
        "IOME-CERT-006",
        "--relax",
        str(relax),
        "--scenarios",
        str(tmp_path / "s"),
    )
    assert result.exit_code == 0, result.output
    assert (
        "warn  anchor-016-uncertified-and-forged: expected IOME-CERT-006, found IOME-SIG-002 "
        "(relaxed: this node verifies signatures first; the order is fixed in 2.0)"
    ) in result.stdout
    assert "relaxation never used: entries.1" in result.stdout
    # Without the file the same run fails.
    result = invoke(
        monkeypatch,
        "conform",
        "--impl",
        impl,
        "--only",
        "IOME-CERT-006",
        "--scenarios",
        str(tmp_path / "s"),
    )
    assert result.exit_code == 1


def test_skip_is_never_a_pass() -> None:
    report = _run(NoReopen())
    skipped = [case for case in report.cases if case.verdict is CaseVerdict.SKIP]  # type: ignore[attr-defined]
    assert {case.id for case in skipped} == {
        "blocks-002-stored-reopens",
        "blocks-003-stored-tampered",
        "blocks-004-stored-unreadable",
        # The machines drive reopen among their rules: without it they cannot run.
        *(f"machine-{family}" for family in MACHINES),
    }
    assert all("reopen" in case.detail for case in skipped)
    assert report.counts["pass"] == len(report.cases) - 3 - len(MACHINES)  # type: ignore[attr-defined]
    blk012 = next(s for s in report.requirements if s.req_id == "IOME-BLK-012")  # type: ignore[attr-defined]
    assert (blk012.status, blk012.passed, blk012.skipped) == ("skip", 0, 3)  # and the machine
    assert report.exit_code == 0  # type: ignore[attr-defined]


def test_crash_is_an_error_and_exits_2() -> None:
    report = _run(CrashesOnEps(), only=("IOME-EPS-004",))
    errors = [case for case in report.cases if case.verdict is CaseVerdict.ERROR]  # type: ignore[attr-defined]
    assert errors
    assert "raised KeyError" in errors[0].detail
    assert report.exit_code == 2  # type: ignore[attr-defined]


def test_broken_implementation_aborts_the_run() -> None:
    report = _run(DiesOnEps(), only=("IOME-EPS-004",))
    assert report.exit_code == 2  # type: ignore[attr-defined]
    assert "exited with status 139" in (report.aborted or "")  # type: ignore[attr-defined]
    assert report.cases[-1].verdict is CaseVerdict.ERROR  # type: ignore[attr-defined]


def test_rejects_implementation_of_another_spec_version() -> None:
    report = _run(OtherSpecVersion(), only=("IOME-EPS-004",))
    assert report.exit_code == 2  # type: ignore[attr-defined]
    assert "0.9.0" in (report.aborted or "")  # type: ignore[attr-defined]


def test_rejects_unknown_impl_spec() -> None:
    with pytest.raises(UsageError, match="expected ref, python:MODULE:FACTORY or stdio:COMMAND"):
        open_iut("rust:node")
    with pytest.raises(UsageError, match="cannot import"):
        open_iut("python:no_such_module_anywhere:Factory")


def test_json_report_is_byte_identical_apart_from_timing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    paths = []
    for run in ("a", "b"):
        path = tmp_path / f"{run}.json"
        result = invoke(
            monkeypatch,
            "conform",
            "--impl",
            f"{ZOO}:IgnoresPrevTxId",
            "--seed",
            "5",
            "--json",
            str(path),
            "--scenarios",
            str(tmp_path / run),
        )
        assert result.exit_code == 1
        paths.append(path)
    first, second = (p.read_bytes() for p in paths)
    assert drop_timing(first) == drop_timing(second)
    cut = first.index(b'\n "timing"')
    assert first[:cut] == second[:cut]
    document = json.loads(first)
    assert document["seed"] == 5
    schema = json.loads((SPEC / "schemas" / "conformance" / "report.json").read_text("utf-8"))
    Draft202012Validator(schema).validate(document)


def test_junit_report_validates_against_the_xsd(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    xsd = require_shared("schemas/junit-10.xsd")
    path = tmp_path / "junit.xml"
    result = invoke(
        monkeypatch,
        "conform",
        "--impl",
        f"{ZOO}:IgnoresPrevTxId",
        "--junit",
        str(path),
        "--scenarios",
        str(tmp_path / "s"),
    )
    assert result.exit_code == 1
    xmlschema.XMLSchema(str(xsd)).validate(str(path))
    text = path.read_text("utf-8")
    assert text.count("<failure") == 3  # two vectors and the Sybil machine
    assert 'name="eps-011-skips-tip"' in text


def test_thorough_profile_holds_for_the_reference() -> None:
    """The whole thorough run (~10 min on 2 cores, five machines searching longer) only under
    ``HYPOTHESIS_PROFILE=thorough``; by default its vector suites, restricted to one id."""
    thorough = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
    only = () if thorough else ("IOME-ESDP-001",)
    report = _run(ReferenceIUT(), profile="thorough", only=only)
    suites = {case.suite for case in report.cases}  # type: ignore[attr-defined]
    expected = {"vectors", "vectors-as-text", "vectors-rerun"}
    assert suites == (expected | {"machines"} if thorough else expected)
    assert report.exit_code == 0, [c.id for c in report.cases if c.verdict is not CaseVerdict.PASS]  # type: ignore[attr-defined]


def test_conformance_schemas_are_fresh(tmp_path: Path) -> None:
    assert SCHEMAS.check_schema_files(SPEC) == []
    assert set(SCHEMAS.build_schema_files()) == {
        f"schemas/conformance/{name}.json"
        for name in ("baseline", "evidence-bundle", "relaxation", "report", "scenario")
    }
    spec = tmp_path / "spec"
    (spec / "schemas" / "conformance").mkdir(parents=True)
    for relative, data in SCHEMAS.build_schema_files().items():
        (spec / relative).write_bytes(data)
    (spec / "schemas" / "conformance" / "report.json").write_text("{}", "utf-8")
    assert SCHEMAS.check_schema_files(spec) == [
        "spec/schemas/conformance/report.json differs from its regeneration "
        "(run `iome vectors generate`)"
    ]


def test_report_dump_is_stable() -> None:
    report = _run(ReferenceIUT(), only=("IOME-ESDP-001",))
    assert dump_report(report).endswith(b"}\n")  # type: ignore[arg-type]
    assert ROOT.is_dir()
