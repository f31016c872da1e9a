"""junit.xml: one test case per check of the report, for CI dashboards.

One ``<testsuite>`` root (what ../shared/data/schemas/junit-10.xsd accepts): a conformance
case or an adversary per test case, classed by kind; ``fail``/``xpass`` as failures,
``error`` as errors, ``skip``/``xfail`` as skipped. A leak an adversary was expected to find
passes, with its figure as the test's output. No durations: the file is the same for the same
seed, like report.json outside its run-time member.
"""

from __future__ import annotations

from pathlib import Path

from junitparser import Error, Failure, Skipped, TestCase, TestSuite

from iome_ref.report.model import SecurityReport

__all__ = ["write_junit"]


def write_junit(report: SecurityReport, path: Path) -> None:
    """Write the file."""
    suite = TestSuite(f"iome-report {report.impl}")
    for check in report.checks:
        test = TestCase(check.id, classname=f"iome.{check.kind}")
        ids = ", ".join(check.requirement_ids or check.accepting_for)
        message = f"{ids}: {check.detail}" if ids else check.detail
        if check.replay:
            message += f" (replay: {check.replay})"
        if check.verdict in {"fail", "xpass"}:
            test.result = [Failure(message, check.verdict)]
        elif check.verdict == "error":
            test.result = [Error(message, "error")]
        elif check.verdict in {"skip", "xfail", "not run"}:
            test.result = [Skipped(f"{check.verdict}: {check.detail}")]
        elif check.verdict == "leak":
            test.system_out = f"expected leak: {check.detail}"
        suite.add_testcase(test)
    suite.update_statistics()  # type: ignore[no-untyped-call]
    path.parent.mkdir(parents=True, exist_ok=True)
    suite.write(str(path), pretty=True)
