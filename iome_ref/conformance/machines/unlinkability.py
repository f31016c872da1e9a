"""Key unlinkability: no public record carries a one-time key twice, a key of a vehicle's
private (home) transactions, or a field derived from a key, a presence or a claim
(issue 13 §2; trips.md, "Security and privacy").

Honest rules drive whole trips through the IUT's role operations (paper Fig. 5): a vehicle
docks at a station with a fresh one-time key and the station attests it (``station_dock``,
``station_attest``), it drives to another station and docks there with a second key, its
claim goes to the verifiers (``verifier_cosign``), whose batch becomes a consortium block
(``verifier_batch``) and whose Trip, the one the IUT co-signed, a public block. Beside them, homes
record DataCommitments on the fleet chain under their own keys and vehicles charge at public
stations under one-time keys. The audit rule reads every public record back from the IUT
(``get_tx``) and checks the invariant: each one-time key at most once, no home key, and no
Trip nonce derived from what the Trip hides (IOME-TRIP-007), for any claim, not only its own.

Adversarial rules try to get a linking record accepted: a Trip carrying a one-time key in an
extra member (IOME-ENC-004: its schema forbids it), a one-time key presented again at another
station (IOME-PRES-001) and a one-time key in a second public session (IOME-CHG-003). Each must
be refused by the reference and by the IUT with the same id.

What a chain cannot judge, and this machine therefore checks only on what the IUT produces: a
home key shown at a public station looks like any fresh key to the public chain (chains judge
on their own content, chains.md), so keeping home keys off public stations is the vehicle's
conduct; and a nonce derived with a secret looks random.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from hypothesis import strategies as st
from hypothesis.stateful import rule

from iome_ref.conformance.iut import JsonObject
from iome_ref.conformance.machines.base import Divergence, DualMachine, counted, guarded
from iome_ref.conformance.scenarios import (
    REF_KEY,
    CheckTripUnlinkedStep,
    TripUnlinkedArgs,
)
from iome_ref.errors import Rejected
from iome_ref.models import Presence, SignedModel, Trip, TripClaim, parse_message
from iome_ref.rules.mobility import check_trip_nonce_unlinked
from iome_ref.vectors.world import T0

__all__ = ["UnlinkabilityMachine"]

_STATIONS: Final = ("st-a", "st-b", "st-c")
_VERIFIERS: Final = ("verifier-1", "verifier-2", "verifier-3")
_ROUTES: Final = tuple((a, b) for a in _STATIONS for b in _STATIONS if a != b)


def _whole(reply: JsonObject) -> JsonObject:
    return reply


def _trip_stations(reply: JsonObject) -> JsonObject:
    trip = reply.get("trip")
    if not isinstance(trip, dict):
        return {"trip": trip}
    return {"trip": {k: trip.get(k) for k in ("origin_station_id", "destination_station_id")}}


#: What of each role op's result the IUT's must share with the reference's.
_PICKS: Final = {
    "station_attest": _whole,
    "verifier_cosign": _trip_stations,
    "verifier_batch": _whole,
}
M = TypeVar("M", bound=SignedModel)


@dataclass(frozen=True)
class _Hidden:
    """What one trip's public record must not reveal: its claim and presences."""

    claim: TripClaim
    source: Presence
    destination: Presence


def _strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


