"""The broken-implementation zoo: every member is caught, on the requirement id it breaks.

One table, one row per member: ``--impl`` spec -> the id the run must report failing. The
reference is the control row and must pass. The stdio members speak the wire protocol of
spec/conformance.md from a subprocess: one in Python, one in Node.js written from that file
alone; the Node.js row skips when ``node`` is absent, and fails instead under
``IOME_REQUIRE_NODE=1`` (CI). A stdio run must leave no process of the IUT's group alive.

A broken member's row runs ``iome conform --only <its id>`` by default (the cases and machines
that reach that id: a whole run per member costs ~40 s each with five machines, more than the
default test budget allows for ~20 rows) and the whole suite under
``HYPOTHESIS_PROFILE=thorough``; the control rows always run the whole suite.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from iome_ref.conformance.adapters import StdioIUT
from iome_ref.conformance.runner import ConformOptions, open_iut, run_conformance
from iome_ref.conformance.verdicts import CaseVerdict

from .helpers import ROOT, ZOO, survivors

_ZOO_DIR = Path(__file__).parent / "zoo"
#: The reference over stdio, as the stdio members' upstream (the venv's own entry point).
_SERVE = [str(Path(sys.executable).parent / "iome"), "serve", "--stdio"]
_PYTHON_STDIO = "stdio:" + shlex.join([sys.executable, str(_ZOO_DIR / "loses_block_on_reopen.py")])
_NODE_STDIO = "stdio:" + shlex.join(
    ["node", str(_ZOO_DIR / "node" / "accepts_expired_eps.js"), *_SERVE]
)

_THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"

#: --impl spec -> the requirement id its run must report failing (None: must pass).
ZOO_TABLE: dict[str, str | None] = {
    "ref": None,
    f"{ZOO}:Reference": None,
    f"{ZOO}:UnsignedEsdp": "IOME-SIG-001",
    f"{ZOO}:IgnoresPrevTxId": "IOME-EPS-004",
    f"{ZOO}:ReusesOneTimeKey": "IOME-PRES-001",
    f"{ZOO}:SkipsRevocation": "IOME-CERT-003",
    f"{ZOO}:SkipsCaCheck": "IOME-CERT-001",
    f"{ZOO}:ReceiptTimeCertificates": "IOME-CERT-002",
    f"{ZOO}:AcceptsExpiredEps": "IOME-EPS-011",
    f"{ZOO}:CrossTypeSignature": "IOME-SIG-001",
    f"{ZOO}:NonCanonicalKey": "IOME-SIG-003",
    f"{ZOO}:IgnoresReplay": "IOME-REC-002",
    f"{ZOO}:SignaturesBeforeCertificates": "IOME-CERT-006",
    f"{ZOO}:LosesBlockOnReopen": "IOME-BLK-012",
    f"{ZOO}:ForgetsEquivocation": "IOME-BLK-009",
    f"{ZOO}:PublishesKeyInTrip": "IOME-TRIP-007",
    f"{ZOO}:BundleWithCurrentCrls": "IOME-EVB-010",
    "python:tests.conformance.zoo.role_members:AttestsWithoutDocking": "IOME-PRES-003",
    "python:tests.conformance.zoo.role_members:BackupForksAnchors": "IOME-ANC-002",
    "python:tests.conformance.zoo.role_members:BackupSkipsAnchorTip": "IOME-ANC-008",
    "python:tests.conformance.zoo.role_members:MiscountsOdCell": "IOME-ODM-004",
    _PYTHON_STDIO: "IOME-BLK-012",
    _NODE_STDIO: "IOME-EPS-011",
}
_IDS = {
    _PYTHON_STDIO: "stdio-python-LosesBlockOnReopen",
    _NODE_STDIO: "stdio-node-AcceptsExpiredEps",
}


def _require_node(impl: str) -> None:
    """Skip the Node.js row when ``node`` is absent, or fail under ``IOME_REQUIRE_NODE=1``."""
    if impl != _NODE_STDIO or shutil.which("node") is not None:
        return
    reason = "node (Node.js) is not on PATH: the Node.js zoo member cannot run"
    if os.environ.get("IOME_REQUIRE_NODE") == "1":
        pytest.fail(f"{reason}; IOME_REQUIRE_NODE=1 requires it", pytrace=False)
    pytest.skip(reason)


def test_zoo_has_at_least_twelve_broken_members() -> None:
    assert sum(expected is not None for expected in ZOO_TABLE.values()) >= 12
    assert sum(impl.startswith("stdio:") for impl in ZOO_TABLE) >= 2


@pytest.mark.parametrize(
    ("impl", "expected"), ZOO_TABLE.items(), ids=[_IDS.get(i, i) for i in ZOO_TABLE]
)
def test_zoo_member_is_caught_on_its_id(
    monkeypatch: pytest.MonkeyPatch, impl: str, expected: str | None
) -> None:
    _require_node(impl)
    monkeypatch.chdir(ROOT)
    iut = open_iut(impl)
    try:
        only = () if expected is None or _THOROUGH else (expected,)
        report = run_conformance(iut, ConformOptions(impl=impl, scenarios_dir=None, only=only))
    finally:
        iut.close()
    if isinstance(iut, StdioIUT):  # the member and the upstream it started: all gone
        assert survivors(iut.pid) == []
    failing = {s.req_id for s in report.requirements if s.status == "fail"}
    if expected is None:
        assert (report.exit_code, failing) == (0, set())
        return
    assert report.exit_code == 1
    assert expected in failing, failing
    # Caught by failing cases, not by crashes: the bug is a wrong verdict, never an error.
    assert report.counts[CaseVerdict.ERROR.value] == 0


def test_node_row_skips_without_node_and_fails_when_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    monkeypatch.delenv("IOME_REQUIRE_NODE", raising=False)
    with pytest.raises(pytest.skip.Exception, match="is not on PATH"):
        _require_node(_NODE_STDIO)
    monkeypatch.setenv("IOME_REQUIRE_NODE", "1")
    with pytest.raises(pytest.fail.Exception, match="IOME_REQUIRE_NODE=1 requires it"):
        _require_node(_NODE_STDIO)
    _require_node(_PYTHON_STDIO)  # only the Node.js row needs node
