"""Test-wide settings: Hypothesis profiles and the shared data read in place.

Hypothesis runs the ``ci`` profile unless ``HYPOTHESIS_PROFILE`` names another: ``ci`` is
derandomized so two runs of one commit try the same examples, ``thorough`` searches longer.

Shared data (Wycheproof, real charging sessions, report schemas) lies in ``../shared/data``
beside the clone and is never copied in. A test needing it calls :func:`require_shared`, which
skips with the reason when the data is absent, or fails when ``IOME_REQUIRE_SHARED=1`` (CI sets
it, so a missing file cannot pass as a skip there). ``IOME_SHARED_DATA`` names another folder
(the mutation runner sets it: its copy of the tests lies one folder deeper). Markers are
declared in pyproject.toml.

Under mutmut (``MUTANT_UNDER_TEST`` set) every ``functools`` cache of ``iome_ref`` is cleared
when a session starts: each mutant's worker is forked from a process whose caches are warm
with the original code's answers, which would hide mutants of cached checks; and before each
test, so that mutmut's stats run records every test reaching a cached check.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=50, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def shared_data_dir() -> Path:
    """``../shared/data`` beside the repository root (or ``IOME_SHARED_DATA``), existing or not."""
    override = os.environ.get("IOME_SHARED_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def require_shared(relative: str) -> Path:
    """The path of ``relative`` under the shared data, skipping the test when it is absent.

    Under ``IOME_REQUIRE_SHARED=1`` an absent file fails the test instead.
    """
    path = shared_data_dir() / relative
    if path.exists():
        return path
    reason = f"shared data {relative} not found at {path} (read in place from ../shared/data)"
    if os.environ.get("IOME_REQUIRE_SHARED") == "1":
        pytest.fail(f"{reason}; IOME_REQUIRE_SHARED=1 requires it", pytrace=False)
    pytest.skip(reason)


def clear_reference_caches() -> int:
    """Clear every ``functools`` cache held by a function or class of ``iome_ref``."""
    cleared = 0
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "iome_ref" or name.startswith("iome_ref.")):
            continue
        for value in list(vars(module).values()):
            holders = [value, *vars(value).values()] if isinstance(value, type) else [value]
            for holder in holders:
                clear = getattr(holder, "cache_clear", None)
                if callable(clear):
                    clear()
                    cleared += 1
    return cleared


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("MUTANT_UNDER_TEST"):
        clear_reference_caches()


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Under mutmut, every test starts cold too: in its "stats" run a cache hit would hide which
    # tests reach a cached check, so the mutants of that check would never run those tests.
    if os.environ.get("MUTANT_UNDER_TEST"):
        clear_reference_caches()
