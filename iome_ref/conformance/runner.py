"""Run the conformance suite against an implementation and decide each case's verdict.

``run_conformance`` plays every case of the chosen profile (cases.py) as a scenario through
the IUT interface, maps each outcome to a verdict (verdicts.py) under a baseline and a
relaxation file, writes a scenario file for every failing case, and builds the report
(report.py). ``open_iut`` turns ``--impl SPEC`` into an IUT.

Profiles: ``quick`` is the vectors and the state machines (machines/) with a small example
budget; ``thorough`` searches the machines longer and adds each object input again as wire text
(the same message must get the same verdict) and the vectors again in reverse order (a verdict
must not depend on what an earlier case left behind a ``reset``). A state machine that finds a
divergence writes the shrunk run as a scenario, replayed on the IUT to give the case's verdict.

What must not live here: argument parsing and printing (cli.py), knowledge of how the
reference judges (only the IUT interface reaches an implementation).
"""

from __future__ import annotations

import functools
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Literal

from iome_ref.conformance.adapters import open_iut
from iome_ref.conformance.cases import (
    SUITE_TEXT,
    SUITE_VECTORS,
    ConformanceCase,
    load_vector_cases,
    text_variant,
)
from iome_ref.conformance.iut import IUT
from iome_ref.conformance.machines import MACHINES, Budget, machine_scenario, run_machine
from iome_ref.conformance.reach import unreached_ids
from iome_ref.conformance.report import (
    CaseReport,
    ConformReport,
    RelaxedMismatch,
    RequirementSummary,
    Timing,
)
from iome_ref.conformance.scenarios import (
    ReplayResult,
    StepOutcome,
    dump_scenario,
    execute,
    generator_name,
)
from iome_ref.conformance.verdicts import (
    Baseline,
    CaseVerdict,
    Relaxation,
    compute_exit_code,
    load_baseline,
    load_relaxation,
)
from iome_ref.constants import SPEC_VERSION
from iome_ref.errors import ImplementationError, IoMEError, UsageError
from iome_ref.vectors.spec_index import compute_spec_hash, default_spec_dir, load_requirements

__all__ = [
    "DEFAULT_SCENARIO_DIR",
    "PROFILES",
    "SUITE_BUILDERS",
    "ConformOptions",
    "collect_cases",
    "open_iut",
    "run_conformance",
]

_COMPONENT: Final = "conformance"
SUITE_RERUN: Final = "vectors-rerun"
SUITE_MACHINES: Final = "machines"
#: Examples per machine and steps per example, by profile.
MACHINE_BUDGETS: Final = {"quick": Budget(examples=30, steps=20), "thorough": Budget(300, 40)}
#: What every machine needs from the manifest.
MACHINE_OPS: Final = ("reset", "submit_block", "head", "evidence", "reopen")
DEFAULT_SCENARIO_DIR: Final = Path("out/conform/scenarios")

#: Suite name -> builder from the vector cases and the run's seed.
SUITE_BUILDERS: Final[dict[str, Callable[[list[ConformanceCase], int], list[ConformanceCase]]]] = {
    SUITE_VECTORS: lambda vectors, _: vectors,
    SUITE_TEXT: lambda vectors, _: [v for v in map(text_variant, vectors) if v is not None],
    SUITE_RERUN: lambda vectors, _: [_rerun(case) for case in reversed(vectors)],
    SUITE_MACHINES: lambda vectors, seed: _machine_cases(vectors, seed),  # noqa: PLW0108
}
PROFILES: Final[dict[str, tuple[str, ...]]] = {
    "quick": (SUITE_VECTORS, SUITE_MACHINES),
    "thorough": (SUITE_VECTORS, SUITE_TEXT, SUITE_RERUN, SUITE_MACHINES),
}


def _machine_cases(vectors: list[ConformanceCase], seed: int) -> list[ConformanceCase]:
    spec_hash = vectors[0].scenario.metadata.spec_hash if vectors else "0" * 64
    return [
        ConformanceCase(
            case_id=f"machine-{family}",
            suite=SUITE_MACHINES,
            source=f"machines/{family}.py",
            requirement_ids=tuple(sorted(machine.requirement_ids)),
            accepting_for=(),
            scenario=machine_scenario(machine, seed, spec_hash),
            machine=family,
        )
        for family, machine in MACHINES.items()
    ]


