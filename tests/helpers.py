"""Assertions every test shares: a refusal is judged by its id, a misuse by its component.

STYLE §4: tests assert the id, not only the class (pyca/cryptography's
``raises_unsupported_algorithm`` in ``tests/utils.py``). ``tests/test_traceability.py`` counts
an id as exercised on the rejecting side where a test marked with it passes it to
:func:`rejects` (or compares ``.req_id`` with it in an ``assert``).

    with rejects("IOME-EPS-004"):
        check_eps_extends_chain(eps, tip)

    with usage_error("store", match="closed"):
        store.head("public")
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from iome_ref.errors import ImplementationError, IoMEError, Malformed, Rejected, UsageError
from iome_ref.models import Block, SignedModel, parse_message

__all__ = ["implementation_error", "malformed", "rejects", "usage_error", "vector_messages"]


@contextmanager
def rejects(req_id: str, match: str | None = None) -> Iterator[pytest.ExceptionInfo[Rejected]]:
    """The block raises ``Rejected`` (or ``Malformed``) with exactly ``req_id``."""
    with pytest.raises(Rejected, match=match) as info:
        yield info
    assert info.value.req_id == req_id, f"refused with {info.value}, expected {req_id}"


@contextmanager
def malformed(req_id: str, match: str | None = None) -> Iterator[pytest.ExceptionInfo[Malformed]]:
    """The block raises ``Malformed`` (undecodable input) with exactly ``req_id``."""
    with pytest.raises(Malformed, match=match) as info:
        yield info
    assert info.value.req_id == req_id, f"refused with {info.value}, expected {req_id}"


@contextmanager
def usage_error(
    component: str, match: str | None = None
) -> Iterator[pytest.ExceptionInfo[UsageError]]:
    """The block raises ``UsageError`` naming ``component`` (never a requirement id)."""
    with pytest.raises(UsageError, match=match) as info:
        yield info
    assert info.value.component == component, f"raised {info.value}, expected {component}"
    assert info.value.req_id is None


@contextmanager
def implementation_error(
    component: str, match: str | None = None
) -> Iterator[pytest.ExceptionInfo[ImplementationError]]:
    """The block raises ``ImplementationError`` naming ``component``."""
    with pytest.raises(ImplementationError, match=match) as info:
        yield info
    assert info.value.component == component, f"raised {info.value}, expected {component}"


def vector_messages() -> list[tuple[str, SignedModel | Block]]:
    """(case id, model) of every input of the committed vectors that parses as a transaction
    or block, forged and malformed ones included (a signature or hash may be wrong)."""
    found: list[tuple[str, SignedModel | Block]] = []
    for path in sorted((Path(__file__).parents[1] / "spec" / "vectors").glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8"))["cases"]:
            data = case.get("input")
            if not isinstance(data, dict):
                continue
            try:
                found.append((case["id"], parse_message(data)))
            except IoMEError:
                continue
    return found
