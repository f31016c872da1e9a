"""The crash sweep: a crash injected between any two steps of the trip-extraction and the
manager-failover scenarios loses no committed block and applies nothing half (issue 14).

For every step k of each scenario the node crashes after step k and restarts from its store
(``reopen`` with no rows). Right after the restart every chain's head must be the head the
node had before the crash (found by playing the steps before it on a fresh reference), no
evidence may appear, and the trip's presences and claim must be on the consortium chain
exactly when their block was committed before the crash. Then the rest of the scenario must
play: the protocol completes from what survived, and nothing is applied twice (the O-D matrix
counts the trip once, each anchor is present, the presences and claim are recorded once).

- Trip extraction: adversaries.flows.trip_extraction, through the implementation's own
  stations, verifiers and predictor, with the honest actors' recovery where a crash may lose
  in-memory role state (a new docking with a fresh key; the verifiers judge the claim again).
- Manager failover: the faulty-manager adversary's role-failover scenario (the
  implementation's own manager and backup anchor and hand over; catalogue part 2), with the
  crash inserted after every step.

A node that keeps its role state across a restart (the reference) and one that forgets it
(:class:`RestartsFromStore`) must both pass; one that loses committed blocks must not.
"""

from __future__ import annotations

import functools
import random
import sys
from collections.abc import Iterator
from pathlib import Path

from adversaries.flows import TRIP_STEPS, trip_extraction
from adversaries.play import Script, insert_steps
from adversaries.scripted import ScriptedAdversary
from iome_ref.chain.store import MemoryStore, Store
from iome_ref.conformance.adapters.inproc import ReferenceIUT
from iome_ref.conformance.iut import IUT, JsonObject
from iome_ref.conformance.runner import open_iut
from iome_ref.conformance.scenarios import (
    ChainArgs,
    CheckEvidenceStep,
    CheckHeadStep,
    CheckTxStep,
    EvidenceCodes,
    HeadState,
    Scenario,
    SinceArgs,
    TxArgs,
    execute,
    load_scenario,
)
from iome_ref.node import Actor, Node
from iome_ref.vectors.world import CHAINS, T0
from tests.conformance.helpers import ROOT

FAILOVER = ROOT / "adversaries" / "scenarios" / "faulty-manager-role-failover.json"
SERVE = f"stdio:{Path(sys.executable).parent / 'iome'} serve --stdio"


class _Sweep(ScriptedAdversary):
    name = "crash-sweep"
    title = "a crash between any two steps"


def _heads(scenario: Scenario, steps: int) -> dict[str, tuple[int, str | None]]:
    """Every chain's head after the first ``steps`` steps, on a fresh reference."""
    prefix = scenario.model_copy(update={"steps": scenario.steps[:steps]})
    iut = open_iut("ref")
    try:
        assert execute(prefix, iut).status == "pass"
        heads = {chain: iut.head(chain) for chain in CHAINS}
    finally:
        iut.close()
    return {chain: (head["height"], head["block_hash"]) for chain, head in heads.items()}


def _checked(scenario: Scenario, reopen: int, tx_ids: dict[str, bool]) -> Scenario:
    """``scenario`` with, right after its ``reopen`` step, the checks of what must survive:
    the heads before the crash, ``tx_ids`` on the consortium chain or not, no evidence."""
    heads = _heads(scenario, reopen - 1)
    checks: list[CheckHeadStep | CheckTxStep | CheckEvidenceStep] = [
        CheckHeadStep(
            actor="harness",
            op="check_head",
            args=ChainArgs(chain=chain),
            expect=HeadState(height=height, block_hash=block_hash),
        )
        for chain, (height, block_hash) in heads.items()
    ]
    checks += [
        CheckTxStep(
            actor="harness",
            op="check_tx",
            args=TxArgs(chain="verifiers", tx_id=tx_id),
            expect="present" if present else "absent",
        )
        for tx_id, present in tx_ids.items()
    ]
    checks.append(
        CheckEvidenceStep(
            actor="harness",
            op="check_evidence",
            args=SinceArgs(since_step=reopen),
            expect=EvidenceCodes(codes=[]),
        )
    )
    return insert_steps(scenario, reopen, checks)


