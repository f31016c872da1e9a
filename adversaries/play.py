"""How an attack is written and judged: scenarios built step by step, played through the IUT.

An attack is a handful of :class:`Script` values, one per variant ("presence signed with
st-b's key for st-a"). A script is a scenario under construction: it starts from the seed's
world (the genesis of :func:`iome_ref.conformance.machines.base.genesis_of`), tracks the heads
of the blocks it expects a correct node to accept, and records every step with the answer a
correct node gives. :func:`judge` plays the scripts on the IUT with
:func:`iome_ref.conformance.scenarios.execute` and turns every divergence into a
:class:`Finding` whose scenario replays it; a script that passes was blocked (or, for a
``leaks`` script, measured).

What must not live here: knowledge of how a node judges (the expectations are the spec's,
written by each attack), running several adversaries (runner.py).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from adversaries.base import (
    Adversary,
    AttackResult,
    Capability,
    Finding,
    Outcome,
)
from iome_ref.conformance.iut import IUT
from iome_ref.conformance.machines.base import DualMachine, genesis_of, world_of
from iome_ref.conformance.scenarios import (
    REF_KEY,
    ActionStep,
    BlockBuild,
    ChainArgs,
    CheckBundleStep,
    CheckEvidenceStep,
    CheckHeadStep,
    CheckStep,
    CheckTxStep,
    EvidenceCodes,
    Expectation,
    HeadState,
    Reject,
    ReopenArgs,
    ReopenStep,
    ReplayResult,
    ResultSubset,
    RoleStep,
    Scenario,
    ScenarioMetadata,
    ScenarioSetup,
    SinceArgs,
    StepOutcome,
    SubmitBlockArgs,
    SubmitBlockStep,
    SubmitTxArgs,
    SubmitTxStep,
    TxArgs,
    actor_keys,
    execute,
    generator_name,
)
from iome_ref.constants import ZERO_HASH
from iome_ref.models import Block, SignedModel
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.runner import StoredRow, VectorContext
from iome_ref.vectors.spec_index import compute_spec_hash, default_spec_dir
from iome_ref.vectors.world import World

__all__ = [
    "Measure",
    "Script",
    "capabilities",
    "insert_steps",
    "judge",
    "leak_count",
    "spec_hash",
    "world",
]

_IDS: Final = re.compile(r"IOME-[A-Z]+-\d{3}")
#: How much of an implementation's refusal message a finding keeps: the message is free text
#: of any length (up to a wire line), the id is what counts.
_DETAIL_CHARS: Final = 300
Step = ActionStep | CheckStep


@functools.lru_cache(maxsize=1)
def spec_hash() -> str:
    """The hash of the spec text the expectations come from (written into every scenario)."""
    return compute_spec_hash(default_spec_dir())


def world(seed: int) -> World:
    """The seeded world every attack of a run builds its messages in (cached per seed)."""
    return world_of(seed)


def _expect(reject: str | None) -> Expectation:
    return "accept" if reject is None else Reject(reject=reject)


@dataclass
class Script:
    """One attack variant as a scenario under construction.

    Every action takes ``reject``: the id a correct node refuses the step with, or ``None``
    when a correct node accepts it. A block expected to be accepted moves the script's head of
    its chain, so the next block extends it. ``leak`` marks steps whose acceptance is what the
    protocol cannot prevent: :func:`leak_count` counts how many of them the IUT accepted.
    """

    adversary: Adversary
    variant: str
    title: str
    seed: int
    requirement_ids: tuple[str, ...]
    start: int
    steps: list[Step] = field(default_factory=list)
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    leaks: list[int] = field(default_factory=list)
    now: int = 0
    #: Certified actors (vectors.world.ACTORS names) whose keys ``reset`` gives the IUT, for
    #: role steps and built blocks.
    keys: list[str] = field(default_factory=list)
    #: Chains whose head only the IUT knows (a block it built holds a result, such as a Trip
    #: with the verifiers' nonce): no local block or head check on them afterwards.
    unknown_heads: set[str] = field(default_factory=set)
    #: Check step (or role step expecting a result) -> the requirement id its failure counts
    #: against.
    blame: dict[int, str] = field(default_factory=dict)
    #: Chains the genesis declares beyond the world's (id -> kind), e.g. a second consortium.
    extra_chains: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.now = self.start
        self.b = Builder(world(self.seed))

    # -- time and keys ---------------------------------------------------------------------

    def tick(self, seconds: int = 1) -> int:
        self.now += seconds
        return self.now

    # -- blocks ----------------------------------------------------------------------------

    def head(self, chain: str) -> tuple[int, str]:
        """The head a correct node has for ``chain`` after the accepted steps so far."""
        if chain in self.unknown_heads:
            raise ValueError(f"{self.variant}: the head of {chain} is the IUT's (built blocks)")
        return self.heads.get(chain, (-1, ZERO_HASH))

    def block(
        self,
        chain: str,
        txs: Sequence[SignedModel],
        *,
        producer: str = "producer",
        at: tuple[int, str] | None = None,
        time: int | None = None,
        **over: Any,
    ) -> Block:
        """A signed block extending the script's head of ``chain`` (or ``at``)."""
        height, prev = self.head(chain) if at is None else at
        # The clock never runs behind a block already made: the next one may not go back.
        self.now = max(self.now, time or 0)
        fields: dict[str, Any] = {
            "chain_id": chain,
            "height": height + 1,
            "prev_hash": prev,
            "time": self.tick() if time is None else time,
            "txs": list(txs),
        } | over
        return Block.create(self.b.key(producer), **fields)

    # -- steps -----------------------------------------------------------------------------

    @property
    def last(self) -> int:
        """The number of the step added last (steps count from 1)."""
        return len(self.steps)

    def _add(self, step: Step, *, leak: bool = False, req_id: str | None = None) -> int:
        """Append ``step``; ``req_id`` is the rule it counts against when it diverges without
        naming one (default: the script's first id). Its step number."""
        self.steps.append(step)
        if leak:
            self.leaks.append(len(self.steps))
        if req_id is not None:
            self.blame[len(self.steps)] = req_id
        return len(self.steps)

    def submit_block(
        self,
        chain: str,
        block: Block | dict[str, Any],
        reject: str | None = None,
        *,
        actor: str = "producer",
        leak: bool = False,
    ) -> int:
        """A block step; a block expected accepted becomes the chain's head. Its step number."""
        document = block.model_dump(mode="json") if isinstance(block, Block) else block
        step = SubmitBlockStep(
            actor=actor,
            op="submit_block",
            args=SubmitBlockArgs(chain=chain, block=document),
            expect=_expect(reject),
        )
        if reject is None:
            self.heads[chain] = (int(document["height"]), str(document["block_hash"]))
        return self._add(step, leak=leak)

    def append(
        self,
        chain: str,
        txs: Sequence[SignedModel],
        reject: str | None = None,
        *,
        actor: str = "producer",
        leak: bool = False,
        **over: Any,
    ) -> Block:
        """The next block of ``chain`` holding ``txs``, submitted; the block."""
        block = self.block(chain, txs, **over)
        self.submit_block(chain, block, reject, actor=actor, leak=leak)
        return block

    def submit_tx(
        self,
        chain: str,
        tx: SignedModel | dict[str, Any],
        reject: str | None = None,
        *,
        actor: str = "submitter",
        block_time: int | None = None,
        leak: bool = False,
    ) -> int:
        """A dry-run transaction step (the state is unchanged). Its step number."""
        document = tx.model_dump(mode="json") if isinstance(tx, SignedModel) else tx
        step = SubmitTxStep(
            actor=actor,
            op="submit_tx",
            args=SubmitTxArgs(
                chain=chain,
                tx=document,
                block_time=self.tick() if block_time is None else block_time,
            ),
            expect=_expect(reject),
        )
        return self._add(step, leak=leak)

    def reopen(
        self, rows: Sequence[StoredRow] = (), reject: str | None = None, *, actor: str = "disk"
    ) -> int:
        """The node closes and reopens from its store after ``rows`` were appended unchecked
        (no rows: a crash and restart). Rows expected accepted move the heads."""
        step = ReopenStep(
            actor=actor, op="reopen", args=ReopenArgs(stored=list(rows)), expect=_expect(reject)
        )
        if reject is None:
            for row in rows:
                self.heads[row.chain] = (row.height, row.block_hash)
        return self._add(step)

    def role(
        self,
        op: str,
        args: dict[str, Any],
        reject: str | None = None,
        *,
        actor: str,
        result: dict[str, Any] | None = None,
        leak: bool = False,
        req_id: str | None = None,
    ) -> int:
        """A role step (spec/scenarios.md, "Role steps"); ``result`` asks the accepted result
        to hold these members, and ``req_id`` is the rule a wrong result counts against. Its
        step number, for :meth:`ref`."""
        expect: Any = _expect(reject) if result is None else ResultSubset(result=result)
        step = RoleStep.model_validate({"actor": actor, "op": op, "args": args, "expect": expect})
        return self._add(step, leak=leak, req_id=req_id)

    def dock(self, station: str, vehicle: str, key: str, t: int) -> str:
        """A vehicle docks at ``station`` (an actor given at reset) showing the one-time key
        named ``key`` at ``t``: the key's public hex."""
        if station not in self.keys:
            self.keys.append(station)
        public = self.b.key(key).public_hex
        args = {"station": station, "vehicle": vehicle, "one_time_pk": public, "t": t}
        self.role("station_dock", args, actor="vehicle")
        return public

    @staticmethod
    def ref(step: int, path: str = "") -> dict[str, Any]:
        """A reference to a member of an earlier step's result (``{"$from", "path"}``)."""
        return {REF_KEY: step, "path": path}

    def build(
        self,
        chain: str,
        txs: list[Any] | dict[str, Any],
        reject: str | None = None,
        *,
        producer: str = "producer",
        time: int | None = None,
        actor: str = "producer",
        leak: bool = False,
    ) -> int:
        """A block the harness builds at play time over ``txs`` (references allowed), on the
        IUT's head of ``chain``; that head is the IUT's from now on."""
        if producer not in self.keys:
            self.keys.append(producer)
        build = BlockBuild(producer=producer, time=self.tick() if time is None else time, txs=txs)
        step = SubmitBlockStep(
            actor=actor,
            op="submit_block",
            args=SubmitBlockArgs(chain=chain, build=build),
            expect=_expect(reject),
        )
        if reject is None:
            self.unknown_heads.add(chain)
        return self._add(step, leak=leak)

    #: ``block`` as a store row; ``body_text`` replaces its bytes (a disk edit).
    stored_row = staticmethod(DualMachine.stored_row)

    def check_head(self, chain: str) -> int:
        """The head must be what a correct node has after the steps so far."""
        height, block_hash = self.head(chain)
        expect = HeadState(height=height, block_hash=None if height < 0 else block_hash)
        return self._add(
            CheckHeadStep(
                actor="harness", op="check_head", args=ChainArgs(chain=chain), expect=expect
            )
        )

    def check_tx(self, chain: str, tx_id: str, present: bool, req_id: str | None = None) -> int:
        """``chain`` must (or must not) hold ``tx_id``; ``req_id`` is the rule a failing check
        counts against (default: the script's first id)."""
        return self._add(
            CheckTxStep(
                actor="harness",
                op="check_tx",
                args=TxArgs(chain=chain, tx_id=tx_id),
                expect="present" if present else "absent",
            ),
            req_id=req_id,
        )

    def check_bundle(
        self, chain: str, tx_id: str, valid: bool = True, req_id: str | None = None
    ) -> int:
        """The IUT's evidence bundle of ``tx_id`` on ``chain`` must verify (or be absent, for
        ``valid=False``) under the genesis root; ``req_id`` is the rule a failing check counts
        against when the verifier names none (the bundle is missing)."""
        return self._add(
            CheckBundleStep(
                actor="harness",
                op="check_bundle",
                args=TxArgs(chain=chain, tx_id=tx_id),
                expect="valid" if valid else "absent",
            ),
            req_id=req_id,
        )

    def check_evidence(self, since_step: int, codes: Sequence[str]) -> int:
        """The evidence recorded from step ``since_step`` on must be exactly ``codes``."""
        return self._add(
            CheckEvidenceStep(
                actor="harness",
                op="check_evidence",
                args=SinceArgs(since_step=since_step),
                expect=EvidenceCodes(codes=list(codes)),
            )
        )

    # -- the scenario ----------------------------------------------------------------------

    def scenario(self, observed: str | None = None) -> Scenario:
        """The script as a replayable scenario (origin ``adversary``)."""
        adversary = self.adversary
        metadata = ScenarioMetadata(
            id=f"{adversary.name}-{self.variant}",
            title=self.title,
            origin="adversary",
            requirement_ids=sorted(set(self.requirement_ids)),
            attacker_capabilities=sorted(c.value for c in adversary.capabilities),
            seed=self.seed,
            spec_hash=spec_hash(),
            generator=generator_name(),
            observed=observed,
        )
        genesis = genesis_of(self.seed)
        genesis["chains"] = {**genesis["chains"], **self.extra_chains}
        setup = ScenarioSetup(
            genesis=VectorContext.model_validate(genesis),
            keys=actor_keys(world(self.seed), sorted(set(self.keys))),
        )
        return Scenario.model_validate(
            {"metadata": metadata, "setup": setup, "steps": list(self.steps)}
        )


