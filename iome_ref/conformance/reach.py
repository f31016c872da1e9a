"""Which requirement ids the conformance suite reaches, and which the spec says it cannot.

Every requirement id of spec/ is reached by some case of the suite (a vector case or a state
machine, through the ``requirement_ids`` they exercise), or its section in spec/ says why it
cannot be tested from outside an implementation, in a sentence that begins with
:data:`UNTESTABLE_MARK` (``Not testable through the IUT: <reason>``). ``iome conform`` reports
the ids that are neither (``unreached``); a project test fails on any.

What must not live here: running cases (runner.py), parsing the spec's rules (vectors/
spec_index.py gives each rule's text).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

from iome_ref.conformance.cases import ConformanceCase
from iome_ref.vectors.spec_index import Requirement

__all__ = ["UNTESTABLE_MARK", "reached_ids", "unreached_ids", "untestable_reasons"]

#: The words that open a rule's statement that the suite cannot test it from outside.
UNTESTABLE_MARK: Final = "Not testable through the IUT:"
#: The reason: the rest of the sentence (up to a full stop followed by a space or the end).
_REASON: Final = re.compile(re.escape(UNTESTABLE_MARK) + r"\s*(?P<reason>.+?\.)(?=\s|$)")


def untestable_reasons(requirements: Mapping[str, Requirement]) -> dict[str, str]:
    """Requirement id -> why the suite cannot test it from outside an implementation, for
    the rules whose section says so."""
    reasons = {}
    for req_id, requirement in requirements.items():
        match = _REASON.search(requirement.text)
        if match is not None:
            reasons[req_id] = match["reason"]
    return reasons


def reached_ids(cases: Iterable[ConformanceCase]) -> set[str]:
    """The ids some case exercises (its ``requirement_ids``)."""
    return {req_id for case in cases for req_id in case.requirement_ids}


def unreached_ids(
    cases: Iterable[ConformanceCase], requirements: Mapping[str, Requirement]
) -> list[str]:
    """The ids of ``requirements`` no case reaches and no stated reason excuses, sorted."""
    excused = untestable_reasons(requirements)
    return sorted(set(requirements) - reached_ids(cases) - set(excused))
