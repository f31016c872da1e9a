"""``iome report``: run every section against one implementation and assemble the report.

The sections, each behind one function answering its part of :class:`SecurityReport`:

- conformance: the vectors and state machines, through ``run_conformance`` (``iome conform``);
- adversaries: ``adversaries.runner.run_attacks`` (``iome attack``), see sections.py;
- observer: ``iome_ref.analysis`` on a simulated city and on ``--sessions``, see sections.py;
- benchmark: a short run of bench.py, kept in the run-time member.

Then :func:`write_report` writes report.json, index.html, report.md, junit.xml,
findings.sarif and replay/ (one scenario per finding) into the output folder.

What must not live here: argument parsing and printing (cli/report.py), the formats' writers.
"""

from __future__ import annotations

import platform
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Final, Literal

from adversaries.base import INVARIANTS as ADVERSARY_INVARIANTS
from iome_ref.conformance.cases import SUITE_VECTORS, ConformanceCase
from iome_ref.conformance.report import CaseReport, ConformReport
from iome_ref.conformance.runner import (
    SUITE_MACHINES,
    ConformOptions,
    collect_cases,
    open_iut,
    run_conformance,
)
from iome_ref.conformance.scenarios import generator_name
from iome_ref.conformance.verdicts import EXIT_ERROR, EXIT_FAIL, EXIT_PASS, CaseVerdict
from iome_ref.constants import SPEC_VERSION
from iome_ref.errors import UsageError
from iome_ref.report.coverage import build_coverage
from iome_ref.report.model import (
    Check,
    ConformanceSection,
    Counts,
    Finding,
    InvariantVerdict,
    RunTime,
    SecurityReport,
)
from iome_ref.report.sections import (
    AdversaryOutcome,
    run_adversaries,
    run_benchmark,
    run_observer,
)
from iome_ref.vectors.spec_index import compute_spec_hash, default_spec_dir, load_requirements

__all__ = ["INVARIANTS", "SECTIONS", "Progress", "ReportOptions", "build_report", "impl_slug"]

_COMPONENT: Final = "report"
#: The security invariants the summary gives a verdict for: the catalogue's (spec/adversaries.md).
INVARIANTS: Final = tuple(ADVERSARY_INVARIANTS)
#: Conformance state machine family -> the invariant it checks.
MACHINE_INVARIANT: Final = {
    "integrity": "integrity",
    "sybil": "sybil-resistance",
    "nonrepudiation": "non-repudiation",
    "unlinkability": "key-unlinkability",
    # manager crash and backup takeover, verifiers that stop answering (roleops)
    "roles": "availability",
}
#: Libraries whose versions can change a verdict or a figure.
_VERSIONED: Final = ("cryptography", "pydantic", "hypothesis", "networkx", "z3-solver", "numpy")
_FAILING: Final = frozenset({CaseVerdict.FAIL, CaseVerdict.XPASS, CaseVerdict.ERROR})

#: Called as work advances: (section, done, total or None, what was just done).
Progress = Callable[[str, int, int | None, str], None]


@dataclass(frozen=True)
class ReportOptions:
    """What ``iome report`` was asked."""

    impl: str = "ref"
    seed: int = 1
    profile: Literal["quick", "thorough"] = "quick"
    out: Path = Path("out/report/ref")
    sessions: Path | None = None
    #: Sections to leave out (conformance, adversaries, observer, benchmark): reported "not run".
    skip: frozenset[str] = frozenset()
    spec_dir: Path | None = None


SECTIONS: Final = ("conformance", "adversaries", "observer", "benchmark")


def impl_slug(impl: str) -> str:
    """The folder name of an implementation's report: ``ref``, ``stdio-my-node-iome``."""
    slug = re.sub(r"[^A-Za-z0-9_]+", "-", impl).strip("-")
    return slug[:80] or "impl"


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in ("iome", *_VERSIONED):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "absent"
    return found


def _kind(suite: str) -> Literal["vector", "vector-variant", "machine"]:
    if suite == SUITE_MACHINES:
        return "machine"
    return "vector" if suite == SUITE_VECTORS else "vector-variant"


def _case_check(case: CaseReport, accepting_for: dict[str, tuple[str, ...]]) -> Check:
    replay = f"replay/{case.scenario}" if case.scenario else None
    detail = case.detail
    if case.verdict is CaseVerdict.FAIL:
        detail = f"step {case.step}: expected {case.expected}, found {case.found}" + (
            f": {case.detail}" if case.detail else ""
        )
    return Check(
        id=case.id,
        kind=_kind(case.suite),
        requirement_ids=list(case.requirement_ids),
        accepting_for=list(accepting_for.get(case.id, ())),
        verdict=case.verdict.value,
        detail=detail,
        replay=replay,
    )


