"""Z3 over whole trajectories: trip pairings and stays chained, with the battery carried along.

What lives here: ``ChainEnergy`` and ``z3_chain_links``. The fast path judges the pairing
graph (PK1 -> PK2 through a Trip) and the dwell graph (an arrival -> the next departure at that
station) separately; a vehicle's trajectory alternates them, and its battery links them: it
leaves with ``s`` Wh, arrives with ``s - need`` plus what it charges on arrival, and leaves the
next station with that plus what it charges before leaving, never above the capacity nor below
a trip's need. Across several trips that continuity is a chain of integer constraints that no
matching can express, so Z3 takes pairing and dwell links together, one connected component of
their union at a time (both graphs' connected pieces joined), with the same incremental
optimum-then-verdict procedure and the same reporting of ``unknown`` as :mod:`.z3query`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import z3
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components

from iome_ref.analysis.forced import Bipartite, BoolArray, IntArray
from iome_ref.analysis.z3query import Verdict, edge_verdicts, optimize

__all__ = ["ChainEnergy", "ChainResult", "z3_chain_links"]


@dataclass(frozen=True)
class ChainEnergy:
    """Energy facts of a history. ``departure_charge_wh[i]``: Wh the departure key i's session
    charged before leaving (0: none); ``arrival_charge_wh[j]``: Wh charged on arrival j;
    ``need_wh[k]``: Wh pairing edge k's trip needs; ``same_session[f]``: dwell edge f joins an
    arrival and a departure of one session (its charge counted once)."""

    capacity_wh: int
    departure_charge_wh: Sequence[int]
    arrival_charge_wh: Sequence[int]
    need_wh: Sequence[int]
    same_session: Sequence[bool]


@dataclass(frozen=True)
class ChainResult:
    """Verdicts on both graphs' edges under chained energy continuity."""

    pairing_forced: BoolArray
    pairing_possible: BoolArray
    dwell_forced: BoolArray
    dwell_possible: BoolArray
    undecided: int
    queries: int
    unknown: int
    components: int
    seed: int
    timeout_ms: int


def _components(pairing: Bipartite, dwell: Bipartite) -> IntArray:
    """Component of each departure (0..D-1) and arrival (D..D+A-1) in pairing ∪ dwell."""
    d, a = pairing.n_left, pairing.n_right
    rows = np.concatenate([pairing.left, d + dwell.left])
    cols = np.concatenate([d + pairing.right, dwell.right])
    graph = csr_array((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(d + a, d + a))
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)


def _constrain(
    solver: Any,
    *,
    pairing: Bipartite,
    dwell: Bipartite,
    energy: ChainEnergy,
    p_edges: Sequence[int],
    d_edges: Sequence[int],
) -> tuple[dict[tuple[str, int], Any], list[Any], list[Any]]:
    x = {("p", k): z3.Bool(f"p{k}") for k in p_edges}
    y = {("d", f): z3.Bool(f"d{f}") for f in d_edges}
    groups: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for k in p_edges:
        groups["dep-out", int(pairing.left[k])].append(x["p", k])
        groups["arr-in", int(pairing.right[k])].append(x["p", k])
    for f in d_edges:
        groups["arr-out", int(dwell.left[f])].append(y["d", f])
        groups["dep-in", int(dwell.right[f])].append(y["d", f])
    for members in groups.values():
        if len(members) > 1:
            solver.add(z3.AtMost(*members, 1))
    cap = energy.capacity_wh
    leave = {
        i: z3.Int(f"s{i}")
        for i in {int(pairing.left[k]) for k in p_edges} | {int(dwell.right[f]) for f in d_edges}
    }
    arrive = {
        j: z3.Int(f"r{j}")
        for j in {int(pairing.right[k]) for k in p_edges} | {int(dwell.left[f]) for f in d_edges}
    }
    for i, s in leave.items():
        solver.add(s >= energy.departure_charge_wh[i], s <= cap)
    for j, r in arrive.items():
        solver.add(r >= energy.arrival_charge_wh[j], r <= cap)
    for k in p_edges:
        i, j = int(pairing.left[k]), int(pairing.right[k])
        need = energy.need_wh[k]
        solver.add(
            z3.Implies(
                x["p", k],
                z3.And(
                    leave[i] >= need,
                    arrive[j] == leave[i] - need + energy.arrival_charge_wh[j],
                ),
            )
        )
    for f in d_edges:
        j, i = int(dwell.left[f]), int(dwell.right[f])
        gained = 0 if energy.same_session[f] else energy.departure_charge_wh[i]
        solver.add(z3.Implies(y["d", f], leave[i] == arrive[j] + gained))
    return {**x, **y}, list(x.values()), list(y.values())


def z3_chain_links(
    pairing: Bipartite,
    dwell: Bipartite,
    energy: ChainEnergy,
    *,
    seed: int = 0,
    timeout_ms: int = 10_000,
    max_components: int | None = None,
) -> ChainResult:
    """Forced and possible pairing and dwell links when a vehicle's battery carries over.

    The optimum maximises pairing links first, then dwell links (the fast path's order of
    evidence); verdicts are taken under both optima.
    """
    labels = _components(pairing, dwell)
    n_dep = pairing.n_left
    p_by: dict[int, list[int]] = defaultdict(list)
    d_by: dict[int, list[int]] = defaultdict(list)
    for k in range(pairing.n_edges):
        p_by[int(labels[pairing.left[k]])].append(k)
    for f in range(dwell.n_edges):
        d_by[int(labels[n_dep + dwell.left[f]])].append(f)
    chosen = sorted(set(p_by) | set(d_by))
    if max_components is not None:
        chosen = sorted(chosen, key=lambda c: -(len(p_by[c]) + len(d_by[c])))[:max_components]
    p_forced = np.zeros(pairing.n_edges, dtype=np.bool_)
    p_possible = np.zeros(pairing.n_edges, dtype=np.bool_)
    d_forced = np.zeros(dwell.n_edges, dtype=np.bool_)
    d_possible = np.zeros(dwell.n_edges, dtype=np.bool_)
    queries = unknown = undecided = 0
    for c in chosen:
        solver = z3.Solver()
        solver.set("random_seed", seed)
        solver.set("timeout", timeout_ms)
        links, xs, ys = _constrain(
            solver,
            pairing=pairing,
            dwell=dwell,
            energy=energy,
            p_edges=p_by[c],
            d_edges=d_by[c],
        )
        verdicts: dict[tuple[str, int], Verdict]
        best_x, _, q1 = optimize(solver, xs, len(xs))
        best_y, model, q2 = (-1, None, 0) if best_x < 0 else optimize(solver, ys, len(ys))
        queries += q1 + q2
        if best_y < 0:
            unknown += 1
            undecided += len(links)
            continue
        verdicts, more, unknowns = edge_verdicts(solver, links, model)
        queries += more
        unknown += unknowns
        for (kind, k), verdict in verdicts.items():
            forced, possible = (p_forced, p_possible) if kind == "p" else (d_forced, d_possible)
            forced[k] = verdict == "forced"
            possible[k] = verdict in ("forced", "free")
            undecided += verdict == "unknown"
    return ChainResult(
        pairing_forced=p_forced,
        pairing_possible=p_possible,
        dwell_forced=d_forced,
        dwell_possible=d_possible,
        undecided=undecided,
        queries=queries,
        unknown=unknown,
        components=len(chosen),
        seed=seed,
        timeout_ms=timeout_ms,
    )
