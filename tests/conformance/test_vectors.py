"""The committed vectors: every case gets its expected verdict from the reference, and the
files are exactly what the generator writes from the current spec."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from iome_ref.vectors.check import check_vectors
from iome_ref.vectors.generate import VECTOR_FILES, VECTOR_FORMAT, build_files, write_vectors
from iome_ref.vectors.runner import run_case
from iome_ref.vectors.spec_index import compute_spec_hash, default_spec_dir

SPEC = default_spec_dir()


def _load(stem: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SPEC / "vectors" / f"{stem}.json").read_text("utf-8"))
    return data


def _cases() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    found = []
    for stem in VECTOR_FILES:
        document = _load(stem)
        found.extend((case["id"], document["context"], case) for case in document["cases"])
    return found


CASES = _cases()


@pytest.mark.parametrize(("case_id", "context", "case"), CASES, ids=[c[0] for c in CASES])
def test_reference_reaches_expected_verdict(
    case_id: str, context: dict[str, Any], case: dict[str, Any]
) -> None:
    verdict = run_case(context, case)
    assert (verdict.expected, verdict.req_id) == (case["expected"], case["req_id"]), (
        f"{case_id}: {verdict.message}"
    )


def test_vector_counts_meet_the_floor() -> None:
    assert len(CASES) >= 150
    assert sum(case["expected"] == "invalid" for _, _, case in CASES) >= 100
    assert all(case["expected"] == "valid" or case["req_id"] for _, _, case in CASES)


def test_files_record_generator_and_current_spec_hash() -> None:
    spec_hash = compute_spec_hash(SPEC)
    for stem in VECTOR_FILES:
        document = _load(stem)
        assert document["format"] == VECTOR_FORMAT
        assert document["generator"].startswith("iome-ref ")
        assert document["spec_hash"] == spec_hash
        assert isinstance(document["seed"], int)


def test_clean_checkout_checks_clean() -> None:
    assert check_vectors(SPEC) == []


def test_rejects_spec_edit_without_regeneration(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    shutil.copytree(SPEC, spec)
    overview = spec / "overview.md"
    overview.write_text(overview.read_text("utf-8") + "\nAn edit.\n", "utf-8")
    problems = check_vectors(spec)
    stale = [p for p in problems if "is stale" in p]
    assert any("spec/vectors/eps.json" in p for p in stale)
    assert len(stale) >= len(VECTOR_FILES)


def test_rejects_hand_edited_vector(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    shutil.copytree(SPEC, spec)
    path = spec / "vectors" / "trip.json"
    document = json.loads(path.read_text("utf-8"))
    document["cases"][0]["expected"] = "invalid"
    path.write_text(json.dumps(document, indent=1) + "\n", "utf-8")
    assert check_vectors(spec) == [
        "spec/vectors/trip.json differs from its regeneration (run `iome vectors generate`)"
    ]


def test_rejects_file_the_generator_does_not_write(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    shutil.copytree(SPEC, spec)
    extra = spec / "vectors" / "retired.json"
    extra.write_text("{}", "utf-8")
    assert check_vectors(spec) == [
        "spec/vectors/retired.json is not a generated file (run `iome vectors generate`)"
    ]
    write_vectors(spec)
    assert not extra.exists()
    assert check_vectors(spec) == []


def test_generation_is_deterministic_per_seed() -> None:
    first = build_files(SPEC, seed=7)
    assert first == build_files(SPEC, seed=7)
    assert first["vectors/eps.json"] != build_files(SPEC, seed=8)["vectors/eps.json"]
