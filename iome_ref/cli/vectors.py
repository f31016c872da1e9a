"""``iome vectors generate|check`` and ``iome spec ids``: the generated files of spec/."""

from __future__ import annotations

import importlib
import json
from typing import Annotated, Any, Final

import typer

from iome_ref.cli.common import (
    EXIT_REJECTED,
    SpecDirOption,
    exit_on_error,
    printable,
    spec_app,
    spec_dir_of,
    status,
    vectors_app,
)
from iome_ref.constants import MAX_SAFE_INT

#: Modules that each generate one folder of JSON Schemas under spec/schemas/, as their
#: ``SCHEMAS`` (``vectors.derived.SchemaSet``): the wire protocol, the conformance files, the
#: observer's and the attack's outputs, the report. A new output file with a committed schema
#: adds its module here, and nowhere else.
SCHEMA_SETS: Final = (
    "iome_ref.conformance.wire",
    "iome_ref.conformance.schemas",
    "iome_ref.analysis.schemas",
    "adversaries.schemas",
    "iome_ref.report.schemas",
)


def _schema_sets() -> list[Any]:
    """The schema sets of ``SCHEMA_SETS``, imported only when a command needs them."""
    return [importlib.import_module(name).SCHEMAS for name in SCHEMA_SETS]


@vectors_app.command("generate")
def vectors_generate(
    seed: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=MAX_SAFE_INT,
            help="Seed of the keys and cases [default: the seed the vectors on disk record, "
            "else 1].",
            show_default=False,
        ),
    ] = None,
    spec_dir: SpecDirOption = None,
) -> None:
    """Write spec/vectors/*.json, spec/index.json and every schema set of ``SCHEMA_SETS``."""
    with exit_on_error():
        from iome_ref.vectors.check import recorded_seed  # noqa: PLC0415
        from iome_ref.vectors.generate import write_vectors  # noqa: PLC0415

        directory = spec_dir_of(spec_dir)
        chosen = recorded_seed(directory) if seed is None else seed
        with status("generating vectors"):
            written = write_vectors(directory, chosen)
            for schema_set in _schema_sets():
                written += schema_set.write_schema_files(directory)
    typer.echo(f"wrote {len(written)} files under {directory} (seed {chosen})")


@vectors_app.command("check")
def vectors_check(spec_dir: SpecDirOption = None) -> None:
    """Regenerate in memory and compare: exit 1 listing every stale, missing or extra file."""
    with exit_on_error():
        from iome_ref.vectors.check import check_vectors  # noqa: PLC0415
        from iome_ref.vectors.generate import list_derived_files  # noqa: PLC0415

        directory = spec_dir_of(spec_dir)
        with status("checking vectors"):
            problems = check_vectors(directory)
            count = len(list_derived_files(directory))
            for schema_set in _schema_sets():
                problems += schema_set.check_schema_files(directory)
                count += len(schema_set.build_schema_files())
    for problem in problems:
        typer.echo(printable(problem))
    if problems:
        typer.echo(f"{len(problems)} problem(s) in {directory}", err=True)
        raise typer.Exit(EXIT_REJECTED)
    typer.echo(f"vectors up to date ({count} files)")


@spec_app.command("ids")
def spec_ids(
    spec_dir: SpecDirOption = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the index as JSON, as in spec/index.json."),
    ] = False,
) -> None:
    """List the requirement ids the spec defines, with their titles."""
    with exit_on_error():
        from iome_ref.vectors.spec_index import load_requirements, to_index_json  # noqa: PLC0415

        requirements = load_requirements(spec_dir_of(spec_dir))
    if as_json:
        typer.echo(json.dumps(to_index_json(requirements), indent=1, ensure_ascii=False))
        return
    width = max((len(req_id) for req_id in requirements), default=0)
    for requirement in requirements.values():
        typer.echo(printable(f"{requirement.req_id:<{width}}  {requirement.title}"))
