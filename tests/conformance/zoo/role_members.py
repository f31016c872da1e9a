"""Zoo members whose bug is in a role or in a rule the part-2 adversaries target (issue 13 §5:
"signs presence without docking; publishes a PK inside a Trip; miscounts an O-D cell; backup
manager forks or skips the anchor sequence"), loaded by
``--impl python:tests.conformance.zoo.role_members:NAME``.

Each is the reference with one small, realistic bug, as in members.py: a role that acts on
the wrong state (its own chain, judging correctly, then refuses what the role made), or a chain
that skips one check. tests/adversaries/test_part2.py names the adversary and the requirement id
each must be caught on.
"""

from __future__ import annotations

from typing import Any

from iome_ref.conformance import wire
from iome_ref.conformance.adapters.inproc import ReferenceIUT
from iome_ref.conformance.iut import JsonObject
from iome_ref.constants import CHAIN_PUBLIC
from iome_ref.models import Anchor, ManagerHandover, ODMatrix, Presence

from .members import _SkipsCheck


class _RoleBug(ReferenceIUT):
    """Helpers to read the public chain's anchor sequence as the buggy role sees it."""

    def _predecessor_of_tip(self, chain_id: str) -> str | None:
        """The anchor before the tip of ``chain_id``'s anchor sequence (None if the tip is the
        first): where an off-by-one role continues from."""
        public = next(s for s in self.node.ledger.chains.values() if s.kind == CHAIN_PUBLIC)
        tip = public.anchor_tips[chain_id]
        anchor = self.node.get_tx(public.chain_id, tip.tx_id)
        assert isinstance(anchor, Anchor)
        return anchor.prev_anchor_id


class BackupSkipsAnchorTip(_RoleBug):
    """The backup takes over from the anchor before the tip (it read a stale copy of the
    public chain): its handover skips the tip (IOME-ANC-008)."""

    def _op_backup_handover(self, args: wire.BackupHandoverArgs) -> JsonObject:
        handover = ManagerHandover.parse(super()._op_backup_handover(args)["handover"])
        stale = self._predecessor_of_tip(args.chain) or "0" * 64
        fields: dict[str, Any] = handover.model_dump(exclude={"tx_id", "signature"})
        key = self.node.actors[args.backup].key
        forged = ManagerHandover.create({"signature": key}, **(fields | {"last_anchor_id": stale}))
        return {"handover": forged.model_dump(mode="json")}


class BackupForksAnchors(_RoleBug):
    """A backup in office anchors from the anchor before the tip (it never saw the old
    manager's last anchor): the anchor sequence forks (IOME-ANC-003)."""

    def _op_manager_anchor(self, args: wire.ManagerAnchorArgs) -> JsonObject:
        answer = super()._op_manager_anchor(args)
        actor = self.node.actors[args.manager]
        if answer["anchor"] is None or actor.role != "backup":
            return answer
        anchor = Anchor.parse(answer["anchor"])
        fields: dict[str, Any] = anchor.model_dump(exclude={"tx_id", "signature"})
        fork = fields | {"prev_anchor_id": self._predecessor_of_tip(args.chain)}
        return {"anchor": Anchor.create({"signature": actor.key}, **fork).model_dump(mode="json")}


class MiscountsOdCell(ReferenceIUT):
    """The predictor counts a trip ending exactly at ``period_end`` too (an inclusive period
    end), one more in the first cell than the public chain holds (IOME-ODM-004)."""

    def _op_predictor_od(self, args: wire.PredictorOdArgs) -> JsonObject:
        answer = super()._op_predictor_od(args)
        actor = self.node.actors[args.predictor]
        matrices = []
        for document in answer["matrices"]:
            fields: dict[str, Any] = dict(document)
            for member in ("tx_id", "signature"):
                fields.pop(member)
            if fields["cells"]:
                first = fields["cells"][0]
                fields["cells"] = [[first[0], first[1], first[2] + 1], *fields["cells"][1:]]
            matrices.append(
                ODMatrix.create({"signature": actor.key}, **fields).model_dump(mode="json")
            )
        return {"matrices": matrices}


class AcceptsMiscountedOd(_SkipsCheck):
    """Takes the predictor's counts on trust: never recounts an O-D matrix."""

    code = "IOME-ODM-004"


class AttestsWithoutDocking(ReferenceIUT):
    """The station signs a presence for any key it is shown, docked or not (IOME-PRES-003)."""

    def _op_station_attest(self, args: wire.StationAttestArgs) -> JsonObject:
        station = self.node.actors[args.station]
        presence = Presence.create(
            {"station_sig": station.key, "station_pk_sig": station.key},
            kind=args.kind,
            station_id=station.subject,
            station_pk=station.key.public_hex,
            one_time_pk=args.one_time_pk,
            t=args.t,
        )
        return {"presence": presence.model_dump(mode="json")}


class TripCarriesKey(ReferenceIUT):
    """The verifiers' Trip keeps the claim's source key "for auditing": a Trip has no such
    field, so every node refuses it while decoding (IOME-ENC-004)."""

    def _op_verifier_cosign(self, args: wire.VerifierCosignArgs) -> JsonObject:
        answer = super()._op_verifier_cosign(args)
        if answer["trip"] is None:  # the verifiers withheld their signatures: no Trip to mark
            return answer
        return {"trip": answer["trip"] | {"source_pk": args.claim["source_pk"]}}


class AcceptsLoneVerifier(_SkipsCheck):
    """Counts a Trip's signatures without asking how many a quorum needs (IOME-TRIP-002)."""

    code = "IOME-TRIP-002"


class PricesAnyRegion(_SkipsCheck):
    """Takes a registered issuer's price signal for any region (IOME-EPS-007)."""

    code = "IOME-EPS-007"


class HandsOverEarly(_SkipsCheck):
    """Lets a backup take office without waiting for missed anchor periods (IOME-ANC-007)."""

    code = "IOME-ANC-007"
