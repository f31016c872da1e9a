"""Adversary 5: Sybil flooding with fresh keys: ESDP and EPS spam, fake trips without docking,
a presence storm at one station, and keys anyone can sign for (issue 14 item 5;
spec/adversaries.md).

The attacker makes unlimited fresh key pairs and no certificate. It floods:

- price signals (EPS) under fresh keys, each with its own fake "registration" signed by a
  fresh key posing as the CA (IOME-CERT-006: both keys must be certified);
- trips without docking: claims naming presences nobody recorded (IOME-CLAIM-001), the
  verifiers asked (their ``verifier_cosign`` operation) to co-sign a trip over presences the
  attacker signed in two stations' names, and Trips "co-signed" by fresh keys posing as
  verifiers (IOME-CERT-006);
- a presence storm: a certified station asked, through its role operation, to attest fresh
  keys no vehicle docked (IOME-PRES-003);
- weak keys: an ESDP under the identity point, encoded canonically (small order,
  IOME-SIG-005) or not (IOME-SIG-003), whose "signature" anyone can make.

What the protocol cannot prevent: ESDP spam. A BEM is uncertified and pseudonymous
(overview.md), so every ESDP from a fresh key is valid (energy.md, "Predictions are not
facts"). The figure is how many of the flood's ESDPs the implementation accepts.
"""

from __future__ import annotations

from typing import Final

from adversaries.base import Capability, Profile
from adversaries.play import Script, capabilities
from adversaries.scripted import ScriptedAdversary
from iome_ref.crypto import FIELD_PRIME
from iome_ref.encoding import compute_hash
from iome_ref.models import ESDP
from iome_ref.vectors.builders import forge

__all__ = ["SybilFlood"]

_PUBLIC = "public"
_CONSORTIUM = "verifiers"
#: ESDPs per block, and blocks of ESDPs, by profile.
_PER_BLOCK: Final = 10
_BLOCKS: Final = {"quick": 2, "thorough": 20}
#: Fresh keys a station is asked to attest, by profile.
_STORM: Final = {"quick": 4, "thorough": 40}
#: The identity point of Ed25519 (y = 1), and the same point with y encoded as p + 1.
_IDENTITY: Final = (1).to_bytes(32, "little").hex()
_IDENTITY_NON_CANONICAL: Final = (FIELD_PRIME + 1).to_bytes(32, "little").hex()


