"""The adversaries of catalogue part 2 (issue 14 items 8, 9, 11-14; spec/adversaries.md).

Against the reference each has its expected outcome (``blocked``, or ``leaks`` with a figure);
against each broken implementation of its area it succeeds on the intended requirement id, and
the finding's scenario replays to the same divergence; the committed scenarios under
adversaries/scenarios/ are checked with everyone's by tests/attack/test_committed_scenarios.py.
The broken implementations are tests/conformance/zoo/role_members.py: bugs in a role (a backup,
the predictor, a station, the verifiers) or in a rule of this half of the catalogue.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from adversaries.base import Adversary, AttackResult
from adversaries.registry import ADVERSARIES
from iome_ref.conformance.adapters import open_iut
from iome_ref.conformance.adapters.inproc import ReferenceIUT
from iome_ref.conformance.iut import CORE_OPS, IUT, JsonObject, Refused
from iome_ref.conformance.scenarios import dump_scenario, execute

ROOT = Path(__file__).resolve().parents[2]
SEED = 1
IOME = str(Path(sys.executable).parent / "iome")
ROLE_ZOO = "python:tests.conformance.zoo.role_members"

#: The adversaries of part 2, by registry name.
PART_2 = (
    "verifiers-below-quorum",
    "verifiers-at-quorum",
    "faulty-manager",
    "rogue-company",
    "energy-fraud",
    "colluding-stations",
    "observer-linking",
)

#: Broken implementation (tests/conformance/zoo/role_members.py) -> (adversary, the id it must
#: be caught on).
ZOO_ROWS: dict[str, tuple[str, str]] = {
    "BackupSkipsAnchorTip": ("faulty-manager", "IOME-ANC-008"),
    "BackupForksAnchors": ("faulty-manager", "IOME-ANC-003"),
    "HandsOverEarly": ("faulty-manager", "IOME-ANC-007"),
    "MiscountsOdCell": ("colluding-stations", "IOME-ODM-004"),
    "AcceptsMiscountedOd": ("verifiers-at-quorum", "IOME-ODM-004"),
    "AttestsWithoutDocking": ("colluding-stations", "IOME-PRES-003"),
    "TripCarriesKey": ("colluding-stations", "IOME-ENC-004"),
    "AcceptsLoneVerifier": ("verifiers-below-quorum", "IOME-TRIP-002"),
    "PricesAnyRegion": ("rogue-company", "IOME-EPS-007"),
}


@pytest.fixture(scope="module")
def ref_results() -> dict[str, AttackResult]:
    """Every part-2 adversary against the reference, once (quick profile, seed 1)."""
    iut = ReferenceIUT()
    return {name: ADVERSARIES[name].attack(iut, SEED, "quick") for name in PART_2}


def _broken(monkeypatch: pytest.MonkeyPatch, member: str) -> IUT:
    """A fresh instance of a role zoo member, loaded as ``--impl python:`` loads it."""
    monkeypatch.chdir(ROOT)
    return open_iut(f"{ROLE_ZOO}:{member}")


def test_part_2_is_registered() -> None:
    for name in PART_2:
        adversary = ADVERSARIES[name]
        assert isinstance(adversary, Adversary)
        assert adversary.targets, name
        assert all(req.startswith("IOME-") for req in adversary.targets)


@pytest.mark.parametrize("name", PART_2)
def test_adversary_has_its_expected_outcome_against_the_reference(
    ref_results: dict[str, AttackResult], name: str
) -> None:
    adversary, result = ADVERSARIES[name], ref_results[name]
    assert result.outcome == adversary.expected, result.detail
    assert not result.findings
    assert result.played
    if adversary.expected == "leaks":
        assert result.figure is not None, result.detail
        assert result.figure > 0, result.detail
        assert result.figure_unit
        assert result.figure_text
    else:
        assert result.figure is None


def test_quorum_and_colluding_stations_publish_every_fabricated_trip(
    ref_results: dict[str, AttackResult],
) -> None:
    """The spec's stated limits: a full quorum of verifiers, or two colluding stations with
    honest verifiers, publish every trip they fabricate (trips.md, "Limits")."""
    for name in ("verifiers-at-quorum", "colluding-stations"):
        result = ref_results[name]
        assert result.figure is not None
        assert result.figure >= 1
        assert result.figure_text is not None
        assert result.figure_text.startswith(f"{result.figure:g} of {result.figure:g} "), name


def test_energy_relayed_to_a_second_chain_is_measured(
    ref_results: dict[str, AttackResult],
) -> None:
    result = ref_results["energy-fraud"]
    assert result.figure is not None
    assert result.figure > 0
    assert result.figure_unit == "Wh counted twice"


def test_attack_is_deterministic() -> None:
    adversary = ADVERSARIES["faulty-manager"]
    first = adversary.attack(ReferenceIUT(), SEED, "quick")
    second = adversary.attack(ReferenceIUT(), SEED, "quick")
    assert [dump_scenario(s) for s in first.played] == [dump_scenario(s) for s in second.played]


@pytest.mark.req("IOME-ENC-004")
def test_verifiers_at_quorum_catch_a_trip_carrying_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A second adversary reaches TripCarriesKey's bug: the quorum's Trip is refused by the
    member's own chain. Its withheld variant (the verifiers answer no Trip) once crashed the
    member, which ended the attack in ``error`` (exit 2) instead of this finding."""
    result = ADVERSARIES["verifiers-at-quorum"].attack(
        _broken(monkeypatch, "TripCarriesKey"), SEED, "quick"
    )
    assert result.outcome == "succeeded", result.detail
    assert {f.requirement_id for f in result.findings} == {"IOME-ENC-004"}


