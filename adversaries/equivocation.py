"""Adversary 6: a ``prev_tx_id`` fork and EPS equivocation by a certified issuer, a producer
that signs two blocks at one height, and the evidence each must leave (issue 14 item 6;
spec/adversaries.md).

A certified, registered distribution company wants to show different prices to different
vehicles: it signs two successors of one signal (IOME-EPS-005), or a signal that skips its
own chain and hangs off another issuer's (IOME-EPS-004). A certified block producer signs
two different blocks at one height (IOME-BLK-009). A correct node refuses the second of each
and keeps the pair as evidence that anyone can check later; the scenarios assert the evidence
with ``check_evidence`` steps, including after a dry run (``submit_tx``), which records
evidence too (conformance.md, "Evidence of a dry run").
"""

from __future__ import annotations

from adversaries.base import Capability, Profile
from adversaries.play import Script, capabilities
from adversaries.scripted import ScriptedAdversary

__all__ = ["Equivocation"]

_PUBLIC = "public"
_FLEET = "fleet"


class Equivocation(ScriptedAdversary):
    name = "equivocation"
    title = "prev_tx_id fork and EPS equivocation by a certified issuer; block equivocation"
    capabilities = capabilities(Capability.ROGUE_ISSUER)
    targets = ("IOME-EPS-004", "IOME-EPS-005", "IOME-BLK-009")
    invariant = "non-repudiation"
    expected = "blocked"

    def scripts(self, seed: int, profile: Profile) -> list[Script]:
        return [self._eps_fork(seed), self._eps_skip(seed), self._block_fork(seed)]

    def _issuer_chain(self, script: Script) -> list[str]:
        """Both issuers registered, grid-north's chain two signals long: its tx ids."""
        regs = [script.b.registration(i, t=script.tick()) for i in ("grid-north", "grid-south")]
        script.append(_PUBLIC, regs)
        chain = [regs[0].tx_id]
        for price in (250_000, 260_000):
            eps = script.b.eps(chain[-1], "grid-north", script.tick(), price_micro_per_kwh=price)
            script.append(_PUBLIC, [eps])
            chain.append(eps.tx_id)
        chain.append(regs[1].tx_id)
        return chain

    def _eps_fork(self, seed: int) -> Script:
        script = self.script(
            seed,
            "eps-fork",
            "a certified issuer signs a second successor of a signal it already extended",
            "IOME-EPS-005",
        )
        registration, first, second, _ = self._issuer_chain(script)
        fork = script.b.eps(first, "grid-north", script.tick(), price_micro_per_kwh=90_000)
        step = script.submit_tx(_PUBLIC, fork, "IOME-EPS-005", actor="grid-north")
        script.check_evidence(step, ["IOME-EPS-005"])
        other = script.b.eps(registration, "grid-north", script.tick(), price_micro_per_kwh=1)
        script.append(_PUBLIC, [other], "IOME-EPS-005", actor="grid-north")
        script.check_evidence(script.last, ["IOME-EPS-005"])
        script.check_tx(_PUBLIC, second, present=True)
        script.check_tx(_PUBLIC, other.tx_id, present=False)
        script.check_head(_PUBLIC)
        return script

    def _eps_skip(self, seed: int) -> Script:
        script = self.script(
            seed,
            "eps-skip",
            "a certified issuer chains a signal off another issuer's registration",
            "IOME-EPS-004",
        )
        *_, south = self._issuer_chain(script)
        skip = script.b.eps(south, "grid-north", script.tick(), price_micro_per_kwh=1)
        step = script.submit_tx(_PUBLIC, skip, "IOME-EPS-004", actor="grid-north")
        script.append(_PUBLIC, [skip], "IOME-EPS-004", actor="grid-north")
        script.check_evidence(step, [])
        script.check_head(_PUBLIC)
        return script

    def _block_fork(self, seed: int) -> Script:
        script = self.script(
            seed,
            "block-fork",
            "a certified producer signs two different blocks at one height",
            "IOME-BLK-009",
        )
        for chain in (_PUBLIC, _FLEET):
            first = script.append(chain, [script.b.esdp(f"eq/{chain}-1", script.tick())])
            parent = (first.height - 1, first.prev_hash)
            twin = script.block(chain, [script.b.esdp(f"eq/{chain}-2", script.tick())], at=parent)
            step = script.submit_block(chain, twin, "IOME-BLK-009", actor="producer")
            script.check_evidence(step, ["IOME-BLK-009"])
            script.check_head(chain)
        return script
