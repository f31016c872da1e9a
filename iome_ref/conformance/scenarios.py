"""Replayable scenarios: one failing case kept as a file, and the engine that plays it.

A scenario (spec/scenarios.md) is metadata, a deterministic set-up (the genesis in the form of
a vector file's ``context``, and actor keys) and steps ``{actor, op, args, expect}``: IUT
operations that must be accepted or refused with an id, and ``check_*`` steps asserting state.
The conformance runner plays every vector case as a scenario through :func:`execute`, so the
file a failing case writes replays exactly what the run did, and ``iome replay`` needs no
other engine.

What must not live here: knowledge of how the reference judges (the engine reaches the
implementation only through the IUT interface), verdict files (verdicts.py), reports.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any, Final, Literal, get_args

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from iome_ref.conformance import wire
from iome_ref.conformance.iut import IUT
from iome_ref.conformance.verdicts import validation_path
from iome_ref.constants import MAX_SAFE_INT
from iome_ref.crypto import KeyPair
from iome_ref.encoding import canonical_json, compute_hash
from iome_ref.errors import ImplementationError, IoMEError, Rejected, UsageError
from iome_ref.merkle import compute_merkle_root_hex
from iome_ref.models import Presence, Trip, TripClaim, parse_message
from iome_ref.pki import CertificateDirectory
from iome_ref.rules.evidence import verify_bundle
from iome_ref.rules.mobility import check_trip_nonce_unlinked
from iome_ref.vectors.runner import StoredRow, VectorContext
from iome_ref.vectors.world import ACTORS, World

__all__ = [
    "REF_KEY",
    "RESULT_RULES",
    "ROLE_STEP_OPS",
    "SCENARIO_FORMAT",
    "BlockBuild",
    "CheckBundleStep",
    "CheckTripUnlinkedStep",
    "ReplayResult",
    "ResultSubset",
    "RoleStep",
    "Scenario",
    "ScenarioMetadata",
    "ScenarioSetup",
    "StepOutcome",
    "TripUnlinkedArgs",
    "TxArgs",
    "actor_keys",
    "build_block",
    "dump_scenario",
    "execute",
    "format_trace",
    "generator_name",
    "load_scenario",
    "missing_capabilities",
    "parse_scenario",
    "result_matches",
]

SCENARIO_FORMAT: Final = "iome-scenario/1"
_COMPONENT: Final = "scenario"
#: How pydantic prefixes the message of a ValueError raised by a validator.
_VALUE_ERROR: Final = "Value error, "

ReqId = Annotated[str, StringConstraints(pattern=r"^IOME-[A-Z]+-[0-9]{3}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def generator_name() -> str:
    """The reference version that writes scenarios and reports (``iome-ref 0.1.0``)."""
    return f"iome-ref {version('iome')}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reject(_Strict):
    """The step must be refused with exactly this requirement id."""

    reject: ReqId


class ResultSubset(_Strict):
    """The step must be accepted, and its result must hold these members with these values:
    an object matches when each member named matches (other members are ignored), an array
    when it has as many elements and each matches, anything else when equal."""

    result: dict[str, Any]


#: ``"accept"``, ``{"reject": "IOME-..."}``, or ``{"result": {...}}`` (accept with a result).
Expectation = Literal["accept"] | Reject | ResultSubset


def _describe(expect: Expectation) -> str:
    if isinstance(expect, Reject):
        return f"reject {expect.reject}"
    if isinstance(expect, ResultSubset):
        return f"accept with result {_compact(expect.result)}"
    return "accept"


def result_matches(answer: Any, subset: Any) -> bool:
    """Whether ``answer`` holds ``subset`` as ``{"result": subset}`` asks (ResultSubset)."""
    return bool(_project(answer, subset) == subset)


def _project(answer: Any, subset: Any) -> Any:
    """``answer`` cut down to the members ``subset`` names (recursively through objects), so
    comparing the two says whether the answer holds the subset, and printing it shows what
    the implementation gave where it differs."""
    if isinstance(subset, dict) and isinstance(answer, Mapping):
        return {key: _project(answer[key], value) for key, value in subset.items() if key in answer}
    if isinstance(subset, list) and isinstance(answer, list) and len(subset) == len(answer):
        return [_project(item, part) for item, part in zip(answer, subset, strict=True)]
    return answer


# -- metadata and set-up ---------------------------------------------------------------------


class ScenarioMetadata(_Strict):
    """Who wrote the scenario, from what, and what it is about."""

    id: Name = Field(description="Unique name; a vector case's id for origin vector.")
    title: str = Field(description="What the scenario shows, for people.")
    origin: Literal["vector", "state-machine", "adversary"]
    requirement_ids: list[ReqId] = Field(description="The ids the scenario exercises.")
    attacker_capabilities: list[str] = Field(
        default_factory=list,
        description="What the attacker can do (a vector's flags: replay, equivocation, ...).",
    )
    seed: int = Field(ge=0, description="The seed of the run that wrote the scenario.")
    spec_hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] = Field(
        description="The spec text the expectations come from (spec/vectors/README.md)."
    )
    generator: str = Field(description="The reference version that wrote the file.")
    observed: str | None = Field(
        default=None,
        description="Informative: what the implementation did when the scenario was written.",
    )


class ActorKey(_Strict):
    """An actor's key for role operations (none of the vector scenarios needs one)."""

    role: Name
    subject: Name
    private_key: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def actor_keys(world: World, names: Iterable[str]) -> dict[str, ActorKey]:
    """``setup.keys`` for the named certified actors of ``world`` (vectors.world.ACTORS),
    so a scenario's role steps and built blocks act with the world's certified keys.

    Raises:
        UsageError: a name that is not a certified actor of the world.
    """
    keys = {}
    for name in names:
        if name not in ACTORS:
            raise UsageError(_COMPONENT, f"actor_keys: {name!r} is not a certified actor")
        role, subject = ACTORS[name]
        private = world.key(name).private.private_bytes_raw().hex()
        keys[name] = ActorKey(role=role, subject=subject, private_key=private)
    return keys


