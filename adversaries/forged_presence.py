"""Adversary 1: a forged station signature on a presence, and a presence signed with the key
of another station (issue 14 item 1; spec/adversaries.md).

A presence is a station's word that a one-time key was docked there (trips.md). An attacker on
the network without any station key forges one outright; an attacker holding one station's key
(st-b) signs presences in the name of another station (st-a), to place a vehicle where it never
was. Each forged presence is sent in a consortium block after an honest one, and the chain's
head must not move.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adversaries.base import Capability, Profile
from adversaries.play import Script, capabilities
from adversaries.scripted import ScriptedAdversary
from iome_ref.models import Presence
from iome_ref.vectors.builders import forge

__all__ = ["ForgedPresence"]

_CHAIN = "verifiers"


def _fields(script: Script, station: str, station_pk: str, key: str) -> dict[str, Any]:
    return {
        "kind": "source",
        "station_id": station,
        "station_pk": station_pk,
        "one_time_pk": script.b.key(key).public_hex,
        "t": script.tick(),
    }


class ForgedPresence(ScriptedAdversary):
    name = "forged-presence"
    title = "Forged station signature on a presence; a presence signed for another station"
    capabilities = capabilities(Capability.NETWORK, Capability.COMPROMISED_STATION)
    colluders = 1
    targets = ("IOME-SIG-001", "IOME-CERT-005", "IOME-CERT-006")
    invariant = "sybil-resistance"
    expected = "blocked"

    def _start(self, script: Script, index: int) -> None:
        """An honest presence first, so a refusal is judged on a chain with history."""
        honest = script.b.presence("source", "st-c", f"fp-{index}/honest", script.tick())
        script.append(_CHAIN, [honest])

    def scripts(self, seed: int, profile: Profile) -> list[Script]:
        attacker = "fp/attacker"

        def forged_sigs(s: Script) -> Presence:
            """st-a's key and id, signatures made by the attacker's own key."""
            fields = _fields(s, "st-a", s.b.key("st-a").public_hex, "fp/otk-1")
            draft = forge(Presence, fields)
            own = s.b.key(attacker)
            return draft.model_copy(
                update={
                    "station_sig": own.sign("Presence", draft.tx_id),
                    "station_pk_sig": own.sign("Presence.pk", draft.one_time_pk),
                }
            )

        def one_sig_forged(s: Script) -> Presence:
            """SignA(PK1) is genuine (copied from a presence st-a made for this key), the
            signature over the tx id is not: a new time grafted onto an old attestation."""
            real = s.b.presence("source", "st-a", "fp/otk-2", s.tick())
            moved = forge(
                Presence,
                real.model_dump(mode="json", exclude={"tx_id", "station_sig", "station_pk_sig"})
                | {"t": real.t - 300},
                station_pk_sig=real.station_pk_sig,
            )
            return moved.model_copy(update={"station_sig": real.station_sig})

        def other_station_key(s: Script) -> Presence:
            """st-b's key signs a presence naming st-a (a compromised st-b)."""
            return s.b.presence(
                "source", "st-a", "fp/otk-3", s.tick(), station_pk=s.b.key("st-b").public_hex
            )

        def uncertified_key(s: Script) -> Presence:
            """The attacker's own key as st-a's, with valid signatures by it."""
            return s.b.presence(
                "source", "st-a", "fp/otk-4", s.tick(), station_pk=s.b.key(attacker).public_hex
            )

        def uncertified_forged(s: Script) -> Presence:
            """An uncertified key with garbage signatures: refused for the missing certificate
            before any signature is verified (transactions.md, Processing step 6 before 7)."""
            fields = _fields(s, "st-a", s.b.key(attacker).public_hex, "fp/otk-5")
            return forge(Presence, fields, station_sig="ab" * 64, station_pk_sig="cd" * 64)

        variants: list[tuple[str, str, str, Callable[[Script], Presence]]] = [
            (
                "forged-signatures",
                "a presence in st-a's name signed by the attacker",
                "IOME-SIG-001",
                forged_sigs,
            ),
            (
                "grafted-signature",
                "st-a's signature over PK1 kept, the time moved",
                "IOME-SIG-001",
                one_sig_forged,
            ),
            (
                "other-station-key",
                "a presence naming st-a signed with st-b's certified key",
                "IOME-CERT-005",
                other_station_key,
            ),
            (
                "uncertified-key",
                "a presence naming st-a under the attacker's uncertified key",
                "IOME-CERT-006",
                uncertified_key,
            ),
            (
                "uncertified-forged",
                "an uncertified key and forged signatures",
                "IOME-CERT-006",
                uncertified_forged,
            ),
        ]
        scripts = []
        for index, (variant, title, req_id, make) in enumerate(variants):
            script = self.script(seed, variant, title, req_id)
            self._start(script, index)
            forged = make(script)
            script.append(_CHAIN, [forged], req_id, actor="attacker")
            script.submit_tx(_CHAIN, forged, req_id, actor="attacker")
            script.check_head(_CHAIN)
            script.check_tx(_CHAIN, forged.tx_id, present=False)
            scripts.append(script)
        return scripts
