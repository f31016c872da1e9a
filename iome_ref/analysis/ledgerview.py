"""The observer's view of a public chain: a ledger file, or a simulated run's chain.

What lives here: the read-only reader of a node's ledger.sqlite, the decoding of public
ChargeSessions and Trips (with block height, position and time), ``public_observation`` (keyed
trip ends from sessions whose times meet a Trip's windows), and the ``--simulate`` arguments.

Why the ledger reader opens SQLite itself, read-only, and reads only chains whose recorded kind
is ``public``: a node's ledger.sqlite also holds the verifiers' consortium chain, whose
TripClaims pair the one-time keys. Reading it would hand the observer the answer; the reader
never selects a block of another chain.
"""

from __future__ import annotations

import json
import shlex
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from iome_ref.analysis.inputs import COMPONENT, published_window
from iome_ref.analysis.observations import (
    Observation,
    ObservedSession,
    ObservedTrip,
    ObservedTripEnd,
)
from iome_ref.errors import UsageError

if TYPE_CHECKING:
    from iome_ref.analysis.simtruth import SimulatedRun

__all__ = [
    "PublicBlock",
    "decode_block",
    "parse_sim_args",
    "public_observation",
    "public_records",
    "read_db",
    "run_simulated",
]

#: The store layout this reader understands (iome_ref.chain.store.SCHEMA_VERSION).
_STORE_SCHEMA: Final = "1"


@dataclass(frozen=True)
class PublicBlock:
    height: int
    time: int
    txs: list[dict[str, Any]]