class ScenarioSetup(_Strict):
    """The deterministic start: ``reset(seed, genesis, keys)`` and what it must answer."""

    genesis: VectorContext
    keys: dict[str, ActorKey] = Field(default_factory=dict)
    expect: Expectation = Field(
        default="accept",
        description="A genesis PKI the spec refuses to load is refused at reset, with its id.",
    )


# -- steps -----------------------------------------------------------------------------------


class _Message(_Strict):
    """A message as a JSON object, or as wire text plus ``pad`` spaces (exactly one of them)."""

    text: str | None = None
    pad: int = Field(default=0, ge=0, le=1 << 22)

    def wire_text(self) -> str | None:
        return None if self.text is None else self.text + " " * self.pad


class BlockBuild(_Strict):
    """A block the harness assembles and signs at play time, for transactions an earlier
    step produced (a Trip the verifiers co-signed, an Anchor, a verifier batch)."""

    producer: Name = Field(description="A key of setup.keys: signs the block.")
    time: int = Field(ge=0, le=MAX_SAFE_INT, description="The block's time.")
    txs: list[dict[str, Any]] | dict[str, Any] = Field(
        description="The transactions as JSON objects, each possibly a reference; or one "
        "reference to a list of them."
    )
    height: int | None = Field(
        default=None,
        ge=0,
        le=MAX_SAFE_INT,
        description="Default: one above the implementation's head.",
    )
    prev_hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = Field(
        default=None, description="Default: the implementation's head's hash (zeros if empty)."
    )


class SubmitBlockArgs(_Message):
    chain: Name
    block: dict[str, Any] | None = None
    build: BlockBuild | None = None

    @model_validator(mode="after")
    def _one_form(self) -> SubmitBlockArgs:
        if sum(form is not None for form in (self.block, self.text, self.build)) != 1:
            raise ValueError("give exactly one of block, text and build")
        return self


class SubmitTxArgs(_Message):
    chain: Name
    tx: dict[str, Any] | None = None
    block_time: int = Field(ge=0)

    @model_validator(mode="after")
    def _one_form(self) -> SubmitTxArgs:
        if (self.tx is None) == (self.text is None):
            raise ValueError("give exactly one of tx and text")
        return self


class ReopenArgs(_Strict):
    stored: list[StoredRow]


class ValidateArgs(_Message):
    message: dict[str, Any] | None = None
    with_pki: bool = False

    @model_validator(mode="after")
    def _one_form(self) -> ValidateArgs:
        if (self.message is None) == (self.text is None):
            raise ValueError("give exactly one of message and text")
        return self


class ChainArgs(_Strict):
    chain: Name


class TxArgs(_Strict):
    chain: Name
    tx_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class SinceArgs(_Strict):
    since_step: int = Field(ge=1, description="Count evidence recorded from this step on.")


class HeadState(_Strict):
    height: int = Field(ge=-1)
    block_hash: str | None


class EvidenceCodes(_Strict):
    codes: list[ReqId] = Field(description="The evidence codes, in any order.")


class SubmitBlockStep(_Strict):
    actor: Name
    op: Literal["submit_block"]
    args: SubmitBlockArgs
    expect: Expectation


class SubmitTxStep(_Strict):
    actor: Name
    op: Literal["submit_tx"]
    args: SubmitTxArgs
    expect: Expectation


class ReopenStep(_Strict):
    actor: Name
    op: Literal["reopen"]
    args: ReopenArgs
    expect: Expectation


class ValidateStep(_Strict):
    actor: Name
    op: Literal["validate"]
    args: ValidateArgs
    expect: Expectation


class CheckHeadStep(_Strict):
    actor: Name
    op: Literal["check_head"]
    args: ChainArgs
    expect: HeadState


class CheckTxStep(_Strict):
    actor: Name
    op: Literal["check_tx"]
    args: TxArgs
    expect: Literal["present", "absent"]


class CheckEvidenceStep(_Strict):
    actor: Name
    op: Literal["check_evidence"]
    args: SinceArgs
    expect: EvidenceCodes


class CheckBundleStep(_Strict):
    """The IUT's evidence bundle of a transaction, verified by the reference's verifier as a
    relying party would, with the genesis root as trust anchor (spec/evidence.md)."""

    actor: Name
    op: Literal["check_bundle"]
    args: TxArgs
    expect: Literal["valid", "absent"] | Reject


