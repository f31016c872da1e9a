"""What every ``iome`` command shares: the app, exit codes, error printing, reading inputs.

What lives here: the typer app, the mapping from the error family to exit codes (STYLE §4),
and reading the files a user names. What must not: protocol logic. Each command imports the
module doing its work inside the function (hence the ``noqa: PLC0415``), so ``iome --help``
loads no models or crypto.

Results go to stdout, errors and progress to stderr. Every line printed from input is made
printable first, because a hostile file's bytes may otherwise reach the user's terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, NoReturn

import typer

from iome_ref.constants import MAX_MESSAGE_BYTES
from iome_ref.errors import ImplementationError, IoMEError, Rejected, UsageError

if TYPE_CHECKING:
    from iome_ref.chain.ledger import Ledger

__all__ = [
    "CLI",
    "EXIT_ACCEPTED",
    "EXIT_ERROR",
    "EXIT_REJECTED",
    "MAX_STATIONS",
    "READ_LIMIT",
    "SpecDirOption",
    "app",
    "exit_code_for",
    "exit_on_error",
    "fail",
    "file_path",
    "folder_path",
    "ledger_app",
    "printable",
    "read_input",
    "replayed_store",
    "spec_app",
    "spec_dir_of",
    "status",
    "stderr_console",
    "vectors_app",
]

#: The input is accepted, or the command did what it was asked.
EXIT_ACCEPTED: Final = 0
#: The input breaks a rule (``Rejected``), or ``vectors check`` found a problem.
EXIT_REJECTED: Final = 1
#: No verdict: undecodable input (``Malformed``), a usage problem, bad arguments (click's own 2).
EXIT_ERROR: Final = 2

#: The component named by the errors the CLI raises itself: the fault is in how it was called.
CLI: Final = "cli"
#: Mirrors ``iome_ref.simulation.routing.MAX_STATIONS`` for the help text, without importing
#: the simulation (and numpy) for every command; a test keeps the two equal.
MAX_STATIONS: Final = 5_000
#: ``validate`` reads one byte past the message limit: enough for IOME-ENC-002 to refuse a
#: larger file without reading gigabytes (or an endless device) into memory.
READ_LIMIT: Final = MAX_MESSAGE_BYTES + 1

app = typer.Typer(
    name="iome",
    help="Internet of Mobile Energy: reference implementation, vectors and validator.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="markdown",
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


def exit_code_for(error: IoMEError) -> int:
    """The exit code of an error: 1 for a broken rule, 2 when no verdict could be reached.

    ``Malformed`` input breaks a rule too (an ENC id): it exits 1 like any refusal, so a
    document gets the same verdict bare and inside a vector case (issue 12 §3).
    """
    if isinstance(error, Rejected):
        return EXIT_REJECTED
    return EXIT_ERROR


def printable(text: str) -> str:
    """``text`` on one line, with control and other unprintable characters escaped."""
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


def fail(error: IoMEError) -> NoReturn:
    """Print ``reject <id>: <message>`` (stdout) or ``error <label>: <message>`` (stderr), exit.

    ``label`` is the requirement id of a ``Malformed`` input, or the component ("cli", "store",
    "simulate", ...) of a usage or internal error.
    """
    code = exit_code_for(error)
    word = "reject" if code == EXIT_REJECTED else "error"
    typer.echo(printable(f"{word} {error.label}: {error.message}"), err=code == EXIT_ERROR)
    raise typer.Exit(code)


@contextmanager
def exit_on_error(*, catch_all: bool = False) -> Iterator[None]:
    """Turn the error family, and I/O errors, into one printed line and an exit code.

    With ``catch_all``, any other exception is reported as an internal error (exit 2) rather
    than a traceback: ``validate`` faces hostile files, and its output is read by scripts.
    """
    try:
        yield
    except typer.Exit:
        raise
    except IoMEError as error:
        fail(error)
    except (OSError, UnicodeError) as error:
        fail(UsageError(CLI, str(error)))
    except Exception as error:
        if not catch_all:
            raise
        fail(
            ImplementationError(
                "internal",
                f"unexpected {type(error).__name__}: {error} (a bug in iome_ref; please report it)",
            )
        )


def read_input(path: Path, what: str, limit: int = READ_LIMIT) -> bytes:
    """At most ``limit`` bytes of ``path`` (``-`` is stdin).

    Raises:
        UsageError: the file is missing, a directory, or unreadable.
    """
    try:
        if str(path) == "-":
            return sys.stdin.buffer.read(limit)
        with path.open("rb") as stream:
            return stream.read(limit)
    except FileNotFoundError:
        raise UsageError(CLI, f"{what} {path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(CLI, f"{what} {path}: is a directory, expected a JSON file") from None
    except PermissionError:
        raise UsageError(CLI, f"{what} {path}: permission denied") from None
    except OSError as error:
        raise UsageError(CLI, f"{what} {path}: cannot read: {error.strerror or error}") from None


def _nonblank_path(raw: str | Path, give: str) -> Path:
    if isinstance(raw, Path):  # the option's default, which click passes through the parser
        return raw
    if not raw.strip():
        raise typer.BadParameter(f"an empty path; give {give}")
    return Path(raw)


def folder_path(raw: str | Path) -> Path:
    """Parse a folder option (``parser=folder_path``): an empty value is a usage error (exit
    2), never the current directory. ``Path("")`` is ``.``, so an unset shell variable
    (``--scenarios "$DIR"``) would otherwise spill files where the command was run; ``.``
    still asks for the current directory explicitly.

    Raises:
        typer.BadParameter: the value is empty or blank.
    """
    return _nonblank_path(raw, "a folder (. for the current one)")


def file_path(raw: str | Path) -> Path:
    """Parse a file option or argument (``parser=file_path``): an empty or blank value is a
    usage error (exit 2) naming the option, as :func:`folder_path`. ``Path("")`` is ``.``, so
    an unset shell variable would otherwise surface later as a puzzling "is a directory", or
    as a file named by blanks.

    Raises:
        typer.BadParameter: the value is empty or blank.
    """
    return _nonblank_path(raw, "a file")


SpecDirOption = Annotated[
    Path | None,
    typer.Option(
        "--spec-dir",
        help="The spec/ folder to use [default: the repository's spec/].",
        show_default=False,
        parser=folder_path,
    ),
]


def spec_dir_of(spec_dir: Path | None) -> Path:
    from iome_ref.vectors.spec_index import default_spec_dir  # noqa: PLC0415

    return spec_dir if spec_dir is not None else default_spec_dir()


def stderr_console() -> Any:
    from rich.console import Console  # noqa: PLC0415

    return Console(stderr=True)


@contextmanager
def replayed_store(path: Path, what: str) -> Iterator[Ledger]:
    """The ledger of the node's store at ``path``, replayed from genesis on a scratch copy
    (with its ``-wal`` and ``-shm`` files: a store in WAL mode may hold commits there), so
    the user's file is never written; the copy is open while the caller reads the ledger.

    Raises:
        UsageError: ``path`` is a folder or missing (naming it as ``what``), or no store; a
            message naming the copy names ``path`` instead, the file the user knows.
        Rejected: a stored block no longer verifies.
    """
    import shutil  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    from iome_ref.chain.ledger import Ledger  # noqa: PLC0415
    from iome_ref.chain.store import SqliteStore  # noqa: PLC0415

    if path.is_dir():
        raise UsageError(CLI, f"{what} {path}: is a directory, expected a SQLite store")
    if not path.is_file():
        raise UsageError(CLI, f"{what} {path}: no such file")
    with tempfile.TemporaryDirectory(prefix="iome-store-") as scratch:
        copy = Path(scratch) / "ledger.sqlite"
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{path}{suffix}")
            if source.is_file():
                shutil.copyfile(source, f"{copy}{suffix}")
        try:
            with status(f"verifying {path}"), SqliteStore(copy) as store:
                yield Ledger.replay(store)
        except UsageError as exc:
            raise UsageError(exc.component, exc.message.replace(str(copy), str(path))) from None


@contextmanager
def status(what: str) -> Iterator[None]:
    """A spinner on stderr while ``what`` runs; rich shows nothing when it is not a terminal."""
    with stderr_console().status(what):
        yield
