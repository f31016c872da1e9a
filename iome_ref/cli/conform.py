"""``iome conform``, ``iome replay`` and ``iome serve``: the conformance suite's commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from iome_ref.cli.common import (
    CLI,
    EXIT_ERROR,
    EXIT_REJECTED,
    app,
    exit_on_error,
    file_path,
    folder_path,
    printable,
    stderr_console,
)
from iome_ref.constants import MAX_SAFE_INT
from iome_ref.errors import UsageError

ImplOption = Annotated[
    str,
    typer.Option(
        "--impl",
        help="The implementation: ref (the reference, in process), python:MODULE:FACTORY, "
        "or stdio:COMMAND (a subprocess speaking spec/conformance.md).",
    ),
]
TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout",
        min=0.1,
        max=3600.0,
        help="Seconds a stdio implementation has for each reply (IOME-IUT-009); its first "
        "reply, which includes starting up, gets at least 30.",
    ),
]
#: Seconds a stdio IUT has per reply unless --timeout says otherwise (spec/conformance.md).
DEFAULT_TIMEOUT_S = 5.0


@app.command()
def conform(  # noqa: PLR0917 - typer maps each option to a parameter
    impl: ImplOption = "ref",
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SAFE_INT, help="Seed of the run (reset, scenarios).")
    ] = 1,
    profile: Annotated[
        str,
        typer.Option(
            help="quick: the vectors and the state machines; thorough: also every input as "
            "wire text, a reverse-order rerun and a longer search of the machines."
        ),
    ] = "quick",
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Only the cases about these requirement ids (repeat, or comma-separated).",
            show_default=False,
        ),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(
            help="Known failures, {entries: [{case, reason}]}: xfail, xpass fails.",
            show_default=False,
            parser=file_path,
        ),
    ] = None,
    relax: Annotated[
        Path | None,
        typer.Option(
            help="Id mismatches reported as warnings, {entries: [{expected, found, reason}]}.",
            show_default=False,
            parser=file_path,
        ),
    ] = None,
    json_file: Annotated[
        Path | None,
        typer.Option(
            "--json",
            help="Write the report as JSON (timing last).",
            show_default=False,
            parser=file_path,
        ),
    ] = None,
    junit: Annotated[
        Path | None,
        typer.Option(help="Write a JUnit XML report.", show_default=False, parser=file_path),
    ] = None,
    scenarios: Annotated[
        Path,
        typer.Option(
            parser=folder_path,
            help="Folder for the scenario of every failing case (not empty; . for the current "
            "one).",
        ),
    ] = Path("out/conform/scenarios"),
    timeout: TimeoutOption = DEFAULT_TIMEOUT_S,
) -> None:
    """Run the conformance suite against an implementation: a verdict per case and per
    requirement id. Exit 0 all pass, 1 a fail or xpass, 2 an error or bad usage."""
    with exit_on_error():
        from rich.progress import Progress  # noqa: PLC0415

        from iome_ref.conformance.report import (  # noqa: PLC0415
            dump_report,
            format_summary,
            write_junit,
        )
        from iome_ref.conformance.runner import (  # noqa: PLC0415
            ConformOptions,
            open_iut,
            run_conformance,
        )

        ids = tuple(part.strip() for item in only or () for part in item.split(",") if part.strip())
        options = ConformOptions(impl, seed, profile, ids, baseline, relax, scenarios)
        iut = open_iut(impl, timeout_s=timeout)
        try:
            with Progress(console=stderr_console(), transient=False) as bar:
                task = bar.add_task(f"conform {impl}", total=None)
                report = run_conformance(
                    iut,
                    options,
                    lambda done, total, _case: bar.update(task, completed=done, total=total),
                )
        finally:
            iut.close()
        if json_file is not None:
            json_file.parent.mkdir(parents=True, exist_ok=True)
            json_file.write_bytes(dump_report(report))
        if junit is not None:
            write_junit(report, junit)
    for line in format_summary(report):
        typer.echo(printable(line))
    raise typer.Exit(report.exit_code)


@app.command()
def replay(
    files: Annotated[
        list[Path], typer.Argument(help="Scenario files (iome-scenario/1).", parser=file_path)
    ],
    impl: ImplOption = "ref",
    trace: Annotated[
        bool, typer.Option("--trace", help="Also print each request and reply as JSON.")
    ] = False,
    timeout: TimeoutOption = DEFAULT_TIMEOUT_S,
) -> None:
    """Replay scenarios step by step, stopping at the first divergence. Exit 0 every scenario
    behaves as it expects, 1 a divergence, 2 an invalid scenario or a broken implementation."""
    with exit_on_error(catch_all=True):
        from iome_ref.conformance.runner import open_iut  # noqa: PLC0415
        from iome_ref.conformance.scenarios import (  # noqa: PLC0415
            execute,
            format_trace,
            load_scenario,
        )

        loaded = [load_scenario(path) for path in files]
        iut = open_iut(impl, timeout_s=timeout)
        try:
            manifest = iut.hello()
            results = []
            for scenario in loaded:
                result = execute(scenario, iut, manifest=manifest)
                for line in format_trace(result, verbose=trace):
                    typer.echo(printable(line))
                results.append(result)
                if result.broken:
                    break
        finally:
            iut.close()
    statuses = {result.status for result in results}
    if statuses & {"error", "skip"}:
        raise typer.Exit(EXIT_ERROR)
    if "diverged" in statuses:
        raise typer.Exit(EXIT_REJECTED)


@app.command()
def serve(
    stdio: Annotated[
        bool,
        typer.Option("--stdio", help="Speak the wire protocol of spec/conformance.md."),
    ] = False,
    impl: Annotated[
        str,
        typer.Option(
            "--impl", help="The IUT to serve: ref or python:MODULE:FACTORY.", show_default=True
        ),
    ] = "ref",
) -> None:
    """Serve an implementation (the reference by default) over stdin/stdout, JSON lines."""
    with exit_on_error():
        if not stdio:
            raise UsageError(CLI, "serve needs --stdio (the only transport)")
        if impl.startswith("stdio:"):
            raise UsageError(CLI, "--impl: serving a stdio IUT over stdio is pointless")
        from iome_ref.conformance.adapters import open_iut  # noqa: PLC0415
        from iome_ref.conformance.server import serve_stdio  # noqa: PLC0415

        iut = open_iut(impl)
    raise typer.Exit(serve_stdio(iut, sys.stdin.buffer, sys.stdout.buffer, sys.stderr))