class TripUnlinkedArgs(_Strict):
    """A Trip (an object, a reference to an earlier result, or ``chain`` + ``tx_id`` of a
    published one) and what it hides: the claim and its two presences."""

    trip: dict[str, Any] | None = None
    chain: Name | None = None
    tx_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None
    claim: dict[str, Any]
    source: dict[str, Any]
    destination: dict[str, Any]
    private_keys: list[Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]] = Field(
        default_factory=list, description="Keys of the vehicle's private transactions."
    )

    @model_validator(mode="after")
    def _one_form(self) -> TripUnlinkedArgs:
        if (self.trip is None) == (self.tx_id is None) or (self.tx_id is None) != (
            self.chain is None
        ):
            raise ValueError("give exactly one of trip and chain + tx_id")
        return self


class CheckTripUnlinkedStep(_Strict):
    """A Trip's nonce is not derived from what the Trip hides (IOME-TRIP-007)."""

    actor: Name
    op: Literal["check_trip_unlinked"]
    args: TripUnlinkedArgs
    expect: Literal["unlinked"] | Reject


#: Role operations a step may play (spec/conformance.md, "Role ops"): the ROLE_OPS of the IUT
#: interface and the station's docking and the verifiers' batch they need (ROLE_STEP_OPS).
RoleOp = Literal[
    "station_dock",
    "station_undock",
    "station_attest",
    "verifier_cosign",
    "verifier_batch",
    "predictor_od",
    "manager_anchor",
    "backup_handover",
]
ROLE_STEP_OPS: Final[tuple[str, ...]] = get_args(RoleOp)
#: The rule that fixes each role op's result: a result other than the one a step expects
#: counts against it in the per-requirement summary (spec/scenarios.md, "Role steps").
RESULT_RULES: Final = {
    "station_attest": "IOME-PRES-003",
    "verifier_cosign": "IOME-TRIP-005",
    "verifier_batch": "IOME-BLK-010",
    "predictor_od": "IOME-ODM-004",
    "manager_anchor": "IOME-ANC-002",
    "backup_handover": "IOME-ANC-008",
}
#: The key of a reference to an earlier step's result: ``{"$from": N, "path": "a.0.b"}``.
REF_KEY: Final = "$from"


def _is_ref(value: Any) -> bool:
    return isinstance(value, dict) and REF_KEY in value


def _refs(value: Any, where: str) -> list[tuple[str, Any]]:
    """Every reference inside ``value`` with its path, depth first."""
    if _is_ref(value):
        return [(where, value)]
    if isinstance(value, dict):
        return [ref for key, item in value.items() for ref in _refs(item, f"{where}.{key}")]
    if isinstance(value, list):
        return [ref for i, item in enumerate(value) for ref in _refs(item, f"{where}.{i}")]
    return []


class RoleStep(_Strict):
    """A role operation: its args are the op's wire args (schemas/iut/<op>.request.json), any
    value of which may be a reference to an earlier step's result."""

    actor: Name
    op: RoleOp
    args: dict[str, Any]
    expect: Expectation

    @model_validator(mode="after")
    def _args_match_the_op(self) -> RoleStep:
        """The args are the op's wire args: known members, the required ones present, each of
        its type unless it is a reference (resolved, and judged by the IUT, at play time)."""
        model = wire.ARGS[self.op]
        fields = model.model_fields
        unknown = sorted(set(self.args) - set(fields))
        if unknown:
            raise ValueError(f"args.{unknown[0]}: not an argument of {self.op}")
        missing = sorted(
            name for name, info in fields.items() if info.is_required() and name not in self.args
        )
        if missing:
            raise ValueError(f"args.{missing[0]}: {self.op} needs it")
        for name, value in self.args.items():
            if _is_ref(value):
                continue
            try:
                TypeAdapter(fields[name].rebuild_annotation()).validate_python(value)
            except ValidationError as exc:
                path, message = validation_path(exc)
                inner = "" if path == "(document)" else f".{path}"
                raise ValueError(f"args.{name}{inner}: {message}") from None
        return self


ActionStep = SubmitBlockStep | SubmitTxStep | ReopenStep | ValidateStep | RoleStep
CheckStep = (
    CheckHeadStep | CheckTxStep | CheckEvidenceStep | CheckBundleStep | CheckTripUnlinkedStep
)
Step = Annotated[ActionStep | CheckStep, Field(discriminator="op")]

#: The IUT operation each step op needs from the manifest.
_OP_NEEDS: Final = {
    "submit_block": "submit_block",
    "submit_tx": "submit_tx",
    "reopen": "reopen",
    "validate": "validate",
    "check_head": "head",
    "check_tx": "get_tx",
    "check_evidence": "evidence",
    "check_bundle": "evidence_bundle",
    "check_trip_unlinked": "reset",  # and get_tx for a published Trip (missing_capabilities)
    **{op: op for op in ROLE_STEP_OPS},
}