def decode_block(chain: str, height: int, body: bytes) -> PublicBlock:
    try:
        block = json.loads(body)
        return PublicBlock(int(block["height"]), int(block["time"]), list(block["txs"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            COMPONENT, f"chain {chain} block {height}: not a block ({type(exc).__name__})"
        ) from None


def _public_blocks_from_db(path: Path) -> list[PublicBlock]:
    """Blocks of the public chains of a node's store, opened read-only; never another chain."""
    if not path.is_file():
        raise UsageError(COMPONENT, f"{path}: no such ledger file")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise UsageError(COMPONENT, f"{path}: cannot open ({exc})") from None
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("schema_version") != _STORE_SCHEMA:
            raise UsageError(
                COMPONENT,
                f"{path}: store schema_version: expected {_STORE_SCHEMA}, "
                f"found {meta.get('schema_version')!r}",
            )
        public = sorted(
            key.removeprefix("param:chain:").removesuffix(":kind")
            for key, value in meta.items()
            if key.startswith("param:chain:") and key.endswith(":kind") and value == "public"
        )
        if not public:
            raise UsageError(COMPONENT, f"{path}: no chain of kind public in this ledger")
        blocks = [
            decode_block(chain, height, bytes(body))
            for chain in public
            for height, body in conn.execute(
                "SELECT height, body FROM blocks WHERE chain_id = ? ORDER BY height", (chain,)
            )
        ]
    except sqlite3.Error as exc:
        raise UsageError(COMPONENT, f"{path}: not a ledger ({exc})") from None
    finally:
        conn.close()
    return blocks


def public_records(
    blocks: Iterable[PublicBlock],
) -> tuple[list[ObservedSession], list[ObservedTrip]]:
    sessions: list[ObservedSession] = []
    trips: list[ObservedTrip] = []
    for block in blocks:
        for position, tx in enumerate(block.txs):
            kind = tx.get("type") if isinstance(tx, dict) else None
            ref = f"{block.height}.{position}"
            try:
                if kind == "ChargeSession":
                    sessions.append(
                        ObservedSession(
                            session_id=f"s{ref}",
                            station=str(tx["station_id"]),
                            start=int(tx["start_time"]),
                            end=int(tx["end_time"]),
                            energy_wh=int(tx["energy_wh"]),
                            key=str(tx["one_time_pk"]),
                            direction="discharge" if tx["direction"] == "discharge" else "charge",
                            block_height=block.height,
                            block_position=position,
                            block_time=block.time,
                        )
                    )
                elif kind == "Trip":
                    trips.append(
                        ObservedTrip(
                            trip_id=f"t{ref}",
                            origin=str(tx["origin_station_id"]),
                            destination=str(tx["destination_station_id"]),
                            start=int(tx["start_time"]),
                            end=int(tx["end_time"]),
                            bucket_s=int(tx["time_bucket_s"]),
                            block_height=block.height,
                            block_position=position,
                            block_time=block.time,
                        )
                    )
            except (KeyError, TypeError, ValueError) as exc:
                raise UsageError(
                    COMPONENT, f"public block {block.height} tx {position}: bad {kind} ({exc})"
                ) from None
    return sessions, trips


def _coarse_trip(trip: ObservedTrip, resolution_s: int) -> ObservedTrip:
    if resolution_s <= trip.bucket_s:
        return trip
    return replace(
        trip,
        start=trip.start // resolution_s * resolution_s,
        end=-(-trip.end // resolution_s) * resolution_s,
        bucket_s=resolution_s,
    )


def public_observation(
    sessions: Sequence[ObservedSession],
    trips: Sequence[ObservedTrip],
    *,
    source: str,
    resolution_s: int,
    delay_s: int,
    travel_s: Mapping[tuple[str, str], int] | None,
    knowledge: Sequence[str],
    energy_wh: Mapping[tuple[str, str], int] | None = None,
    battery_wh: int | None = None,
) -> Observation:
    """Keyed trip ends from public sessions, as a chain at ``resolution_s`` would show them.

    A session whose end meets the start window of a Trip at its origin is a departure end (the
    vehicle charged under a fresh key, then left); one whose start meets the end window of a
    Trip at its destination is an arrival end (it arrived, then charged). A session may be
    both, or neither. Times are widened to ``resolution_s``.
    """
    from iome_ref.analysis.forced import window_hits  # noqa: PLC0415 - forced imports us

    coarse = [_coarse_trip(t, resolution_s) for t in trips]
    index: dict[str, int] = {}

    def codes(names: Iterable[str]) -> np.ndarray[Any, np.dtype[np.int64]]:
        return np.array([index.setdefault(n, len(index)) for n in names], dtype=np.int64)

    s_station = codes(s.station for s in sessions)
    windows_start = [published_window(s.start, resolution_s) for s in sessions]
    windows_end = [published_window(s.end, resolution_s) for s in sessions]
    s_lo = np.array([w[0] for w in windows_start], dtype=np.int64)
    s_hi = np.array([w[1] for w in windows_start], dtype=np.int64)
    e_lo = np.array([w[0] for w in windows_end], dtype=np.int64)
    e_hi = np.array([w[1] for w in windows_end], dtype=np.int64)
    t_or = codes(t.origin for t in coarse)
    t_de = codes(t.destination for t in coarse)
    t_start = np.array([t.start for t in coarse], dtype=np.int64)
    t_end = np.array([t.end for t in coarse], dtype=np.int64)
    t_b = np.array([t.bucket_s for t in coarse], dtype=np.int64)
    _, dep = window_hits((s_station, e_lo, e_hi), (t_or, t_start - delay_s, t_start + t_b))
    _, arr = window_hits((s_station, s_lo, s_hi), (t_de, t_end - t_b - delay_s, t_end))
    ends: list[ObservedTripEnd] = []
    for k in sorted(set(dep.tolist())):
        s = sessions[k]
        ends.append(
            ObservedTripEnd(
                f"dep:{s.session_id}",
                "departure",
                s.station,
                s.key,
                int(e_lo[k]),
                int(e_hi[k]),
                s.session_id,
            )
        )
    for k in sorted(set(arr.tolist())):
        s = sessions[k]
        ends.append(
            ObservedTripEnd(
                f"arr:{s.session_id}",
                "arrival",
                s.station,
                s.key,
                int(s_lo[k]),
                int(s_hi[k]),
                s.session_id,
            )
        )
    ends.sort(key=lambda e: (e.time_lo, e.kind, e.station, e.end_id))
    return Observation(
        source=source,  # type: ignore[arg-type]
        sessions=tuple(sessions),
        trips=tuple(coarse),
        trip_ends=tuple(ends),
        travel_s=travel_s,
        energy_wh=energy_wh,
        battery_wh=battery_wh,
        resolution_s=resolution_s,
        delay_s=delay_s,
        knowledge=tuple(knowledge),
    )


def read_db(path: Path, *, resolution_s: int = 1, delay_s: int = 0) -> Observation:
    """The observer's view of a ledger file: its public chains only (module docstring).

    No travel-time model: a ledger does not carry the road graph, so only the published times
    constrain the pairing (stated in ``knowledge``).
    """
    sessions, trips = public_records(_public_blocks_from_db(path))
    return public_observation(
        sessions,
        trips,
        source="db",
        resolution_s=resolution_s,
        delay_s=delay_s,
        travel_s=None,
        knowledge=(
            "reads only the ledger's public chains (ChargeSession, Trip; block height, "
            "position and time)",
            "no road graph: travel times unconstrained",
        ),
    )


# --- simulated run ---------------------------------------------------------------------------

_SIM_OPTIONS: Final = {
    "--seed": "seed",
    "--evs": "evs",
    "--stations": "stations",
    "--homes": "homes",
    "--rounds": "rounds",
    "--regions": "regions",
    "--round-hours": "round_s",
    "--time-bucket": "time_bucket_s",
    "--participation": "participation",
    "--fleet-share": "fleet_share",
}


def parse_sim_args(text: str) -> dict[str, Any]:
    """``--evs 100 --rounds 4 ...`` as SimulationConfig fields (``--round-hours`` in hours,
    ``--time-bucket`` the Trips' bucket in seconds: 1 publishes exact times)."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise UsageError(COMPONENT, f"--simulate: cannot split {text!r} ({exc})") from None
    out: dict[str, Any] = {}
    it = iter(words)
    for word in it:
        name, eq, value = word.partition("=")
        field = _SIM_OPTIONS.get(name)
        if field is None:
            raise UsageError(
                COMPONENT,
                f"--simulate: unknown option {name!r}; expected one of {', '.join(_SIM_OPTIONS)}",
            )
        if not eq:
            value = next(it, "")
        try:
            number: float = (
                float(value) if field in {"participation", "fleet_share"} else int(value)
            )
        except ValueError:
            raise UsageError(
                COMPONENT, f"--simulate: {name}: expected a number, found {value!r}"
            ) from None
        out[field] = int(number * 3600) if field == "round_s" else number
    return out


def run_simulated(sim_args: str) -> SimulatedRun:
    """Run a simulation in memory: its public records for the observer, its truth apart."""
    from iome_ref.analysis.simtruth import run_with_truth  # noqa: PLC0415 - it imports us

    return run_with_truth(parse_sim_args(sim_args))
