"""The committed sample's index.html in headless chromium: no console or page error, no
request but the page itself, summary and matrix visible with their text; a screenshot."""

from __future__ import annotations

import json
from pathlib import Path

from .browser import chromium, screenshot
from .helpers import SAMPLE


def test_accepts_sample_page_in_a_real_browser(tmp_path: Path) -> None:
    executable = chromium()
    page = SAMPLE / "index.html"
    check = screenshot(page, tmp_path / "screenshot.png", executable)
    assert check.console_errors == []
    assert check.page_errors == []
    assert check.requests == [page.resolve().as_uri()]  # nothing fetched but the page
    assert check.failed == []
    assert check.visible == {"summary": True, "matrix": True, "findings": True, "invariants": True}
    document = json.loads((SAMPLE / "report.json").read_bytes())
    counts = document["counts"]
    summary = check.text["summary"]
    assert "Verdict: PASS" in summary
    assert f"{counts['covered']} / {counts['requirements']}" in summary
    assert f"{counts['checks']}\nchecks run" in summary
    for invariant in document["invariants"]:
        assert invariant["name"] in check.text["invariants"]
    matrix = check.text["matrix"]
    for requirement in document["requirements"]:
        assert requirement["req_id"] in matrix
    assert "No findings" in check.text["findings"]
    assert (tmp_path / "screenshot.png").read_bytes().startswith(b"\x89PNG")
    # The committed screenshot beside the sample exists and is a PNG.
    assert (SAMPLE / "screenshot.png").read_bytes().startswith(b"\x89PNG")
