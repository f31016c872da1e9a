"""Role operations: stations, verifiers, the predictor, managers and backups driven through the
IUT's role ops beside the reference (issue 13 §2).

Honest rules: a vehicle's trip (dock, attest, undock at both ends, claim, co-sign), the verifier
batch and the trips published, an O-D matrix counted and published, the fleet's child chain
extended and anchored. Faults: a manager that crashes (stops anchoring) and its backup's takeover,
which continues the anchor sequence with no gap or fork, after which the deposed manager's
anchors are refused; verifiers that stop answering (the rest still make the quorum, or the trip
waits and is sent again); the node itself crashing between steps and restarting from its store.
Clock skew: a station's clock that makes a trip one second faster than the road allows, a claim
dated a second before its destination docking, a block dated a second before the transactions
it holds, an anchor and a handover one second before their bounds, each refused with its id,
and each exactly at its bound, accepted. Adversarial role ops: attesting a key never docked or
twice, and acting as an actor the node was not given.

Results the spec fixes (a presence, an anchor, a handover, a batch, an O-D matrix) must equal
the reference's; a Trip's nonce is the verifiers' random draw, so only its stations are
compared, its times are checked against the IUT's own bucket (IOME-TRIP-005), and the reference
judges it (IOME-TRIP-002). The blocks that publish role results carry the reference's results,
so both nodes keep the same heads.
"""

from __future__ import annotations

from typing import Any, Final

from hypothesis import strategies as st
from hypothesis.stateful import initialize, rule

from iome_ref.conformance.iut import JsonObject
from iome_ref.conformance.machines.base import Divergence, DualMachine, counted, guarded
from iome_ref.conformance.scenarios import ROLE_STEP_OPS
from iome_ref.constants import ANCHOR_PERIOD_S, HANDOVER_MISSED_PERIODS, TRIP_QUORUM
from iome_ref.errors import Rejected
from iome_ref.models import Anchor, ManagerHandover, Presence, SignedModel, Trip, parse_message
from iome_ref.vectors.world import T0

__all__ = ["RolesMachine"]

_STATIONS: Final = ("st-a", "st-b", "st-c")
_ROUTES: Final = tuple((a, b) for a in _STATIONS for b in _STATIONS if a != b)
_VERIFIERS: Final = ("verifier-1", "verifier-2", "verifier-3")
#: Which verifiers still answer: all, one silent, two silent (below the quorum of 2).
_ANSWERING: Final = (
    None,
    ("verifier-1", "verifier-3"),
    ("verifier-2", "verifier-3"),
    ("verifier-2",),
)
_BACKUPS: Final = ("fleet-backup", "fleet-backup-2")
_SILENCE_S: Final = HANDOVER_MISSED_PERIODS * ANCHOR_PERIOD_S


def _whole(reply: JsonObject) -> JsonObject:
    """A result the spec fixes completely: the IUT's must equal the reference's."""
    return reply


def _trip_stations(reply: JsonObject) -> JsonObject:
    trip = reply.get("trip")
    if trip is None:
        return {"trip": None}
    return {"trip": {k: trip[k] for k in ("origin_station_id", "destination_station_id")}}


