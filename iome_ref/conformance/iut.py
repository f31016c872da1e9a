"""The implementation-under-test (IUT) interface: what a conformance test may ask of a node.

Every operation takes and returns JSON values (the same shapes the wire protocol of
spec/conformance.md carries), so the in-process adapter of the reference, a Python
implementation loaded by ``python:MODULE:FACTORY`` and a subprocess behind ``stdio:COMMAND``
are interchangeable. A refusal is :class:`Refused` with the requirement id the
implementation reports; a crash, hang or garbled answer is ``ImplementationError``.

What must not live here: any knowledge of how the reference judges. The harness compares what
an IUT answers with what the reference answers through this same interface.
"""

from __future__ import annotations

from typing import Any, Final, Protocol, runtime_checkable

from iome_ref.errors import Rejected

__all__ = ["CORE_OPS", "EVIDENCE_OPS", "IUT", "ROLE_OPS", "JsonObject", "Refused"]

JsonObject = dict[str, Any]

#: Operations every IUT implements (spec/conformance.md, "Operations").
CORE_OPS: Final = (
    "hello",
    "reset",
    "submit_block",
    "submit_tx",
    "validate",
    "head",
    "get_tx",
    "evidence",
    "reopen",
)
#: Role operations of the paper's Fig. 4 and 5 with protocol-visible results; an IUT lists in
#: its manifest the ones it implements, and the suite skips (never passes) the others.
ROLE_OPS: Final = (
    "station_attest",
    "verifier_cosign",
    "predictor_od",
    "manager_anchor",
    "backup_handover",
)

#: Evidence bundles of accepted transactions (spec/evidence.md): optional like the role ops,
#: reached through ``call``; an IUT that does not list it is skipped, never passed.
EVIDENCE_OPS: Final = ("evidence_bundle",)


class Refused(Rejected):
    """The IUT refused the request, naming a requirement id (``code``) and a message."""

    @property
    def code(self) -> str:
        return self.req_id


@runtime_checkable
class IUT(Protocol):
    """A node under test. Every method may raise :class:`Refused` or ``ImplementationError``."""

    def hello(self) -> JsonObject:
        """The capability manifest: ``spec_version``, ``implementation``, ``roles``,
        ``chain_kinds`` and ``ops`` (the operation names it implements)."""
        ...

    def reset(self, seed: int, genesis: JsonObject, keys: JsonObject) -> JsonObject:
        """Start over from empty chains: ``genesis`` has the form of a vector file's
        ``context`` (pki, quorum, travel_times, chains); ``keys`` maps actor names to
        ``{"role", "subject", "private_key"}`` for the role operations."""
        ...

    def submit_block(self, chain: str, block: JsonObject | None, text: str | None) -> JsonObject:
        """Apply a block (as JSON, or as wire ``text``) to ``chain``; answer its new head
        ``{"height", "block_hash"}``."""
        ...

    def submit_tx(
        self, chain: str, tx: JsonObject | None, text: str | None, block_time: int
    ) -> JsonObject:
        """Judge a transaction as the only one of ``chain``'s next block, at ``block_time``,
        without changing state; answer ``{"tx_id"}`` when it would be accepted."""
        ...

    def validate(self, message: JsonObject | None, text: str | None, with_pki: bool) -> JsonObject:
        """Judge a message on its own (no chain state); with ``with_pki``, its certificates
        too, under the genesis PKI. Answer ``{"type", "id"}``."""
        ...

    def head(self, chain: str) -> JsonObject:
        """``{"height", "block_hash"}`` of ``chain``'s head (-1 and null when it is empty)."""
        ...

    def get_tx(self, chain: str, tx_id: str) -> JsonObject:
        """``{"tx": <the transaction>}`` if ``chain`` holds ``tx_id``, else ``{"tx": null}``."""
        ...

    def evidence(self) -> JsonObject:
        """``{"evidence": [{"code", "first", "second"}, ...]}`` in the order recorded."""
        ...

    def reopen(self, stored: list[JsonObject]) -> JsonObject:
        """Close the node and reopen it from its store, after appending ``stored`` rows
        (``{"chain", "height", "block_hash", "body_text"}``) unchecked, as a disk edit would."""
        ...

    def call(self, op: str, args: JsonObject) -> JsonObject:
        """Any operation by name, role operations included (``hello()["ops"]`` lists them)."""
        ...

    def close(self) -> None:
        """Release the IUT (stop its process); idempotent."""
        ...


def _present(**members: object) -> JsonObject:
    """The members that are not None: optional args are left out, as the schemas allow."""
    return {name: value for name, value in members.items() if value is not None}


class CallingIUT:
    """The typed operations of :class:`IUT` as requests through one ``call``: an adapter
    implements ``call`` and ``close`` and inherits the rest, so every operation, in process or
    over a wire, takes the same path with the same arguments."""

    def call(self, op: str, args: JsonObject) -> JsonObject:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def hello(self) -> JsonObject:
        return self.call("hello", {})

    def reset(self, seed: int, genesis: JsonObject, keys: JsonObject) -> JsonObject:
        return self.call("reset", {"seed": seed, "genesis": genesis, "keys": keys})

    def submit_block(
        self, chain: str, block: JsonObject | None = None, text: str | None = None
    ) -> JsonObject:
        return self.call("submit_block", _present(chain=chain, block=block, text=text))

    def submit_tx(
        self,
        chain: str,
        tx: JsonObject | None = None,
        text: str | None = None,
        block_time: int = 0,
    ) -> JsonObject:
        args = _present(chain=chain, tx=tx, text=text, block_time=block_time)
        return self.call("submit_tx", args)

    def validate(
        self, message: JsonObject | None = None, text: str | None = None, with_pki: bool = False
    ) -> JsonObject:
        return self.call("validate", _present(message=message, text=text, with_pki=with_pki))

    def head(self, chain: str) -> JsonObject:
        return self.call("head", {"chain": chain})

    def get_tx(self, chain: str, tx_id: str) -> JsonObject:
        return self.call("get_tx", {"chain": chain, "tx_id": tx_id})

    def evidence(self) -> JsonObject:
        return self.call("evidence", {})

    def reopen(self, stored: list[JsonObject]) -> JsonObject:
        return self.call("reopen", {"stored": stored})
