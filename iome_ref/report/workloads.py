"""Benchmark workloads with fresh one-time keys, and the interleaved-median measurement.

Shared by ``tests/bench`` (pytest-benchmark) and ``iome bench``: both build the same
workloads here and compare them with the same routine, so the figures they print agree.

Why these choices (issue 16, "Benchmarks that tell the truth"):

- Fresh keys and fresh objects. Every one-time key is used once, so a benchmark that verifies
  one cached key over and over measures a cost no verifier pays. Each workload holds a pool of
  objects, each with keys never seen before in the process and each parsed anew from its wire
  data (no tx id carried over from its construction); one call consumes the next object.
- The bound is the fastest well-kept raw Ed25519 verify available, measured in the same run:
  libsodium's (PyNaCl), over fresh keys too. A fraction of the bound is
  ``signatures_per_op * bound_median / item_median``: 1.0 when an item costs exactly its
  signature checks.
- Interleaved medians. The items are timed round by round, alternating their order, and
  compared by median: load on a shared machine then moves every item alike, and one preempted
  sample does not move a median (means swing 2.5x under load here).
"""

from __future__ import annotations

import itertools
import multiprocessing
import random
import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Final, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair

from iome_ref.chain.parallel import SignatureChecker
from iome_ref.chain.state import ChainState
from iome_ref.chain.transition import apply_block
from iome_ref.constants import CHAIN_CONSORTIUM, CHAIN_PUBLIC, ROLE_STATION, ZERO_HASH
from iome_ref.crypto import KeyPair, signing_message, verify
from iome_ref.errors import UsageError
from iome_ref.models import Block, Presence, SignedModel, TripClaim
from iome_ref.roles.verifier import Verifier, VerifierQuorum
from iome_ref.rules import check_stateless
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import T0, World, build_world

__all__ = [
    "BOUND",
    "SIGN_BOUND",
    "STATELESS_TYPES",
    "Workload",
    "block_application",
    "certificate_check",
    "certificate_check_new_list",
    "fractions_of_bound",
    "measure_interleaved",
    "raw_sign_sodium",
    "raw_verify_batch",
    "raw_verify_openssl",
    "raw_verify_sodium",
    "stateless_check",
    "strict_verify",
    "trip_extraction",
    "trip_extraction_batch",
]

#: Name of the bound among a measurement's items.
BOUND: Final = "raw_verify_sodium"
#: Name of the raw signing cost among a measurement's items.
SIGN_BOUND: Final = "raw_sign_sodium"
#: The seed of the benchmark world (certificates of stations, verifiers, producer).
WORLD_SEED: Final = 16
#: A claim's time in the world: st-a -> st-b takes at least 1,200 s in its road table.
_TRIP_T: Final = T0 + 86_400 + 100
_T = TypeVar("_T")


@dataclass(frozen=True)
class Workload:
    """One benchmarked operation: ``run`` does it once, on the next fresh object of its pool.

    ``signatures_per_op`` is how many Ed25519 verifications the operation needs at least;
    ``size`` how many fresh objects the pool holds (calls beyond it reuse objects, whose keys
    are then no longer fresh).
    """

    name: str
    run: Callable[[], object]
    signatures_per_op: int
    size: int
    description: str
    #: Ed25519 signatures the operation makes (a trip's co-signatures); their raw cost is part
    #: of its bound, measured by :func:`raw_sign_sodium`.
    signs_per_op: int = 0
    #: Operations one ``run`` performs (batches): medians are divided by it.
    ops_per_run: int = 1
    #: Stops the worker processes of a parallel workload; call when done measuring.
    close: Callable[[], None] = lambda: None


