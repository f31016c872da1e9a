"""Issue 16's table, measured the same way on any checkout: a script, not a test.

Uses only APIs that predate issue 16 (builders, check_stateless, apply_block, on_claim,
crypto.verify), so the same file measures the code before and after:

    cd CHECKOUT && PYTHONPATH=. /path/to/.venv/bin/python /path/to/issue16_table.py [ROUNDS]

(the venv needs PyNaCl for the bound). Each row: the item and libsodium's raw verify of a
fresh key, interleaved round by round (order alternating), CPU time, medians; the fraction
is signatures_per_op * bound / item (verifies only: a trip's two co-signatures are not
counted, as in the issue's table). Fresh keys and freshly parsed objects, one per call.
"""

from __future__ import annotations

import itertools
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from nacl.bindings import crypto_sign_open

from iome_ref.chain.state import ChainState
from iome_ref.chain.transition import apply_block
from iome_ref.constants import ZERO_HASH
from iome_ref.crypto import KeyPair, signing_message, verify
from iome_ref.models import Block
from iome_ref.roles.verifier import Verifier, VerifierQuorum
from iome_ref.rules import check_stateless
from iome_ref.vectors.builders import Builder
from iome_ref.vectors.world import T0, build_world

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 201
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


def measure(item: Callable[[], object], sigs: int, n: int) -> tuple[float, float]:
    bound_next = cycle(raw(n + 2, f"bound-{id(item)}"))

    def bound() -> None:
        pk, sig, msg = bound_next()
        crypto_sign_open(sig + msg, pk)

    samples: dict[str, list[float]] = {"item": [], "bound": []}
    calls = {"item": item, "bound": bound}
    for r in range(n):
        for name in ("item", "bound") if r % 2 == 0 else ("bound", "item"):
            t = time.process_time()
            calls[name]()
            samples[name].append(time.process_time() - t)
    item_s, bound_s = (statistics.median(samples[k]) for k in ("item", "bound"))
    return sigs * bound_s / item_s, item_s


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
    trips = []
    for i in range(n + 2):
        src = B.presence("source", "st-a", f"i16t-{i}/otk-1", TRIP_T + i)
        dst = B.presence("destination", "st-b", f"i16t-{i}/otk-2", TRIP_T + i + 1500)
        trips.append((parsed(B.claim(src, dst, TRIP_T + i + 1510)), parsed(src), parsed(dst)))
    next_trip = cycle(trips)
    verifiers = [Verifier(v, WORLD.key(v)) for v in ("verifier-1", "verifier-2", "verifier-3")]
    quorum = VerifierQuorum(verifiers, 2, ctx.travel, WORLD.directory)
    state = ChainState("verifiers", "consortium", WORLD.directory)
    rng = random.Random(16)

    def extract() -> None:
        claim, src, dst = next_trip()
        quorum.on_claim(claim, src, dst, state, claim.timestamp, rng)
        quorum.take_consortium_txs()

    rows.append(("trip extraction (on_claim, 6 verifies), fresh keys", extract, 6, n))
    print(f"checkout {os.getcwd()}  rounds {n}  load {os.getloadavg()[0]:.1f}")
    for title, item, sigs, rounds in rows:
        fraction, seconds = measure(item, sigs, rounds)
        print(f"{title:52s} {fraction:5.2f}  ({seconds * 1e6:8.1f} us)")
    print(f"load after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
