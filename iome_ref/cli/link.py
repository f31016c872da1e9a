"""``iome link``: measure what the public records leak, on a ledger, a simulation or real data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer

from iome_ref.cli.common import CLI, app, exit_on_error, file_path, folder_path, stderr_console
from iome_ref.constants import MAX_SAFE_INT
from iome_ref.errors import UsageError

if TYPE_CHECKING:
    from iome_ref.analysis.linkreport import LinkReport

_LINK_HELP: Final = (
    "Measure how far a chain observer re-links one-time keys.\n\n"
    "Exactly one source: --db LEDGER (its public chains only), --simulate 'SIM-ARGS' (a run "
    "in memory, e.g. '--evs 100 --rounds 4 --time-bucket 1'; its ground truth scores the "
    "observer), --sessions FILE (Norway's format or session_id,station,start_iso,end_iso,"
    "energy_wh,user) or --trips FILE [--stations FILE].\n\n"
    "Prints the figures; with --out writes OUT/link.json and SVG plots (anonymity.svg, "
    "follow.svg, uniqueness.svg, sweep.svg with --sweep). Same seed, same bytes. A bad file "
    "is refused with its line number (exit 2) and nothing is written."
)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _print(report: LinkReport) -> None:
    typer.echo(f"population: {report.population}")
    for item in report.knowledge:
        typer.echo(f"observer knows: {item}")
    forced = report.forced
    if forced is not None:
        typer.echo(
            f"trips {forced.trips}; departure keys {forced.departures}, arrival keys "
            f"{forced.arrivals}; candidate links {forced.candidate_links} in "
            f"{forced.components} components (largest {forced.largest_component})"
        )
        typer.echo(
            f"forced PK1<->PK2 links {forced.forced_links} (correct {forced.forced_correct}, "
            f"wrong {forced.forced_wrong}); trips forced {_percent(forced.trips_forced_share)}; "
            f"median anonymity set {forced.anonymity_median:g}"
        )
        typer.echo(
            f"trips with both keys public {forced.trips_both_keys_public}; Trip record forced "
            f"to its arrival key {_percent(forced.trips_arrival_key_forced)}, to its departure "
            f"key {_percent(forced.trips_departure_key_forced)}"
        )
        if forced.chains is not None:
            c = forced.chains
            typer.echo(
                f"trajectories chained (of {c.vehicles} vehicles): 2+ trips "
                f"{_percent(c.chained_2)}, 3+ {_percent(c.chained_3)}, 4+ "
                f"{_percent(c.chained_4_plus)}"
            )
    elif report.forced_absent:
        typer.echo(f"forced links: {report.forced_absent}")
    if report.z3 is not None:
        z = report.z3
        typer.echo(
            f"z3 (seed {z.seed}, timeout {z.timeout_ms} ms): {z.components} components "
            f"({z.skipped_too_large} over the size bound skipped), "
            f"{z.queries} queries, unknown {z.unknown}, agrees with fast path: "
            f"{z.agrees_with_fast_path}; forced {z.forced_without} -> "
            f"{z.forced_with_side_knowledge} with {z.side_knowledge}"
        )
    _print_chains(report)
    _print_trajectories(report)
    _print_sessions(report)


def _print_trajectories(report: LinkReport) -> None:
    t = report.trajectories
    if t is None:
        return
    k = t.every_end_keyed
    typer.echo(
        f"trip keys public: departure {_percent(t.departure_key_public)}, arrival "
        f"{_percent(t.arrival_key_public)}, both {_percent(t.both_keys_public)} of {t.trips} "
        f"trips; chainable on the public chain at most: 2+ {_percent(t.chainable_2)}, 3+ "
        f"{_percent(t.chainable_3)}, 4+ {_percent(t.chainable_4_plus)} of vehicles"
    )
    typer.echo(
        f"every trip end keyed: PK1<->PK2 forced {_percent(t.every_end_keyed_forced_share)}; "
        f"trajectories chained 2+ {_percent(k.chained_2)}, 3+ {_percent(k.chained_3)}, 4+ "
        f"{_percent(k.chained_4_plus)} of {k.vehicles} vehicles"
    )


def _print_chains(report: LinkReport) -> None:
    z = report.z3_chains
    if z is None:
        if report.z3_chains_absent:
            typer.echo(f"z3 chains: {report.z3_chains_absent}")
        return
    typer.echo(
        f"z3 chains with the battery (seed {z.seed}, timeout {z.timeout_ms} ms): "
        f"{z.components} of {z.components_total} components solved ({z.skipped_too_large} too "
        f"large, {z.skipped_over_budget} over the budget; {z.links_skipped} links skipped), "
        f"{z.queries} queries, unknown {z.unknown} ({z.undecided_links} links undecided)"
    )
    typer.echo(
        f"proven (unsat) pairing links {z.pairing_proven} (fast path {z.pairing_forced_fast}), "
        f"dwell links {z.dwell_proven} (fast path {z.dwell_forced_fast}); excluded by the "
        f"battery {z.excluded_by_battery}; proven correct {z.proven_correct}, wrong "
        f"{z.proven_wrong}"
    )
    if z.chains is not None:
        c = z.chains
        typer.echo(
            f"trajectories chained through proven links: 2+ trips {_percent(c.chained_2)}, "
            f"3+ {_percent(c.chained_3)}, 4+ {_percent(c.chained_4_plus)} of {c.vehicles} "
            "vehicles"
        )


def _print_sessions(report: LinkReport) -> None:
    if report.position is not None:
        p = report.position
        typer.echo(
            f"block position: consecutive public sessions made by one vehicle "
            f"{_percent(p.same_vehicle)} of {p.pairs} pairs (chance {_percent(p.chance)})"
        )
    if report.habits is not None:
        h = report.habits
        typer.echo(
            f"habit linker top-1 {_percent(h.habit.top1)} (95% CI {_percent(h.habit.ci_low)}"
            f"-{_percent(h.habit.ci_high)}), top-5 {_percent(h.habit.top5)}, chance "
            f"{_percent(h.habit.chance_top1)}; nearest-neighbour floor "
            f"{_percent(h.floor.top1)}; margin {h.margin_points:.1f} points"
        )
    if report.follow is not None:
        f = report.follow
        typer.echo(
            f"followed >= 3 sessions {_percent(f.followed_3)}, >= 7 {_percent(f.followed_7)} "
            f"of {f.users} users"
        )
    for match in report.trip_match or []:
        typer.echo(
            f"session -> trip end after {match.weeks} week(s): {_percent(match.correct)} of "
            f"{match.sessions} (chance {_percent(match.chance)})"
        )
    if report.uniqueness is not None:
        for unique in report.uniqueness.points:
            typer.echo(
                f"unique within their day at {unique.resolution.label}: "
                f"{_percent(unique.unique_in_day)} of {unique.sessions} sessions"
            )
    if report.ablation is not None:
        for row in report.ablation.rows:
            typer.echo(
                f"ablation without {row.dropped or 'nothing'}: top-1 {_percent(row.top1)} "
                f"(loss {row.loss_points:.1f} points)"
            )
    if report.session_figures_absent:
        typer.echo(f"sessions: {report.session_figures_absent}")
    _print_sweep(report)


def _print_sweep(report: LinkReport) -> None:
    for point in report.sweep:
        typer.echo(
            f"sweep {point.parameter}={point.value}: PK1<->PK2 forced "
            f"{_percent(point.trips_forced_share)}, Trip->arrival key forced "
            f"{_percent(point.arrival_key_forced)}, O-D error {_percent(point.od_error)}"
        )
    for plot in report.plots:
        typer.echo(f"plot: {plot}")


@app.command(help=_LINK_HELP)
def link(  # noqa: PLR0917 - typer maps each option to a parameter
    db: Annotated[
        Path | None, typer.Option(help="A node's ledger.sqlite.", parser=file_path)
    ] = None,
    simulate: Annotated[
        str | None, typer.Option(help="Arguments of a simulated run, in quotes.")
    ] = None,
    sessions: Annotated[
        Path | None, typer.Option(help="Charging sessions CSV.", parser=file_path)
    ] = None,
    trips: Annotated[Path | None, typer.Option(help="Trips CSV.", parser=file_path)] = None,
    stations: Annotated[
        Path | None, typer.Option(help="Stations CSV for --trips.", parser=file_path)
    ] = None,
    coarsen: Annotated[
        int, typer.Option(min=1, max=86_400, help="Published time resolution, s.")
    ] = 1,
    delay: Annotated[
        int, typer.Option(min=0, max=86_400, help="Trip publication delay, up to s.")
    ] = 0,
    k: Annotated[
        int, typer.Option(min=1, max=1000, help="Withhold O-D cells (and Trips) under k.")
    ] = 1,
    sweep: Annotated[bool, typer.Option(help="Sweep each mitigation parameter.")] = False,
    seed: Annotated[int, typer.Option(min=0, max=MAX_SAFE_INT, help="Seed.")] = 0,
    speed: Annotated[
        float,
        typer.Option(min=1.0, max=300.0, help="Great-circle speed for --stations, km/h."),
    ] = 60.0,
    max_dwell: Annotated[
        int,
        typer.Option(min=0, max=30 * 86_400, help="Longest stay at one station assumed, s."),
    ] = 86_400,
    out: Annotated[
        Path | None, typer.Option(help="Folder for link.json and plots.", parser=folder_path)
    ] = None,
) -> None:
    """Run the observer (help: ``_LINK_HELP``)."""
    with exit_on_error():
        from pydantic import ValidationError  # noqa: PLC0415
        from rich.progress import Progress  # noqa: PLC0415

        from iome_ref.analysis.link import run_link  # noqa: PLC0415
        from iome_ref.analysis.linkreport import LinkOptions  # noqa: PLC0415

        try:
            options = LinkOptions(
                db=db,
                simulate=simulate,
                sessions=sessions,
                trips=trips,
                stations=stations,
                coarsen_s=coarsen,
                delay_s=delay,
                k=k,
                sweep=sweep,
                seed=seed,
                speed_kmh=speed,
                max_dwell_s=max_dwell,
                out=out,
            )
        except ValidationError as exc:
            raise UsageError(CLI, str(exc.errors()[0]["msg"])) from None
        with Progress(console=stderr_console(), transient=False) as bar:
            task = bar.add_task("link", total=None)

            def progress(label: str, done: int, total: int) -> None:
                bar.update(task, description=label, completed=done, total=total)

            report = run_link(options, progress)
    _print(report)
