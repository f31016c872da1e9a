"""The one error family of IoME: a protocol refusal carries the requirement id that caused it.

Callers branch on the class only where they must act differently (a CLI exit code, a harness
verdict); otherwise the requirement id is the reason. Nothing else may escape the reference
on any input: a bare ``KeyError`` or ``TypeError`` leaking out is a bug for the hostile tests.

Only :class:`Rejected` and :class:`Malformed` carry a requirement id (``req_id``, always a
``str``). :class:`UsageError` and :class:`ImplementationError` are not verdicts on protocol
input: they name the *component* that was misused or failed ("cli", "store", "vectors",
"crypto", ...), and their ``req_id`` is ``None``. Giving them an ``IOME-`` id is a programming
error their constructor refuses, so a caller cannot mistake a misuse for a rule's verdict
(issue 12 §7, design decision D2).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["ImplementationError", "IoMEError", "Malformed", "Rejected", "UsageError"]

#: What a component name looks like: a short lower-case word ("cli", "store", "simulate").
_COMPONENT: Final = re.compile(r"[a-z][a-z0-9_.-]*")


class IoMEError(Exception):
    """Base of every error the reference raises on purpose.

    ``label`` is what a reader sees before the message (``str(error)`` is ``label: message``,
    the CLI prints ``error label: message``): the requirement id of a refusal, or the component
    of a usage or implementation error. ``req_id`` is the requirement id or ``None``.
    """

    def __init__(self, label: str, message: str) -> None:
        # Both go to Exception.args, so the error pickles (xdist workers, multiprocessing).
        super().__init__(label, message)
        self.label = label
        self.message = message

    def __str__(self) -> str:
        return f"{self.label}: {self.message}"

    @property
    def req_id(self) -> str | None:
        """The requirement id this error reports as broken, or ``None`` if it is no verdict."""
        return None


class Rejected(IoMEError, ValueError):
    """The input is well-formed enough to judge and breaks rule ``req_id``."""

    def __init__(self, req_id: str, message: str) -> None:
        super().__init__(req_id, message)

    @property
    def req_id(self) -> str:
        """The id of the rule broken (``IOME-<AREA>-<NNN>``)."""
        return self.label


class Malformed(Rejected):
    """The input cannot be decoded into a protocol object at all (bad JSON, types, lengths)."""


class _ComponentError(IoMEError):
    """An error that is no protocol verdict: it names the component, never a requirement id."""

    def __init__(self, component: str, message: str) -> None:
        if not isinstance(component, str) or _COMPONENT.fullmatch(component) is None:
            # A requirement id here would pass a misuse off as a rule's verdict (D2).
            raise TypeError(
                f"{type(self).__name__} takes a component name such as 'cli' or 'store', "
                f"not {component!r}; protocol ids belong to Rejected/Malformed"
            )
        super().__init__(component, message)

    @property
    def component(self) -> str:
        """The part of the reference or harness that was misused or failed."""
        return self.label


class UsageError(_ComponentError):
    """The reference, harness or CLI was called wrongly (missing file, bad option, a caller
    bug); not a protocol verdict."""


class ImplementationError(_ComponentError):
    """An implementation under test (or the reference itself) crashed, hung or answered
    garbage; not a protocol verdict."""
