"""Non-repudiation: every accepted transaction yields an evidence bundle that a third party
re-verifies with nothing else, and tampering with any part of it fails (issue 13 §2).

Honest rules extend the public, child and consortium chains with transactions of certified
and of pseudonymous signers. The evidence rules then ask the IUT (op ``evidence_bundle``,
spec/conformance.md) for the bundle of an accepted transaction and verify it as a relying
party would (``iome_ref.rules.evidence``, the genesis root as trust anchor): it must verify and
be the bundle of the transaction asked for; a transaction never accepted has none. The tamper
rule edits one part of a bundle and asserts the verifier refuses it with that part's id (a
property of the reference, so a harness whose verifier regressed fails here). The revocation
rule revokes a station from a date before transactions it already signed were accepted: the
chain keeps IOME-REV-003 evidence (compared like all evidence), and the bundles of those
transactions must still verify, under the revocation lists in force where they stand.

A bundle the verifier refuses is a divergence naming that IOME-EVB id: the scenario written
replays the blocks, and the detail says which bundle and why.
"""

from __future__ import annotations

import re
from typing import Any, Final, Literal

from cryptography import x509
from hypothesis import strategies as st
from hypothesis.stateful import rule

from iome_ref.conformance.iut import JsonObject
from iome_ref.conformance.machines.base import Divergence, DualMachine, counted, guarded
from iome_ref.conformance.scenarios import CheckBundleStep, TxArgs
from iome_ref.encoding import compute_hash
from iome_ref.errors import ImplementationError, Rejected
from iome_ref.models import ChargeSession, Presence, SignedModel
from iome_ref.rules.evidence import verify_bundle
from iome_ref.vectors.world import T0

__all__ = ["NonRepudiationMachine"]

_STATIONS: Final = ("st-a", "st-b", "st-c")
_CHAINS: Final = ("public", "fleet", "verifiers")
#: Parts a tamper edits, with the id the verifier must refuse with (spec/evidence.md).
_TAMPERS: Final = {
    "tx_id": "IOME-EVB-003",
    "tx-field": "IOME-EVB-003",
    "trust_anchor": "IOME-EVB-002",
    "block.merkle_root": "IOME-EVB-006",
    "block.time": "IOME-EVB-006",
    "block.signature": "IOME-EVB-009",
    "inclusion.index": "IOME-EVB-007",
    "producer.role": "IOME-EVB-008",
    "producer.crls": "IOME-EVB-010",
}
_ID = re.compile(r"IOME-[A-Z]+-\d{3}")


def _plain(message: str) -> str:
    """A message without requirement ids: a divergence's detail names one id, the one blamed."""
    return _ID.sub(lambda m: m.group(0).replace("IOME-", "").replace("-", " "), message)


