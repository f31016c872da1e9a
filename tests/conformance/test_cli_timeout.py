"""``--timeout`` of ``iome conform`` and ``iome replay``: a stdio implementation that stops
answering gets the verdict error (exit 2) naming IOME-IUT-009 after the chosen timeout."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from iome_ref.cli.conform import DEFAULT_TIMEOUT_S
from iome_ref.conformance import wire

from .helpers import invoke

HANGING = f"stdio:{sys.executable} tests/conformance/iuts/hanging.py"


@pytest.mark.req("IOME-IUT-009")
def test_rejects_hanging_implementation_after_the_chosen_timeout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out = str(tmp_path / "s")
    result = invoke(monkeypatch, "conform", "--impl", HANGING, "--timeout", "1", "--scenarios", out)
    assert result.exit_code == 2, result.output
    assert "IOME-IUT-009" in result.output


def test_rejects_timeout_out_of_range(monkeypatch: pytest.MonkeyPatch) -> None:
    result = invoke(monkeypatch, "conform", "--impl", "ref", "--timeout", "0")
    assert result.exit_code == 2


def test_default_timeout_is_the_wire_spec_s() -> None:
    assert DEFAULT_TIMEOUT_S == wire.DEFAULT_TIMEOUT_S
