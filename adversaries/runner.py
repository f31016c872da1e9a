"""Run adversaries against an implementation: ``iome attack`` and ``iome report`` call this.

:func:`run_attacks` opens the IUT named by ``--impl`` (through the conformance runner's
``open_iut``, so this package never touches an adapter itself) unless one is passed in, runs
each selected adversary in catalogue order, writes one scenario per finding under ``out`` and
``attack.json``, and answers the :class:`AttackReport`. Deterministic: the same seed against the
same implementation gives the same report, byte for byte, apart from its ``timing`` member.

What must not live here: argument parsing and printing (iome_ref/cli/attack.py), the attacks.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from adversaries.base import Adversary, AttackResult, Profile
from adversaries.play import spec_hash
from adversaries.registry import select_adversaries
from adversaries.report import (
    AdversaryReport,
    AttackReport,
    AttackTiming,
    FindingReport,
    dump_report,
)
from iome_ref.conformance.iut import IUT
from iome_ref.conformance.runner import open_iut
from iome_ref.conformance.scenarios import Scenario, dump_scenario, generator_name
from iome_ref.errors import ImplementationError, IoMEError, UsageError

__all__ = [
    "DEFAULT_OUT",
    "PROFILES",
    "REPORT_NAME",
    "Progress",
    "attack_exit_code",
    "run_attacks",
    "write_scenarios",
]

_COMPONENT: Final = "attack"
DEFAULT_OUT: Final = Path("out/attack")
PROFILES: Final = ("quick", "thorough")
REPORT_NAME: Final = "attack.json"

#: Called after each adversary with (adversaries done, adversaries in the run, its name).
Progress = Callable[[int, int, str], None]


def _file_name(scenario_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", scenario_id) + ".json"


def _run_one(adversary: Adversary, iut: IUT, seed: int, profile: Profile) -> AttackResult:
    """One attack; an IUT that breaks, or an attack that raises, is an ``error`` result."""
    broken = False
    try:
        return adversary.attack(iut, seed, profile)
    except ImplementationError as exc:
        detail, broken = f"seed {seed}: the implementation broke: {exc.message}", True
    except IoMEError as exc:
        detail = f"seed {seed}: {type(exc).__name__}: {exc}"
    except Exception as exc:  # an in-process IUT that raises outside the protocol
        detail = f"seed {seed}: {type(exc).__name__}: {exc}"
    return AttackResult(adversary.name, "error", None, None, None, (), detail, seed, broken=broken)


def _as_expected(adversary: Adversary, result: AttackResult) -> bool:
    """``blocked`` where a leak was expected is better than expected, and fine."""
    return result.outcome == adversary.expected or (
        result.outcome == "blocked" and adversary.expected == "leaks"
    )


def attack_exit_code(reports: Sequence[AdversaryReport]) -> int:
    """2 when an adversary errored, else 1 when one succeeded, else 0."""
    outcomes = {report.outcome for report in reports}
    if "error" in outcomes:
        return 2
    return 1 if "succeeded" in outcomes else 0


def _report_of(adversary: Adversary, result: AttackResult, out: Path | None) -> AdversaryReport:
    findings = []
    for finding in result.findings:
        name = None
        if out is not None:
            name = _file_name(finding.scenario.metadata.id)
            out.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(dump_scenario(finding.scenario))
        findings.append(
            FindingReport(
                requirement_id=finding.requirement_id, detail=finding.detail, scenario=name
            )
        )
    error_scenario = None
    if result.outcome == "error" and result.played and out is not None:
        # The scenario that was playing when the attack broke, kept so it replays too.
        broken = result.played[-1]
        metadata = broken.metadata.model_copy(update={"observed": f"error: {result.detail}"})
        error_scenario = _file_name(broken.metadata.id)
        out.mkdir(parents=True, exist_ok=True)
        (out / error_scenario).write_bytes(
            dump_scenario(broken.model_copy(update={"metadata": metadata}))
        )
    return AdversaryReport(
        name=adversary.name,
        title=adversary.title,
        capabilities=sorted(c.value for c in adversary.capabilities),
        colluders=adversary.colluders,
        invariant=adversary.invariant,
        targets=list(adversary.targets),
        expected=adversary.expected,
        outcome=result.outcome,
        as_expected=_as_expected(adversary, result),
        figure=result.figure,
        figure_unit=result.figure_unit,
        figure_text=result.figure_text,
        findings=findings,
        scenarios_played=len(result.played),
        detail=result.detail,
        error_scenario=error_scenario,
    )


def write_scenarios(scenarios: Sequence[Scenario], directory: Path) -> list[Path]:
    """Write each scenario as ``<its id>.json`` under ``directory``; the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for scenario in scenarios:
        path = directory / _file_name(scenario.metadata.id)
        path.write_bytes(dump_scenario(scenario))
        written.append(path)
    return written


