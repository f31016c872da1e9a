"""Role-operation steps in scenarios: a trip attested, co-signed, batched and published through
references to earlier results, an anchor and a handover; the result subset, the capability
skip, and the usage errors of a hand-edited file (spec/scenarios.md, "Role steps")."""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iome_ref.conformance.adapters import open_iut
from iome_ref.conformance.adapters.inproc import ReferenceIUT
from iome_ref.conformance.iut import IUT, JsonObject
from iome_ref.conformance.scenarios import (
    actor_keys,
    execute,
    format_trace,
    generator_name,
    parse_scenario,
)
from iome_ref.constants import ANCHOR_PERIOD_S, HANDOVER_MISSED_PERIODS
from iome_ref.errors import UsageError
from iome_ref.models import Presence
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.generate import build_context
from iome_ref.vectors.world import T0, build_world

IOME = str(Path(sys.executable).parent / "iome")
WORLD = build_world(1)
B = Builder(WORLD)
DEPART = T0 + 3600
ARRIVE = DEPART + 1200  # travel st-a -> st-b in the world's table
ACTORS = (
    "st-a",
    "st-b",
    "verifier-1",
    "verifier-2",
    "verifier-3",
    "predictor",
    "producer",
    "fleet-manager",
    "fleet-backup",
)


def _ref(step: int, path: str) -> JsonObject:
    return {"$from": step, "path": path}


def _trip_document() -> dict[str, Any]:
    """Dock, attest, co-sign, batch, publish, count: every role op with references."""
    pk1, pk2 = B.key("otk-1").public_hex, B.key("otk-2").public_hex
    # Presences are deterministic (Ed25519), so the claim over them can be written in the file.
    source = B.presence("source", "st-a", "otk-1", DEPART)
    destination = B.presence("destination", "st-b", "otk-2", ARRIVE)
    claim = B.claim(source, destination, ARRIVE + 60)
    cosign = {
        "claim": claim.model_dump(mode="json"),
        "source": _ref(2, "presence"),
        "destination": _ref(5, "presence"),
        "t": ARRIVE + 60,
    }
    steps: list[dict[str, Any]] = [
        # 1-3: the source end
        {
            "actor": "st-a",
            "op": "station_dock",
            "args": {"station": "st-a", "vehicle": "ev", "one_time_pk": pk1, "t": DEPART},
            "expect": "accept",
        },
        {
            "actor": "st-a",
            "op": "station_attest",
            "args": {"station": "st-a", "kind": "source", "one_time_pk": pk1, "t": DEPART},
            "expect": {"result": {"presence": {"tx_id": source.tx_id}}},
        },
        {
            "actor": "st-a",
            "op": "station_undock",
            "args": {"station": "st-a", "vehicle": "ev", "t": DEPART},
            "expect": "accept",
        },
        # 4-5: the destination end
        {
            "actor": "st-b",
            "op": "station_dock",
            "args": {"station": "st-b", "vehicle": "ev", "one_time_pk": pk2, "t": ARRIVE},
            "expect": "accept",
        },
        {
            "actor": "st-b",
            "op": "station_attest",
            "args": {"station": "st-b", "kind": "destination", "one_time_pk": pk2, "t": ARRIVE},
            "expect": "accept",
        },
        # 6: the verifiers co-sign, the presences carried from steps 2 and 5
        {"actor": "verifiers", "op": "verifier_cosign", "args": cosign, "expect": "accept"},
        # 7: the same claim again is a replay
        {
            "actor": "verifiers",
            "op": "verifier_cosign",
            "args": cosign,
            "expect": {"reject": "IOME-REC-002"},
        },
        # 8-9: the batch goes into a consortium block the harness builds and signs
        {"actor": "verifiers", "op": "verifier_batch", "args": {}, "expect": "accept"},
        {
            "actor": "producer",
            "op": "submit_block",
            "args": {
                "chain": "verifiers",
                "build": {"producer": "producer", "time": ARRIVE + 120, "txs": _ref(8, "txs")},
            },
            "expect": {"result": {"height": 0}},
        },
        # 10: the Trip, published once its bucketed end has passed (the same time for any nonce)
        {
            "actor": "producer",
            "op": "submit_block",
            "args": {
                "chain": "public",
                "build": {"producer": "producer", "time": ARRIVE + 3600, "txs": [_ref(6, "trip")]},
            },
            "expect": "accept",
        },
        # 11: the predictor counts it
        {
            "actor": "predictor",
            "op": "predictor_od",
            "args": {
                "predictor": "predictor",
                "zones": ["st-b", "st-a"],
                "period_start": T0,
                "period_end": T0 + 86_400,
            },
            "expect": {"result": {"matrices": [{"cells": [[0, 1, 1]]}]}},
        },
        {
            "actor": "producer",
            "op": "submit_block",
            "args": {
                "chain": "public",
                "build": {"producer": "producer", "time": T0 + 86_400, "txs": _ref(11, "matrices")},
            },
            "expect": {"result": {"height": 1}},
        },
    ]
    return _document("role-trip", steps)