def _trip_sweep() -> Iterator[tuple[str, Scenario]]:
    for after in range(1, TRIP_STEPS + 1):
        script = Script(
            _Sweep(), f"trip-{after}", "Fig. 5, a crash", 1, ("IOME-BLK-012",), T0 + 10_000
        )
        flow = trip_extraction(script, "sweep", crash_after=after)
        assert flow.crash_step is not None
        committed = flow.consortium_commit < flow.crash_step
        ids = dict.fromkeys((flow.source.tx_id, flow.destination.tx_id, flow.claim_id), committed)
        yield (
            f"trip-extraction, crash after step {after}",
            _checked(script.scenario(), flow.crash_step, ids),
        )


def _failover_sweep() -> Iterator[tuple[str, Scenario]]:
    from iome_ref.conformance.scenarios import ReopenArgs, ReopenStep  # noqa: PLC0415

    base = load_scenario(FAILOVER)
    crash = ReopenStep(actor="disk", op="reopen", args=ReopenArgs(stored=[]), expect="accept")
    for after in range(len(base.steps) + 1):
        crashed = insert_steps(base, after, [crash])
        yield f"manager-failover, crash after step {after}", _checked(crashed, after + 1, {})


@functools.cache
def _scenarios() -> tuple[tuple[str, Scenario], ...]:
    """Every crash point of both scenarios (built once: each needs a run of its prefix)."""
    return (*_trip_sweep(), *_failover_sweep())


def _sweep(iut: IUT) -> list[str]:
    """Every crash point of both scenarios played on ``iut``: the failures, one line each."""
    failures = []
    played = 0
    for name, scenario in _scenarios():
        result = execute(scenario, iut)
        played += 1
        if result.status != "pass":
            step = result.divergence
            where = f"step {step.index} {step.op}: {step.expected} / {step.actual}" if step else ""
            failures.append(f"{name}: {result.reason}{where}")
    assert played == TRIP_STEPS + len(load_scenario(FAILOVER).steps) + 1
    return failures


class RestartsFromStore(ReferenceIUT):
    """A node whose restart really starts over from its store: committed blocks survive,
    dockings, verifier batches and every other in-memory role state do not (as a process
    restart would leave them). ``forget_blocks`` also loses its store: a broken node."""

    forget_blocks = False

    def reset(self, seed: int, genesis: JsonObject, keys: JsonObject) -> JsonObject:
        self._started = (seed, genesis, keys)
        return super().reset(seed, genesis, keys)

    def reopen(self, stored: list[JsonObject]) -> JsonObject:
        super().reopen(stored)
        seed, genesis, keys = self._started
        store: Store = MemoryStore() if self.forget_blocks else self.node.ledger.store
        actors = {
            name: Actor.from_private_hex(key["role"], key["subject"], key["private_key"])
            for name, key in keys.items()
        }
        self._node = Node(genesis, store=store, rng=random.Random(seed), actors=actors)
        return {}


class LosesBlocksOnRestart(RestartsFromStore):
    forget_blocks = True


def test_crash_between_any_two_steps_loses_nothing() -> None:
    iut = open_iut("ref")
    try:
        assert _sweep(iut) == []
    finally:
        iut.close()


def test_crash_sweep_passes_a_node_that_forgets_its_role_state() -> None:
    assert _sweep(RestartsFromStore()) == []


def test_crash_sweep_over_stdio() -> None:
    iut = open_iut(SERVE, timeout_s=30)
    try:
        assert _sweep(iut) == []
    finally:
        iut.close()


def test_crash_sweep_catches_a_node_that_loses_committed_blocks() -> None:
    failures = _sweep(LosesBlocksOnRestart())
    # Every crash after the first committed block is caught right after the restart.
    assert any(f.startswith("trip-extraction, crash after step 9:") for f in failures)
    assert any(f.startswith("manager-failover, crash after step 1:") for f in failures)
    caught = [f for f in failures if " check_head: height " in f]
    assert len(caught) >= len(failures) // 2
