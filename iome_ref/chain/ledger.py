"""Ledger: one node's chains (public, child, consortium) over one store and one genesis.

Opening a ledger re-verifies every stored block from genesis (IOME-BLK-012): a store is
trusted for durability, never for validity, so a hand-edited SQLite file cannot smuggle in a
block the rules would refuse. The store also records the genesis configuration the blocks were
judged under, so a reopened store is judged under the same one (``Ledger.open``).

Verdicts never depend on which chains a node holds or in which order it received them: a
mismatch between a public Anchor and a child chain the node holds is evidence (IOME-ANC-005),
found whichever of the two arrives last, never a refusal.
"""

from __future__ import annotations

from collections.abc import Iterator

from iome_ref.chain.context import ChainContext
from iome_ref.chain.parallel import SignatureChecker
from iome_ref.chain.state import ChainState, Evidence, Journal
from iome_ref.chain.store import MemoryStore, Store, StoredBlock
from iome_ref.chain.transition import apply_block, apply_tx
from iome_ref.constants import CHAIN_CHILD, CHAIN_CONSORTIUM, CHAIN_PUBLIC
from iome_ref.encoding import (
    canonical_json,
    check_message_size,
    compute_hash,
    decode_json_object,
)
from iome_ref.errors import IoMEError, Rejected, UsageError
from iome_ref.models import Anchor, Block, SignedModel
from iome_ref.rules.ledger import check_anchor_head, check_stored_block

__all__ = ["Ledger"]

_KINDS = (CHAIN_CHILD, CHAIN_CONSORTIUM, CHAIN_PUBLIC)
_GENESIS_KEY = "genesis"


def _kind_key(chain_id: str) -> str:
    return f"chain:{chain_id}:kind"


