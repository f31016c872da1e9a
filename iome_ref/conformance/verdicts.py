"""Verdicts of a conformance run, the files that adjust them, and the exit code they give.

A case ends ``pass``, ``fail``, ``skip`` (the manifest lacks what the case needs: never
counted as a pass), ``xfail`` / ``xpass`` (a baseline entry says the case is known to fail;
an xpass fails the run, so a fixed bug cannot hide behind a stale baseline), ``warn`` (an id
mismatch a relaxation entry downgrades) or ``error`` (the IUT or the harness broke).

A baseline or relaxation entry without a reason is refused: a silenced failure must say why.
What must not live here: running cases (runner.py) or writing reports (report.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from iome_ref.errors import UsageError

__all__ = [
    "EXIT_ERROR",
    "EXIT_FAIL",
    "EXIT_PASS",
    "Baseline",
    "BaselineEntry",
    "CaseVerdict",
    "Relaxation",
    "RelaxationEntry",
    "compute_exit_code",
    "load_baseline",
    "load_relaxation",
    "validation_path",
]

EXIT_PASS: Final = 0
EXIT_FAIL: Final = 1
EXIT_ERROR: Final = 2

_COMPONENT: Final = "conformance"
#: A requirement id as the spec writes it (``IOME-EPS-004``).
ReqId = Annotated[str, StringConstraints(pattern=r"^IOME-[A-Z]+-[0-9]{3}$")]
#: A reason is a sentence, not blanks.
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class CaseVerdict(StrEnum):
    """The verdict of one case."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    XFAIL = "xfail"
    XPASS = "xpass"
    WARN = "warn"
    ERROR = "error"


def compute_exit_code(verdicts: Iterable[CaseVerdict], *, aborted: bool = False) -> int:
    """0 when nothing failed, 1 on a fail or xpass, 2 on an error (which outranks a fail)."""
    seen = set(verdicts)
    if aborted or CaseVerdict.ERROR in seen:
        return EXIT_ERROR
    if seen & {CaseVerdict.FAIL, CaseVerdict.XPASS}:
        return EXIT_FAIL
    return EXIT_PASS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BaselineEntry(_Strict):
    """A case known to fail on this implementation, and why."""

    case: str = Field(min_length=1, description="The case id (as in the report).")
    reason: Reason = Field(description="Why the failure is accepted for now; never empty.")


class Baseline(_Strict):
    """``--baseline FILE``: known failures, reported ``xfail`` while they fail."""

    entries: list[BaselineEntry]

    def reason_for(self, case_id: str) -> str | None:
        for entry in self.entries:
            if entry.case == case_id:
                return entry.reason
        return None


class RelaxationEntry(_Strict):
    """An id mismatch to report as a warning: the IUT refuses the input, under another id."""

    expected: ReqId = Field(description="The id the case expects.")
    found: ReqId = Field(description="The id the implementation reports instead.")
    case: str | None = Field(
        default=None, description="Only this case; absent means every case with this mismatch."
    )
    reason: Reason = Field(description="Why the other id is acceptable; never empty.")

    def matches(self, case_id: str, expected: str, found: str) -> bool:
        return (
            self.expected == expected
            and self.found == found
            and (self.case is None or self.case == case_id)
        )


class Relaxation(_Strict):
    """``--relax FILE``: named id mismatches downgraded to warnings for one implementation."""

    entries: list[RelaxationEntry]

    def find(self, case_id: str, expected: str, found: str) -> RelaxationEntry | None:
        for entry in self.entries:
            if entry.matches(case_id, expected, found):
                return entry
        return None


def validation_path(error: ValidationError) -> tuple[str, str]:
    """The first error of ``error`` as (dotted path of the field, pydantic's message)."""
    first = error.errors(include_url=False)[0]
    path = ".".join(str(part) for part in first["loc"])
    return path or "(document)", first["msg"]


def _load(model: type[_Strict], path: Path, option: str) -> _Strict:
    try:
        document = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise UsageError(_COMPONENT, f"{option} {path}: no such file") from None
    except (OSError, UnicodeError, ValueError) as exc:
        raise UsageError(_COMPONENT, f"{option} {path}: not a JSON file ({exc})") from None
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        where, message = validation_path(exc)
        raise UsageError(_COMPONENT, f"{option} {path}: {where}: {message}") from None


def load_baseline(path: Path, known_cases: Mapping[str, object]) -> Baseline:
    """Read a baseline file; an entry naming a case the suite does not have is refused.

    Raises:
        UsageError: unreadable file, a member of the wrong type, an empty reason, an unknown case.
    """
    baseline = _load(Baseline, path, "--baseline")
    assert isinstance(baseline, Baseline)
    for index, entry in enumerate(baseline.entries):
        if entry.case not in known_cases:
            raise UsageError(
                _COMPONENT, f"--baseline {path}: entries.{index}.case: no case {entry.case!r}"
            )
    return baseline


def load_relaxation(path: Path) -> Relaxation:
    """Read a relaxation file.

    Raises:
        UsageError: unreadable file, a member of the wrong type, an empty reason.
    """
    relaxation = _load(Relaxation, path, "--relax")
    assert isinstance(relaxation, Relaxation)
    return relaxation
