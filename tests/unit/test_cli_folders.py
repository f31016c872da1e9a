"""Folder and file options of every command: an empty or blank path is a usage error (exit 2)
naming the option, that writes nothing; and a report without ``--out`` never lands in the
committed sample ``reports/ref/`` but in the git-ignored ``out/report/<impl>/``."""

from __future__ import annotations

import inspect
import typing
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from iome_ref.cli import app

_SKIP_ALL = ("--skip", "conformance", "--skip", "adversaries", "--skip", "observer")


def _run(monkeypatch: pytest.MonkeyPatch, where: Path, *args: str) -> tuple[int, str]:
    monkeypatch.chdir(where)
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "args",
    [
        ("conform", "--scenarios", ""),
        ("conform", "--scenarios", "  "),
        ("report", "--out", ""),
    ],
    ids=["conform-empty", "conform-blank", "report-empty"],
)
def test_rejects_an_empty_folder_writing_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: tuple[str, ...]
) -> None:
    code, output = _run(monkeypatch, tmp_path, *args)
    assert code == 2, output
    assert "an empty path" in output
    assert list(tmp_path.iterdir()) == []


def test_accepts_report_without_out_outside_the_committed_sample(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, output = _run(monkeypatch, tmp_path, "report", *_SKIP_ALL, "--skip", "benchmark")
    assert code == 0, output
    assert (tmp_path / "out" / "report" / "ref" / "index.html").is_file()
    assert not (tmp_path / "reports").exists()
    # The README's first command says where the report went.
    assert "open out/report/ref/index.html" in output


def _path_params() -> list[tuple[tuple[str, ...], str, bool]]:
    """(command words, the option's flag or the argument's name, is an option) of every
    parameter of every command typed as a path (Path, Path | None, list[Path])."""
    found: list[tuple[tuple[str, ...], str, bool]] = []

    def walk(command: Any, words: tuple[str, ...]) -> None:
        # Typer's own click (typer._click): its classes are not the click package's.
        if hasattr(command, "commands"):
            for name, sub in sorted(command.commands.items()):
                walk(sub, (*words, name))
            return
        hints = typing.get_type_hints(inspect.unwrap(command.callback), include_extras=True)
        for param in command.params:
            hint = hints.get(param.name or "")
            if hint is not None and "Path" in str(typing.get_args(hint)[:1]):
                is_option = param.param_type_name == "option"
                found.append((words, param.opts[0], is_option))

    walk(typer.main.get_command(app), ())
    return found


_PATH_PARAMS = _path_params()


def test_finds_the_path_options() -> None:
    """The walk below sees the options the issue names, so a new one is covered too."""
    names = {(" ".join(words), flag) for words, flag, _ in _PATH_PARAMS}
    assert {
        ("attack", "--out"),
        ("attack", "--played"),
        ("link", "--out"),
        ("simulate", "--out"),
        ("evidence bundle", "--out"),
        ("evidence verify", "file"),
        ("ledger verify", "file"),
        ("vectors generate", "--spec-dir"),
        ("conform", "--scenarios"),
        ("report", "--out"),
    } <= names


@pytest.mark.parametrize("blank", ["", " "], ids=["empty", "blank"])
@pytest.mark.parametrize(
    ("words", "flag", "is_option"),
    _PATH_PARAMS,
    ids=[" ".join((*words, flag)) for words, flag, _ in _PATH_PARAMS],
)
def test_rejects_an_empty_path_naming_the_option(  # noqa: PLR0917 - fixtures and columns
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    words: tuple[str, ...],
    flag: str,
    is_option: bool,
    blank: str,
) -> None:
    args = [*words, flag, blank] if is_option else [*words, blank]
    code, output = _run(monkeypatch, tmp_path, *args)
    assert code == 2, output
    plain = " ".join(output.replace("│", " ").split())
    assert "an empty path" in plain, output
    assert f"Invalid value for '{flag}'" in plain, output
    assert list(tmp_path.iterdir()) == []


def _commands_with_path_defaults() -> list[tuple[str, Any, str, Path]]:
    """(command words, the command, parameter name, default) of every path option with a
    default path."""
    found = []

    def walk(command: Any, words: tuple[str, ...]) -> None:
        if hasattr(command, "commands"):
            for name, sub in sorted(command.commands.items()):
                walk(sub, (*words, name))
            return
        for param in command.params:
            if isinstance(param.default, Path):
                found.append((" ".join(words), command, param.name, param.default))

    walk(typer.main.get_command(app), ())
    return found


_DEFAULTS = _commands_with_path_defaults()


@pytest.mark.parametrize(
    ("words", "command", "name", "default"), _DEFAULTS, ids=[row[0] for row in _DEFAULTS]
)
def test_accepts_an_omitted_path_option_as_its_default(
    words: str, command: Any, name: str, default: Path
) -> None:
    """Click runs a parser on an option's default too: a default Path passes unchanged."""
    with command.make_context(f"iome {words}", []) as ctx:
        assert ctx.params[name] == default


def test_finds_path_defaults() -> None:
    assert {row[0] for row in _DEFAULTS} >= {"attack", "bench", "simulate"}
