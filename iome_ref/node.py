"""Node: the reference as one sans-IO object, the only thing that changes its chains' state.

A node is a ledger of chains (public, child, consortium) judged under one genesis, plus the
role operations with protocol-visible results that a conformance test drives (paper Fig. 4,
Fig. 5): a station attests a docked one-time key, the verifiers judge a claim and co-sign its
Trip, a predictor counts an O-D matrix from the public chain's Trips, a manager anchors its
child chain and a backup takes over a silent manager. Each role's conduct lives in
``iome_ref.roles``; the node only holds the actors and hands them the chain state they read.

What must not live here: any I/O or clock. Time is an argument of every operation, the
random source and the store are passed in (python-hyper/h11's ``Connection`` is the model), so
the in-process adapter and ``iome serve --stdio`` wrap one ``Node`` and cannot disagree.

Errors: a protocol refusal is ``Rejected`` with its id; a request the node cannot serve (an
unknown chain or actor, an actor of the wrong role, a simulation-level misuse such as docking
a key twice) is ``UsageError`` with component "node" or the role's component.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from iome_ref.chain.bundles import build_bundle
from iome_ref.chain.context import ChainContext
from iome_ref.chain.ledger import Ledger
from iome_ref.chain.state import ChainState, Journal
from iome_ref.chain.store import Store, StoredBlock
from iome_ref.chain.transition import apply_tx, check_block_stateless
from iome_ref.constants import (
    CHAIN_CHILD,
    CHAIN_CONSORTIUM,
    CHAIN_PUBLIC,
    MAX_TRIP_VERIFIERS,
    ROLE_BACKUP,
    ROLE_MANAGER,
    ROLE_PREDICTOR,
    ROLE_STATION,
    ROLE_VERIFIER,
    TRIP_QUORUM,
)
from iome_ref.crypto import KeyPair
from iome_ref.errors import Rejected, UsageError
from iome_ref.models import (
    Anchor,
    Block,
    ManagerHandover,
    ODMatrix,
    Presence,
    SignedModel,
    Trip,
    TripClaim,
)
from iome_ref.models.evidence import EvidenceBundle
from iome_ref.pki import CertificateDirectory
from iome_ref.roles.manager import ChainManager
from iome_ref.roles.predictor import MobilityPredictor
from iome_ref.roles.randomness import RandomSource
from iome_ref.roles.station import ChargingStation, PresenceKind
from iome_ref.roles.verifier import DEFAULT_TIME_BUCKET_S, Verifier, VerifierQuorum
from iome_ref.rules import check_stateless
from iome_ref.rules.ledger import check_anchor_manager

__all__ = ["Actor", "Batch", "Dropped", "Genesis", "Head", "Node", "disk_row"]

_COMPONENT = "node"


class Genesis(BaseModel):
    """What every chain of a node judges against: the form of a vector file's ``context``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pki: dict[str, Any] = Field(description="The genesis PKI (CertificateDirectory.to_json).")
    travel_times: list[tuple[str, str, int]] = Field(
        default_factory=list, description="(origin, destination, seconds) per reachable pair."
    )
    quorum: int = Field(
        default=TRIP_QUORUM,
        ge=1,
        le=MAX_TRIP_VERIFIERS,
        description="Verifier signatures per Trip; a Trip holds at most MAX_TRIP_VERIFIERS.",
    )
    chains: dict[str, Literal["public", "child", "consortium"]] = Field(
        default_factory=dict, description="Chain id -> kind, the chains this node keeps."
    )

    def context(self) -> ChainContext:
        """The chain context this genesis fixes.

        Raises:
            Rejected: the PKI breaks a certificate rule (its IOME-CERT id).
        """
        directory = CertificateDirectory.from_json(self.pki)
        travel = {(a, b): s for a, b, s in self.travel_times}
        return ChainContext(directory, travel, self.quorum)

    def open_ledger(self, store: Store) -> Ledger:
        """A ledger over ``store`` judged under this genesis, keeping its chains."""
        ledger = Ledger(store, self.context())
        for chain_id, kind in self.chains.items():
            ledger.add_chain(chain_id, kind)
        return ledger

    @classmethod
    def read(cls, document: Mapping[str, Any] | Genesis) -> Genesis:
        """The genesis of a JSON document.

        Raises:
            UsageError: a member is missing or of the wrong type, naming its path.
        """
        if isinstance(document, Genesis):
            return document
        try:
            return cls.model_validate(document)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in error["loc"])
            raise UsageError(_COMPONENT, f"genesis.{where}: {error['msg']}") from None


