"""Playing only what an implementation declares: scripts whose operations its manifest lacks.

A script that needs a role operation (``verifier_cosign``, ``manager_anchor``, ...) the
implementation does not list in its manifest cannot show anything about it: played anyway, the
implementation refuses the operation with IOME-IUT-003 and the divergence would read as a
finding against a requirement it never had a chance to meet. The conformance suite skips such
scenarios and never counts them as passed (spec/conformance.md); the attacks of catalogue part 2
do the same through :func:`judge_declared`: a script the manifest cannot play is left out and
named in the result's detail, and an attack whose measurement needs a missing operation ends
with ``error`` saying which (it measured nothing).

What must not live here: judging the scripts that are played (adversaries/play.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from adversaries.base import Adversary, AttackResult
from adversaries.play import Measure, Script, judge
from iome_ref.conformance.iut import IUT
from iome_ref.conformance.scenarios import ReplayResult, missing_capabilities

__all__ = ["judge_declared"]


def judge_declared(
    adversary: Adversary,
    iut: IUT,
    seed: int,
    scripts: Sequence[Script],
    measure: Callable[[Sequence[tuple[Script, ReplayResult]]], Measure | None] | None = None,
    *,
    required: Sequence[Script] = (),
) -> AttackResult:
    """:func:`adversaries.play.judge` over the scripts ``iut``'s manifest can play.

    ``required`` are the scripts the attack's figure comes from: if the manifest cannot play
    one of them, the result is ``error`` (nothing was measured) and no script is played.
    """
    manifest = iut.hello()
    skipped: list[str] = []
    playable: list[Script] = []
    for script in scripts:
        missing = missing_capabilities(script.scenario(), manifest)
        if not missing:
            playable.append(script)
            continue
        name = f"{adversary.name}-{script.variant}"
        skipped.append(f"{name} skipped: the manifest lacks {', '.join(missing)}")
        if any(script is needed for needed in required):
            return AttackResult(
                adversary.name,
                "error",
                None,
                None,
                None,
                (),
                f"seed {seed}: cannot attack: {skipped[-1]}",
                seed,
            )
    if not playable:
        return AttackResult(adversary.name, "error", None, None, None, (), "; ".join(skipped), seed)
    result = judge(adversary, iut, seed, playable, measure)
    if not skipped:
        return result
    return replace(result, detail="; ".join([result.detail, *skipped]))
