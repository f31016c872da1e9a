"""A signer whose certificate is revoked after the fact denies what it signed (issue 13 §2,
non-repudiation; spec/adversaries.md).

A station signs a charging session on the public chain and a presence on the consortium chain;
both are accepted. It then reports its key compromised from a time before it signed, and the CA
publishes a revocation list that says so (IOME-REV-003: the chain keeps evidence that
transactions it already holds are now signed by a revoked key). The station now denies both
transactions: "my key was revoked, anyone could have signed". The evidence bundle of each, as
the implementation hands it out (op ``evidence_bundle``), must still convince a third party
with only the genesis root: it carries the revocation lists in force where the transaction
stands, under which the signer was certified (IOME-EVB-010). A bundle built with the lists in
force today says "revoked" and lets the signer walk away.
"""

from __future__ import annotations

from typing import Final

from adversaries.base import Capability, Profile
from adversaries.play import Script, capabilities
from adversaries.scripted import ScriptedAdversary
from iome_ref.models import SignedModel

__all__ = ["RevokedSigner"]

_STATION: Final = "st-a"


class RevokedSigner(ScriptedAdversary):
    name = "revoked-signer"
    title = "A station revoked after the fact denies the transactions it signed"
    capabilities = capabilities(Capability.COMPROMISED_STATION)
    targets = ("IOME-EVB-010", "IOME-EVB-001", "IOME-REV-003")
    invariant = "non-repudiation"
    expected = "blocked"

    def scripts(self, seed: int, profile: Profile) -> list[Script]:
        return [self._deny(seed, "charge-session"), self._deny(seed, "presence")]

    def _deny(self, seed: int, variant: str) -> Script:
        script = self.script(
            seed,
            variant,
            f"a {variant} signed by {_STATION}, whose certificate is then revoked from before "
            "it, still has a bundle that verifies",
        )
        t = script.tick(600)
        tx: SignedModel
        if variant == "presence":
            chain = "verifiers"
            tx = script.b.presence("source", _STATION, f"rsg-{variant}/otk", t)
        else:
            chain = "public"
            tx = script.b.charge(_STATION, f"rsg-{variant}/otk", t - 900, t)
        script.append(chain, [tx])
        # Before the revocation: the bundle exists and verifies (IOME-EVB-001).
        script.check_bundle(chain, tx.tx_id, req_id="IOME-EVB-001")
        revocation = script.b.revocation_list({_STATION: tx.time - 1}, script.tick())
        script.append(chain, [revocation])
        script.check_evidence(script.last, ["IOME-REV-003"])
        # After it: the signer denies; the bundle must still verify (IOME-EVB-010).
        script.check_bundle(chain, tx.tx_id, req_id="IOME-EVB-010")
        return script