@dataclass(frozen=True)
class Actor:
    """A key this node acts with: its certified role and subject (CN)."""

    role: str
    subject: str
    key: KeyPair

    @classmethod
    def from_private_hex(cls, role: str, subject: str, private_key: str) -> Actor:
        """An actor from its raw 32-byte Ed25519 private key in hex.

        Raises:
            UsageError: the key is not 64 hex digits.
        """
        try:
            raw = bytes.fromhex(private_key)
            if len(raw) != 32:
                raise ValueError(f"{len(raw)} bytes")
        except ValueError as exc:
            raise UsageError(_COMPONENT, f"private_key: expected 64 hex digits, {exc}") from None
        private = Ed25519PrivateKey.from_private_bytes(raw)
        return cls(role, subject, KeyPair.from_private(private))


class Head(NamedTuple):
    """A chain's head; (-1, None) for an empty chain."""

    height: int
    block_hash: str | None


class Dropped(NamedTuple):
    """A transaction of the verifiers' batch the chain would now refuse, and why."""

    tx: SignedModel
    reason: Rejected
    #: The Trip the verifiers co-signed for a dropped claim: not to be published either.
    trip_id: str | None = None


class Batch(NamedTuple):
    """The verifiers' batch for the next consortium block: what it may hold, in order, and
    what was accepted on arrival but is refused at the block's time."""

    txs: list[SignedModel]
    dropped: list[Dropped]


def disk_row(chain_id: str, height: int, block_hash: str, body: bytes) -> StoredBlock:
    """A block row as a disk edit writes it, with the transaction index a store derives from
    the body when it appends: the ids of the body's transactions where it reads as a block,
    none where it does not (reopening then refuses the body itself, IOME-BLK-012)."""
    try:
        txs = json.loads(body)["txs"]
        tx_ids = tuple(tx["tx_id"] for tx in txs)
    except (ValueError, KeyError, TypeError):
        tx_ids = ()
    if not all(type(tx_id) is str for tx_id in tx_ids):
        tx_ids = ()
    return StoredBlock(chain_id, height, block_hash, body, tx_ids)


