"""The base class of the part-1 adversaries: an attack written as scripts, judged on what the
implementation declares.

:class:`ScriptedAdversary` holds the attributes of :class:`adversaries.base.Adversary`; a
subclass writes :meth:`ScriptedAdversary.scripts` (and :meth:`ScriptedAdversary.measure` for a
leak). Its attack plays the scripts the implementation's manifest can play
(:func:`adversaries.capable.judge_declared`): a script needing a role operation the manifest
lacks is left out and named, never a finding against IOME-IUT-003.
"""

from __future__ import annotations

from collections.abc import Sequence

from adversaries.base import AttackResult, Capability, Expected, Invariant, Profile
from adversaries.capable import judge_declared
from adversaries.play import Measure, Script, leak_count
from iome_ref.conformance.iut import IUT
from iome_ref.conformance.scenarios import ReplayResult
from iome_ref.vectors.world import T0

__all__ = ["ScriptedAdversary"]


class ScriptedAdversary:
    """An adversary whose attack is a list of scripts judged by :func:`judge`.

    Subclasses set the attributes of :class:`Adversary` and write :meth:`scripts`; a ``leaks``
    adversary also writes :meth:`measure`.
    """

    name: str = ""
    title: str = ""
    capabilities: frozenset[Capability] = frozenset()
    colluders: int = 0
    targets: tuple[str, ...] = ()
    invariant: Invariant = "integrity"
    expected: Expected = "blocked"
    #: Where the scripts' clocks start: after every genesis certificate is valid, before the
    #: revoked station's revocation.
    start: int = T0 + 10_000

    def script(
        self, seed: int, variant: str, title: str, *ids: str, start: int | None = None
    ) -> Script:
        """A new script of this adversary; ``ids`` default to the adversary's targets."""
        return Script(
            self,
            variant,
            title,
            seed,
            ids or self.targets,
            self.start if start is None else start,
        )

    def scripts(self, seed: int, profile: Profile) -> list[Script]:
        raise NotImplementedError

    #: How a leak is measured: over the played scripts whose variant starts with
    #: ``leak_variants`` and that have leak steps, the leak steps the implementation accepted
    #: (times ``leak_per_step``); ``leak_sentence`` states it, formatted with ``accepted``,
    #: ``total`` (leak steps) and ``scripts`` (scripts played).
    leak_variants: str = ""
    leak_unit: str = ""
    leak_sentence: str = ""
    leak_per_step: int = 1

    def measure(self, played: Sequence[tuple[Script, ReplayResult]]) -> Measure | None:
        """The leak's figure from the IUT's answers (``leaks`` adversaries)."""
        measured = [
            (script, result)
            for script, result in played
            if script.leaks and script.variant.startswith(self.leak_variants)
        ]
        if not measured or not self.leak_sentence:
            return None
        accepted = sum(leak_count(s, r) for s, r in measured) * self.leak_per_step
        total = sum(len(s.leaks) for s, _ in measured) * self.leak_per_step
        text = self.leak_sentence.format(accepted=accepted, total=total, scripts=len(played))
        return Measure(accepted, self.leak_unit, text)

    def attack(self, iut: IUT, seed: int, profile: Profile) -> AttackResult:
        scripts = self.scripts(seed, profile)
        return judge_declared(
            self, iut, seed, scripts, self.measure, required=self.measured(scripts)
        )

    def measured(self, scripts: Sequence[Script]) -> list[Script]:
        """The scripts a leak's figure comes from (an attack that cannot play them measured
        nothing): the scripts with leak steps."""
        return [script for script in scripts if script.leaks]
