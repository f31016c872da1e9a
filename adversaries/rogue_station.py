"""Adversary 2: a rogue station without a certificate, one certified by an impostor authority,
a revoked station and a station whose certificate expired before the claimed time (issue 14
item 2; spec/adversaries.md).

Each sends presences (consortium chain) and charging sessions (public chain) in its own name.
A correct node judges certificates at the claimed time (certificates.md), so every presence
claimed after a revocation or an expiry is refused, and one claimed before its station was
certified too. It judges them again at the time of the block that includes them
(IOME-CERT-021), so a revoked or expired station that still holds its key cannot backdate what
it signs to before the revocation or the expiry and have it included later: the revocation
the chain holds (at genesis, or a RevocationList included earlier) or the expiry stops the key
from the block on. That was this adversary's leak before IOME-CERT-021 (issue 12 §6); it is now
expected blocked. A node that judged certificates at receipt time only (the block's time) is
caught by the station that predates a presence to before it was certified.
"""

from __future__ import annotations

from adversaries.base import Capability, Profile
from adversaries.play import Script, capabilities
from adversaries.scripted import ScriptedAdversary
from iome_ref.models import Presence
from iome_ref.vectors.world import REVOKED_AT, T0

__all__ = ["RogueStation"]

_CONSORTIUM = "verifiers"
_PUBLIC = "public"


class RogueStation(ScriptedAdversary):
    name = "rogue-station"
    title = "Rogue, impostor-certified, revoked and expired stations attest presences"
    capabilities = capabilities(
        Capability.SYBIL, Capability.COMPROMISED_STATION, Capability.CLOCK_SKEW
    )
    colluders = 1
    targets = (
        "IOME-CERT-001",
        "IOME-CERT-002",
        "IOME-CERT-003",
        "IOME-CERT-006",
        "IOME-CERT-021",
        "IOME-BLK-008",
    )
    invariant = "sybil-resistance"
    expected = "blocked"

    def scripts(self, seed: int, profile: Profile) -> list[Script]:
        scripts = []
        refused = [
            ("no-certificate", "st-rogue", "a station key nobody certified", "IOME-CERT-006", None),
            (
                "impostor-ca",
                "st-foreign",
                "certified by an impostor CA named like the root",
                "IOME-CERT-001",
                None,
            ),
            (
                "revoked",
                "st-revoked",
                "after its certificate was revoked",
                "IOME-CERT-003",
                REVOKED_AT + 100,
            ),
            (
                "sub-ca-expired",
                "st-ca-short",
                "after the sub-CA above it expired",
                "IOME-CERT-002",
                REVOKED_AT + 100,
            ),
        ]
        for variant, station, what, req_id, at in refused:
            script = self.script(
                seed,
                variant,
                f"a presence and a session by {station}, {what}",
                req_id,
                start=at or self.start,
            )
            honest = script.b.presence("source", "st-c", f"rs-{variant}/honest", script.tick())
            script.append(_CONSORTIUM, [honest])
            t = script.tick()
            presence = script.b.presence("source", station, f"rs-{variant}/otk-1", t)
            script.append(_CONSORTIUM, [presence], req_id, actor=station)
            script.submit_tx(_CONSORTIUM, presence, req_id, actor=station)
            session = script.b.charge(station, f"rs-{variant}/otk-2", t - 1200, t)
            script.append(_PUBLIC, [session], req_id, actor=station)
            script.check_head(_CONSORTIUM)
            script.check_tx(_CONSORTIUM, presence.tx_id, present=False)
            scripts.append(script)
        scripts.append(self._future_dated(seed))
        # st-ca-short's sub-CA expires at REVOKED_AT: the station's path expired (every
        # actor's own certificate, the producers' included, runs to the year's end).
        scripts.append(self._backdated(seed, "expired", "st-ca-short", REVOKED_AT + 1))
        scripts.append(self._backdated(seed, "revoked", "st-revoked", REVOKED_AT))
        scripts.append(self._backdated_listed(seed))
        scripts.append(self._predated(seed))
        return scripts

    def _future_dated(self, seed: int) -> Script:
        """A station whose certificate is about to be revoked dates presences after the block
        that records them, to have them judged later (IOME-BLK-008 bounds the claimed time)."""
        script = self.script(
            seed,
            "future-dated",
            "presences dated after the block that records them",
            "IOME-BLK-008",
            start=REVOKED_AT - 600,
        )
        for skew in (1, 3600):
            block_time = script.tick()
            presence = script.b.presence(
                "source", "st-revoked", f"rs-future/{skew}", block_time + skew
            )
            script.submit_tx(
                _CONSORTIUM, presence, "IOME-BLK-008", actor="st-revoked", block_time=block_time
            )
            script.append(
                _CONSORTIUM, [presence], "IOME-BLK-008", actor="st-revoked", time=block_time
            )
        script.check_head(_CONSORTIUM)
        return script

    def _backdated(self, seed: int, why: str, station: str, stopped: int) -> Script:
        """A station whose certificate stopped at ``stopped`` (the genesis list revokes it, or
        its path expires) signs a presence dated a minute before, delivered after: refused at
        the block's time (IOME-CERT-021)."""
        script = self.script(
            seed,
            f"backdated-{why}",
            f"a presence by {station} backdated to before its certificate {why}, delivered after",
            "IOME-CERT-021",
            start=stopped + 100,
        )
        presence = script.b.presence("source", station, f"rs-backdated/{station}", stopped - 60)
        return _refused(script, presence, "IOME-CERT-021", station)

    def _backdated_listed(self, seed: int) -> Script:
        """st-b's key is stolen at ``stolen``; the CA publishes a list revoking it from then,
        which the consortium chain includes. The thief dates a presence a minute before the
        theft and delivers it after the list: refused (IOME-CERT-021), whereas the same
        presence on a chain without the list is judged by what that chain holds."""
        script = self.script(
            seed,
            "backdated-listed",
            "a presence by st-b backdated to before the revocation a list on the chain holds",
            "IOME-CERT-021",
        )
        stolen = script.tick(600)
        listed = script.b.revocation_list({"st-b": stolen}, script.tick(300))
        script.append(_CONSORTIUM, [listed])
        presence = script.b.presence("source", "st-b", "rs-backdated/listed", stolen - 60)
        return _refused(script, presence, "IOME-CERT-021", "st-b")

    def _predated(self, seed: int) -> Script:
        """st-c, certified from T0, dates a presence a minute before it and delivers it once
        certified: refused at the claimed time (IOME-CERT-002). A node that judges certificates
        only at receipt (the block's time) accepts it."""
        script = self.script(
            seed,
            "predated",
            "a presence by st-c dated before its certificate's notBefore, delivered after it",
            "IOME-CERT-002",
            start=T0 + 100,
        )
        presence = script.b.presence("source", "st-c", "rs-predated/otk", T0 - 60)
        return _refused(script, presence, "IOME-CERT-002", "st-c")


def _refused(script: Script, presence: Presence, req_id: str, station: str) -> Script:
    """Offer ``presence`` to the consortium chain alone and in a block: both refused under
    ``req_id``, the head unchanged and the presence absent."""
    script.submit_tx(_CONSORTIUM, presence, req_id, actor=station)
    script.append(_CONSORTIUM, [presence], req_id, actor=station)
    script.check_head(_CONSORTIUM)
    script.check_tx(_CONSORTIUM, presence.tx_id, present=False)
    return script
