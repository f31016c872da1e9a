"""``iome report``: the security report of one implementation, in five formats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

import typer

from iome_ref.cli.common import (
    CLI,
    app,
    exit_on_error,
    file_path,
    folder_path,
    printable,
    stderr_console,
)
from iome_ref.constants import MAX_SAFE_INT
from iome_ref.errors import UsageError

__all__ = ["DEFAULT_OUT", "report"]

#: Where a report goes without ``--out``: a git-ignored folder, never the committed sample
#: ``reports/ref/``, which only ``--out reports/ref`` (tests/report/update_sample.py) rewrites.
DEFAULT_OUT: Final = Path("out/report")


@app.command()
def report(  # noqa: PLR0917 - typer maps each option to a parameter
    impl: Annotated[
        str,
        typer.Option(
            "--impl", help="The implementation: ref, python:MODULE:FACTORY or stdio:COMMAND."
        ),
    ] = "ref",
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SAFE_INT, help="Seed of every section of the run.")
    ] = 1,
    profile: Annotated[
        str, typer.Option(help="quick (minutes) or thorough (longer searches, more variants).")
    ] = "quick",
    out: Annotated[
        Path | None,
        typer.Option(
            parser=folder_path,
            help="Output folder [default: `out/report/<impl>/`, outside the committed sample "
            "reports/ref/].",
            show_default=False,
        ),
    ] = None,
    sessions: Annotated[
        Path | None,
        typer.Option(
            help="Also run the observer on these charging sessions (CSV, as iome link --sessions).",
            show_default=False,
            parser=file_path,
        ),
    ] = None,
    skip: Annotated[
        list[str] | None,
        typer.Option(
            "--skip",
            help="Leave a section out (conformance, adversaries, observer, benchmark); the "
            "report marks it not run.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the vectors, state machines, adversaries, observer and a short benchmark against an
    implementation; write report.json, index.html, report.md, junit.xml, findings.sarif and
    replay/. Exit 0 all pass, 1 a violated requirement, 2 an error or bad usage."""
    with exit_on_error():
        from rich.progress import Progress  # noqa: PLC0415

        from iome_ref.report.run import ReportOptions, build_report, impl_slug  # noqa: PLC0415
        from iome_ref.report.write import write_report  # noqa: PLC0415

        if profile not in ("quick", "thorough"):
            raise UsageError(CLI, f"--profile {profile!r}: use quick or thorough")
        from iome_ref.report.run import SECTIONS  # noqa: PLC0415

        unknown = sorted(set(skip or ()) - set(SECTIONS))
        if unknown:
            raise UsageError(CLI, f"--skip {', '.join(unknown)}: use {', '.join(SECTIONS)}")
        if sessions is not None and not sessions.is_file():
            raise UsageError(CLI, f"--sessions {sessions}: no such file")
        folder = out if out is not None else DEFAULT_OUT / impl_slug(impl)
        options = ReportOptions(
            impl=impl,
            seed=seed,
            profile="thorough" if profile == "thorough" else "quick",
            out=folder,
            sessions=sessions,
            skip=frozenset(skip or ()),
        )
        with Progress(console=stderr_console(), transient=False) as bar:
            tasks: dict[str, object] = {}

            def progress(section: str, done: int, total: int | None, _what: str) -> None:
                if section not in tasks:
                    tasks[section] = bar.add_task(section, total=total)
                bar.update(tasks[section], completed=done, total=total)  # type: ignore[arg-type]

            result = build_report(options, progress)
        written = write_report(result, folder)
    counts = result.counts
    verdicts = ", ".join(f"{n} {name}" for name, n in counts.by_verdict.items()) or "no checks"
    typer.echo(printable(f"report of {impl} (seed {seed}, profile {profile}): {verdicts}"))
    for invariant in result.invariants:
        typer.echo(f"{invariant.status:<9} {invariant.name}")
    for finding in result.findings:
        where = f"; replay: {finding.command}" if finding.command else ""
        typer.echo(printable(f"fail      {finding.requirement_id} {finding.source}{where}"))
    if counts.uncovered:
        typer.echo(f"uncovered {', '.join(counts.uncovered)}")
    typer.echo(
        f"{counts.covered}/{counts.requirements} requirements covered, {counts.findings} "
        f"findings; exit {result.exit_code}"
    )
    typer.echo(printable(f"wrote {', '.join(path.as_posix() for path in written)}"))
    typer.echo(printable(f"open {(folder / 'index.html').as_posix()}"))
    raise typer.Exit(result.exit_code)