class Scenario(_Strict):
    """A replayable scenario (spec/scenarios.md)."""

    format: Literal["iome-scenario/1"] = SCENARIO_FORMAT
    metadata: ScenarioMetadata
    setup: ScenarioSetup
    steps: list[Step]

    @model_validator(mode="after")
    def _evidence_marks_exist(self) -> Scenario:
        for index, step in enumerate(self.steps, start=1):
            if isinstance(step, CheckEvidenceStep) and step.args.since_step >= index:
                raise ValueError(
                    f"steps.{index - 1}.args.since_step: must name an earlier step, "
                    f"found {step.args.since_step} at step {index}"
                )
        return self

    @model_validator(mode="after")
    def _references_name_accepted_steps(self) -> Scenario:
        """Every ``{"$from": N, "path": P}`` names an earlier operation step expected to be
        accepted, and has exactly those two members."""
        for index, step in enumerate(self.steps, start=1):
            for where, ref in _refs(
                step.args.model_dump(mode="json", exclude_none=True)
                if isinstance(step.args, BaseModel)
                else step.args,
                f"steps.{index - 1}.args",
            ):
                source = ref.get(REF_KEY)
                if set(ref) != {REF_KEY, "path"} or not isinstance(ref.get("path"), str):
                    raise ValueError(f'{where}: a reference is {{"$from": N, "path": "..."}}')
                if (
                    not isinstance(source, int)
                    or isinstance(source, bool)
                    or not (1 <= source < index)
                ):
                    raise ValueError(f"{where}.$from: must name an earlier step, found {source}")
                earlier = self.steps[source - 1]
                if isinstance(earlier, CheckStep) or isinstance(earlier.expect, Reject):
                    raise ValueError(
                        f"{where}.$from: step {source} is no operation expected to be accepted"
                    )
        return self


def parse_scenario(document: Any, where: str = "scenario") -> Scenario:
    """Read a scenario document.

    Raises:
        UsageError: a member of the wrong type, unknown, missing, or an unknown op; the message
            names the member's path (``steps.2.op``).
    """
    try:
        return Scenario.model_validate(document)
    except ValidationError as exc:
        path, message = validation_path(exc)
        if path == "(document)" and message.startswith(_VALUE_ERROR):
            # A check across steps: its message starts with the member's own path.
            raise UsageError(_COMPONENT, f"{where}: {message[len(_VALUE_ERROR) :]}") from None
        raise UsageError(_COMPONENT, f"{where}: {path}: {message}") from None


def load_scenario(path: Path) -> Scenario:
    """Read a scenario file (see :func:`parse_scenario`)."""
    try:
        document = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise UsageError(_COMPONENT, f"{path}: no such file") from None
    except (OSError, UnicodeError, ValueError) as exc:
        raise UsageError(_COMPONENT, f"{path}: not a JSON file ({exc})") from None
    return parse_scenario(document, str(path))


