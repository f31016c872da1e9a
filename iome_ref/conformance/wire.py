"""The wire protocol of spec/conformance.md: JSON lines, one pydantic model per op's args and
result, and the checks (IOME-IUT-*) that both ends of a stdio connection apply.

What lives here: the envelope (request, success reply, error reply), the per-op models the
JSON Schemas under ``spec/schemas/iut/`` are generated from (:func:`build_wire_schemas`), and
one enforcing function per IOME-IUT id. What must not: any judging of protocol messages. A
transaction or block inside ``args`` is an opaque JSON object here; the IUT judges it and
refuses it with its own requirement id, so the wire schema never pre-empts a verdict.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from iome_ref.conformance.iut import CORE_OPS, JsonObject
from iome_ref.constants import MAX_MESSAGE_BYTES, SPEC_VERSION
from iome_ref.errors import Rejected
from iome_ref.node import Genesis
from iome_ref.requirements import enforces
from iome_ref.vectors.derived import SchemaSet

__all__ = [
    "ARGS",
    "DEFAULT_TIMEOUT_S",
    "INTERNAL_ERROR",
    "MAX_LINE_BYTES",
    "RESULTS",
    "SCHEMAS",
    "WIRE_OPS",
    "ErrorBody",
    "Request",
    "build_wire_schemas",
    "check_args",
    "check_deadline",
    "check_line_size",
    "check_manifest",
    "check_op",
    "check_refusal",
    "check_reply",
    "check_reply_id",
    "check_request",
    "check_reset_done",
    "check_wire_schemas",
    "encode_line",
    "write_wire_schemas",
]

#: Most bytes in one line, either direction, newline excluded (IOME-IUT-002). Eight times the
#: message limit: a request carries a message of up to MAX_MESSAGE_BYTES (twice that for the
#: size vectors' padding), JSON-escaped, beside a genesis PKI.
MAX_LINE_BYTES: Final = 8 * MAX_MESSAGE_BYTES
#: Seconds the harness waits for each reply unless told otherwise (IOME-IUT-009).
DEFAULT_TIMEOUT_S: Final = 5.0
#: The error code of a request the IUT could not process for a reason that is not a protocol
#: rule (IOME-IUT-010): the harness reports it as an implementation error, never a refusal.
INTERNAL_ERROR: Final = "IOME-IUT-010"
#: The shape of an error code: a requirement id (spec/overview.md, "Requirement ids").
_CODE: Final = re.compile(r"^IOME-[A-Z]+-[0-9]{3}$")

RequestId = Annotated[
    int | str, Field(description="Chosen by the harness; echoed by the reply (IOME-IUT-006).")
]
Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Seconds = Annotated[int, Field(ge=0, description="Unix seconds.")]
Message = Annotated[
    JsonObject, Field(description="A transaction or block as JSON; judged by the IUT.")
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Open(BaseModel):
    """A result object: an IUT may add members; the harness reads only those named here."""

    model_config = ConfigDict(extra="allow", frozen=True)


# -- op arguments --------------------------------------------------------------------------


class HelloArgs(_Strict):
    """No arguments."""


class ActorKey(_Strict):
    """A key the IUT acts with in role operations."""

    role: str = Field(description="Certificate role (certificates.md), e.g. station.")
    subject: str = Field(description="Certificate subject CN; a chain id for managers.")
    private_key: Hex64 = Field(description="Raw 32-byte Ed25519 private key (RFC 8032), hex.")


class ResetArgs(_Strict):
    seed: int = Field(ge=0, description="Seed of the IUT's random source (Trip nonces).")
    genesis: Genesis = Field(description="The form of a vector file's context.")
    keys: dict[str, ActorKey] = Field(
        default_factory=dict, description="Actor name -> key, for role operations."
    )


class SubmitBlockArgs(_Strict):
    chain: str = Field(description="Chain the block is offered to.")
    block: Message | None = Field(default=None, description="The block as JSON, or ...")
    text: str | None = Field(default=None, description="... the block's exact wire text.")


class SubmitTxArgs(_Strict):
    chain: str
    tx: Message | None = Field(default=None, description="The transaction as JSON, or ...")
    text: str | None = Field(default=None, description="... its exact wire text.")
    block_time: Seconds = Field(default=0, description="Time of the block it would join.")


class ValidateArgs(_Strict):
    message: Message | None = None
    text: str | None = None
    with_pki: bool = Field(default=False, description="Check certificates under the genesis.")


class HeadArgs(_Strict):
    chain: str


class GetTxArgs(_Strict):
    chain: str
    tx_id: Hex64


class EvidenceArgs(_Strict):
    """No arguments."""


class EvidenceBundleArgs(_Strict):
    chain: str = Field(description="The chain holding the transaction.")
    tx_id: Hex64


class StoredRow(_Strict):
    chain: str
    height: int = Field(ge=0)
    block_hash: str
    body_text: str = Field(description="The stored bytes of the block, as text.")


class ReopenArgs(_Strict):
    stored: list[StoredRow] = Field(
        default_factory=list, description="Rows appended to the store unchecked before reopening."
    )


class StationDockArgs(_Strict):
    station: str = Field(description="Actor name of a station key given at reset.")
    vehicle: str = Field(description="Any name for the docked vehicle.")
    one_time_pk: str
    t: Seconds


class StationUndockArgs(_Strict):
    station: str
    vehicle: str
    t: Seconds


class StationAttestArgs(_Strict):
    station: str
    kind: Literal["source", "destination"]
    one_time_pk: str
    t: Seconds


class VerifierCosignArgs(_Strict):
    claim: Message
    source: Message
    destination: Message
    t: Seconds = Field(description="Time the verifiers judge the claim at.")
    answering: list[str] | None = Field(
        default=None,
        description="The verifier actors that answer (default: every one); the others have "
        "stopped. Fewer than the quorum: the trip waits (trip null, nothing recorded).",
    )


class VerifierBatchArgs(_Strict):
    block_time: Seconds | None = Field(
        default=None,
        description="Time of the consortium block the batch is for: it is judged again at the "
        "later of this and its latest transaction's time, and what is now refused is left out "
        "(IOME-CERT-021). Default: handed out as accepted.",
    )


class PredictorOdArgs(_Strict):
    predictor: str
    zones: list[str]
    period_start: Seconds
    period_end: Seconds


class ManagerAnchorArgs(_Strict):
    manager: str
    chain: str = Field(description="The child chain to anchor on the public chain.")
    t: Seconds


class BackupHandoverArgs(_Strict):
    backup: str
    chain: str
    t: Seconds


# -- results -------------------------------------------------------------------------------


class Manifest(_Open):
    spec_version: str = Field(description="The spec version implemented (IOME-IUT-007).")
    implementation: str
    roles: list[str] = Field(description="Certificate roles whose operations it implements.")
    chain_kinds: list[str]
    ops: list[str] = Field(description="Every op it answers; all core ops (IOME-IUT-007).")


class Empty(_Open):
    """Nothing to report."""


class HeadResult(_Open):
    height: int = Field(ge=-1, description="-1 for an empty chain.")
    block_hash: str | None


class TxIdResult(_Open):
    tx_id: str


class ValidateResult(_Open):
    type: str
    id: str


class GetTxResult(_Open):
    tx: JsonObject | None


class EvidenceRow(_Open):
    code: str = Field(description="The requirement id the evidence is about.")
    first: JsonObject
    second: JsonObject


class EvidenceResult(_Open):
    evidence: list[EvidenceRow]


class BundleResult(_Open):
    bundle: JsonObject | None = Field(
        description="The evidence bundle (spec/evidence.md), or null when the chain does not "
        "hold the transaction."
    )


class PresenceResult(_Open):
    presence: JsonObject


class TripResult(_Open):
    trip: JsonObject | None = Field(description="null: fewer than the quorum answered.")


class BatchResult(_Open):
    txs: list[JsonObject]


class MatricesResult(_Open):
    matrices: list[JsonObject]


class AnchorResult(_Open):
    anchor: JsonObject | None


class HandoverResult(_Open):
    handover: JsonObject


#: op -> (args model, result model), in the order spec/conformance.md lists them.
_OPS: Final[dict[str, tuple[type[BaseModel], type[BaseModel]]]] = {
    "hello": (HelloArgs, Manifest),
    "reset": (ResetArgs, Empty),
    "submit_block": (SubmitBlockArgs, HeadResult),
    "submit_tx": (SubmitTxArgs, TxIdResult),
    "validate": (ValidateArgs, ValidateResult),
    "head": (HeadArgs, HeadResult),
    "get_tx": (GetTxArgs, GetTxResult),
    "evidence": (EvidenceArgs, EvidenceResult),
    "reopen": (ReopenArgs, Empty),
    "station_dock": (StationDockArgs, Empty),
    "station_undock": (StationUndockArgs, Empty),
    "station_attest": (StationAttestArgs, PresenceResult),
    "verifier_cosign": (VerifierCosignArgs, TripResult),
    "verifier_batch": (VerifierBatchArgs, BatchResult),
    "predictor_od": (PredictorOdArgs, MatricesResult),
    "manager_anchor": (ManagerAnchorArgs, AnchorResult),
    "backup_handover": (BackupHandoverArgs, HandoverResult),
    "evidence_bundle": (EvidenceBundleArgs, BundleResult),
}
WIRE_OPS: Final = tuple(_OPS)
ARGS: Final = {op: pair[0] for op, pair in _OPS.items()}
RESULTS: Final = {op: pair[1] for op, pair in _OPS.items()}
assert set(CORE_OPS) <= set(WIRE_OPS)


# -- envelope ------------------------------------------------------------------------------


class Request(_Strict):
    """One request line (IOME-IUT-001)."""

    id: RequestId
    op: str
    args: JsonObject


class ErrorBody(_Strict):
    code: str = Field(pattern=_CODE.pattern, description="A requirement id (IOME-IUT-005).")
    message: str


class _OkReply(_Strict):
    id: RequestId | None
    ok: Literal[True]
    result: JsonObject


class _ErrorReply(_Strict):
    id: RequestId | None = Field(description="null when the request's id could not be read.")
    ok: Literal[False]
    error: ErrorBody


def encode_line(document: JsonObject) -> bytes:
    """One line of compact JSON (UTF-8, no raw newline inside, since JSON escapes them)."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


