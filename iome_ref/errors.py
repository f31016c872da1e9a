"""The one error family of IoME: every refusal carries the requirement id that caused it.

Callers branch on the class only where they must act differently (a CLI exit code, a harness
verdict); otherwise the requirement id is the reason. Nothing else may escape the reference
on any input: a bare ``KeyError`` or ``TypeError`` leaking out is a bug for the hostile tests.
"""

from __future__ import annotations

__all__ = ["ImplementationError", "IoMEError", "Malformed", "Rejected", "UsageError"]


class IoMEError(Exception):
    """Base of every error the reference raises on purpose."""

    def __init__(self, req_id: str, message: str) -> None:
        super().__init__(f"{req_id}: {message}")
        self.req_id = req_id
        self.message = message


class Rejected(IoMEError, ValueError):
    """The input is well-formed enough to judge and breaks rule ``req_id``."""


class Malformed(Rejected):
    """The input cannot be decoded into a protocol object at all (bad JSON, types, lengths)."""


class UsageError(IoMEError):
    """The harness or CLI was called wrongly (missing file, bad option); not a protocol verdict."""


class ImplementationError(IoMEError):
    """An implementation under test crashed, hung or answered garbage."""
