"""``iome report`` against a broken implementation of the zoo: exit 1, the violated
requirement and its replay file named, a SARIF result for it, and the replay reproduces it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import require_shared
from jsonschema import Draft4Validator

from .helpers import ZOO, run_report


@pytest.mark.req("IOME-EPS-004")
def test_rejects_zoo_member_naming_the_requirement_and_replay(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    impl = f"{ZOO}:IgnoresPrevTxId"
    out = tmp_path / "zoo"
    result = run_report(
        monkeypatch,
        "report",
        "--impl",
        impl,
        "--out",
        str(out),
        "--skip",
        "benchmark",
        "--skip",
        "observer",
    )
    assert result.exit_code == 1, result.output
    replay = f"{out.as_posix()}/replay/eps-011-skips-tip.json"
    assert (
        f"fail      IOME-EPS-004 conformance case eps-011-skips-tip; replay: uv run iome replay "
        f"{replay} --impl {impl}" in result.output
    )
    document = json.loads((out / "report.json").read_bytes())
    assert document["exit_code"] == 1
    eps = next(r for r in document["requirements"] if r["req_id"] == "IOME-EPS-004")
    assert eps["status"] == "fail"
    found = {(f["requirement_id"], f["replay"]) for f in document["findings"]}
    assert ("IOME-EPS-004", "replay/eps-011-skips-tip.json") in found
    for _, name in found:
        assert (out / name).is_file()
    # The SARIF carries every finding as a result whose rule is the requirement id.
    sarif = json.loads((out / "findings.sarif").read_bytes())
    Draft4Validator(
        json.loads(require_shared("schemas/sarif-schema-2.1.0.json").read_bytes())
    ).validate(sarif)
    run = sarif["runs"][0]
    results = {
        (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
        for r in run["results"]
    }
    assert results == found
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert "prev_tx_id" in rules["IOME-EPS-004"]["help"]["text"]
    # The replay file reproduces the divergence on the same implementation (exit 1).
    replayed = run_report(monkeypatch, "replay", replay, "--impl", impl)
    assert replayed.exit_code == 1, replayed.output
