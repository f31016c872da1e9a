"""Shared by the report's tests: the committed sample's configuration, and producing a report.

The sample under reports/ref/ is ``iome report`` with :data:`SAMPLE_ARGS` (the command's
defaults, spelled out). Its test regenerates it into a temporary folder and compares every file
outside the run-time sections; ``python -m tests.report.update_sample`` rewrites it in place
(and the screenshot beside it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Final

import pytest
from typer.testing import CliRunner, Result

from iome_ref.cli import app
from iome_ref.report.html import strip_runtime
from iome_ref.report.model import comparable

ROOT: Final = Path(__file__).resolve().parents[2]
SAMPLE: Final = ROOT / "reports" / "ref"
#: The sample's configuration; --out is added by the caller.
SAMPLE_ARGS: Final = ("report", "--impl", "ref", "--seed", "1", "--profile", "quick")
ZOO: Final = "python:tests.conformance.zoo.members"


def run_report(monkeypatch: pytest.MonkeyPatch | None, *args: str) -> Result:
    """``iome ARGS`` in process, from the repository root (so python:tests.… IUTs import)."""
    if monkeypatch is not None:
        monkeypatch.chdir(ROOT)
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def comparable_files(folder: Path) -> dict[str, Any]:
    """Each report file as compared between two runs: report.json without ``runtime``, the
    page and Markdown without their run-time sections, the rest as written; replay/ by name."""
    files: dict[str, Any] = {
        "report.json": comparable(json.loads((folder / "report.json").read_bytes())),
        "index.html": strip_runtime((folder / "index.html").read_text("utf-8")),
        "report.md": strip_runtime((folder / "report.md").read_text("utf-8")),
        "junit.xml": re.sub(r' timestamp="[^"]*"', "", (folder / "junit.xml").read_text()),
        "findings.sarif": json.loads((folder / "findings.sarif").read_bytes()),
    }
    replay = folder / "replay"
    files["replay"] = sorted(p.name for p in replay.iterdir()) if replay.is_dir() else []
    return files
