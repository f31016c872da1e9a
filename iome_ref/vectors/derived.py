"""Writing and checking a folder of generated files: one way for every generator.

Vectors, the wire schemas and the conformance-file schemas are all derived from code and spec;
each generator builds ``{path relative to spec/: bytes}`` and these two functions write them or
name, one sentence each, what is missing, stale or no longer generated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pydantic import BaseModel

__all__ = [
    "REGENERATE_HINT",
    "SCHEMA_DIALECT",
    "SchemaSet",
    "check_generated",
    "model_schemas",
    "write_generated",
]

REGENERATE_HINT: Final = "(run `iome vectors generate`)"
#: The JSON Schema dialect every generated schema names.
SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


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


@dataclass(frozen=True)
class SchemaSet:
    """One folder of generated JSON Schemas under spec/, and how to build its files: each
    set (the wire protocol's, the output files' of conform, attack, link and report) is
    registered in ``iome vectors``' ``SCHEMA_SETS``, so code edited without its regenerated
    schemas is caught."""

    folder: str
    build: Callable[[], dict[str, bytes]]

    def build_schema_files(self) -> dict[str, bytes]:
        """Each schema's bytes, keyed by path relative to spec/."""
        return self.build()

    def write_schema_files(self, spec_dir: Path) -> list[Path]:
        """Write the schemas; delete files of the folder that are no longer generated."""
        return write_generated(spec_dir, self.build(), self.folder)

    def check_schema_files(self, spec_dir: Path) -> list[str]:
        """Problems, one sentence each, as ``iome vectors check`` reports them."""
        return check_generated(spec_dir, self.build(), self.folder)


def model_schemas(folder: str, models: Mapping[str, type[BaseModel]]) -> SchemaSet:
    """The set of the JSON Schemas pydantic derives from ``models`` (name -> model), one
    ``<name>.json`` each in ``folder``."""

    def build() -> dict[str, bytes]:
        files = {}
        for name, model in models.items():
            schema = {"$schema": SCHEMA_DIALECT, **model.model_json_schema()}
            text = json.dumps(schema, indent=1, ensure_ascii=False) + "\n"
            files[f"{folder}/{name}.json"] = text.encode("utf-8")
        return files

    return SchemaSet(folder, build)
