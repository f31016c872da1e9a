"""Adversary 3: replay of a source or destination presence, of a whole trip claim and of the
trip it yields, on the same chain and on another chain; and a captured price signal delivered
after it expired (issue 14 item 3; spec/adversaries.md).

The attacker sits on the network: it keeps copies of every message it saw and sends them
again, later, or to another chain. On the same chain a replay is the same tx id
(IOME-REC-002) or the same presence under a new claim (IOME-CLAIM-005); on a chain of another
kind the type is not allowed there (IOME-BLK-010); a signal delayed past its expiry was never
in force when recorded (IOME-EPS-011).

What the protocol cannot prevent: replay onto a *second consortium chain*. Recording rules
hold per chain (IOME-REC-002, IOME-PRES-001, IOME-CLAIM-005 say "on a chain"), so the
presences and the claim of one drive are accepted again on another verifiers' chain, whose
verifiers then publish a second Trip of the same drive (a fresh nonce, so a distinct
transaction): the public O-D count of that pair doubles. The figure is how many of the
replayed records the implementation accepts.
"""

from __future__ import annotations

from adversaries.base import Capability, Profile
from adversaries.play import Script, capabilities
from adversaries.scripted import ScriptedAdversary
from iome_ref.constants import CHAIN_CONSORTIUM
from iome_ref.encoding import compute_hash
from iome_ref.models import Presence, Trip, TripClaim

__all__ = ["Replay"]

_CONSORTIUM = "verifiers"
_SECOND = "verifiers-2"
_PUBLIC = "public"
_CHILD = "fleet"


def _drive(script: Script, tag: str) -> tuple[Presence, Presence, TripClaim, Trip]:
    """One honest drive st-a -> st-b recorded on the consortium chain (presences, then the
    claim) and its Trip on the public chain."""
    t1 = script.tick()
    source = script.b.presence("source", "st-a", f"rp-{tag}/pk1", t1)
    script.append(_CONSORTIUM, [source])
    t2 = script.tick(1800)
    destination = script.b.presence("destination", "st-b", f"rp-{tag}/pk2", t2)
    script.append(_CONSORTIUM, [destination])
    claim = script.b.claim(source, destination, script.tick())
    script.append(_CONSORTIUM, [claim])
    trip = script.b.trip(
        start=t1 // 60 * 60,
        end=-(-t2 // 60) * 60,
        nonce=compute_hash(f"nonce {tag} 1".encode()),
    )
    script.append(_PUBLIC, [trip], time=max(script.tick(), trip.end_time))
    return source, destination, claim, trip


class Replay(ScriptedAdversary):
    name = "replay"
    title = "Replay of presences, trip claims and trips on the same and another chain"
    capabilities = capabilities(Capability.NETWORK)
    targets = ("IOME-REC-002", "IOME-CLAIM-005", "IOME-BLK-010", "IOME-EPS-011")
    invariant = "sybil-resistance"
    expected = "leaks"
    leak_variants = "second-consortium"
    leak_unit = "records"
    leak_sentence = (
        "{accepted} of {total} records of one drive accepted again via a second consortium "
        "chain (2 presences, 1 claim, 1 duplicate trip)"
    )

    def scripts(self, seed: int, profile: Profile) -> list[Script]:
        return [
            self._same_chain(seed),
            self._other_kind(seed),
            self._stale_price(seed),
            self._second_consortium(seed),
        ]

    def _same_chain(self, seed: int) -> Script:
        script = self.script(
            seed,
            "same-chain",
            "presences, a claim and a trip sent again to the chain that holds them",
            "IOME-REC-002",
            "IOME-CLAIM-005",
        )
        source, destination, claim, trip = _drive(script, "same")
        for tx in (source, destination, claim):
            script.append(_CONSORTIUM, [tx], "IOME-REC-002", actor="attacker")
            script.submit_tx(_CONSORTIUM, tx, "IOME-REC-002", actor="attacker")
        # The same presences under a claim re-signed at a later time: a new tx id.
        again = script.b.claim(source, destination, script.tick())
        script.append(_CONSORTIUM, [again], "IOME-CLAIM-005", actor="attacker")
        script.append(_PUBLIC, [trip], "IOME-REC-002", actor="attacker")
        script.check_head(_CONSORTIUM)
        script.check_head(_PUBLIC)
        script.check_tx(_CONSORTIUM, again.tx_id, present=False)
        return script

    def _other_kind(self, seed: int) -> Script:
        script = self.script(
            seed,
            "other-kind",
            "presences and a claim replayed onto the public and the child chain",
            "IOME-BLK-010",
        )
        source, destination, claim, _ = _drive(script, "kind")
        for chain in (_PUBLIC, _CHILD):
            for tx in (source, destination, claim):
                script.append(chain, [tx], "IOME-BLK-010", actor="attacker")
            script.check_tx(chain, claim.tx_id, present=False)
        return script

    def _stale_price(self, seed: int) -> Script:
        script = self.script(
            seed,
            "stale-price",
            "a captured price signal delivered after it expired",
            "IOME-EPS-011",
        )
        registration = script.b.registration("grid-north", t=script.tick())
        script.append(_PUBLIC, [registration])
        issued = script.tick()
        eps = script.b.eps(registration.tx_id, "grid-north", issued)
        script.submit_tx(_PUBLIC, eps, "IOME-EPS-011", actor="attacker", block_time=eps.expiry)
        script.append(_PUBLIC, [eps], "IOME-EPS-011", actor="attacker", time=eps.expiry + 60)
        script.check_tx(_PUBLIC, eps.tx_id, present=False)
        return script

    def _second_consortium(self, seed: int) -> Script:
        script = self.script(
            seed,
            "second-consortium",
            "one drive's presences and claim replayed on a second verifiers' chain, whose "
            "verifiers publish its trip again",
            "IOME-REC-002",
            "IOME-PRES-001",
            "IOME-CLAIM-005",
        )
        script.extra_chains[_SECOND] = CHAIN_CONSORTIUM
        source, destination, claim, trip = _drive(script, "second")
        for tx in (source, destination, claim):
            script.append(_SECOND, [tx], actor="attacker", leak=True)
        twin = script.b.trip(
            start=trip.start_time, end=trip.end_time, nonce=compute_hash(b"nonce second 2")
        )
        script.append(_PUBLIC, [twin], actor="attacker", leak=True)
        script.check_tx(_PUBLIC, twin.tx_id, present=True)
        return script
