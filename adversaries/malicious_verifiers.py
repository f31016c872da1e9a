"""Adversary 8: a malicious verifier, and colluding verifiers below and at the quorum.

A Trip reaches the public chain only with ``TRIP_QUORUM`` signatures by distinct certified
verifiers (IOME-TRIP-002, IOME-TRIP-003); the verifiers are trusted to co-sign only trips they
verified (IOME-TRIP-005) from two presences and a claim on their consortium chain
(spec/trips.md). The spec states its limit plainly: "Fewer than TRIP_QUORUM colluding verifiers
cannot publish a Trip; TRIP_QUORUM of them can." Two adversaries measure both sides:

- :class:`VerifiersBelowQuorum` holds ``TRIP_QUORUM - 1`` verifier keys. It publishes a trip
  no vehicle made with its own signature only (IOME-TRIP-002), its signature twice
  (IOME-TRIP-003), with a fresh key (IOME-CERT-006) or a station's key (IOME-CERT-004) as the
  missing co-signer, with an honest verifier's key over its own signature (IOME-SIG-001); it
  shifts the times of a trip the quorum signed (IOME-SIG-001: the others signed another tx
  id), and publishes a trip carrying a one-time key (refused while decoding, IOME-ENC-004).
  It withholds its signature from a genuine trip: the honest verifiers still make the quorum
  and the trip is published. Expected: blocked.
- :class:`VerifiersAtQuorum` holds ``TRIP_QUORUM`` verifier keys. It publishes trips nobody
  made, without presence or claim, and they are accepted; the O-D matrix must then count them
  (a predictor leaving them out is refused, IOME-ODM-004). It still cannot publish what the
  public chain's own rules refuse (a trip from a station to itself, IOME-TRIP-006). By
  withholding their signatures they can also hold a genuine trip back (the verifiers answer
  ``{"trip": null}`` and record nothing) until they answer again. Expected:
  leaks, measured as the share of fabricated trips published and the inflation of the O-D
  cell. The consortium chain holds no claim for any of them: an audit comparing the published
  trips with the consortium's claims finds them.
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
from iome_ref.constants import TRIP_QUORUM
from iome_ref.models import Trip
from iome_ref.vectors.world import T0

__all__ = ["VerifiersAtQuorum", "VerifiersBelowQuorum"]

#: Verifier keys of the world, in the order colluders are recruited.
_VERIFIERS: Final = ("verifier-1", "verifier-2", "verifier-3")
_DEPART: Final = T0 + 7200
_ARRIVE: Final = T0 + 9000
_DAY: Final = 86_400
#: Fabricated trips per profile (at quorum).
_FABRICATED: Final = {"quick": 5, "thorough": 40}


def _colluders(count: int) -> tuple[str, ...]:
    return _VERIFIERS[:count]


def _cosign_genuine(
    script: Script, vehicle: str, answering: Sequence[str], result: dict[str, Any]
) -> int:
    """A genuine trip from st-a to st-b (two honest presences, the vehicle's claim) sent to the
    implementation's verifiers with only ``answering`` still answering; its step number."""
    b = script.b
    source = b.presence("source", "st-a", f"{vehicle}/pk1", _DEPART)
    destination = b.presence("destination", "st-b", f"{vehicle}/pk2", _ARRIVE)
    args = {
        "claim": b.claim(source, destination).model_dump(mode="json"),
        "source": source.model_dump(mode="json"),
        "destination": destination.model_dump(mode="json"),
        "t": _ARRIVE + 60,
        "answering": list(answering),
    }
    return script.role("verifier_cosign", args, actor="verifiers", result=result)


class VerifiersBelowQuorum:
    """One verifier short of the quorum (issue 14, adversary 8, below the threshold)."""

    name: str = "verifiers-below-quorum"
    title: str = "A malicious verifier; colluding verifiers below the quorum"
    capabilities: frozenset[Capability] = capabilities(Capability.COLLUDING_VERIFIERS)
    colluders: int = TRIP_QUORUM - 1
    targets: tuple[str, ...] = (
        "IOME-TRIP-002",
        "IOME-TRIP-003",
        "IOME-CERT-006",
        "IOME-CERT-004",
        "IOME-SIG-001",
        "IOME-ENC-004",
    )
    invariant: Invariant = "sybil-resistance"
    expected: Expected = "blocked"

    def forged_trips(self, seed: int) -> Script:
        """Fabricated trips, each missing a genuine co-signature in its own way."""
        script = Script(
            self,
            "forged-quorum",
            "Verifiers below the quorum publish a trip nobody made",
            seed,
            ("IOME-TRIP-002", "IOME-TRIP-003", "IOME-CERT-006", "IOME-CERT-004", "IOME-SIG-001"),
            _ARRIVE,
        )
        b = script.b
        own = _colluders(self.colluders)
        ours = own[0]
        honest = next(name for name in _VERIFIERS if name not in own)

        def trip(shift: int, signers: Sequence[str]) -> Trip:
            return b.trip(start=_DEPART + shift, end=_ARRIVE + shift, verifiers=signers)

        script.append("public", [trip(0, own)], "IOME-TRIP-002", time=_ARRIVE)
        script.append("public", [trip(60, (ours, ours))], "IOME-TRIP-003", time=_ARRIVE + 60)
        sybil = f"{ours}/sybil"
        b.key(sybil)  # a fresh key the attacker made (the builder signs with known keys)
        script.append("public", [trip(120, (*own, sybil))], "IOME-CERT-006", time=_ARRIVE + 120)
        script.append("public", [trip(180, (*own, "st-a"))], "IOME-CERT-004", time=_ARRIVE + 180)
        # The honest verifier's key named beside a signature the attacker made itself.
        unsigned = trip(240, ())
        forged = unsigned.model_copy(
            update={
                "verifier_sigs": [
                    *trip(240, own).verifier_sigs,
                    trip(240, (ours,))
                    .verifier_sigs[0]
                    .model_copy(update={"verifier_pk": b.key(honest).public_hex}),
                ]
            }
        )
        script.append("public", [forged], "IOME-SIG-001", time=_ARRIVE + 240)
        script.check_head("public")
        return script

    def tampered(self, seed: int) -> Script:
        """A trip the quorum signed, its end moved and its tx id recomputed by one verifier;
        then the honest trip, which is accepted."""
        script = Script(
            self,
            "tampered",
            "A malicious verifier shifts the times of a trip the quorum signed",
            seed,
            ("IOME-SIG-001",),
            _ARRIVE,
        )
        b = script.b
        honest = b.trip(start=_DEPART, end=_ARRIVE, verifiers=_VERIFIERS[:TRIP_QUORUM])
        moved = Trip.create(
            {},
            **(
                honest.model_dump(exclude={"tx_id"})
                | {"end_time": _ARRIVE + 3600, "verifier_sigs": []}
            ),
        ).model_copy(update={"verifier_sigs": honest.verifier_sigs})
        script.append("public", [moved], "IOME-SIG-001", time=_ARRIVE + 3600)
        script.append("public", [honest], time=_ARRIVE + 3600)
        script.check_tx("public", honest.tx_id, present=True)
        return script

    def leaked_key(self, seed: int) -> Script:
        """A verifier publishes a trip carrying the vehicle's one-time key."""
        script = Script(
            self,
            "leaked-key",
            "A verifier publishes a trip carrying a one-time key",
            seed,
            ("IOME-ENC-004",),
            _ARRIVE,
        )
        trip = script.b.trip(start=_DEPART, end=_ARRIVE, verifiers=_VERIFIERS[:TRIP_QUORUM])
        document = trip.model_dump(mode="json") | {
            "source_pk": script.b.key("ev-leaked/otk-1").public_hex
        }
        block = script.block("public", [trip], time=_ARRIVE).model_dump(mode="json")
        block["txs"] = [document]
        script.submit_block("public", block, "IOME-ENC-004")
        script.check_head("public")
        return script

    def withheld(self, seed: int) -> Script:
        """The colluders stop answering; the honest verifiers still make the quorum, so a
        genuine trip is co-signed and published all the same."""
        script = Script(
            self,
            "withheld",
            "Verifiers below the quorum withhold their signatures from a genuine trip",
            seed,
            ("IOME-TRIP-002",),
            _ARRIVE,
        )
        script.keys.extend(_VERIFIERS)
        honest = [name for name in _VERIFIERS if name not in _colluders(self.colluders)]
        route = {"origin_station_id": "st-a", "destination_station_id": "st-b"}
        step = _cosign_genuine(script, "ev-withheld", honest, {"trip": route})
        script.build("public", [script.ref(step, "trip")], time=_ARRIVE + 3600)
        return script

    def attack(self, iut: IUT, seed: int, profile: Profile) -> AttackResult:
        del profile  # a handful of blocks: both profiles play every attempt
        scripts = [
            self.forged_trips(seed),
            self.tampered(seed),
            self.leaked_key(seed),
            self.withheld(seed),
        ]
        return judge_declared(self, iut, seed, scripts)


class VerifiersAtQuorum:
    """A full quorum of colluding verifiers (issue 14, adversary 8, at the threshold)."""

    name: str = "verifiers-at-quorum"
    title: str = "Colluding verifiers at the quorum publish trips nobody made"
    capabilities: frozenset[Capability] = capabilities(Capability.COLLUDING_VERIFIERS)
    colluders: int = TRIP_QUORUM
    targets: tuple[str, ...] = ("IOME-TRIP-002", "IOME-ODM-004", "IOME-TRIP-006")
    invariant: Invariant = "sybil-resistance"
    expected: Expected = "leaks"

    def fabricate(self, seed: int, count: int) -> Script:
        """``count`` trips from st-a to st-b that no vehicle made, then the O-D matrix."""
        script = Script(
            self,
            "fabricated-trips",
            f"{TRIP_QUORUM} colluding verifiers publish {count} trips without presence or claim",
            seed,
            ("IOME-TRIP-002", "IOME-ODM-004", "IOME-TRIP-006"),
            _ARRIVE,
        )
        b = script.b
        own = _colluders(self.colluders)
        trips = [
            b.trip(start=_DEPART + 60 * i, end=_ARRIVE + 60 * i, verifiers=own)
            for i in range(count)
        ]
        for trip in trips:
            script.append("public", [trip], time=trip.end_time, leak=True)
        loop = b.trip("st-a", "st-a", start=_DEPART, end=_ARRIVE, verifiers=own)
        script.append("public", [loop], "IOME-TRIP-006", time=T0 + _DAY - 60)
        period = (T0, T0 + _DAY)
        honest_count = b.od_matrix([], period=period)
        script.append("public", [honest_count], "IOME-ODM-004", time=T0 + _DAY)
        counted = b.od_matrix(trips, period=period)
        script.append("public", [counted], time=T0 + _DAY)
        script.check_tx("public", counted.tx_id, present=True)
        return script

    @staticmethod
    def _measure(played: Sequence[tuple[Script, ReplayResult]]) -> Measure | None:
        return measure_published(
            played,
            lambda published, attempted: (
                f"{published} of {attempted} fabricated trips published by {TRIP_QUORUM} "
                f"colluding verifiers (quorum {TRIP_QUORUM}); the st-a to st-b O-D cell counts "
                f"{published} trips no vehicle made, and none has a claim on the consortium chain"
            ),
        )

    def withheld(self, seed: int) -> Script:
        """A full quorum stops answering: a genuine trip waits (nothing is recorded) until
        they answer again, then it is published."""
        script = Script(
            self,
            "withheld",
            "A quorum of colluding verifiers withholds a genuine trip, then lets it through",
            seed,
            ("IOME-TRIP-002",),
            _ARRIVE,
        )
        script.keys.extend(_VERIFIERS)
        honest = [name for name in _VERIFIERS if name not in _colluders(self.colluders)]
        _cosign_genuine(script, "ev-withheld", honest, {"trip": None})
        route = {"origin_station_id": "st-a", "destination_station_id": "st-b"}
        step = _cosign_genuine(script, "ev-withheld", _VERIFIERS, {"trip": route})
        script.build("public", [script.ref(step, "trip")], time=_ARRIVE + 3600)
        return script

    def attack(self, iut: IUT, seed: int, profile: Profile) -> AttackResult:
        fabricated = self.fabricate(seed, _FABRICATED[profile])
        scripts = [fabricated, self.withheld(seed)]
        return judge_declared(self, iut, seed, scripts, self._measure, required=[fabricated])
