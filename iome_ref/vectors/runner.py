"""Run a vector case (or any submitted document) through the reference and report the verdict.

This is the reference's side of the vector contract in spec/vectors/README.md: build the
context, apply the setup blocks, judge the input, and name the first rule broken. Judging goes
through the same pipeline as a node's chains (``chain.transition`` and ``rules.stateless``), so
a vector, ``iome validate`` and a live ledger cannot disagree on an input or on its id.

The case and context are read into pydantic models first: a hand-edited vector with a wrong
member is a ``UsageError`` naming the member's path; a Python error inside judging is a bug
and escapes as itself, for the tests to catch.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from iome_ref.chain.store import MemoryStore
from iome_ref.chain.transition import check_block_stateless
from iome_ref.constants import MAX_MESSAGE_BYTES
from iome_ref.encoding import decode_json_object
from iome_ref.errors import IoMEError, Rejected, UsageError
from iome_ref.models import Block, SignedModel, decode_message, parse_message
from iome_ref.node import Genesis, Node, disk_row
from iome_ref.pki import CertificateDirectory
from iome_ref.rules import check_stateless

__all__ = [
    "CaseResult",
    "VectorCase",
    "VectorContext",
    "Verdict",
    "build_node",
    "run_case",
    "validate_document",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: A vector file's ``context`` is a node's genesis (spec/vectors/README.md, "File format").
VectorContext = Genesis


class StoredRow(_Strict):
    """A block as a store holds it, for cases about reopening a store (IOME-BLK-012)."""

    chain: str
    height: int = Field(ge=0)
    block_hash: str
    body_text: str


class VectorCase(_Strict):
    """One case (spec/vectors/README.md, "Case"); ``context`` is present in a standalone case."""

    id: str
    comment: str = ""
    flags: list[str] = Field(default_factory=list)
    setup: list[dict[str, Any]] = Field(default_factory=list)
    stored: list[StoredRow] = Field(default_factory=list)
    chain: str = "public"
    block_time: int = Field(default=0, ge=0)
    input: Any = None
    input_text: str | None = None
    #: Spaces appended to ``input_text``: size cases without megabytes in the file.
    pad: int = Field(default=0, ge=0, le=2 * MAX_MESSAGE_BYTES)
    expected: Literal["valid", "invalid"]
    req_id: str | None = None
    evidence: list[str] = Field(default_factory=list)
    #: A case about the PKI itself brings its own genesis PKI (certificates.json).
    pki: dict[str, Any] | None = None
    context: VectorContext | None = None


@dataclass(frozen=True)
class Verdict:
    """valid, or invalid with the id of the first rule broken; plus evidence recorded."""

    valid: bool
    req_id: str | None = None
    message: str = ""
    evidence: tuple[str, ...] = ()

    @property
    def expected(self) -> str:
        return "valid" if self.valid else "invalid"


@dataclass(frozen=True)
class CaseResult:
    """A case's verdict beside what the case expects."""

    case: VectorCase
    verdict: Verdict

    @property
    def matches(self) -> bool:
        case, verdict = self.case, self.verdict
        return (verdict.expected, verdict.req_id, sorted(verdict.evidence)) == (
            case.expected,
            case.req_id,
            sorted(case.evidence),
        )

    def describe(self) -> str:
        """One line: what the reference found, and whether the case expected it."""
        found = "accept" if self.verdict.valid else f"reject {self.verdict.req_id}"
        wanted = "accept" if self.case.expected == "valid" else f"reject {self.case.req_id}"
        evidence = f" with evidence {list(self.verdict.evidence)}" if self.verdict.evidence else ""
        if self.matches:
            return f"pass case {self.case.id}: {found}{evidence}, as expected"
        return (
            f"mismatch case {self.case.id}: expected {wanted} with evidence "
            f"{sorted(self.case.evidence)}, found {found}{evidence} {self.verdict.message}"
        )


