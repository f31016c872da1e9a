"""JSON Schema of ``attack.json``, generated into spec/schemas/adversaries/.

The attack report is a pydantic model; its schema is a derived file like the conformance
ones (iome_ref/conformance/schemas.py), written by ``iome vectors generate`` and compared by
``iome vectors check``, so an edited model without a regenerated schema is caught. Scenario
files the adversaries write use the conformance scenario schema.
"""

from __future__ import annotations

from typing import Final

from adversaries.report import AttackReport
from iome_ref.vectors.derived import model_schemas

__all__ = [
    "SCHEMAS",
    "SCHEMA_FOLDER",
]

SCHEMA_FOLDER: Final = "schemas/adversaries"
SCHEMAS: Final = model_schemas(SCHEMA_FOLDER, {"attack-report": AttackReport})
