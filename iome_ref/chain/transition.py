"""apply_tx and apply_block: the state transition of one chain.

Order inside a transaction: placement (replay, chain kind, time) before identity (tx id,
signatures), identity before certificates, certificates before state rules; each rejection
therefore names the most basic rule broken, and the same input always names the same rule.
"""

from __future__ import annotations

from collections.abc import Callable

from iome_ref.chain.anchoring import apply_anchor, apply_handover
from iome_ref.chain.context import ChainContext
from iome_ref.chain.state import ChainState, Evidence, Journal
from iome_ref.errors import IoMEError, Rejected
from iome_ref.models import (
    EPS,
    Anchor,
    Block,
    ChargeSession,
    IssuerRegistration,
    ManagerHandover,
    ODMatrix,
    Presence,
    SignedModel,
    Trip,
    TripClaim,
)
from iome_ref.rules import energy, ledger, mobility
from iome_ref.rules.certificates import check_block_producer, check_tx_certificates
from iome_ref.rules.encoding import check_block_signature
from iome_ref.rules.ledger import BlockRef
from iome_ref.rules.stateless import check_stateless

__all__ = ["apply_block", "apply_tx", "check_block_header"]


def _apply_registration(
    state: ChainState, reg: IssuerRegistration, ctx: ChainContext, journal: Journal
) -> None:
    energy.check_registration_by_authority(reg, ctx.directory.root_public_key_hex)
    energy.check_registration_new(reg, state.registrations.get(reg.issuer_pk))
    journal.put(state.registrations, reg.issuer_pk, reg)
    journal.put(state.issuer_tips, reg.issuer_pk, reg.tx_id)
    journal.put(state.issuer_tip_times, reg.issuer_pk, reg.timestamp)


def _apply_eps(state: ChainState, eps: EPS, block_time: int, journal: Journal) -> None:
    energy.check_eps_in_force_at_block(eps, block_time)
    registration = state.registrations.get(eps.issuer_pk)
    energy.check_eps_issuer_registered(eps, registration)
    assert registration is not None  # narrowed by the check above
    fork_key = (eps.issuer_pk, eps.prev_tx_id)
    successor = state.successors.get(fork_key)
    try:
        energy.check_eps_not_equivocating(eps, successor.tx_id if successor else None)
    except Rejected:
        assert successor is not None  # the check raises only when a successor exists
        # Evidence outlives the rejected block on purpose: it is not journaled.
        state.evidence.append(
            Evidence("IOME-EPS-005", successor.model_dump(mode="json"), eps.model_dump(mode="json"))
        )
        raise
    energy.check_eps_extends_chain(eps, state.issuer_tips.get(eps.issuer_pk))
    energy.check_eps_not_before_predecessor(eps, state.issuer_tip_times.get(eps.issuer_pk))
    energy.check_eps_region_registered(eps, registration)
    journal.put(state.successors, fork_key, eps)
    journal.put(state.issuer_tips, eps.issuer_pk, eps.tx_id)
    journal.put(state.issuer_tip_times, eps.issuer_pk, eps.issued_at)


def _apply_presence(state: ChainState, presence: Presence, journal: Journal) -> None:
    mobility.check_presence_key_fresh(presence, presence.one_time_pk in state.presence_keys)
    journal.add(state.presence_keys, presence.one_time_pk)
    journal.put(state.presences, presence.tx_id, presence)


def _apply_claim(state: ChainState, claim: TripClaim, ctx: ChainContext, journal: Journal) -> None:
    source = state.presences.get(claim.source_presence_id)
    destination = state.presences.get(claim.destination_presence_id)
    mobility.check_claim_presences(claim, source, destination)
    assert source is not None
    assert destination is not None
    mobility.check_claim_keys(claim, source, destination)
    mobility.check_claim_stations_differ(source, destination)
    mobility.check_claim_order(source, destination)
    mobility.check_claim_travel_time(
        source, destination, ctx.travel_time(source.station_id, destination.station_id)
    )
    mobility.check_claim_after_trip(claim, destination)
    mobility.check_claim_presences_unused(claim, state.claimed_presences)
    for presence_id in (claim.source_presence_id, claim.destination_presence_id):
        journal.add(state.claimed_presences, presence_id)


