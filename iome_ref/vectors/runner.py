"""Run a vector case (or any submitted document) through the reference and report the verdict.

This is the reference's side of the vector contract in spec/vectors/README.md: build the
context, apply the setup blocks, judge the input, and name the first rule broken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from iome_ref.chain.context import ChainContext
from iome_ref.chain.ledger import Ledger
from iome_ref.chain.state import Journal
from iome_ref.chain.store import MemoryStore
from iome_ref.chain.transition import apply_tx
from iome_ref.constants import TRIP_QUORUM
from iome_ref.encoding import decode_json_object
from iome_ref.errors import IoMEError, Rejected, UsageError
from iome_ref.models import Block, SignedModel, decode_message, parse_message
from iome_ref.pki import CertificateDirectory
from iome_ref.rules import check_stateless
from iome_ref.rules.certificates import check_tx_certificates
from iome_ref.rules.encoding import check_block_signature
from iome_ref.rules.ledger import (
    check_block_hash,
    check_block_merkle_root,
    check_block_txs_distinct,
)

__all__ = ["Verdict", "build_ledger", "judge", "run_case", "validate_document"]


@dataclass(frozen=True)
class Verdict:
    """valid, or invalid with the id of the first rule broken."""

    valid: bool
    req_id: str | None = None
    message: str = ""

    @property
    def expected(self) -> str:
        return "valid" if self.valid else "invalid"


def _context(context: dict[str, Any]) -> ChainContext:
    try:
        directory = CertificateDirectory.from_json(context["pki"])
        table = {(str(a), str(b)): int(s) for a, b, s in context.get("travel_times", [])}
        quorum = int(context.get("quorum", TRIP_QUORUM))
    except IoMEError as exc:
        raise UsageError("vectors", f"context.pki is unusable: {exc.message}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError("vectors", f"context is not a valid vector context: {exc!r}") from None
    return ChainContext(directory, ChainContext.travel_table(table), quorum)


def build_ledger(context: dict[str, Any]) -> Ledger:
    """A fresh in-memory ledger with the chains and PKI of a vector file's context."""
    ledger = Ledger(MemoryStore(), _context(context))
    chains = context.get("chains", {})
    if not isinstance(chains, dict):
        raise UsageError("vectors", "context.chains must map chain id to kind")
    for chain_id, kind in chains.items():
        ledger.add_chain(str(chain_id), str(kind))
    return ledger


def judge(ledger: Ledger, obj: SignedModel | Block, chain_id: str, block_time: int) -> None:
    """Submit a block, or judge a transaction as the sole content of the chain's next block.

    The transaction's effects are rolled back: judging never changes the ledger.

    Raises:
        Rejected: the first rule broken.
    """
    if isinstance(obj, Block):
        ledger.submit(obj, chain_id)
        return
    state = ledger.chains.get(chain_id)
    if state is None:
        raise UsageError("vectors", f"case names chain {chain_id!r}, which the context lacks")
    journal = Journal()
    try:
        apply_tx(state, obj, ledger.context, block_time, journal)
    finally:
        journal.rollback()


def _case_fields(case: dict[str, Any]) -> tuple[list[Any], str, int]:
    setup, chain, block_time = (
        case.get("setup", []),
        case.get("chain", "public"),
        case.get("block_time", 0),
    )
    if not isinstance(setup, list) or not isinstance(chain, str):
        raise UsageError("vectors", "case.setup must be a list of blocks and case.chain a string")
    if isinstance(block_time, bool) or not isinstance(block_time, int):
        raise UsageError("vectors", f"case.block_time must be an integer, found {block_time!r}")
    return setup, chain, block_time


def run_case(context: dict[str, Any], case: dict[str, Any]) -> Verdict:
    """Run one vector case; a setup block that fails is a broken vector (UsageError)."""
    if not isinstance(context, dict) or not isinstance(case, dict):
        raise UsageError("vectors", "a case and its context must be JSON objects")
    setup, chain, block_time = _case_fields(case)
    if case.get("pki") is not None:
        # A case may bring its own genesis PKI; one the reference refuses to load is the
        # case's verdict (spec/vectors/README.md, "Case"), not a broken vector file.
        try:
            CertificateDirectory.from_json(case["pki"])
        except Rejected as exc:
            return Verdict(False, exc.req_id, exc.message)
        context = {**context, "pki": case["pki"]}
    ledger = build_ledger(context)
    for index, raw in enumerate(setup):
        try:
            ledger.submit(Block.parse(raw))
        except Rejected as exc:
            raise UsageError(
                "vectors", f"case {case.get('id')}: setup block {index} rejected: {exc}"
            ) from exc
    try:
        text = case.get("input_text")
        obj = decode_message(text) if text is not None else parse_message(case.get("input"))
        judge(ledger, obj, chain, block_time)
    except Rejected as exc:
        return Verdict(False, exc.req_id, exc.message)
    return Verdict(True)


def validate_document(data: bytes, pki: bytes | None = None) -> str:
    """Validate a transaction, a block, or a self-contained case ``{"context", "input", ...}``.

    A bare transaction without ``pki`` gets the checks that need no outside knowledge (tx id,
    signatures, field rules); with ``pki`` its certificates are checked at its claimed time.

    Returns:
        A one-line acceptance, e.g. ``accept EPS 3fa1...``.

    Raises:
        Rejected / Malformed: the first rule broken. UsageError: unusable ``pki``.
    """
    document = decode_json_object(data)
    if "context" in document and ("input" in document or "input_text" in document):
        verdict = run_case(document["context"], document)
        if not verdict.valid:
            raise Rejected(verdict.req_id or "vectors", verdict.message)
        return "accept case " + str(document.get("id", ""))
    obj = parse_message(document)
    directory = None
    if pki is not None:
        try:
            directory = CertificateDirectory.from_json(decode_json_object(pki))
        except IoMEError as exc:
            raise UsageError("pki", f"--pki file is unusable: {exc.message}") from None
    if isinstance(obj, Block):
        check_block_hash(obj)
        check_block_signature(obj)
        check_block_txs_distinct(obj)
        check_block_merkle_root(obj)
        for tx in obj.txs:
            check_stateless(tx)
        scope = "header and transactions; chain position not checked"
        ident = obj.block_hash
    else:
        check_stateless(obj)
        if directory is not None:
            check_tx_certificates(obj, directory)
        scope = "with certificates" if directory else "stateless: certificates not checked"
        ident = obj.tx_id
    kind = "Block" if isinstance(obj, Block) else obj.tx_type
    return f"accept {kind} {ident} ({scope})"
