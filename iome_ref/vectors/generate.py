"""Generate the conformance vectors, JSON Schemas, constants table and requirement index.

Everything under spec/vectors and spec/schemas, and spec/index.json, is derived: from the
models, the constants module, the Markdown and a seed. Each vector case is run through the
reference while generating, so a case whose expected verdict the reference does not reach is
a generation error, never a file on disk.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any, Final

from iome_ref import constants
from iome_ref.errors import UsageError
from iome_ref.models import MESSAGE_TYPES
from iome_ref.rules.ledger import ALLOWED_TYPES
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.cases import (
    certificates,
    energy,
    identity,
    ledger,
    mobility,
    revocation,
)
from iome_ref.vectors.cases.book import CaseBook
from iome_ref.vectors.runner import run_case
from iome_ref.vectors.spec_index import compute_spec_hash, load_requirements, to_index_json
from iome_ref.vectors.world import CHAINS, World, build_world

__all__ = [
    "DEFAULT_SEED",
    "VECTOR_FILES",
    "VECTOR_FORMAT",
    "build_files",
    "list_derived_files",
    "write_vectors",
]

DEFAULT_SEED: Final = 1
VECTOR_FORMAT: Final = "iome-vectors/1"
SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
#: Folders of spec/ whose *.json files are all derived; spec/index.json lies beside them.
_DERIVED_FOLDERS: Final = ("vectors", "schemas")

#: File stem -> the function writing its cases, in the order the README lists them.
VECTOR_FILES: Final[dict[str, Callable[[Builder], CaseBook]]] = {
    "encoding": identity.encoding_cases,
    "signatures": identity.signature_cases,
    "certificates": certificates.certificate_cases,
    "esdp": energy.esdp_cases,
    "issuer-registration": energy.registration_cases,
    "eps": energy.eps_cases,
    "presence": mobility.presence_cases,
    "trip-claim": mobility.trip_claim_cases,
    "trip": mobility.trip_cases,
    "charge-session": mobility.charge_session_cases,
    "od-matrix": mobility.od_matrix_cases,
    "anchor": ledger.anchor_cases,
    "manager-handover": ledger.handover_cases,
    "data-commitment": ledger.data_commitment_cases,
    "external-record": ledger.external_record_cases,
    "blocks": ledger.block_cases,
    "revocation-list": revocation.revocation_list_cases,
}


def generator_name() -> str:
    return f"iome-ref {version('iome')}"


def _json_bytes(document: Any) -> bytes:
    return (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def build_context(world: World) -> dict[str, Any]:
    """The part of a vector file every case shares: PKI, travel times, quorum, chains."""
    return {
        "pki": world.directory.to_json(),
        "travel_times": [[a, b, s] for (a, b), s in sorted(world.travel.items())],
        "quorum": constants.TRIP_QUORUM,
        "chains": dict(CHAINS),
    }


def _check_book(context: dict[str, Any], book: CaseBook) -> None:
    for case in book.cases:
        verdict = run_case(context, case)
        if verdict.expected != case["expected"] or verdict.req_id != case["req_id"]:
            raise UsageError(
                "vectors",
                f"case {case['id']} expects {case['expected']} {case['req_id']}, the reference "
                f"says {verdict.expected} {verdict.req_id}: {verdict.message}",
            )
        # Evidence is part of the verdict (spec/vectors/README.md, "Compare"): a case that
        # omits evidence the reference records would fail every conforming implementation.
        if sorted(verdict.evidence) != sorted(case["evidence"]):
            raise UsageError(
                "vectors",
                f"case {case['id']} expects evidence {sorted(case['evidence'])}, the reference "
                f"records {sorted(verdict.evidence)}",
            )


def _constants_table() -> dict[str, Any]:
    table: dict[str, Any] = {}
    for name in sorted(dir(constants)):
        value = getattr(constants, name)
        if not name.isupper():
            continue
        table[name] = value.decode("ascii") if isinstance(value, bytes) else value
    table["ALLOWED_TYPES"] = {kind: sorted(types) for kind, types in ALLOWED_TYPES.items()}
    return table


def build_files(spec_dir: Path, seed: int = DEFAULT_SEED) -> dict[str, bytes]:
    """Every derived file, keyed by path relative to ``spec_dir``, as bytes."""
    spec_hash = compute_spec_hash(spec_dir)
    world = build_world(seed)
    context = build_context(world)
    files: dict[str, bytes] = {}
    for stem, make_cases in VECTOR_FILES.items():
        book = make_cases(Builder(world))
        _check_book(context, book)
        files[f"vectors/{stem}.json"] = _json_bytes(
            {
                "format": VECTOR_FORMAT,
                "generator": generator_name(),
                "spec_version": constants.SPEC_VERSION,
                "spec_hash": spec_hash,
                "seed": seed,
                "context": context,
                "cases": book.cases,
            }
        )
    for name, model in MESSAGE_TYPES.items():
        schema = {"$schema": SCHEMA_DIALECT, **model.model_json_schema()}
        files[f"schemas/{name}.json"] = _json_bytes(schema)
    files["schemas/constants.json"] = _json_bytes(_constants_table())
    files["index.json"] = _json_bytes(
        {"spec_hash": spec_hash, "requirements": to_index_json(load_requirements(spec_dir))}
    )
    return files


def list_derived_files(spec_dir: Path) -> list[str]:
    """The derived-looking files on disk, relative to ``spec_dir``, in a stable order."""
    found = [
        f"{folder}/{path.name}"
        for folder in _DERIVED_FOLDERS
        for path in sorted((spec_dir / folder).glob("*.json"))
    ]
    if (spec_dir / "index.json").is_file():
        found.append("index.json")
    return found


def write_vectors(spec_dir: Path, seed: int = DEFAULT_SEED) -> list[Path]:
    """Write every derived file and delete derived-looking files that are no longer generated."""
    files = build_files(spec_dir, seed)
    for relative in list_derived_files(spec_dir):
        if relative not in files:
            (spec_dir / relative).unlink()
    written = []
    for relative, data in files.items():
        path = spec_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written