@pytest.mark.parametrize("member", sorted(ZOO_ROWS))
def test_broken_implementation_is_caught_on_its_id(
    monkeypatch: pytest.MonkeyPatch, member: str
) -> None:
    name, req_id = ZOO_ROWS[member]
    result = ADVERSARIES[name].attack(_broken(monkeypatch, member), SEED, "quick")
    assert result.outcome == "succeeded", result.detail
    finding = next(f for f in result.findings if f.requirement_id == req_id)
    # The finding's scenario replays: the same divergence on a fresh broken node, none on ref.
    again = execute(finding.scenario, _broken(monkeypatch, member))
    assert again.status == "diverged"
    assert again.divergence is not None
    assert finding.scenario.metadata.observed is not None
    assert finding.scenario.metadata.observed.startswith(f"step {again.divergence.index}:")
    assert execute(finding.scenario, ReferenceIUT()).status == "pass"


#: Role-side members (their bug is in a role operation, which the wire server reaches through
#: ``call``), served over stdio by ``iome serve --stdio --impl``. A server starts in about two
#: seconds, so two rows run by default and all of them under ``HYPOTHESIS_PROFILE=thorough``.
STDIO_ROWS = ("BackupSkipsAnchorTip", "MiscountsOdCell") + (
    ("BackupForksAnchors", "AttestsWithoutDocking", "TripCarriesKey")
    if os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
    else ()
)


@pytest.mark.parametrize("member", STDIO_ROWS)
def test_finding_replays_over_stdio_to_the_same_failure(
    monkeypatch: pytest.MonkeyPatch, member: str
) -> None:
    name, req_id = ZOO_ROWS[member]
    result = ADVERSARIES[name].attack(_broken(monkeypatch, member), SEED, "quick")
    finding = next(f for f in result.findings if f.requirement_id == req_id)
    served = open_iut(f"stdio:{IOME} serve --stdio --impl {ROLE_ZOO}:{member}", timeout_s=30)
    try:
        again = execute(finding.scenario, served)
    finally:
        served.close()
    assert again.status == "diverged", again.reason
    assert again.divergence is not None
    step = again.divergence
    assert f"step {step.index}: expected {step.expected}, found {step.actual}" == (
        finding.scenario.metadata.observed
    )


class _CoreOnly(ReferenceIUT):
    """The reference declaring and serving the core operations only, as a node that
    implements no role would."""

    def hello(self) -> JsonObject:
        manifest = super().hello()
        manifest["ops"] = [op for op in manifest["ops"] if op in CORE_OPS]
        return manifest

    def call(self, op: str, args: JsonObject) -> JsonObject:
        if op not in CORE_OPS:
            raise Refused("IOME-IUT-003", f"op {op} is not implemented")
        return super().call(op, args)


def test_role_scripts_are_skipped_never_findings_without_role_ops() -> None:
    """An implementation without role ops is never reported as breaking a rule it had no
    operation for: scripts that need one are left out, and a measurement that needs one
    ends in ``error`` naming the missing op."""
    iut = _CoreOnly()
    manager = ADVERSARIES["faulty-manager"].attack(iut, SEED, "quick")
    assert manager.outcome == "blocked"
    assert "role-failover skipped: the manifest lacks op backup_handover" in manager.detail
    for name in ("colluding-stations", "observer-linking"):
        result = ADVERSARIES[name].attack(iut, SEED, "quick")
        assert result.outcome == "error"
        assert not result.findings
        assert "op verifier_cosign" in result.detail
