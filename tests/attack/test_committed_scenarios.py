"""adversaries/scenarios/: at least one committed scenario per adversary, each what the adversary
plays against the reference today, and ``iome replay`` of all of them passes against ``ref`` and
``stdio:iome serve --stdio``, with the same trace twice in process and the same over stdio."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from adversaries.registry import ADVERSARIES, PARTS
from iome_ref.conformance.runner import open_iut
from iome_ref.vectors.spec_index import load_requirements
from tests.conformance.helpers import ROOT, invoke

SCENARIOS = ROOT / "adversaries" / "scenarios"
#: The reference over stdio, from this venv (the test may run without it on PATH).
SERVE = f"stdio:{Path(sys.executable).parent / 'iome'} serve --stdio"


def _comparable(document: dict[str, Any]) -> dict[str, Any]:
    """A scenario without what changes with any edit of the spec text or the version."""
    metadata = {
        k: v for k, v in document["metadata"].items() if k not in {"spec_hash", "generator"}
    }
    return {**document, "metadata": metadata}


def _committed() -> dict[str, dict[str, Any]]:
    return {
        path.name: json.loads(path.read_text("utf-8")) for path in sorted(SCENARIOS.glob("*.json"))
    }


def test_every_adversary_has_a_committed_scenario() -> None:
    committed = _committed()
    for name in ADVERSARIES:
        assert any(file.startswith(f"{name}-") for file in committed), name
    defined = set(load_requirements(ROOT / "spec"))
    for file, document in committed.items():
        assert document["metadata"]["origin"] == "adversary", file
        assert set(document["metadata"]["requirement_ids"]) <= defined, file


def test_committed_scenarios_are_what_the_adversaries_play() -> None:
    """Part 1's files (part 2's: tests/attacks/test_attacks_part2.py). Regenerate with
    ``iome attack --impl ref --played adversaries/scenarios``."""
    iut = open_iut("ref")
    played: dict[str, dict[str, Any]] = {}
    try:
        for adversary in (ADVERSARIES[name] for name in PARTS[1]):
            result = adversary.attack(iut, 1, "quick")
            for scenario in result.played:
                played[f"{scenario.metadata.id}.json"] = scenario.model_dump(mode="json")
    finally:
        iut.close()
    prefixes = tuple(f"{name}-" for name in PARTS[1])
    committed = {file: doc for file, doc in _committed().items() if file.startswith(prefixes)}
    assert sorted(committed) == sorted(played)
    for file, document in played.items():
        assert _comparable(committed[file]) == _comparable(document), file


def test_replay_passes_on_ref_and_stdio_with_identical_traces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = [str(path) for path in sorted(SCENARIOS.glob("*.json"))]
    traces = []
    for impl in ("ref", "ref", SERVE):
        result = invoke(monkeypatch, "replay", *files, "--impl", impl, "--trace")
        assert result.exit_code == 0, result.stdout[-2000:]
        assert result.stdout.count("result pass") == len(files)
        traces.append(result.stdout)
    assert traces[0] == traces[1], "a second replay differs"
    assert traces[0] == traces[2], "in process and over stdio differ"
