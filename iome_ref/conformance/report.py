"""The report of a conformance run: the ``--json`` model, the JUnit writer, the text summary.

The JSON report is a pydantic model with a committed schema (spec/schemas/conformance/). Every
member is a function of the seed, the implementation's answers and the reference version,
except ``timing``, the last member, which is marked as such: two runs give the same bytes
once it is removed.

What must not live here: running cases or deciding verdicts (runner.py, verdicts.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from iome_ref.conformance.verdicts import CaseVerdict

__all__ = [
    "REPORT_FORMAT",
    "CaseReport",
    "ConformReport",
    "RelaxedMismatch",
    "RequirementSummary",
    "Timing",
    "dump_report",
    "format_summary",
    "write_junit",
]

REPORT_FORMAT: Final = "iome-conform-report/1"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CaseReport(_Strict):
    """One case: its verdict, what was expected and found, and where the failure is kept."""

    id: str
    suite: str = Field(description="vectors, vectors-as-text, ... (the profile's suites).")
    source: str = Field(description="The vector file the case comes from.")
    requirement_ids: list[str] = Field(description="The ids the case exercises.")
    verdict: CaseVerdict
    step: int | None = Field(default=None, description="The step that diverged (0 = reset).")
    expected: str = Field(default="", description="accept, reject <id>, evidence [...].")
    found: str = Field(default="", description="What the implementation answered.")
    detail: str = Field(default="", description="The implementation's message, or the reason.")
    blamed_ids: list[str] = Field(
        default_factory=list, description="For fail and xpass: the ids the failure counts against."
    )
    scenario: str | None = Field(default=None, description="File name of the written scenario.")


class RequirementSummary(_Strict):
    """Per requirement id: how its cases ended."""

    req_id: str
    status: Literal["pass", "fail", "error", "xfail", "skip"]
    passed: int = 0
    failed: int = 0
    xfailed: int = 0
    warned: int = 0
    skipped: int = 0
    errors: int = 0
    failing_cases: list[str] = Field(default_factory=list)


class RelaxedMismatch(_Strict):
    """A mismatch a relaxation entry downgraded to a warning."""

    case: str
    expected: str
    found: str
    reason: str


class Timing(_Strict):
    """NOT DETERMINISTIC: wall-clock durations. Compare reports without this member."""

    total_s: float
    cases_ms: dict[str, float]


class ConformReport(_Strict):
    """``iome conform --json``: everything but ``timing`` is the same for the same seed."""

    format: Literal["iome-conform-report/1"] = REPORT_FORMAT
    generator: str
    spec_version: str
    spec_hash: str
    seed: int
    profile: str
    impl: str = Field(description="The --impl SPEC the run used.")
    implementation: dict[str, Any] = Field(description="The IUT's hello() manifest.")
    only: list[str] = Field(default_factory=list)
    suites: list[str]
    exit_code: int = Field(ge=0, le=2)
    aborted: str | None = Field(
        default=None, description="Why the run stopped early (the IUT broke)."
    )
    counts: dict[str, int] = Field(description="Cases per verdict.")
    requirements: list[RequirementSummary]
    relaxed: list[RelaxedMismatch] = Field(default_factory=list)
    unused_relaxations: list[str] = Field(default_factory=list)
    cases: list[CaseReport]
    unreached: list[str] = Field(
        default_factory=list,
        description="Requirement ids no case of the profile reaches and spec/ gives no reason "
        "for ('Not testable through the IUT: ...'): gaps of the suite, not of the "
        "implementation.",
    )
    timing: Timing = Field(
        description="NOT DETERMINISTIC: excluded when comparing reports; always the last member."
    )


def dump_report(report: ConformReport) -> bytes:
    """The ``--json`` bytes: indented, member order of the model, ``timing`` last."""
    document = report.model_dump(mode="json")
    return (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def write_junit(report: ConformReport, path: Path) -> None:
    """A JUnit XML file with one ``<testsuite>`` root (junit-10.xsd): a testcase per case,
    ``fail``/``xpass`` as failures, ``error`` as errors, ``skip``/``xfail`` as skipped."""
    from junitparser import Error, Failure, Skipped, TestCase, TestSuite  # noqa: PLC0415

    suite = TestSuite(f"iome-conform {report.impl}")
    for case in report.cases:
        test = TestCase(case.id, classname=f"{case.suite}.{case.source.removesuffix('.json')}")
        test.time = report.timing.cases_ms.get(case.id, 0.0) / 1000
        message = f"expected {case.expected}, found {case.found}".strip()
        if case.verdict is CaseVerdict.FAIL:
            test.result = [Failure(message, "fail")]
        elif case.verdict is CaseVerdict.XPASS:
            test.result = [Failure(f"passes, but the baseline expects a failure: {case.detail}")]
        elif case.verdict is CaseVerdict.ERROR:
            test.result = [Error(case.detail or message, "error")]
        elif case.verdict in {CaseVerdict.SKIP, CaseVerdict.XFAIL}:
            test.result = [Skipped(f"{case.verdict}: {case.detail}")]
        suite.add_testcase(test)
    suite.update_statistics()  # type: ignore[no-untyped-call]
    path.parent.mkdir(parents=True, exist_ok=True)
    suite.write(str(path), pretty=True)


def format_summary(report: ConformReport) -> list[str]:
    """The stdout summary: per requirement id, the relaxations used, the failures, the counts."""
    lines = [f"conformance of {report.impl} ({report.profile}, seed {report.seed})"]
    for summary in report.requirements:
        counts = ", ".join(
            f"{value} {name}"
            for name, value in (
                ("pass", summary.passed),
                ("fail", summary.failed),
                ("xfail", summary.xfailed),
                ("warn", summary.warned),
                ("skip", summary.skipped),
                ("error", summary.errors),
            )
            if value
        )
        failing = f" [{', '.join(summary.failing_cases)}]" if summary.failing_cases else ""
        lines.append(f"{summary.status:<5} {summary.req_id}: {counts}{failing}")
    for relaxed in report.relaxed:
        lines.append(
            f"warn  {relaxed.case}: expected {relaxed.expected}, found {relaxed.found} "
            f"(relaxed: {relaxed.reason})"
        )
    for entry in report.unused_relaxations:
        lines.append(f"note  relaxation never used: {entry}")
    if report.unreached:
        lines.append(f"note  no case reaches {', '.join(report.unreached)} (a gap of the suite)")
    for case in report.cases:
        if case.verdict in {CaseVerdict.FAIL, CaseVerdict.XPASS, CaseVerdict.ERROR}:
            where = f", scenario {case.scenario}" if case.scenario else ""
            lines.append(
                f"{case.verdict.value:<5} {case.id} (seed {report.seed}{where}): expected "
                f"{case.expected}, found {case.found}" + (f": {case.detail}" if case.detail else "")
            )
    if report.aborted:
        lines.append(f"error run aborted: {report.aborted}")
    counts = ", ".join(f"{value} {name}" for name, value in report.counts.items() if value)
    lines.append(f"{len(report.cases)} cases: {counts or 'none'}; exit {report.exit_code}")
    return lines
