"""Registry binding each requirement id to the single function that enforces it.

The spec Markdown defines the ids; this registry records where the code enforces them, so a
test can prove every id is enforced exactly once and that no code cites an undefined id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

__all__ = ["ENFORCERS", "enforces"]

P = ParamSpec("P")
R = TypeVar("R")

#: requirement id -> dotted name of the function that enforces it.
ENFORCERS: dict[str, str] = {}


def enforces(*req_ids: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Register the decorated function as the one place enforcing ``req_ids``.

    Registering an id twice is a programming error caught at import time, because two
    enforcers of one rule can drift apart and disagree on the same input.
    """

    def register(func: Callable[P, R]) -> Callable[P, R]:
        name = f"{func.__module__}.{func.__qualname__}"
        for req_id in req_ids:
            previous = ENFORCERS.get(req_id)
            if previous is not None and previous != name:
                msg = f"{req_id} is enforced by both {previous} and {name}"
                raise RuntimeError(msg)
            ENFORCERS[req_id] = name
        return func

    return register
