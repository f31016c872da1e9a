"""The stdio adapter against broken IUTs: each gives ImplementationError naming the IOME-IUT id
it broke, within its timeout, with its last stderr lines, and leaves no process behind."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from iome_ref.conformance.adapters import StdioIUT, open_iut
from iome_ref.conformance.iut import Refused
from iome_ref.errors import ImplementationError, UsageError

from .helpers import group_members, survivors

IUTS = Path(__file__).parent / "iuts"
IOME = str(Path(sys.executable).parent / "iome")
TIMEOUT_S = 1.0


def _broken(name: str, **options: float) -> StdioIUT:
    iut = StdioIUT([sys.executable, str(IUTS / f"{name}.py")], timeout_s=TIMEOUT_S, **options)
    iut.hello()
    return iut


@pytest.fixture
def leftovers() -> Iterator[list[int]]:
    """Process groups the test started; none may have a live member at the end."""
    groups: list[int] = []
    yield groups
    assert {g: survivors(g) for g in groups if survivors(g)} == {}


def _expect_error(iut: StdioIUT, req_id: str) -> ImplementationError:
    started = time.monotonic()
    with pytest.raises(ImplementationError) as exc:
        iut.head("public")
    assert time.monotonic() - started < TIMEOUT_S + 3.0
    assert exc.value.component == "iut"
    assert exc.value.message.startswith(f"{req_id}:")
    # Once broken, the adapter answers every later call at once, without the process.
    with pytest.raises(ImplementationError, match="stopped earlier"):
        iut.evidence()
    return exc.value


@pytest.mark.req("IOME-IUT-005")
def test_rejects_garbled_reply(leftovers: list[int]) -> None:
    iut = _broken("garbled")
    leftovers.append(iut.pid)
    error = _expect_error(iut, "IOME-IUT-005")
    assert "about to garble" in error.message
    assert survivors(iut.pid) == []


@pytest.mark.req("IOME-IUT-005")
def test_rejects_crash_with_exit_status_and_stderr(leftovers: list[int]) -> None:
    iut = _broken("crashing")
    leftovers.append(iut.pid)
    error = _expect_error(iut, "IOME-IUT-005")
    assert "exited with status 3" in error.message
    assert "fatal: cannot judge anything" in error.message


@pytest.mark.req("IOME-IUT-009")
def test_rejects_hanging_iut_and_kills_its_children(leftovers: list[int]) -> None:
    iut = _broken("hanging")
    leftovers.append(iut.pid)
    assert len(group_members(iut.pid)) == 2  # the IUT and the child it forked
    error = _expect_error(iut, "IOME-IUT-009")
    assert "child" in error.message  # its stderr line
    assert survivors(iut.pid) == []


@pytest.mark.req("IOME-IUT-006")
def test_rejects_reply_to_another_request(leftovers: list[int]) -> None:
    iut = _broken("wrong_id")
    leftovers.append(iut.pid)
    _expect_error(iut, "IOME-IUT-006")


@pytest.mark.req("IOME-IUT-002")
def test_rejects_oversized_reply(leftovers: list[int]) -> None:
    iut = _broken("oversized", limit=1 << 20)
    leftovers.append(iut.pid)
    _expect_error(iut, "IOME-IUT-002")


@pytest.mark.req("IOME-IUT-010")
def test_rejects_internal_failure_as_no_refusal(leftovers: list[int]) -> None:
    iut = _broken("internal")
    leftovers.append(iut.pid)
    error = _expect_error(iut, "IOME-IUT-010")
    assert "out of memory" in error.message


@pytest.mark.req("IOME-IUT-007")
def test_rejects_manifest_without_core_op(leftovers: list[int]) -> None:
    iut = StdioIUT([sys.executable, str(IUTS / "bad_manifest.py")], timeout_s=TIMEOUT_S)
    leftovers.append(iut.pid)
    with pytest.raises(ImplementationError) as exc:
        iut.hello()
    assert exc.value.message.startswith("IOME-IUT-007:")
    assert "reopen" in exc.value.message


def test_close_ends_a_healthy_iut_and_is_idempotent(leftovers: list[int]) -> None:
    iut = open_iut(f"stdio:{IOME} serve --stdio")
    assert isinstance(iut, StdioIUT)
    leftovers.append(iut.pid)
    assert iut.hello()["implementation"] == "iome-ref"
    iut.close()
    iut.close()
    assert survivors(iut.pid) == []
    with pytest.raises(ImplementationError, match="closed"):
        iut.hello()


@pytest.mark.req("IOME-IUT-010")
def test_accepts_refusal_with_a_rule_id_as_refusal(leftovers: list[int]) -> None:
    iut = open_iut(f"stdio:{IOME} serve --stdio")
    assert isinstance(iut, StdioIUT)
    leftovers.append(iut.pid)
    iut.hello()
    with pytest.raises(Refused) as exc:
        iut.head("public")
    assert exc.value.code == "IOME-IUT-008"
    iut.close()


def test_rejects_unusable_impl_specs() -> None:
    for spec in ("", "stdio:", "python:nope", "python:json:nothing", "java:x", "stdio:'open"):
        with pytest.raises(UsageError):
            open_iut(spec)
    with pytest.raises(UsageError, match="cannot start"):
        open_iut("stdio:/nonexistent/iut")
    with pytest.raises(UsageError, match="no IUT"):
        open_iut("python:builtins:dict")


def test_accepts_python_factory() -> None:
    iut = open_iut("python:iome_ref.conformance.adapters.inproc:ReferenceIUT")
    assert iut.hello()["implementation"] == "iome-ref"
