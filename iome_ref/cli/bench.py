"""``iome bench``: the benchmark figures as JSON and SVG plots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from iome_ref.cli.common import CLI, app, exit_on_error, folder_path, printable, stderr_console
from iome_ref.errors import UsageError


@app.command()
def bench(
    out: Annotated[Path, typer.Option(help="Output folder.", parser=folder_path)] = Path(
        "out/bench"
    ),
    profile: Annotated[
        str, typer.Option(help="short (seconds, as in iome report) or full (a minute or more).")
    ] = "full",
) -> None:
    """Measure validation, trip extraction, conformance and projections: ratios against the
    raw Ed25519 verify of the same run. Writes bench.json and SVG plots."""
    with exit_on_error():
        from rich.progress import Progress  # noqa: PLC0415

        from iome_ref.report.bench import FULL, SHORT, run_bench, write_bench  # noqa: PLC0415

        configs = {"short": SHORT, "full": FULL}
        if profile not in configs:
            raise UsageError(CLI, f"--profile {profile!r}: use short or full")
        with Progress(console=stderr_console(), transient=False) as bar:
            task = bar.add_task("benchmark", total=5)
            section = run_bench(
                configs[profile], lambda _s, done, _t, _w: bar.update(task, completed=done)
            )
        written = write_bench(section, out)
    for figure in section.figures:
        note = f" ({figure.note})" if figure.note else ""
        typer.echo(printable(f"{figure.name}: {figure.value:.4g} {figure.unit}{note}"))
    typer.echo(printable(f"note: {section.reason}"))
    typer.echo(printable(f"wrote {', '.join(p.as_posix() for p in written)}"))
