"""The non-repudiation and key-unlinkability machines against broken implementations, and an
implementation that does not offer the evidence op: skipped, never passed. (Each machine's
run against the reference is test_machines.py's ``test_accepts_reference_against_itself``.)"""

from __future__ import annotations

import pytest

from iome_ref.conformance.adapters import ReferenceIUT, open_iut
from iome_ref.conformance.machines import MACHINES, Budget, run_machine
from iome_ref.conformance.runner import ConformOptions, run_conformance
from iome_ref.conformance.scenarios import execute

ZOO = "python:tests.conformance.zoo.members"
BUDGET = Budget(examples=10, steps=15)
HASH = "0" * 64


@pytest.mark.req("IOME-EVB-010")
def test_rejects_bundles_with_todays_revocation_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conformance.helpers import ROOT  # noqa: PLC0415

    monkeypatch.chdir(ROOT)
    iut = open_iut(f"{ZOO}:BundleWithCurrentCrls")
    result = run_machine(MACHINES["nonrepudiation"], iut, seed=1, budget=BUDGET, spec_hash=HASH)
    assert result.status == "diverged", result.detail
    assert "IOME-EVB-010" in result.detail
    # The blocks replay alike on both: the divergence is in the bundle, which the runner
    # reports from the machine's detail.
    assert execute(result.scenario, ReferenceIUT()).status == "pass"


@pytest.mark.req("IOME-TRIP-007")
def test_rejects_verifiers_deriving_the_nonce_from_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conformance.helpers import ROOT  # noqa: PLC0415

    monkeypatch.chdir(ROOT)
    iut = open_iut(f"{ZOO}:PublishesKeyInTrip")
    result = run_machine(MACHINES["unlinkability"], iut, seed=1, budget=BUDGET, spec_hash=HASH)
    assert result.status == "diverged", result.detail
    assert "IOME-TRIP-007" in result.detail
    assert execute(result.scenario, ReferenceIUT()).status == "pass"


class _NoEvidenceOp(ReferenceIUT):
    """The reference without the optional op, as an implementation that lacks it."""

    def hello(self) -> dict[str, object]:
        manifest = super().hello()
        return {**manifest, "ops": [op for op in manifest["ops"] if op != "evidence_bundle"]}


def test_machine_without_evidence_op_is_skipped() -> None:
    report = run_conformance(
        _NoEvidenceOp(), ConformOptions(impl="ref", only=("IOME-EVB-001",), scenarios_dir=None)
    )
    (case,) = [c for c in report.cases if c.id == "machine-nonrepudiation"]
    assert case.verdict.value == "skip"
    assert "evidence_bundle" in (case.detail or "")
    assert report.exit_code == 0
