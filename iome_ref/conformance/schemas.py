"""JSON Schemas of the conformance files, generated into spec/schemas/conformance/.

The report (``iome conform --json``), scenarios, baselines and relaxation files are pydantic
models; their schemas are derived files like the message schemas, written by
``iome vectors generate`` and compared by ``iome vectors check``, so an edited model without
regenerated schemas is caught. They live in a subfolder the vectors layer does not list, so
the vectors layer never needs to import this one.
"""

from __future__ import annotations

from typing import Final

from iome_ref.conformance.report import ConformReport
from iome_ref.conformance.scenarios import Scenario
from iome_ref.conformance.verdicts import Baseline, Relaxation
from iome_ref.models.evidence import EvidenceBundle
from iome_ref.vectors.derived import model_schemas

__all__ = [
    "SCHEMAS",
    "SCHEMA_FOLDER",
]

SCHEMA_FOLDER: Final = "schemas/conformance"
SCHEMAS: Final = model_schemas(
    SCHEMA_FOLDER,
    {
        "baseline": Baseline,
        "evidence-bundle": EvidenceBundle,
        "relaxation": Relaxation,
        "report": ConformReport,
        "scenario": Scenario,
    },
)
