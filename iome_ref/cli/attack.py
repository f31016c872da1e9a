"""``iome attack``: run the adversaries of spec/adversaries.md against an implementation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from iome_ref.cli.common import app, exit_on_error, folder_path, printable, stderr_console
from iome_ref.constants import MAX_SAFE_INT


@app.command()
def attack(  # noqa: PLR0917 - typer maps each option to a parameter
    impl: Annotated[
        str,
        typer.Option(
            "--impl",
            help="The implementation: ref, python:MODULE:FACTORY or stdio:COMMAND.",
        ),
    ] = "ref",
    adversary: Annotated[
        list[str] | None,
        typer.Option(
            "--adversary",
            help="Only these adversaries (repeat, or comma-separated) [default: all].",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SAFE_INT, help="Seed of the attackers' world.")
    ] = 1,
    profile: Annotated[
        str, typer.Option(help="quick, or thorough (larger floods and storms).")
    ] = "quick",
    out: Annotated[
        Path,
        typer.Option(
            help="Folder for attack.json and one scenario per finding.", parser=folder_path
        ),
    ] = Path("out/attack"),
    played: Annotated[
        Path | None,
        typer.Option(
            help="Also write every scenario the adversaries played here (against the "
            "reference: adversaries/scenarios/).",
            show_default=False,
            parser=folder_path,
        ),
    ] = None,
) -> None:
    """Attack an implementation: one line per adversary (`blocked`, `leaks FIGURE`,
    `succeeded REQUIREMENT-ID`). Exit 0 every adversary as expected, 1 one succeeded, 2 an
    error."""
    with exit_on_error():
        from rich.progress import Progress  # noqa: PLC0415

        from adversaries.report import format_lines  # noqa: PLC0415
        from adversaries.runner import run_attacks  # noqa: PLC0415

        names = [part.strip() for item in adversary or () for part in item.split(",")]
        with Progress(console=stderr_console(), transient=False) as bar:
            task = bar.add_task(f"attack {impl}", total=None)
            report = run_attacks(
                impl,
                seed=seed,
                profile=profile,
                names=[name for name in names if name] or None,
                out=out,
                progress=lambda done, total, name: bar.update(
                    task, completed=done, total=total, description=f"attack {impl}: {name}"
                ),
                played_out=played,
            )
    for line in format_lines(report):
        typer.echo(printable(line))
    raise typer.Exit(report.exit_code)