def _replay_command(out: Path, name: str, impl: str) -> str:
    quoted = impl if re.fullmatch(r"[A-Za-z0-9_.:/-]+", impl) else "'" + impl.replace("'", "") + "'"
    return f"uv run iome replay {(out / 'replay' / name).as_posix()} --impl {quoted}"


def _case_findings(
    conform: ConformReport, titles: dict[str, str], options: ReportOptions
) -> list[Finding]:
    findings = []
    for case in conform.cases:
        if case.verdict not in _FAILING:
            continue
        ids = case.blamed_ids or case.requirement_ids
        if not ids:
            continue
        req_id = ids[0]
        others = f" (also {', '.join(ids[1:])})" if len(ids) > 1 else ""
        what = (
            f"step {case.step}: expected {case.expected}, found {case.found}"
            if case.verdict is not CaseVerdict.ERROR
            else "the implementation broke"
        )
        findings.append(
            Finding(
                id=case.id,
                requirement_id=req_id,
                title=titles.get(req_id, req_id),
                source=f"conformance case {case.id}",
                level="error",
                detail=f"{case.verdict.value}: {what}{others}"
                + (f": {case.detail}" if case.detail else ""),
                seed=conform.seed,
                replay=f"replay/{case.scenario}" if case.scenario else None,
                command=_replay_command(options.out, case.scenario, options.impl)
                if case.scenario
                else None,
            )
        )
    return findings


def _adversary_findings(
    outcome: AdversaryOutcome, titles: dict[str, str], options: ReportOptions
) -> list[Finding]:
    return [
        Finding(
            id=found.id,
            requirement_id=found.requirement_id,
            title=titles.get(found.requirement_id, found.requirement_id),
            source=f"adversary {found.adversary}",
            level="error",
            detail=found.detail,
            seed=options.seed,
            replay=f"replay/{found.scenario}" if found.scenario else None,
            command=_replay_command(options.out, found.scenario, options.impl)
            if found.scenario
            else None,
        )
        for found in outcome.findings
    ]


def _invariants(
    checks: list[Check], adversary_invariants: dict[str, str]
) -> list[InvariantVerdict]:
    evidence: dict[str, list[Check]] = {name: [] for name in INVARIANTS}
    for check in checks:
        if check.kind == "machine":
            family = check.id.removeprefix("machine-")
            invariant = MACHINE_INVARIANT.get(family)
        elif check.kind == "adversary":
            invariant = adversary_invariants.get(check.id)
        else:
            invariant = None
        if invariant is not None:
            evidence.setdefault(invariant, []).append(check)
    verdicts = []
    for name, found in evidence.items():
        seen = {check.verdict for check in found}
        status: Literal["holds", "violated", "leaks", "error", "not run"]
        if seen & {"fail", "xpass"}:
            status = "violated"
        elif "error" in seen:
            status = "error"
        elif "leak" in seen:
            status = "leaks"
        elif seen & {"pass", "warn", "xfail"}:
            status = "holds"
        else:
            status = "not run"
        verdicts.append(
            InvariantVerdict(
                name=name,
                status=status,
                evidence=[f"{check.id}: {check.verdict}" for check in found],
            )
        )
    return verdicts


def _exit_code(checks: list[Check], aborted: bool) -> int:
    verdicts = {check.verdict for check in checks}
    if aborted or "error" in verdicts:
        return EXIT_ERROR
    if verdicts & {"fail", "xpass"}:
        return EXIT_FAIL
    return EXIT_PASS


def _not_run(cases: list[ConformanceCase], played: set[str], why: str) -> list[Check]:
    """The suite's cases that did not play, as checks: still listed (coverage is the suite's),
    never counted as passing."""
    return [
        Check(
            id=case.case_id,
            kind=_kind(case.suite),
            requirement_ids=list(case.requirement_ids),
            accepting_for=list(case.accepting_for),
            verdict="not run",
            detail=why,
        )
        for case in cases
        if case.case_id not in played
    ]