class RolesMachine(DualMachine):
    """Trips through stations and verifiers, O-D matrices, anchors and handovers, with faults
    and clock skew at the bounds."""

    family = "roles"
    title = "role operations: trips, O-D matrices, anchors and handovers, with faults and skew"
    requirement_ids = (
        "IOME-ANC-001",
        "IOME-ANC-002",
        "IOME-ANC-007",
        "IOME-ANC-008",
        "IOME-ANC-009",
        "IOME-ANC-010",
        "IOME-BLK-008",
        "IOME-CLAIM-004",
        "IOME-CLAIM-006",
        "IOME-IUT-004",
        "IOME-ODM-004",
        "IOME-PRES-003",
        "IOME-REC-002",
        "IOME-TRIP-002",
        "IOME-TRIP-005",
    )
    attacker_capabilities = ("faulty-manager", "clock-skew", "crash")
    branches = (
        "trip:co-signed",
        "trip:waited",
        "trip:too-fast",
        "trip:claim-early",
        "publish_trips:block-early",
        "publish_trips:counted",
        "anchor:nothing-new",
        "anchor:too-early",
        "anchor:at-bound",
        "take_over:no-anchor",
        "take_over:too-early",
        "take_over:at-bound",
        "take_over:deposed-refused",
        "crash_node:restarted",
    )
    start_time = T0 + 10_000
    required_ops = ROLE_STEP_OPS
    actors = (
        *_STATIONS,
        *_VERIFIERS,
        "predictor",
        "fleet-manager",
        *_BACKUPS,
    )

    def start_model(self) -> None:
        #: Time of each chain's last accepted block (a block may not run backwards).
        self.last_time: dict[str, int] = {}
        #: Co-sign requests that waited for verifiers to answer again.
        self.waiting: list[JsonObject] = []
        #: The reference's co-signed trips, not yet published; and how many were.
        self.cosigned: list[Trip] = []
        self.published = 0
        #: Whether the verifiers' batch holds anything; the last claim they co-signed.
        self.in_batch = False
        self.signed_args: JsonObject | None = None
        # The fleet's anchoring: who is in office, since when, alive or crashed; the anchor
        # sequence's tip; the heights of the fleet chain and of its last anchor; who was deposed.
        self.office = "fleet-manager"
        self.office_since: int | None = None
        self.alive = True
        self.tip: Anchor | None = None
        self.fleet_height = -1
        self.deposed: list[str] = []
        #: Node crashes so far: each re-verifies the whole store, so one per example (the
        #: tour's aside) keeps a run quick.
        self.restarts = 0

    # -- helpers ---------------------------------------------------------------------------

    def publish(self, chain: str, txs: list[SignedModel], skew: int = 0) -> None:
        """Both nodes get a block of ``txs`` dated at the latest of them (plus ``skew``); a
        block dated before a transaction it holds (skew -1) must be refused (IOME-BLK-008),
        and is then sent again at its bound."""
        latest = max(tx.time for tx in txs)
        parent = self.last_time.get(chain, 0)
        if skew < 0 and latest + skew >= parent:
            early = self.next_block(chain, txs, time=latest + skew)
            code = self.submit_block(chain, early).code
            assert code == "IOME-BLK-008", f"a block before its transactions: {code}"
            self.reached("publish_trips:block-early")
        when = max(latest, parent)
        outcome = self.submit_block(chain, self.next_block(chain, txs, time=when))
        assert outcome.accepted, f"the reference refused an honest {chain} block: {outcome.code}"
        self.last_time[chain] = when
        self.now = max(self.now, when)

    def attest(self, station: str, kind: str, name: str, t: int) -> Presence:
        """A vehicle docks at ``station`` showing key ``name`` at ``t``, is attested, leaves."""
        pk = self.b.key(name).public_hex
        vehicle = name.split("/", maxsplit=1)[0]
        dock = {"station": station, "vehicle": vehicle, "one_time_pk": pk, "t": t}
        self.act(station, "station_dock", dock)
        attest = {"station": station, "kind": kind, "one_time_pk": pk, "t": t}
        ref, _ = self.act(station, "station_attest", attest, _whole)
        self.act(station, "station_undock", {"station": station, "vehicle": vehicle, "t": t})
        assert ref.reply is not None, f"the reference refused to attest a docked key: {ref.code}"
        presence = parse_message(ref.reply["presence"])
        assert isinstance(presence, Presence)
        return presence

    def cosign(self, args: JsonObject) -> None:
        """Both nodes' verifiers judge a claim; a co-signed Trip is checked and kept."""
        ref, iut = self.act("verifiers", "verifier_cosign", args, _trip_stations)
        if ref.reply is None:
            return
        if ref.reply["trip"] is None:
            assert len(args.get("answering") or _VERIFIERS) < TRIP_QUORUM
            self.waiting.append({k: v for k, v in args.items() if k != "answering"})
            return
        self.in_batch = True
        self.signed_args = {k: v for k, v in args.items() if k != "answering"}
        trip = parse_message(ref.reply["trip"])
        assert isinstance(trip, Trip)
        self.cosigned.append(trip)
        assert iut.reply is not None
        self.judge_iut_trip(iut.reply["trip"], args)

    def judge_iut_trip(self, document: JsonObject, args: JsonObject) -> None:
        """The IUT's Trip: the reference must accept it on its own (quorum signatures and
        their certificates, IOME-TRIP-002), and its times must be the presences' times in
        its own bucket (IOME-TRIP-005)."""
        try:
            self.ref.validate(document, None, True)
            trip = parse_message(document)
        except Rejected as exc:
            raise Divergence(
                f"step {len(self.steps)} verifier_cosign: the reference refuses the "
                f"implementation's Trip with {exc.req_id}: {exc.message}"
            ) from None
        assert isinstance(trip, Trip)
        t1, t2, b = args["source"]["t"], args["destination"]["t"], trip.time_bucket_s
        if (trip.start_time, trip.end_time) != (t1 // b * b, -(-t2 // b) * b):
            raise Divergence(
                f"step {len(self.steps)} verifier_cosign: IOME-TRIP-005: the implementation "
                f"published {trip.start_time}..{trip.end_time} for presences at {t1}, {t2} "
                f"in buckets of {b} s"
            )

    # -- a tour of every fault path ---------------------------------------------------------

    @initialize(draw=st.integers(0, 3))
    def tour(self, draw: int) -> None:
        """About one example in four (those drawing 0, the first among them) starts by
        walking every fault path once, at its bound and one second past it, so the
        comparison covers each whatever the search draws next; the rules then interleave
        them freely (the coverage gate counts both). The choice is drawn, not kept in the
        run, so Hypothesis can replay any example on its own."""
        if draw:
            return
        self.take_over(0, crash=False)  # no anchor yet: IOME-ANC-008
        self.bad_request("undocked", "st-a")  # IOME-PRES-003
        self.bad_request("station_attest", "st-a")  # no such actor: IOME-IUT-004
        self.trip(("st-a", "st-b"), -1, 0, None)  # one second too fast: IOME-CLAIM-004
        self.trip(("st-b", "st-c"), 0, -1, None)  # claim before the docking: IOME-CLAIM-006
        self.trip(("st-a", "st-c"), 0, 0, ("verifier-2",))  # waits, then co-signed
        self.publish_trips(-1)  # replay, early block (IOME-BLK-008), O-D matrix
        self.extend_fleet()
        self.anchor(60)
        self.extend_fleet()
        self.anchor(-1)  # before the last anchor: IOME-ANC-010
        self.anchor(0)  # at it exactly
        self.anchor(0)  # nothing new
        self.take_over(-1, crash=True)  # crashed, one second too early: IOME-ANC-007
        self.take_over(0, crash=True)  # at the bound; the deposed manager: IOME-ANC-001
        self.take_over(-1, crash=True)  # the new office's start binds: IOME-ANC-009
        self.crash_node()
        self.restarts = 0

    # -- trips -----------------------------------------------------------------------------

    @rule(
        route=st.sampled_from(_ROUTES),
        arrive_skew=st.sampled_from([-1, 0, 45]),
        claim_skew=st.sampled_from([-1, 0, 30]),
        answering=st.sampled_from(_ANSWERING),
    )
    @counted
    def trip(
        self,
        route: tuple[str, str],
        arrive_skew: int,
        claim_skew: int,
        answering: tuple[str, ...] | None,
    ) -> None:
        """A trip between two stations. A station clock one second fast makes the trip
        faster than the road allows (IOME-CLAIM-004); a claim dated a second early precedes
        its destination docking (IOME-CLAIM-006); exactly at either bound it is accepted."""
        origin, destination = route
        depart = self.tick()
        source = self.attest(origin, "source", self.fresh_key(), depart)
        arrive = depart + self.world.travel[route] + arrive_skew
        self.now = max(self.now, arrive)
        end = self.attest(destination, "destination", self.fresh_key(), arrive)
        dated = arrive + claim_skew
        self.now = max(self.now, dated)
        claim = self.b.claim(source, end, dated)
        args: JsonObject = {
            "claim": claim.model_dump(mode="json"),
            "source": source.model_dump(mode="json"),
            "destination": end.model_dump(mode="json"),
            # The verifiers judge when both presences and the claim exist.
            "t": max(arrive, dated),
        }
        if answering is not None:
            args["answering"] = list(answering)
        self.cosign(args)
        if self.waiting:
            # The trip waited for silent verifiers: sent again once they all answer.
            self.reached("trip:waited")
            self.cosign(self.waiting.pop())
        expected = "IOME-CLAIM-004" if arrive_skew < 0 else None
        expected = expected or ("IOME-CLAIM-006" if claim_skew < 0 else None)
        found = getattr(self.steps[-1].expect, "reject", None)
        assert found == expected, (found, expected)
        self.reached(
            {"IOME-CLAIM-004": "trip:too-fast", "IOME-CLAIM-006": "trip:claim-early"}.get(
                str(found), "trip:co-signed"
            )
        )

    @rule(skew=st.sampled_from([-1, 0]))
    @guarded(lambda self: self.in_batch or bool(self.cosigned))
    def publish_trips(self, skew: int) -> None:
        """A vehicle first sends a co-signed claim again: a replay (IOME-REC-002). Then the
        verifiers' batch goes on the consortium chain, their trips on the public one (a block
        one second before its latest transaction is refused first, skew -1), and the
        predictor counts them."""
        if self.signed_args is not None:
            ref, _ = self.act("verifiers", "verifier_cosign", self.signed_args, _trip_stations)
            assert ref.code == "IOME-REC-002", ref.code
        ref, _ = self.act("verifiers", "verifier_batch", {}, _whole)
        assert ref.reply is not None
        batch = [parse_message(tx) for tx in ref.reply["txs"]]
        if batch:
            self.publish("verifiers", batch, skew)  # type: ignore[arg-type]
        if self.cosigned:
            self.publish("public", list(self.cosigned), skew)
            self.published += len(self.cosigned)
            self.count_trips()
        self.cosigned, self.in_batch = [], False

    def count_trips(self) -> None:
        """The predictor counts the public trips into an O-D matrix, published after them."""
        period_end = max(self.now, self.last_time.get("public", 0)) + 1
        self.now = period_end
        args = {
            "predictor": "predictor",
            "zones": list(_STATIONS),
            "period_start": self.start_time,
            "period_end": period_end,
        }
        ref, _ = self.act("predictor", "predictor_od", args, _whole)
        assert ref.reply is not None, ref.code
        matrices = [parse_message(m) for m in ref.reply["matrices"]]
        assert matrices, "public trips, yet no O-D cell"
        self.publish("public", matrices)  # type: ignore[arg-type]
        self.reached("publish_trips:counted")

    # -- stations misbehaving and unknown actors -------------------------------------------

    @rule(
        what=st.sampled_from(
            ["undocked", "twice", "station_attest", "manager_anchor", "predictor_od"]
        ),
        station=st.sampled_from(_STATIONS),
    )
    @counted
    def bad_request(self, what: str, station: str) -> None:
        """A station asked to attest a key not docked, or twice; a role op naming an actor the
        node was not given, or one of another role."""
        if what in {"undocked", "twice"}:
            self.attest_undocked(station, twice=what == "twice")
        else:
            self.unknown_actor(what)

    def attest_undocked(self, station: str, *, twice: bool) -> None:
        """A station asked to attest a key never docked there, or a second time for one
        docking, refuses (IOME-PRES-003)."""
        name, t = self.fresh_key(), self.tick()
        pk = self.b.key(name).public_hex
        vehicle = name.split("/")[0]
        attest = {"station": station, "kind": "source", "one_time_pk": pk, "t": t}
        if twice:
            dock = {"station": station, "vehicle": vehicle, "one_time_pk": pk, "t": t}
            self.act(station, "station_dock", dock)
            self.act(station, "station_attest", attest, _whole)
        ref, _ = self.act(station, "station_attest", attest)
        assert ref.code == "IOME-PRES-003", ref.code
        if twice:
            self.act(station, "station_undock", {"station": station, "vehicle": vehicle, "t": t})

    def unknown_actor(self, op: str) -> None:
        """A role op naming an actor the node was not given, or one of another role."""
        t = self.tick()
        args: dict[str, Any] = {
            "station_attest": {
                "station": "st-z",
                "kind": "source",
                "one_time_pk": "00" * 32,
                "t": t,
            },
            "manager_anchor": {"manager": "st-a", "chain": "fleet", "t": t},
            "predictor_od": {
                "predictor": "verifier-1",
                "zones": list(_STATIONS),
                "period_start": self.start_time,
                "period_end": t,
            },
        }[op]
        ref, _ = self.act("harness", op, args)
        assert ref.code == "IOME-IUT-004", ref.code

    # -- the fleet's manager and its backups -----------------------------------------------

    @rule()
    @counted
    def extend_fleet(self) -> None:
        """The office holder adds a block to the fleet's child chain."""
        t = self.tick()
        commitment = self.b.commitment(self.fresh_key("member"), f"log {self.fresh}".encode(), t)
        self.publish("fleet", [commitment])
        self.fleet_height += 1

    def bound(self) -> int:
        """The earliest time the office holder may anchor (IOME-ANC-010)."""
        assert self.tip is not None
        return max(self.tip.timestamp, self.office_since or self.tip.timestamp)

    @rule(skew=st.sampled_from([-1, 0, 60]))
    @guarded(lambda self: self.alive)
    def anchor(self, skew: int) -> None:
        """The manager in office anchors the fleet's head; at the previous anchor's (or its
        office start's) time exactly it may, a second before it may not (IOME-ANC-010).
        Nothing new to anchor: the answer is null. The sequence continues from its tip."""
        t = self.tick() if self.tip is None or skew > 0 else self.bound() + skew
        self.now = max(self.now, t)
        args = {"manager": self.office, "chain": "fleet", "t": t}
        ref, _ = self.act(self.office, "manager_anchor", args, _whole)
        grew = self.fleet_height > (-1 if self.tip is None else self.tip.height)
        if not grew:
            assert ref.reply == {"anchor": None}, ref
            self.reached("anchor:nothing-new")
            return
        if skew < 0 and self.tip is not None:
            assert ref.code == "IOME-ANC-010", ref.code
            self.reached("anchor:too-early")
            return
        if skew == 0 and self.tip is not None:
            self.reached("anchor:at-bound")
        assert ref.reply is not None, ref.code
        anchor = parse_message(ref.reply["anchor"])
        assert isinstance(anchor, Anchor)
        assert anchor.prev_anchor_id == (None if self.tip is None else self.tip.tx_id)
        self.publish("public", [anchor])
        self.tip = anchor

    @rule(skew=st.sampled_from([-1, 0]), crash=st.booleans())
    @counted
    def take_over(self, skew: int, crash: bool) -> None:
        """A backup takes office from the manager in office, which must have missed
        HANDOVER_MISSED_PERIODS anchor periods since the last anchor (IOME-ANC-007) and since
        its own office start (IOME-ANC-009): at that bound exactly, accepted; a second before,
        refused; with no anchor yet there is nothing to continue from (IOME-ANC-008). An alive
        manager is not silent: a handover now is refused unless it really missed them.

        ``crash``: the manager in office crashes first (anchors no more). After a takeover,
        the deposed manager still tries to anchor, out of office (IOME-ANC-001)."""
        if crash and self.tip is not None:
            self.alive = False
        backup = _BACKUPS[1] if self.office == _BACKUPS[0] else _BACKUPS[0]
        t = self.tick() if self.tip is None or self.alive else self.bound() + _SILENCE_S + skew
        self.now = max(self.now, t)
        args = {"backup": backup, "chain": "fleet", "t": t}
        ref, _ = self.act(backup, "backup_handover", args, _whole)
        if self.tip is None:
            assert ref.code == "IOME-ANC-008", ref.code
            self.reached("take_over:no-anchor")
            return
        if ref.reply is None:
            assert ref.code in {"IOME-ANC-007", "IOME-ANC-009"}, ref.code
            assert self.alive or skew < 0, ref.code
            self.reached("take_over:too-early")
            return
        assert self.alive or skew == 0, "a handover before the manager missed its periods"
        if not self.alive:
            self.reached("take_over:at-bound")
        handover = parse_message(ref.reply["handover"])
        assert isinstance(handover, ManagerHandover)
        assert handover.last_anchor_id == self.tip.tx_id, "a handover must continue from the tip"
        self.publish("public", [handover])
        self.deposed.append(self.office)
        self.office, self.office_since, self.alive = backup, t, True
        self.deposed_anchors()
        # The new office holder's first anchor continues from the tip the old manager left
        # (IOME-ANC-002): a backup that never saw that tip forks the sequence. Played at once,
        # so a short run reaches it, not only the rare example that anchors after a takeover.
        self.anchor(60)

    def deposed_anchors(self) -> None:
        """A manager its backup replaced still tries to anchor: out of office (IOME-ANC-001).
        The fleet grows first, so there is something to anchor."""
        self.extend_fleet()
        t = max(self.tick(), self.bound())
        self.now = t
        args = {"manager": self.deposed[-1], "chain": "fleet", "t": t}
        ref, _ = self.act(self.deposed[-1], "manager_anchor", args)
        assert ref.code == "IOME-ANC-001", ref.code
        self.reached("take_over:deposed-refused")

    # -- the node crashes -------------------------------------------------------------------

    @rule()
    @guarded(lambda self: self.restarts < 1)
    def crash_node(self) -> None:
        """The node crashes between steps and restarts from its store: what blocks hold
        survives (the heads are compared); what it held only in memory may not, so the
        batch in flight is published first and waiting claims are forgotten."""
        if self.in_batch or self.cosigned:
            self.publish_trips(0)
        self.waiting.clear()
        outcome = self.reopen([])
        assert outcome.accepted, outcome.code
        for chain in ("public", "fleet", "verifiers"):
            self.check_head(chain)
        self.restarts += 1
        self.reached("crash_node:restarted")
