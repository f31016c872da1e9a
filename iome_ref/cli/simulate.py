"""``iome simulate``: run the closed energy-mobility loop and write its ledger and summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final

import typer

from iome_ref.cli.common import (
    CLI,
    MAX_STATIONS,
    app,
    exit_on_error,
    file_path,
    folder_path,
    stderr_console,
)
from iome_ref.constants import MAX_SAFE_INT
from iome_ref.errors import UsageError


def _parse_failure(text: str | None) -> tuple[str, int] | None:
    """``CHAIN@ROUND`` as a pair; whether the chain and round exist is the config's check."""
    if text is None:
        return None
    chain, _, round_text = text.partition("@")
    if not chain or not round_text.isascii() or not round_text.isdigit():
        raise UsageError(CLI, f"--fail-manager expects CHAIN@ROUND, e.g. fleet@2, found {text!r}")
    return chain, int(round_text)


_SIMULATE_HELP: Final = (
    "Run the closed energy-mobility loop, then a price-unaware baseline.\n\n"
    "Writes OUT/ledger.sqlite (every chain's ledger; --db FILE instead), OUT/summary.json "
    "(per round and region figures, the ledger audit, the effect against the baseline) and "
    "OUT/imbalance.svg (each region's imbalance with and without prices). Each file appears "
    "whole or not at all: a failed run leaves no partial file and keeps earlier ones.\n\n"
    "Child chains (for --fail-manager): fleet, then one per region I from 0 to --regions - 1, "
    "vpp-rI for even I and mg-rI for odd I; with the default 5 regions: fleet, vpp-r0, mg-r1, "
    "vpp-r2, mg-r3, vpp-r4. ROUND counts from 0 and must be below --rounds."
)


@app.command(help=_SIMULATE_HELP)
def simulate(  # noqa: PLR0917 - typer maps each option to a parameter
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SAFE_INT, help="Seed of every random choice.")
    ] = 1,
    evs: Annotated[int, typer.Option(min=1, help="Electric vehicles.")] = 200,
    stations: Annotated[
        int, typer.Option(min=2, help=f"Charging stations (at most {MAX_STATIONS}).")
    ] = 20,
    homes: Annotated[int, typer.Option(min=1, help="Homes with a building energy manager.")] = 100,
    rounds: Annotated[int, typer.Option(min=1, help="Rounds of the loop.")] = 4,
    regions: Annotated[int, typer.Option(min=1, help="Regions (suburbs) of the city.")] = 5,
    round_hours: Annotated[int, typer.Option(min=1, max=24, help="Length of a round.")] = 6,
    participation: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of private EV owners who act on prices."),
    ] = 0.25,
    db: Annotated[
        Path | None, typer.Option(help="SQLite file for the ledgers.", parser=file_path)
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            help="Folder receiving ledger.sqlite (unless --db), summary.json and imbalance.svg.",
            parser=folder_path,
        ),
    ] = Path("out/simulate"),
    fail_manager: Annotated[
        str | None,
        typer.Option(
            help="Stop a child chain's manager at a round so its backup takes over: "
            "CHAIN@ROUND, e.g. fleet@2 (chain names above).",
            show_default=False,
        ),
    ] = None,
    graphml: Annotated[
        Path | None,
        typer.Option(help="A GraphML road graph instead of a generated city.", parser=file_path),
    ] = None,
) -> None:
    """Run the closed energy-mobility loop and its baseline (help: ``_SIMULATE_HELP``)."""
    with exit_on_error():
        from rich.progress import Progress  # noqa: PLC0415

        from iome_ref.simulation.loop import SimulationConfig  # noqa: PLC0415
        from iome_ref.simulation.plots import write_plots  # noqa: PLC0415
        from iome_ref.simulation.run import run_simulation, write_summary  # noqa: PLC0415

        config = SimulationConfig(
            seed=seed,
            evs=evs,
            stations=stations,
            homes=homes,
            rounds=rounds,
            regions=regions,
            round_s=round_hours * 3600,
            participation=participation,
            fail_manager=_parse_failure(fail_manager),
            graphml=graphml,
        )
        with Progress(console=stderr_console(), transient=False) as bar:
            tasks = {
                label: bar.add_task(f"{label} rounds", total=rounds)
                for label in ("price-aware", "baseline")
            }
            summary = run_simulation(
                config,
                db if db is not None else out / "ledger.sqlite",
                lambda label, _r: bar.advance(tasks[label]),
            )
        path = write_summary(summary, out)
        plot = write_plots(summary, out)
    effect, audit = summary["effect"], summary["audit"]
    typer.echo(f"summary: {path}")
    typer.echo(f"plot: {plot}")
    typer.echo(
        f"trips completed {audit['completed_trips']}, on the public chain {audit['public_trips']}"
        f" (match: {audit['trips_match']}); O-D recomputes: {audit['od_recomputes']}"
    )
    change = effect["reduction_per_mille"]
    typer.echo(
        f"regional imbalance {effect['imbalance_wh']} Wh vs baseline "
        f"{effect['baseline_imbalance_wh']} Wh ({abs(change) / 10:.1f} % "
        f"{'less' if change >= 0 else 'more'})"
    )