def measure_interleaved(
    items: Mapping[str, Callable[[], object]],
    rounds: int,
    *,
    timer: Callable[[], float] = time.process_time,
) -> dict[str, float]:
    """Median seconds per call of each item, the items timed one call each, round by round.

    The order alternates every round (forward, then reversed), so no item always runs right
    after the same neighbour. ``timer`` is CPU time by default: other processes on the
    machine then slow the process less than its wall clock; pass ``time.perf_counter`` for
    work done in other processes (the parallel workloads).

    Raises:
        UsageError: no items, or fewer than one round.
    """
    if not items or rounds < 1:
        raise UsageError("bench", "measure_interleaved needs items and at least one round")
    names = list(items)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        order = names if round_index % 2 == 0 else names[::-1]
        for name in order:
            call = items[name]
            started = timer()
            call()
            samples[name].append(timer() - started)
    return {name: statistics.median(values) for name, values in samples.items()}


def fractions_of_bound(
    medians: Mapping[str, float],
    workloads: Mapping[str, Workload],
    bound: str = BOUND,
    sign_bound: str = SIGN_BOUND,
) -> dict[str, float]:
    """Per workload, its raw signature cost over its cost: ``(signatures_per_op *
    medians[bound] + signs_per_op * medians[sign_bound]) / (medians[name] / ops_per_run)``.

    1.0 means the operation costs exactly the raw Ed25519 verifications (and signatures) it
    needs. Workloads that verify no signature are left out. When the signing bound was not
    measured, signatures made are not counted (a lower, verify-only fraction): measure
    :func:`raw_sign_sodium` beside the items to count them.
    """
    fractions = {}
    for name, work in workloads.items():
        if not work.signatures_per_op or medians.get(name, 0) <= 0:
            continue
        raw = work.signatures_per_op * medians[bound]
        raw += work.signs_per_op * medians.get(sign_bound, 0.0)
        fractions[name] = raw / (medians[name] / work.ops_per_run)
    return fractions


def _cycle(pool: Sequence[_T]) -> Callable[[], _T]:
    """The next item of ``pool`` on every call, starting over after the last."""
    items: Iterator[_T] = itertools.cycle(pool)
    return lambda: next(items)


def _fresh_key(label: str, index: int) -> KeyPair:
    return KeyPair.derive("bench", label, index)


def _as_received(tx: SignedModel) -> SignedModel:
    """The object a node holds after parsing ``tx`` from the wire: nothing carried over."""
    return type(tx).parse(tx.model_dump(mode="json"))


def _raw_triples(size: int, label: str) -> list[tuple[bytes, bytes, bytes]]:
    triples = []
    for index in range(size):
        key = _fresh_key(label, index)
        message = signing_message("ESDP", f"{index:064x}")
        triples.append(
            (key.public_bytes, bytes.fromhex(key.sign("ESDP", f"{index:064x}")), message)
        )
    return triples


def raw_verify_sodium(size: int) -> Workload:
    """The bound: libsodium's ``crypto_sign_open`` on a fresh key, no IoME check around it."""
    triples = _raw_triples(size, "raw-sodium")
    following = _cycle(triples)

    def run() -> object:
        public_key, signature, message = following()
        return crypto_sign_open(signature + message, public_key)

    return Workload(BOUND, run, 1, size, "raw Ed25519 verify, libsodium (PyNaCl), fresh key")


def raw_sign_sodium(size: int) -> Workload:
    """libsodium's ``crypto_sign`` with a fresh key: the raw cost of making one signature."""
    secrets = []
    for index in range(size):
        seed = _fresh_key("raw-sign", index).private.private_bytes_raw()
        secrets.append((crypto_sign_seed_keypair(seed)[1], f"{index:064x}".encode()))
    following = _cycle(secrets)

    def run() -> object:
        secret, message = following()
        return crypto_sign(message, secret)

    return Workload(SIGN_BOUND, run, 0, size, "raw Ed25519 sign, libsodium (PyNaCl)")


def raw_verify_openssl(size: int) -> Workload:
    """``cryptography``'s (OpenSSL) verify on a fresh key, the key loaded inside the call."""
    triples = _raw_triples(size, "raw-openssl")
    following = _cycle(triples)

    def run() -> object:
        public_key, signature, message = following()
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
        return None

    return Workload(
        "raw_verify_openssl", run, 1, size, "raw Ed25519 verify, cryptography (OpenSSL), fresh key"
    )


