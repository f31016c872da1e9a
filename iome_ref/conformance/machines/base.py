"""The base of the conformance state machines: drive an IUT and the reference side by side.

A machine (issue 13 §2) is a Hypothesis ``RuleBasedStateMachine`` whose rules build signed
inputs in a seeded world (``iome_ref.vectors.builders``) and hand each one to both nodes through
the IUT interface only. The reference is the oracle: the IUT must accept what it accepts,
refuse with the same id what it refuses, and keep the same heads and the same evidence. Rules
stay thin (STYLE §7): they say what to send, never how a node judges it; where a rule is
adversarial it also asserts that the reference refused, so a machine checks the oracle too.

Every step the machine plays is kept as a scenario step whose expectation is the reference's
answer, so a failing run becomes a scenario file ``iome replay`` reproduces. Every rule counts
how often it ran and how often its precondition held; the coverage gate of :func:`run_machine`
refuses a run in which some rule never ran.

What must not live here: the invariant families' rules (integrity.py, sybil.py), verdicts and
reports (runner.py).
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from hypothesis.stateful import RULE_MARKER, RuleBasedStateMachine, invariant, precondition

from iome_ref.conformance.adapters.inproc import ReferenceIUT
from iome_ref.conformance.iut import IUT, JsonObject
from iome_ref.conformance.scenarios import (
    ActionStep,
    ChainArgs,
    CheckEvidenceStep,
    CheckHeadStep,
    CheckStep,
    EvidenceCodes,
    Expectation,
    HeadState,
    Reject,
    ReopenArgs,
    ReopenStep,
    ResultSubset,
    RoleStep,
    SinceArgs,
    SubmitBlockArgs,
    SubmitBlockStep,
    actor_keys,
    result_matches,
)
from iome_ref.constants import TRIP_QUORUM, ZERO_HASH
from iome_ref.encoding import canonical_json
from iome_ref.errors import Rejected
from iome_ref.models import Block, SignedModel
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.runner import StoredRow
from iome_ref.vectors.world import CHAINS, World, build_world

__all__ = [
    "Coverage",
    "Divergence",
    "DualMachine",
    "Outcome",
    "counted",
    "genesis_of",
    "guarded",
    "world_of",
]

F = TypeVar("F", bound=Callable[..., Any])


@functools.lru_cache(maxsize=4)
def world_of(seed: int) -> World:
    """The world of a run's seed, built once per seed (certificates take a while)."""
    return build_world(seed)


@functools.lru_cache(maxsize=4)
def _genesis_text(seed: int) -> str:
    world = world_of(seed)
    return json.dumps(
        {
            "pki": world.directory.to_json(),
            "travel_times": [[a, b, s] for (a, b), s in sorted(world.travel.items())],
            "quorum": TRIP_QUORUM,
            "chains": dict(CHAINS),
        }
    )


def genesis_of(seed: int) -> JsonObject:
    """``reset``'s genesis for the world of ``seed``: the form of a vector file's context."""
    document: JsonObject = json.loads(_genesis_text(seed))
    return document


@dataclass
class Coverage:
    """How often each rule ran and each rule's precondition was asked and held, over a run."""

    ran: Counter[str] = field(default_factory=Counter)
    asked: Counter[str] = field(default_factory=Counter)
    held: Counter[str] = field(default_factory=Counter)

    def gaps(self, rules: Sequence[str]) -> list[str]:
        """The rules that never ran, each with how often its precondition held."""
        return [
            f"{name} never ran (precondition held {self.held[name]} of {self.asked[name]})"
            if name in self.asked
            else f"{name} never ran"
            for name in rules
            if not self.ran[name]
        ]

    def lines(self, rules: Sequence[str]) -> list[str]:
        return [
            f"{name}: ran {self.ran[name]}"
            + (
                f", precondition held {self.held[name]}/{self.asked[name]}"
                if name in self.asked
                else ""
            )
            for name in rules
        ]


def counted(function: F) -> F:
    """Count every run of a rule (put it under ``@rule``)."""

    @functools.wraps(function)
    def run(self: DualMachine, *args: Any, **kwargs: Any) -> Any:
        self.coverage.ran[function.__name__] += 1
        return function(self, *args, **kwargs)

    return run  # type: ignore[return-value]


def guarded(predicate: Callable[[Any], bool]) -> Callable[[F], F]:
    """A counted rule with a precondition whose outcomes are counted too."""

    def wrap(function: F) -> F:
        name = function.__name__

        def check(self: DualMachine) -> bool:
            held = bool(predicate(self))
            self.coverage.asked[name] += 1
            self.coverage.held[name] += held
            return held

        return precondition(check)(counted(function))

    return wrap


@dataclass(frozen=True)
class Outcome:
    """What the reference answered to one step: its reply, or the id it refused with."""

    reply: JsonObject | None
    code: str | None

    @property
    def accepted(self) -> bool:
        return self.code is None


class Divergence(AssertionError):
    """The IUT answered a step differently from the reference (the step is the last kept)."""


