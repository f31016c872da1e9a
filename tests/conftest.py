"""Test-wide settings: Hypothesis profiles and the shared data read in place.

Hypothesis runs the ``ci`` profile unless ``HYPOTHESIS_PROFILE`` names another: ``ci`` is
derandomized so two runs of one commit try the same examples, ``thorough`` searches longer.

Shared data (Wycheproof, real charging sessions, report schemas) lies in ``../shared/data``
beside the clone and is never copied in. A test needing it calls :func:`require_shared`, which
skips with the reason when the data is absent, or fails when ``IOME_REQUIRE_SHARED=1`` (CI sets
it, so a missing file cannot pass as a skip there). Markers are declared in pyproject.toml.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=50, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def shared_data_dir() -> Path:
    """``../shared/data`` beside the repository root, whether or not it exists."""
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
