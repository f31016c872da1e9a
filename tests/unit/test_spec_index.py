"""The requirement index is parsed from spec/*.md, strictly, and the spec hash tracks the text."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from helpers import usage_error

from iome_ref.errors import UsageError
from iome_ref.vectors.spec_index import (
    compute_spec_hash,
    default_spec_dir,
    load_requirements,
    load_retired,
    to_index_json,
)

#: The ids planned for this version, by area; the spec must define exactly these.
PLANNED = {
    "ENC": 12,
    "SIG": 8,
    "CERT": 8,
    "ESDP": 3,
    "EPS": 9,
    "PRES": 2,
    "CLAIM": 6,
    "TRIP": 4,
    "ODM": 4,
    "CHG": 4,
    "REC": 2,
    "BLK": 12,
    "ANC": 8,
}
PLANNED_IDS = {
    f"IOME-{area}-{n:03d}" for area, count in PLANNED.items() for n in range(1, count + 1)
}

#: Which file holds which area (overview.md, "Files and areas").
AREA_FILES = {
    "DATA": "energy.md",
    "ENC": "encoding.md",
    "SIG": "encoding.md",
    "CERT": "certificates.md",
    "ESDP": "energy.md",
    "EPS": "energy.md",
    "PRES": "trips.md",
    "CLAIM": "trips.md",
    "TRIP": "trips.md",
    "ODM": "trips.md",
    "CHG": "transactions.md",
    "REC": "transactions.md",
    "BLK": "chains.md",
    "ANC": "chains.md",
    "REV": "chains.md",
    "IUT": "conformance.md",
    "EVB": "evidence.md",
}

RULE = """### {req_id}: A title

Something MUST hold.