# -- the rules ----------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _loads(line: bytes) -> Any:
    return json.loads(line.decode("utf-8"), parse_constant=_reject_constant)


@enforces("IOME-IUT-001")
def check_request(line: bytes) -> Request:
    """A request is one UTF-8 JSON object with exactly ``id`` (integer or string), ``op``
    (string) and ``args`` (object); anything else gets an error reply, never a crash.

    Raises:
        Rejected: IOME-IUT-001.
    """
    try:
        document = _loads(line)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Rejected("IOME-IUT-001", f"request: expected a JSON object, found {exc}") from None
    try:
        return Request.model_validate(document)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "request"
        raise Rejected("IOME-IUT-001", f"{where}: {error['msg']}") from None


@enforces("IOME-IUT-002")
def check_line_size(size: int, limit: int = MAX_LINE_BYTES) -> None:
    """A line, either direction, holds at most ``limit`` bytes before its newline: a reader
    with a bounded buffer can then never be made to hold an endless line.

    Raises:
        Rejected: IOME-IUT-002.
    """
    if size > limit:
        raise Rejected("IOME-IUT-002", f"line: expected at most {limit} bytes, found more")


@enforces("IOME-IUT-003")
def check_op(op: str, ops: tuple[str, ...] | list[str]) -> None:
    """An op the IUT does not implement is refused by name, so the harness can tell a missing
    capability from a crash.

    Raises:
        Rejected: IOME-IUT-003.
    """
    if op not in ops:
        raise Rejected("IOME-IUT-003", f"op: expected one of the manifest's ops, found {op!r}")