def dump_scenario(scenario: Scenario) -> bytes:
    """The file's bytes: indented JSON, member order of the model, a final newline."""
    document = scenario.model_dump(mode="json", exclude_defaults=False)
    return (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def missing_capabilities(scenario: Scenario, manifest: Mapping[str, Any]) -> list[str]:
    """What the scenario needs and the manifest does not declare: ops, then chain kinds."""
    ops = set(manifest.get("ops") or ())
    kinds = set(manifest.get("chain_kinds") or ())
    needed_ops = {"reset"} | {_OP_NEEDS[step.op] for step in scenario.steps}
    if any(
        isinstance(step, CheckTripUnlinkedStep) and step.args.tx_id is not None
        for step in scenario.steps
    ):
        needed_ops.add("get_tx")
    if any(
        isinstance(step.args, SubmitBlockArgs)
        and step.args.build is not None
        and (step.args.build.height is None or step.args.build.prev_hash is None)
        for step in scenario.steps
    ):
        needed_ops.add("head")  # a built block extends the implementation's head
    chains = scenario.setup.genesis.chains
    needed_kinds = {
        chains[step.args.chain]
        for step in scenario.steps
        if isinstance(step.args, SubmitBlockArgs | SubmitTxArgs | ChainArgs | TxArgs)
        and step.args.chain in chains
    } | {
        chains[step.args["chain"]]
        for step in scenario.steps
        if isinstance(step, RoleStep) and step.args.get("chain") in chains
    }
    missing = [f"op {op}" for op in sorted(needed_ops - ops)]
    missing += [f"chain kind {kind}" for kind in sorted(needed_kinds - kinds)]
    return missing


# -- execution -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepOutcome:
    """One step as played: what was expected, what the IUT answered, and whether they agree.

    ``expected_code`` / ``found_code`` are the refusal ids when the step expects or gets a
    refusal, so a runner can downgrade a named id mismatch (``relaxed`` holds the reason).
    """

    index: int
    actor: str
    op: str
    summary: str
    expected: str
    actual: str
    ok: bool
    detail: str = ""
    expected_code: str | None = None
    found_code: str | None = None
    relaxed: str | None = None
    request: str = ""
    reply: str = ""
    #: The result the implementation answered (accepted steps), for later references.
    answer: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class ReplayResult:
    """The outcome of a scenario: ``pass``, ``diverged`` (a step disagreed), ``skip`` (the
    manifest lacks a capability), or ``error`` (the IUT or the harness broke)."""

    scenario: Scenario
    status: Literal["pass", "diverged", "skip", "error"]
    steps: tuple[StepOutcome, ...]
    reason: str = ""
    #: An ``ImplementationError``: the IUT itself is broken, later scenarios cannot run.
    broken: bool = False

    @property
    def divergence(self) -> StepOutcome | None:
        return next((step for step in self.steps if not step.ok), None)

    @property
    def relaxed(self) -> tuple[StepOutcome, ...]:
        return tuple(step for step in self.steps if step.relaxed is not None)


#: Called on a refusal-id mismatch: a reason to accept it (a relaxation entry), or None.
Tolerate = Callable[[StepOutcome], str | None]


class _Broke(Exception):
    """The IUT broke while playing a step; carries the result's status fields."""

    def __init__(self, reason: str, *, broken: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.broken = broken


def _call(action: Callable[[], Any], what: str) -> tuple[Any, Rejected | None]:
    """Run one IUT call: its answer, or the refusal; anything else ends the scenario."""
    try:
        return action(), None
    except Rejected as exc:
        return None, exc
    except ImplementationError as exc:
        raise _Broke(f"{what}: the implementation broke: {exc.message}", broken=True) from None
    except UsageError as exc:
        raise _Broke(f"{what}: usage error ({exc.req_id}): {exc.message}", broken=False) from None
    except IoMEError as exc:
        raise _Broke(f"{what}: unexpected {type(exc).__name__}: {exc}", broken=False) from None
    except Exception as exc:
        # An in-process implementation that raises anything else has crashed: a verdict of
        # ``error`` with the exception's name, never a traceback through the harness.
        raise _Broke(
            f"{what}: the implementation raised {type(exc).__name__}: {exc}", broken=False
        ) from None


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _judge(
    index: int,
    *,
    actor: str,
    op: str,
    summary: str,
    expect: Expectation,
    answer: Any,
    refusal: Rejected | None,
    tolerate: Tolerate | None,
) -> StepOutcome:
    expected = _describe(expect)
    expected_code = expect.reject if isinstance(expect, Reject) else None
    if refusal is None:
        actual, found_code, detail, reply = "accept", None, "", _compact(answer)
        if isinstance(expect, ResultSubset):
            actual = f"accept with result {_compact(_project(answer, expect.result))}"
    else:
        actual, found_code = f"reject {refusal.req_id}", refusal.req_id
        detail, reply = (
            refusal.message,
            _compact({"code": refusal.req_id, "message": refusal.message}),
        )
    outcome = StepOutcome(
        index,
        actor,
        op,
        summary,
        expected,
        actual,
        expected == actual,
        detail,
        expected_code,
        found_code,
        reply=reply,
        answer=answer if refusal is None else None,
    )
    if not outcome.ok and expected_code and found_code and tolerate is not None:
        reason = tolerate(outcome)
        if reason is not None:
            outcome = replace(outcome, ok=True, relaxed=reason)
    return outcome


def _head_of(answer: Any) -> str:
    if not isinstance(answer, Mapping) or "height" not in answer:
        raise _Broke(
            f"head answered {_compact(answer)[:200]}, not {{height, block_hash}}", broken=False
        )
    return f"height {answer['height']} block_hash {answer.get('block_hash')}"


def _evidence_codes(iut: IUT) -> list[str]:
    answer, refusal = _call(iut.evidence, "evidence")
    rows = answer.get("evidence") if isinstance(answer, Mapping) else None
    if refusal is not None or not isinstance(rows, list):
        raise _Broke("evidence did not answer {evidence: [...]}", broken=False)
    codes = []
    for row in rows:
        if not isinstance(row, Mapping) or not isinstance(row.get("code"), str):
            raise _Broke(f"evidence row {_compact(row)[:200]} has no code", broken=False)
        codes.append(row["code"])
    return codes


class _Unresolved(Exception):
    """A reference names a member the earlier step's result does not have."""


def _lookup(result: Any, source: int, path: str) -> Any:
    value = result
    for part in path.split(".") if path else ():
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            shown = path if len(path) <= 80 else path[:80] + "..."
            raise _Unresolved(f"the result of step {source} has no member {shown!r}")
    return value


def _resolve(value: Any, results: Mapping[int, Any]) -> Any:
    """``value`` with every reference replaced by the member of the earlier result it names."""
    if _is_ref(value):
        return _lookup(results.get(value[REF_KEY]), value[REF_KEY], value["path"])
    if isinstance(value, dict):
        return {key: _resolve(item, results) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, results) for item in value]
    return value


def _resolved(step: ActionStep, results: Mapping[int, Any]) -> ActionStep:
    """The step with its references resolved (the same step when it has none)."""
    args = _args_json(step)
    if not _refs(args, "args"):
        return step
    document = step.model_dump(mode="json")
    document["args"] = _resolve(args, results)
    return type(step).model_validate(document)


def _args_json(step: ActionStep | CheckStep) -> Any:
    """A step's args as written (references unresolved), for the trace."""
    return step.args if isinstance(step, RoleStep) else step.args.model_dump(mode="json")


def _key_pair(private_hex: str) -> KeyPair:
    return KeyPair.from_private(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(private_hex)))


