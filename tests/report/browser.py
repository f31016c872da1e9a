"""index.html in a real headless browser: Debian's chromium driven by Playwright.

Never ``playwright install``: the system's chromium is launched by path. Without it the
browser tests skip, naming what is missing, unless ``IOME_REQUIRE_BROWSER=1`` (set by .ci/run,
which installs chromium) turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pytest

FLAGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)


def chromium() -> str:
    """The system chromium's path; skips (or fails under IOME_REQUIRE_BROWSER=1) without it."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    reason = ""
    if path is None:
        reason = "no chromium on PATH (apt-get install chromium; .ci/run does)"
    else:
        try:
            import playwright  # noqa: F401, PLC0415
        except ImportError:
            reason = "the playwright package is missing (uv sync installs the dev group)"
    if not reason:
        assert path is not None
        return path
    if os.environ.get("IOME_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}; IOME_REQUIRE_BROWSER=1 requires it", pytrace=False)
    pytest.skip(reason)


@dataclass
class PageCheck:
    """What the browser saw loading the page."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    visible: dict[str, bool] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)


def screenshot(page_path: Path, png: Path, executable: str | None = None) -> PageCheck:
    """Load ``page_path``, record console errors, page errors and every request, read the
    summary and matrix, and write a full-page screenshot to ``png``."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    check = PageCheck()
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=executable or shutil.which("chromium"), args=list(FLAGS)
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on(
                "console",
                lambda m: check.console_errors.append(m.text) if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: check.page_errors.append(str(e)))
            page.on("request", lambda r: check.requests.append(r.url))
            page.on("requestfailed", lambda r: check.failed.append(r.url))
            page.goto(page_path.resolve().as_uri(), wait_until="load")
            for section in ("summary", "matrix", "findings", "invariants"):
                locator = page.locator(f"#{section}")
                check.visible[section] = locator.is_visible()
                check.text[section] = locator.inner_text() if check.visible[section] else ""
            png.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(png), full_page=False)
        finally:
            browser.close()
    return check
