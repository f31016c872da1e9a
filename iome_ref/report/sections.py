"""The report's sections built by other packages: adversaries, observer, benchmark.

Each function answers its section, or the section marked ``"not run"`` with the reason (left
out by ``--skip``, or its package not in this build), or ``"error"`` with what broke: a
section that did not run shows no figures. The packages are reached by name at run time
(``importlib``), so the report works, and says what is missing, in a build that lacks one.

- adversaries: ``adversaries.runner.run_attacks(impl, seed=, profile=, out=, progress=)``
  answering an ``AttackReport`` (adversaries/report.py), each finding's scenario written
  under ``out`` and copied into the report's replay/;
- observer: ``iome_ref.analysis.link.run_link(options, progress) -> LinkReport`` (observer.py);
- benchmark: :func:`iome_ref.report.bench.run_bench` on its short configuration, which needs
  ``iome_ref.report.workloads``.

What must not live here: assembling the report (run.py), the formats.
"""

from __future__ import annotations

import importlib
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from iome_ref.errors import IoMEError

if TYPE_CHECKING:
    from adversaries.report import AttackReport
from iome_ref.report.model import (
    AdversaryEntry,
    AdversarySection,
    BenchSection,
    Check,
    CheckVerdict,
    ObserverSection,
)

__all__ = [
    "AdversaryFinding",
    "AdversaryOutcome",
    "run_adversaries",
    "run_benchmark",
    "run_observer",
]

#: Called as work advances: (section, done, total or None, what was just done).
Progress = Callable[[str, int, int | None, str], None]
_LEFT_OUT: Final = "left out (--skip {})"


def _module(name: str) -> Any | None:
    """The module ``name``, or None when this build does not have it."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            return None
        raise


@dataclass(frozen=True)
class AdversaryFinding:
    """One success of an adversary, its scenario copied into the report's replay/."""

    id: str
    adversary: str
    requirement_id: str
    detail: str
    scenario: str | None


@dataclass(frozen=True)
class AdversaryOutcome:
    """The adversaries' section, their checks, findings and invariants."""

    section: AdversarySection
    checks: list[Check] = field(default_factory=list)
    findings: list[AdversaryFinding] = field(default_factory=list)
    #: adversary name -> the invariant it attacks.
    invariants: dict[str, str] = field(default_factory=dict)
    implementation: dict[str, Any] = field(default_factory=dict)


def _verdict(outcome: str, as_expected: bool) -> CheckVerdict:
    if outcome == "error":
        return "error"
    if outcome == "succeeded" or not as_expected:
        return "fail"
    return "leak" if outcome == "leaks" else "pass"


def _adversary_outcome(report: AttackReport, replay: Path, scratch: Path) -> AdversaryOutcome:
    entries: list[AdversaryEntry] = []
    checks: list[Check] = []
    findings: list[AdversaryFinding] = []
    invariants: dict[str, str] = {}
    for adversary in report.adversaries:
        names = []
        for index, found in enumerate(adversary.findings, start=1):
            name = found.scenario
            if name is not None:
                replay.mkdir(parents=True, exist_ok=True)
                target = f"adversary-{adversary.name}-{name}"
                shutil.copyfile(scratch / name, replay / target)
                name = target
            names.append(name)
            findings.append(
                AdversaryFinding(
                    id=re.sub(r"[^A-Za-z0-9_.-]", "_", f"{adversary.name}-{index}"),
                    adversary=adversary.name,
                    requirement_id=found.requirement_id,
                    detail=found.detail,
                    scenario=name,
                )
            )
        entries.append(
            AdversaryEntry(
                name=adversary.name,
                title=adversary.title,
                invariant=adversary.invariant,
                capabilities=list(adversary.capabilities),
                colluders=adversary.colluders,
                targets=list(adversary.targets),
                expected=adversary.expected,
                outcome=adversary.outcome,
                figure=adversary.figure,
                figure_unit=adversary.figure_unit,
                figure_text=adversary.figure_text,
                detail=adversary.detail,
            )
        )
        invariants[adversary.name] = adversary.invariant
        checks.append(
            Check(
                id=adversary.name,
                kind="adversary",
                requirement_ids=list(adversary.targets),
                verdict=_verdict(adversary.outcome, adversary.as_expected),
                detail=adversary.figure_text or adversary.detail,
                replay=next((f"replay/{n}" for n in names if n), None),
            )
        )
    section = AdversarySection(status="run", exit_code=report.exit_code, adversaries=entries)
    return AdversaryOutcome(section, checks, findings, invariants, dict(report.implementation))


def run_adversaries(
    impl: str,
    seed: int,
    profile: str,
    replay: Path,
    *,
    skip: bool,
    progress: Progress | None,
) -> AdversaryOutcome:
    """Every adversary of the catalogue against ``impl``; findings' scenarios into ``replay``."""
    if skip:
        return AdversaryOutcome(
            AdversarySection(status="not run", reason=_LEFT_OUT.format("adversaries"))
        )
    from adversaries.runner import run_attacks  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="iome-report-") as scratch:
        try:
            report = run_attacks(
                impl,
                seed=seed,
                profile=profile,
                out=Path(scratch),
                progress=None
                if progress is None
                else lambda done, total, name: progress("adversaries", done, total, name),
            )
        except IoMEError as exc:
            return AdversaryOutcome(
                AdversarySection(status="error", reason=f"{exc.label}: {exc.message}")
            )
        return _adversary_outcome(report, replay, Path(scratch))


def run_observer(
    seed: int, profile: str, sessions: Path | None, *, skip: bool, progress: Progress | None
) -> ObserverSection:
    """What a passive observer of the public chains learns, on a simulated city and on
    ``sessions`` when given."""
    if skip:
        return ObserverSection(status="not run", reason=_LEFT_OUT.format("observer"))
    from iome_ref.report.observer import observer_section  # noqa: PLC0415

    try:
        return observer_section(seed, profile, sessions, progress)
    except IoMEError as exc:
        if sessions is not None and exc.label == "link":
            raise  # a bad --sessions file is a usage error of the whole run
        return ObserverSection(status="error", reason=f"{exc.label}: {exc.message}")


def run_benchmark(*, skip: bool, progress: Progress | None) -> BenchSection:
    """The short benchmark (bench.py's ``short`` configuration): run-time figures."""
    if skip:
        return BenchSection(status="not run", reason=_LEFT_OUT.format("benchmark"))
    if _module("iome_ref.report.workloads") is None:
        return BenchSection(
            status="not run",
            reason="the benchmark workloads (iome_ref/report/workloads.py, issue 16) are not "
            "in this build",
        )
    bench = importlib.import_module("iome_ref.report.bench")
    result: BenchSection = bench.short_section(progress)
    return result
