"""``report.json``: the security report of one implementation, as a pydantic model.

Every member is a function of the seed, the profile, the implementation's answers and the
reference version, except ``runtime``, the last member, marked as such: wall-clock durations
and the benchmark's figures. Two runs with the same seed and version give the same bytes once
``runtime`` is removed (:func:`comparable`), which is what the committed sample's test checks.

A section that did not run says so (``status: "not run"`` with the reason) and carries no
figures: a report never shows a number nobody measured.

What must not live here: running anything (run.py), writing the other formats (html.py, ...).
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "REPORT_FORMAT",
    "AdversaryEntry",
    "AdversarySection",
    "BenchFigure",
    "BenchSection",
    "Check",
    "ConformanceSection",
    "Counts",
    "Finding",
    "InvariantVerdict",
    "ObserverSection",
    "Plot",
    "RequirementCoverage",
    "RunTime",
    "SecurityReport",
    "comparable",
    "dump_report",
]

REPORT_FORMAT: Final = "iome-security-report/1"

SectionStatus = Literal["run", "not run", "error"]
#: The verdict of a check: a conformance case's verdict, or an adversary's outcome mapped to
#: pass (as expected), fail (succeeded), leak (an expected, measured leak) or error; "not run"
#: for a case of the suite that did not play (left out, or after the implementation broke).
CheckVerdict = Literal["pass", "fail", "skip", "xfail", "xpass", "warn", "error", "leak", "not run"]
InvariantStatus = Literal["holds", "violated", "leaks", "error", "not run"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Check(_Strict):
    """One check the report ran: a conformance case or an adversary."""

    id: str = Field(description="Case id (conformance) or adversary name.")
    kind: Literal["vector", "vector-variant", "machine", "adversary"]
    requirement_ids: list[str] = Field(description="The ids a rejection here is about.")
    accepting_for: list[str] = Field(
        default_factory=list, description="Ids this check accepts a valid input for."
    )
    verdict: CheckVerdict
    detail: str = ""
    replay: str | None = Field(default=None, description="replay/FILE of its finding, if any.")


class Finding(_Strict):
    """One violated requirement: what was found, and the scenario that replays it."""

    id: str = Field(description="Unique within the report; also the replay file's stem.")
    requirement_id: str
    title: str = Field(description="The requirement's title in the spec.")
    source: str = Field(description="conformance case ID, or adversary NAME.")
    level: Literal["error", "warning"]
    detail: str
    seed: int
    replay: str | None = Field(description="Path of the scenario, relative to the report.")
    command: str | None = Field(description="The command that replays it.")


class RequirementCoverage(_Strict):
    """One requirement id of spec/: its checks, their verdict, whether it is covered."""

    req_id: str
    title: str
    file: str
    status: Literal["pass", "fail", "error", "xfail", "skip", "not run"]
    accepting: list[str] = Field(description="Checks that accept a valid input for the id.")
    rejecting: list[str] = Field(description="Checks that expect a refusal with the id.")
    covered: bool = Field(description="An accepting and a rejecting check, or untestable.")
    untestable: str | None = Field(
        default=None, description="Why spec/ says the id cannot be checked by a run."
    )


class InvariantVerdict(_Strict):
    """One security invariant: its verdict and the checks it rests on."""

    name: str
    status: InvariantStatus
    evidence: list[str] = Field(description="check id: verdict, one per check.")


class Counts(_Strict):
    """The summary's numbers."""

    checks: int
    by_verdict: dict[str, int]
    requirements: int
    covered: int
    uncovered: list[str]
    findings: int


class ConformanceSection(_Strict):
    """The vectors and state machines (``iome conform``) on the implementation."""

    status: SectionStatus
    reason: str = ""
    suites: list[str] = Field(default_factory=list)
    exit_code: int | None = None
    aborted: str | None = None


class AdversaryEntry(_Strict):
    """One adversary's outcome (adversaries/, spec/adversaries.md)."""

    name: str
    title: str
    invariant: str
    capabilities: list[str]
    colluders: int
    targets: list[str]
    expected: str
    outcome: str
    figure: float | None = None
    figure_unit: str | None = None
    figure_text: str | None = None
    detail: str = ""


class AdversarySection(_Strict):
    """The adversaries run against the implementation, or why they were not."""

    status: SectionStatus
    reason: str = ""
    exit_code: int | None = None
    adversaries: list[AdversaryEntry] = Field(default_factory=list)


class Plot(_Strict):
    """A figure's data: named series of (x, y) points, what the page draws as inline SVG."""

    name: str
    title: str
    x_label: str
    y_label: str
    series: dict[str, list[tuple[float, float]]]
    kind: Literal["line", "bar"] = "line"
    x_ticks: list[tuple[float, str]] = Field(
        default_factory=list, description="Labelled x positions; none: numeric axis."
    )


class ObserverSection(_Strict):
    """What a passive observer of the public chains learns (iome_ref.analysis)."""

    status: SectionStatus
    reason: str = ""
    population: str = Field(default="", description="Whose data: simulated city or --sessions.")
    figures: dict[str, float] = Field(default_factory=dict)
    notes: list[str] = Field(
        default_factory=list, description="Figures the observer could not give, and why."
    )
    plots: list[Plot] = Field(default_factory=list)
    details: dict[str, Any] = Field(
        default_factory=dict, description="The observer's own report, as it wrote it."
    )


class BenchFigure(_Strict):
    """One measured ratio or rate of the short benchmark."""

    name: str
    value: float
    unit: str
    note: str = ""


class BenchSection(_Strict):
    """The short benchmark: measured in this run, so part of the run-time section."""

    status: SectionStatus
    reason: str = ""
    figures: list[BenchFigure] = Field(default_factory=list)
    plots: list[Plot] = Field(default_factory=list)


class RunTime(_Strict):
    """NOT DETERMINISTIC: durations and the benchmark. Compare reports without this member."""

    total_s: float
    sections_s: dict[str, float]
    benchmark: BenchSection


class SecurityReport(_Strict):
    """``report.json``: everything but ``runtime`` is the same for the same seed and version."""

    format: Literal["iome-security-report/1"] = REPORT_FORMAT
    generator: str = Field(description="iome VERSION.")
    versions: dict[str, str] = Field(description="Python and the libraries the verdicts use.")
    spec_version: str
    spec_hash: str
    seed: int
    profile: Literal["quick", "thorough"]
    impl: str = Field(description="The --impl SPEC of the run.")
    implementation: dict[str, Any] = Field(description="The implementation's hello() manifest.")
    sessions: str | None = Field(default=None, description="The --sessions file, if given.")
    exit_code: int = Field(ge=0, le=2, description="As iome conform: 0 pass, 1 fail, 2 error.")
    counts: Counts
    invariants: list[InvariantVerdict]
    requirements: list[RequirementCoverage]
    findings: list[Finding]
    checks: list[Check]
    conformance: ConformanceSection
    adversaries: AdversarySection
    observer: ObserverSection
    runtime: RunTime = Field(
        description="NOT DETERMINISTIC: excluded when comparing reports; always the last member."
    )


def dump_report(report: SecurityReport) -> bytes:
    """The file's bytes: indented JSON in model order (``runtime`` last), a final newline."""
    document = report.model_dump(mode="json")
    return (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    """A parsed ``report.json`` without its run-time member: equal for equal seeds."""
    return {key: value for key, value in document.items() if key != "runtime"}