def _document(name: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "metadata": {
            "id": name,
            "title": "role operations chained by references",
            "origin": "adversary",
            "requirement_ids": ["IOME-REC-002"],
            "seed": 3,
            "spec_hash": "0" * 64,
            "generator": generator_name(),
        },
        "setup": {
            "genesis": build_context(WORLD),
            "keys": {
                name: key.model_dump(mode="json") for name, key in actor_keys(WORLD, ACTORS).items()
            },
        },
        "steps": steps,
    }


def _anchor_document() -> dict[str, Any]:
    """A manager anchors, goes silent, its backup takes over and anchors next in sequence."""
    t = T0 + 600
    commitment = B.commitment(t=t)
    late = t + ANCHOR_PERIOD_S * HANDOVER_MISSED_PERIODS + 1
    steps: list[dict[str, Any]] = [
        {
            "actor": "producer",
            "op": "submit_block",
            "args": {
                "chain": "fleet",
                "build": {"producer": "producer", "time": t, "txs": [commitment.model_dump()]},
            },
            "expect": "accept",
        },
        {
            "actor": "fleet-manager",
            "op": "manager_anchor",
            "args": {"manager": "fleet-manager", "chain": "fleet", "t": t},
            "expect": {"result": {"anchor": {"height": 0, "prev_anchor_id": None}}},
        },
        {
            "actor": "producer",
            "op": "submit_block",
            "args": {
                "chain": "public",
                "build": {"producer": "producer", "time": t, "txs": [_ref(2, "anchor")]},
            },
            "expect": "accept",
        },
        # Nothing new to anchor.
        {
            "actor": "fleet-manager",
            "op": "manager_anchor",
            "args": {"manager": "fleet-manager", "chain": "fleet", "t": t + 1},
            "expect": {"result": {"anchor": None}},
        },
        {
            "actor": "fleet-backup",
            "op": "backup_handover",
            "args": {"backup": "fleet-backup", "chain": "fleet", "t": t + 1},
            "expect": {"reject": "IOME-ANC-007"},
        },
        {
            "actor": "fleet-backup",
            "op": "backup_handover",
            "args": {"backup": "fleet-backup", "chain": "fleet", "t": late},
            "expect": "accept",
        },
    ]
    return _document("role-anchor", steps)


@pytest.fixture(scope="module", params=["ref", "stdio"])
def iut(request: pytest.FixtureRequest) -> Iterator[IUT]:
    spec = "ref" if request.param == "ref" else f"stdio:{IOME} serve --stdio"
    opened = open_iut(spec, timeout_s=30)
    yield opened
    opened.close()


@pytest.mark.req("IOME-REC-002")
def test_accepts_trip_through_every_role_step(iut: IUT) -> None:
    scenario = parse_scenario(_trip_document())
    result = execute(scenario, iut, manifest=iut.hello())
    assert result.status == "pass", format_trace(result)
    assert [step.found_code for step in result.steps if step.found_code] == ["IOME-REC-002"]
    replay = execute(scenario, iut, manifest=iut.hello())
    assert format_trace(replay, verbose=True) == format_trace(result, verbose=True)


@pytest.mark.req("IOME-ANC-007")
def test_rejects_early_handover_then_backup_takes_over(iut: IUT) -> None:
    document = _anchor_document()
    # A crash between steps: the node restarts from its store, chain state intact.
    document["steps"].insert(
        4, {"actor": "disk", "op": "reopen", "args": {"stored": []}, "expect": "accept"}
    )
    document["steps"][6]["expect"] = "accept"
    document["steps"].append(
        {
            "actor": "producer",
            "op": "submit_block",
            "args": {
                "chain": "public",
                "build": {
                    "producer": "producer",
                    "time": document["steps"][6]["args"]["t"],
                    "txs": [_ref(7, "handover")],
                },
            },
            "expect": {"result": {"height": 1}},
        }
    )
    result = execute(parse_scenario(document), iut)
    assert result.status == "pass", format_trace(result)
    assert [step.found_code for step in result.steps if step.found_code] == ["IOME-ANC-007"]


