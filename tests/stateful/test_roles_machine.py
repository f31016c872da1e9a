"""The role-operations machine (machines/roles.py) finds role bugs: a station that attests
without a docking, a backup that breaks the anchor sequence, verifiers that co-sign without a
quorum answering, a predictor that miscounts, a verifier that shifts a trip's times; each run
diverges naming the step, and its exported scenario replays the bug while the reference passes.
"""

from __future__ import annotations

from typing import Any

import pytest

from iome_ref.conformance import wire
from iome_ref.conformance.adapters import ReferenceIUT
from iome_ref.conformance.iut import JsonObject
from iome_ref.conformance.machines import MACHINES, Budget, run_machine
from iome_ref.conformance.runner import ConformOptions, run_conformance
from iome_ref.conformance.scenarios import ROLE_STEP_OPS, execute
from iome_ref.conformance.verdicts import CaseVerdict
from iome_ref.encoding import compute_hash

BUDGET = Budget(examples=30, steps=20)
HASH = "0" * 64


class AttestsUndocked(ReferenceIUT):
    """Signs a Presence for any key shown, docked or not (IOME-PRES-003)."""

    def _op_station_attest(self, args: wire.StationAttestArgs) -> JsonObject:
        station = self.node._station(args.station)
        if not station.is_docked(args.one_time_pk):
            station.dock(f"ghost-{args.one_time_pk[:8]}", args.one_time_pk, args.t)
        return super()._op_station_attest(args)


class BackupSkipsTip(ReferenceIUT):
    """A backup that takes office naming another anchor than the tip (IOME-ANC-008)."""

    def _op_backup_handover(self, args: wire.BackupHandoverArgs) -> JsonObject:
        result = super()._op_backup_handover(args)
        handover = dict(result["handover"])
        handover["last_anchor_id"] = compute_hash(b"an anchor of another sequence")
        return {"handover": handover}


class IgnoresSilentVerifiers(ReferenceIUT):
    """Co-signs with every verifier's key though some stopped answering."""

    def _op_verifier_cosign(self, args: wire.VerifierCosignArgs) -> JsonObject:
        return super()._op_verifier_cosign(args.model_copy(update={"answering": None}))


class MiscountsOd(ReferenceIUT):
    """Counts one trip too many in the first cell (IOME-ODM-004)."""

    def _op_predictor_od(self, args: wire.PredictorOdArgs) -> JsonObject:
        result = super()._op_predictor_od(args)
        matrices: list[dict[str, Any]] = [dict(m) for m in result["matrices"]]
        if matrices and matrices[0]["cells"]:
            i, j, count = matrices[0]["cells"][0]
            matrices[0]["cells"] = [[i, j, count + 1], *matrices[0]["cells"][1:]]
        return {"matrices": matrices}


class ShiftsTripTimes(ReferenceIUT):
    """Publishes a trip's end one bucket late (IOME-TRIP-005); the reference refuses the
    re-signed Trip's quorum signatures, or the times, either way the run diverges."""

    def _op_verifier_cosign(self, args: wire.VerifierCosignArgs) -> JsonObject:
        result = super()._op_verifier_cosign(args)
        trip = result["trip"]
        if trip is None:
            return result
        return {"trip": {**trip, "end_time": trip["end_time"] + trip["time_bucket_s"]}}


@pytest.mark.parametrize(
    ("member", "op", "req_id"),
    [
        (AttestsUndocked, "station_attest", "IOME-PRES-003"),
        (BackupSkipsTip, "backup_handover", None),
        (IgnoresSilentVerifiers, "verifier_cosign", None),
        (MiscountsOd, "predictor_od", None),
        (ShiftsTripTimes, "verifier_cosign", None),
    ],
)
def test_rejects_role_bug_and_scenario_replays_it(
    member: type[ReferenceIUT], op: str, req_id: str | None
) -> None:
    result = run_machine(MACHINES["roles"], member(), seed=1, budget=BUDGET, spec_hash=HASH)
    assert result.status == "diverged", result.detail
    assert op in result.detail
    if req_id is not None:
        assert req_id in result.detail
    # The reference gives every answer the exported scenario expects.
    assert execute(result.scenario, ReferenceIUT()).status == "pass"
    if member is not ShiftsTripTimes:  # the reference's own judgement of the IUT's Trip
        replayed = execute(result.scenario, member())
        assert replayed.status == "diverged"
        assert replayed.divergence is not None
        assert replayed.divergence.op == op


def test_roles_machine_keys_are_in_its_scenario() -> None:
    """A role scenario carries the actors' keys its steps need (setup.keys)."""
    result = run_machine(MACHINES["roles"], BackupSkipsTip(), seed=2, budget=BUDGET, spec_hash=HASH)
    assert {"st-a", "verifier-1", "fleet-manager", "fleet-backup"} <= set(
        result.scenario.setup.keys
    )


def test_skips_roles_machine_when_the_manifest_lacks_role_ops() -> None:
    """An implementation of the chains alone is skipped by the roles machine, never failed."""

    class ChainsOnly(ReferenceIUT):
        def _op_hello(self, args: Any) -> JsonObject:
            manifest = super()._op_hello(args)
            return {**manifest, "ops": [op for op in manifest["ops"] if op not in ROLE_STEP_OPS]}

    options = ConformOptions(scenarios_dir=None, only=("IOME-PRES-003",))
    report = run_conformance(ChainsOnly(), options)
    case = next(case for case in report.cases if case.id == "machine-roles")
    assert case.verdict is CaseVerdict.SKIP
    assert "op station_attest" in case.detail
