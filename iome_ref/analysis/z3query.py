"""Z3 for what the matching fast path cannot express, one connected component at a time.

What lives here: ``SideKnowledge`` (links the observer knows from elsewhere: "this departure and
this arrival are one vehicle", "this arrival is not that departure"), ``SocModel`` (a battery's
capacity and each trip's energy need: a vehicle cannot arrive with more charge than it left
with, minus the trip), ``z3_links`` (forced and possible links under those constraints, per
component of the fast path's candidate graph) and ``Z3Result``.

Why per component: a link's fate depends only on its connected component of the candidate
graph (the fast path computes them), so a 10k-trip history becomes thousands of small solver
instances instead of one large one. Why cardinality constraints: "each key in at most one link"
and "as many links as the records allow" are ``AtMost``/``PbGe`` over Booleans, which Z3's
finite-domain solver (``QF_FD``) reasons about as cardinalities instead of through a quadratic
pairwise encoding; proofs that a link is forced are Hall-type counting arguments, on which
plain clause learning stalls (a 44-vertex component once ran past 60 s; ``QF_FD`` takes
milliseconds). Side knowledge and single-trip battery bounds only remove edges, so the
encoding stays purely Boolean, and the optimum is the maximum matching of what remains. Why
incremental: the optimum is found first, then each link is checked under an assumption
(``Not(x)``: unsat is a proof that the link is forced) on the same solver, and every
satisfying model found on the way marks all its links as possible at once (its witness).

Every solver gets ``random_seed``, a resource limit and a timeout (``limit_solver``); a check
that returns ``unknown`` is counted, with the component it hit, and its links reported as
undecided, never as forced or free.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeVar

import numpy as np
import z3

from iome_ref.analysis.forced import Bipartite, BoolArray, ForcedResult, IntArray, forced_links

__all__ = [
    "SideKnowledge",
    "SocModel",
    "Verdict",
    "Z3Result",
    "edge_verdicts",
    "limit_solver",
    "optimize",
    "z3_links",
]

Verdict = Literal["forced", "free", "impossible", "unknown"]
#: Z3 resource units per millisecond of timeout (measured: ~400 units per ms of CPU on the
#: development machine, a 59-link trajectory component).
RLIMIT_PER_MS: Final = 500
#: The wall-clock backstop, in timeouts: the resource limit binds first unless the machine
#: gives a check less than a tenth of a core.
WALL_FACTOR: Final = 10
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class SideKnowledge:
    """Links the observer learnt outside the chain (a camera, one known session of X).

    ``same``: (left, right) pairs known to be one vehicle; ``different``: pairs known not to be.
    """

    same: tuple[tuple[int, int], ...] = ()
    different: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class SocModel:
    """Energy continuity across a link: charge after leaving, minus the trip, plus what the
    arrival session charged, fits in the battery; the departure charge fits too.

    ``left_charged_wh[i]``: energy charged by left i's session before leaving (0 if none);
    ``right_charged_wh[j]``: energy charged at arrival j; ``need_wh[k]``: energy edge k's trip
    needs. A vehicle's charge on leaving is an unknown integer ``s_i`` with
    ``left_charged_wh[i] <= s_i <= capacity_wh``; link k = (i, j) requires ``s_i >= need_wh[k]``
    and ``s_i - need_wh[k] + right_charged_wh[j] <= capacity_wh``.
    """

    capacity_wh: int
    left_charged_wh: Sequence[int]
    right_charged_wh: Sequence[int]
    need_wh: Sequence[int]


@dataclass(frozen=True)
class Z3Result:
    """Per edge: forced (unsat without it), possible (a witness has it), or undecided.

    ``matching_size``: the most links the constraints allow (summed over components).
    ``unknown``: checks that returned unknown; ``undecided[k]``: edge k's status is not
    known because of them. ``queries``: solver checks run; ``components``: solved.
    """

    matching_size: int
    forced: BoolArray
    possible: BoolArray
    undecided: BoolArray
    options_left: IntArray
    options_right: IntArray
    queries: int
    unknown: int
    components: int
    largest_component: int
    seed: int
    timeout_ms: int
    unknown_components: tuple[int, ...] = field(default_factory=tuple)


def _component_edges(fast: ForcedResult, graph: Bipartite) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = defaultdict(list)
    for k, c in enumerate(fast.component_left[graph.left].tolist()):
        groups[c].append(k)
    return groups


def limit_solver(solver: Any, seed: int, timeout_ms: int) -> Any:
    """Seed ``solver`` and bound each check by Z3's resource count (``RLIMIT_PER_MS`` per ms
    of ``timeout_ms``: about that much CPU time here), with a wall-clock backstop of
    ``WALL_FACTOR`` times the timeout. The count, not the clock, decides when a check gives
    up, so an ``unknown`` is the same on every run of one seed, however loaded the machine."""
    solver.set("random_seed", seed)
    solver.set("rlimit", RLIMIT_PER_MS * timeout_ms)
    solver.set("timeout", WALL_FACTOR * timeout_ms)
    return solver


def _solver(seed: int, timeout_ms: int) -> Any:
    return limit_solver(z3.SolverFor("QF_FD"), seed, timeout_ms)


def _solve_component(
    edges: Sequence[int],
    graph: Bipartite,
    upper: int,
    *,
    side: Mapping[tuple[int, int], bool],
    soc: SocModel | None,
    seed: int,
    timeout_ms: int,
) -> tuple[int, dict[int, Verdict], int, int]:
    """(links at the optimum, each edge's verdict, solver checks, unknown answers)."""
    x = {k: z3.Bool(f"x{k}") for k in edges}
    solver = _constrained(edges, graph, x, side, soc, solver=_solver(seed, timeout_ms))
    return _classify(edges, x, solver, upper)


def _constrained(
    edges: Sequence[int],
    graph: Bipartite,
    x: dict[int, Any],
    side: Mapping[tuple[int, int], bool],
    soc: SocModel | None,
    *,
    solver: Any,
) -> Any:
    """``solver`` with: each key in at most one link, side knowledge, energy continuity."""
    by_left: dict[int, list[int]] = defaultdict(list)
    by_right: dict[int, list[int]] = defaultdict(list)
    for k in edges:
        by_left[int(graph.left[k])].append(k)
        by_right[int(graph.right[k])].append(k)
    for group in (*by_left.values(), *by_right.values()):
        if len(group) > 1:
            solver.add(z3.AtMost(*[x[k] for k in group], 1))
    for k in edges:
        pair = (int(graph.left[k]), int(graph.right[k]))
        if pair in side:
            solver.add(x[k] if side[pair] else z3.Not(x[k]))
    if soc is not None:
        # One link per departure key, so its charge on leaving meets one edge's bounds at a
        # time: an edge-local test keeps the solver purely pseudo-Boolean (integers that truly
        # couple links are z3chains.py's).
        for k in edges:
            if not _soc_allows(graph, soc, k):
                solver.add(z3.Not(x[k]))
    return solver


def _classify(
    edges: Sequence[int], x: dict[int, Any], solver: Any, upper: int
) -> tuple[int, dict[int, Verdict], int, int]:
    """Find the optimum (most links), then each edge's verdict under it, incrementally."""
    optimum, model, queries = optimize(solver, [x[k] for k in edges], upper)
    if model is None and optimum < 0:
        return upper, dict.fromkeys(edges, "unknown"), queries, 1
    verdict, more, unknowns = edge_verdicts(solver, x, model)
    return optimum, verdict, queries + more, unknowns


def optimize(solver: Any, links: Sequence[Any], upper: int) -> tuple[int, Any, int]:
    """Most of ``links`` true at once (at most ``upper``), fixed on ``solver``.

    Returns (optimum, a model at it or None, checks). An ``unknown`` answer returns optimum
    -1 and no model: the caller reports the component as undecided.
    """
    terms = [(link, 1) for link in links]
    optimum, queries = upper, 0
    while optimum > 0:
        queries += 1
        answer = solver.check(z3.PbGe(terms, optimum))
        if answer == z3.sat:
            model = solver.model()
            solver.add(z3.PbGe(terms, optimum))
            return optimum, model, queries
        if answer == z3.unknown:
            return -1, None, queries
        optimum -= 1
    queries += 1
    answer = solver.check()
    if answer == z3.unknown:
        return -1, None, queries
    return 0, solver.model() if answer == z3.sat else None, queries


def edge_verdicts(solver: Any, x: Mapping[K, Any], model: Any) -> tuple[dict[K, Verdict], int, int]:
    """Each link's verdict under the fixed optimum: a check with it and one without, skipped
    when a witness already showed that side. Returns (verdicts, checks, unknowns)."""
    seen_true: set[K] = set()
    seen_false: set[K] = set()

    def note(witness: Any) -> None:
        for e, var in x.items():
            (seen_true if z3.is_true(witness.eval(var, True)) else seen_false).add(e)

    if model is not None:
        note(model)
    else:
        seen_false.update(x)
    verdict: dict[K, Verdict] = {}
    queries = unknowns = 0
    for k, var in x.items():
        for want in (True, False):
            if k in (seen_true if want else seen_false):
                continue
            queries += 1
            answer = solver.check(var if want else z3.Not(var))
            if answer == z3.unknown:
                unknowns += 1
                verdict[k] = "unknown"
                break
            if answer == z3.sat:
                note(solver.model())
        if k not in verdict:
            verdict[k] = _verdict(k in seen_true, k in seen_false)
    return verdict, queries, unknowns


def _verdict(in_some: bool, out_of_some: bool) -> Verdict:
    """Never in an optimum (unsat with it), in every one (unsat without it: a proof the link
    is certain), or in some."""
    if not in_some:
        return "impossible"
    return "free" if out_of_some else "forced"


def _soc_allows(graph: Bipartite, soc: SocModel, k: int) -> bool:
    """Whether edge k's trip fits the battery (one link per departure key: edge-local)."""
    i, j = int(graph.left[k]), int(graph.right[k])
    need = soc.need_wh[k]
    low = max(soc.left_charged_wh[i], need)
    return low <= min(soc.capacity_wh, soc.capacity_wh - soc.right_charged_wh[j] + need)


def _reduced_optimum(
    graph: Bipartite,
    fast: ForcedResult,
    known: Mapping[tuple[int, int], bool],
    soc: SocModel | None,
) -> dict[int, int]:
    """Most links per component once the constraints have removed edges (a maximum matching).

    Every constraint here removes edges (a known "different", a known "same" removing its
    keys' other edges, a trip the battery cannot make), so the optimum is a maximum matching
    of what remains: matching theory gives it exactly, and Z3 is not asked to prove that no
    larger one exists (a pigeonhole argument, which clause learning alone finds exponentially
    hard; the per-link checks run on Z3's finite-domain solver, whose cardinality reasoning
    handles them).
    """
    keep = np.ones(graph.n_edges, dtype=np.bool_)
    pairs = list(zip(graph.left.tolist(), graph.right.tolist(), strict=True))
    edges = set(pairs)
    fixed = {pair for pair, same in known.items() if same and pair in edges}
    fixed_left = {i for i, _ in fixed}
    fixed_right = {j for _, j in fixed}
    for k, (i, j) in enumerate(pairs):
        if (
            known.get((i, j)) is False
            or (soc is not None and not _soc_allows(graph, soc, k))
            or ((i in fixed_left or j in fixed_right) and (i, j) not in fixed)
        ):
            keep[k] = False
    reduced = Bipartite(graph.n_left, graph.n_right, graph.left[keep], graph.right[keep])
    result = forced_links(reduced)
    per_component: dict[int, int] = defaultdict(int)
    for c in fast.component_left[result.match_left >= 0].tolist():
        per_component[c] += 1
    return per_component


def z3_links(
    graph: Bipartite,
    fast: ForcedResult,
    *,
    side: SideKnowledge | None = None,
    soc: SocModel | None = None,
    seed: int = 0,
    timeout_ms: int = 10_000,
    components: Sequence[int] | None = None,
) -> Z3Result:
    """Forced and possible links of ``graph`` under the extra constraints, component by
    component of the fast path's candidate graph ``fast`` (all components unless named)."""
    known: dict[tuple[int, int], bool] = {}
    if side is not None:
        known.update(dict.fromkeys(side.different, False))
        known.update(dict.fromkeys(side.same, True))
    forced = np.zeros(graph.n_edges, dtype=np.bool_)
    possible = np.zeros(graph.n_edges, dtype=np.bool_)
    undecided = np.zeros(graph.n_edges, dtype=np.bool_)
    groups = _component_edges(fast, graph)
    wanted = sorted(groups) if components is None else sorted(set(components) & set(groups))
    total = queries = unknowns = 0
    unknown_components: list[int] = []
    largest = 0
    matched_per_component = _reduced_optimum(graph, fast, known, soc)
    for c in wanted:
        edges = groups[c]
        largest = max(largest, len(edges))
        optimum, status, q, u = _solve_component(
            edges,
            graph,
            matched_per_component[c],
            side=known,
            soc=soc,
            seed=seed,
            timeout_ms=timeout_ms,
        )
        total += optimum
        queries += q
        unknowns += u
        if u:
            unknown_components.append(c)
        for k, verdict in status.items():
            undecided[k] = verdict == "unknown"
            forced[k] = verdict == "forced"
            possible[k] = verdict in ("forced", "free")
    options_left = np.bincount(graph.left[possible], minlength=graph.n_left).astype(np.int64)
    options_right = np.bincount(graph.right[possible], minlength=graph.n_right).astype(np.int64)
    return Z3Result(
        matching_size=total,
        forced=forced,
        possible=possible,
        undecided=undecided,
        options_left=options_left,
        options_right=options_right,
        queries=queries,
        unknown=unknowns,
        components=len(wanted),
        largest_component=largest,
        seed=seed,
        timeout_ms=timeout_ms,
        unknown_components=tuple(unknown_components),
    )
