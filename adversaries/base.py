"""What an adversary is: its capabilities, its attack, and what it reports (spec/adversaries.md).

An adversary (issue 14) is an object naming what the attacker can do in a fixed vocabulary
(:class:`Capability`), the invariant and requirement ids it targets, and the outcome expected
against a correct implementation: ``blocked``, or ``leaks`` with a measured figure where the
protocol cannot prevent the attack (colluding verifiers at quorum, a passive observer).

Its :meth:`Adversary.attack` reaches the implementation only through the IUT interface
(:mod:`iome_ref.conformance.iut`): it builds its steps as :class:`Scenario` values and plays
them with :func:`iome_ref.conformance.scenarios.execute`, so what it did is exactly what
``iome replay`` replays. Success is detected from the IUT's answers only, never from the
reference's internals: a step a correct node refuses is accepted, a check step finds a state a
correct node cannot be in. Each success is a :class:`Finding` carrying a replayable scenario.

What must not live here: the attacks themselves (one module each), running and reporting them
(runner.py, report.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal, Protocol, runtime_checkable

from iome_ref.conformance.iut import IUT
from iome_ref.conformance.scenarios import Scenario

__all__ = [
    "INVARIANTS",
    "Adversary",
    "AttackResult",
    "Capability",
    "Expected",
    "Finding",
    "Invariant",
    "Outcome",
    "Profile",
]


class Capability(StrEnum):
    """What an attacker can do: the fixed vocabulary of spec/adversaries.md, "Capabilities"."""

    #: Sees, injects, delays, replays and reorders messages between actors and nodes.
    NETWORK = "network"
    #: Holds the private key of one or more certified stations (``Adversary.colluders`` says
    #: how many, when more than one).
    COMPROMISED_STATION = "compromised-station"
    #: Controls ``Adversary.colluders`` verifiers of the consortium's quorum.
    COLLUDING_VERIFIERS = "colluding-verifiers"
    #: Makes unlimited fresh key pairs, none of them certified.
    SYBIL = "sybil"
    #: Reads every public (and consortium) chain, nothing else.
    PASSIVE_OBSERVER = "passive-observer"
    #: A fake issuer (no certificate) or a certified issuer / distribution company that lies.
    ROGUE_ISSUER = "rogue-issuer"
    #: A chain manager or backup that crashes, or signs what it should not.
    FAULTY_MANAGER = "faulty-manager"
    #: Shifts its own clock (and the times it signs) within or beyond the allowed bounds.
    CLOCK_SKEW = "clock-skew"
    #: Edits the node's stored data (its SQLite file) between runs, or crashes the node.
    STORAGE = "storage"


#: What an attack ended with: refused everywhere (``blocked``), achieved only what the
#: protocol cannot prevent, with a measured figure (``leaks``), achieved something a correct
#: implementation refuses (``succeeded``: a finding names the id), or could not run (``error``).
Outcome = Literal["blocked", "leaks", "succeeded", "error"]
#: The outcome expected against a correct implementation.
Expected = Literal["blocked", "leaks"]
Profile = Literal["quick", "thorough"]
Invariant = Literal[
    "integrity",
    "non-repudiation",
    "sybil-resistance",
    "key-unlinkability",
    "availability",
    "energy-accounting",
]
INVARIANTS: Final[tuple[Invariant, ...]] = (
    "integrity",
    "non-repudiation",
    "sybil-resistance",
    "key-unlinkability",
    "availability",
    "energy-accounting",
)


@dataclass(frozen=True)
class Finding:
    """One thing the attack achieved that a correct implementation refuses.

    ``scenario`` (origin ``adversary``) replays it: its steps expect what a correct node
    answers, so replaying it on the attacked implementation diverges at the step that should
    have been refused, with ``requirement_id``; its ``metadata.observed`` says what was seen.
    """

    requirement_id: str
    scenario: Scenario
    detail: str


@dataclass(frozen=True)
class AttackResult:
    """What one adversary did to one implementation.

    ``figure``/``figure_unit``/``figure_text`` measure a leak ("3 of 40 trips fabricated");
    ``None`` when the attack leaks nothing. ``played`` holds every scenario the attack ran
    (findings' scenarios included): against the reference they are the committed scenarios of
    adversaries/scenarios/.
    """

    adversary: str
    outcome: Outcome
    figure: float | None
    figure_unit: str | None
    figure_text: str | None
    findings: tuple[Finding, ...]
    detail: str
    seed: int
    played: tuple[Scenario, ...] = ()
    #: The implementation itself broke (crashed, hung, garbled): no later attack can run.
    broken: bool = False


@runtime_checkable
class Adversary(Protocol):
    """An attacker model. ``attack`` must be deterministic in ``seed`` and ``profile`` (the
    same seed against the same implementation gives the same result, byte for byte) and must
    reach the implementation only through ``iut``.

    ``colluders`` counts the stations or verifiers the attacker controls when its
    capabilities name them (0 otherwise); ``targets`` are the requirement ids a correct
    implementation enforces against it.
    """

    # Read-only members, so a plain class attribute (``expected = "leaks"``) satisfies them.
    @property
    def name(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def capabilities(self) -> frozenset[Capability]: ...
    @property
    def colluders(self) -> int: ...
    @property
    def targets(self) -> tuple[str, ...]: ...
    @property
    def invariant(self) -> Invariant: ...
    @property
    def expected(self) -> Expected: ...

    def attack(self, iut: IUT, seed: int, profile: Profile) -> AttackResult:
        """Attack ``iut`` (already opened; the attack resets it as its scenarios say)."""
        ...
