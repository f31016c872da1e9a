"""JSON Schemas of the analysis files (link.json), generated into spec/schemas/analysis/.

``iome link --out DIR`` writes link.json, a pydantic model (``LinkReport``); its schema is a
derived file like the message schemas, written by ``iome vectors generate`` and compared by
``iome vectors check``, so an edited model without a regenerated schema is caught. It lives in
a subfolder the vectors layer does not list, so the vectors layer never imports this one.
"""

from __future__ import annotations

from typing import Final

from iome_ref.analysis.linkreport import LinkReport
from iome_ref.vectors.derived import model_schemas

__all__ = [
    "SCHEMAS",
    "SCHEMA_FOLDER",
]

SCHEMA_FOLDER: Final = "schemas/analysis"
SCHEMAS: Final = model_schemas(SCHEMA_FOLDER, {"link": LinkReport})
