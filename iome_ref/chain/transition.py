"""apply_tx and apply_block: the state transition of one chain.

Order inside a transaction (transactions.md, "Checking a transaction"): placement (replay,
chain kind, time), then the stateless pipeline of ``rules.stateless`` (tx id, field rules,
certificates, signatures), then the certificates again at the block's time (IOME-CERT-021),
then state rules. Each rejection therefore names the first rule of
the spec's order, and the same input always names the same rule, here, in the vector runner
and in ``iome validate``, which share that pipeline.

The certificates in force are the chain's own (``ChainState.directory``): the genesis
directory, replaced by every RevocationList the chain accepts. A verdict therefore depends
only on the genesis configuration and the chain's earlier content, so a node that reopens its
store or syncs from genesis reaches the same state (chains.md, "What a verdict may depend on").
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, Final

from iome_ref.chain.anchoring import apply_anchor, apply_handover
from iome_ref.chain.context import ChainContext
from iome_ref.chain.parallel import SignatureChecker
from iome_ref.chain.state import ChainState, Evidence, Journal
from iome_ref.constants import ROLE_MANAGER
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
    RevocationList,
    SignedModel,
    Trip,
    TripClaim,
)
from iome_ref.pki import CertificateDirectory
from iome_ref.rules import energy, ledger, mobility, revocation
from iome_ref.rules.certificates import check_block_producer, check_certified_at_block
from iome_ref.rules.encoding import check_block_signature
from iome_ref.rules.ledger import BlockRef
from iome_ref.rules.revocation import CertifiedUse
from iome_ref.rules.stateless import check_stateless

__all__ = ["STATE_RULES", "apply_block", "apply_tx", "check_block_header", "check_block_stateless"]


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


def _apply_revocation_list(state: ChainState, tx: RevocationList, journal: Journal) -> None:
    """Put the list in force and turn what it says about accepted history into evidence."""
    directory = state.directory.with_revocation_list(revocation.check_revocation_list_der(tx))
    new_entries = directory.revocations != state.directory.revocations
    journal.set_attr(state, "directory", directory)
    if not new_entries:  # a list that only renews its dates cannot refuse anything accepted
        return
    for use in state.certified_uses:
        try:
            revocation.check_use_not_revoked_later(use, directory)
        except Rejected as exc:
            # Evidence outlives a rejected block on purpose: it is not journaled.
            state.evidence.append(
                Evidence(
                    "IOME-REV-003",
                    tx.model_dump(mode="json"),
                    {"tx_id": use.tx_id, "type": use.tx_type, "reason": exc.message},
                )
            )


def _apply_charge(state: ChainState, charge: ChargeSession, journal: Journal) -> None:
    mobility.check_charge_key_fresh(charge, charge.one_time_pk in state.charge_keys)
    journal.add(state.charge_keys, charge.one_time_pk)


#: The state rules of one transaction type: (state, tx, context, block time, journal).
StateRules = Callable[[ChainState, Any, ChainContext, int, Journal], None]

#: Per type, the rules it passes against the chain's state, after its placement, stateless
#: pipeline and certificates; a type without an entry (ESDP, DataCommitment, ExternalRecord)
#: has none. A table rather than a chain of isinstance: each miss of isinstance on a model
#: class costs as much as a rule (pydantic's metaclass is an ABCMeta).
STATE_RULES: Final[dict[type[SignedModel], StateRules]] = {
    IssuerRegistration: lambda state, tx, ctx, _, journal: _apply_registration(
        state, tx, ctx, journal
    ),
    EPS: lambda state, tx, _, block_time, journal: _apply_eps(state, tx, block_time, journal),
    Presence: lambda state, tx, _ctx, _t, journal: _apply_presence(state, tx, journal),
    TripClaim: lambda state, tx, ctx, _, journal: _apply_claim(state, tx, ctx, journal),
    Trip: lambda state, tx, _ctx, _t, journal: journal.append(state.trips, tx),
    ChargeSession: lambda state, tx, _ctx, _t, journal: _apply_charge(state, tx, journal),
    ODMatrix: lambda state, tx, _ctx, _t, _j: mobility.check_od_counts(tx, state.trips),
    Anchor: lambda state, tx, _ctx, _t, journal: apply_anchor(state, tx, journal),
    ManagerHandover: lambda state, tx, _ctx, _t, journal: apply_handover(state, tx, journal),
    RevocationList: lambda state, tx, _ctx, _t, journal: _apply_revocation_list(state, tx, journal),
}


@functools.cache
def _state_rules_of(kind: type[SignedModel]) -> StateRules | None:
    """The entry of ``kind``, or of its nearest base class, in STATE_RULES (what isinstance
    would pick), looked up once per class."""
    return next((STATE_RULES[base] for base in kind.__mro__ if base in STATE_RULES), None)


def _anchor_role(state: ChainState, tx: SignedModel) -> str:
    office = state.offices.get(tx.chain_id) if isinstance(tx, Anchor) else None
    return office.role if office is not None else ROLE_MANAGER


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
    certified = check_stateless(
        tx, state.directory, quorum=ctx.quorum, anchor_role=_anchor_role(state, tx)
    )
    check_certified_at_block(certified, state.directory, block_time)
    for key in certified:
        journal.append(
            state.certified_uses,
            CertifiedUse(
                tx.tx_id, tx.tx_type, key.public_key, key.role, key.subject_id, tx.time, block_time
            ),
        )
    rules = _state_rules_of(type(tx))
    if rules is not None:
        rules(state, tx, ctx, block_time, journal)
    journal.add(state.tx_ids, tx.tx_id)


def check_block_header(state: ChainState, block: Block) -> None:
    """Header rules: chain, hash, structure, producer, signature, then position.

    Structure (distinct transactions, Merkle root) and the producer's certificate come before
    the signature because they are cheap; the signature comes before the position rules so that
    equivocation evidence is always a pair of validly signed headers.

    Raises:
        Rejected: IOME-BLK-*, IOME-SIG-*, IOME-CERT-*.
    """
    ledger.check_block_chain_id(block, state.chain_id)
    check_block_stateless(block, state.directory)
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


def check_block_stateless(block: Block, directory: CertificateDirectory | None) -> None:
    """What a block header shows on its own: hash, structure, producer, signature, in that
    order (chains.md, "Applying a block"). ``iome validate`` and vectors use it too; without
    ``directory`` the producer's certificate is not judged.

    Raises:
        Rejected: IOME-BLK-011, IOME-BLK-006, IOME-BLK-003, IOME-CERT-*, IOME-SIG-*.
    """
    ledger.check_block_hash(block)
    ledger.check_block_txs_distinct(block)
    ledger.check_block_merkle_root(block)
    if directory is not None:
        check_block_producer(block, directory)
    check_block_signature(block)


def apply_block(
    state: ChainState,
    block: Block,
    ctx: ChainContext,
    commit: Callable[[], None] | None = None,
    *,
    signatures: SignatureChecker | None = None,
) -> None:
    """Apply a whole block or nothing of it.

    ``commit`` (persisting the block) runs after every rule passed; if it fails, the state is
    rolled back too, so memory and store never disagree. With ``signatures``, the stateless
    pipeline of every transaction (tx id, field rules, certificates, signatures) runs in its
    worker processes once the header passed, while this process applies the transactions in
    order as their results come back; the verdict, the state and the id of a refusal are the
    same (``chain.parallel``).

    Raises:
        Rejected: the id of the first rule the block or one of its transactions breaks; the
        state is then exactly as before the call (evidence aside, which is kept on purpose).
    """
    check_block_header(state, block)
    txs: Iterable[SignedModel] = block.txs
    if signatures is not None:
        txs = signatures.prevalidate(
            block.txs, state.directory, quorum=ctx.quorum, anchor_role=ROLE_MANAGER
        )
    journal = Journal()
    try:
        for index, tx in enumerate(txs):
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