def _blamed(script: Script, step: StepOutcome) -> str:
    """The id a divergence counts against: the id the step expects a refusal with, else the
    id the IUT refused a valid step with, else the id the check was written for, else an id the
    check's two sides differ by, else the script's first id."""
    if step.expected_code is not None:
        return step.expected_code
    if step.found_code is not None:
        return step.found_code
    if step.index in script.blame:
        return script.blame[step.index]
    differ = sorted(set(_IDS.findall(step.expected)) ^ set(_IDS.findall(step.actual)))
    return differ[0] if differ else script.requirement_ids[0]


def leak_count(script: Script, result: ReplayResult) -> int:
    """How many of the script's ``leak`` steps the IUT accepted (a divergence stops counting:
    the steps after it never ran)."""
    accepted = {outcome.index for outcome in result.steps if outcome.actual == "accept"}
    return sum(1 for index in script.leaks if index in accepted)


@dataclass(frozen=True)
class Measure:
    """A leak's figure: the value, its unit and the sentence that states it."""

    figure: float
    unit: str
    text: str


def judge(
    adversary: Adversary,
    iut: IUT,
    seed: int,
    scripts: Sequence[Script],
    measure: Callable[[Sequence[tuple[Script, ReplayResult]]], Measure | None] | None = None,
) -> AttackResult:
    """Play every script on ``iut`` and decide the attack's outcome.

    A script that diverges is a finding (the scenario, its ``observed`` filled in, replays the
    divergence); a script the IUT could not play ends the attack with ``error``. Without
    findings the outcome is ``leaks`` with ``measure``'s figure when the adversary expects a
    leak, else ``blocked``.
    """
    findings: list[Finding] = []
    played: list[tuple[Script, ReplayResult]] = []
    scenarios: list[Scenario] = []
    for script in scripts:
        scenario = script.scenario()
        result = execute(scenario, iut, seed=seed)
        played.append((script, result))
        if result.status == "error":
            return AttackResult(
                adversary.name,
                "error",
                None,
                None,
                None,
                tuple(findings),
                f"seed {seed}: {scenario.metadata.id}: {result.reason}",
                seed,
                (*scenarios, scenario),
                broken=result.broken,
            )
        step = result.divergence
        if step is not None:
            observed = f"step {step.index}: expected {step.expected}, found {step.actual}"
            scenario = script.scenario(observed)
            req_id = _blamed(script, step)
            detail = f"{scenario.metadata.id}: {observed}" + (
                f" ({step.detail[:_DETAIL_CHARS]})" if step.detail else ""
            )
            findings.append(Finding(req_id, scenario, detail))
        scenarios.append(scenario)
    figure = None if measure is None or findings else measure(played)
    outcome: Outcome
    if findings:
        outcome = "succeeded"
        detail = "; ".join(f.detail for f in findings)
    elif adversary.expected == "leaks" and figure is not None:
        outcome = "leaks"
        detail = f"{len(scripts)} scenario(s) played; {figure.text}"
    else:
        outcome = "blocked"
        detail = f"{len(scripts)} scenario(s) played, every attack step refused"
    return AttackResult(
        adversary=adversary.name,
        outcome=outcome,
        figure=None if figure is None else figure.figure,
        figure_unit=None if figure is None else figure.unit,
        figure_text=None if figure is None else figure.text,
        findings=tuple(findings),
        detail=detail,
        seed=seed,
        played=tuple(scenarios),
    )


