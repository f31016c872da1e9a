"""JSON Schemas of the analysis files (link.json), generated into spec/schemas/analysis/.

``iome link --out DIR`` writes link.json, a pydantic model (``LinkReport``); its schema is a
derived file like the message schemas, written by ``iome vectors generate`` and compared by
``iome vectors check``, so an edited model without a regenerated schema is caught. It lives in
a subfolder the vectors layer does not list, so the vectors layer never imports this one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from pydantic import BaseModel

from iome_ref.analysis.linkreport import LinkReport
from iome_ref.vectors.derived import check_generated, write_generated

__all__ = ["SCHEMA_FOLDER", "build_schema_files", "check_schema_files", "write_schema_files"]

SCHEMA_FOLDER: Final = "schemas/analysis"
_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
_MODELS: Final[dict[str, type[BaseModel]]] = {"link": LinkReport}


def build_schema_files() -> dict[str, bytes]:
    """Each schema's bytes, keyed by path relative to spec/."""
    files = {}
    for name, model in _MODELS.items():
        schema = {"$schema": _DIALECT, **model.model_json_schema()}
        text = json.dumps(schema, indent=1, ensure_ascii=False) + "\n"
        files[f"{SCHEMA_FOLDER}/{name}.json"] = text.encode("utf-8")
    return files


def write_schema_files(spec_dir: Path) -> list[Path]:
    """Write the schemas; delete files of the folder that are no longer generated."""
    return write_generated(spec_dir, build_schema_files(), SCHEMA_FOLDER)


def check_schema_files(spec_dir: Path) -> list[str]:
    """Problems, one sentence each, as ``iome vectors check`` reports them."""
    return check_generated(spec_dir, build_schema_files(), SCHEMA_FOLDER)