def _read(model: type[BaseModel], data: Any, what: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or what
        raise UsageError("vectors", f"{what}.{where}: {error['msg']}") from None


def build_node(context: dict[str, Any] | VectorContext) -> Node:
    """A fresh reference node, in memory, with the chains and PKI of a vector file's context.

    Cases change chain state only through the ``Node``, as every other caller does; no case
    drives a role operation, so the node's random source is never drawn from.
    """
    parsed = context if isinstance(context, Genesis) else _read(Genesis, context, "context")
    try:
        return Node(parsed, store=MemoryStore(), rng=random.Random(0))
    except Rejected as exc:
        raise UsageError("vectors", f"context.pki is unusable: {exc.message}") from None


def _judge(node: Node, obj: SignedModel | Block, chain_id: str, block_time: int) -> None:
    """Submit a block, or judge a transaction as the sole content of the chain's next block
    (its effects rolled back: judging never changes the chain).

    Raises:
        Rejected: the first rule broken.
    """
    try:
        node.get_chain(chain_id)
    except UsageError:
        raise UsageError(
            "vectors", f"case names chain {chain_id!r}, which the context lacks"
        ) from None
    node.judge(obj, chain_id, block_time)


def _reopen(node: Node, rows: list[StoredRow]) -> None:
    """Append ``rows`` to the node's store as they are, then reopen it (IOME-BLK-012)."""
    node.reopen(
        disk_row(row.chain, row.height, row.block_hash, row.body_text.encode()) for row in rows
    )


def run_case(context: dict[str, Any] | None, case: dict[str, Any]) -> Verdict:
    """Run one case; ``context`` is the file's (None when the case carries its own).

    Raises:
        UsageError: the case or context is not in the vector format, or a setup block is
            refused (a broken vector).
    """
    return check_case(context, case).verdict


def check_case(context: dict[str, Any] | None, case: dict[str, Any]) -> CaseResult:
    """Run one case and compare its verdict with the case's ``expected``, ``req_id``, evidence."""
    parsed: VectorCase = _read(VectorCase, case, "case")
    if parsed.context is not None:
        file_context = parsed.context
    elif context is not None:
        file_context = _read(VectorContext, context, "context")
    else:
        raise UsageError("vectors", f"case {parsed.id} has no context")
    if parsed.pki is not None:
        # A PKI the reference refuses to load is the case's verdict, not a broken vector file.
        try:
            CertificateDirectory.from_json(parsed.pki)
        except Rejected as exc:
            return CaseResult(parsed, Verdict(False, exc.req_id, exc.message))
        file_context = file_context.model_copy(update={"pki": parsed.pki})
    node = build_node(file_context)
    for index, raw in enumerate(parsed.setup):
        try:
            block = Block.parse(raw)
            node.apply_block(block, block.chain_id)
        except Rejected as exc:
            raise UsageError(
                "vectors", f"case {parsed.id}: setup block {index} rejected: {exc}"
            ) from exc
    before = len(node.get_evidence())
    try:
        if parsed.stored:
            _reopen(node, parsed.stored)
        elif parsed.input_text is not None:
            text = (parsed.input_text + " " * parsed.pad).encode()
            _judge(node, decode_message(text), parsed.chain, parsed.block_time)
        else:
            _judge(node, parse_message(parsed.input), parsed.chain, parsed.block_time)
    except Rejected as exc:
        verdict = Verdict(False, exc.req_id, exc.message, _new_evidence(node, before))
    else:
        verdict = Verdict(True, evidence=_new_evidence(node, before))
    return CaseResult(parsed, verdict)


def _new_evidence(node: Node, before: int) -> tuple[str, ...]:
    return tuple(kind for kind, _ in node.get_evidence()[before:])


def validate_document(data: bytes, pki: bytes | None = None) -> tuple[bool, str]:
    """Validate a transaction, a block, or a self-contained case ``{"context", "input", ...}``.

    A bare transaction without ``pki`` gets the checks that need no outside knowledge (tx id,
    field rules, signatures); with ``pki`` its certificates too, at its claimed time, in the
    spec's order. A case is judged in its context and compared with what it expects.

    Returns:
        (True, ``accept EPS 3fa1...``) for a document; for a case, whether its verdict matches
        what it expects and a ``pass case ...`` or ``mismatch case ...`` line.

    Raises:
        Rejected / Malformed: the first rule a document breaks. UsageError: unusable ``pki``,
        or a case not in the vector format.
    """
    document = decode_json_object(data)
    if "expected" in document and "context" in document:
        result = check_case(None, document)
        return result.matches, result.describe()
    obj = parse_message(document)
    directory = None
    if pki is not None:
        try:
            directory = CertificateDirectory.from_json(decode_json_object(pki))
        except IoMEError as exc:
            raise UsageError("pki", f"--pki file is unusable: {exc.message}") from None
    scope = "with certificates" if directory else "certificates not checked"
    if isinstance(obj, Block):
        check_block_stateless(obj, directory)
        for tx in obj.txs:
            check_stateless(tx, directory)
        return True, (
            f"accept Block {obj.block_hash} "
            f"(header and transactions, {scope}; chain position not checked)"
        )
    check_stateless(obj, directory)
    return True, f"accept {obj.tx_type} {obj.tx_id} ({scope})"
