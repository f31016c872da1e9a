"""The simulated network: the authority, the certified infrastructure and one node.

Everything the rounds need to publish: who produces which chain's blocks, which managers and
backups run which child chains, and the :class:`~iome_ref.node.Node` (over SQLite or memory)
all chains land in. Only the node changes chain state: blocks reach it through
:meth:`Network.publish`, and the verifier quorum's claims through ``node.cosign``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from iome_ref.chain.context import ChainContext, TravelTimes
from iome_ref.chain.ledger import Ledger
from iome_ref.chain.store import Store
from iome_ref.constants import (
    CHAIN_CHILD,
    CHAIN_CONSORTIUM,
    CHAIN_PUBLIC,
    MAX_BLOCK_TXS,
    MAX_MESSAGE_BYTES,
    ROLE_BACKUP,
    ROLE_DISTRIBUTION,
    ROLE_MANAGER,
    ROLE_PREDICTOR,
    ROLE_PRODUCER,
    ROLE_STATION,
    ROLE_VERIFIER,
)
from iome_ref.crypto import KeyPair
from iome_ref.encoding import canonical_json, plain_canonical_json
from iome_ref.models import SignedModel
from iome_ref.node import Actor, Node
from iome_ref.roles.authority import Authority
from iome_ref.roles.manager import BlockProducer, ChainManager
from iome_ref.roles.randomness import RandomSource

__all__ = [
    "PUBLIC",
    "VERIFIERS",
    "VERIFIER_NAMES",
    "Network",
    "build_network",
    "compute_encoded_size",
]

PUBLIC = "public"
VERIFIERS = "verifiers"
#: The verifier quorum; the first also produces the consortium chain's blocks.
VERIFIER_NAMES: Final = ("verifier-1", "verifier-2", "verifier-3")
_YEAR = 365 * 24 * 3600


@dataclass
class Network:
    """The certified infrastructure of a simulation and the node it writes to."""

    seed: int
    authority: Authority
    node: Node
    producer: BlockProducer
    consortium_producer: BlockProducer
    managers: dict[str, ChainManager]
    backups: dict[str, ChainManager]
    keys: dict[str, KeyPair] = field(default_factory=dict)

    def key(self, name: str) -> KeyPair:
        return _derive_key(self.keys, self.seed, name)

    @property
    def ledger(self) -> Ledger:
        """The node's chains, to read (the audit, the actors' view of the chains)."""
        return self.node.ledger

    def in_office(self, chain_id: str) -> ChainManager:
        """Whoever runs the child chain now: the manager, or the backup once it took over."""
        backup = self.backups[chain_id]
        return backup if backup.active else self.managers[chain_id]

    def publish(self, chain_id: str, txs: Sequence[SignedModel], time: int) -> None:
        """Seal ``txs`` into the chain's next block and submit it; any refusal is a bug."""
        if not txs:
            return
        state = self.node.get_chain(chain_id)
        if state.kind == CHAIN_PUBLIC:
            producer = self.producer
        elif state.kind == CHAIN_CONSORTIUM:
            producer = self.consortium_producer
        else:
            producer = self.in_office(chain_id)
        for batch in _batches(txs):
            latest = max(tx.time for tx in batch)
            self.node.apply_block(producer.seal(state, batch, max(time, latest)), chain_id)


def _derive_key(keys: dict[str, KeyPair], seed: int, name: str) -> KeyPair:
    """The key of ``name`` in the run of ``seed``, derived once and kept in ``keys``."""
    if name not in keys:
        keys[name] = KeyPair.derive("sim", seed, name)
    return keys[name]


#: Room left in a block for its header and JSON punctuation.
_BLOCK_OVERHEAD = 4096


def compute_encoded_size(tx: SignedModel) -> int:
    """Bytes of ``tx``'s RFC 8785 JSON, as a block carries it.

    RFC 8785 writes an object as its members, sorted and comma-joined, in braces, so the
    length of the whole is that of its signed members (the canonical bytes ``tx`` carries,
    computed once for its tx id) plus that of its unsigned ones (tx id, signatures), less one
    pair of braces and plus the comma between: ``len(signed) + len(unsigned) - 1``. Only the
    few unsigned members are encoded again, not the whole transaction: from the validated
    values when they are plain data (hex strings, mostly; ``plain_canonical_json``), which
    ``model_dump`` gives back unchanged, else through ``model_dump`` (a Trip's verifier
    signatures are models). Tested on every transaction type a run writes.
    """
    names = tx.unsigned_fields()
    values = tx.__dict__
    unsigned = plain_canonical_json({name: values[name] for name in names})
    if unsigned is None:
        unsigned = canonical_json(tx.model_dump(mode="json", include=set(names)))
    return len(tx.canonical_bytes()) + len(unsigned) - 1