def capabilities(*names: Capability) -> frozenset[Capability]:
    """An adversary's capability set (reads better in a class body than ``frozenset({...})``)."""
    return frozenset(names)


def _renumber(value: Any, after: int, shift: int) -> Any:
    """``value`` with every reference to a step after ``after`` moved by ``shift``."""
    if isinstance(value, dict):
        if REF_KEY in value and isinstance(value[REF_KEY], int) and value[REF_KEY] > after:
            return {**value, REF_KEY: value[REF_KEY] + shift}
        return {key: _renumber(item, after, shift) for key, item in value.items()}
    if isinstance(value, list):
        return [_renumber(item, after, shift) for item in value]
    return value


def insert_steps(scenario: Scenario, after: int, steps: Sequence[Step]) -> Scenario:
    """``scenario`` with ``steps`` played after its step ``after`` (0: before the first):
    later references to earlier results and evidence marks are renumbered, so the scenario
    means what it meant. How a crash is injected between two steps."""
    document = scenario.model_dump(mode="json")
    shift = len(steps)
    tail = []
    for step in document["steps"][after:]:
        step["args"] = _renumber(step["args"], after, shift)
        if step["op"] == "check_evidence" and step["args"]["since_step"] > after:
            step["args"]["since_step"] += shift
        tail.append(step)
    inserted = [step.model_dump(mode="json") for step in steps]
    document["steps"] = document["steps"][:after] + inserted + tail
    return Scenario.model_validate(document)