def apply_tx(
    state: ChainState, tx: SignedModel, ctx: ChainContext, block_time: int, journal: Journal
) -> None:
    """Judge ``tx`` against ``state`` and record its effects in ``journal``.

    Raises:
        Rejected: the id of the first rule ``tx`` breaks.
    """
    ledger.check_tx_not_replayed(tx, tx.tx_id in state.tx_ids)
    ledger.check_tx_allowed(tx, state.kind)
    ledger.check_tx_not_after_block(tx, block_time)
    check_stateless(tx)
    check_tx_certificates(tx, ctx.directory)
    if isinstance(tx, IssuerRegistration):
        _apply_registration(state, tx, ctx, journal)
    elif isinstance(tx, EPS):
        _apply_eps(state, tx, block_time, journal)
    elif isinstance(tx, Presence):
        _apply_presence(state, tx, journal)
    elif isinstance(tx, TripClaim):
        _apply_claim(state, tx, ctx, journal)
    elif isinstance(tx, Trip):
        mobility.check_trip_quorum(tx, ctx.quorum)
        journal.append(state.trips, tx)
    elif isinstance(tx, ChargeSession):
        mobility.check_charge_station_certified_at_start(tx, ctx.directory)
        mobility.check_charge_key_fresh(tx, tx.one_time_pk in state.charge_keys)
        journal.add(state.charge_keys, tx.one_time_pk)
    elif isinstance(tx, ODMatrix):
        mobility.check_od_counts(tx, state.trips)
    elif isinstance(tx, Anchor):
        apply_anchor(state, tx, ctx, journal)
    elif isinstance(tx, ManagerHandover):
        apply_handover(state, tx, ctx, journal)
    journal.add(state.tx_ids, tx.tx_id)


def check_block_header(state: ChainState, block: Block, ctx: ChainContext) -> None:
    """Header rules: chain, hash, signature, producer, then position (equivocation, height).

    The signature is verified before the position rules so that equivocation evidence is
    always a pair of validly signed headers.

    Raises:
        Rejected: IOME-BLK-*, IOME-SIG-*, IOME-CERT-*.
    """
    ledger.check_block_chain_id(block, state.chain_id)
    ledger.check_block_hash(block)
    check_block_signature(block)
    check_block_producer(block, ctx.directory)
    head = state.head
    if head is None:
        ledger.check_genesis(block)
    else:
        earlier = state.get_block_ref(block.height)
        try:
            ledger.check_block_not_equivocating(block, earlier)
        except Rejected:
            assert earlier is not None  # the check raises only with an earlier block
            state.evidence.append(
                Evidence("IOME-BLK-009", earlier.header, BlockRef.of(block).header)
            )
            raise
        ledger.check_block_height(block, head)
        ledger.check_block_prev_hash(block, head)
        ledger.check_block_time(block, head)
    ledger.check_block_txs_distinct(block)
    ledger.check_block_merkle_root(block)


def apply_block(
    state: ChainState,
    block: Block,
    ctx: ChainContext,
    commit: Callable[[], None] | None = None,
) -> None:
    """Apply a whole block or nothing of it.

    ``commit`` (persisting the block) runs after every rule passed; if it fails, the state is
    rolled back too, so memory and store never disagree.

    Raises:
        Rejected: the id of the first rule the block or one of its transactions breaks; the
        state is then exactly as before the call (evidence aside, which is kept on purpose).
    """
    check_block_header(state, block, ctx)
    journal = Journal()
    try:
        for index, tx in enumerate(block.txs):
            try:
                apply_tx(state, tx, ctx, block.time, journal)
            except IoMEError as exc:
                exc.add_note(f"in transaction {index} ({tx.tx_type}) of block {block.height}")
                raise
        if commit is not None:
            commit()
    except BaseException:
        journal.rollback()
        raise
    state.blocks.append(BlockRef.of(block))