def build_block(
    producer: KeyPair, *, chain: str, height: int, prev_hash: str, time: int, txs: list[Any]
) -> dict[str, Any]:
    """A block over ``txs`` (JSON objects, taken as they are) signed by ``producer``: the
    Merkle root over each transaction's own ``tx_id`` member, the header hashed and signed as
    blocks.md says. The harness never judges the transactions; the implementation does.

    Raises:
        _Unresolved: a transaction without a 64-hex ``tx_id`` (no block can carry it).
    """
    ids = [tx.get("tx_id") if isinstance(tx, Mapping) else None for tx in txs]
    if not all(isinstance(i, str) and len(i) == 64 for i in ids):
        raise _Unresolved("build: every transaction needs a 64-hex tx_id")
    header = {
        "type": "Block",
        "chain_id": chain,
        "height": height,
        "prev_hash": prev_hash,
        "merkle_root": compute_merkle_root_hex([str(i) for i in ids]),
        "time": time,
        "producer_pk": producer.public_hex,
    }
    try:
        block_hash = compute_hash(canonical_json(header))
    except IoMEError as exc:  # a head the IUT answered that no header can hold
        raise _Unresolved(f"build: no block header holds it ({exc})") from None
    return header | {
        "block_hash": block_hash,
        "signature": producer.sign("Block", block_hash),
        "txs": list(txs),
    }


def _built(iut: IUT, a: SubmitBlockArgs, keys: Mapping[str, KeyPair]) -> dict[str, Any]:
    build = a.build
    assert build is not None
    producer = keys.get(build.producer)
    if producer is None:
        raise _Broke(f"build.producer: no key {build.producer!r} in setup.keys", broken=False)
    height, prev_hash = build.height, build.prev_hash
    if height is None or prev_hash is None:
        answer, refusal = _call(lambda: iut.head(a.chain), "head")
        if refusal is not None:
            raise _Broke(f"head {a.chain}: refused with {refusal.req_id}", broken=False)
        _head_of(answer)
        if height is None:
            height = int(answer["height"]) + 1
        if prev_hash is None:
            prev_hash = answer.get("block_hash") or "0" * 64
    txs = build.txs
    if not isinstance(txs, list):
        raise _Unresolved("build.txs: the reference does not name a list")
    return build_block(
        producer, chain=a.chain, height=height, prev_hash=str(prev_hash), time=build.time, txs=txs
    )


def _play(
    iut: IUT,
    index: int,
    step: ActionStep | CheckStep,
    marks: dict[int, int],
    tolerate: Tolerate | None,
    *,
    keys: Mapping[str, KeyPair] | None = None,
    results: dict[int, Any] | None = None,
    anchor: Callable[[], x509.Certificate] | None = None,
) -> StepOutcome:
    """Play one step: an operation judged against ``expect``, or a state check.

    ``results`` keeps each accepted operation's result by step number, for the references of
    later steps; ``keys`` are the set-up's actor keys, for blocks the harness builds.
    """
    results = {} if results is None else results
    if isinstance(step, CheckBundleStep | CheckTripUnlinkedStep):
        return _check_evidence_of(iut, index, step, results, anchor)
    if isinstance(step, CheckStep):
        return _check(iut, index, step, marks)
    actor, op = step.actor, step.op
    try:
        step = _resolved(step, results)
        if isinstance(step, SubmitBlockStep) and step.args.build is not None:
            block = _built(iut, step.args, keys or {})
            step = step.model_copy(
                update={"args": step.args.model_copy(update={"block": block, "build": None})}
            )
    except _Unresolved as exc:
        return StepOutcome(
            index, actor, op, "", _describe(step.expect), f"unplayable: {exc}", False, str(exc)
        )
    outcome = _operate(iut, index, step, tolerate)
    if outcome.ok and outcome.found_code is None:
        results[index] = outcome.answer
    return outcome


def _operate(iut: IUT, index: int, step: ActionStep, tolerate: Tolerate | None) -> StepOutcome:
    actor, op = step.actor, step.op
    if isinstance(step, RoleStep):
        role_args = step.args
        answer, refusal = _call(lambda: iut.call(op, role_args), op)
        summary = " ".join(
            f"{key}={value}"
            for key, value in sorted(role_args.items())
            if isinstance(value, str | int) and not isinstance(value, bool)
        )
    elif isinstance(step, SubmitBlockStep):
        a = step.args
        answer, refusal = _call(lambda: iut.submit_block(a.chain, a.block, a.wire_text()), op)
        summary = f"chain={a.chain}"
    elif isinstance(step, SubmitTxStep):
        t = step.args
        answer, refusal = _call(
            lambda: iut.submit_tx(t.chain, t.tx, t.wire_text(), t.block_time), op
        )
        summary = f"chain={t.chain} block_time={t.block_time}"
    elif isinstance(step, ReopenStep):
        rows = [row.model_dump(mode="json") for row in step.args.stored]
        answer, refusal = _call(lambda: iut.reopen(rows), op)
        summary = f"stored={len(rows)}"
    else:
        v = step.args
        answer, refusal = _call(lambda: iut.validate(v.message, v.wire_text(), v.with_pki), op)
        summary = f"with_pki={str(v.with_pki).lower()}"
    return _judge(
        index,
        actor=actor,
        op=op,
        summary=summary,
        expect=step.expect,
        answer=answer,
        refusal=refusal,
        tolerate=tolerate,
    )