def strict_verify(size: int, *, fresh: bool = True) -> Workload:
    """``iome_ref.crypto.verify`` (every IOME-SIG check) on fresh keys, or on one seen key."""
    quads = []
    for index in range(size if fresh else 1):
        key = _fresh_key("strict", index)
        payload = f"{index:064x}"
        quads.append((key.public_hex, key.sign("ESDP", payload), "ESDP", payload))
    following = _cycle(quads)

    def run() -> object:
        public_key, signature, tag, payload = following()
        verify(public_key, signature, tag, payload)
        return None

    name = "strict_verify_fresh_key" if fresh else "strict_verify_seen_key"
    return Workload(name, run, 1, size, "iome_ref.crypto.verify: IOME-SIG-001..008")


def _world() -> tuple[World, Builder]:
    world = build_world(WORLD_SEED)
    return world, Builder(world)


def _one_of_each(b: Builder, index: int) -> dict[str, SignedModel]:
    """One valid object of every transaction type, its one-time and issuer keys fresh."""
    t = T0 + 3600 + index
    source = b.presence("source", "st-a", f"bench-{index}-otk-1", _TRIP_T + index)
    destination = b.presence("destination", "st-b", f"bench-{index}-otk-2", _TRIP_T + index + 1500)
    trip = b.trip(
        start=T0 + 7200 + 60 * index,
        end=T0 + 9000 + 60 * index,
        verifiers=("verifier-1", "verifier-2"),
    )
    anchor = b.anchor(index, f"{index:064x}", None, t, manager=f"bench-{index}-manager")
    return {
        "ESDP": b.esdp(f"bench-{index}-home", t),
        "IssuerRegistration": b.registration(f"bench-{index}-grid", t),
        "EPS": b.eps(f"{index:064x}", f"bench-{index}-grid", t),
        "Presence": source,
        "TripClaim": b.claim(source, destination),
        "Trip": trip,
        "ChargeSession": b.charge(vehicle_key=f"bench-{index}-otk-c", start=T0 + 7200 + index),
        "ODMatrix": b.od_matrix([trip], predictor_pk=b.key(f"bench-{index}-predictor").public_hex),
        "Anchor": anchor,
        "DataCommitment": b.commitment(f"bench-{index}-home", t=t),
        "ExternalRecord": b.external(f"bench-{index}-a", f"bench-{index}-b", t=t),
        "ManagerHandover": b.handover(
            f"{index:064x}", t, old=f"bench-{index}-old", new=f"bench-{index}-new"
        ),
    }


#: Every transaction type a stateless benchmark covers (RevocationList: its DER signature is
#: checked by the PKI layer, not by Ed25519 of the tx, so it has no fraction of the bound).
STATELESS_TYPES: Final = (
    "ESDP",
    "IssuerRegistration",
    "EPS",
    "Presence",
    "TripClaim",
    "Trip",
    "ChargeSession",
    "ODMatrix",
    "Anchor",
    "DataCommitment",
    "ExternalRecord",
    "ManagerHandover",
)


def stateless_check(size: int) -> dict[str, Workload]:
    """``check_stateless`` (tx id, field rules, every signature; no certificates) per type,
    each call on a freshly parsed object with fresh keys."""
    _, b = _world()
    pools: dict[str, list[SignedModel]] = {name: [] for name in STATELESS_TYPES}
    for index in range(size):
        for name, tx in _one_of_each(b, index).items():
            pools[name].append(_as_received(tx))
    workloads = {}
    for name, pool in pools.items():
        following = _cycle(pool)
        signatures = len(pool[0].SIGNATURES) + len(getattr(pool[0], "verifier_sigs", ()))

        def run(following: Callable[[], SignedModel] = following) -> object:
            return check_stateless(following())

        workloads[f"stateless_{name}"] = Workload(
            f"stateless_{name}", run, signatures, size, f"check_stateless of one {name}"
        )
    return workloads