def _expectation(outcome: Outcome) -> Expectation:
    return "accept" if outcome.code is None else Reject(reject=outcome.code)


def _ask(action: Callable[[], JsonObject]) -> Outcome:
    try:
        return Outcome(action(), None)
    except Rejected as exc:
        return Outcome(None, exc.req_id)


class DualMachine(RuleBasedStateMachine):
    """Plays each step on the IUT and on a fresh reference, and compares them.

    A run binds a subclass to its IUT, seed and coverage (:func:`bind`); Hypothesis makes one
    instance per example, and each instance resets both nodes from the seed's genesis.
    """

    #: Name of the machine's suite case, and the requirement ids its rules exercise.
    family: ClassVar[str] = ""
    title: ClassVar[str] = ""
    requirement_ids: ClassVar[tuple[str, ...]] = ()
    attacker_capabilities: ClassVar[tuple[str, ...]] = ()
    #: Optional ops (beyond the runner's MACHINE_OPS) the machine needs from the manifest; an
    #: IUT that does not list one is skipped, never passed.
    required_ops: ClassVar[tuple[str, ...]] = ()
    #: Set by :func:`bind`.
    iut: ClassVar[IUT]
    seed: ClassVar[int]
    coverage: ClassVar[Coverage]
    latest: ClassVar[DualMachine | None]
    #: Where the world's clock starts for this machine.
    start_time: ClassVar[int]
    #: The world's certified actors whose keys ``reset`` gives both nodes, for role ops.
    actors: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        super().__init__()
        type(self).latest = self
        self.world = world_of(self.seed)
        self.b = Builder(self.world)
        self.ref = ReferenceIUT()
        self.steps: list[ActionStep | CheckStep] = []
        self.now = self.start_time
        self.fresh = 0
        self.evidence_seen = 0
        self.restart()

    def restart(self) -> None:
        """Reset both nodes to the genesis and forget the steps played so far: a scenario
        starts from the genesis, so only steps after the last restart reproduce a failure."""
        genesis = genesis_of(self.seed)
        keys = self.reset_keys()
        self.ref.reset(self.seed, genesis, keys)
        self.iut.reset(self.seed, genesis, keys)
        self.steps.clear()
        self.evidence_seen = 0
        self.start_model()

    @classmethod
    def reset_keys(cls) -> JsonObject:
        """``reset``'s keys: the :attr:`actors` of the run's world."""
        return {
            name: key.model_dump(mode="json")
            for name, key in actor_keys(world_of(cls.seed), cls.actors).items()
        }

    def start_model(self) -> None:
        """Set the machine's model of what the chains hold to the genesis (subclasses)."""

    #: Outcomes inside rules that a run must also reach (``rule:outcome``, counted with
    #: :meth:`reached`): a rule that ran but never hit its fault path proves little.
    branches: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def rule_names(cls) -> list[str]:
        """The names of the machine's rules and branches (what the coverage gate asks about)."""
        return sorted(
            name
            for name in dir(cls)
            if getattr(getattr(cls, name, None), RULE_MARKER, None) is not None
        ) + list(cls.branches)

    def reached(self, branch: str) -> None:
        """Count one arrival at ``branch`` (one of :attr:`branches`)."""
        assert branch in self.branches, branch
        self.coverage.ran[branch] += 1

    # -- time and keys ---------------------------------------------------------------------

    def tick(self, seconds: int = 1) -> int:
        self.now += seconds
        return self.now

    def fresh_key(self, prefix: str = "ev") -> str:
        """A key name never used in this example (names repeat across examples, so the
        world's key cache stays bounded)."""
        self.fresh += 1
        return f"{prefix}-{self.fresh}/otk"

    # -- blocks ----------------------------------------------------------------------------

    def head(self, chain: str) -> tuple[int, str]:
        """The reference's head of ``chain``: (height, hash), (-1, zero hash) when empty."""
        head = self.ref.head(chain)
        return head["height"], head["block_hash"] or ZERO_HASH

    def next_block(
        self,
        chain: str,
        txs: Sequence[SignedModel],
        *,
        producer: str = "producer",
        at: tuple[int, str] | None = None,
        **over: Any,
    ) -> Block:
        """A signed block extending the reference's head of ``chain`` (or ``at``: the
        (height, hash) of the block to extend), at the machine's clock."""
        height, prev = self.head(chain) if at is None else at
        fields: dict[str, Any] = {
            "chain_id": chain,
            "height": height + 1,
            "prev_hash": prev,
            "time": self.now,
            "txs": list(txs),
        } | over
        return Block.create(self.b.key(producer), **fields)

    # -- playing steps ---------------------------------------------------------------------

    def _compare(self, step: ActionStep, ref: Outcome, iut: Outcome) -> None:
        step = step.model_copy(update={"expect": _expectation(ref)})
        self.steps.append(step)
        self._agree(step.op, ref, iut)

    def _agree(self, op: str, ref: Outcome, iut: Outcome) -> None:
        """The last step's answers must agree: both accepted, or refused with one id."""
        if ref.code != iut.code:
            raise Divergence(
                f"step {len(self.steps)} {op}: the reference "
                + ("accepts" if ref.accepted else f"refuses with {ref.code}")
                + ", the implementation "
                + ("accepts" if iut.accepted else f"refuses with {iut.code}")
            )

    def act(
        self,
        actor: str,
        op: str,
        args: JsonObject,
        pick: Callable[[JsonObject], JsonObject] | None = None,
    ) -> tuple[Outcome, Outcome]:
        """Both nodes play role op ``op``: they must agree on accept or the refusal id, and
        the IUT's result must hold ``pick`` of the reference's (the members the spec fixes;
        a Trip's nonce, for one, is the verifiers' random draw). Answers (reference, IUT)."""
        ref = _ask(lambda: self.ref.call(op, args))
        iut = _ask(lambda: self.iut.call(op, args))
        expect: Expectation = _expectation(ref)
        if ref.reply is not None and pick is not None:
            expect = ResultSubset(result=pick(ref.reply))
        self.steps.append(RoleStep(actor=actor, op=op, args=args, expect=expect))
        self._agree(op, ref, iut)
        if isinstance(expect, ResultSubset) and not result_matches(iut.reply, expect.result):
            raise Divergence(
                f"step {len(self.steps)} {op}: the implementation's result differs from "
                f"the reference's in {sorted(expect.result)}"
            )
        return ref, iut

    def submit_block(self, chain: str, block: Block | JsonObject) -> Outcome:
        """Both nodes judge ``block`` on ``chain``; they must agree, then on the head."""
        document = block.model_dump(mode="json") if isinstance(block, Block) else block
        ref = _ask(lambda: self.ref.submit_block(chain, document, None))
        iut = _ask(lambda: self.iut.submit_block(chain, document, None))
        step = SubmitBlockStep(
            actor="producer",
            op="submit_block",
            args=SubmitBlockArgs(chain=chain, block=document),
            expect="accept",
        )
        self._compare(step, ref, iut)
        self.check_head(chain)
        self.check_evidence()
        return ref

    def reopen(self, stored: Sequence[StoredRow]) -> Outcome:
        """Both nodes reopen after ``stored`` rows were appended to their stores."""
        rows = [row.model_dump(mode="json") for row in stored]
        ref = _ask(lambda: self.ref.reopen(rows))
        iut = _ask(lambda: self.iut.reopen(rows))
        step = ReopenStep(
            actor="disk", op="reopen", args=ReopenArgs(stored=list(stored)), expect="accept"
        )
        self._compare(step, ref, iut)
        for chain in sorted({row.chain for row in stored}):
            self.check_head(chain)
        return ref

    @staticmethod
    def stored_row(block: Block, body_text: str | None = None) -> StoredRow:
        """``block`` as a store row; ``body_text`` replaces its bytes (a disk edit)."""
        body = canonical_json(block.model_dump(mode="json")).decode()
        return StoredRow(
            chain=block.chain_id,
            height=block.height,
            block_hash=block.block_hash,
            body_text=body if body_text is None else body_text,
        )

    def check_head(self, chain: str) -> None:
        """The heads must agree; the check is kept as a step."""
        ref, iut = self.ref.head(chain), self.iut.head(chain)
        expect = HeadState(height=ref["height"], block_hash=ref["block_hash"])
        self.steps.append(
            CheckHeadStep(
                actor="harness", op="check_head", args=ChainArgs(chain=chain), expect=expect
            )
        )
        if (iut.get("height"), iut.get("block_hash")) != (ref["height"], ref["block_hash"]):
            raise Divergence(
                f"step {len(self.steps)} check_head {chain}: reference {ref}, implementation {iut}"
            )

    def check_evidence(self) -> None:
        """The evidence recorded since the last action must agree (codes and both parts)."""
        ref = self.ref.evidence()["evidence"]
        iut = self.iut.evidence().get("evidence")
        since = len(self.steps) - 1  # the action step before the head check
        if since >= 1 and (ref[self.evidence_seen :] or iut != ref):
            self.steps.append(
                CheckEvidenceStep(
                    actor="harness",
                    op="check_evidence",
                    args=SinceArgs(since_step=since),
                    expect=EvidenceCodes(codes=[row["code"] for row in ref[self.evidence_seen :]]),
                )
            )
        self.evidence_seen = len(ref)
        if iut != ref:
            raise Divergence(
                f"step {len(self.steps)} check_evidence: reference "
                f"{[row['code'] for row in ref]}, implementation "
                f"{[row.get('code') for row in iut or []]}"
            )

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def heads_never_diverge(self) -> None:
        for chain in CHAINS:
            ref, iut = self.ref.head(chain), self.iut.head(chain)
            if (iut.get("height"), iut.get("block_hash")) != (ref["height"], ref["block_hash"]):
                self.check_head(chain)

    def teardown(self) -> None:
        self.ref.close()
