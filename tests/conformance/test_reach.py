"""The every-requirement-id gate: each id of spec/ is reached by a case of the suite (vector
or state machine) or its section says why it cannot be tested through the IUT."""

from __future__ import annotations

from dataclasses import replace

import pytest

from iome_ref.conformance.reach import reached_ids, unreached_ids, untestable_reasons
from iome_ref.conformance.runner import collect_cases
from iome_ref.vectors.spec_index import Requirement, default_spec_dir, load_requirements

SPEC = default_spec_dir()
REQUIREMENTS = load_requirements(SPEC)


@pytest.mark.parametrize("profile", ["quick", "thorough"])
def test_every_requirement_id_is_reached_or_excused(profile: str) -> None:
    assert unreached_ids(collect_cases(SPEC, 1, profile), REQUIREMENTS) == []


def test_gate_names_an_id_no_case_reaches() -> None:
    """Without the role machine, the role rules it alone reaches become gaps."""
    cases = [case for case in collect_cases(SPEC, 1, "quick") if case.machine != "roles"]
    gaps = unreached_ids(cases, REQUIREMENTS)
    assert "IOME-PRES-003" in gaps
    assert "IOME-TRIP-005" in gaps


def test_reads_the_stated_reason_and_only_that() -> None:
    reasons = untestable_reasons(REQUIREMENTS)
    assert reasons["IOME-DATA-001"].startswith("readings pass between a device")
    # A rule some case reaches states no reason: excuses never hide a reachable rule.
    assert not set(reasons) & reached_ids(collect_cases(SPEC, 1, "quick"))
    plain: Requirement = REQUIREMENTS["IOME-EPS-004"]
    marked = replace(plain, text=plain.text + " Not testable through the IUT: because.")
    assert untestable_reasons({"X": marked}) == {"X": "because."}
    assert untestable_reasons({"X": plain}) == {}
