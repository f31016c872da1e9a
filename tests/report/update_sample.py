"""Rewrite the committed sample report (reports/ref/) and its screenshot.

    uv run python -m tests.report.update_sample

Run it after a change that moves the report (the sample's test names the files that differ).
"""

from __future__ import annotations

import sys

from tests.report.browser import screenshot
from tests.report.helpers import SAMPLE, SAMPLE_ARGS, run_report


def main() -> int:
    result = run_report(None, *SAMPLE_ARGS, "--out", str(SAMPLE.relative_to(SAMPLE.parents[1])))
    sys.stdout.write(result.output)
    if result.exit_code != 0:
        return int(result.exit_code)
    check = screenshot(SAMPLE / "index.html", SAMPLE / "screenshot.png")
    sys.stdout.write(
        f"screenshot {SAMPLE / 'screenshot.png'}: {len(check.requests)} request(s), "
        f"{len(check.console_errors)} console error(s)\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