class Node:
    """One reference node: its chains, its actors, and the role operations over them."""

    def __init__(
        self,
        genesis: Mapping[str, Any] | Genesis,
        *,
        store: Store,
        rng: RandomSource,
        actors: Mapping[str, Actor] | None = None,
        time_bucket_s: int = DEFAULT_TIME_BUCKET_S,
    ) -> None:
        """Open ``store`` under ``genesis`` (re-verifying what it holds) with ``actors``' keys.

        Raises:
            Rejected: the genesis PKI breaks a certificate rule (its IOME-CERT id); a stored
                block no longer verifies (IOME-BLK-012).
            UsageError: the genesis is not in the expected form.
        """
        genesis = Genesis.read(genesis)
        self._setup(
            genesis.context(),
            genesis.chains,
            store=store,
            rng=rng,
            actors=actors,
            time_bucket_s=time_bucket_s,
        )

    @classmethod
    def with_context(
        cls,
        context: ChainContext,
        chains: Mapping[str, str],
        *,
        store: Store,
        rng: RandomSource,
        actors: Mapping[str, Actor] | None = None,
        time_bucket_s: int = DEFAULT_TIME_BUCKET_S,
    ) -> Node:
        """A node judging under a ready ``context`` (a simulation's, whose travel table is too
        large to pass as a genesis document), keeping ``chains`` (id -> kind).

        Raises:
            Rejected: a stored block no longer verifies (IOME-BLK-012).
        """
        node = cls.__new__(cls)
        node._setup(
            context, chains, store=store, rng=rng, actors=actors, time_bucket_s=time_bucket_s
        )
        return node

    def _setup(
        self,
        context: ChainContext,
        chains: Mapping[str, str],
        *,
        store: Store,
        rng: RandomSource,
        actors: Mapping[str, Actor] | None,
        time_bucket_s: int,
    ) -> None:
        self._context = context
        self._chain_kinds = dict(chains)
        self.rng = rng
        self.actors: dict[str, Actor] = dict(actors or {})
        self.time_bucket_s = time_bucket_s
        self.ledger = self._open_ledger(store)
        self._stations: dict[str, ChargingStation] = {}
        self._managers: dict[str, ChainManager] = {}
        self._quorum: VerifierQuorum | None = None
        #: The consortium state as the verifiers see it between blocks: a fork of the chain's
        #: state holding the claims of the batch in flight; the chain itself never does.
        self._view: ChainState | None = None
        #: Presences and claims the verifiers accepted, for the next consortium block.
        self._batch: list[SignedModel] = []
        #: Claim tx id -> the Trip co-signed for it, while the claim waits in a batch.
        self._trips: dict[str, str] = {}

    def _open_ledger(self, store: Store) -> Ledger:
        # Through the declared chains, so a chain without blocks yet is kept too.
        ledger = Ledger(store, self._context)
        for chain_id, kind in self._chain_kinds.items():
            ledger.add_chain(chain_id, kind)
        return ledger

    # -- chains ------------------------------------------------------------------------------

    @property
    def context(self) -> ChainContext:
        return self._context

    def get_chain(self, chain_id: str) -> ChainState:
        """The state of a chain this node keeps.

        Raises:
            UsageError: the genesis declares no such chain.
        """
        state = self.ledger.chains.get(chain_id)
        if state is None:
            raise UsageError(_COMPONENT, f"the genesis declares no chain {chain_id!r}")
        return state

    def _chain_of_kind(self, kind: str) -> ChainState:
        for state in self.ledger.chains.values():
            if state.kind == kind:
                return state
        raise UsageError(_COMPONENT, f"the genesis declares no {kind} chain")

    def get_head(self, chain_id: str) -> Head:
        head = self.get_chain(chain_id).head
        return Head(-1, None) if head is None else Head(head.height, head.block_hash)

    def apply_block(self, block: Block, chain_id: str) -> Head:
        """Apply ``block`` to ``chain_id`` atomically, or refuse it leaving the chain unchanged.

        The verifiers' provisional batch is rolled back first (kept for ``take_batch``): a
        consortium block is judged on the state its blocks made, never on claims in flight.

        Raises:
            Rejected: the first rule the block breaks.
        """
        state = self.get_chain(chain_id)
        if state.kind == CHAIN_CONSORTIUM:
            self._settle_batch()
        self.ledger.submit(block, chain_id)
        return self.get_head(chain_id)

    def judge(self, message: SignedModel | Block, chain_id: str, block_time: int) -> str:
        """Judge a transaction as the only one of ``chain_id``'s next block at ``block_time``,
        rolling its effects back; a block is applied (``apply_block``). Returns its id.

        Raises:
            Rejected: the first rule broken.
        """
        if isinstance(message, Block):
            self.apply_block(message, chain_id)
            return message.block_hash
        if self.get_chain(chain_id).kind == CHAIN_CONSORTIUM:
            self._settle_batch()
        self.ledger.judge_tx(message, chain_id, block_time)
        return message.tx_id

    def validate(self, message: SignedModel | Block, *, with_pki: bool) -> None:
        """The checks a message gets on its own (no chain state): tx id, field rules and
        signatures; with ``with_pki``, its certificates under the genesis PKI too.

        Raises:
            Rejected: the first rule broken.
        """
        directory = self.context.directory if with_pki else None
        if isinstance(message, Block):
            check_block_stateless(message, directory)
            for tx in message.txs:
                check_stateless(tx, directory)
            return
        check_stateless(message, directory)

    def get_tx(self, chain_id: str, tx_id: str) -> SignedModel | None:
        self.get_chain(chain_id)
        for tx in self.ledger.transactions(chain_id):
            if tx.tx_id == tx_id:
                return tx
        return None

    def get_bundle(self, chain_id: str, tx_id: str) -> EvidenceBundle | None:
        """The evidence bundle of accepted transaction ``tx_id`` on ``chain_id``
        (spec/evidence.md), or None when the chain does not hold it.

        Raises:
            UsageError: the genesis declares no such chain.
        """
        self.get_chain(chain_id)
        return build_bundle(self.ledger, chain_id, tx_id)

    def get_evidence(self) -> list[tuple[str, bytes]]:
        """(requirement id, canonical JSON ``{"first", "second"}``) in the order recorded."""
        return self.ledger.evidence()

    def reopen(self, rows: Iterable[StoredBlock] = ()) -> None:
        """Close and reopen from the store after appending ``rows`` unchecked, as a disk edit
        would; reopening re-verifies every stored block (IOME-BLK-012).

        Raises:
            Rejected: IOME-BLK-012, or the rule a stored block breaks.
        """
        self._settle_batch()
        store = self.ledger.store
        for row in rows:
            store.append(row)
        self.ledger = self._open_ledger(store)

    # -- actors ------------------------------------------------------------------------------

    def _actor(self, name: str, *roles: str) -> Actor:
        actor = self.actors.get(name)
        if actor is None:
            raise UsageError(_COMPONENT, f"no actor {name!r} was given at reset")
        if actor.role not in roles:
            raise UsageError(
                _COMPONENT, f"actor {name!r} has role {actor.role}, expected one of {roles}"
            )
        return actor

    def _station(self, name: str) -> ChargingStation:
        if name not in self._stations:
            actor = self._actor(name, ROLE_STATION)
            self._stations[name] = ChargingStation(actor.subject, actor.key, region="")
        return self._stations[name]

    def _manager(self, name: str, chain_id: str, *roles: str) -> ChainManager:
        actor = self._actor(name, *roles)
        if actor.subject != chain_id:
            raise UsageError(_COMPONENT, f"actor {name!r} manages {actor.subject}, not {chain_id}")
        if name not in self._managers:
            self._managers[name] = ChainManager(chain_id, actor.key, active=False)
        return self._managers[name]

    # -- station (Fig. 5 steps 1-4) ----------------------------------------------------------

    def on_dock(self, station: str, vehicle: str, one_time_pk: str, t: int) -> None:
        """A vehicle connects to ``station`` showing ``one_time_pk`` at ``t``."""
        self._station(station).dock(vehicle, one_time_pk, t)

    def on_undock(self, station: str, vehicle: str, t: int) -> None:
        """The vehicle disconnects at ``t``: its key can no longer be attested there."""
        self._station(station).undock(vehicle, t)

    def attest(self, station: str, kind: PresenceKind, one_time_pk: str, t: int) -> Presence:
        """The station signs a Presence for a key docked at it at ``t``.

        Raises:
            Rejected: IOME-PRES-003 (not docked, or already attested), the Presence field rules.
        """
        return self._station(station).sign_presence(kind, one_time_pk, t)

    # -- verifiers (Fig. 5 steps 6-8) --------------------------------------------------------

    def _verifiers(self) -> VerifierQuorum:
        if self._quorum is None:
            verifiers = [
                Verifier(name, actor.key)
                for name, actor in sorted(self.actors.items())
                if actor.role == ROLE_VERIFIER
            ]
            if len(verifiers) < self.context.quorum:
                raise UsageError(
                    _COMPONENT,
                    f"co-signing needs {self.context.quorum} verifier actors, "
                    f"reset gave {len(verifiers)}",
                )
            self._quorum = VerifierQuorum(
                verifiers,
                self.context.quorum,
                self.context.travel,
                self.context.directory,
                time_bucket_s=self.time_bucket_s,
            )
        return self._quorum

    def _answering(self, quorum: VerifierQuorum, names: Sequence[str] | None) -> list[Verifier]:
        """The verifiers that answer, in name order: every one, or those ``names`` lists."""
        if names is None:
            return list(quorum.verifiers)
        known = {verifier.name: verifier for verifier in quorum.verifiers}
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise UsageError(_COMPONENT, f"answering: {unknown[0]!r} is no verifier actor")
        return [verifier for name, verifier in sorted(known.items()) if name in set(names)]

    def cosign(
        self,
        claim: TripClaim,
        source: Presence,
        destination: Presence,
        t: int,
        answering: Sequence[str] | None = None,
    ) -> Trip | None:
        """Judge ``claim`` on the consortium chain at ``t`` and return its Trip signed by the
        quorum; the presences and claim join the batch ``take_batch`` hands out.

        ``answering`` names the verifiers that answer (default: all); the others have stopped.
        With fewer than the quorum answering nobody can co-sign: the trip waits (None) and
        nothing is recorded, so the vehicle sends the claim again later (trips.md step 8).

        Raises:
            Rejected: the first rule the presences or claim break, or IOME-TRIP-005.
            UsageError: ``answering`` names an actor that is no verifier.
        """
        quorum = self._verifiers()
        chosen = self._answering(quorum, answering)
        if len(chosen) < quorum.k:
            return None
        if self._view is None:
            self._view = self._chain_of_kind(CHAIN_CONSORTIUM).fork()
        everyone, quorum.verifiers = quorum.verifiers, chosen
        try:
            trip = quorum.on_claim(claim, source, destination, self._view, t, self.rng)
        finally:
            quorum.verifiers = everyone
        self._trips[claim.tx_id] = trip.tx_id
        return trip

    def _settle_batch(self) -> None:
        """Hand the verifiers' batch to ``take_batch`` and drop their view of the consortium
        chain: the next claim is judged on a fresh fork of what the chain's blocks made."""
        if self._quorum is not None and self._quorum.pending:
            self._batch.extend(self._quorum.take_consortium_txs())
        self._view = None

    def take_batch(self, block_time: int | None = None) -> Batch:
        """The presences and claims accepted since the last call, in order, for the next
        consortium block (Fig. 5 step 9), judged again at ``block_time``; the consortium state
        is left as its blocks made it.

        The verifiers judged each claim when it arrived, but the block comes later: a station
        whose certificate expired or was revoked on the chain in between would make the
        chain refuse the whole block (IOME-CERT-021). So the batch is applied, in order, to a
        fork of the consortium state at ``block_time`` by the chain's own transition, and
        what it refuses is dropped with its refusal (chains.md, "Applying a block": a
        producer judges what it includes at its block's time). What depended on a dropped
        transaction falls with it by the same transition (a claim whose presence was dropped
        breaks IOME-CLAIM-001), and a dropped claim names its Trip, which must not be
        published. Without ``block_time`` nothing is judged again (a caller sealing at the
        claims' own times). Evidence a dry run finds is left to the block that holds it.

        ``block_time`` is the earliest time the block may carry: a transaction claiming a later
        time (a trip that ended after the round) makes its block later (IOME-BLK-008), so the
        batch is judged at the later of the two. A block sealed earlier (one of several the
        batch is split into, or without the latest transaction) is judged alike: a certificate
        in force at a transaction's time and at this later one is in force between them (a
        validity period, a CRL's period and "not revoked yet" all span an interval).
        """
        self._settle_batch()
        batch, self._batch = self._batch, []
        trips, self._trips = self._trips, {}
        if block_time is None or not batch:
            return Batch(batch, [])
        at = max(block_time, *(tx.time for tx in batch))
        fork = self._chain_of_kind(CHAIN_CONSORTIUM).fork()
        kept: list[SignedModel] = []
        dropped: list[Dropped] = []
        for tx in batch:
            journal = Journal()
            try:
                apply_tx(fork, tx, self._context, at, journal)
            except Rejected as exc:
                journal.rollback()  # a refused transaction leaves no effect on the fork
                dropped.append(Dropped(tx, exc, trips.get(tx.tx_id)))
            else:
                kept.append(tx)
        return Batch(kept, dropped)

    # -- predictor (Fig. 5 steps 10-11) ------------------------------------------------------

    def compute_od(
        self, predictor: str, zones: list[str], period_start: int, period_end: int
    ) -> list[ODMatrix]:
        """The predictor's O-D matrix parts over ``zones`` from the public chain's Trips."""
        actor = self._actor(predictor, ROLE_PREDICTOR)
        trips = self._chain_of_kind(CHAIN_PUBLIC).trips
        return MobilityPredictor(actor.key).build(trips, zones, period_start, period_end)

    # -- managers and backups (paper §II-B, §III) --------------------------------------------

    def anchor(self, manager: str, chain_id: str, t: int) -> Anchor | None:
        """The manager's Anchor of ``chain_id``'s head at ``t``; None if it did not grow since
        the last Anchor.

        Raises:
            Rejected: IOME-ANC-010 (``t`` before the last anchor or the office start),
                IOME-ANC-001 (``manager`` is not in office: a backup replaced it).
        """
        if self.get_chain(chain_id).kind != CHAIN_CHILD:
            raise UsageError(_COMPONENT, f"{chain_id} is not a child chain")
        office = self._manager(manager, chain_id, ROLE_MANAGER, ROLE_BACKUP)
        public = self._chain_of_kind(CHAIN_PUBLIC)
        office.office_since = public.handover_times.get(chain_id)
        anchor = office.anchor(self.get_chain(chain_id), public.anchor_tips.get(chain_id), t)
        current = public.offices.get(chain_id)
        if anchor is not None:
            # A key out of office (a manager its backup replaced) would be refused on chain.
            check_anchor_manager(anchor, None if current is None else current.manager_pk)
        return anchor

    def hand_over(self, backup: str, chain_id: str, t: int) -> ManagerHandover:
        """The backup takes office from the manager in office, continuing the anchor sequence.

        Raises:
            Rejected: IOME-ANC-008 (the chain was never anchored: chains.md, handover
                processing step 1), IOME-ANC-007, IOME-ANC-009 (the manager is not silent).
        """
        office = self._manager(backup, chain_id, ROLE_BACKUP, ROLE_MANAGER)
        public = self._chain_of_kind(CHAIN_PUBLIC)
        tip = public.anchor_tips.get(chain_id)
        current = public.offices.get(chain_id)
        if tip is None or current is None:
            raise Rejected("IOME-ANC-008", f"{chain_id} has no anchor tip to continue from")
        return office.take_over(current.manager_pk, tip, t, public.handover_times.get(chain_id))
