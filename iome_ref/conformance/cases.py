"""The cases a conformance run plays, each as a :class:`Scenario`: the vectors of spec/vectors/
and, for the thorough profile, variants of them.

A vector case becomes: reset with the file's context (a case's own ``pki`` replaces it), one
``submit_block`` per setup block, the input (``submit_block`` for a Block, ``submit_tx`` for a
transaction, ``reopen`` for ``stored`` rows) expecting the case's verdict, and a
``check_evidence`` step for the evidence recorded from the input on.

What must not live here: running cases (runner.py). The one piece of reference knowledge used
is where a case's own PKI is judged: the vector says which id, the spec (certificates.md,
"Loading a directory") says whether loading already refuses it, and the reference's loader is
that rule's executable form.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from iome_ref.conformance.scenarios import (
    CheckEvidenceStep,
    EvidenceCodes,
    Expectation,
    Reject,
    ReopenArgs,
    ReopenStep,
    Scenario,
    ScenarioMetadata,
    ScenarioSetup,
    SinceArgs,
    SubmitBlockArgs,
    SubmitBlockStep,
    SubmitTxArgs,
    SubmitTxStep,
    generator_name,
)
from iome_ref.conformance.verdicts import validation_path
from iome_ref.errors import IoMEError, UsageError
from iome_ref.pki import CertificateDirectory
from iome_ref.vectors.runner import VectorCase, VectorContext

__all__ = [
    "SUITE_TEXT",
    "SUITE_VECTORS",
    "ConformanceCase",
    "load_vector_cases",
    "scenario_from_vector",
    "text_variant",
]

SUITE_VECTORS: Final = "vectors"
#: Thorough: each JSON-object input again as compact wire text (same message, same verdict).
SUITE_TEXT: Final = "vectors-as-text"
_COMPONENT: Final = "conformance"
_VECTOR_FORMAT: Final = "iome-vectors/1"


@dataclass(frozen=True)
class ConformanceCase:
    """One case of a run: where it comes from, the ids it is about, and its scenario."""

    case_id: str
    suite: str
    source: str
    requirement_ids: tuple[str, ...]
    #: For a valid case: the ids its file rejects with (it is their accepting check).
    accepting_for: tuple[str, ...]
    scenario: Scenario
    #: A state-machine case: the machine's family (machines/); its scenario is the set-up
    #: only until a failing run fills in the steps it played.
    machine: str | None = None


def _expectation(case: VectorCase) -> Expectation:
    if case.expected == "valid":
        return "accept"
    if case.req_id is None:
        raise UsageError(_COMPONENT, f"case {case.id}: invalid without req_id")
    return Reject(reject=case.req_id)


def _is_block_text(text: str) -> bool:
    """Whether wire text looks like a Block: it goes to ``submit_block``, the rest to
    ``submit_tx``. Undecodable text is a transaction: the IUT refuses it while decoding."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return isinstance(document, dict) and document.get("type") == "Block"


def _input_step(
    case: VectorCase, expect: Expectation
) -> SubmitBlockStep | SubmitTxStep | ReopenStep:
    if case.stored:
        return ReopenStep(
            actor="disk", op="reopen", args=ReopenArgs(stored=list(case.stored)), expect=expect
        )
    text, pad, obj = case.input_text, case.pad, case.input
    if text is None and not isinstance(obj, dict):
        # Not an object at all: only its text can be sent.
        text, obj = json.dumps(obj), None
    is_block = _is_block_text(text) if text is not None else obj.get("type") == "Block"
    if is_block:
        return SubmitBlockStep(
            actor="producer",
            op="submit_block",
            args=SubmitBlockArgs(chain=case.chain, block=obj, text=text, pad=pad),
            expect=expect,
        )
    return SubmitTxStep(
        actor="submitter",
        op="submit_tx",
        args=SubmitTxArgs(chain=case.chain, tx=obj, text=text, pad=pad, block_time=case.block_time),
        expect=expect,
    )


def _genesis_refused(pki: dict[str, Any]) -> bool:
    try:
        CertificateDirectory.from_json(pki)
    except IoMEError:
        return True
    return False


