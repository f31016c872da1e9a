"""The conformance state machines, one per invariant family, and how a run plays them.

:func:`run_machine` binds a machine to an IUT and a seed, lets Hypothesis search (seeded from
the run's seed, no example database, so the same seed plays the same examples), and answers
a :class:`MachineResult`: ``pass``, ``diverged`` with the shrunk run as a :class:`Scenario`
whose expectations are the reference's answers, or ``error`` (the coverage gate refused the
run, the reference broke a property, or the IUT broke).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.stateful import run_state_machine_as_test

from iome_ref.conformance.iut import IUT
from iome_ref.conformance.machines.base import (
    Coverage,
    Divergence,
    DualMachine,
    genesis_of,
    world_of,
)
from iome_ref.conformance.machines.integrity import IntegrityMachine
from iome_ref.conformance.machines.nonrepudiation import NonRepudiationMachine
from iome_ref.conformance.machines.roles import RolesMachine
from iome_ref.conformance.machines.sybil import SybilMachine
from iome_ref.conformance.machines.unlinkability import UnlinkabilityMachine
from iome_ref.conformance.scenarios import (
    Scenario,
    ScenarioMetadata,
    ScenarioSetup,
    actor_keys,
    generator_name,
)
from iome_ref.errors import ImplementationError
from iome_ref.vectors.runner import VectorContext

__all__ = ["MACHINES", "Budget", "MachineResult", "machine_scenario", "run_machine"]

#: family -> machine.
MACHINES: Final[dict[str, type[DualMachine]]] = {
    machine.family: machine
    for machine in (
        IntegrityMachine,
        SybilMachine,
        RolesMachine,
        NonRepudiationMachine,
        UnlinkabilityMachine,
    )
}


@dataclass(frozen=True)
class Budget:
    """How hard a profile searches: examples per machine and steps per example."""

    examples: int
    steps: int


@dataclass(frozen=True)
class MachineResult:
    """One machine's run on one IUT."""

    family: str
    status: Literal["pass", "diverged", "error"]
    scenario: Scenario
    detail: str = ""
    coverage: tuple[str, ...] = ()
    #: The IUT itself broke (ImplementationError): later cases cannot run.
    broken: bool = False


def machine_scenario(
    machine: type[DualMachine], seed: int, spec_hash: str, steps: Sequence[object] = ()
) -> Scenario:
    """The scenario of ``machine``'s case: its set-up, and ``steps`` once it has any."""
    metadata = ScenarioMetadata(
        id=f"machine-{machine.family}",
        title=machine.title,
        origin="state-machine",
        requirement_ids=sorted(machine.requirement_ids),
        attacker_capabilities=list(machine.attacker_capabilities),
        seed=seed,
        spec_hash=spec_hash,
        generator=generator_name(),
    )
    setup = ScenarioSetup(
        genesis=VectorContext.model_validate(genesis_of(seed)),
        keys=actor_keys(world_of(seed), machine.actors),
    )
    return Scenario.model_validate({"metadata": metadata, "setup": setup, "steps": list(steps)})


def run_machine(
    machine: type[DualMachine], iut: IUT, *, seed: int, budget: Budget, spec_hash: str
) -> MachineResult:
    """Search ``machine`` on ``iut`` with ``budget``, deterministically from ``seed``."""
    coverage = Coverage()
    bound: type[DualMachine] = type(
        machine.__name__,
        (machine,),
        {"iut": iut, "seed": seed, "coverage": coverage, "latest": None},
    )
    chosen = settings(
        max_examples=budget.examples,
        stateful_step_count=budget.steps,
        database=None,
        deadline=None,
        derandomize=False,
        report_multiple_bugs=False,
        print_blob=False,
        verbosity=Verbosity.quiet,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    empty = machine_scenario(machine, seed, spec_hash)
    rules = bound.rule_names()
    try:
        run_state_machine_as_test(hypothesis_seed(seed)(bound), settings=chosen)
    except Divergence as exc:
        latest = bound.latest
        steps = [] if latest is None else list(latest.steps)
        return MachineResult(
            machine.family,
            "diverged",
            machine_scenario(machine, seed, spec_hash, steps),
            f"seed {seed}: {exc}",
            tuple(coverage.lines(rules)),
        )
    except ImplementationError as exc:
        return MachineResult(
            machine.family, "error", empty, f"seed {seed}: {exc.message}", broken=True
        )
    except Exception as exc:
        # The reference broke a property, or the IUT raised outside the protocol.
        first = str(exc).splitlines()[0] if str(exc) else ""
        return MachineResult(
            machine.family,
            "error",
            empty,
            f"seed {seed}: {type(exc).__name__}: {first}",
            tuple(coverage.lines(rules)),
        )
    gaps = coverage.gaps(rules)
    if gaps:
        return MachineResult(
            machine.family,
            "error",
            empty,
            f"seed {seed}: coverage gate: " + "; ".join(gaps),
            tuple(coverage.lines(rules)),
        )
    return MachineResult(machine.family, "pass", empty, "", tuple(coverage.lines(rules)))
