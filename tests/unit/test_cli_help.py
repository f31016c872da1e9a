"""Every command's ``--help`` shows all of its own help text: every word of the command's
summary and of each parameter's help, in order. The help is Markdown, so a word the
formatter would swallow (rich markup ate ``[default: all]`` from six options, Markdown eats a
bare ``<impl>``) fails here, not in front of a user."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from iome_ref.cli import app

#: The panels' box drawing, not words.
_BOX = re.compile(r"[│─╭╮╰╯]")


def _words(text: str) -> list[str]:
    """The words of ``text`` as shown: code spans' backquotes are Markdown, not text."""
    return _BOX.sub(" ", text).replace("`", "").split()


def _commands() -> list[tuple[tuple[str, ...], Any]]:
    """(command words, click command) of every leaf command."""
    found: list[tuple[tuple[str, ...], Any]] = []

    def walk(command: Any, words: tuple[str, ...]) -> None:
        if hasattr(command, "commands"):  # typer's own click groups
            for name, sub in sorted(command.commands.items()):
                walk(sub, (*words, name))
            return
        found.append((words, command))

    walk(typer.main.get_command(app), ())
    return found


_COMMANDS = _commands()


@pytest.mark.parametrize(
    ("words", "command"), _COMMANDS, ids=[" ".join(words) for words, _ in _COMMANDS]
)
def test_accepts_help_showing_every_word_of_its_texts(words: tuple[str, ...], command: Any) -> None:
    result = CliRunner().invoke(app, [*words, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    shown = " ".join(_words(result.output))
    summary = (command.help or "").split("\n\n")[0]
    texts = [summary] + [param.help or "" for param in command.params if hasattr(param, "help")]
    for text in texts:
        expected = " ".join(_words(text))
        assert expected in shown, f"{' '.join(words)} --help lost part of: {text!r}"
