"""index.html: the report as one self-contained page (inline CSS and SVG, no script, and a
Content-Security-Policy that forbids every fetch).

Rendered with jinja2, autoescaping on and undefined names an error: every string in the
report may come from a hostile implementation (its manifest, its messages), so only the SVG
drawn here is inserted unescaped. The run-time section sits between ``<!-- run-time`` and
``<!-- /run-time -->`` comments: :func:`strip_runtime` removes it to compare two pages.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Final

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from iome_ref.report.model import SecurityReport
from iome_ref.report.plots import svg_of

__all__ = ["VERDICT_COLUMNS", "render_html", "strip_runtime"]

#: The verdict columns of the coverage matrix.
VERDICT_COLUMNS: Final = (
    "pass",
    "fail",
    "leak",
    "xfail",
    "xpass",
    "warn",
    "skip",
    "error",
    "not run",
)
_RUNTIME: Final = re.compile(r"<!-- run-time.*?<!-- /run-time -->", re.DOTALL)


def strip_runtime(text: str) -> str:
    """``text`` without its run-time section (HTML or Markdown comments alike)."""
    return _RUNTIME.sub("", text)


def _css_class(status: str) -> str:
    return status.replace(" ", "-")


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("iome_ref.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.filters["cls"] = _css_class
    return environment


def verdict_word(report: SecurityReport) -> str:
    """PASS, FAIL or ERROR, as the exit code says."""
    return {0: "PASS", 1: "FAIL"}.get(report.exit_code, "ERROR")


def render_html(report: SecurityReport) -> str:
    """The page's text."""
    per_requirement: dict[str, Counter[str]] = {
        req.req_id: Counter() for req in report.requirements
    }
    for check in report.checks:
        for req_id in {*check.requirement_ids, *check.accepting_for}:
            if req_id in per_requirement:
                per_requirement[req_id][check.verdict] += 1
    matrix = [{"req": req, "counts": per_requirement[req.req_id]} for req in report.requirements]
    sections = [
        (
            "conformance",
            report.conformance.status,
            report.conformance.reason or f"suites {', '.join(report.conformance.suites)}",
        ),
        (
            "adversaries",
            report.adversaries.status,
            report.adversaries.reason or f"{len(report.adversaries.adversaries)} adversaries",
        ),
        ("observer", report.observer.status, report.observer.reason or report.observer.population),
    ]
    word = verdict_word(report)
    return (
        _environment()
        .get_template("index.html.j2")
        .render(
            r=report,
            verdict=word,
            verdict_class={"PASS": "pass", "FAIL": "fail"}.get(word, "error"),
            sections=sections,
            matrix=matrix,
            verdict_columns=VERDICT_COLUMNS,
            observer_plots=[svg_of(plot) for plot in report.observer.plots],
            bench_plots=[svg_of(plot) for plot in report.runtime.benchmark.plots],
        )
    )