class UnlinkabilityMachine(DualMachine):
    """Whole trips through the IUT's stations and verifiers, and an audit of the public chain."""

    family = "unlinkability"
    title = "key unlinkability: no public record links one-time keys, presences or claims"
    requirement_ids = ("IOME-CHG-003", "IOME-ENC-004", "IOME-PRES-001", "IOME-TRIP-007")
    attacker_capabilities = ("passive-observer", "key-reuse")
    required_ops = (
        "station_dock",
        "station_undock",
        "station_attest",
        "verifier_cosign",
        "verifier_batch",
    )
    start_time = T0 + 10_000

    actors = (*_STATIONS, *_VERIFIERS)

    def start_model(self) -> None:
        #: tx ids on the public chain, in order.
        self.public: list[str] = []
        #: Every trip's hidden claim and presences.
        self.hidden: list[_Hidden] = []
        #: Names of one-time keys presented at a station, and used in a public session.
        self.presented: list[str] = []
        self.charged: list[str] = []
        #: Public keys of homes' private (child chain) transactions.
        self.home_keys: set[str] = set()
        #: Public records audited so far, and the strings of each.
        self.audited = 0
        self.published_strings: list[set[str]] = []
        #: The last Trip the IUT co-signed.
        self.last_trip: Trip | None = None

    # -- both nodes ------------------------------------------------------------------------

    def both(self, actor: str, op: str, args: JsonObject) -> JsonObject:
        """Both nodes play role op ``op`` (a scenario step): they must agree on accepting or
        the refusal id, and on the result where the spec fixes it (a Trip's nonce is the
        verifiers' random draw). The IUT's result.

        Raises:
            Rejected: both refused alike (a harness error in an honest rule).
        """
        pick = _PICKS.get(op)
        ref, iut = self.act(actor, op, args, pick)
        if iut.reply is None:
            raise Rejected(str(ref.code), f"{op} refused by both")
        return iut.reply

    def parsed(self, op: str, document: object, model: type[M]) -> M:
        """A message the IUT answered, as ``model``; anything else diverges with its id."""
        try:
            message = parse_message(document)
        except Rejected as exc:
            raise Divergence(
                f"{op}: the implementation answered an invalid message: {exc.req_id}"
            ) from None
        if not isinstance(message, model):
            raise Divergence(f"{op}: the implementation answered a {type(message).__name__}")
        return message

    def append(self, chain: str, txs: list[SignedModel], time: int | None = None) -> None:
        if time is not None:
            self.now = max(self.now, time)
        block = self.next_block(chain, txs, time=self.tick())
        outcome = self.submit_block(chain, block)
        assert outcome.accepted, f"the reference refused a block of honest outputs: {outcome.code}"
        if chain == "public":
            self.public.extend(tx.tx_id for tx in txs)

    def refused(self, chain: str, block: Any, expected: str) -> None:
        outcome = self.submit_block(chain, block)
        assert outcome.code == expected, (expected, outcome.code)

    # -- a trip through the IUT (Fig. 5) ----------------------------------------------------

    def attest(self, station: str, kind: str, key: str, t: int) -> Presence:
        vehicle = f"vehicle-{key}"
        pk = self.b.key(key).public_hex
        dock = {"station": station, "vehicle": vehicle, "one_time_pk": pk, "t": t}
        self.both(station, "station_dock", dock)
        args = {"station": station, "kind": kind, "one_time_pk": pk, "t": t}
        presence = self.parsed(
            "station_attest", self.both(station, "station_attest", args)["presence"], Presence
        )
        self.both(station, "station_undock", {"station": station, "vehicle": vehicle, "t": t + 60})
        self.presented.append(key)
        return presence

    @rule(route=st.sampled_from(_ROUTES), charge=st.booleans())
    @counted
    def trip(self, route: tuple[str, str], charge: bool) -> None:
        origin, destination = route
        first, second = self.fresh_key(), self.fresh_key()
        t1 = self.tick(600)
        if charge:  # the vehicle charged at the origin under its first key
            session = self.b.charge(origin, first, t1 - 1800, t1)
            self.append("public", [session])
            self.charged.append(first)
        source = self.attest(origin, "source", first, t1)
        t2 = t1 + self.world.travel[(origin, destination)] + 300
        self.now = max(self.now, t2)
        end = self.attest(destination, "destination", second, t2)
        claim = self.b.claim(source, end, t2 + 1)
        args = {
            "claim": claim.model_dump(mode="json"),
            "source": source.model_dump(mode="json"),
            "destination": end.model_dump(mode="json"),
            "t": t2 + 2,
        }
        answer = self.both("verifiers", "verifier_cosign", args).get("trip")
        cosigned = {REF_KEY: len(self.steps), "path": "trip"}
        trip = self.parsed("verifier_cosign", answer, Trip)
        hidden = _Hidden(claim, source, end)
        self.check_nonce(trip, [hidden], {"trip": cosigned})
        batch = self.both("verifiers", "verifier_batch", {}).get("txs")
        if not isinstance(batch, list):
            raise Divergence("verifier_batch: the implementation answered no list of txs")
        txs = [self.parsed("verifier_batch", tx, SignedModel) for tx in batch]
        self.append("verifiers", txs, time=t2 + 2)
        self.append("public", [trip], time=trip.end_time)
        self.hidden.append(hidden)
        self.last_trip = trip

    @rule(count=st.integers(1, 3))
    @guarded(lambda self: len(self.home_keys) < 4)
    def home_commitments(self, count: int) -> None:
        """Homes record data commitments under their own keys on their child chain (a few
        suffice: they are what the audit must never find in a public record)."""
        txs = []
        for _ in range(count):
            home = self.fresh_key("home")
            txs.append(self.b.commitment(home, f"meter {self.fresh}".encode(), self.tick()))
            self.home_keys.add(self.b.key(home).public_hex)
        self.append("fleet", list(txs))

    def check_nonce(self, trip: Trip, hidden: list[_Hidden], where: JsonObject) -> None:
        """The Trip's nonce is not derived from any of ``hidden``; a finding is kept as a
        ``check_trip_unlinked`` step on ``where`` (a reference to the IUT's result, or the
        chain and tx id it published), so the scenario replays it."""
        for item in hidden:
            try:
                check_trip_nonce_unlinked(
                    trip, item.claim, item.source, item.destination, sorted(self.home_keys)
                )
            except Rejected as exc:
                args = {
                    **where,
                    "claim": item.claim.model_dump(mode="json"),
                    "source": item.source.model_dump(mode="json"),
                    "destination": item.destination.model_dump(mode="json"),
                    "private_keys": sorted(self.home_keys),
                }
                self.steps.append(
                    CheckTripUnlinkedStep(
                        actor="harness",
                        op="check_trip_unlinked",
                        args=TripUnlinkedArgs.model_validate(args),
                        expect="unlinked",
                    )
                )
                raise Divergence(
                    f"verifier_cosign: the implementation's Trip {trip.tx_id[:16]} is refused: "
                    f"{exc.req_id}: {exc.message}"
                ) from None

    @rule()
    @guarded(lambda self: len(self.public) > self.audited)
    def audit_public_chain(self) -> None:
        """The public records published since the last audit, read back from the IUT: no home
        key, no Trip nonce derived from any trip's hidden claim; and over all public records,
        each one-time key at most once."""
        for tx_id in self.public[self.audited :]:
            record = self.iut.get_tx("public", tx_id).get("tx")
            if not isinstance(record, dict):
                continue  # a record the IUT lost is the integrity machine's finding
            strings = set(_strings(record))
            self.published_strings.append(strings)
            home = self.home_keys & strings
            if home:
                raise Divergence(
                    f"get_tx public: a public record carries a home key {sorted(home)[0][:16]}"
                )
            if record.get("type") == "Trip":
                self.check_nonce(
                    self.parsed("get_tx", record, Trip),
                    self.hidden,
                    {"chain": "public", "tx_id": tx_id},
                )
        self.audited = len(self.public)
        one_time = {self.b.key(name).public_hex for name in (*self.presented, *self.charged)}
        counts = Counter(v for strings in self.published_strings for v in strings & one_time)
        twice = sorted(key for key, count in counts.items() if count > 1)
        if twice:
            raise Divergence(
                f"get_tx public: one-time key {twice[0][:16]} is in {counts[twice[0]]} public "
                "records (IOME-CHG-003)"
            )

    # -- adversarial rules -----------------------------------------------------------------

    @rule(member=st.sampled_from(["source_pk", "destination_pk", "source_presence_id"]))
    @guarded(lambda self: self.last_trip is not None and bool(self.hidden))
    def trip_carrying_key(self, member: str) -> None:
        """A Trip with a member naming its hidden key or presence: its schema forbids it."""
        assert self.last_trip is not None
        hidden = self.hidden[-1]
        value = {
            "source_pk": hidden.source.one_time_pk,
            "destination_pk": hidden.destination.one_time_pk,
            "source_presence_id": hidden.source.tx_id,
        }[member]
        block = self.next_block("public", [self.last_trip], time=self.tick())
        document = block.model_dump(mode="json")
        document["txs"][0] = {**document["txs"][0], member: value}
        self.refused("public", document, "IOME-ENC-004")

    @rule(data=st.data(), station=st.sampled_from(_STATIONS))
    @guarded(lambda self: bool(self.presented))
    def present_key_again(self, data: st.DataObject, station: str) -> None:
        """A one-time key shown again at another docking: the station may attest it (it cannot
        know), the consortium chain refuses the second presence."""
        key = data.draw(st.sampled_from(self.presented), label="one-time key")
        presence = self.attest(station, "source", key, self.tick(60))
        block = self.next_block("verifiers", [presence], time=self.tick())
        self.refused("verifiers", block, "IOME-PRES-001")

    @rule(data=st.data(), station=st.sampled_from(_STATIONS))
    @guarded(lambda self: bool(self.charged))
    def charge_key_again(self, data: st.DataObject, station: str) -> None:
        """A one-time key already in a public session, in a second one."""
        key, end = data.draw(st.sampled_from(self.charged), label="one-time key"), self.tick()
        block = self.next_block(
            "public", [self.b.charge(station, key, end - 600, end)], time=self.tick()
        )
        self.refused("public", block, "IOME-CHG-003")