@enforces("IOME-IUT-004")
def check_args(op: str, args: JsonObject) -> BaseModel:
    """An op's ``args`` match its request schema (spec/schemas/iut/<op>.request.json).

    Raises:
        Rejected: IOME-IUT-004, naming the member's path.
    """
    try:
        return ARGS[op].model_validate(args)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in ("args", *error["loc"]))
        raise Rejected("IOME-IUT-004", f"{where}: {error['msg']}") from None


@enforces("IOME-IUT-005")
def check_reply(line: bytes) -> JsonObject:
    """A reply is one JSON object: ``{"id", "ok": true, "result": {...}}`` or ``{"id",
    "ok": false, "error": {"code": <requirement id>, "message": <text>}}``.

    Returns:
        The reply, as decoded JSON.

    Raises:
        Rejected: IOME-IUT-005.
    """
    try:
        document = _loads(line)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Rejected("IOME-IUT-005", f"reply: expected a JSON object, found {exc}") from None
    model: type[BaseModel] = _ErrorReply
    if isinstance(document, dict) and document.get("ok") is True:
        model = _OkReply
    try:
        model.model_validate(document)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "reply"
        raise Rejected("IOME-IUT-005", f"reply.{where}: {error['msg']}") from None
    result: JsonObject = document
    return result


@enforces("IOME-IUT-006")
def check_reply_id(found: object, expected: int | str) -> None:
    """A reply echoes the id of the one request outstanding, so no answer can be attributed
    to the wrong request.

    Raises:
        Rejected: IOME-IUT-006.
    """
    if type(found) is not type(expected) or found != expected:
        raise Rejected("IOME-IUT-006", f"reply.id: expected {expected!r}, found {found!r}")