def _batches(txs: Sequence[SignedModel]) -> list[list[SignedModel]]:
    """Split ``txs`` (order kept) into blocks within MAX_MESSAGE_BYTES and MAX_BLOCK_TXS.

    A block is a message like any other (IOME-ENC-002): a producer that sealed a larger one
    would write blocks no peer, and no reopened store, can read.
    """
    batches: list[list[SignedModel]] = [[]]
    size = _BLOCK_OVERHEAD
    for tx in txs:
        encoded = compute_encoded_size(tx) + 1
        if batches[-1] and (
            size + encoded > MAX_MESSAGE_BYTES or len(batches[-1]) == MAX_BLOCK_TXS
        ):
            batches.append([])
            size = _BLOCK_OVERHEAD
        batches[-1].append(tx)
        size += encoded
    return batches


def build_network(
    seed: int,
    store: Store,
    *,
    t0: int,
    station_ids: Sequence[str],
    child_chains: Sequence[str],
    travel_time: TravelTimes,
    rng: RandomSource,
    time_bucket_s: int,
    keys: dict[str, KeyPair] | None = None,
) -> Network:
    """Certify the infrastructure for a year from ``t0`` and open the node's chains; the
    node's verifiers draw Trip nonces from ``rng`` and publish in buckets of
    ``time_bucket_s``.

    ``keys``: the keys another network of the same ``seed`` derived (``Network.keys``), shared
    rather than derived again: a name's key is a function of seed and name alone, and key
    pairs are immutable values (the baseline run of ``iome simulate`` reuses the price-aware
    run's). The dict is extended with this network's new keys.
    """
    keys = {} if keys is None else keys

    def key(name: str) -> KeyPair:
        return _derive_key(keys, seed, name)

    authority = Authority(key("authority"), "iome-ca", t0, t0 + 2 * _YEAR)

    def certify(name: str, role: str, subject: str | None = None) -> None:
        authority.certify(subject or name, role, key(name).public_hex, t0, t0 + _YEAR)

    for station in station_ids:
        certify(station, ROLE_STATION)
    for name in VERIFIER_NAMES:
        certify(name, ROLE_VERIFIER)
    certify(VERIFIER_NAMES[0], ROLE_PRODUCER)
    certify("grid", ROLE_DISTRIBUTION)
    certify("predictor", ROLE_PREDICTOR)
    certify("producer", ROLE_PRODUCER)
    managers: dict[str, ChainManager] = {}
    backups: dict[str, ChainManager] = {}
    for chain_id in child_chains:
        for suffix, role, pool in (
            ("manager", ROLE_MANAGER, managers),
            ("backup", ROLE_BACKUP, backups),
        ):
            name = f"{chain_id}-{suffix}"
            certify(name, role, chain_id)
            certify(name, ROLE_PRODUCER)
            pool[chain_id] = ChainManager(chain_id, key(name), active=suffix == "manager")
    # The genesis list predates the first round's, which the authority publishes on chain.
    context = ChainContext(authority.directory(t0 - 3600), travel_time)
    chains = {PUBLIC: CHAIN_PUBLIC, VERIFIERS: CHAIN_CONSORTIUM}
    chains |= dict.fromkeys(child_chains, CHAIN_CHILD)
    verifiers = {name: Actor(ROLE_VERIFIER, name, key(name)) for name in VERIFIER_NAMES}
    node = Node.with_context(
        context, chains, store=store, rng=rng, actors=verifiers, time_bucket_s=time_bucket_s
    )
    return Network(
        seed,
        authority,
        node,
        BlockProducer(key("producer")),
        BlockProducer(key(VERIFIER_NAMES[0])),
        managers,
        backups,
        keys,
    )
