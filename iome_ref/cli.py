"""The ``iome`` command line: arguments, output streams and exit codes, nothing else.

What lives here: the typer app, the mapping from the error family to exit codes (STYLE §4),
and reading the files a user names. What must not: protocol logic. Each command imports the
module doing its work inside the function (hence the ``noqa: PLC0415``), so ``iome --help``
loads no models or crypto.

Results go to stdout, errors and progress to stderr. Every line printed from input is made
printable first, because a hostile file's bytes may otherwise reach the user's terminal.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Final, NoReturn

import typer

from iome_ref.constants import MAX_MESSAGE_BYTES, MAX_SAFE_INT
from iome_ref.errors import ImplementationError, IoMEError, Malformed, Rejected, UsageError

__all__ = ["EXIT_ACCEPTED", "EXIT_ERROR", "EXIT_REJECTED", "app", "exit_code_for", "main"]

#: The input is accepted, or the command did what it was asked.
EXIT_ACCEPTED: Final = 0
#: The input breaks a rule (``Rejected``), or ``vectors check`` found a problem.
EXIT_REJECTED: Final = 1
#: No verdict: undecodable input (``Malformed``), a usage problem, bad arguments (click's own 2).
EXIT_ERROR: Final = 2

#: The component named by the errors the CLI raises itself: the fault is in how it was called.
_CLI: Final = "cli"
#: Mirrors ``iome_ref.simulation.routing.MAX_STATIONS`` for the help text, without importing
#: the simulation (and numpy) for every command; a test keeps the two equal.
_MAX_STATIONS: Final = 5_000
#: ``validate`` reads one byte past the message limit: enough for IOME-ENC-002 to refuse a
#: larger file without reading gigabytes (or an endless device) into memory.
_READ_LIMIT: Final = MAX_MESSAGE_BYTES + 1

app = typer.Typer(
    name="iome",
    help="Internet of Mobile Energy: reference implementation, vectors and validator.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
vectors_app = typer.Typer(
    help="Generate and check the conformance vectors under spec/.", no_args_is_help=True
)
spec_app = typer.Typer(help="Read the normative specification.", no_args_is_help=True)
ledger_app = typer.Typer(help="Check a node's stored ledger.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
app.add_typer(vectors_app, name="vectors")
app.add_typer(spec_app, name="spec")


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

        try:
            installed = version("iome")
        except PackageNotFoundError:  # run from a source tree that was never installed
            installed = "unknown"
        typer.echo(f"iome {installed}")
        raise typer.Exit(EXIT_ACCEPTED)


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Internet of Mobile Energy: reference implementation, vectors and validator."""


SpecDirOption = Annotated[
    Path | None,
    typer.Option(
        "--spec-dir",
        help="The spec/ folder to use [default: the repository's spec/].",
        show_default=False,
    ),
]


def exit_code_for(error: IoMEError) -> int:
    """The exit code of an error: 1 for a broken rule, 2 when no verdict could be reached.

    ``Malformed`` input breaks a rule too (an ENC id): it exits 1 like any refusal, so a
    document gets the same verdict bare and inside a vector case (issue 12 §3).
    """
    if isinstance(error, Rejected):
        return EXIT_REJECTED
    return EXIT_ERROR


def _printable(text: str) -> str:
    """``text`` on one line, with control and other unprintable characters escaped."""
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


def _fail(error: IoMEError) -> NoReturn:
    """Print ``reject <id>: <message>`` (stdout) or ``error <label>: <message>`` (stderr), exit.

    ``label`` is the requirement id of a ``Malformed`` input, or the component ("cli", "store",
    "simulate", ...) of a usage or internal error.
    """
    code = exit_code_for(error)
    word = "reject" if code == EXIT_REJECTED else "error"
    typer.echo(_printable(f"{word} {error.label}: {error.message}"), err=code == EXIT_ERROR)
    raise typer.Exit(code)


@contextmanager
def _exit_on_error(*, catch_all: bool = False) -> Iterator[None]:
    """Turn the error family, and I/O errors, into one printed line and an exit code.

    With ``catch_all``, any other exception is reported as an internal error (exit 2) rather
    than a traceback: ``validate`` faces hostile files, and its output is read by scripts.
    """
    try:
        yield
    except typer.Exit:
        raise
    except IoMEError as error:
        _fail(error)
    except (OSError, UnicodeError) as error:
        _fail(UsageError(_CLI, str(error)))
    except Exception as error:
        if not catch_all:
            raise
        _fail(
            ImplementationError(
                "internal",
                f"unexpected {type(error).__name__}: {error} (a bug in iome_ref; please report it)",
            )
        )


