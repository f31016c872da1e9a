"""``iome validate``: judge one document, or compare a vector case with its expectation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from iome_ref.cli.common import (
    EXIT_REJECTED,
    READ_LIMIT,
    app,
    exit_on_error,
    file_path,
    printable,
    read_input,
)
from iome_ref.errors import Malformed


@app.command()
def validate(
    file: Annotated[
        Path,
        typer.Argument(
            help="A JSON transaction, block, or vector case ({context, input, ...}); - is stdin.",
            show_default=False,
            parser=file_path,
        ),
    ],
    pki: Annotated[
        Path | None,
        typer.Option(
            "--pki",
            help='Certificates as in a vector context ({"root", "certificates", "crls"}): '
            "checks a transaction's certificates at its claimed time.",
            show_default=False,
            parser=file_path,
        ),
    ] = None,
) -> None:
    """Judge one document: exit 0 accept, 1 reject (a rule's id), 2 bad usage.

    A vector case (a case with its file's ``context`` added) is judged and compared with its
    ``expected``, ``req_id`` and ``evidence``: exit 0 when they match, 1 on a mismatch.
    """
    with exit_on_error(catch_all=True):
        data = read_input(file, "FILE")
        pki_data = None if pki is None else read_input(pki, "--pki")
        from iome_ref.vectors.runner import validate_document  # noqa: PLC0415

        try:
            matches, verdict = validate_document(data, pki_data)
        except Malformed as error:
            if len(data) >= READ_LIMIT:
                # The size rule saw only the bytes read; say so rather than misstate the size.
                error = Malformed(
                    error.req_id, f"{error.message} (reading stopped after {READ_LIMIT} bytes)"
                )
            raise error from None
    typer.echo(printable(verdict))
    if not matches:
        raise typer.Exit(EXIT_REJECTED)
