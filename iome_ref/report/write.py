"""Write a report's files into its folder: report.json, index.html, report.md, junit.xml,
findings.sarif (replay/ is filled while the checks run).

Each file is written under a temporary name and renamed when complete, so an interrupted
run leaves the previous file, never half of one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from iome_ref.report.html import render_html
from iome_ref.report.junit import write_junit
from iome_ref.report.markdown import render_markdown
from iome_ref.report.model import SecurityReport, dump_report
from iome_ref.report.sarif import render_sarif
from iome_ref.vectors.spec_index import default_spec_dir, load_requirements

__all__ = ["REPORT_FILES", "write_report"]

REPORT_FILES: Final = ("report.json", "index.html", "report.md", "junit.xml", "findings.sarif")


def _atomic(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def write_report(report: SecurityReport, out: Path, spec_dir: Path | None = None) -> list[Path]:
    """Write the files; answer their paths."""
    out.mkdir(parents=True, exist_ok=True)
    requirements = load_requirements(spec_dir or default_spec_dir())
    _atomic(out / "report.json", dump_report(report))
    _atomic(out / "index.html", render_html(report).encode("utf-8"))
    _atomic(out / "report.md", render_markdown(report).encode("utf-8"))
    partial = out / "junit.xml.partial"
    write_junit(report, partial)
    os.replace(partial, out / "junit.xml")
    _atomic(out / "findings.sarif", render_sarif(report, requirements).encode("utf-8"))
    return [out / name for name in REPORT_FILES]
