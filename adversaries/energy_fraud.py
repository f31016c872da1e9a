"""Adversary 12: energy-transport fraud by a vehicle owner.

A ChargeSession is the public record of energy moved at a station under a vehicle's one-time
key, signed by both parties (spec/transactions.md), and settles against the price signals.
The attacker is a vehicle owner with unlimited fresh keys who relays messages between chains
(capabilities ``sybil`` and ``network``); it holds no station key. It tries to be paid for
energy that never moved:

- **phantom discharge**: a discharge at a station that never happened, the station's
  signature forged with the vehicle's key (IOME-SIG-001), or the station's key replaced by one
  of the vehicle's own (no certificate: IOME-CERT-006);
- **one party only**: a session only the station signed (IOME-SIG-001 on ``vehicle_sig``);
- **counted twice on one chain**: the same session again in a later block (IOME-REC-002) or
  twice in one block (IOME-BLK-006), and a second session under the same one-time key,
  honestly signed by another station it docks at (IOME-CHG-003);
- **counted twice across chains**: the public session relayed to a child chain. The spec
  allows one transaction on two chains (transactions.md, "Replay") and a verdict never looks
  at another chain (chains.md), so this is accepted: the leak is measured, in watt-hours that
  a per-chain sum counts twice (the tx id, the same on both chains, lets an auditor who merges
  the chains count it once).

Expected outcome: ``leaks`` (the cross-chain relay), every other attempt refused. What it
cannot do: make a station sign; a compromised station can sign any session (the spec's stated
limit, "A session is the station's word"), which adversary 13 measures for trips.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from adversaries.base import AttackResult, Capability, Expected, Invariant, Profile
from adversaries.play import Measure, Script, capabilities, judge
from adversaries.tally import tally_leaks
from iome_ref.conformance.iut import IUT
from iome_ref.conformance.scenarios import ReplayResult
from iome_ref.models import ChargeSession
from iome_ref.vectors.world import T0

__all__ = ["EnergyFraud"]

_START: Final = T0 + 7200
_END: Final = T0 + 9000
_ENERGY_WH: Final = 20_000


class EnergyFraud:
    """A vehicle owner claiming energy that never moved (issue 14, adversary 12)."""

    name: str = "energy-fraud"
    title: str = (
        "Energy-transport fraud: a discharge that never happened, a session signed by one "
        "party, energy counted twice"
    )
    capabilities: frozenset[Capability] = capabilities(Capability.SYBIL, Capability.NETWORK)
    colluders: int = 0
    targets: tuple[str, ...] = (
        "IOME-SIG-001",
        "IOME-CERT-006",
        "IOME-REC-002",
        "IOME-BLK-006",
        "IOME-CHG-003",
    )
    invariant: Invariant = "energy-accounting"
    expected: Expected = "leaks"

    def _script(self, seed: int, variant: str, title: str, targets: tuple[str, ...]) -> Script:
        return Script(self, variant, title, seed, targets, _END)

    @staticmethod
    def _fields(script: Script, vehicle_key: str, **over: Any) -> dict[str, Any]:
        """A discharge at st-a of ``_ENERGY_WH`` under ``vehicle_key``."""
        return {
            "station_id": "st-a",
            "station_pk": script.b.key("st-a").public_hex,
            "one_time_pk": script.b.key(vehicle_key).public_hex,
            "direction": "discharge",
            "energy_wh": _ENERGY_WH,
            "price_micro_per_kwh": 80_000,
            "start_time": _START,
            "end_time": _END,
        } | over

    def phantom_discharge(self, seed: int) -> Script:
        """A discharge st-a never signed: a forged station signature, then a self-made
        'station' key."""
        script = self._script(
            seed,
            "phantom-discharge",
            "A vehicle claims a discharge the station never signed",
            ("IOME-SIG-001", "IOME-CERT-006"),
        )
        vehicle = script.b.key("ev-phantom/otk-1")
        forged = ChargeSession.create(
            {"station_sig": vehicle, "vehicle_sig": vehicle},
            **self._fields(script, "ev-phantom/otk-1"),
        )
        script.append("public", [forged], "IOME-SIG-001", time=_END)
        own = script.b.key("ev-phantom/station")
        self_made = ChargeSession.create(
            {"station_sig": own, "vehicle_sig": vehicle},
            **self._fields(script, "ev-phantom/otk-1", station_pk=own.public_hex),
        )
        script.append("public", [self_made], "IOME-CERT-006", time=_END)
        script.check_head("public")
        script.check_tx("public", forged.tx_id, present=False)
        return script

    def one_party(self, seed: int) -> Script:
        """A session the station signed and the vehicle did not: the station's signature
        stands in the vehicle's place."""
        script = self._script(
            seed,
            "one-party",
            "A session signed by the station only",
            ("IOME-SIG-001",),
        )
        station = script.b.key("st-a")
        session = ChargeSession.create(
            {"station_sig": station, "vehicle_sig": station},
            **self._fields(script, "ev-absent/otk-1"),
        )
        script.append("public", [session], "IOME-SIG-001", time=_END)
        script.check_tx("public", session.tx_id, present=False)
        return script

    def counted_twice(self, seed: int) -> Script:
        """One genuine discharge, then the same energy claimed again on the same chain."""
        script = self._script(
            seed,
            "counted-twice",
            "The same discharge counted twice on one chain",
            ("IOME-REC-002", "IOME-BLK-006", "IOME-CHG-003"),
        )
        b = script.b
        genuine = b.charge("st-a", "ev-twice/otk-1", _START, _END, direction="discharge")
        script.append("public", [genuine], time=_END)
        script.append("public", [genuine], "IOME-REC-002", time=_END + 60)
        other = b.charge("st-c", "ev-twice/otk-2", _START, _END, direction="discharge")
        script.append("public", [other, other], "IOME-BLK-006", time=_END + 60)
        # The vehicle reuses its one-time key at st-b, whose honest station signs a session
        # for the key it was shown: the chain alone knows the key was used before.
        again = b.charge("st-b", "ev-twice/otk-1", _END + 1800, _END + 3600, direction="discharge")
        script.append("public", [again], "IOME-CHG-003", time=_END + 3600)
        script.check_head("public")
        script.check_tx("public", again.tx_id, present=False)
        return script

    def across_chains(self, seed: int) -> Script:
        """The public session relayed to the fleet's child chain: accepted there too."""
        script = self._script(
            seed,
            "across-chains",
            "A discharge recorded on the public chain and relayed to a child chain",
            ("IOME-REC-002",),
        )
        session = script.b.charge("st-a", "ev-relay/otk-1", _START, _END, direction="discharge")
        script.append("public", [session], time=_END)
        script.append("fleet", [session], time=_END, leak=True)
        script.check_tx("public", session.tx_id, present=True)
        script.check_tx("fleet", session.tx_id, present=True)
        return script

    @staticmethod
    def _measure(played: Sequence[tuple[Script, ReplayResult]]) -> Measure | None:
        relayed, relays = tally_leaks(played)
        if not relays:
            return None
        twice = relayed * _ENERGY_WH
        return Measure(
            float(twice),
            "Wh counted twice",
            f"{relayed} of {relays} relayed discharge(s) accepted on a second chain: "
            f"{twice} Wh of {relays * _ENERGY_WH} Wh appear on two chains under one tx id "
            "(a per-chain sum counts them twice; merging chains by tx id counts them once)",
        )

    def attack(self, iut: IUT, seed: int, profile: Profile) -> AttackResult:
        del profile  # a handful of blocks: both profiles play every attempt
        scripts = [
            self.phantom_discharge(seed),
            self.one_party(seed),
            self.counted_twice(seed),
            self.across_chains(seed),
        ]
        return judge(self, iut, seed, scripts, self._measure)