def certificate_check(size: int) -> Workload:
    """``CertificateDirectory.check_certified`` of station st-a (a path of four certificates
    and a revocation list per link) at a new time on every call, as for each presence it
    signs: after the first call, one lookup of the key's path windows. No signature: its
    figure is calls per second beside the raw verify's."""
    world, _ = _world()
    directory = world.directory
    station = world.key("st-a").public_hex
    times = _cycle([_TRIP_T + index for index in range(size)])

    def run() -> object:
        return directory.check_certified(station, ROLE_STATION, times(), "st-a")

    return Workload(
        "certificate_check", run, 0, size, "check_certified of a station key at a new time"
    )


def certificate_check_new_list(size: int) -> Workload:
    """:func:`certificate_check`'s call on a directory that has just taken a new revocation
    list (the root's, renewed): a new directory judges each key's paths at its first check,
    as a chain does for every station after every RevocationList it accepts. The hard case
    beside :func:`certificate_check`'s usual one."""
    world, _ = _world()
    root = world.authorities["iome-ca"]
    directories = _cycle(
        [
            world.directory.with_revocation_list(root.crl(T0 + 1 + index, _TRIP_T + 86_400))
            for index in range(size)
        ]
    )
    station = world.key("st-a").public_hex

    def run() -> object:
        return directories().check_certified(station, ROLE_STATION, _TRIP_T, "st-a")

    return Workload(
        "certificate_check_new_list",
        run,
        0,
        size,
        "check_certified of a station key, the first on a directory with a new revocation list",
    )


def block_application(size: int, txs: int = 100) -> Workload:
    """``apply_block`` of a public block of ``txs`` ESDPs, each by a fresh home key, on a fresh
    chain (header, producer certificate, every transaction's placement and rules)."""
    world, b = _world()
    producer = world.key("producer")
    blocks = []
    for index in range(size):
        esdps = [b.esdp(f"bench-b{index}-home-{i}", T0 + 3600 + i) for i in range(txs)]
        block = Block.create(
            producer,
            chain_id="public",
            height=0,
            prev_hash=ZERO_HASH,
            time=T0 + 5000,
            txs=list(esdps),
        )
        blocks.append(Block.parse(block.model_dump(mode="json")))
    following = _cycle(blocks)
    ctx = world.context()

    def run() -> object:
        block = following()
        state = ChainState("public", CHAIN_PUBLIC, world.directory)
        apply_block(state, block, ctx)
        return state

    return Workload(
        f"apply_block_{txs}_esdps", run, txs + 1, size, f"apply_block of {txs} ESDPs, fresh keys"
    )


def trip_extraction(size: int) -> Workload:
    """``VerifierQuorum.on_claim`` on fresh presences and claim (6 verifies: two per presence,
    two for the claim) and the Trip co-signed by 2 of 3 verifiers, then the batch handed over."""
    world, b = _world()
    trips: list[tuple[TripClaim, Presence, Presence]] = []
    for index in range(size):
        t1 = _TRIP_T + index
        source = b.presence("source", "st-a", f"bench-t{index}-otk-1", t1)
        destination = b.presence("destination", "st-b", f"bench-t{index}-otk-2", t1 + 1500)
        claim = b.claim(source, destination, t1 + 1510)
        trips.append(
            (
                TripClaim.parse(claim.model_dump(mode="json")),
                Presence.parse(source.model_dump(mode="json")),
                Presence.parse(destination.model_dump(mode="json")),
            )
        )
    verifiers = [Verifier(n, world.key(n)) for n in ("verifier-1", "verifier-2", "verifier-3")]
    quorum = VerifierQuorum(verifiers, 2, world.context().travel, world.directory)
    state = ChainState("verifiers", CHAIN_CONSORTIUM, world.directory)
    rng = random.Random(WORLD_SEED)
    following = _cycle(trips)

    def run() -> object:
        claim, source, destination = following()
        trip = quorum.on_claim(claim, source, destination, state, claim.timestamp, rng)
        quorum.take_consortium_txs()
        return trip

    return Workload(
        "trip_extraction", run, 6, size, "VerifierQuorum.on_claim, fresh keys", signs_per_op=2
    )