class SybilFlood(ScriptedAdversary):
    name = "sybil-flood"
    title = "Sybil flooding: ESDP and EPS spam, fake trips, a presence storm, weak keys"
    capabilities = capabilities(Capability.SYBIL)
    targets = (
        "IOME-CERT-006",
        "IOME-CLAIM-001",
        "IOME-PRES-003",
        "IOME-SIG-003",
        "IOME-SIG-005",
    )
    invariant = "sybil-resistance"
    expected = "leaks"
    leak_variants = "esdp-spam"
    leak_unit = "ESDPs"
    leak_sentence = "{accepted} of {total} ESDPs from fresh keys accepted"
    leak_per_step = _PER_BLOCK

    def scripts(self, seed: int, profile: Profile) -> list[Script]:
        return [
            self._esdp_spam(seed, profile),
            self._eps_spam(seed),
            self._fake_trips(seed),
            self._presence_storm(seed, profile),
            self._weak_keys(seed),
        ]

    def _esdp_spam(self, seed: int, profile: Profile) -> Script:
        script = self.script(
            seed,
            "esdp-spam",
            "predictions under fresh BEM keys, block after block",
            "IOME-SIG-001",
        )
        for block in range(_BLOCKS[profile]):
            t = script.tick()
            spam = [
                script.b.esdp(f"sy/home-{block}-{i}", t, supply_wh=1_000_000 + i)
                for i in range(_PER_BLOCK)
            ]
            script.append(_PUBLIC, spam, actor="sybil", leak=True)
        return script

    def _eps_spam(self, seed: int) -> Script:
        script = self.script(
            seed,
            "eps-spam",
            "price signals under fresh keys, each with a self-made registration",
            "IOME-CERT-006",
        )
        for i in range(3):
            issuer = f"sy/grid-{i}"
            t = script.tick()
            # The attacker signs its own registration, posing as the CA.
            registration = script.b.registration(
                issuer, t=t, issuer_id=f"grid-sybil-{i}", ca_pk=script.b.key(issuer).public_hex
            )
            script.append(_PUBLIC, [registration], "IOME-CERT-006", actor="sybil")
            eps = script.b.eps(registration.tx_id, issuer, script.tick())
            script.submit_tx(_PUBLIC, eps, "IOME-CERT-006", actor="sybil")
            script.append(_PUBLIC, [eps], "IOME-CERT-006", actor="sybil")
        script.check_head(_PUBLIC)
        return script

    def _fake_trips(self, seed: int) -> Script:
        script = self.script(
            seed,
            "fake-trips",
            "trips without any docking: claims over unsigned presences, "
            "trips co-signed by fresh keys",
            "IOME-CLAIM-001",
            "IOME-CERT-006",
        )
        honest = script.b.presence("source", "st-c", "sy/honest", script.tick())
        script.append(_CONSORTIUM, [honest])
        for i in range(2):
            # Presences the attacker made up and never sent: the chain does not hold them.
            t1 = script.tick()
            source = script.b.presence("source", "st-a", f"sy/t{i}-pk1", t1)
            destination = script.b.presence("destination", "st-b", f"sy/t{i}-pk2", t1 + 1800)
            claim = script.b.claim(source, destination, script.tick(1800))
            script.submit_tx(_CONSORTIUM, claim, "IOME-CLAIM-001", actor="sybil")
            script.append(_CONSORTIUM, [claim], "IOME-CLAIM-001", actor="sybil")
            trip = script.b.trip(
                start=t1 // 60 * 60,
                end=-(-(t1 + 1800) // 60) * 60,
                verifiers=(f"sy/verifier-{i}-a", f"sy/verifier-{i}-b"),
                nonce=compute_hash(f"sybil trip {i}".encode()),
            )
            at = max(script.tick(), trip.end_time)
            script.submit_tx(_PUBLIC, trip, "IOME-CERT-006", actor="sybil", block_time=at)
            script.append(_PUBLIC, [trip], "IOME-CERT-006", actor="sybil", time=at)
            script.check_tx(_PUBLIC, trip.tx_id, present=False)
        script.check_head(_CONSORTIUM)
        self._cosign_fakes(script)
        return script

    @staticmethod
    def _cosign_fakes(script: Script) -> None:
        """The verifiers' own role operation asked to co-sign a trip over presences the
        attacker signed itself, in st-a's and st-b's names: no certified station stands
        behind them (the verifiers query the CA, Fig. 5 step 6)."""
        script.keys.extend(["verifier-1", "verifier-2", "verifier-3"])
        t1 = script.tick()
        source = script.b.presence(
            "source", "st-a", "sy/c-pk1", t1, station_pk=script.b.key("sy/st-a").public_hex
        )
        destination = script.b.presence(
            "destination",
            "st-b",
            "sy/c-pk2",
            t1 + 1800,
            station_pk=script.b.key("sy/st-b").public_hex,
        )
        claim = script.b.claim(source, destination, t1 + 1900)
        args = {
            "claim": claim.model_dump(mode="json"),
            "source": source.model_dump(mode="json"),
            "destination": destination.model_dump(mode="json"),
            "t": t1 + 2000,
        }
        script.role("verifier_cosign", args, "IOME-CERT-006", actor="sybil")
        script.now = t1 + 2000
        script.role("verifier_batch", {}, actor="verifiers", result={"txs": []})

    def _presence_storm(self, seed: int, profile: Profile) -> Script:
        script = self.script(
            seed,
            "presence-storm",
            "a station asked for presences of fresh keys nobody docked",
            "IOME-PRES-003",
        )
        # One genuine docking, so the station is in use while the storm runs.
        script.dock("st-a", "ev-honest", "sy/docked", script.tick())
        for i in range(_STORM[profile]):
            key = script.b.key(f"sy/storm-{i}").public_hex
            kind = "source" if i % 2 == 0 else "destination"
            args = {"station": "st-a", "kind": kind, "one_time_pk": key, "t": script.tick()}
            script.role("station_attest", args, "IOME-PRES-003", actor="sybil")
        return script

    def _weak_keys(self, seed: int) -> Script:
        script = self.script(
            seed,
            "weak-keys",
            "predictions under the identity point, whose signature anyone can make",
            "IOME-SIG-003",
            "IOME-SIG-005",
        )
        base = script.b.esdp("sy/weak", script.tick())
        fields = base.model_dump(mode="json", exclude={"tx_id", "signature"})
        fake = (bytes(32) + (1).to_bytes(32, "little")).hex()
        for key, req_id in ((_IDENTITY_NON_CANONICAL, "IOME-SIG-003"), (_IDENTITY, "IOME-SIG-005")):
            weak = forge(ESDP, fields | {"issuer_pk": key}, signature=fake)
            script.submit_tx(_PUBLIC, weak, req_id, actor="sybil")
            script.append(_PUBLIC, [weak], req_id, actor="sybil")
        script.check_head(_PUBLIC)
        return script