Source: design decision
"""


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_accepts_real_spec_with_planned_ids() -> None:
    reqs = load_requirements(default_spec_dir())
    assert len(reqs) >= 60
    assert set(reqs) >= PLANNED_IDS  # ids are never renumbered or dropped, only retired
    for req_id, req in reqs.items():
        assert re.fullmatch(r"IOME-[A-Z]+-\d{3}", req_id)
        assert req.req_id == req_id
        assert req.file == AREA_FILES[req.area]
        assert req.title
        assert req.source
        assert re.search(r"\b(MUST|SHOULD|MAY)\b", req.text)


def test_accepts_example_heading_inside_code_fence() -> None:
    # overview.md shows IOME-EPS-004 as an example inside a fence; energy.md defines it.
    assert load_requirements(default_spec_dir())["IOME-EPS-004"].file == "energy.md"


def test_accepts_real_spec_without_retired_ids() -> None:
    assert load_retired(default_spec_dir()) == set()


def test_accepts_rule_fields(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "a.md",
        "# A\n\n## Rules\n\n### IOME-XY-001: First rule\n\nA MUST be.\nStill the rule.\n\n"
        "Source: paper §III\n\n## Processing\n\nNot part of the rule.\n",
    )
    req = load_requirements(tmp_path)["IOME-XY-001"]
    assert req.title == "First rule"
    assert req.area == "XY"
    assert req.file == "a.md"
    assert req.source == "paper §III"
    assert req.text == "A MUST be. Still the rule."


def test_rejects_duplicate_id(tmp_path: Path) -> None:
    _write(tmp_path, "a.md", RULE.format(req_id="IOME-XY-001"))
    _write(tmp_path, "b.md", RULE.format(req_id="IOME-XY-001"))
    with pytest.raises(UsageError, match="IOME-XY-001") as info:
        load_requirements(tmp_path)
    assert info.value.component == "spec"


def test_rejects_duplicate_id_in_one_file(tmp_path: Path) -> None:
    _write(tmp_path, "a.md", RULE.format(req_id="IOME-XY-001") * 2)
    with pytest.raises(UsageError) as info:
        load_requirements(tmp_path)
    assert info.value.component == "spec"


@pytest.mark.parametrize(
    "heading",
    [
        "### IOME-XY-01: Two digits",
        "### IOME-xy-001: Lowercase area",
        "### IOME-XY-0001: Four digits",
        "### IOME-XY-001 Missing colon",
        "### IOME-XY-001:",
    ],
)
def test_rejects_malformed_id(tmp_path: Path, heading: str) -> None:
    _write(tmp_path, "a.md", f"{heading}\n\nIt MUST.\n\nSource: design decision\n")
    with pytest.raises(UsageError, match="malformed") as info:
        load_requirements(tmp_path)
    assert info.value.component == "spec"


def test_rejects_rule_without_source(tmp_path: Path) -> None:
    _write(tmp_path, "a.md", "### IOME-XY-001: No source\n\nIt MUST.\n\n### IOME-XY-002: B\n")
    with pytest.raises(UsageError, match="Source") as info:
        load_requirements(tmp_path)
    assert info.value.component == "spec"


def test_rejects_rule_without_keyword(tmp_path: Path) -> None:
    _write(
        tmp_path, "a.md", "### IOME-XY-001: Vague\n\nIt should hold.\n\nSource: design decision\n"
    )
    with usage_error("spec", match="RFC 2119"):
        load_requirements(tmp_path)


def test_rejects_retired_id_defined_again(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "overview.md",
        "## Retired requirements\n\n- IOME-XY-001: Old rule (retired in 1.1.0: merged)\n",
    )
    _write(tmp_path, "a.md", RULE.format(req_id="IOME-XY-001"))
    assert load_retired(tmp_path) == {"IOME-XY-001"}
    with usage_error("spec", match="retired"):
        load_requirements(tmp_path)


def test_rejects_missing_spec_dir(tmp_path: Path) -> None:
    with usage_error("spec"):
        load_requirements(tmp_path / "absent")


@pytest.mark.parametrize("files", [{}, {"notes.md": "# Notes\n\nNo rule here.\n"}])
def test_rejects_folder_defining_no_rule(tmp_path: Path, files: dict[str, str]) -> None:
    """A folder that is not the spec (a wrong --spec-dir) lists and checks nothing: refused,
    not passed off as an empty success."""
    for name, text in files.items():
        _write(tmp_path, name, text)
    with usage_error("spec", match="not a spec folder"):
        load_requirements(tmp_path)


def test_spec_hash_is_stable(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    shutil.copytree(default_spec_dir(), spec)
    first = compute_spec_hash(spec)
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert compute_spec_hash(spec) == first
    assert compute_spec_hash(default_spec_dir()) == first


def test_spec_hash_changes_when_a_file_changes(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    shutil.copytree(default_spec_dir(), spec)
    before = compute_spec_hash(spec)
    path = spec / "energy.md"
    path.write_bytes(path.read_bytes() + b"\n")
    assert compute_spec_hash(spec) != before


def test_spec_hash_changes_when_a_file_is_renamed(tmp_path: Path) -> None:
    _write(tmp_path, "a.md", "same bytes")
    before = compute_spec_hash(tmp_path)
    (tmp_path / "a.md").rename(tmp_path / "b.md")
    assert compute_spec_hash(tmp_path) != before


def test_spec_hash_ignores_derived_files(tmp_path: Path) -> None:
    _write(tmp_path, "a.md", RULE.format(req_id="IOME-XY-001"))
    before = compute_spec_hash(tmp_path)
    _write(tmp_path, "index.json", "{}")
    _write(tmp_path / "schemas", "X.json", "{}")
    _write(tmp_path / "vectors", "x.json", "{}")
    assert compute_spec_hash(tmp_path) == before


def test_index_json_is_sorted_and_complete() -> None:
    reqs = load_requirements(default_spec_dir())
    index = to_index_json(reqs)
    assert list(index) == sorted(reqs)
    entry = index["IOME-EPS-004"]
    assert set(entry) == {"title", "area", "file", "source", "text"}
    assert entry["area"] == "EPS"