# --------------------------------------------------------------------------- parallel scaling
#
# Measured with time.perf_counter: the work happens in other processes, which the caller's CPU
# time does not see. Scaling = median of the 1-worker run / median of the n-worker run.


def _raw_verify_chunk(triples: Sequence[tuple[bytes, bytes, bytes]]) -> int:
    """Worker side of :func:`raw_verify_batch`: raw libsodium verifies, no IoME check."""
    for public_key, signature, message in triples:
        crypto_sign_open(signature + message, public_key)
    return len(triples)


def raw_verify_batch(workers: int, batch: int, size: int) -> Workload:
    """The machine's own scaling: ``batch`` raw verifies per run spread over ``workers``
    processes (4 chunks each), on fresh keys; ``size`` runs' worth of keys are built."""
    triples = _raw_triples(batch * size, f"raw-batch-{workers}")
    batches = [triples[i * batch : (i + 1) * batch] for i in range(size)]
    following = _cycle(batches)
    executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    chunk = max(1, -(-batch // (workers * 4)))

    def run() -> object:
        triples = following()
        parts = [triples[i : i + chunk] for i in range(0, len(triples), chunk)]
        return sum(executor.map(_raw_verify_chunk, parts))

    def close() -> None:
        executor.shutdown(wait=True, cancel_futures=True)

    return Workload(
        f"raw_verify_batch_{workers}w",
        run,
        1,
        size,
        f"{batch} raw verifies on {workers} worker process(es)",
        ops_per_run=batch,
        close=close,
    )


def trip_extraction_batch(workers: int, batch: int, size: int) -> Workload:
    """``VerifierQuorum.on_claims`` on ``batch`` fresh claims per run on ``workers`` processes
    (``chain.parallel.SignatureChecker``): the workers run the stateless pipeline of each claim
    and its presences and propose and co-sign its trip; the calling process applies the state
    rules in order as their results come back."""
    world, b = _world()
    claims: list[tuple[TripClaim, Presence, Presence, int]] = []
    for index in range(batch * size):
        t1 = _TRIP_T + index
        source = b.presence("source", "st-a", f"bench-p{workers}-{index}-otk-1", t1)
        destination = b.presence(
            "destination", "st-b", f"bench-p{workers}-{index}-otk-2", t1 + 1500
        )
        claim = b.claim(source, destination, t1 + 1510)
        claims.append(
            (
                TripClaim.parse(claim.model_dump(mode="json")),
                Presence.parse(source.model_dump(mode="json")),
                Presence.parse(destination.model_dump(mode="json")),
                t1 + 1510,
            )
        )
    batches = [claims[i * batch : (i + 1) * batch] for i in range(size)]
    following = _cycle(batches)
    verifiers = [Verifier(n, world.key(n)) for n in ("verifier-1", "verifier-2", "verifier-3")]
    quorum = VerifierQuorum(verifiers, 2, world.context().travel, world.directory)
    state = ChainState("verifiers", CHAIN_CONSORTIUM, world.directory)
    rng = random.Random(WORLD_SEED)
    checker = SignatureChecker(workers, min_parallel_batch=1)

    def run() -> object:
        outcomes = quorum.on_claims(following(), state, rng, checker)
        quorum.take_consortium_txs()
        return outcomes

    return Workload(
        f"trip_extraction_batch_{workers}w",
        run,
        6,
        size,
        f"on_claims of {batch} claims, stateless checks and trips on {workers} worker(s)",
        signs_per_op=2,
        ops_per_run=batch,
        close=checker.close,
    )
