"""Writing and checking a folder of generated files: one way for every generator.

Vectors, the wire schemas and the conformance-file schemas are all derived from code and spec;
each generator builds ``{path relative to spec/: bytes}`` and these two functions write them or
name, one sentence each, what is missing, stale or no longer generated.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

__all__ = ["REGENERATE_HINT", "check_generated", "write_generated"]

REGENERATE_HINT: Final = "(run `iome vectors generate`)"


def write_generated(spec_dir: Path, files: Mapping[str, bytes], folder: str) -> list[Path]:
    """Write ``files`` and delete the ``*.json`` of ``spec_dir/folder`` no longer generated."""
    root = spec_dir / folder
    for path in sorted(root.glob("*.json")) if root.is_dir() else []:
        if f"{folder}/{path.name}" not in files:
            path.unlink()
    written = []
    for relative, data in files.items():
        path = spec_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written


def check_generated(spec_dir: Path, files: Mapping[str, bytes], folder: str) -> list[str]:
    """What differs between ``spec_dir`` and ``files``, as ``iome vectors check`` words it."""
    problems = []
    for relative, data in sorted(files.items()):
        path = spec_dir / relative
        if not path.is_file():
            problems.append(f"spec/{relative} is missing {REGENERATE_HINT}")
        elif path.read_bytes() != data:
            problems.append(f"spec/{relative} differs from its regeneration {REGENERATE_HINT}")
    root = spec_dir / folder
    for path in sorted(root.glob("*.json")) if root.is_dir() else []:
        if f"{folder}/{path.name}" not in files:
            problems.append(f"spec/{folder}/{path.name} is not a generated file {REGENERATE_HINT}")
    return problems