def _rerun(case: ConformanceCase) -> ConformanceCase:
    case_id = f"{case.case_id}+rerun"
    metadata = case.scenario.metadata.model_copy(update={"id": case_id})
    scenario = case.scenario.model_copy(update={"metadata": metadata})
    return replace(case, case_id=case_id, suite=SUITE_RERUN, scenario=scenario)


# -- a run -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConformOptions:
    """What ``iome conform`` was asked: the arguments, already read."""

    impl: str = "ref"
    seed: int = 1
    profile: str = "quick"
    only: tuple[str, ...] = ()
    baseline: Path | None = None
    relax: Path | None = None
    scenarios_dir: Path | None = DEFAULT_SCENARIO_DIR
    spec_dir: Path | None = None


@dataclass
class _Tally:
    verdicts: dict[str, CaseVerdict] = field(default_factory=dict)
    relaxed: list[RelaxedMismatch] = field(default_factory=list)
    used_relaxations: set[int] = field(default_factory=set)


def collect_cases(spec_dir: Path, seed: int, profile: str) -> list[ConformanceCase]:
    """Every case of ``profile``, in run order (before ``--only``).

    Raises:
        UsageError: an unknown profile, or vector files not in the format.
    """
    suites = PROFILES.get(profile)
    if suites is None:
        raise UsageError(_COMPONENT, f"--profile {profile!r}: use one of {', '.join(PROFILES)}")
    vectors = load_vector_cases(spec_dir, seed)
    return [case for suite in suites for case in SUITE_BUILDERS[suite](vectors, seed)]


def _select(
    cases: list[ConformanceCase], only: Sequence[str], spec_dir: Path
) -> list[ConformanceCase]:
    if not only:
        return cases
    defined = load_requirements(spec_dir)
    unknown = sorted(set(only) - set(defined))
    if unknown:
        raise UsageError(_COMPONENT, f"--only: no requirement {', '.join(unknown)} in the spec")
    wanted = set(only)
    return [
        case
        for case in cases
        if wanted & set(case.requirement_ids) or wanted & set(case.accepting_for)
    ]