def _read_input(path: Path, what: str) -> bytes:
    """At most ``_READ_LIMIT`` bytes of ``path`` (``-`` is stdin).

    Raises:
        UsageError: the file is missing, a directory, or unreadable.
    """
    try:
        if str(path) == "-":
            return sys.stdin.buffer.read(_READ_LIMIT)
        with path.open("rb") as stream:
            return stream.read(_READ_LIMIT)
    except FileNotFoundError:
        raise UsageError(_CLI, f"{what} {path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(_CLI, f"{what} {path}: is a directory, expected a JSON file") from None
    except PermissionError:
        raise UsageError(_CLI, f"{what} {path}: permission denied") from None
    except OSError as error:
        raise UsageError(_CLI, f"{what} {path}: cannot read: {error.strerror or error}") from None


def _spec_dir(spec_dir: Path | None) -> Path:
    from iome_ref.vectors.spec_index import default_spec_dir  # noqa: PLC0415

    return spec_dir if spec_dir is not None else default_spec_dir()


@app.command()
def validate(
    file: Annotated[
        Path,
        typer.Argument(
            help="A JSON transaction, block, or vector case ({context, input, ...}); - is stdin.",
            show_default=False,
        ),
    ],
    pki: Annotated[
        Path | None,
        typer.Option(
            "--pki",
            help='Certificates as in a vector context ({"root", "certificates", "crls"}): '
            "checks a transaction's certificates at its claimed time.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Judge one document: exit 0 accept, 1 reject (a rule's id), 2 bad usage.

    A vector case (a case with its file's ``context`` added) is judged and compared with its
    ``expected``, ``req_id`` and ``evidence``: exit 0 when they match, 1 on a mismatch.
    """
    with _exit_on_error(catch_all=True):
        data = _read_input(file, "FILE")
        pki_data = None if pki is None else _read_input(pki, "--pki")
        from iome_ref.vectors.runner import validate_document  # noqa: PLC0415

        try:
            matches, verdict = validate_document(data, pki_data)
        except Malformed as error:
            if len(data) >= _READ_LIMIT:
                # The size rule saw only the bytes read; say so rather than misstate the size.
                error = Malformed(
                    error.req_id, f"{error.message} (reading stopped after {_READ_LIMIT} bytes)"
                )
            raise error from None
    typer.echo(_printable(verdict))
    if not matches:
        raise typer.Exit(EXIT_REJECTED)


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
    """Write spec/vectors/*.json, spec/schemas/*.json, spec/schemas/iut/*.json, spec/index.json."""
    with _exit_on_error():
        from iome_ref.conformance.wire import write_wire_schemas  # noqa: PLC0415
        from iome_ref.vectors.check import recorded_seed  # noqa: PLC0415
        from iome_ref.vectors.generate import write_vectors  # noqa: PLC0415

        directory = _spec_dir(spec_dir)
        chosen = recorded_seed(directory) if seed is None else seed
        from iome_ref.conformance.schemas import write_schema_files  # noqa: PLC0415

        with _status("generating vectors"):
            written = (
                write_vectors(directory, chosen)
                + write_wire_schemas(directory)
                + write_schema_files(directory)
            )
    typer.echo(f"wrote {len(written)} files under {directory} (seed {chosen})")


@vectors_app.command("check")
def vectors_check(spec_dir: SpecDirOption = None) -> None:
    """Regenerate in memory and compare: exit 1 listing every stale, missing or extra file."""
    with _exit_on_error():
        from iome_ref.conformance.wire import build_wire_schemas, check_wire_schemas  # noqa: PLC0415
        from iome_ref.vectors.check import check_vectors  # noqa: PLC0415
        from iome_ref.vectors.generate import list_derived_files  # noqa: PLC0415

        directory = _spec_dir(spec_dir)
        from iome_ref.conformance.schemas import build_schema_files, check_schema_files  # noqa: PLC0415

        with _status("checking vectors"):
            problems = (
                check_vectors(directory)
                + check_wire_schemas(directory)
                + check_schema_files(directory)
            )
        count = (
            len(list_derived_files(directory))
            + len(build_wire_schemas())
            + len(build_schema_files())
        )
    for problem in problems:
        typer.echo(_printable(problem))
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
    with _exit_on_error():
        from iome_ref.vectors.spec_index import load_requirements, to_index_json  # noqa: PLC0415

        requirements = load_requirements(_spec_dir(spec_dir))
    if as_json:
        typer.echo(json.dumps(to_index_json(requirements), indent=1, ensure_ascii=False))
        return
    width = max((len(req_id) for req_id in requirements), default=0)
    for requirement in requirements.values():
        typer.echo(_printable(f"{requirement.req_id:<{width}}  {requirement.title}"))


def _parse_failure(text: str | None) -> tuple[str, int] | None:
    """``CHAIN@ROUND`` as a pair; whether the chain and round exist is the config's check."""
    if text is None:
        return None
    chain, _, round_text = text.partition("@")
    if not chain or not round_text.isascii() or not round_text.isdigit():
        raise UsageError(_CLI, f"--fail-manager expects CHAIN@ROUND, e.g. fleet@2, found {text!r}")
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
        int, typer.Option(min=2, help=f"Charging stations (at most {_MAX_STATIONS}).")
    ] = 20,
    homes: Annotated[int, typer.Option(min=1, help="Homes with a building energy manager.")] = 100,
    rounds: Annotated[int, typer.Option(min=1, help="Rounds of the loop.")] = 4,
    regions: Annotated[int, typer.Option(min=1, help="Regions (suburbs) of the city.")] = 5,
    round_hours: Annotated[int, typer.Option(min=1, max=24, help="Length of a round.")] = 6,
    participation: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of private EV owners who act on prices."),
    ] = 0.25,
    db: Annotated[Path | None, typer.Option(help="SQLite file for the ledgers.")] = None,
    out: Annotated[
        Path,
        typer.Option(
            help="Folder receiving ledger.sqlite (unless --db), summary.json and imbalance.svg."
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
        Path | None, typer.Option(help="A GraphML road graph instead of a generated city.")
    ] = None,
) -> None:
    """Run the closed energy-mobility loop and its baseline (help: ``_SIMULATE_HELP``)."""
    with _exit_on_error():
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
        with Progress(console=_stderr_console(), transient=False) as bar:
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


@ledger_app.command("verify")
def ledger_verify(
    file: Annotated[
        Path, typer.Argument(help="A node's SQLite store (e.g. out/simulate/ledger.sqlite).")
    ],
    genesis_hash: Annotated[
        str | None,
        typer.Option(
            "--genesis-hash",
            help="The genesis hash the network agreed on: refuse (exit 1) a store whose "
            "recorded configuration (PKI, quorum, travel times) hashes otherwise.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Re-verify a stored ledger from genesis, as a node syncing it would; print per chain its
    head, block count and the evidence found. Exit 0 verified with no evidence, 1 a block no
    longer verifies or evidence was found, 2 bad usage. The file is never written: a copy is
    verified."""
    import shutil  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    from iome_ref.chain.ledger import Ledger  # noqa: PLC0415
    from iome_ref.chain.store import SqliteStore  # noqa: PLC0415

    with _exit_on_error():
        if not file.is_file():
            raise UsageError(_CLI, f"FILE {file}: no such file")
        with tempfile.TemporaryDirectory(prefix="iome-verify-") as scratch:
            copy = Path(scratch) / "ledger.sqlite"
            for suffix in ("", "-wal", "-shm"):  # a store in WAL mode may hold commits there
                source = Path(f"{file}{suffix}")
                if source.is_file():
                    shutil.copyfile(source, f"{copy}{suffix}")
            with _status(f"verifying {file}"), SqliteStore(copy) as store:
                ledger = Ledger.replay(store)
        typer.echo(f"genesis {ledger.genesis_hash}")
        if genesis_hash is not None and genesis_hash != ledger.genesis_hash:
            typer.echo(f"genesis mismatch: expected {_printable(genesis_hash)}")
            raise typer.Exit(EXIT_REJECTED)
        for chain_id, state in sorted(ledger.chains.items()):
            head = state.head
            where = f"height {head.height}, head {head.block_hash}" if head else "empty"
            typer.echo(f"chain {chain_id} ({state.kind}): {len(state.blocks)} blocks, {where}")
        evidence = ledger.evidence()
        for kind, body in evidence:
            typer.echo(_printable(f"evidence {kind}: {body.decode('utf-8', 'replace')[:200]}"))
        typer.echo(f"verified: {len(ledger.chains)} chains, {len(evidence)} evidence")
    if evidence:
        raise typer.Exit(EXIT_REJECTED)


ImplOption = Annotated[
    str,
    typer.Option(
        "--impl",
        help="The implementation: ref (the reference, in process), python:MODULE:FACTORY.",
    ),
]


@app.command()
def conform(  # noqa: PLR0917 - typer maps each option to a parameter
    impl: ImplOption = "ref",
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SAFE_INT, help="Seed of the run (reset, scenarios).")
    ] = 1,
    profile: Annotated[
        str, typer.Option(help="quick: the vectors; thorough: also as wire text and rerun.")
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
        ),
    ] = None,
    relax: Annotated[
        Path | None,
        typer.Option(
            help="Id mismatches reported as warnings, {entries: [{expected, found, reason}]}.",
            show_default=False,
        ),
    ] = None,
    json_file: Annotated[
        Path | None,
        typer.Option("--json", help="Write the report as JSON (timing last).", show_default=False),
    ] = None,
    junit: Annotated[
        Path | None, typer.Option(help="Write a JUnit XML report.", show_default=False)
    ] = None,
    scenarios: Annotated[
        Path, typer.Option(help="Folder for the scenario of every failing case.")
    ] = Path("out/conform/scenarios"),
) -> None:
    """Run the conformance suite against an implementation: a verdict per case and per
    requirement id. Exit 0 all pass, 1 a fail or xpass, 2 an error or bad usage."""
    with _exit_on_error():
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
        iut = open_iut(impl)
        try:
            with Progress(console=_stderr_console(), transient=False) as bar:
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
        typer.echo(_printable(line))
    raise typer.Exit(report.exit_code)


@app.command()
def replay(
    files: Annotated[list[Path], typer.Argument(help="Scenario files (iome-scenario/1).")],
    impl: ImplOption = "ref",
    trace: Annotated[
        bool, typer.Option("--trace", help="Also print each request and reply as JSON.")
    ] = False,
) -> None:
    """Replay scenarios step by step, stopping at the first divergence. Exit 0 every scenario
    behaves as it expects, 1 a divergence, 2 an invalid scenario or a broken implementation."""
    with _exit_on_error(catch_all=True):
        from iome_ref.conformance.runner import open_iut  # noqa: PLC0415
        from iome_ref.conformance.scenarios import (  # noqa: PLC0415
            execute,
            format_trace,
            load_scenario,
        )

        loaded = [load_scenario(path) for path in files]
        iut = open_iut(impl)
        try:
            manifest = iut.hello()
            results = []
            for scenario in loaded:
                result = execute(scenario, iut, manifest=manifest)
                for line in format_trace(result, verbose=trace):
                    typer.echo(_printable(line))
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


def _stderr_console() -> Any:
    from rich.console import Console  # noqa: PLC0415

    return Console(stderr=True)


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
    with _exit_on_error():
        if not stdio:
            raise UsageError(_CLI, "serve needs --stdio (the only transport)")
        if impl.startswith("stdio:"):
            raise UsageError(_CLI, "--impl: serving a stdio IUT over stdio is pointless")
        from iome_ref.conformance.adapters import open_iut  # noqa: PLC0415
        from iome_ref.conformance.server import serve_stdio  # noqa: PLC0415

        iut = open_iut(impl)
    raise typer.Exit(serve_stdio(iut, sys.stdin.buffer, sys.stdout.buffer, sys.stderr))


@contextmanager
def _status(what: str) -> Iterator[None]:
    """A spinner on stderr while ``what`` runs; rich shows nothing when it is not a terminal."""
    with _stderr_console().status(what):
        yield


def main() -> None:
    """Entry point of the ``iome`` console script and ``python -m iome_ref``."""
    for stream in (sys.stdout, sys.stderr):
        # A terminal that cannot show a character gets an escape, not a UnicodeEncodeError.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    app(prog_name="iome")
