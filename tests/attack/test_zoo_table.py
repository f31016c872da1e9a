"""The zoo × adversaries table: against every member of the broken-implementation zoo
(tests/conformance/zoo, python and stdio, the Node.js one included) an adversary succeeds,
naming the requirement id the member breaks, and the finding's scenario replays to the same
failure in process and over stdio.

Every row of the zoo's own table (tests/conformance/test_zoo.py) must have a row here: a new
member without an adversary that catches it fails :func:`test_table_covers_the_whole_zoo`.
Rows with ``part_2`` (the role members of tests/conformance/zoo/role_members.py: a backup that
skips or forks the anchor sequence or hands over early, a miscounted or unchecked O-D cell, a
station attesting without docking, a Trip carrying a key, a lone verifier, any region) are
caught by adversaries of the catalogue's part 2 (adv2's modules); the rows of the original zoo
are caught by part 1. Replaying every python member over stdio starts a server
per member (about 2 s each), so by default it is done for the two stdio members and a sample;
``HYPOTHESIS_PROFILE=thorough`` replays every row over stdio.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from adversaries.registry import ADVERSARIES
from adversaries.runner import run_attacks
from iome_ref.conformance.runner import open_iut
from iome_ref.conformance.scenarios import ReplayResult, execute, load_scenario
from tests.attacks.test_attacks_part2 import ROLE_ZOO, ZOO_ROWS
from tests.conformance.helpers import ROOT, ZOO
from tests.conformance.test_zoo import _NODE_STDIO, _PYTHON_STDIO, ZOO_TABLE, _require_node
from tests.conformance.zoo import role_members

_IOME = str(Path(sys.executable).parent / "iome")
_THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"


@dataclass(frozen=True)
class Row:
    """A zoo member, the adversary that catches it, the id, and where to replay in process
    and over stdio (a python member is served by ``iome serve --impl``, through
    tests/attack/typed.py so that its overridden methods are the ones the wire reaches)."""

    impl: str
    adversary: str
    req_id: str
    in_process: str
    part_2: bool = False
    stdio_by_default: bool = False

    @property
    def stdio(self) -> str:
        if self.impl.startswith("stdio:"):
            return self.impl
        member = self.impl.rsplit(":", 1)[-1]
        typed = f"python:tests.attack.typed:{member}"
        return "stdio:" + shlex.join([_IOME, "serve", "--stdio", "--impl", typed])


def _row(member: str, adversary: str, req_id: str, *, stdio: bool = False) -> Row:
    impl = f"{ZOO}:{member}"
    return Row(impl, adversary, req_id, impl, stdio_by_default=stdio)


TABLE: tuple[Row, ...] = (
    _row("UnsignedEsdp", "signature-replay", "IOME-SIG-001"),
    _row("IgnoresPrevTxId", "equivocation", "IOME-EPS-004"),
    _row("ReusesOneTimeKey", "key-reuse", "IOME-PRES-001"),
    _row("SkipsRevocation", "rogue-station", "IOME-CERT-003", stdio=True),
    _row("SkipsCaCheck", "rogue-station", "IOME-CERT-001"),
    _row("ReceiptTimeCertificates", "rogue-station", "IOME-CERT-002"),
    _row("AcceptsExpiredEps", "replay", "IOME-EPS-011"),
    _row("CrossTypeSignature", "signature-replay", "IOME-SIG-001"),
    _row("NonCanonicalKey", "sybil-flood", "IOME-SIG-003"),
    _row("IgnoresReplay", "replay", "IOME-REC-002"),
    _row("SignaturesBeforeCertificates", "forged-presence", "IOME-CERT-006"),
    _row("LosesBlockOnReopen", "tamper", "IOME-BLK-012"),
    _row("ForgetsEquivocation", "equivocation", "IOME-BLK-009"),
    _row("PublishesKeyInTrip", "nonce-linking", "IOME-TRIP-007"),
    _row("BundleWithCurrentCrls", "revoked-signer", "IOME-EVB-010"),
    # The stdio members: replayed over stdio as they are, and in process on the python member
    # with the same bug.
    Row(_PYTHON_STDIO, "tamper", "IOME-BLK-012", f"{ZOO}:LosesBlockOnReopen", False, True),
    Row(_NODE_STDIO, "replay", "IOME-EPS-011", f"{ZOO}:AcceptsExpiredEps", False, True),
)
#: The role members (tests/conformance/zoo/role_members.py), caught by part 2's adversaries:
#: the rows adv2's table (tests/attacks/test_attacks_part2.py) states, over stdio here too.
TABLE += tuple(
    Row(f"{ROLE_ZOO}:{member}", name, req_id, f"{ROLE_ZOO}:{member}", part_2=True)
    for member, (name, req_id) in ZOO_ROWS.items()
)
_IDS = {
    _PYTHON_STDIO: "stdio-python-LosesBlockOnReopen",
    _NODE_STDIO: "stdio-node-AcceptsExpiredEps",
}


#: Members no adversary can catch, each with the reason and what catches it instead.
NOT_AN_ATTACK: dict[str, str] = {}


def test_table_covers_the_whole_zoo() -> None:
    broken = {impl for impl, expected in ZOO_TABLE.items() if expected is not None}
    broken |= {
        f"{ROLE_ZOO}:{name}"
        for name, member in vars(role_members).items()
        if isinstance(member, type)
        and member.__module__ == role_members.__name__
        and not name.startswith("_")
    }
    assert {row.impl for row in TABLE} | set(NOT_AN_ATTACK) == broken
    assert not {row.impl for row in TABLE} & set(NOT_AN_ATTACK)
    for row in TABLE:
        assert row.adversary in ADVERSARIES, f"{row.adversary} is not registered"


def _replay(spec: str, path: Path) -> ReplayResult:
    iut = open_iut(spec)
    try:
        return execute(load_scenario(path), iut)
    finally:
        iut.close()


@pytest.mark.parametrize(
    "row", TABLE, ids=[_IDS.get(r.impl, r.impl.rsplit(":")[-1]) for r in TABLE]
)
def test_an_adversary_catches_the_member_on_its_id(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, row: Row
) -> None:
    _require_node(row.impl)
    monkeypatch.chdir(ROOT)
    report = run_attacks(row.impl, seed=1, names=[row.adversary], out=tmp_path)
    (adversary,) = report.adversaries
    assert (report.exit_code, adversary.outcome) == (1, "succeeded"), adversary.detail
    finding = next(f for f in adversary.findings if f.requirement_id == row.req_id)
    assert finding.scenario is not None
    path = tmp_path / finding.scenario
    # The same failure in process and over stdio: same step, same expected and found answer.
    places = [row.in_process]
    if _THOROUGH or row.stdio_by_default:
        places.append(row.stdio)
    for spec in places:
        result = _replay(spec, path)
        assert result.status == "diverged", (spec, result.reason)
        step = result.divergence
        assert step is not None
        observed = f"step {step.index}: expected {step.expected}, found {step.actual}"
        assert observed == load_scenario(path).metadata.observed, spec