class Ledger:
    """The chains one node keeps, persisted in ``store`` and judged under ``context``.

    Raises:
        UsageError: ``store`` was created under another genesis configuration.
        Rejected: IOME-BLK-012 (or the rule a stored block breaks) when reopening a store.
    """

    def __init__(
        self, store: Store, context: ChainContext, *, signatures: SignatureChecker | None = None
    ) -> None:
        self.store = store
        self.context = context
        #: Verifies the signatures of each submitted or reloaded block as one batch, on its
        #: worker processes (``chain.parallel``); None verifies them one by one.
        self.signatures = signatures
        self.chains: dict[str, ChainState] = {}
        genesis = context.genesis().decode()
        recorded = store.get_meta(_GENESIS_KEY)
        if recorded is None:
            store.set_meta(_GENESIS_KEY, genesis)
        elif recorded != genesis:
            raise UsageError("store", "the store was created under another genesis configuration")
        self._known_evidence = {(kind, body) for kind, body in store.evidence()}
        for chain_id, kind in self._stored_chains():
            self._load(chain_id, kind)

    @property
    def genesis_hash(self) -> str:
        """SHA-256 of the genesis configuration: what two nodes compare to know they judge
        under one configuration (a store's copy is only as trustworthy as the store)."""
        return compute_hash(self.context.genesis())

    @classmethod
    def open(cls, store: Store) -> Ledger:
        """Reopen a store under the genesis configuration it records.

        Raises:
            UsageError: the store records no genesis, or an unusable one.
        """
        recorded = store.get_meta(_GENESIS_KEY)
        if recorded is None:
            raise UsageError("store", "the store records no genesis configuration")
        try:
            document = decode_json_object(recorded)
        except Rejected as exc:
            raise UsageError("store", f"the recorded genesis does not decode: {exc}") from None
        return cls(store, ChainContext.from_genesis(document))

    @classmethod
    def replay(cls, store: Store) -> Ledger:
        """Re-verify ``store`` from genesis into memory, writing nothing to it.

        What ``iome ledger verify`` runs: a node syncing the same blocks from genesis would
        reach the returned ledger's state, and its evidence (chains.md).

        Raises:
            UsageError: the store records no usable genesis or an unknown chain kind.
            Rejected: IOME-BLK-012 naming the first stored block that no longer verifies.
        """
        copy = MemoryStore()
        genesis = store.get_meta(_GENESIS_KEY)
        if genesis is None:
            raise UsageError("store", "the store records no genesis configuration")
        copy.set_meta(_GENESIS_KEY, genesis)
        for chain_id in store.chain_ids():
            kind = store.get_meta(_kind_key(chain_id))
            if kind is not None:
                copy.set_meta(_kind_key(chain_id), kind)
            for stored in store.blocks(chain_id):
                try:
                    copy.append(stored)
                except UsageError as exc:  # an index edited out of order or with duplicates
                    raise Rejected(
                        "IOME-BLK-012",
                        f"stored block {stored.height} of chain {chain_id}: {exc.message}",
                    ) from exc
        for kind, body in store.evidence():
            copy.record_evidence(kind, body)
        return cls.open(copy)

    def _stored_chains(self) -> list[tuple[str, str]]:
        found = []
        for chain_id in self.store.chain_ids():
            kind = self.store.get_meta(_kind_key(chain_id))
            if kind not in _KINDS:
                raise UsageError("store", f"chain {chain_id} has unknown kind {kind!r}")
            found.append((chain_id, kind))
        return sorted(found)

    def _load(self, chain_id: str, kind: str) -> None:
        state = self.chains[chain_id] = ChainState(chain_id, kind, self.context.directory)
        for stored in self.store.blocks(chain_id):
            try:
                block = check_stored_block(
                    stored.body,
                    stored.block_hash,
                    lambda block: apply_block(
                        state, block, self.context, signatures=self.signatures
                    ),
                    stored.height,
                    stored.tx_ids,
                )
            except IoMEError as exc:
                exc.add_note(f"loading block {stored.height} of chain {chain_id} from the store")
                raise
            self._compare_anchors(state, block)
        self._persist_evidence(state.evidence)

    def add_chain(self, chain_id: str, kind: str) -> ChainState:
        """Declare a chain this node keeps; its kind decides which transactions it holds."""
        if kind not in _KINDS:
            raise UsageError("store", f"unknown chain kind {kind!r}; expected one of {_KINDS}")
        existing = self.chains.get(chain_id)
        if existing is not None:
            if existing.kind != kind:
                raise UsageError("store", f"chain {chain_id} is already a {existing.kind} chain")
            return existing
        self.store.set_meta(_kind_key(chain_id), kind)
        state = self.chains[chain_id] = ChainState(chain_id, kind, self.context.directory)
        return state

    def submit(self, block: Block, chain_id: str | None = None) -> None:
        """Apply and persist a block atomically, or refuse it leaving state and store unchanged.

        ``chain_id`` is the chain the block is offered to (default: the one it names), so a
        block replayed onto another chain is judged there and refused (IOME-BLK-005).
        Evidence found while refusing (equivocation, forks) is persisted even so.

        Raises:
            Rejected: the id of the first rule the block breaks (IOME-ENC-002 when its encoding
                exceeds ``MAX_MESSAGE_BYTES``).
        """
        target = block.chain_id if chain_id is None else chain_id
        state = self.chains.get(target)
        if state is None:
            raise UsageError("store", f"this node keeps no chain {target!r}")
        body = canonical_json(block.model_dump(mode="json"))
        # A block built in-process never passed the wire's size check; one too large to send
        # would also be one the store cannot read back on reopen.
        check_message_size(body)
        known_evidence = len(state.evidence)
        stored = StoredBlock(
            target, block.height, block.block_hash, body, tuple(tx.tx_id for tx in block.txs)
        )
        try:
            apply_block(
                state,
                block,
                self.context,
                commit=lambda: self.store.append(stored),
                signatures=self.signatures,
            )
            self._compare_anchors(state, block)
        finally:
            self._persist_evidence(state.evidence[known_evidence:])

    def judge_tx(self, tx: SignedModel, chain_id: str, block_time: int) -> None:
        """Judge ``tx`` as the only transaction of ``chain_id``'s next block at ``block_time``,
        leaving the chain unchanged; evidence it reveals (an equivocation) is kept, as
        :meth:`submit` keeps it.

        Raises:
            Rejected: the first rule ``tx`` breaks. UsageError: an unknown chain.
        """
        state = self.chains.get(chain_id)
        if state is None:
            raise UsageError("store", f"this node keeps no chain {chain_id!r}")
        known_evidence = len(state.evidence)
        journal = Journal()
        try:
            apply_tx(state, tx, self.context, block_time, journal)
        finally:
            journal.rollback()
            self._persist_evidence(state.evidence[known_evidence:])

    def _compare_anchors(self, state: ChainState, block: Block) -> None:
        """IOME-ANC-005 as evidence: compare the block with what the other chains say of it.

        The evidence is kept with the public chain that holds the Anchor, whichever of the two
        blocks arrived last, so nodes that synced in different orders hold the same state.
        """
        if state.kind == CHAIN_PUBLIC:
            for anchor in (tx for tx in block.txs if isinstance(tx, Anchor)):
                child = self.chains.get(anchor.chain_id)
                if child is not None and child.kind == CHAIN_CHILD:
                    ref = child.get_block_ref(anchor.height)
                    if ref is not None:
                        self._record(state, _anchor_evidence(anchor, ref.header))
        elif state.kind == CHAIN_CHILD:
            header = state.blocks[-1].header
            for public in self.chains.values():
                held = public.anchors_at.get((state.chain_id, block.height))
                if public.kind == CHAIN_PUBLIC and held is not None:
                    self._record(public, _anchor_evidence(held, header))

    def _record(self, state: ChainState, found: list[Evidence]) -> None:
        state.evidence.extend(found)
        self._persist_evidence(found)

    def _persist_evidence(self, evidence: list[Evidence]) -> None:
        """Store evidence once: reopening a store finds the same evidence again."""
        for item in evidence:
            row = (item.req_id, _evidence_body(item))
            if row not in self._known_evidence:
                self._known_evidence.add(row)
                self.store.record_evidence(*row)

    def blocks(self, chain_id: str) -> Iterator[Block]:
        for stored in self.store.blocks(chain_id):
            yield Block.parse(decode_json_object(stored.body))

    def transactions(self, chain_id: str, tx_type: str | None = None) -> Iterator[SignedModel]:
        for block in self.blocks(chain_id):
            for tx in block.txs:
                if tx_type is None or tx.tx_type == tx_type:
                    yield tx

    def evidence(self) -> list[tuple[str, bytes]]:
        return self.store.evidence()


def _anchor_evidence(anchor: Anchor, child_header: dict[str, object]) -> list[Evidence]:
    try:
        check_anchor_head(anchor, str(child_header["block_hash"]))
    except Rejected:
        return [Evidence("IOME-ANC-005", anchor.model_dump(mode="json"), dict(child_header))]
    return []


def _evidence_body(evidence: Evidence) -> bytes:
    return canonical_json({"first": evidence.first, "second": evidence.second})