def _genesis_root(setup: ScenarioSetup) -> Callable[[], x509.Certificate]:
    """The genesis root, the trust anchor a relying party verifies bundles with (read once,
    when a step first needs it)."""
    cached: list[x509.Certificate] = []

    def root() -> x509.Certificate:
        if not cached:
            try:
                cached.append(CertificateDirectory.from_json(setup.genesis.pki).root)
            except IoMEError as exc:
                raise _Broke(
                    f"check_bundle: the genesis PKI has no root ({exc})", broken=False
                ) from None
        return cached[0]

    return root


def _bundle_verdict(iut: IUT, a: TxArgs, anchor: x509.Certificate) -> tuple[str, str]:
    """What the IUT's bundle of ``a.tx_id`` is: ``valid``, ``absent``, or the id the
    reference's verifier refuses it with (a bundle of another transaction: IOME-EVB-003)."""
    answer, refusal = _call(
        lambda: iut.call("evidence_bundle", {"chain": a.chain, "tx_id": a.tx_id}),
        "evidence_bundle",
    )
    if refusal is not None:
        return f"reject {refusal.req_id}", f"evidence_bundle refused: {refusal.message}"
    bundle = answer.get("bundle") if isinstance(answer, Mapping) else None
    if bundle is None:
        if not isinstance(answer, Mapping) or "bundle" not in answer:
            raise _Broke(
                f"evidence_bundle answered {_compact(answer)[:200]}, not {{bundle}}", broken=False
            )
        return "absent", ""
    try:
        verified = verify_bundle(bundle, anchor)
    except Rejected as exc:
        return f"reject {exc.req_id}", exc.message
    if (verified.tx.tx_id, verified.bundle.chain) != (a.tx_id, a.chain):
        return "reject IOME-EVB-003", (
            f"tx_id: expected {a.tx_id[:16]} on {a.chain}, found {verified.tx.tx_id[:16]} on "
            f"{verified.bundle.chain}"
        )
    return "valid", ""


def _trip_verdict(iut: IUT, a: TripUnlinkedArgs, results: Mapping[int, Any]) -> tuple[str, str]:
    """Whether the Trip's nonce is derived from what it hides (rules.mobility)."""
    try:
        resolved = _resolve(a.model_dump(mode="json"), results)
    except _Unresolved as exc:
        return f"unplayable: {exc}", str(exc)
    trip = resolved["trip"]
    if trip is None:
        answer, refusal = _call(lambda: iut.get_tx(str(a.chain), str(a.tx_id)), "get_tx")
        if refusal is not None:
            return f"reject {refusal.req_id}", f"get_tx refused: {refusal.message}"
        trip = answer.get("tx") if isinstance(answer, Mapping) else None
        if trip is None:
            return "absent", f"get_tx {a.chain} {str(a.tx_id)[:16]}: no such record"
    try:
        parsed = [parse_message(resolved[name]) for name in ("claim", "source", "destination")]
        found = parse_message(trip)
    except Rejected as exc:
        return f"reject {exc.req_id}", f"not a message: {exc.message}"
    claim, source, destination = parsed
    if not (
        isinstance(found, Trip)
        and isinstance(claim, TripClaim)
        and isinstance(source, Presence)
        and isinstance(destination, Presence)
    ):
        raise _Broke(
            "check_trip_unlinked: args are no Trip, TripClaim and two Presences", broken=False
        )
    try:
        check_trip_nonce_unlinked(found, claim, source, destination, a.private_keys)
    except Rejected as exc:
        return f"reject {exc.req_id}", exc.message
    return "unlinked", ""


def _check_evidence_of(
    iut: IUT,
    index: int,
    step: CheckBundleStep | CheckTripUnlinkedStep,
    results: Mapping[int, Any],
    anchor: Callable[[], x509.Certificate] | None,
) -> StepOutcome:
    """A check a relying party makes with the reference's rules on what the IUT answers."""
    if isinstance(step, CheckBundleStep):
        if anchor is None:
            raise _Broke("check_bundle: no trust anchor", broken=False)
        a = step.args
        actual, detail = _bundle_verdict(iut, a, anchor())
        summary = f"chain={a.chain} tx_id={a.tx_id[:16]}"
    else:
        actual, detail = _trip_verdict(iut, step.args, results)
        summary = "trip" if step.args.tx_id is None else f"tx_id={step.args.tx_id[:16]}"
    expected = _describe(step.expect) if isinstance(step.expect, Reject) else step.expect
    expected_code = step.expect.reject if isinstance(step.expect, Reject) else None
    found_code = actual.removeprefix("reject ") if actual.startswith("reject ") else None
    return StepOutcome(
        index,
        step.actor,
        step.op,
        summary,
        expected,
        actual,
        expected == actual,
        detail,
        expected_code,
        found_code,
    )


