"""Sybil resistance: nothing is accepted beyond what certified actors did (issue 13 §2).

Honest rules: registered issuers extend their EPS chains, certified stations attest fresh
one-time keys (presences on the consortium chain) and record charging sessions (public chain).
Adversarial rules: a one-time key presented again (in a presence or a session), a presence or
session signed by a station that is not certified or whose certificate is revoked, an EPS off its
issuer's chain or by an unregistered issuer, and an issuer that equivocates (refused, and the
evidence kept). The reference must refuse each; the IUT must refuse with the same id and keep the
same evidence.
"""

from __future__ import annotations

from typing import Final

from hypothesis import strategies as st
from hypothesis.stateful import initialize, rule

from iome_ref.conformance.machines.base import DualMachine, counted, guarded
from iome_ref.encoding import compute_hash
from iome_ref.models import SignedModel
from iome_ref.vectors.world import REVOKED_AT

__all__ = ["SybilMachine"]

_STATIONS: Final = ("st-a", "st-b", "st-c")
_ISSUERS: Final = ("grid-north", "grid-south")
#: Stations no certified actor stands behind: no certificate, or a revoked one.
_ROGUES: Final = ("st-rogue", "st-revoked")


class SybilMachine(DualMachine):
    """Certified and uncertified actors, fresh and reused one-time keys, honest and
    equivocating issuers."""

    family = "sybil"
    title = "Sybil resistance: only certified actors' fresh keys and issuers' chains are accepted"
    requirement_ids = (
        "IOME-CERT-003",
        "IOME-CHG-003",
        "IOME-EPS-004",
        "IOME-EPS-005",
        "IOME-EPS-006",
        "IOME-PRES-001",
    )
    attacker_capabilities = ("sybil", "key-reuse", "equivocation")
    # After st-revoked's certificate was revoked, before every other certificate expires.
    start_time = REVOKED_AT + 10_000

    def start_model(self) -> None:
        #: Each issuer's accepted EPS chain, from its registration.
        self.chains: dict[str, list[str]] = {}
        #: One-time keys (names) accepted in a presence, and in a charging session.
        self.presented: list[str] = []
        self.charged: list[str] = []

    def submit(self, chain: str, txs: list[SignedModel]) -> str | None:
        """Both nodes judge a block of ``txs``: the reference's refusal id, or None."""
        return self.submit_block(chain, self.next_block(chain, txs, time=self.tick())).code

    def refused(self, chain: str, tx: SignedModel, *expected: str) -> None:
        code = self.submit(chain, [tx])
        assert code is not None, f"the reference accepted a {tx.tx_type} no certified actor made"
        assert not expected or code in expected, (code, expected)

    # -- honest rules ----------------------------------------------------------------------

    @initialize()
    def register_issuers(self) -> None:
        regs = [self.b.registration(issuer, t=self.tick()) for issuer in _ISSUERS]
        assert self.submit("public", list(regs)) is None
        self.chains = {issuer: [reg.tx_id] for issuer, reg in zip(_ISSUERS, regs, strict=True)}

    @rule(issuer=st.sampled_from(_ISSUERS), price=st.integers(-(10**6), 10**6))
    @counted
    def extend_eps(self, issuer: str, price: int) -> None:
        eps = self.b.eps(self.chains[issuer][-1], issuer, self.tick(), price_micro_per_kwh=price)
        assert self.submit("public", [eps]) is None
        self.chains[issuer].append(eps.tx_id)

    @rule(station=st.sampled_from(_STATIONS), kind=st.sampled_from(["source", "destination"]))
    @counted
    def dock(self, station: str, kind: str) -> None:
        key = self.fresh_key()
        assert self.submit("verifiers", [self.b.presence(kind, station, key, self.tick())]) is None
        self.presented.append(key)

    @rule(station=st.sampled_from(_STATIONS), energy=st.integers(1_000, 40_000))
    @counted
    def charge(self, station: str, energy: int) -> None:
        key, end = self.fresh_key(), self.tick()
        session = self.b.charge(station, key, end - 1800, end, energy_wh=energy)
        assert self.submit("public", [session]) is None
        self.charged.append(key)

    # -- adversarial rules -----------------------------------------------------------------

    @rule(data=st.data())
    @guarded(lambda self: any(len(chain) > 1 for chain in self.chains.values()))
    def equivocate_eps(self, data: st.DataObject) -> None:
        """An issuer signs a second successor of an EPS it already extended."""
        issuer = data.draw(st.sampled_from([i for i in _ISSUERS if len(self.chains[i]) > 1]))
        prev = data.draw(st.sampled_from(self.chains[issuer][:-1]), label="extended EPS")
        eps = self.b.eps(prev, issuer, self.tick(), region="south")
        self.refused("public", eps, "IOME-EPS-005")

    @rule(issuer=st.sampled_from(_ISSUERS), seed=st.integers(0, 2**16))
    @counted
    def eps_off_chain(self, issuer: str, seed: int) -> None:
        prev = compute_hash(f"no such EPS {seed}".encode())
        self.refused("public", self.b.eps(prev, issuer, self.tick()), "IOME-EPS-004")

    @rule(issuer=st.sampled_from(["grid-rogue", "home-1"]))
    @counted
    def eps_unregistered(self, issuer: str) -> None:
        """An EPS by a key no registration (and no certificate) stands behind."""
        prev = compute_hash(f"rogue {issuer}".encode())
        self.refused("public", self.b.eps(prev, issuer, self.tick()))

    @rule(data=st.data(), station=st.sampled_from(_STATIONS))
    @guarded(lambda self: bool(self.presented))
    def reuse_presence_key(self, data: st.DataObject, station: str) -> None:
        """A one-time key already presented, presented again (at any station)."""
        key = data.draw(st.sampled_from(self.presented), label="one-time key")
        presence = self.b.presence("destination", station, key, self.tick())
        self.refused("verifiers", presence, "IOME-PRES-001")

    @rule(data=st.data(), station=st.sampled_from(_STATIONS))
    @guarded(lambda self: bool(self.charged))
    def reuse_session_key(self, data: st.DataObject, station: str) -> None:
        """A one-time key already in a public charging session, in a second one."""
        key, end = data.draw(st.sampled_from(self.charged), label="one-time key"), self.tick()
        self.refused("public", self.b.charge(station, key, end - 600, end), "IOME-CHG-003")

    @rule(station=st.sampled_from(_ROGUES), kind=st.sampled_from(["source", "destination"]))
    @counted
    def rogue_presence(self, station: str, kind: str) -> None:
        """A presence attested by a station without a valid certificate."""
        presence = self.b.presence(kind, station, self.fresh_key(), self.tick())
        self.refused("verifiers", presence)

    @rule(station=st.sampled_from(_ROGUES))
    @counted
    def rogue_session(self, station: str) -> None:
        """A charging session recorded by a station without a valid certificate."""
        end = self.tick()
        self.refused("public", self.b.charge(station, self.fresh_key(), end - 600, end))
