"""The reference as an IUT, in process: the ``ref`` of ``--impl ref``.

A thin shell around one :class:`iome_ref.node.Node`. Every call, by method or by ``call``,
goes through the wire protocol's argument models (:mod:`iome_ref.conformance.wire`) and
answers the JSON a stdio reply would carry, so ``iome serve --stdio`` (which wraps this
adapter) and the in-process reference give identical answers and identical refusal codes:
the rule's id for a protocol refusal, an IOME-IUT id for a request the node cannot serve.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Final

from pydantic import BaseModel

from iome_ref.chain.store import MemoryStore
from iome_ref.conformance import wire
from iome_ref.conformance.iut import (
    CORE_OPS,
    EVIDENCE_OPS,
    ROLE_OPS,
    CallingIUT,
    JsonObject,
    Refused,
)
from iome_ref.constants import (
    CHAIN_CHILD,
    CHAIN_CONSORTIUM,
    CHAIN_PUBLIC,
    ROLE_BACKUP,
    ROLE_MANAGER,
    ROLE_PREDICTOR,
    ROLE_STATION,
    ROLE_VERIFIER,
    SPEC_VERSION,
)
from iome_ref.encoding import decode_json_object
from iome_ref.errors import Rejected, UsageError
from iome_ref.models import (
    Block,
    Presence,
    SignedModel,
    TripClaim,
    decode_message,
    parse_message,
)
from iome_ref.node import Actor, Head, Node, disk_row

__all__ = ["IMPLEMENTATION", "ReferenceIUT"]

IMPLEMENTATION: Final = "iome-ref"
#: The station's docking events: what ``station_attest`` needs before it signs (IOME-PRES-003).
STATION_OPS: Final = ("station_dock", "station_undock")
#: Hands over the verifiers' accepted presences and claims for a consortium block.
BATCH_OPS: Final = ("verifier_batch",)
OPS: Final = (*CORE_OPS, *ROLE_OPS, *STATION_OPS, *BATCH_OPS, *EVIDENCE_OPS)
assert set(OPS) == set(wire.WIRE_OPS)


def _message(obj: JsonObject | None, text: str | None) -> SignedModel | Block:
    """The message given as JSON or as wire text: exactly one of them.

    Raises:
        Rejected: IOME-IUT-004 when both or neither are given; else the decoding's ENC id.
    """
    if (obj is None) == (text is None):
        raise Rejected("IOME-IUT-004", "args: give exactly one of the message as JSON or text")
    return decode_message(text) if text is not None else parse_message(obj)


def _dump(model: SignedModel | Block) -> JsonObject:
    return model.model_dump(mode="json")


def _head(head: Head) -> JsonObject:
    return {"height": head.height, "block_hash": head.block_hash}


class ReferenceIUT(CallingIUT):
    """The reference behind the IUT interface; refusals become :class:`Refused`."""

    def __init__(self) -> None:
        self._node: Node | None = None

    # -- the interface: typed operations come from CallingIUT ------------------------------

    def call(self, op: str, args: JsonObject) -> JsonObject:
        """Any operation by name: the one path every request takes, in process or over stdio.

        Raises:
            Refused: the rule's id; IOME-IUT-003 (unknown op), IOME-IUT-004 (bad args),
                IOME-IUT-008 (no reset yet).
        """
        try:
            wire.check_op(op, OPS)
            parsed = wire.check_args(op, args)
            if op not in ("hello", "reset"):
                wire.check_reset_done(self._node is not None, op)
            handler: Callable[[Any], JsonObject] = getattr(self, f"_op_{op}")
            return handler(parsed)
        except Refused:
            raise
        except Rejected as exc:
            raise Refused(exc.req_id, exc.message) from None
        except UsageError as exc:
            # A request naming a chain, actor or docking the node does not have.
            raise Refused("IOME-IUT-004", exc.message) from None

    def close(self) -> None:
        self._node = None

    # -- core operations -------------------------------------------------------------------

    @property
    def node(self) -> Node:
        assert self._node is not None  # call() checked IOME-IUT-008
        return self._node

    def _op_hello(self, _: BaseModel) -> JsonObject:
        return {
            "spec_version": SPEC_VERSION,
            "implementation": IMPLEMENTATION,
            "roles": [ROLE_STATION, ROLE_VERIFIER, ROLE_PREDICTOR, ROLE_MANAGER, ROLE_BACKUP],
            "chain_kinds": [CHAIN_PUBLIC, CHAIN_CHILD, CHAIN_CONSORTIUM],
            "ops": list(OPS),
        }

    def _op_reset(self, args: wire.ResetArgs) -> JsonObject:
        actors = {
            name: Actor.from_private_hex(key.role, key.subject, key.private_key)
            for name, key in args.keys.items()
        }
        self._node = None
        self._node = Node(
            args.genesis, store=MemoryStore(), rng=random.Random(args.seed), actors=actors
        )
        return {}

    def _op_submit_block(self, args: wire.SubmitBlockArgs) -> JsonObject:
        parsed = _message(args.block, args.text)
        if not isinstance(parsed, Block):
            raise Refused("IOME-ENC-003", f"submit_block needs a Block, found {parsed.tx_type}")
        return _head(self.node.apply_block(parsed, args.chain))

    def _op_submit_tx(self, args: wire.SubmitTxArgs) -> JsonObject:
        parsed = _message(args.tx, args.text)
        return {"tx_id": self.node.judge(parsed, args.chain, args.block_time)}

    def _op_validate(self, args: wire.ValidateArgs) -> JsonObject:
        parsed = _message(args.message, args.text)
        self.node.validate(parsed, with_pki=args.with_pki)
        if isinstance(parsed, Block):
            return {"type": "Block", "id": parsed.block_hash}
        return {"type": parsed.tx_type, "id": parsed.tx_id}

    def _op_head(self, args: wire.HeadArgs) -> JsonObject:
        return _head(self.node.get_head(args.chain))

    def _op_get_tx(self, args: wire.GetTxArgs) -> JsonObject:
        tx = self.node.get_tx(args.chain, args.tx_id)
        return {"tx": None if tx is None else _dump(tx)}

    def _op_evidence(self, _: BaseModel) -> JsonObject:
        rows = [
            {"code": code, **decode_json_object(body)} for code, body in self.node.get_evidence()
        ]
        return {"evidence": rows}

    def _op_evidence_bundle(self, args: wire.EvidenceBundleArgs) -> JsonObject:
        bundle = self.node.get_bundle(args.chain, args.tx_id)
        return {"bundle": None if bundle is None else bundle.model_dump(mode="json")}

    def _op_reopen(self, args: wire.ReopenArgs) -> JsonObject:
        rows = [
            disk_row(row.chain, row.height, row.block_hash, row.body_text.encode())
            for row in args.stored
        ]
        self.node.reopen(rows)
        return {}

    # -- role operations -------------------------------------------------------------------

    def _op_station_dock(self, args: wire.StationDockArgs) -> JsonObject:
        self.node.on_dock(args.station, args.vehicle, args.one_time_pk, args.t)
        return {}

    def _op_station_undock(self, args: wire.StationUndockArgs) -> JsonObject:
        self.node.on_undock(args.station, args.vehicle, args.t)
        return {}

    def _op_station_attest(self, args: wire.StationAttestArgs) -> JsonObject:
        presence = self.node.attest(args.station, args.kind, args.one_time_pk, args.t)
        return {"presence": _dump(presence)}

    def _op_verifier_cosign(self, args: wire.VerifierCosignArgs) -> JsonObject:
        claim, source, destination = (
            parse_message(args.claim),
            parse_message(args.source),
            parse_message(args.destination),
        )
        if not (
            isinstance(claim, TripClaim)
            and isinstance(source, Presence)
            and isinstance(destination, Presence)
        ):
            raise Refused("IOME-IUT-004", "args: expected a TripClaim and two Presences")
        trip = self.node.cosign(claim, source, destination, args.t, args.answering)
        return {"trip": None if trip is None else _dump(trip)}

    def _op_verifier_batch(self, args: wire.VerifierBatchArgs) -> JsonObject:
        return {"txs": [_dump(tx) for tx in self.node.take_batch(args.block_time).txs]}

    def _op_predictor_od(self, args: wire.PredictorOdArgs) -> JsonObject:
        parts = self.node.compute_od(args.predictor, args.zones, args.period_start, args.period_end)
        return {"matrices": [_dump(part) for part in parts]}

    def _op_manager_anchor(self, args: wire.ManagerAnchorArgs) -> JsonObject:
        anchor = self.node.anchor(args.manager, args.chain, args.t)
        return {"anchor": None if anchor is None else _dump(anchor)}

    def _op_backup_handover(self, args: wire.BackupHandoverArgs) -> JsonObject:
        return {"handover": _dump(self.node.hand_over(args.backup, args.chain, args.t))}
