"""JSON Schema of ``report.json``, generated into spec/schemas/report/.

A derived file like the conformance schemas (iome_ref/conformance/schemas.py): written by
``iome vectors generate``, compared by ``iome vectors check``, so an edited report model
without its regenerated schema is caught.
"""

from __future__ import annotations

from typing import Final

from iome_ref.report.model import SecurityReport
from iome_ref.vectors.derived import model_schemas

__all__ = [
    "SCHEMAS",
    "SCHEMA_FOLDER",
]

SCHEMA_FOLDER: Final = "schemas/report"
SCHEMAS: Final = model_schemas(SCHEMA_FOLDER, {"report": SecurityReport})
