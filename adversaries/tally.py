"""Counting what a leak achieved: of the attempts a correct node accepts because the protocol
cannot refuse them (a script's ``leak`` steps), how many the implementation accepted.

What must not live here: the figures' wording, which each adversary states in its own terms.
"""

from __future__ import annotations

from collections.abc import Sequence

from adversaries.play import Script, leak_count
from iome_ref.conformance.scenarios import ReplayResult

__all__ = ["tally_leaks"]


def tally_leaks(played: Sequence[tuple[Script, ReplayResult]]) -> tuple[int, int]:
    """(leak steps the implementation accepted, leak steps attempted) over every script."""
    accepted = sum(leak_count(script, result) for script, result in played)
    attempted = sum(len(script.leaks) for script, _ in played)
    return accepted, attempted
