"""A python zoo member served over stdio with its bug intact: ``iome serve --stdio --impl
python:tests.attack.typed:MEMBER``.

The wire server hands every request to ``call``, while the zoo members override the typed
methods (``submit_tx``, ``reopen``, ...), which ``call`` never reaches. This wrapper routes each
core op of a request to the member's typed method, so the member misbehaves over stdio exactly
as it does in process.
"""

from __future__ import annotations

from typing import Any

from iome_ref.conformance.iut import IUT, CallingIUT, JsonObject
from tests.conformance.zoo import members, role_members


class TypedCalls(CallingIUT):
    """``call`` dispatched to the typed methods of ``inner``."""

    def __init__(self, inner: IUT) -> None:
        self.inner = inner

    def call(self, op: str, args: JsonObject) -> JsonObject:
        a = args
        if op == "submit_tx":
            return self.inner.submit_tx(a["chain"], a.get("tx"), a.get("text"), a["block_time"])
        if op == "submit_block":
            return self.inner.submit_block(a["chain"], a.get("block"), a.get("text"))
        if op == "reopen":
            return self.inner.reopen(a["stored"])
        if op == "evidence":
            return self.inner.evidence()
        if op == "head":
            return self.inner.head(a["chain"])
        return self.inner.call(op, args)

    def close(self) -> None:
        self.inner.close()


def __getattr__(name: str) -> Any:
    """``MEMBER`` is a factory of the zoo member of that name, wrapped."""
    member = getattr(members, name, None) or getattr(role_members, name, None)
    if member is None:
        raise AttributeError(name)
    return lambda: TypedCalls(member())
