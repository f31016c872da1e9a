"""Folder options of ``iome conform`` and ``iome report``: an empty folder is a usage error
(exit 2) that writes nothing, and a report without ``--out`` never lands in the committed
sample ``reports/ref/`` but in the git-ignored ``out/report/<impl>/``."""

from __future__ import annotations

from pathlib import Path

import pytest
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
