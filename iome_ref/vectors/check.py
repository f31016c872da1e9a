"""Regenerate the derived files in memory and report every difference from disk.

A stale spec hash is reported as such, so an edited spec file without regenerated vectors
names the vectors that no longer match it.
"""

from __future__ import annotations

import json
from pathlib import Path

from iome_ref.vectors.generate import DEFAULT_SEED, build_files, list_derived_files
from iome_ref.vectors.spec_index import compute_spec_hash

__all__ = ["check_vectors", "recorded_seed"]


def recorded_seed(spec_dir: Path) -> int:
    """The seed the vectors on disk were generated with (default when there are none)."""
    for path in sorted((spec_dir / "vectors").glob("*.json")):
        try:
            seed = json.loads(path.read_text("utf-8")).get("seed")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(seed, int):
            return seed
    return DEFAULT_SEED


def _recorded_hash(data: bytes) -> str | None:
    try:
        value = json.loads(data).get("spec_hash")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def check_vectors(spec_dir: Path) -> list[str]:
    """Problems found, one sentence each; an empty list means everything is up to date."""
    expected = build_files(spec_dir, recorded_seed(spec_dir))
    current_hash = compute_spec_hash(spec_dir)
    hint = "(run `iome vectors generate`)"
    problems = []
    for relative, data in sorted(expected.items()):
        path = spec_dir / relative
        if not path.is_file():
            problems.append(f"spec/{relative} is missing {hint}")
            continue
        on_disk = path.read_bytes()
        if on_disk == data:
            continue
        recorded = _recorded_hash(on_disk)
        if recorded is not None and recorded != current_hash:
            problems.append(
                f"spec/{relative} is stale: it records spec hash {recorded[:12]}, the spec now "
                f"hashes to {current_hash[:12]} {hint}"
            )
        else:
            problems.append(f"spec/{relative} differs from its regeneration {hint}")
    for relative in list_derived_files(spec_dir):
        if relative not in expected:
            problems.append(f"spec/{relative} is not a generated file {hint}")
    return problems
