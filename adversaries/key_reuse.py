"""Adversary 4: one-time key reuse across trips, across charging sessions, and across a
charging session and a presence (issue 14 item 4; spec/adversaries.md).

A vehicle (any Sybil key holder) tries to make one docking count twice: its one-time key in a
second presence (IOME-PRES-001), a presence of one trip under the claim of another
(IOME-CLAIM-005), the key in a second public session (IOME-CHG-003), or a station asked to
attest the same docked key twice (IOME-PRES-003, through the station's role operation).

What the chains cannot see: the key of a presence at one station reused, at a later docking
at another station, in a public charging session. Presences live on the consortium chain and
sessions on the public one; no rule relates them, and IOME-CHG-008 (a session only for the
docked vehicle) is the station's conduct, which a chain cannot check. The session is
accepted, and it links the two dockings publicly. The figure counts the reuse patterns the
implementation accepts.
"""

from __future__ import annotations

from adversaries.base import Capability, Profile
from adversaries.play import Script, capabilities
from adversaries.scripted import ScriptedAdversary

__all__ = ["KeyReuse"]

_CONSORTIUM = "verifiers"
_PUBLIC = "public"


class KeyReuse(ScriptedAdversary):
    name = "key-reuse"
    title = "One-time key reuse across trips, sessions, and a session and a presence"
    capabilities = capabilities(Capability.SYBIL)
    targets = ("IOME-PRES-001", "IOME-CLAIM-005", "IOME-CHG-003", "IOME-PRES-003")
    invariant = "sybil-resistance"
    expected = "leaks"
    leak_unit = "patterns"
    leak_sentence = (
        "{accepted} of {scripts} reuse patterns accepted (a presence's key reused in a later "
        "public session: no chain holds both)"
    )

    def scripts(self, seed: int, profile: Profile) -> list[Script]:
        return [
            self._second_presence(seed),
            self._second_claim(seed),
            self._second_session(seed),
            self._attest_twice(seed),
            self._session_after_presence(seed),
        ]

    def _second_presence(self, seed: int) -> Script:
        script = self.script(
            seed,
            "second-presence",
            "PK1 of one trip shown again at the next trip's source",
            "IOME-PRES-001",
        )
        first = script.b.presence("source", "st-a", "kr/pk1", script.tick())
        script.append(_CONSORTIUM, [first])
        for station, kind in (("st-b", "source"), ("st-c", "destination"), ("st-a", "source")):
            again = script.b.presence(kind, station, "kr/pk1", script.tick(1200))
            script.submit_tx(_CONSORTIUM, again, "IOME-PRES-001", actor="vehicle")
            script.append(_CONSORTIUM, [again], "IOME-PRES-001", actor="vehicle")
        script.check_head(_CONSORTIUM)
        return script

    def _second_claim(self, seed: int) -> Script:
        script = self.script(
            seed,
            "second-claim",
            "the source presence of one trip claimed again with a new destination",
            "IOME-CLAIM-005",
        )
        source = script.b.presence("source", "st-a", "kr/c-pk1", script.tick())
        destination = script.b.presence("destination", "st-b", "kr/c-pk2", script.tick(1800))
        script.append(_CONSORTIUM, [source, destination])
        script.append(_CONSORTIUM, [script.b.claim(source, destination, script.tick())])
        later = script.b.presence("destination", "st-c", "kr/c-pk3", script.tick(3600))
        script.append(_CONSORTIUM, [later])
        claim = script.b.claim(source, later, script.tick())
        script.submit_tx(_CONSORTIUM, claim, "IOME-CLAIM-005", actor="vehicle")
        script.append(_CONSORTIUM, [claim], "IOME-CLAIM-005", actor="vehicle")
        script.check_tx(_CONSORTIUM, claim.tx_id, present=False)
        return script

    def _second_session(self, seed: int) -> Script:
        script = self.script(
            seed,
            "second-session",
            "one one-time key in two public charging sessions",
            "IOME-CHG-003",
        )
        end = script.tick(1800)
        script.append(_PUBLIC, [script.b.charge("st-a", "kr/s-pk", end - 1200, end)])
        for station in ("st-a", "st-b"):
            end = script.tick(1800)
            session = script.b.charge(station, "kr/s-pk", end - 1200, end, energy_wh=5_000)
            script.submit_tx(_PUBLIC, session, "IOME-CHG-003", actor="vehicle")
            script.append(_PUBLIC, [session], "IOME-CHG-003", actor="vehicle")
        script.check_head(_PUBLIC)
        return script

    def _attest_twice(self, seed: int) -> Script:
        """The station's own role operation: one docking, two presences asked for."""
        script = self.script(
            seed,
            "attest-twice",
            "a station asked twice for a presence of one docking",
            "IOME-PRES-003",
        )
        t = script.tick()
        key = script.dock("st-a", "ev-kr", "kr/r-pk", t)
        attest = {"station": "st-a", "kind": "source", "one_time_pk": key}
        script.role("station_attest", attest | {"t": t + 1}, actor="st-a")
        script.role("station_attest", attest | {"t": t + 2}, "IOME-PRES-003", actor="vehicle")
        script.role(
            "station_attest",
            attest | {"kind": "destination", "t": t + 3},
            "IOME-PRES-003",
            actor="vehicle",
        )
        return script

    def _session_after_presence(self, seed: int) -> Script:
        """PK1 attested at st-a, then reused at a later docking at st-b for a public session:
        no chain sees both (the leak)."""
        script = self.script(
            seed,
            "session-after-presence",
            "the key of a presence at st-a reused in a later public session at st-b",
            "IOME-CHG-003",
            "IOME-PRES-001",
            "IOME-CHG-008",
        )
        presence = script.b.presence("source", "st-a", "kr/x-pk", script.tick())
        script.append(_CONSORTIUM, [presence])
        end = script.tick(7200)
        session = script.b.charge("st-b", "kr/x-pk", end - 1200, end)
        script.append(_PUBLIC, [session], actor="vehicle", leak=True)
        script.check_tx(_PUBLIC, session.tx_id, present=True)
        return script
