"""Adversary 10: cross-type and cross-chain signature replay (issue 14 item 10;
spec/adversaries.md).

The attacker on the network collects signatures and tries them where they were not made for:
a BEM's signature made under another type's domain tag (an ESDP "signed" as an EPS), a
station's signature over a presence's tx id under the ChargeSession tag, a verifier's
signature made for a block, a producer's block signature under another tag, and a block of
one chain sent to another. Every IoME signature is over ``IoME/1`` + the type's tag + the
payload (encoding.md), so none verifies elsewhere (IOME-SIG-001), and a block names its chain
(IOME-BLK-005).

What the protocol cannot prevent: a transaction carries no chain id, so a signed ESDP seen on
the public chain can be recorded again, unchanged, on a child chain that allows the type
(IOME-REC-002 holds per chain). The figure counts such cross-chain replays accepted.
"""

from __future__ import annotations

from typing import Final

from adversaries.base import Capability, Profile
from adversaries.play import Script, capabilities
from adversaries.scripted import ScriptedAdversary
from iome_ref.encoding import compute_hash
from iome_ref.models import VerifierSignature

__all__ = ["SignatureReplay"]

_PUBLIC: Final = "public"
_FLEET: Final = "fleet"
_CONSORTIUM: Final = "verifiers"


class SignatureReplay(ScriptedAdversary):
    name = "signature-replay"
    title = "Cross-type and cross-chain signature replay"
    capabilities = capabilities(Capability.NETWORK)
    targets = ("IOME-SIG-001", "IOME-BLK-005")
    invariant = "integrity"
    expected = "leaks"
    leak_variants = "cross-chain"
    leak_unit = "transactions"
    leak_sentence = (
        "{accepted} of {total} signed transactions replayed from the public chain onto a "
        "child chain accepted (transactions carry no chain id)"
    )

    def scripts(self, seed: int, profile: Profile) -> list[Script]:
        return [self._cross_type(seed), self._cross_chain(seed)]

    def _cross_type(self, seed: int) -> Script:
        script = self.script(
            seed,
            "cross-type",
            "signatures made under one type's tag presented as another's",
            "IOME-SIG-001",
        )
        b = script.b
        esdp = b.esdp("sr/home", script.tick())
        as_eps = esdp.model_copy(update={"signature": b.key("sr/home").sign("EPS", esdp.tx_id)})
        script.submit_tx(_PUBLIC, as_eps, "IOME-SIG-001", actor="network")
        script.append(_PUBLIC, [as_eps], "IOME-SIG-001", actor="network")

        presence = b.presence("source", "st-a", "sr/pk", script.tick())
        station = b.key("st-a")
        as_session = presence.model_copy(
            update={"station_sig": station.sign("ChargeSession", presence.tx_id)}
        )
        script.submit_tx(_CONSORTIUM, as_session, "IOME-SIG-001", actor="network")
        swapped = presence.model_copy(
            update={"station_sig": presence.station_pk_sig, "station_pk_sig": presence.station_sig}
        )
        script.submit_tx(_CONSORTIUM, swapped, "IOME-SIG-001", actor="network")

        t = script.tick()
        trip = b.trip(start=t // 60 * 60, end=(t // 60 + 30) * 60, nonce=compute_hash(b"sr trip"))
        verifier = b.key("verifier-2")
        as_block = VerifierSignature(
            verifier_pk=verifier.public_hex, signature=verifier.sign("Block", trip.tx_id)
        )
        forged = trip.model_copy(update={"verifier_sigs": [trip.verifier_sigs[0], as_block]})
        script.submit_tx(_PUBLIC, forged, "IOME-SIG-001", actor="network", block_time=trip.end_time)

        block = script.block(_PUBLIC, [b.esdp("sr/home-2", script.tick())])
        producer = b.key("producer")
        resigned = block.model_copy(update={"signature": producer.sign("Anchor", block.block_hash)})
        script.submit_block(_PUBLIC, resigned, "IOME-SIG-001", actor="network")
        script.check_head(_PUBLIC)
        return script

    def _cross_chain(self, seed: int) -> Script:
        script = self.script(
            seed,
            "cross-chain",
            "a block and a transaction of one chain replayed on another",
            "IOME-BLK-005",
            "IOME-REC-002",
        )
        b = script.b
        esdp = b.esdp("sr/home-3", script.tick())
        public = script.append(_PUBLIC, [esdp])
        fleet = script.append(_FLEET, [b.commitment("sr/home-4", b"data", script.tick())])
        # The public block itself on the child chain, and a child block on the public chain.
        script.submit_block(_FLEET, public, "IOME-BLK-005", actor="network")
        script.submit_block(_PUBLIC, fleet, "IOME-BLK-005", actor="network")
        script.check_head(_FLEET)
        # The ESDP alone, unchanged, in a block of the child chain: no chain id to refuse it.
        script.append(_FLEET, [esdp], actor="network", leak=True)
        script.check_tx(_FLEET, esdp.tx_id, present=True)
        return script
