"""The ``iome`` command line: arguments, output streams and exit codes, nothing else.

One module per command (or group), each registering on the one typer ``app`` of
:mod:`iome_ref.cli.common`; importing this package registers them all. Protocol logic lives
below; each command imports the module doing its work inside the function, so ``iome --help``
loads no models or crypto.
"""

from __future__ import annotations

import io
import sys

from iome_ref.cli import attack, conform, evidence, ledger, link, simulate, validate, vectors
from iome_ref.cli.common import (
    EXIT_ACCEPTED,
    EXIT_ERROR,
    EXIT_REJECTED,
    app,
    exit_code_for,
)

__all__ = ["EXIT_ACCEPTED", "EXIT_ERROR", "EXIT_REJECTED", "app", "exit_code_for", "main"]

#: The command modules, registered on ``app`` when imported.
COMMANDS = (attack, conform, evidence, ledger, link, simulate, validate, vectors)


def main() -> None:
    """Entry point of the ``iome`` console script and ``python -m iome_ref``."""
    for stream in (sys.stdout, sys.stderr):
        # A terminal that cannot show a character gets an escape, not a UnicodeEncodeError.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    app(prog_name="iome")
