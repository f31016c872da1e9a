"""The reference as an IUT, in process: the ``ref`` of ``--impl ref``.

Every answer is built from the same JSON values the wire protocol carries, so the stdio server
(``iome serve --stdio``) can wrap this adapter unchanged and the two give identical verdicts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from iome_ref.chain.ledger import Ledger
from iome_ref.chain.store import StoredBlock
from iome_ref.conformance.iut import CORE_OPS, JsonObject, Refused
from iome_ref.constants import CHAIN_CHILD, CHAIN_CONSORTIUM, CHAIN_PUBLIC, SPEC_VERSION
from iome_ref.encoding import decode_json_object
from iome_ref.errors import Rejected, UsageError
from iome_ref.models import Block, decode_message, parse_message
from iome_ref.pki import CertificateDirectory
from iome_ref.vectors.runner import VectorContext, build_ledger, judge, validate_document

__all__ = ["ReferenceIUT"]

IMPLEMENTATION: Final = "iome-ref"


def _message(obj: JsonObject | None, text: str | None) -> Any:
    """The message given as JSON or as wire text: exactly one of them."""
    if (obj is None) == (text is None):
        raise UsageError("iut", "give exactly one of the message as JSON or as text")
    return decode_message(text) if text is not None else parse_message(obj)


class ReferenceIUT:
    """The reference behind the IUT interface; refusals become :class:`Refused`."""

    def __init__(self) -> None:
        self._ledger: Ledger | None = None
        self._genesis: VectorContext | None = None

    # -- the interface ---------------------------------------------------------------------

    def hello(self) -> JsonObject:
        return {
            "spec_version": SPEC_VERSION,
            "implementation": IMPLEMENTATION,
            "roles": [],
            "chain_kinds": [CHAIN_PUBLIC, CHAIN_CHILD, CHAIN_CONSORTIUM],
            "ops": list(CORE_OPS),
        }

    def reset(self, seed: int, genesis: JsonObject, keys: JsonObject) -> JsonObject:
        del seed, keys  # the core operations need neither: judging is deterministic
        context = VectorContext.model_validate(genesis)
        # A genesis PKI the reference refuses to load is a refusal with its CERT id (a vector
        # case's own ``pki``), not a harness error: load it once under _refusing first.
        self._refusing(lambda: CertificateDirectory.from_json(context.pki))
        self._genesis = context
        self._ledger = build_ledger(context)
        return {}

    def submit_block(self, chain: str, block: JsonObject | None, text: str | None) -> JsonObject:
        ledger = self._require()
        parsed = self._refusing(lambda: _message(block, text))
        if not isinstance(parsed, Block):
            raise Refused("IOME-ENC-003", f"submit_block needs a Block, found {parsed.tx_type}")
        self._refusing(lambda: ledger.submit(parsed, chain))
        return self.head(chain)

    def submit_tx(
        self, chain: str, tx: JsonObject | None, text: str | None, block_time: int
    ) -> JsonObject:
        ledger = self._require()
        parsed = self._refusing(lambda: _message(tx, text))
        self._refusing(lambda: judge(ledger, parsed, chain, block_time))
        return {"tx_id": parsed.block_hash if isinstance(parsed, Block) else parsed.tx_id}

    def validate(self, message: JsonObject | None, text: str | None, with_pki: bool) -> JsonObject:
        genesis = self._genesis
        if (message is None) == (text is None):
            raise UsageError("iut", "give exactly one of the message as JSON or as text")
        data = text.encode() if text is not None else _json_bytes(message)
        pki = None
        if with_pki:
            if genesis is None:
                raise UsageError("iut", "validate with_pki needs a reset first")
            pki = _json_bytes(genesis.pki)
        self._refusing(lambda: validate_document(data, pki))
        parsed = self._refusing(lambda: _message(message, text))
        if isinstance(parsed, Block):
            return {"type": "Block", "id": parsed.block_hash}
        return {"type": parsed.tx_type, "id": parsed.tx_id}

    def head(self, chain: str) -> JsonObject:
        state = self._require().chains.get(chain)
        if state is None:
            raise UsageError("iut", f"the genesis declares no chain {chain!r}")
        head = state.head
        return {
            "height": state.height,
            "block_hash": None if head is None else head.block_hash,
        }

    def get_tx(self, chain: str, tx_id: str) -> JsonObject:
        ledger = self._require()
        for tx in ledger.transactions(chain):
            if tx.tx_id == tx_id:
                return {"tx": tx.model_dump(mode="json")}
        return {"tx": None}

    def evidence(self) -> JsonObject:
        rows = []
        for kind, body in self._require().evidence():
            document = decode_json_object(body)
            rows.append({"code": kind, **document})
        return {"evidence": rows}

    def reopen(self, stored: list[JsonObject]) -> JsonObject:
        ledger = self._require()
        store = ledger.store
        for row in stored:
            store.append(
                StoredBlock(
                    str(row["chain"]),
                    int(row["height"]),
                    str(row["block_hash"]),
                    str(row["body_text"]).encode(),
                    (),
                )
            )
        self._ledger = self._refusing(lambda: Ledger(store, ledger.context))
        return {}

    def call(self, op: str, args: JsonObject) -> JsonObject:
        handler: Callable[..., JsonObject] | None = getattr(self, op, None)
        if op not in CORE_OPS or handler is None:
            raise UsageError("iut", f"unknown operation {op!r}")
        return handler(**args)

    def close(self) -> None:
        self._ledger = None

    # -- helpers ---------------------------------------------------------------------------

    def _require(self) -> Ledger:
        if self._ledger is None:
            raise UsageError("iut", "reset the implementation before using it")
        return self._ledger

    @staticmethod
    def _refusing(action: Callable[[], Any]) -> Any:
        """Run ``action``; a protocol refusal becomes :class:`Refused` with the same id."""
        try:
            return action()
        except Refused:
            raise
        except Rejected as exc:
            raise Refused(exc.req_id, exc.message) from None


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
