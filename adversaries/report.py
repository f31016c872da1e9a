"""The report of an attack run: the ``attack.json`` model and the lines ``iome attack`` prints.

``AttackReport`` is a pydantic model with a committed schema (spec/schemas/adversaries/).
Every member is a function of the seed, the implementation's answers and the reference
version, except ``timing``, the last member, marked as such: two runs with the same seed give
the same bytes once it is removed.

What must not live here: running the adversaries (runner.py), the attacks.
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ATTACK_FORMAT",
    "AdversaryReport",
    "AttackReport",
    "AttackTiming",
    "FindingReport",
    "dump_report",
    "format_lines",
]

ATTACK_FORMAT: Final = "iome-attack-report/1"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FindingReport(_Strict):
    """One success of an adversary: the id a correct implementation enforces, and the file."""

    requirement_id: str = Field(description="The id that should have refused the attack.")
    detail: str = Field(description="Which scenario, which step, expected and found.")
    scenario: str | None = Field(
        default=None, description="File name of the scenario under --out, when written."
    )


class AdversaryReport(_Strict):
    """One adversary: what it can do, what it targets, what it achieved."""

    name: str
    title: str
    capabilities: list[str] = Field(description="spec/adversaries.md, Capabilities.")
    colluders: int = Field(ge=0, description="Stations or verifiers the attacker controls.")
    invariant: str
    targets: list[str] = Field(description="Requirement ids a correct implementation enforces.")
    expected: Literal["blocked", "leaks"]
    outcome: Literal["blocked", "leaks", "succeeded", "error"]
    as_expected: bool = Field(description="outcome is expected (or blocked where a leak was).")
    figure: float | None = Field(default=None, description="The leak's measured figure.")
    figure_unit: str | None = None
    figure_text: str | None = Field(default=None, description="The figure as a sentence.")
    findings: list[FindingReport] = Field(default_factory=list)
    scenarios_played: int = Field(ge=0)
    detail: str = ""
    error_scenario: str | None = Field(
        default=None,
        description="For error: file name of the scenario that was playing when it broke.",
    )


class AttackTiming(_Strict):
    """Run time: the one member that differs between two runs of one seed."""

    total_s: float
    adversaries_ms: dict[str, float]


class AttackReport(_Strict):
    """``attack.json``: every adversary's outcome against one implementation."""

    format: Literal["iome-attack-report/1"] = ATTACK_FORMAT
    generator: str
    spec_hash: str
    seed: int = Field(ge=0)
    profile: Literal["quick", "thorough"]
    impl: str
    implementation: dict[str, Any] = Field(description="The manifest hello answered.")
    exit_code: int = Field(description="0 as expected, 1 an adversary succeeded, 2 an error.")
    adversaries: list[AdversaryReport]
    timing: AttackTiming = Field(description="Run-time figures; excluded from comparisons.")


def dump_report(report: AttackReport) -> bytes:
    """The file's bytes: indented JSON in model order (``timing`` last), a final newline."""
    return (
        json.dumps(report.model_dump(mode="json"), indent=1, ensure_ascii=False) + "\n"
    ).encode()


def format_lines(report: AttackReport) -> list[str]:
    """One line per adversary (``blocked``, ``leaks <figure>``, ``succeeded <id>``, ``error``),
    then the verdict with the seed."""
    width = max((len(a.name) for a in report.adversaries), default=0)
    lines = []
    for adversary in report.adversaries:
        if adversary.outcome == "leaks":
            what = f"leaks {adversary.figure_text or adversary.figure}"
        elif adversary.outcome == "succeeded":
            ids = sorted({f.requirement_id for f in adversary.findings})
            files = [f.scenario for f in adversary.findings if f.scenario]
            what = "succeeded " + " ".join(ids) + f" (seed {report.seed}"
            what += f", scenarios {', '.join(files)})" if files else ")"
        elif adversary.outcome == "error":
            what = f"error: {adversary.detail}"
            if adversary.error_scenario:
                what += f" (scenario {adversary.error_scenario})"
        else:
            what = "blocked"
        lines.append(f"{adversary.name:<{width}}  {what}")
    verdict = {0: "as expected", 1: "an adversary succeeded", 2: "error"}[report.exit_code]
    lines.append(
        f"{len(report.adversaries)} adversaries against {report.impl}: {verdict} "
        f"(seed {report.seed}, profile {report.profile})"
    )
    return lines
