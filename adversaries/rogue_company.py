"""Adversary 11: a fake distribution company, and a certified one pricing outside its region.

Price signals steer vehicles and money (spec/energy.md), so only a company the certificate
authority certified (role distribution) and registered (an IssuerRegistration signed by the
root) may publish an EPS, and only for its registered regions. The attacker is a rogue issuer:

- a fake company with a key nobody certified, which registers itself and prices a region
  (its key has no certificate: IOME-CERT-006, before any signature is checked);
- a certified company that signs its own registration in the authority's place, or has an
  impostor authority named like the root sign it (IOME-EPS-001);
- a certified company the authority never registered, which prices a region by extending
  another company's chain (IOME-EPS-006);
- a certified, registered company pricing a region outside its registration (IOME-EPS-007),
  beside an in-region signal a correct node accepts (the control).

Expected outcome: blocked. What the protocol does not stop: a registered company pricing its
own regions badly; that is the authority's business, not the chain's.
"""

from __future__ import annotations

from typing import Final

from adversaries.base import AttackResult, Capability, Expected, Invariant, Profile
from adversaries.play import Script, capabilities, judge
from iome_ref.conformance.iut import IUT
from iome_ref.models import ESDP, IssuerRegistration
from iome_ref.vectors.world import T0

__all__ = ["RogueCompany"]

_REGISTERED_AT: Final = T0 + 60
_PRICED_AT: Final = T0 + 3600


class RogueCompany:
    """A fake or certified-but-malicious distribution company (issue 14, adversary 11)."""

    name: str = "rogue-company"
    title: str = "A fake distribution company; a certified one pricing outside its region"
    capabilities: frozenset[Capability] = capabilities(Capability.ROGUE_ISSUER)
    colluders: int = 0
    targets: tuple[str, ...] = ("IOME-CERT-006", "IOME-EPS-001", "IOME-EPS-006", "IOME-EPS-007")
    invariant: Invariant = "integrity"
    expected: Expected = "blocked"

    def _script(self, seed: int, suffix: str, title: str, targets: tuple[str, ...]) -> Script:
        """A script whose public chain starts with the honest company's registration."""
        script = Script(self, suffix, title, seed, targets, _REGISTERED_AT)
        honest = script.b.registration("grid-north", _REGISTERED_AT)
        script.append("public", [honest], time=_REGISTERED_AT)
        return script

    def _honest_tip(self, script: Script) -> IssuerRegistration:
        return script.b.registration("grid-north", _REGISTERED_AT)

    def fake_company(self, seed: int) -> Script:
        """An uncertified key registers itself, predicts as a company, and prices a region."""
        script = self._script(
            seed,
            "fake",
            "An uncertified company registers itself and publishes price signals",
            ("IOME-CERT-006",),
        )
        b = script.b
        fake = b.registration("grid-fake", _REGISTERED_AT, ca_pk=b.key("grid-fake").public_hex)
        script.append("public", [fake], "IOME-CERT-006", time=_PRICED_AT)
        eps = b.eps(fake.tx_id, "grid-fake", _PRICED_AT)
        script.append("public", [eps], "IOME-CERT-006", time=_PRICED_AT)
        esdp: ESDP = b.esdp("grid-fake", _PRICED_AT, issuer_role="distribution")
        script.append("public", [esdp], "IOME-CERT-006", time=_PRICED_AT)
        script.check_head("public")
        script.check_tx("public", eps.tx_id, present=False)
        return script

    def self_registered(self, seed: int) -> Script:
        """A certified company signs its own registration in the authority's place."""
        script = self._script(
            seed,
            "self-registered",
            "A certified company registers itself without the certificate authority",
            ("IOME-EPS-001",),
        )
        b = script.b
        own = b.registration("grid-south", _REGISTERED_AT, ca_pk=b.key("grid-south").public_hex)
        script.append("public", [own], "IOME-EPS-001", time=_PRICED_AT)
        # An impostor authority named like the root ("iome-ca") registers it instead.
        impostor = b.registration("grid-south", _REGISTERED_AT, ca_pk=b.key("impostor").public_hex)
        script.append("public", [impostor], "IOME-EPS-001", time=_PRICED_AT)
        script.check_head("public")
        return script

    def unregistered(self, seed: int) -> Script:
        """A certified but unregistered company extends the registered company's chain."""
        script = self._script(
            seed,
            "unregistered",
            "A certified company never registered prices a region on another's chain",
            ("IOME-EPS-006",),
        )
        b = script.b
        tip = self._honest_tip(script)
        eps = b.eps(tip.tx_id, "grid-south", _PRICED_AT, region="south")
        script.append("public", [eps], "IOME-EPS-006", time=_PRICED_AT)
        script.check_head("public")
        return script

    def outside_region(self, seed: int) -> Script:
        """A registered company prices its own region (accepted), then one outside it."""
        script = self._script(
            seed,
            "outside-region",
            "A registered company prices a region outside its registration",
            ("IOME-EPS-007",),
        )
        b = script.b
        inside = b.eps(self._honest_tip(script).tx_id, "grid-north", _PRICED_AT)
        script.append("public", [inside], time=_PRICED_AT)
        outside = b.eps(inside.tx_id, "grid-north", _PRICED_AT + 60, region="east")
        script.append("public", [outside], "IOME-EPS-007", time=_PRICED_AT + 60)
        script.check_head("public")
        script.check_tx("public", outside.tx_id, present=False)
        return script

    def attack(self, iut: IUT, seed: int, profile: Profile) -> AttackResult:
        del profile  # every attempt is cheap: both profiles play them all
        scripts = [
            self.fake_company(seed),
            self.self_registered(seed),
            self.unregistered(seed),
            self.outside_region(seed),
        ]
        return judge(self, iut, seed, scripts)
