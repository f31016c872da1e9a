"""Z3 over whole trajectories: trip pairings and stays chained, with the battery carried along.

What lives here: ``ChainEnergy`` and ``z3_chain_links``. The fast path judges the pairing
graph (PK1 -> PK2 through a Trip) and the dwell graph (an arrival -> the next departure at that
station) separately; a vehicle's trajectory alternates them, and its battery links them: it
leaves with ``s`` Wh, arrives with at most ``s - need`` plus what it charges on arrival, and
leaves the next station with at most that plus what it charges before leaving, never above the
capacity nor below a trip's need. Upper bounds, not equalities, keep every verdict sound when
the observer knows only a lower bound of what a trip uses (the road graph's energy; a driver
may drive further off the station network) and a vehicle may drive unseen between arriving and
leaving again: neither adds charge, so no history that happened is excluded. Across several
trips that continuity is a chain of integer constraints that no matching can express, so Z3
takes pairing and dwell links together, one connected component of their union at a time
(both graphs' connected pieces joined), with the same incremental optimum-then-verdict
procedure and the same reporting of ``unknown`` as :mod:`.z3query`.

Budget: a component over ``max_links`` links is not sent to the solver, and components are
solved smallest first until ``budget_links`` links have been; what was skipped is counted in
the result (``skipped_*``), never guessed.
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

from iome_ref.analysis.forced import Bipartite, BoolArray, IntArray, forced_links
from iome_ref.analysis.z3query import Verdict, edge_verdicts, limit_solver, optimize

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
    #: Per edge: a check returned ``unknown`` (no verdict, neither forced nor possible).
    pairing_undecided: BoolArray
    dwell_undecided: BoolArray
    undecided: int
    queries: int
    unknown: int
    components: int
    seed: int
    timeout_ms: int
    #: Per edge: its component was solved (False: skipped by the budget, no verdict).
    pairing_checked: BoolArray
    dwell_checked: BoolArray
    components_total: int = 0
    skipped_too_large: int = 0
    skipped_over_budget: int = 0
    largest_component: int = 0


def _components(pairing: Bipartite, dwell: Bipartite) -> IntArray:
    """Component of each departure (0..D-1) and arrival (D..D+A-1) in pairing ∪ dwell."""
    d, a = pairing.n_left, pairing.n_right
    rows = np.concatenate([pairing.left, d + dwell.left])
    cols = np.concatenate([d + pairing.right, dwell.right])
    graph = csr_array((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(d + a, d + a))
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)


def _matching_size(graph: Bipartite, edges: Sequence[int]) -> int:
    """The maximum matching of ``graph`` restricted to ``edges``."""
    index = np.asarray(edges, dtype=np.int64)
    sub = Bipartite(graph.n_left, graph.n_right, graph.left[index], graph.right[index])
    return int(forced_links(sub).matching_size) if index.size else 0


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
    # Bit-vectors wide enough that no sum below overflows: the finite-domain solver bit-blasts
    # them beside its cardinality constraints (integers would leave it for the general
    # arithmetic solver, where the Hall-type proofs of a forced link stall).
    largest = max(
        [cap, 0]
        + [abs(v) for v in energy.departure_charge_wh]
        + [abs(v) for v in energy.arrival_charge_wh]
        + [abs(v) for v in energy.need_wh]
    )
    width = (4 * largest + 1).bit_length() + 1

    def bv(value: int) -> Any:
        return z3.BitVecVal(value, width)

    leave = {
        i: z3.BitVec(f"s{i}", width)
        for i in {int(pairing.left[k]) for k in p_edges} | {int(dwell.right[f]) for f in d_edges}
    }
    arrive = {
        j: z3.BitVec(f"r{j}", width)
        for j in {int(pairing.right[k]) for k in p_edges} | {int(dwell.left[f]) for f in d_edges}
    }
    for i, s in leave.items():
        solver.add(z3.ULE(bv(max(0, energy.departure_charge_wh[i])), s), z3.ULE(s, bv(cap)))
    for j, r in arrive.items():
        solver.add(z3.ULE(bv(max(0, energy.arrival_charge_wh[j])), r), z3.ULE(r, bv(cap)))
    for k in p_edges:
        i, j = int(pairing.left[k]), int(pairing.right[k])
        need, charged = energy.need_wh[k], energy.arrival_charge_wh[j]
        # arrive <= leave - need + charged, with every term kept non-negative.
        solver.add(
            z3.Implies(
                x["p", k],
                z3.And(
                    z3.ULE(bv(need), leave[i]),
                    z3.ULE(arrive[j] + bv(need + max(0, -charged)), leave[i] + bv(max(0, charged))),
                ),
            )
        )
    for f in d_edges:
        j, i = int(dwell.left[f]), int(dwell.right[f])
        gained = 0 if energy.same_session[f] else energy.departure_charge_wh[i]
        # leave <= arrive + gained
        solver.add(
            z3.Implies(
                y["d", f],
                z3.ULE(leave[i] + bv(max(0, -gained)), arrive[j] + bv(max(0, gained))),
            )
        )
    return {**x, **y}, list(x.values()), list(y.values())


def z3_chain_links(
    pairing: Bipartite,
    dwell: Bipartite,
    energy: ChainEnergy,
    *,
    seed: int = 0,
    timeout_ms: int = 10_000,
    max_components: int | None = None,
    max_links: int | None = None,
    budget_links: int | None = None,
) -> ChainResult:
    """Forced and possible pairing and dwell links when a vehicle's battery carries over.

    The optimum maximises pairing links first, then dwell links (the fast path's order of
    evidence); verdicts are taken under both optima. Components of more than ``max_links``
    links are skipped; the others are solved smallest first (ties: lowest component) until
    ``budget_links`` links or ``max_components`` components have been (module docstring).
    """
    labels = _components(pairing, dwell)
    n_dep = pairing.n_left
    p_by: dict[int, list[int]] = defaultdict(list)
    d_by: dict[int, list[int]] = defaultdict(list)
    for k in range(pairing.n_edges):
        p_by[int(labels[pairing.left[k]])].append(k)
    for f in range(dwell.n_edges):
        d_by[int(labels[n_dep + dwell.left[f]])].append(f)
    every = sorted(set(p_by) | set(d_by), key=lambda c: (len(p_by[c]) + len(d_by[c]), c))
    small = [c for c in every if max_links is None or len(p_by[c]) + len(d_by[c]) <= max_links]
    chosen: list[int] = []
    spent = 0
    for c in small:
        size = len(p_by[c]) + len(d_by[c])
        if (max_components is not None and len(chosen) >= max_components) or (
            budget_links is not None and spent + size > budget_links
        ):
            break
        chosen.append(c)
        spent += size
    p_checked = np.isin(labels[pairing.left], chosen)
    d_checked = np.isin(labels[n_dep + dwell.left], chosen)
    p_forced = np.zeros(pairing.n_edges, dtype=np.bool_)
    p_possible = np.zeros(pairing.n_edges, dtype=np.bool_)
    d_forced = np.zeros(dwell.n_edges, dtype=np.bool_)
    d_possible = np.zeros(dwell.n_edges, dtype=np.bool_)
    p_undecided = np.zeros(pairing.n_edges, dtype=np.bool_)
    d_undecided = np.zeros(dwell.n_edges, dtype=np.bool_)
    queries = unknown = undecided = 0
    for c in chosen:
        solver = limit_solver(z3.SolverFor("QF_FD"), seed, timeout_ms)
        links, xs, ys = _constrain(
            solver,
            pairing=pairing,
            dwell=dwell,
            energy=energy,
            p_edges=p_by[c],
            d_edges=d_by[c],
        )
        verdicts: dict[tuple[str, int], Verdict]
        # The battery only removes links, so each graph's maximum matching on the component
        # bounds its optimum from above: the search starts there, not at every link.
        best_x, _, q1 = optimize(solver, xs, _matching_size(pairing, p_by[c]))
        best_y, model, q2 = (
            (-1, None, 0) if best_x < 0 else optimize(solver, ys, _matching_size(dwell, d_by[c]))
        )
        queries += q1 + q2
        if best_y < 0:
            unknown += 1
            undecided += len(links)
            p_undecided[p_by[c]] = True
            d_undecided[d_by[c]] = True
            continue
        verdicts, more, unknowns = edge_verdicts(solver, links, model)
        queries += more
        unknown += unknowns
        for (kind, k), verdict in verdicts.items():
            forced, possible = (p_forced, p_possible) if kind == "p" else (d_forced, d_possible)
            forced[k] = verdict == "forced"
            possible[k] = verdict in ("forced", "free")
            undecided += verdict == "unknown"
            (p_undecided if kind == "p" else d_undecided)[k] = verdict == "unknown"
    return ChainResult(
        pairing_forced=p_forced,
        pairing_possible=p_possible,
        dwell_forced=d_forced,
        dwell_possible=d_possible,
        pairing_undecided=p_undecided,
        dwell_undecided=d_undecided,
        undecided=undecided,
        queries=queries,
        unknown=unknown,
        components=len(chosen),
        seed=seed,
        timeout_ms=timeout_ms,
        pairing_checked=p_checked,
        dwell_checked=d_checked,
        components_total=len(every),
        skipped_too_large=len(every) - len(small),
        skipped_over_budget=len(small) - len(chosen),
        largest_component=max((len(p_by[c]) + len(d_by[c]) for c in chosen), default=0),
    )