class NonRepudiationMachine(DualMachine):
    """Honest transactions on every chain kind, their bundles from the IUT verified alone."""

    family = "nonrepudiation"
    title = "non-repudiation: every accepted transaction has a bundle a third party verifies"
    requirement_ids = (
        "IOME-EVB-001",
        "IOME-EVB-002",
        "IOME-EVB-003",
        "IOME-EVB-004",
        "IOME-EVB-005",
        "IOME-EVB-006",
        "IOME-EVB-007",
        "IOME-EVB-008",
        "IOME-EVB-009",
        "IOME-EVB-010",
        # Every bundle of the implementation is verified at the block's time too.
        "IOME-EVB-011",
        "IOME-REV-003",
    )
    attacker_capabilities = ("tamper", "backdated-revocation")
    required_ops = ("evidence_bundle",)
    start_time = T0 + 10_000

    def start_model(self) -> None:
        #: (chain, tx) of every accepted transaction.
        self.accepted: list[tuple[str, SignedModel]] = []
        #: chain -> the station revoked on it (its later transactions would be refused).
        self.revoked: dict[str, str] = {}

    @property
    def anchor(self) -> x509.Certificate:
        return self.world.directory.root

    # -- honest inputs ---------------------------------------------------------------------

    def honest_tx(self, chain: str, variant: int) -> SignedModel:
        t = self.tick()
        stations = [s for s in _STATIONS if s != self.revoked.get(chain)]
        station = stations[variant % len(stations)]
        if chain == "verifiers":
            return self.b.presence("source", station, self.fresh_key(), t)
        if variant % 3 == 0:
            return self.b.charge(station, self.fresh_key(), t - 900, t)
        if chain == "fleet":
            return self.b.commitment(self.fresh_key("home"), f"meter {self.fresh}".encode(), t)
        if variant % 3 == 1:
            return self.b.external(self.fresh_key("home"), "weather", f"m {self.fresh}".encode(), t)
        return self.b.esdp(self.fresh_key("home"), t, window_start=t + 900, window_end=t + 4500)

    def append(self, chain: str, txs: list[SignedModel]) -> None:
        block = self.next_block(chain, txs, time=self.tick())
        outcome = self.submit_block(chain, block)
        assert outcome.accepted, f"the reference refused an honest block: {outcome.code}"
        self.accepted.extend((chain, tx) for tx in txs)

    # -- asking for bundles ----------------------------------------------------------------

    def bundle_of(self, chain: str, tx_id: str) -> tuple[JsonObject | None, JsonObject | None]:
        """(the reference's bundle, the IUT's bundle) of ``tx_id`` on ``chain``."""
        args = {"chain": chain, "tx_id": tx_id}
        ref = self.ref.call("evidence_bundle", args).get("bundle")
        try:
            iut = self.iut.call("evidence_bundle", args).get("bundle")
        except Rejected as exc:
            raise Divergence(
                f"evidence_bundle {chain} {tx_id[:16]}: the reference answers a bundle, the "
                f"implementation refuses with IOME-EVB-001 ({_plain(exc.req_id)}: "
                f"{_plain(exc.message)})"
            ) from None
        if iut is not None and not isinstance(iut, dict):
            raise ImplementationError("machine", "evidence_bundle: bundle is not an object")
        return ref, iut

    def keep_check(self, chain: str, tx_id: str, expect: Literal["valid", "absent"]) -> None:
        """Keep the check as a scenario step, so a bundle the verifier refuses replays as
        that refusal (spec/scenarios.md, ``check_bundle``)."""
        self.steps.append(
            CheckBundleStep(
                actor="harness",
                op="check_bundle",
                args=TxArgs(chain=chain, tx_id=tx_id),
                expect=expect,
            )
        )

    def check_bundle(self, chain: str, tx: SignedModel) -> JsonObject:
        """The IUT's bundle of an accepted ``tx`` verifies alone and is about ``tx``."""
        self.keep_check(chain, tx.tx_id, "valid")
        ref, iut = self.bundle_of(chain, tx.tx_id)
        # The reference's own bundles are verified by tests/unit/test_evidence.py; here it
        # only has to have one.
        assert ref is not None, f"the reference has no bundle of accepted {tx.tx_id}"
        where = f"evidence_bundle {chain} {tx.tx_type} {tx.tx_id[:16]}"
        if iut is None:
            raise Divergence(f"{where}: the implementation has no bundle (IOME-EVB-003)")
        try:
            verified = verify_bundle(iut, self.anchor)
        except Rejected as exc:
            raise Divergence(
                f"{where}: the implementation's bundle is refused: {exc.req_id}: "
                f"{_plain(exc.message)}"
            ) from None
        if (verified.tx.tx_id, verified.bundle.chain) != (tx.tx_id, chain):
            raise Divergence(
                f"{where}: the implementation's bundle is of {verified.tx.tx_id[:16]} on "
                f"{verified.bundle.chain} (IOME-EVB-003)"
            )
        return iut

    # -- honest rules ----------------------------------------------------------------------

    @rule(chain=st.sampled_from(_CHAINS), variant=st.integers(0, 5), count=st.integers(1, 3))
    @counted
    def honest_block(self, chain: str, variant: int, count: int) -> None:
        self.append(chain, [self.honest_tx(chain, variant + i) for i in range(count)])

    @rule(data=st.data())
    @guarded(lambda self: bool(self.accepted))
    def bundle_verifies(self, data: st.DataObject) -> None:
        chain, tx = data.draw(st.sampled_from(self.accepted), label="accepted tx")
        self.check_bundle(chain, tx)

    @rule(chain=st.sampled_from(_CHAINS), seed=st.integers(0, 2**16))
    @counted
    def no_bundle_of_absent_tx(self, chain: str, seed: int) -> None:
        """A transaction the chain never accepted has no bundle."""
        tx_id = compute_hash(f"never accepted {seed}".encode())
        self.keep_check(chain, tx_id, "absent")
        ref, iut = self.bundle_of(chain, tx_id)
        assert ref is None
        if iut is not None:
            try:
                verify_bundle(iut, self.anchor)
                code = "IOME-EVB-003"
            except Rejected as exc:
                code = exc.req_id
            raise Divergence(
                f"evidence_bundle {chain} {tx_id[:16]}: the implementation answers a bundle of "
                f"a transaction never accepted ({code})"
            )

    # -- adversarial rules -----------------------------------------------------------------

    @rule(data=st.data(), how=st.sampled_from(sorted(_TAMPERS)))
    @guarded(lambda self: bool(self.accepted))
    def tampered_bundle(self, data: st.DataObject, how: str) -> None:
        """One part of a valid bundle edited: the verifier refuses it with that part's id."""
        chain, tx = data.draw(st.sampled_from(self.accepted), label="accepted tx")
        bundle = self.check_bundle(chain, tx)
        edited: dict[str, Any] = {**bundle}
        if how == "tx-field":
            field = tx.TIME_FIELD
            edited["tx"] = {**bundle["tx"], field: bundle["tx"][field] + 1}
        elif how in ("tx_id", "trust_anchor"):
            edited[how] = compute_hash(f"other {how}".encode())
        elif how == "producer.role":
            edited["producer"] = {**bundle["producer"], "role": "station"}
        elif how == "producer.crls":
            edited["producer"] = {**bundle["producer"], "crls": []}
        elif how == "inclusion.index":
            proof = bundle["inclusion"]
            edited["inclusion"] = {**proof, "index": (proof["index"] + 1) % (proof["size"] + 1)}
        else:
            member = how.split(".")[1]
            value = bundle["block"][member]
            changed = value + 1 if isinstance(value, int) else compute_hash(value.encode())
            if member == "signature":
                changed = "0" * 128
            edited["block"] = {**bundle["block"], member: changed}
        try:
            verify_bundle(edited, self.anchor)
            found = None
        except Rejected as exc:
            found = exc.req_id
        if found != _TAMPERS[how]:
            raise AssertionError(f"the verifier answered {found} to a bundle with {how} edited")

    def revocable(self) -> list[tuple[str, Presence | ChargeSession]]:
        """Station-signed transactions accepted on a chain whose stations were not revoked."""
        return [
            (chain, tx)
            for chain, tx in self.accepted
            if isinstance(tx, Presence | ChargeSession) and chain not in self.revoked
        ]

    @rule(data=st.data())
    @guarded(lambda self: bool(self.revocable()))
    def revoke_after_acceptance(self, data: st.DataObject) -> None:
        """The CA revokes a station from before a transaction it signed was accepted: the chain
        keeps IOME-REV-003 evidence, and every bundle of that station still verifies."""
        chain, target = data.draw(st.sampled_from(self.revocable()), label="revoked signer")
        station = target.station_id
        signed = [
            tx
            for c, tx in self.accepted
            if c == chain and isinstance(tx, Presence | ChargeSession) and tx.station_id == station
        ]
        since = min(tx.time for tx in signed) - 1
        revocation = self.b.revocation_list({station: since}, self.tick())
        self.append(chain, [revocation])
        self.revoked[chain] = station
        codes = [row["code"] for row in self.ref.evidence()["evidence"]]
        assert "IOME-REV-003" in codes, "no IOME-REV-003 evidence was recorded"
        for tx in signed:
            self.check_bundle(chain, tx)