def _conformance(
    options: ReportOptions, spec_dir: Path, progress: Progress | None
) -> tuple[ConformanceSection, list[Check], ConformReport | None, bool]:
    planned = collect_cases(spec_dir, options.seed, options.profile)
    if "conformance" in options.skip:
        reason = "left out (--skip conformance)"
        return (
            ConformanceSection(status="not run", reason=reason),
            _not_run(planned, set(), reason),
            None,
            False,
        )
    iut = open_iut(options.impl)  # a bad --impl is refused before the output folder is touched
    _prepare_out(options.out)
    replay = options.out / "replay"
    conform_options = ConformOptions(
        impl=options.impl,
        seed=options.seed,
        profile=options.profile,
        scenarios_dir=replay,
        spec_dir=spec_dir,
    )
    try:
        conform = run_conformance(
            iut,
            conform_options,
            None
            if progress is None
            else lambda done, total, case: progress("conformance", done, total, case),
        )
    finally:
        iut.close()
    accepting = {case.case_id: case.accepting_for for case in planned}
    checks = [_case_check(case, accepting) for case in conform.cases]
    if conform.aborted is not None:
        checks += _not_run(planned, {case.id for case in conform.cases}, conform.aborted)
    section = ConformanceSection(
        status="run",
        suites=conform.suites,
        exit_code=conform.exit_code,
        aborted=conform.aborted,
    )
    return section, checks, conform, conform.aborted is not None


def _prepare_out(out: Path) -> None:
    """Empty the report's own files from ``out`` (a stale replay file must not survive)."""
    if out.exists() and not out.is_dir():
        raise UsageError(_COMPONENT, f"--out {out}: exists and is not a folder")
    replay = out / "replay"
    if replay.is_dir():
        shutil.rmtree(replay)
    out.mkdir(parents=True, exist_ok=True)


def build_report(options: ReportOptions, progress: Progress | None = None) -> SecurityReport:
    """Run the sections and assemble the report; scenario files land in ``out/replay``.

    Raises:
        UsageError: a bad ``--impl``, ``--sessions`` or output folder.
        ImplementationError: the implementation cannot even say hello.
    """
    started = time.perf_counter()
    unknown = sorted(options.skip - set(SECTIONS))
    if unknown:
        raise UsageError(_COMPONENT, f"--skip {', '.join(unknown)}: use {', '.join(SECTIONS)}")
    spec_dir = options.spec_dir or default_spec_dir()
    requirements = load_requirements(spec_dir)
    titles = {req_id: requirement.title for req_id, requirement in requirements.items()}
    if "conformance" in options.skip:
        _prepare_out(options.out)  # else once the implementation has opened
    timings: dict[str, float] = {}

    begun = time.perf_counter()
    conformance, checks, conform, aborted = _conformance(options, spec_dir, progress)
    timings["conformance"] = round(time.perf_counter() - begun, 3)

    begun = time.perf_counter()
    attacks = run_adversaries(
        options.impl,
        options.seed,
        options.profile,
        options.out / "replay",
        skip="adversaries" in options.skip,
        progress=progress,
    )
    timings["adversaries"] = round(time.perf_counter() - begun, 3)
    checks += attacks.checks

    begun = time.perf_counter()
    observer = run_observer(
        options.seed,
        options.profile,
        options.sessions,
        skip="observer" in options.skip,
        progress=progress,
    )
    timings["observer"] = round(time.perf_counter() - begun, 3)

    begun = time.perf_counter()
    benchmark = run_benchmark(skip="benchmark" in options.skip, progress=progress)
    timings["benchmark"] = round(time.perf_counter() - begun, 3)

    findings = (_case_findings(conform, titles, options) if conform is not None else []) + (
        _adversary_findings(attacks, titles, options)
    )
    coverage = build_coverage(
        requirements, checks, [finding.requirement_id for finding in findings]
    )
    by_verdict: dict[str, int] = {}
    for check in checks:
        by_verdict[check.verdict] = by_verdict.get(check.verdict, 0) + 1
    manifest = conform.implementation if conform is not None else attacks.implementation
    return SecurityReport(
        generator=generator_name(),
        versions=_versions(),
        spec_version=SPEC_VERSION,
        spec_hash=compute_spec_hash(spec_dir),
        seed=options.seed,
        profile=options.profile,
        impl=options.impl,
        implementation=manifest,
        sessions=None if options.sessions is None else options.sessions.as_posix(),
        exit_code=_exit_code(checks, aborted or attacks.section.status == "error"),
        counts=Counts(
            checks=len(checks),
            by_verdict=dict(sorted(by_verdict.items())),
            requirements=len(coverage),
            covered=sum(entry.covered for entry in coverage),
            uncovered=[entry.req_id for entry in coverage if not entry.covered],
            findings=len(findings),
        ),
        invariants=_invariants(checks, attacks.invariants),
        requirements=coverage,
        findings=findings,
        checks=checks,
        conformance=conformance,
        adversaries=attacks.section,
        observer=observer,
        runtime=RunTime(
            total_s=round(time.perf_counter() - started, 3),
            sections_s=timings,
            benchmark=benchmark,
        ),
    )