def test_result_subset_mismatch_diverges_showing_the_answer() -> None:
    document = _anchor_document()
    document["steps"][1]["expect"] = {"result": {"anchor": {"height": 7}}}
    result = execute(parse_scenario(document), ReferenceIUT())
    step = result.divergence
    assert result.status == "diverged"
    assert step is not None
    assert step.index == 2
    assert step.expected == 'accept with result {"anchor":{"height":7}}'
    assert step.actual == 'accept with result {"anchor":{"height":0}}'


def test_reference_to_a_missing_member_diverges_at_the_step() -> None:
    document = _anchor_document()
    document["steps"][2]["args"]["build"]["txs"] = [_ref(2, "anchor.no_such")]
    result = execute(parse_scenario(document), ReferenceIUT())
    step = result.divergence
    assert step is not None
    assert step.index == 3
    assert "unplayable" in step.actual


def test_skips_when_the_manifest_lacks_a_role_op() -> None:
    scenario = parse_scenario(_trip_document())
    manifest = ReferenceIUT().hello()
    manifest["ops"] = [op for op in manifest["ops"] if op != "verifier_cosign"]
    result = execute(scenario, ReferenceIUT(), manifest=manifest)
    assert result.status == "skip"
    assert "op verifier_cosign" in result.reason


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (lambda s: s[5]["args"].update(source=_ref(9, "presence")), "steps.5.args.source.$from"),
        (lambda s: s[5]["args"].update(source=_ref(7, "presence")), "steps.5.args.source.$from"),
        (lambda s: s[5]["args"].update(source={"$from": 2}), "steps.5.args.source"),
        (lambda s: s[1]["args"].update(colour="red"), "args.colour"),
        (lambda s: s[1]["args"].pop("t"), "args.t"),
        (lambda s: s[1]["args"].update(kind="sideways"), "args.kind"),
        (lambda s: s[1].update(op="station_teleport"), "steps.1"),
        (lambda s: s[5]["args"].update(source={"$from": True, "path": ""}), "$from"),
        (lambda s: s[8]["args"]["build"].update(height=10**30), "build.height"),
        (lambda s: s[8]["args"].update(block={}), "exactly one of block, text and build"),
    ],
)
def test_rejects_hand_edited_role_steps_naming_the_member(edit: Any, path: str) -> None:
    document = copy.deepcopy(_trip_document())
    edit(document["steps"])
    with pytest.raises(UsageError) as exc:
        parse_scenario(document)
    assert path in exc.value.message


def test_presence_written_in_the_file_matches_the_station() -> None:
    """The premise of writing a claim in the file: a station's Presence is deterministic."""
    pk = B.key("otk-1").public_hex
    ref = ReferenceIUT()
    ref.reset(
        1, build_context(WORLD), {k: v.model_dump() for k, v in actor_keys(WORLD, ["st-a"]).items()}
    )
    ref.call("station_dock", {"station": "st-a", "vehicle": "ev", "one_time_pk": pk, "t": DEPART})
    answer = ref.call(
        "station_attest", {"station": "st-a", "kind": "source", "one_time_pk": pk, "t": DEPART}
    )
    assert Presence.model_validate(answer["presence"]) == B.presence(
        "source", "st-a", "otk-1", DEPART
    )


def test_unplayable_build_is_an_error_or_a_divergence_never_a_refusal() -> None:
    """A producer the set-up has no key for breaks the scenario (error); a reference to
    something that is no list of transactions makes the step diverge, never the IUT refuse."""
    document = _trip_document()
    document["steps"][8]["args"]["build"]["producer"] = "nobody"
    result = execute(parse_scenario(document), ReferenceIUT())
    assert result.status == "error"
    assert "no key 'nobody'" in result.reason
    document = _trip_document()
    document["steps"][8]["args"]["build"]["txs"] = _ref(2, "presence")
    result = execute(parse_scenario(document), ReferenceIUT())
    step = result.divergence
    assert step is not None
    assert step.index == 9
    assert step.found_code is None
    assert "does not name a list" in step.actual
