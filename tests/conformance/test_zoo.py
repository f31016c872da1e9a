"""The broken-implementation zoo: every member is caught, on the requirement id it breaks.

One table, one row per member: ``--impl`` spec -> the id the run must report failing. The
reference is the control row and must pass. stdio members (and one in another language) join
the table as ``stdio:COMMAND`` rows when that adapter lands.
"""

from __future__ import annotations

import pytest

from iome_ref.conformance.runner import ConformOptions, open_iut, run_conformance
from iome_ref.conformance.verdicts import CaseVerdict

from .helpers import ROOT, ZOO

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
}


def test_zoo_has_at_least_twelve_broken_members() -> None:
    assert sum(expected is not None for expected in ZOO_TABLE.values()) >= 12


@pytest.mark.parametrize(("impl", "expected"), ZOO_TABLE.items(), ids=list(ZOO_TABLE))
def test_zoo_member_is_caught_on_its_id(
    monkeypatch: pytest.MonkeyPatch, impl: str, expected: str | None
) -> None:
    monkeypatch.chdir(ROOT)
    iut = open_iut(impl)
    try:
        report = run_conformance(iut, ConformOptions(impl=impl, scenarios_dir=None))
    finally:
        iut.close()
    failing = {s.req_id for s in report.requirements if s.status == "fail"}
    if expected is None:
        assert (report.exit_code, failing) == (0, set())
        return
    assert report.exit_code == 1
    assert expected in failing, failing
    # Caught by failing cases, not by crashes: the bug is a wrong verdict, never an error.
    assert report.counts[CaseVerdict.ERROR.value] == 0
