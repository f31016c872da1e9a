"""Adversary 13: a compromised station fabricating trips with a colluding second station.

A Trip proves that a vehicle docked at two certified stations: each end is a Presence a station
signs only for a key docked at it (IOME-PRES-003), and the verifiers publish the trip only from
two such presences at two different stations (IOME-CLAIM-007), reachable in the time between
them (IOME-CLAIM-004), each supporting one claim (IOME-CLAIM-005). spec/trips.md states the
limit: "A compromised station can sign presences for keys that never docked at it, and so,
with a second compromised or colluding station, fabricate trips between them."

The attacker holds the keys of st-a and st-b (capability ``compromised-station``, two
colluders) and makes fresh one-time keys at will. The implementation plays the honest
verifiers (``verifier_cosign``, ``verifier_batch``), an honest third station st-c
(``station_attest``) and the predictor (``predictor_od``). The attack measures how far the
limit reaches: fabricated trips the honest verifiers co-sign and the public chain accepts, and
the O-D cell they inflate (the predictor must count them, IOME-ODM-004). It also checks what
the colluders still cannot do:

- one compromised station alone: a "trip" from st-a to st-a (IOME-CLAIM-007);
- trips faster than the road graph allows (IOME-CLAIM-004);
- one presence behind two trips (IOME-CLAIM-005);
- a colluder whose certificate was revoked (IOME-CERT-003);
- the other end from an honest station, for a key that never docked there (IOME-PRES-003:
  the station refuses to attest).

Expected outcome: ``leaks``, with the share of fabricated trips published. No rule bounds how
many: fresh keys cost nothing and the two stations can attest overlapping dockings. What
limits it is the audit trail: every fabricated presence on the consortium chain is signed by
st-a or st-b.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from adversaries.base import AttackResult, Capability, Expected, Invariant, Profile
from adversaries.capable import judge_declared
from adversaries.play import Measure, Script, capabilities
from adversaries.tally import measure_published
from iome_ref.conformance.iut import IUT
from iome_ref.conformance.scenarios import ReplayResult
from iome_ref.models import Presence
from iome_ref.vectors.world import REVOKED_AT, T0

__all__ = ["ColludingStations"]

_VERIFIERS: Final = ("verifier-1", "verifier-2", "verifier-3")
_DEPART: Final = T0 + 3600
#: tau(st-a, st-b) in the world's road table.
_TRAVEL: Final = 1200
_DAY: Final = 86_400
#: Fabricated trips per profile.
_FABRICATED: Final = {"quick": 5, "thorough": 30}


class ColludingStations:
    """Two compromised stations fabricating trips (issue 14, adversary 13)."""

    name: str = "colluding-stations"
    title: str = "A compromised station fabricating trips with a colluding second station"
    capabilities: frozenset[Capability] = capabilities(
        Capability.COMPROMISED_STATION, Capability.SYBIL
    )
    colluders: int = 2
    targets: tuple[str, ...] = (
        "IOME-CLAIM-007",
        "IOME-CLAIM-004",
        "IOME-CLAIM-005",
        "IOME-CERT-003",
        "IOME-PRES-003",
        "IOME-ODM-004",
    )
    invariant: Invariant = "sybil-resistance"
    expected: Expected = "leaks"

    def _script(self, seed: int, variant: str, title: str, targets: tuple[str, ...]) -> Script:
        script = Script(self, variant, title, seed, targets, _DEPART)
        script.keys.extend(_VERIFIERS)
        return script

    @staticmethod
    def _presence(script: Script, kind: str, station: str, key: str, t: int) -> Presence:
        """A presence the compromised ``station`` signs for a key that never docked."""
        return script.b.presence(kind, station, key, t)

    def _cosign(
        self,
        script: Script,
        source: Presence,
        destination: Presence,
        reject: str | None = None,
        *,
        leak: bool = False,
    ) -> int:
        """Hand a claim over the two presences to the honest verifiers."""
        claim = script.b.claim(source, destination)
        args: dict[str, Any] = {
            "claim": claim.model_dump(mode="json"),
            "source": source.model_dump(mode="json"),
            "destination": destination.model_dump(mode="json"),
            "t": destination.t + 60,
        }
        return script.role("verifier_cosign", args, reject, actor="verifiers", leak=leak)

    def fabricate(self, seed: int, count: int) -> Script:
        """``count`` trips from st-a to st-b, all departing within minutes of each other."""
        script = self._script(
            seed,
            "fabricated-trips",
            f"Two compromised stations fabricate {count} trips the verifiers publish",
            ("IOME-ODM-004", "IOME-ENC-004"),
        )
        script.keys.append("predictor")
        cosigned = []
        for i in range(count):
            t1 = _DEPART + 60 * i
            source = self._presence(script, "source", "st-a", f"fake-{i}/pk1", t1)
            destination = self._presence(
                script, "destination", "st-b", f"fake-{i}/pk2", t1 + _TRAVEL
            )
            cosigned.append(self._cosign(script, source, destination))
        batch = script.role("verifier_batch", {}, actor="verifiers")
        script.build("verifiers", script.ref(batch, "txs"), time=_DEPART + _DAY // 2)
        for i, step in enumerate(cosigned):
            script.build(
                "public", [script.ref(step, "trip")], time=_DEPART + _DAY // 2 + i, leak=True
            )
        period = {"period_start": T0, "period_end": T0 + _DAY}
        od = script.role(
            "predictor_od",
            {"predictor": "predictor", "zones": ["st-a", "st-b"], **period},
            actor="predictor",
            result={"matrices": [{"origins": ["st-a", "st-b"], "cells": [[0, 1, count]]}]},
        )
        script.build("public", script.ref(od, "matrices"), time=T0 + _DAY)
        return script

    def cannot(self, seed: int) -> Script:
        """What the colluders cannot do, each refused by the honest verifiers or station."""
        script = self._script(
            seed,
            "limits",
            "One station alone, too fast, one presence twice, a revoked colluder, an honest "
            "station asked to attest an undocked key",
            (
                "IOME-CLAIM-007",
                "IOME-CLAIM-004",
                "IOME-CLAIM-005",
                "IOME-CERT-003",
                "IOME-PRES-003",
            ),
        )
        script.keys.append("st-c")
        t = _DEPART
        alone = self._presence(script, "destination", "st-a", "alone/pk2", t + _TRAVEL)
        self._cosign(
            script,
            self._presence(script, "source", "st-a", "alone/pk1", t),
            alone,
            "IOME-CLAIM-007",
        )
        fast = self._presence(script, "destination", "st-b", "fast/pk2", t + 60)
        self._cosign(
            script, self._presence(script, "source", "st-a", "fast/pk1", t), fast, "IOME-CLAIM-004"
        )
        source = self._presence(script, "source", "st-a", "twice/pk1", t)
        first = self._presence(script, "destination", "st-b", "twice/pk2", t + _TRAVEL)
        self._cosign(script, source, first)
        second = self._presence(script, "destination", "st-b", "twice/pk3", t + _TRAVEL + 60)
        self._cosign(script, source, second, "IOME-CLAIM-005")
        late = REVOKED_AT + 3600
        revoked = self._presence(script, "source", "st-revoked", "revoked/pk1", late)
        self._cosign(
            script,
            revoked,
            self._presence(script, "destination", "st-b", "revoked/pk2", late + 1800),
            "IOME-CERT-003",
        )
        never_docked = script.b.key("honest/pk2").public_hex
        script.role(
            "station_attest",
            {"station": "st-c", "kind": "destination", "one_time_pk": never_docked, "t": t + 1800},
            "IOME-PRES-003",
            actor="st-c",
        )
        return script

    @staticmethod
    def _measure(played: Sequence[tuple[Script, ReplayResult]]) -> Measure | None:
        return measure_published(
            played,
            lambda published, attempted: (
                f"{published} of {attempted} trips fabricated by two colluding stations were "
                f"co-signed by honest verifiers and published, departing within {attempted} "
                "minutes; the st-a to st-b O-D cell counts them all; every fabricated presence "
                "on the consortium chain is signed by st-a or st-b"
            ),
        )

    def attack(self, iut: IUT, seed: int, profile: Profile) -> AttackResult:
        fabricated = self.fabricate(seed, _FABRICATED[profile])
        scripts = [fabricated, self.cannot(seed)]
        return judge_declared(self, iut, seed, scripts, self._measure, required=[fabricated])
