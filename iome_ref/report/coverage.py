"""Requirement coverage: every id of spec/ with the checks that reach it.

An id is covered when the run has an accepting check (a valid input it must accept) and a
rejecting check (an input it must refuse with that id; a state machine or an adversary
targeting the id counts as both where it plays accepted and refused steps), or when its rule in
spec/ says why no run can check it, with a sentence starting with :data:`UNTESTABLE_MARKER`
(for example "Not testable through the IUT: a station's docking sensor is outside the
interface."). Everything else is listed as uncovered, and the
project's own suite fails on it (tests/report/test_coverage.py).

What must not live here: running checks (run.py), the verdict of a case (conformance).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Literal

from iome_ref.report.model import Check, RequirementCoverage
from iome_ref.vectors.spec_index import Requirement

__all__ = ["UNTESTABLE_MARKER", "build_coverage", "untestable_reasons"]

#: The sentence a rule of spec/ starts with to say why no run can check it.
UNTESTABLE_MARKER: Final = "Not testable through the IUT:"
#: The reason: the rest of the sentence, up to a full stop followed by a space or the end
#: (the same reading as iome_ref/conformance/reach.py of helper roleops, whose marker this is).
_UNTESTABLE: Final = re.compile(re.escape(UNTESTABLE_MARKER) + r"\s*(?P<reason>.+?\.)(?=\s|$)")
Status = Literal["pass", "fail", "error", "xfail", "skip", "not run"]
#: Checks that play both accepted and refused steps for each id they name.
_BOTH_WAYS: Final = frozenset({"machine", "adversary"})


def untestable_reasons(requirements: Mapping[str, Requirement]) -> dict[str, str]:
    """Id -> the reason its rule gives for being untestable, for rules that give one."""
    reasons = {}
    for req_id, requirement in requirements.items():
        match = _UNTESTABLE.search(requirement.text)
        if match is not None:
            reasons[req_id] = match.group("reason").strip()
    return reasons


def _status(every: Sequence[str], blamed: bool) -> Status:
    verdicts = [verdict for verdict in every if verdict != "not run"]
    if blamed or {"fail", "xpass"} & set(verdicts):
        return "fail"
    if "error" in verdicts:
        return "error"
    if "xfail" in verdicts:
        return "xfail"
    if {"pass", "warn", "leak"} & set(verdicts):
        return "pass"
    return "skip" if verdicts else "not run"


def build_coverage(
    requirements: Mapping[str, Requirement],
    checks: Iterable[Check],
    blamed: Iterable[str],
) -> list[RequirementCoverage]:
    """One entry per id of spec/, in the spec's order.

    ``blamed`` are the ids findings count against: a rejecting check that failed because the
    implementation refused a valid input under another id blames that id, not its own.
    """
    accepting: dict[str, list[str]] = defaultdict(list)
    rejecting: dict[str, list[str]] = defaultdict(list)
    verdicts: dict[str, list[str]] = defaultdict(list)
    for check in checks:
        for req_id in check.requirement_ids:
            rejecting[req_id].append(check.id)
            verdicts[req_id].append(check.verdict)
            if check.kind in _BOTH_WAYS:
                accepting[req_id].append(check.id)
        for req_id in check.accepting_for:
            accepting[req_id].append(check.id)
            verdicts[req_id].append(check.verdict)
    failed = set(blamed)
    untestable = untestable_reasons(requirements)
    entries = []
    for req_id, requirement in requirements.items():
        reason = untestable.get(req_id)
        entries.append(
            RequirementCoverage(
                req_id=req_id,
                title=requirement.title,
                file=requirement.file,
                status=_status(verdicts[req_id], req_id in failed),
                accepting=sorted(set(accepting[req_id])),
                rejecting=sorted(set(rejecting[req_id])),
                covered=reason is not None or bool(accepting[req_id] and rejecting[req_id]),
                untestable=reason,
            )
        )
    return entries