def _read_manifest(iut: IUT) -> dict[str, Any]:
    try:
        manifest = iut.hello()
    except IoMEError:
        raise
    except Exception as exc:
        raise ImplementationError(_COMPONENT, f"hello raised {type(exc).__name__}: {exc}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("ops"), list):
        raise ImplementationError(_COMPONENT, "hello did not answer a manifest with ops")
    return manifest


def _blamed(step: StepOutcome | None) -> list[str]:
    """The ids a divergence counts against: the id the case expects, else the id the IUT
    refused a valid input with, else the evidence ids that differ."""
    if step is None:
        return []
    if step.expected_code is not None:
        return [step.expected_code]
    if step.found_code is not None:
        return [step.found_code]
    ids = set(re.findall(r"IOME-[A-Z]+-\d{3}", step.expected)) ^ set(
        re.findall(r"IOME-[A-Z]+-\d{3}", step.actual)
    )
    return sorted(ids)


def _scenario_name(case_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", case_id) + ".json"


def _judge_case(
    case: ConformanceCase,
    result: ReplayResult,
    baseline: Baseline | None,
    tally: _Tally,
) -> CaseReport:
    known = baseline.reason_for(case.case_id) if baseline is not None else None
    step = result.divergence
    base: dict[str, Any] = {
        "id": case.case_id,
        "suite": case.suite,
        "source": case.source,
        "requirement_ids": list(case.requirement_ids),
    }
    if result.status == "skip":
        return CaseReport(**base, verdict=CaseVerdict.SKIP, detail=result.reason)
    if result.status == "error":
        last = result.steps[-1] if result.steps else None
        return CaseReport(
            **base,
            verdict=CaseVerdict.ERROR,
            step=None if last is None else last.index,
            detail=result.reason,
        )
    if result.status == "pass":
        for relaxed in result.relaxed:
            tally.relaxed.append(
                RelaxedMismatch(
                    case=case.case_id,
                    expected=relaxed.expected_code or "",
                    found=relaxed.found_code or "",
                    reason=relaxed.relaxed or "",
                )
            )
        if known is not None:
            return CaseReport(
                **base,
                verdict=CaseVerdict.XPASS,
                detail=known,
                blamed_ids=list(case.requirement_ids),
            )
        verdict = CaseVerdict.WARN if result.relaxed else CaseVerdict.PASS
        return CaseReport(**base, verdict=verdict)
    assert step is not None
    return CaseReport(
        **base,
        verdict=CaseVerdict.XFAIL if known is not None else CaseVerdict.FAIL,
        step=step.index,
        expected=step.expected,
        found=step.actual,
        detail=known if known is not None else step.detail,
        blamed_ids=_blamed(step),
    )


def _write_scenario(case: ConformanceCase, report: CaseReport, directory: Path) -> str:
    observed = (
        f"step {report.step}: expected {report.expected}, found {report.found}"
        if report.verdict is CaseVerdict.FAIL
        else f"error: {report.detail}"
    )
    metadata = case.scenario.metadata.model_copy(update={"observed": observed})
    scenario = case.scenario.model_copy(update={"metadata": metadata})
    name = _scenario_name(case.case_id)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(dump_scenario(scenario))
    return name


def _summaries(reports: Iterable[CaseReport]) -> list[RequirementSummary]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    failing: dict[str, list[str]] = defaultdict(list)
    for report in reports:
        verdict = report.verdict
        ids = (
            report.blamed_ids
            if verdict in {CaseVerdict.FAIL, CaseVerdict.XPASS}
            else report.requirement_ids
        )
        for req_id in ids:
            counts[req_id][verdict.value] += 1
            if verdict in {CaseVerdict.FAIL, CaseVerdict.XPASS, CaseVerdict.ERROR}:
                failing[req_id].append(report.id)
    summaries = []
    for req_id in sorted(counts):
        c = counts[req_id]
        failed = c["fail"] + c["xpass"]
        passed = c["pass"]
        status: Literal["pass", "fail", "error", "xfail", "skip"]
        if failed:
            status = "fail"
        elif c["error"]:
            status = "error"
        elif c["xfail"]:
            status = "xfail"
        elif passed or c["warn"]:
            status = "pass"
        else:
            status = "skip"
        summaries.append(
            RequirementSummary(
                req_id=req_id,
                status=status,
                passed=passed,
                failed=failed,
                xfailed=c["xfail"],
                warned=c["warn"],
                skipped=c["skip"],
                errors=c["error"],
                failing_cases=failing[req_id],
            )
        )
    return summaries


def _play_machine(
    case: ConformanceCase,
    iut: IUT,
    options: ConformOptions,
    manifest: dict[str, Any],
    tolerate: Callable[[StepOutcome], str | None],
) -> tuple[ConformanceCase, ReplayResult, str]:
    """Run a state-machine case: its case with the scenario the run wrote, the verdict's
    result, and what the machine found. A divergence is replayed from the exported scenario,
    so the verdict comes from the very file ``iome replay`` reads."""
    assert case.machine is not None
    needed = (*MACHINE_OPS, *MACHINES[case.machine].required_ops)
    missing = [op for op in needed if op not in manifest.get("ops", ())]
    if missing:
        reason = "the manifest lacks " + ", ".join(f"op {op}" for op in missing)
        return case, ReplayResult(case.scenario, "skip", (), reason), ""
    outcome = run_machine(
        MACHINES[case.machine],
        iut,
        seed=options.seed,
        budget=MACHINE_BUDGETS[options.profile],
        spec_hash=case.scenario.metadata.spec_hash,
    )
    case = replace(case, scenario=outcome.scenario)
    if outcome.status == "pass":
        return case, ReplayResult(case.scenario, "pass", ()), ""
    if outcome.status == "error":
        result = ReplayResult(case.scenario, "error", (), outcome.detail, outcome.broken)
        return case, result, ""
    replayed = execute(case.scenario, iut, seed=options.seed, tolerate=tolerate)
    if replayed.status in {"diverged", "error"}:
        return case, replayed, outcome.detail
    # The machine saw a difference the scenario format cannot state (evidence contents).
    last = len(case.scenario.steps)
    step = StepOutcome(
        last, "machine", case.machine or "", "", "the reference's answer", outcome.detail, False
    )
    return case, ReplayResult(case.scenario, "diverged", (step,)), outcome.detail


#: Called after each case with (cases done, cases in the run, the case's id).
Progress = Callable[[int, int, str], None]


def run_conformance(
    iut: IUT, options: ConformOptions, progress: Progress | None = None
) -> ConformReport:
    """Play every selected case on ``iut`` and report.

    Raises:
        UsageError: a bad profile, ``--only`` id, baseline or relaxation file.
        ImplementationError: ``hello`` fails (no case can run).
    """
    started = time.perf_counter()
    spec_dir = options.spec_dir or default_spec_dir()
    every = collect_cases(spec_dir, options.seed, options.profile)
    relaxation: Relaxation | None = (
        None if options.relax is None else load_relaxation(options.relax)
    )
    baseline = (
        None
        if options.baseline is None
        else load_baseline(options.baseline, {case.case_id: case for case in every})
    )
    cases = _select(every, options.only, spec_dir)
    manifest = _read_manifest(iut)
    tally = _Tally()

    def tolerate(step: StepOutcome, case_id: str) -> str | None:
        if relaxation is None:
            return None
        for index, entry in enumerate(relaxation.entries):
            if entry.matches(case_id, step.expected_code or "", step.found_code or ""):
                tally.used_relaxations.add(index)
                return entry.reason
        return None

    aborted: str | None = None
    if manifest.get("spec_version") != SPEC_VERSION:
        aborted = (
            f"the implementation speaks spec version {manifest.get('spec_version')!r}, "
            f"the vectors are for {SPEC_VERSION}"
        )
    reports: list[CaseReport] = []
    timings: dict[str, float] = {}
    for done, case in enumerate([] if aborted else cases, start=1):
        begun = time.perf_counter()
        tolerant = functools.partial(tolerate, case_id=case.case_id)
        if case.machine is not None:
            played, result, found = _play_machine(case, iut, options, manifest, tolerant)
        else:
            played, found = case, ""
            result = execute(
                case.scenario, iut, seed=options.seed, manifest=manifest, tolerate=tolerant
            )
        report = _judge_case(played, result, baseline, tally)
        if found:
            detail = f"{found}; {report.detail}" if report.detail else found
            report = report.model_copy(update={"detail": detail})
        if report.verdict in {CaseVerdict.FAIL, CaseVerdict.ERROR} and options.scenarios_dir:
            report = report.model_copy(
                update={"scenario": _write_scenario(played, report, options.scenarios_dir)}
            )
        reports.append(report)
        timings[case.case_id] = round((time.perf_counter() - begun) * 1000, 3)
        if progress is not None:
            progress(done, len(cases), case.case_id)
        if result.broken:
            aborted = f"the implementation broke at case {case.case_id}: {result.reason}"
            break
    verdicts = [report.verdict for report in reports]
    unused = (
        []
        if relaxation is None
        else [
            f"entries.{index}: expected {entry.expected}, found {entry.found}"
            + (f", case {entry.case}" if entry.case else "")
            for index, entry in enumerate(relaxation.entries)
            if index not in tally.used_relaxations
        ]
    )
    return ConformReport(
        generator=generator_name(),
        spec_version=SPEC_VERSION,
        spec_hash=compute_spec_hash(spec_dir),
        seed=options.seed,
        profile=options.profile,
        impl=options.impl,
        implementation=manifest,
        only=sorted(options.only),
        suites=list(PROFILES[options.profile]),
        exit_code=compute_exit_code(verdicts, aborted=aborted is not None),
        aborted=aborted,
        counts={verdict.value: verdicts.count(verdict) for verdict in CaseVerdict},
        requirements=_summaries(reports),
        relaxed=tally.relaxed,
        unused_relaxations=unused,
        cases=reports,
        unreached=unreached_ids(every, load_requirements(spec_dir)),
        timing=Timing(total_s=round(time.perf_counter() - started, 3), cases_ms=timings),
    )
