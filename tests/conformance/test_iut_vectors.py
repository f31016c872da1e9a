"""Every vector case through the reference behind the IUT interface, in process and over
stdio (one ``iome serve --stdio`` for all cases), reaches the case's expected verdict."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iome_ref.conformance.adapters import ReferenceIUT, StdioIUT, open_iut
from iome_ref.conformance.iut import IUT
from tests.conformance.iut_cases import expected_verdict, load_cases, run_case_on

CASES = load_cases()
IDS = [case_id for case_id, _, _ in CASES]
IOME = str(Path(sys.executable).parent / "iome")


@pytest.fixture(scope="module")
def ref() -> Iterator[IUT]:
    iut = open_iut("ref")
    assert isinstance(iut, ReferenceIUT)
    iut.hello()
    yield iut
    iut.close()


@pytest.fixture(scope="module")
def stdio() -> Iterator[IUT]:
    iut = open_iut(f"stdio:{IOME} serve --stdio", timeout_s=30)
    assert isinstance(iut, StdioIUT)
    iut.hello()
    yield iut
    iut.close()


@pytest.mark.parametrize(("case_id", "context", "case"), CASES, ids=IDS)
def test_reference_iut_reaches_expected_verdict(
    ref: IUT, case_id: str, context: dict[str, Any], case: dict[str, Any]
) -> None:
    assert run_case_on(ref, context, case) == expected_verdict(context, case), case_id


def test_stdio_reference_reaches_every_expected_verdict(stdio: IUT) -> None:
    # One test for all cases: a stdio IUT is started once per run, not once per case.
    found = {case_id: run_case_on(stdio, context, case) for case_id, context, case in CASES}
    wanted = {case_id: expected_verdict(ctx, case) for case_id, ctx, case in CASES}
    assert {k: v for k, v in found.items() if v != wanted[k]} == {}
    assert len(found) == len(CASES)
