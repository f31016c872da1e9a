"""Scenarios and ``iome replay``: round trips, reproduction, determinism, invalid files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from iome_ref.conformance.adapters.inproc import ReferenceIUT
from iome_ref.conformance.cases import load_vector_cases
from iome_ref.conformance.scenarios import (
    dump_scenario,
    execute,
    format_trace,
    load_scenario,
    parse_scenario,
)
from iome_ref.errors import UsageError
from iome_ref.vectors.spec_index import default_spec_dir

from .helpers import ZOO, invoke

SPEC = default_spec_dir()
BROKEN = f"{ZOO}:IgnoresPrevTxId"


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The scenario ``iome conform`` writes for a failing case of a broken implementation."""
    result = invoke(
        monkeypatch,
        "conform",
        "--impl",
        BROKEN,
        "--only",
        "IOME-EPS-004",
        "--seed",
        "3",
        "--scenarios",
        str(tmp_path),
    )
    assert result.exit_code == 1
    assert "fail  eps-011-skips-tip (seed 3, scenario eps-011-skips-tip.json)" in result.stdout
    return tmp_path / "eps-011-skips-tip.json"


def test_conform_writes_a_scenario_replay_reproduces(
    monkeypatch: pytest.MonkeyPatch, written: Path
) -> None:
    scenario = load_scenario(written)
    assert scenario.metadata.origin == "vector"
    assert scenario.metadata.seed == 3
    assert scenario.metadata.requirement_ids == ["IOME-EPS-004"]
    assert scenario.metadata.observed == "step 2: expected reject IOME-EPS-004, found accept"
    result = invoke(monkeypatch, "replay", str(written), "--impl", BROKEN)
    assert result.exit_code == 1
    assert "expect reject IOME-EPS-004, got accept: DIVERGED" in result.stdout
    assert "    expected: reject IOME-EPS-004\n    actual:   accept\n" in result.stdout
    assert "check_evidence" not in result.stdout  # it stopped at the first divergence
    result = invoke(monkeypatch, "replay", str(written), "--impl", "ref")
    assert result.exit_code == 0, result.stdout
    assert result.stdout.endswith("result pass\n")


def test_replay_twice_gives_identical_traces(
    monkeypatch: pytest.MonkeyPatch, written: Path
) -> None:
    runs = [invoke(monkeypatch, "replay", str(written), "--trace", "--impl", BROKEN) for _ in "ab"]
    assert runs[0].stdout == runs[1].stdout
    assert "    request {" in runs[0].stdout


def test_scenario_round_trips_and_matches_its_schema(written: Path) -> None:
    data = written.read_bytes()
    assert dump_scenario(load_scenario(written)) == data
    schema = json.loads((SPEC / "schemas" / "conformance" / "scenario.json").read_text("utf-8"))
    Draft202012Validator(schema).validate(json.loads(data))


def _edited(path: Path, edit: Any) -> Path:
    document = json.loads(path.read_text("utf-8"))
    edit(document)
    out = path.with_name("edited.json")
    out.write_text(json.dumps(document), "utf-8")
    return out


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda d: d["metadata"].__setitem__("seed", "three"), "metadata.seed"),
        (lambda d: d["steps"][1].__setitem__("op", "submit_everything"), "steps.1"),
        (lambda d: d["steps"][0].pop("expect"), "steps.0.submit_block.expect"),
        (lambda d: d["setup"].pop("genesis"), "setup.genesis"),
        (
            lambda d: d["steps"][1].__setitem__("expect", {"reject": "EPS-4"}),
            "steps.1.submit_tx.expect",
        ),
        (lambda d: d["steps"][2]["args"].__setitem__("since_step", 9), "since_step"),
        (lambda d: d.__setitem__("extra", 1), "extra"),
    ],
)
def test_rejects_hand_edited_scenario_with_the_field_path(
    monkeypatch: pytest.MonkeyPatch, written: Path, edit: Any, where: str
) -> None:
    path = _edited(written, edit)
    result = invoke(monkeypatch, "replay", str(path))
    assert result.exit_code == 2
    assert where in result.output, result.output
    assert "Traceback" not in result.output


