"""Counting what a leak achieved: of the attempts a correct node accepts because the protocol
cannot refuse them (a script's ``leak`` steps), how many the implementation accepted.

What must not live here: the figures' wording, which each adversary states in its own terms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from adversaries.play import Measure, Script, leak_count
from iome_ref.conformance.scenarios import ReplayResult

__all__ = ["measure_published", "tally_leaks"]


def tally_leaks(played: Sequence[tuple[Script, ReplayResult]]) -> tuple[int, int]:
    """(leak steps the implementation accepted, leak steps attempted) over every script."""
    accepted = sum(leak_count(script, result) for script, result in played)
    attempted = sum(len(script.leaks) for script, _ in played)
    return accepted, attempted


def measure_published(
    played: Sequence[tuple[Script, ReplayResult]], describe: Callable[[int, int], str]
) -> Measure | None:
    """The figure of an attack whose leak steps each publish one fabricated record: how many
    were published, stated by ``describe(published, attempted)``; None if none was attempted."""
    published, attempted = tally_leaks(played)
    if not attempted:
        return None
    return Measure(float(published), "fabricated trips published", describe(published, attempted))