@enforces("IOME-IUT-007")
def check_manifest(result: JsonObject) -> Manifest:
    """The ``hello`` result declares the spec's major version and every core op.

    Raises:
        Rejected: IOME-IUT-007.
    """
    try:
        manifest = Manifest.model_validate(result)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        raise Rejected("IOME-IUT-007", f"manifest.{where}: {error['msg']}") from None
    major = SPEC_VERSION.split(".")[0]
    if manifest.spec_version.split(".")[0] != major:
        raise Rejected(
            "IOME-IUT-007",
            f"manifest.spec_version: expected {major}.x, found {manifest.spec_version!r}",
        )
    missing = [op for op in CORE_OPS if op not in manifest.ops]
    if missing:
        raise Rejected("IOME-IUT-007", f"manifest.ops: core ops {missing} are missing")
    return manifest


@enforces("IOME-IUT-008")
def check_reset_done(done: bool, op: str) -> None:
    """Every op but ``hello`` and ``reset`` needs a genesis: before the first ``reset`` the
    IUT refuses it rather than guessing one.

    Raises:
        Rejected: IOME-IUT-008.
    """
    if not done:
        raise Rejected("IOME-IUT-008", f"op {op}: expected a reset before it, found none")


@enforces("IOME-IUT-009")
def check_deadline(elapsed_s: float, timeout_s: float) -> None:
    """Every request is answered within the harness's timeout; an IUT that takes longer has
    hung, whatever it would have answered.

    Raises:
        Rejected: IOME-IUT-009.
    """
    if not math.isfinite(elapsed_s) or elapsed_s > timeout_s:
        raise Rejected("IOME-IUT-009", f"reply: expected within {timeout_s} s, none by then")


@enforces("IOME-IUT-010")
def check_refusal(error: JsonObject) -> tuple[str, str]:
    """An error reply names the rule refused; code IOME-IUT-010 says the IUT could not process
    the request at all (a bug, an exhausted resource), which is no verdict.

    Returns:
        (code, message) of a refusal.

    Raises:
        Rejected: IOME-IUT-010 for an internal error.
    """
    code, message = str(error["code"]), str(error["message"])
    if code == INTERNAL_ERROR:
        raise Rejected("IOME-IUT-010", f"the implementation failed internally: {message}")
    return code, message


# -- schemas -------------------------------------------------------------------------------

SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


def _schema(title: str, body: JsonObject) -> JsonObject:
    return {"$schema": SCHEMA_DIALECT, "title": title, **body}


def _request_schema(op: str) -> JsonObject:
    args = ARGS[op].model_json_schema()
    defs = args.pop("$defs", {})
    body: JsonObject = {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "op", "args"],
        "properties": {
            "id": {"type": ["integer", "string"]},
            "op": {"const": op},
            "args": args,
        },
    }
    if defs:
        body["$defs"] = defs
    return _schema(f"{op} request", body)


def _reply_schema(op: str) -> JsonObject:
    result = RESULTS[op].model_json_schema()
    defs = result.pop("$defs", {})
    error = ErrorBody.model_json_schema()
    identifier = {"type": ["integer", "string", "null"]}
    body: JsonObject = {
        "oneOf": [
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "ok", "result"],
                "properties": {"id": identifier, "ok": {"const": True}, "result": result},
            },
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "ok", "error"],
                "properties": {"id": identifier, "ok": {"const": False}, "error": error},
            },
        ]
    }
    if defs:
        body["$defs"] = defs
    return _schema(f"{op} reply", body)


def _json_bytes(document: JsonObject) -> bytes:
    return (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


#: Where the wire schemas live, relative to spec/.
WIRE_SCHEMA_FOLDER: Final = "schemas/iut"


def build_wire_schemas() -> dict[str, bytes]:
    """``schemas/iut/<op>.request.json`` and ``.reply.json`` for every op, keyed by path
    relative to ``spec/``."""
    files: dict[str, bytes] = {}
    for op in WIRE_OPS:
        files[f"{WIRE_SCHEMA_FOLDER}/{op}.request.json"] = _json_bytes(_request_schema(op))
        files[f"{WIRE_SCHEMA_FOLDER}/{op}.reply.json"] = _json_bytes(_reply_schema(op))
    return files


#: The wire schemas as a schema set (``iome vectors generate|check``: SCHEMA_SETS).
SCHEMAS: Final = SchemaSet(WIRE_SCHEMA_FOLDER, build_wire_schemas)


def write_wire_schemas(spec_dir: Path) -> list[Path]:
    """Write ``spec/schemas/iut/*.json``, deleting files there that are no longer generated."""
    return SCHEMAS.write_schema_files(spec_dir)


def check_wire_schemas(spec_dir: Path) -> list[str]:
    """Problems with ``spec/schemas/iut/``, one sentence each, as ``check_vectors`` words them."""
    return SCHEMAS.check_schema_files(spec_dir)