def test_rejects_scenario_that_is_not_json(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json", "utf-8")
    result = invoke(monkeypatch, "replay", str(path))
    assert result.exit_code == 2
    assert "not a JSON file" in result.output


def _vector_scenario(case_id: str) -> dict[str, Any]:
    case = next(c for c in load_vector_cases(SPEC, 1) if c.case_id == case_id)
    document: dict[str, Any] = case.scenario.model_dump(mode="json")
    return document


def test_accepts_check_steps_that_hold_and_diverges_on_one_that_does_not() -> None:
    document = _vector_scenario("eps-002-second")
    setup_blocks = [s for s in document["steps"] if s["op"] == "submit_block"]
    last = setup_blocks[-1]["args"]["block"]
    tx = document["steps"][len(setup_blocks)]["args"]["tx"]
    recorded = last["txs"][0]["tx_id"]
    document["steps"] += [
        {
            "actor": "harness",
            "op": "check_head",
            "args": {"chain": last["chain_id"]},
            "expect": {"height": last["height"], "block_hash": last["block_hash"]},
        },
        {
            "actor": "harness",
            "op": "check_tx",
            "args": {"chain": last["chain_id"], "tx_id": recorded},
            "expect": "present",
        },
        # submit_tx judges without recording: the judged EPS is not on the chain.
        {
            "actor": "harness",
            "op": "check_tx",
            "args": {"chain": last["chain_id"], "tx_id": tx["tx_id"]},
            "expect": "absent",
        },
    ]
    result = execute(parse_scenario(document), ReferenceIUT())
    assert result.status == "pass", format_trace(result)
    document["steps"][-1]["expect"] = "present"
    result = execute(parse_scenario(document), ReferenceIUT())
    assert result.status == "diverged"
    assert result.divergence is not None
    assert (result.divergence.expected, result.divergence.actual) == ("present", "absent")


def test_check_bundle_verifies_the_bundle_of_a_recorded_tx() -> None:
    """A recorded transaction's bundle verifies; one never recorded has none; a step
    expecting otherwise diverges with what the verifier found."""
    document = _vector_scenario("eps-002-second")
    blocks = [s for s in document["steps"] if s["op"] == "submit_block"]
    document["steps"] = blocks
    chain, recorded = blocks[-1]["args"]["block"]["chain_id"], blocks[-1]["args"]["block"]["txs"]
    check = {"actor": "harness", "op": "check_bundle"}
    document["steps"] += [
        {**check, "args": {"chain": chain, "tx_id": recorded[0]["tx_id"]}, "expect": "valid"},
        {**check, "args": {"chain": chain, "tx_id": "ab" * 32}, "expect": "absent"},
    ]
    result = execute(parse_scenario(document), ReferenceIUT())
    assert result.status == "pass", format_trace(result)
    document["steps"][-1]["expect"] = {"reject": "IOME-EVB-010"}
    result = execute(parse_scenario(document), ReferenceIUT())
    assert result.divergence is not None
    assert (result.divergence.expected, result.divergence.actual) == (
        "reject IOME-EVB-010",
        "absent",
    )


def test_rejects_trip_check_with_both_or_neither_trip_form() -> None:
    document = _vector_scenario("eps-001-first")
    args = {"claim": {}, "source": {}, "destination": {}}
    step = {"actor": "harness", "op": "check_trip_unlinked", "expect": "unlinked"}
    for form in ({}, {"trip": {}, "chain": "public", "tx_id": "ab" * 32}, {"chain": "public"}):
        bad = {**document, "steps": [{**step, "args": {**args, **form}}]}
        with pytest.raises(UsageError, match="give exactly one of trip and chain"):
            parse_scenario(bad)


def test_replays_pki_refusal_at_reset() -> None:
    scenario = parse_scenario(_vector_scenario("certificates-017-x25519-certificate"))
    assert scenario.steps == []
    result = execute(scenario, ReferenceIUT())
    assert result.status == "pass"
    assert [step.actual for step in result.steps] == ["reject IOME-CERT-007"]


def test_rejects_scenario_document_of_wrong_shape() -> None:
    with pytest.raises(UsageError, match=r"scenario: steps: Input should be a valid list"):
        parse_scenario({**_vector_scenario("eps-001-first"), "steps": {}})