def _manifest(iut: IUT) -> dict[str, Any]:
    """``hello``'s manifest.

    Raises:
        ImplementationError: hello raised outside the protocol or answered no object.
    """
    try:
        manifest: Any = iut.hello()
    except IoMEError:
        raise
    except Exception as exc:
        raise ImplementationError(_COMPONENT, f"hello raised {type(exc).__name__}: {exc}") from None
    if not isinstance(manifest, dict):
        raise ImplementationError(_COMPONENT, "hello did not answer a manifest")
    return manifest


def _run_all(  # noqa: PLR0917 - the run's settings, passed through from run_attacks
    adversaries: Sequence[Adversary],
    iut: IUT,
    seed: int,
    profile: Profile,
    out: Path | None,
    played_out: Path | None,
    progress: Progress | None,
) -> tuple[list[AdversaryReport], dict[str, float]]:
    """Each adversary in turn: its report and its run time in ms. Once the implementation
    broke (a stdio IUT that died or hung is killed), the rest are not run."""
    reports: list[AdversaryReport] = []
    timings: dict[str, float] = {}
    broke: str | None = None
    for done, adversary in enumerate(adversaries, start=1):
        begun = time.perf_counter()
        if broke is None:
            result = _run_one(adversary, iut, seed, profile)
            broke = adversary.name if result.broken else None
        else:
            detail = f"seed {seed}: not run: the implementation broke during {broke}"
            result = AttackResult(adversary.name, "error", None, None, None, (), detail, seed)
        reports.append(_report_of(adversary, result, out))
        if played_out is not None:
            write_scenarios(result.played, played_out)
        timings[adversary.name] = round((time.perf_counter() - begun) * 1000, 3)
        if progress is not None:
            progress(done, len(adversaries), adversary.name)
    return reports, timings


def run_attacks(
    impl: str,
    *,
    seed: int = 1,
    profile: str = "quick",
    names: Sequence[str] | None = None,
    out: Path | None = DEFAULT_OUT,
    progress: Progress | None = None,
    iut: IUT | None = None,
    played_out: Path | None = None,
) -> AttackReport:
    """Run the adversaries ``names`` (all when None) against ``impl`` and report.

    ``iut``, when given, is used instead of opening ``impl`` (which then only labels the
    report) and is left open; an IUT opened here is closed. With ``out``, every finding's
    scenario is written there, and the report as ``attack.json``.

    Raises:
        UsageError: an unknown adversary or profile, a bad ``--impl``.
        ImplementationError: the implementation could not even say hello.
    """
    started = time.perf_counter()
    if profile not in PROFILES:
        raise UsageError(_COMPONENT, f"--profile {profile!r}: use one of {', '.join(PROFILES)}")
    chosen: Profile = "thorough" if profile == "thorough" else "quick"
    adversaries = select_adversaries(names)
    for directory, option in ((out, "--out"), (played_out, "--played")):
        if directory is not None and directory.exists() and not directory.is_dir():
            raise UsageError(_COMPONENT, f"{option} {directory}: not a directory")
    opened = iut is None
    target = open_iut(impl) if iut is None else iut
    try:
        manifest = _manifest(target)
        reports, timings = _run_all(adversaries, target, seed, chosen, out, played_out, progress)
    finally:
        if opened:
            target.close()
    report = AttackReport(
        generator=generator_name(),
        spec_hash=spec_hash(),
        seed=seed,
        profile=chosen,
        impl=impl,
        implementation=manifest,
        exit_code=attack_exit_code(reports),
        adversaries=reports,
        timing=AttackTiming(
            total_s=round(time.perf_counter() - started, 3), adversaries_ms=timings
        ),
    )
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / REPORT_NAME).write_bytes(dump_report(report))
    return report
