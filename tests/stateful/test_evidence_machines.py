"""The non-repudiation and key-unlinkability machines against broken implementations, and an
implementation that does not offer the evidence op: skipped, never passed. (Each machine's
run against the reference is test_machines.py's ``test_accepts_reference_against_itself``.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from iome_ref.conformance.adapters import ReferenceIUT, open_iut
from iome_ref.conformance.machines import MACHINES, Budget, run_machine
from iome_ref.conformance.runner import ConformOptions, run_conformance
from iome_ref.conformance.scenarios import dump_scenario, execute

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


@pytest.mark.parametrize(
    "case",
    [
        ("BundleWithCurrentCrls", "nonrepudiation", "IOME-EVB-010", "check_bundle"),
        ("PublishesKeyInTrip", "unlinkability", "IOME-TRIP-007", "check_trip_unlinked"),
    ],
)
def test_written_scenario_replays_to_the_same_finding(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, case: tuple[str, str, str, str]
) -> None:
    """The finding is the scenario's last step (a check step), so ``iome replay`` of the file
    fails on the member naming the id, and passes on the reference."""
    member, family, req_id, op = case
    from tests.conformance.helpers import ROOT, invoke  # noqa: PLC0415

    monkeypatch.chdir(ROOT)
    iut = open_iut(f"{ZOO}:{member}")
    result = run_machine(MACHINES[family], iut, seed=1, budget=BUDGET, spec_hash=HASH)
    assert result.status == "diverged", result.detail
    last = result.scenario.steps[-1]
    assert last.op == op
    path = tmp_path / "finding.json"
    path.write_bytes(dump_scenario(result.scenario))
    replayed = invoke(monkeypatch, "replay", str(path), "--impl", f"{ZOO}:{member}")
    assert replayed.exit_code == 1, replayed.stdout
    assert f"{op} " in replayed.stdout
    assert f"actual:   reject {req_id} (" in replayed.stdout
    replayed = invoke(monkeypatch, "replay", str(path), "--impl", "ref")
    assert (replayed.exit_code, replayed.stdout.splitlines()[-1]) == (0, "result pass")


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


@pytest.mark.req("IOME-TRIP-007")
def test_trip_check_reads_a_published_trip_by_its_tx_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """``check_trip_unlinked`` on ``chain`` + ``tx_id`` judges the record the IUT publishes
    (the audit's form): the member's Trip names its key; a record the IUT lacks is absent."""
    from adversaries.flows import trip_extraction  # noqa: PLC0415
    from adversaries.nonce_linking import NonceLinking  # noqa: PLC0415
    from iome_ref.conformance.scenarios import parse_scenario  # noqa: PLC0415
    from tests.conformance.helpers import ROOT  # noqa: PLC0415

    monkeypatch.chdir(ROOT)
    script = NonceLinking().script(1, "audit", "a published Trip audited", "IOME-TRIP-007")
    flow = trip_extraction(script, "au")
    member = f"{ZOO}:PublishesKeyInTrip"
    played = execute(script.scenario(), open_iut(member))
    assert played.status == "pass", played.reason
    cosigned = [s for s in played.steps if s.op == "verifier_cosign" and s.answer is not None]
    trip_id = cosigned[-1].answer["trip"]["tx_id"]
    document = script.scenario().model_dump(mode="json")
    hidden = {
        "claim": next(
            s["args"]["claim"] for s in document["steps"] if s["op"] == "verifier_cosign"
        ),
        "source": flow.source.model_dump(mode="json"),
        "destination": flow.destination.model_dump(mode="json"),
    }
    document["steps"].append(
        {
            "actor": "harness",
            "op": "check_trip_unlinked",
            "args": {"chain": "public", "tx_id": trip_id, **hidden},
            "expect": "unlinked",
        }
    )
    result = execute(parse_scenario(document), open_iut(member))
    assert result.divergence is not None
    assert result.divergence.actual == "reject IOME-TRIP-007"
    # The reference drew another nonce: it publishes no record with this tx id.
    result = execute(parse_scenario(document), ReferenceIUT())
    assert result.divergence is not None
    assert result.divergence.actual == "absent"
