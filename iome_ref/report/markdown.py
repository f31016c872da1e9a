"""report.md: the report for a terminal or a pull request.

The same content as index.html in Markdown tables, the coverage matrix limited to the ids
that are not plainly passing and covered (the page has all of them). Text from the
implementation is kept on one line and its table separators escaped. The run-time section
sits between ``<!-- run-time`` and ``<!-- /run-time -->`` comments, as in the page.
"""

from __future__ import annotations

from iome_ref.report.html import verdict_word
from iome_ref.report.model import SecurityReport

__all__ = ["render_markdown"]


def _cell(text: object) -> str:
    flat = " ".join(str(text).split())
    return flat.replace("|", "\\|").replace("`", "'")


def _summary(report: SecurityReport) -> list[str]:
    counts = report.counts
    verdicts = ", ".join(f"{n} {name}" for name, n in counts.by_verdict.items()) or "none"
    lines = [
        f"# IoME security report: `{_cell(report.impl)}`",
        "",
        f"seed {report.seed} · profile {report.profile} · spec {report.spec_version} "
        f"(`{report.spec_hash[:12]}`) · {report.generator}",
        "",
        f"**Verdict: {verdict_word(report)}** (exit {report.exit_code}) · {counts.checks} checks "
        f"({verdicts}) · {counts.covered}/{counts.requirements} requirements covered · "
        f"{counts.findings} findings",
        "",
        "| invariant | verdict | evidence |",
        "|---|---|---|",
    ]
    for inv in report.invariants:
        evidence = ", ".join(inv.evidence) or "no check of this invariant ran"
        lines.append(f"| {inv.name} | {inv.status} | {_cell(evidence)} |")
    lines += ["", "| section | status | note |", "|---|---|---|"]
    sections = (
        ("conformance", report.conformance.status, report.conformance.reason),
        ("adversaries", report.adversaries.status, report.adversaries.reason),
        ("observer", report.observer.status, report.observer.reason),
    )
    lines += [f"| {name} | {status} | {_cell(note)} |" for name, status, note in sections]
    if counts.uncovered:
        lines += ["", "Uncovered requirements: " + ", ".join(f"`{i}`" for i in counts.uncovered)]
    return lines


def render_markdown(report: SecurityReport) -> str:
    """The file's text."""
    lines = _summary(report)
    lines += ["", "## Findings", ""]
    if report.findings:
        lines += ["| requirement | source | what happened | replay |", "|---|---|---|---|"]
        for f in report.findings:
            replay = f"`{_cell(f.command)}`" if f.command else "no scenario written"
            lines.append(
                f"| `{f.requirement_id}` {_cell(f.title)} | {_cell(f.source)} (seed {f.seed}) "
                f"| {_cell(f.detail)} | {replay} |"
            )
    else:
        lines.append("No findings: every check behaved as the specification requires.")
    lines += ["", "## Requirement coverage", ""]
    notable = [r for r in report.requirements if r.status != "pass" or not r.covered]
    lines.append(
        f"{len(report.requirements) - len(notable)} of {len(report.requirements)} ids pass with "
        "an accepting and a rejecting check; the others:"
    )
    lines += [
        "",
        "| requirement | status | accepting | rejecting | covered |",
        "|---|---|---|---|---|",
    ]
    for r in notable:
        covered = (
            f"untestable: {r.untestable}" if r.untestable else ("yes" if r.covered else "**no**")
        )
        lines.append(
            f"| `{r.req_id}` {_cell(r.title)} | {r.status} | {len(r.accepting)} | "
            f"{len(r.rejecting)} | {_cell(covered)} |"
        )
    lines += ["", "## Adversaries", ""]
    if report.adversaries.status == "run":
        lines += [
            "| adversary | invariant | expected | outcome | figure |",
            "|---|---|---|---|---|",
        ]
        for a in report.adversaries.adversaries:
            lines.append(
                f"| {_cell(a.name)} | {a.invariant} | {a.expected} | {a.outcome} | "
                f"{_cell(a.figure_text or '')} |"
            )
    else:
        lines.append(f"_{report.adversaries.status}: {_cell(report.adversaries.reason)}_")
    lines += ["", "## Privacy", ""]
    if report.observer.status == "run":
        lines.append(f"Population: {_cell(report.observer.population)}")
        lines += ["", "| figure | value |", "|---|---|"]
        lines += [f"| {_cell(k)} | {v:.4g} |" for k, v in report.observer.figures.items()]
        lines += ["", *(f"_not measured: {_cell(note)}_" for note in report.observer.notes)]
    else:
        lines.append(f"_{report.observer.status}: {_cell(report.observer.reason)}_")
    bench = report.runtime.benchmark
    lines += [
        "",
        "<!-- run-time: not deterministic, excluded when two reports are compared -->",
        "## Benchmark and run time",
        "",
        f"Total {report.runtime.total_s:.1f} s: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in report.runtime.sections_s.items()),
        "",
    ]
    if bench.status == "run":
        lines += ["| figure | value | unit |", "|---|---|---|"]
        lines += [f"| {_cell(b.name)} | {b.value:.4g} | {_cell(b.unit)} |" for b in bench.figures]
    else:
        lines.append(f"_{bench.status}: {_cell(bench.reason)}_")
    lines += ["<!-- /run-time -->", ""]
    return "\n".join(lines)
