"""Requirement coverage: every id of spec/ has an accepting and a rejecting check in the
report's run, or its rule says why no run can check it; the suite fails on any other id."""

from __future__ import annotations

import json

from iome_ref.report.coverage import UNTESTABLE_MARKER, build_coverage, untestable_reasons
from iome_ref.report.model import Check
from iome_ref.vectors.spec_index import Requirement

from .helpers import SAMPLE


def _requirement(req_id: str, text: str = "An X MUST be Y.") -> Requirement:
    return Requirement(req_id, f"title of {req_id}", req_id.split("-")[1], "x.md", "paper", text)


def _check(
    check_id: str, kind: str, rejects: list[str], accepts: list[str], verdict: str = "pass"
) -> Check:
    return Check.model_validate(
        {
            "id": check_id,
            "kind": kind,
            "requirement_ids": rejects,
            "accepting_for": accepts,
            "verdict": verdict,
        }
    )


def test_every_requirement_id_is_covered_by_the_reference_report() -> None:
    document = json.loads((SAMPLE / "report.json").read_bytes())
    uncovered = [r["req_id"] for r in document["requirements"] if not r["covered"]]
    assert uncovered == [], (
        f"no accepting and rejecting check in `iome report`, and no '{UNTESTABLE_MARKER} "
        f"<reason>' sentence in its rule: {', '.join(uncovered)}"
    )
    assert document["counts"]["uncovered"] == uncovered


def test_accepts_an_id_with_both_checks_or_a_reason() -> None:
    requirements = {
        "IOME-A-001": _requirement("IOME-A-001"),
        "IOME-A-002": _requirement("IOME-A-002"),
        "IOME-A-003": _requirement(
            "IOME-A-003", f"A node MUST do Z. {UNTESTABLE_MARKER} Z happens inside the node."
        ),
        "IOME-A-004": _requirement("IOME-A-004"),
    }
    checks = [
        _check("valid", "vector", [], ["IOME-A-001", "IOME-A-002"]),
        _check("refused", "vector", ["IOME-A-001"], []),
        _check("machine-x", "machine", ["IOME-A-004"], [], verdict="fail"),
    ]
    coverage = {entry.req_id: entry for entry in build_coverage(requirements, checks, [])}
    assert coverage["IOME-A-001"].covered
    assert coverage["IOME-A-001"].accepting == ["valid"]
    assert coverage["IOME-A-001"].rejecting == ["refused"]
    assert not coverage["IOME-A-002"].covered  # accepted, never refused
    assert coverage["IOME-A-003"].covered
    assert coverage["IOME-A-003"].untestable == "Z happens inside the node."
    assert coverage["IOME-A-003"].status == "not run"
    assert coverage["IOME-A-004"].covered  # a machine plays both ways
    assert coverage["IOME-A-004"].status == "fail"
    assert untestable_reasons(requirements) == {"IOME-A-003": "Z happens inside the node."}


def test_rejects_blamed_id_as_failed_even_when_its_own_checks_pass() -> None:
    requirements = {"IOME-A-001": _requirement("IOME-A-001")}
    checks = [_check("valid", "vector", [], ["IOME-A-001"])]
    (entry,) = build_coverage(requirements, checks, ["IOME-A-001"])
    assert entry.status == "fail"
