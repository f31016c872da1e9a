"""The catalogue: every adversary by name, in the order spec/adversaries.md lists them.

Each adversary lives in its own module and is registered here by one line. Part 1 (issue 14
items 1–7 and 10) and part 2 (items 8, 9, 11–14) are separate tuples so that the two halves
of the catalogue are added independently.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from adversaries.base import Adversary
from adversaries.colluding_stations import ColludingStations
from adversaries.energy_fraud import EnergyFraud
from adversaries.equivocation import Equivocation
from adversaries.faulty_manager import FaultyManager
from adversaries.forged_presence import ForgedPresence
from adversaries.key_reuse import KeyReuse
from adversaries.malicious_verifiers import VerifiersAtQuorum, VerifiersBelowQuorum
from adversaries.nonce_linking import NonceLinking
from adversaries.observer_linking import ObserverLinking
from adversaries.replay import Replay
from adversaries.revoked_signer import RevokedSigner
from adversaries.rogue_company import RogueCompany
from adversaries.rogue_station import RogueStation
from adversaries.signature_replay import SignatureReplay
from adversaries.sybil_flood import SybilFlood
from adversaries.tamper import Tamper
from iome_ref.errors import UsageError

__all__ = ["ADVERSARIES", "PARTS", "select_adversaries"]

_COMPONENT: Final = "attack"

#: Part 1: issue 14 items 1–7 and 10, and the nonce observer.
_PART_1: Final[tuple[Adversary, ...]] = (
    ForgedPresence(),
    RogueStation(),
    Replay(),
    KeyReuse(),
    SybilFlood(),
    Equivocation(),
    Tamper(),
    SignatureReplay(),
    NonceLinking(),
    RevokedSigner(),
)
#: Part 2: issue 14 items 8, 9, 11–14.
_PART_2: Final[tuple[Adversary, ...]] = (
    VerifiersBelowQuorum(),
    VerifiersAtQuorum(),
    FaultyManager(),
    RogueCompany(),
    EnergyFraud(),
    ColludingStations(),
    ObserverLinking(),
)

#: name -> adversary, in catalogue order.
ADVERSARIES: Final[dict[str, Adversary]] = {a.name: a for a in (*_PART_1, *_PART_2)}
#: Part number -> the names of its adversaries (spec/adversaries.md, "Catalogue" and "part 2").
PARTS: Final[dict[int, tuple[str, ...]]] = {
    1: tuple(a.name for a in _PART_1),
    2: tuple(a.name for a in _PART_2),
}


def select_adversaries(names: Sequence[str] | None) -> list[Adversary]:
    """The adversaries named (in catalogue order), or all of them for ``None`` or empty.

    Raises:
        UsageError: a name the catalogue does not hold (the message lists the names).
    """
    if not names:
        return list(ADVERSARIES.values())
    unknown = sorted(set(names) - set(ADVERSARIES))
    if unknown:
        raise UsageError(
            _COMPONENT,
            f"--adversary: no adversary {', '.join(unknown)}; known: {', '.join(ADVERSARIES)}",
        )
    wanted = set(names)
    return [adversary for name, adversary in ADVERSARIES.items() if name in wanted]