def _check(
    iut: IUT,
    index: int,
    step: CheckHeadStep | CheckTxStep | CheckEvidenceStep,
    marks: dict[int, int],
) -> StepOutcome:
    if isinstance(step, CheckHeadStep):
        chain = step.args.chain
        answer, refusal = _call(lambda: iut.head(chain), "head")
        actual = f"reject {refusal.req_id}" if refusal else _head_of(answer)
        expected = f"height {step.expect.height} block_hash {step.expect.block_hash}"
        summary = f"chain={chain}"
    elif isinstance(step, CheckTxStep):
        a = step.args
        answer, refusal = _call(lambda: iut.get_tx(a.chain, a.tx_id), "get_tx")
        if refusal is not None:
            actual = f"reject {refusal.req_id}"
        elif isinstance(answer, Mapping) and "tx" in answer:
            actual = "absent" if answer["tx"] is None else "present"
        else:
            raise _Broke(f"get_tx answered {_compact(answer)[:200]}, not {{tx}}", broken=False)
        expected, summary = step.expect, f"chain={a.chain} tx_id={a.tx_id[:16]}"
    else:
        codes = _evidence_codes(iut)[marks.get(step.args.since_step, 0) :]
        actual = f"evidence {sorted(codes)}"
        expected = f"evidence {sorted(step.expect.codes)}"
        summary = f"since_step={step.args.since_step}"
    return StepOutcome(index, step.actor, step.op, summary, expected, actual, expected == actual)


def execute(
    scenario: Scenario,
    iut: IUT,
    *,
    seed: int | None = None,
    manifest: Mapping[str, Any] | None = None,
    tolerate: Tolerate | None = None,
) -> ReplayResult:
    """Play ``scenario`` on ``iut``: reset from its set-up (step 0), then every step in order,
    stopping at the first divergence. Deterministic: no clock, no randomness.

    ``seed`` overrides the scenario's seed for ``reset``; ``manifest`` (``hello()``) turns a
    missing capability into ``skip``; ``tolerate`` may accept a refusal-id mismatch.
    """
    if manifest is not None:
        missing = missing_capabilities(scenario, manifest)
        if missing:
            return ReplayResult(scenario, "skip", (), "the manifest lacks " + ", ".join(missing))
    setup = scenario.setup
    genesis = setup.genesis.model_dump(mode="json")
    keys = {name: key.model_dump(mode="json") for name, key in setup.keys.items()}
    run_seed = scenario.metadata.seed if seed is None else seed
    marks = {step.args.since_step for step in scenario.steps if isinstance(step, CheckEvidenceStep)}
    played: list[StepOutcome] = []
    try:
        answer, refusal = _call(lambda: iut.reset(run_seed, genesis, keys), "reset")
        outcome = _judge(
            0,
            actor="harness",
            op="reset",
            summary=f"seed={run_seed}",
            expect=setup.expect,
            answer=answer,
            refusal=refusal,
            tolerate=tolerate,
        )
        played.append(replace(outcome, request=_compact({"seed": run_seed})))
        if not outcome.ok:
            return ReplayResult(scenario, "diverged", tuple(played))
        if refusal is not None:
            # The genesis is refused as expected: there is no state to play the steps on.
            return ReplayResult(scenario, "pass", tuple(played))
        evidence_at: dict[int, int] = {}
        results: dict[int, Any] = {}
        signers = {name: _key_pair(key.private_key) for name, key in setup.keys.items()}
        anchor = _genesis_root(setup)
        for index, step in enumerate(scenario.steps, start=1):
            if index in marks:
                evidence_at[index] = len(_evidence_codes(iut))
            outcome = _play(
                iut,
                index,
                step,
                evidence_at,
                tolerate,
                keys=signers,
                results=results,
                anchor=anchor,
            )
            played.append(replace(outcome, request=_compact(_args_json(step))))
            if not outcome.ok:
                return ReplayResult(scenario, "diverged", tuple(played))
    except _Broke as exc:
        return ReplayResult(scenario, "error", tuple(played), exc.reason, exc.broken)
    return ReplayResult(scenario, "pass", tuple(played))


def format_trace(result: ReplayResult, *, verbose: bool = False) -> list[str]:
    """The lines ``iome replay`` prints: one per step, and the divergence with both sides.

    ``verbose`` (``--trace``) adds each request's arguments and the reply, as compact JSON.
    """
    lines = [f"scenario {result.scenario.metadata.id}"]
    for step in result.steps:
        mark = "ok" if step.ok else "DIVERGED"
        if step.relaxed is not None:
            mark = f"relaxed ({step.relaxed})"
        lines.append(
            f"  step {step.index} {step.actor} {step.op} {step.summary}: "
            f"expect {step.expected}, got {step.actual}: {mark}"
        )
        if verbose:
            lines.append(f"    request {step.request}")
            if step.reply:
                lines.append(f"    reply {step.reply}")
        if not step.ok:
            lines.append(f"    expected: {step.expected}")
            lines.append(
                f"    actual:   {step.actual}" + (f" ({step.detail})" if step.detail else "")
            )
    if result.status == "error":
        lines.append(f"  error: {result.reason}")
    elif result.status == "skip":
        lines.append(f"  skip: {result.reason}")
    lines.append(f"result {result.status}")
    return lines
