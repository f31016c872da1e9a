"""Issue 16's table, measured the same way on any checkout: a script, not a test.

Uses only APIs that predate issue 16 (builders, check_stateless, apply_block, on_claim,
crypto.verify), so the same file measures the code before and after:

    cd CHECKOUT && PYTHONPATH=. /path/to/.venv/bin/python /path/to/issue16_table.py [ROUNDS]

(the venv needs PyNaCl for the bound). Each row: the item and libsodium's raw verify of a
fresh key, interleaved round by round (order alternating), CPU time, medians; the fraction
is signatures_per_op * bound / item (verifies only: a trip's two co-signatures are not
counted, as in the issue's table; the next row counts them, at libsodium's raw sign
measured in the same rounds). Fresh keys and freshly parsed objects, one per call.

Then trip extraction in batches (``VerifierQuorum.on_claims`` with a
``chain.parallel.SignatureChecker``) on 1 and 2 worker processes, beside raw libsodium
verifies spread the same way (the machine's own scaling), wall clock, interleaved medians;
and, in a separate pass, the CPU time of the calling process and of its workers per claim on
2 workers: the calling process's share bounds the scaling (Amdahl) whatever the load.
Skipped with ``--no-parallel`` (or when the checkout has no batch workloads).

Last, the pieces of a received ESDP (decode, parse, tx id) and a station's certificate
check at a new time, in microseconds; then what IoME costs around the raw Ed25519 calls (the
same operations with libsodium's verify and sign as no-ops).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair

from iome_ref import crypto
from iome_ref.chain.state import ChainState
from iome_ref.chain.transition import apply_block
from iome_ref.constants import ZERO_HASH
from iome_ref.crypto import KeyPair, signing_message, verify
from iome_ref.encoding import decode_json_object
from iome_ref.models import ESDP, Block
from iome_ref.roles.verifier import Verifier, VerifierQuorum
from iome_ref.rules import check_stateless
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import T0, build_world

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
ROUNDS = int(ARGS[0]) if ARGS else 201
PARALLEL = "--no-parallel" not in sys.argv
TRIP_T = T0 + 86_400 + 100
WORLD = build_world(16)
B = Builder(WORLD)


def parsed(tx: Any) -> Any:
    return type(tx).parse(tx.model_dump(mode="json"))


def cycle(items: list[Any]) -> Callable[[], Any]:
    it = itertools.cycle(items)
    return lambda: next(it)


def raw(n: int, label: str) -> list[tuple[bytes, bytes, bytes]]:
    out = []
    for i in range(n):
        key = KeyPair.derive("issue16", label, i)
        out.append(
            (
                key.public_bytes,
                bytes.fromhex(key.sign("ESDP", f"{i:064x}")),
                signing_message("ESDP", f"{i:064x}"),
            )
        )
    return out


def measure(
    item: Callable[[], object], sigs: int, n: int, signs: int = 0
) -> tuple[float, float, float]:
    """(verify-only fraction, fraction counting ``signs`` raw signs too, item seconds)."""
    bound_next = cycle(raw(n + 2, f"bound-{id(item)}"))
    secrets = cycle(
        [
            (crypto_sign_seed_keypair(bytes([i % 256]) * 32)[1], f"{i:064x}".encode())
            for i in range(n + 2)
        ]
    )

    def bound() -> None:
        pk, sig, msg = bound_next()
        crypto_sign_open(sig + msg, pk)

    def sign() -> None:
        secret, msg = secrets()
        crypto_sign(msg, secret)

    calls = {"item": item, "bound": bound, **({"sign": sign} if signs else {})}
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for r in range(n):
        for name in list(calls) if r % 2 == 0 else list(calls)[::-1]:
            t = time.process_time()
            calls[name]()
            samples[name].append(time.process_time() - t)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    item_s, bound_s = medians["item"], medians["bound"]
    with_signs = (sigs * bound_s + signs * medians.get("sign", 0.0)) / item_s
    return sigs * bound_s / item_s, with_signs, item_s


def children_cpu_seconds() -> float:
    """CPU seconds used so far by this process's live child processes (the workers): from
    /proc/PID/schedstat (nanoseconds) where the kernel has it, else /proc/PID/stat (ticks)."""
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                text = stat.read()
            fields = text[text.rindex(")") + 2 :].split()
            if int(fields[1]) != os.getpid():
                continue
            try:
                with open(f"/proc/{pid}/schedstat", encoding="ascii") as schedstat:
                    total += int(schedstat.read().split()[0]) / 1e9
            except OSError:
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError):
            continue
    return total


def parallel_rows(batch: int = 100, size: int = 8, rounds: int = 7) -> None:
    """Trip extraction on 1 vs 2 workers beside raw verifies on 1 vs 2, and the CPU split."""
    from iome_ref.report import workloads  # noqa: PLC0415 - only checkouts that have it

    if not hasattr(workloads, "trip_extraction_batch"):
        print("parallel: this checkout has no batch workloads")
        return
    # One fresh batch per run (objects already judged would carry what they were given).
    size = max(size, rounds)
    works = [
        workloads.trip_extraction_batch(1, batch, size),
        workloads.trip_extraction_batch(2, batch, size),
        workloads.raw_verify_batch(1, 6 * batch, size),
        workloads.raw_verify_batch(2, 6 * batch, size),
    ]
    load = os.getloadavg()[0]
    medians = workloads.measure_interleaved(
        {w.name: w.run for w in works}, rounds, timer=time.perf_counter
    )
    trip = medians["trip_extraction_batch_1w"] / medians["trip_extraction_batch_2w"]
    rawv = medians["raw_verify_batch_1w"] / medians["raw_verify_batch_2w"]
    per_claim = medians["trip_extraction_batch_2w"] / batch * 1e6
    print(
        f"trip extraction, batches of {batch}, 2 workers vs 1 (wall)  {trip:5.2f}x  "
        f"({per_claim:7.1f} us/claim on 2)  raw verify 2 vs 1: {rawv:5.2f}x  "
        f"load {load:.1f}->{os.getloadavg()[0]:.1f}"
    )
    for work in works:
        work.close()
    two = workloads.trip_extraction_batch(2, batch, rounds + 1)
    two.run()  # the workers start (fork) before the measured runs
    mains, kids = [], []
    for _ in range(rounds):
        started, kids_started = time.process_time(), children_cpu_seconds()
        two.run()
        mains.append(time.process_time() - started)
        kids.append(children_cpu_seconds() - kids_started)
    main_s, kids_s = statistics.median(mains), statistics.median(kids)
    share = main_s / (main_s + kids_s)
    print(
        f"  CPU per claim on 2 workers: calling process {main_s / batch * 1e6:6.1f} us, "
        f"workers {kids_s / batch * 1e6:6.1f} us; calling share {share:.3f} "
        f"(caps 2 vs 1 at {2 / (1 + share):.2f}x on 2 idle cores)"
    )
    two.close()


def main() -> None:
    n = ROUNDS
    rows: list[tuple[str, Callable[[], object], int, int]] = []
    seen = KeyPair.derive("issue16", "seen")
    seen_sig = seen.sign("ESDP", "00" * 32)
    rows.append(("strict verify, key seen before",
                 lambda: verify(seen.public_hex, seen_sig, "ESDP", "00" * 32), 1, n))  # fmt: skip
    fresh = [KeyPair.derive("issue16", "fresh", i) for i in range(n + 2)]
    quads = cycle([(k.public_hex, k.sign("ESDP", f"{i:064x}"), f"{i:064x}") for i, k in
                   enumerate(fresh)])  # fmt: skip

    def strict_fresh() -> None:
        pk, sig, payload = quads()
        verify(pk, sig, "ESDP", payload)

    rows.append(("strict verify, fresh key", strict_fresh, 1, n))
    pools: dict[str, list[Any]] = {"ESDP": [], "Presence": [], "TripClaim": [], "ChargeSession": []}
    for i in range(n + 2):
        src = B.presence("source", "st-a", f"i16-{i}/otk-1", TRIP_T + i)
        dst = B.presence("destination", "st-b", f"i16-{i}/otk-2", TRIP_T + i + 1500)
        pools["ESDP"].append(parsed(B.esdp(f"i16-{i}/home", T0 + 3600 + i)))
        pools["Presence"].append(parsed(src))
        pools["TripClaim"].append(parsed(B.claim(src, dst)))
        pools["ChargeSession"].append(
            parsed(B.charge(vehicle_key=f"i16-{i}/otk-c", start=T0 + 7200 + i))
        )
    for name, pool in pools.items():
        following = cycle(pool)
        check = lambda f=following: check_stateless(f())  # noqa: E731
        rows.append((f"stateless check, {name}, fresh keys", check, len(pool[0].SIGNATURES), n))
    rows += received_rows(n)
    blocks = []
    for b in range(12):
        esdps = [B.esdp(f"i16-b{b}-home-{i}", T0 + 3600 + i) for i in range(100)]
        block = Block.create(WORLD.key("producer"), chain_id="public", height=0,
                             prev_hash=ZERO_HASH, time=T0 + 5000, txs=esdps)  # fmt: skip
        blocks.append(Block.parse(block.model_dump(mode="json")))
    next_block = cycle(blocks)
    ctx = WORLD.context()
    rows.append(("apply a block of 100 ESDPs, fresh keys",
                 lambda: apply_block(ChainState("public", "public", WORLD.directory),
                                     next_block(), ctx), 101, 11))  # fmt: skip
    extract = trip_extractor(n, "i16t", "verifiers")
    rows.append(("trip extraction (on_claim, 6 verifies), fresh keys", extract, 6, n))
    report(rows, extract)
    component_rows(n)
    overhead_rows(n)


def trip_extractor(n: int, label: str, chain_id: str) -> Callable[[], None]:
    """One ``VerifierQuorum.on_claim`` per call on the next of ``n + 2`` fresh trips (keys
    labelled ``label``), on a consortium chain of its own, the batch handed over each time."""
    trips = []
    for i in range(n + 2):
        src = B.presence("source", "st-a", f"{label}-{i}/otk-1", TRIP_T + i)
        dst = B.presence("destination", "st-b", f"{label}-{i}/otk-2", TRIP_T + i + 1500)
        trips.append((parsed(B.claim(src, dst, TRIP_T + i + 1510)), parsed(src), parsed(dst)))
    next_trip = cycle(trips)
    verifiers = [Verifier(v, WORLD.key(v)) for v in ("verifier-1", "verifier-2", "verifier-3")]
    quorum = VerifierQuorum(verifiers, 2, WORLD.context().travel, WORLD.directory)
    state = ChainState(chain_id, "consortium", WORLD.directory)
    rng = random.Random(16)

    def extract() -> None:
        claim, src, dst = next_trip()
        quorum.on_claim(claim, src, dst, state, claim.timestamp, rng)
        quorum.take_consortium_txs()

    return extract


def received_rows(n: int) -> list[tuple[str, Callable[[], object], int, int]]:
    """The whole receiving path of a node: wire bytes decoded, parsed and judged, on keys of
    their own (a key another row verified may be cached by a checkout that caches keys)."""
    rows: list[tuple[str, Callable[[], object], int, int]] = []
    received_pools: dict[str, list[Any]] = {"ESDP": [], "Presence": []}
    for i in range(n + 2):
        received_pools["ESDP"].append(B.esdp(f"i16r-{i}/home", T0 + 3600 + i))
        received_pools["Presence"].append(
            B.presence("source", "st-a", f"i16r-{i}/otk-1", TRIP_T + i)
        )
    for name, pool in received_pools.items():
        wire = cycle([json.dumps(tx.model_dump(mode="json")).encode() for tx in pool])
        model = type(pool[0])
        received = lambda w=wire, m=model: check_stateless(m.parse(decode_json_object(w())))  # noqa: E731
        sigs = len(model.SIGNATURES)
        rows.append((f"received {name} (decode, parse, stateless), fresh", received, sigs, n))
    return rows


def component_rows(n: int) -> None:
    """The pieces of a received ESDP and of a presence's certificate, in microseconds (CPU-time
    medians, each interleaved with the bound like the rows above, a fresh object per call):
    what the stop notes name when they say where the time went."""
    esdps = [B.esdp(f"i16c-{i}/home", T0 + 3600 + i) for i in range(n + 2)]
    wires = cycle([json.dumps(tx.model_dump(mode="json")).encode() for tx in esdps])
    texts = cycle([tx.model_dump(mode="json") for tx in esdps])
    fresh = cycle([parsed(tx) for tx in esdps])
    station = WORLD.key("st-a").public_hex
    times = cycle([TRIP_T + i for i in range(n + 2)])
    WORLD.directory.check_certified(station, "station", TRIP_T, "st-a")  # its path, once
    pieces: list[tuple[str, Callable[[], object]]] = [
        ("decode an ESDP's wire bytes (decode_json_object)", lambda: decode_json_object(wires())),
        ("parse an ESDP's decoded JSON (ESDP.parse)", lambda: ESDP.parse(texts())),
        ("tx id of a freshly parsed ESDP (compute_tx_id)", lambda: fresh().compute_tx_id()),
        ("a station's certificate at a new time (check_certified)",
         lambda: WORLD.directory.check_certified(station, "station", times(), "st-a")),
    ]  # fmt: skip
    for title, item in pieces:
        _, _, seconds = measure(item, 1, n)
        print(f"{title:58s} {seconds * 1e6:7.2f} us")


def overhead_rows(n: int) -> None:
    """What IoME costs around the raw Ed25519 calls, in microseconds (CPU-time medians, a
    fresh object per call, not interleaved): the same operations with PyNaCl's verify and
    sign, wrappers included (which the bound pays too), replaced by no-ops. 0.9 of the bound
    leaves 0.11 of a raw verify per signature, ~6.4 us, for everything else. Only a checkout
    whose ``iome_ref.crypto`` calls ``crypto_sign_open`` and ``crypto_sign``."""
    if not (hasattr(crypto, "crypto_sign_open") and hasattr(crypto, "crypto_sign")):
        print("overhead: this checkout does not verify through libsodium")
        return
    items: list[tuple[str, Callable[[], object]]] = []
    for name, make in (
        ("ESDP", lambda i: B.esdp(f"i16o-{i}/home", T0 + 3600 + i)),
        ("Presence", lambda i: B.presence("source", "st-a", f"i16o-{i}/otk-1", TRIP_T + i)),
    ):
        following = cycle([parsed(make(i)) for i in range(n + 2)])
        items.append((f"stateless {name}", lambda f=following: check_stateless(f())))
    extract = trip_extractor(n, "i16o", "verifiers-o")
    items.append(("trip extraction (on_claim)", extract))
    saved = crypto.crypto_sign_open, crypto.crypto_sign
    crypto.crypto_sign_open = lambda signed, _key: signed[64:]  # type: ignore[assignment]
    crypto.crypto_sign = lambda message, _secret: bytes(64) + message  # type: ignore[assignment]
    try:
        for title, item in items:
            samples = []
            for _ in range(n):
                started = time.process_time()
                item()
                samples.append(time.process_time() - started)
            seconds = statistics.median(samples)
            print(f"{'overhead, crypto as no-ops: ' + title:58s} {seconds * 1e6:7.2f} us")
    finally:
        crypto.crypto_sign_open, crypto.crypto_sign = saved


def report(rows: list[tuple[str, Callable[[], object], int, int]], extract: object) -> None:
    print(f"checkout {os.getcwd()}  rounds {ROUNDS}  load {os.getloadavg()[0]:.1f}")
    for title, item, sigs, rounds in rows:
        signs = 2 if item is extract else 0
        fraction, with_signs, seconds = measure(item, sigs, rounds, signs)
        print(f"{title:52s} {fraction:5.2f}  ({seconds * 1e6:8.1f} us)")
        if signs:
            print(f"{'  the same, its 2 co-signatures counted (raw sign)':52s} {with_signs:5.2f}")
    print(f"load after {os.getloadavg()[0]:.1f}")
    if PARALLEL:
        parallel_rows()


if __name__ == "__main__":
    main()