def scenario_from_vector(
    case: VectorCase,
    context: VectorContext,
    *,
    seed: int,
    spec_hash: str,
    scenario_id: str | None = None,
) -> Scenario:
    """The scenario that plays one vector case (spec/vectors/README.md, "Running a case")."""
    expect = _expectation(case)
    requirement_ids = sorted({*([case.req_id] if case.req_id else []), *case.evidence})
    metadata = ScenarioMetadata(
        id=scenario_id or case.id,
        title=case.comment or case.id,
        origin="vector",
        requirement_ids=requirement_ids,
        attacker_capabilities=list(case.flags),
        seed=seed,
        spec_hash=spec_hash,
        generator=generator_name(),
    )
    genesis = context if case.pki is None else context.model_copy(update={"pki": case.pki})
    if case.pki is not None and expect != "accept" and _genesis_refused(case.pki):
        setup = ScenarioSetup(genesis=genesis, expect=expect)
        return Scenario(metadata=metadata, setup=setup, steps=[])
    steps: list[Any] = [
        SubmitBlockStep(
            actor="producer",
            op="submit_block",
            args=SubmitBlockArgs(chain=str(block.get("chain_id", case.chain)), block=block),
            expect="accept",
        )
        for block in case.setup
    ]
    steps.append(_input_step(case, expect))
    steps.append(
        CheckEvidenceStep(
            actor="harness",
            op="check_evidence",
            args=SinceArgs(since_step=len(steps)),
            expect=EvidenceCodes(codes=list(case.evidence)),
        )
    )
    return Scenario(metadata=metadata, setup=ScenarioSetup(genesis=genesis), steps=steps)


def text_variant(case: ConformanceCase) -> ConformanceCase | None:
    """The case with its JSON-object input sent as compact wire text, or None when the input
    already is text or stored rows. The bytes are a plain JCS-free serialisation of the same
    object, so an implementation must reach the same verdict (encoding.md, "Decoding")."""
    steps = list(case.scenario.steps)
    if len(steps) < 2:
        return None
    # The input is the step before the closing check_evidence (scenario_from_vector).
    index = len(steps) - 2
    step = steps[index]
    if isinstance(step, SubmitTxStep) and step.args.tx is not None:
        text = json.dumps(step.args.tx, separators=(",", ":"), ensure_ascii=False)
        args: Any = step.args.model_copy(update={"tx": None, "text": text})
    elif isinstance(step, SubmitBlockStep) and step.args.block is not None:
        text = json.dumps(step.args.block, separators=(",", ":"), ensure_ascii=False)
        args = step.args.model_copy(update={"block": None, "text": text})
    else:
        return None
    steps[index] = step.model_copy(update={"args": args})
    case_id = f"{case.case_id}+text"
    metadata = case.scenario.metadata.model_copy(update={"id": case_id})
    scenario = case.scenario.model_copy(update={"metadata": metadata, "steps": steps})
    return ConformanceCase(
        case_id, SUITE_TEXT, case.source, case.requirement_ids, case.accepting_for, scenario
    )


def load_vector_cases(spec_dir: Path, seed: int) -> list[ConformanceCase]:
    """Every case of ``spec_dir/vectors/*.json``, files in name order, cases in file order.

    Raises:
        UsageError: a file that is not a vector file, or a case not in the format.
    """
    found: list[ConformanceCase] = []
    paths = sorted((spec_dir / "vectors").glob("*.json"))
    if not paths:
        raise UsageError(_COMPONENT, f"no vector files in {spec_dir / 'vectors'}")
    for path in paths:
        document = json.loads(path.read_text("utf-8"))
        if not isinstance(document, dict) or document.get("format") != _VECTOR_FORMAT:
            raise UsageError(_COMPONENT, f"{path}: not an {_VECTOR_FORMAT} file")
        try:
            context = VectorContext.model_validate(document["context"])
            cases = [VectorCase.model_validate(case) for case in document["cases"]]
        except (KeyError, ValidationError) as exc:
            where = validation_path(exc)[0] if isinstance(exc, ValidationError) else str(exc)
            raise UsageError(_COMPONENT, f"{path}: {where} is not in the vector format") from None
        rejecting = tuple(
            sorted({c.req_id for c in cases if c.req_id} | {e for c in cases for e in c.evidence})
        )
        for case in cases:
            scenario = scenario_from_vector(
                case, context, seed=seed, spec_hash=str(document.get("spec_hash", "0" * 64))
            )
            ids = tuple(scenario.metadata.requirement_ids)
            accepting = rejecting if case.expected == "valid" else ()
            found.append(
                ConformanceCase(case.id, SUITE_VECTORS, path.name, ids, accepting, scenario)
            )
    return found
