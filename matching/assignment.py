"""The pairing list (对接名单) of a matchmaking event: which supplier meets which scenario.

A score matrix (scenarios × suppliers, higher is a better fit) and the event's rules in;
pairs, a standby list and every shortfall with its cause out. Nothing here knows ids
beyond matrix indices: the caller maps them.

Priorities, in order; each is decided only among the solutions best on the ones before:

1. **Confirmed pairs are in**, unless one breaks a hard rule (a conflict of interest, an
   exclusion, the supplier's capacity, in the order given); such a pair is left out and
   reported in ``unmet``. A confirmed pair may score below ``min_score`` (people chose
   it), and a scenario may have more confirmed pairs than its demand (its owner chose them).
2. **As many meetings as possible.** A scenario that asked for three meetings would rather
   have a third, weaker one than none, and every allowed pair scores at least
   ``min_score``; so demand is met before score is raised. Exact: a maximum flow.
3. **Plain:** the highest total score among those maximum flows (min-cost max-flow).
   **Fair:** the largest *smallest share*, then the highest total. A scenario's share is
   its total as a fraction of its own best: the sum of its top ``demand`` allowed scores,
   what it would get with the suppliers to itself. The share rather than the raw total
   (FairFlow's measure) because with a minimum score many scenarios have only one or two
   weak candidates; their raw total is the same in every solution, so the raw minimum
   would be fixed by them and fairness would do nothing for anyone else. A share asks the
   question the solver can answer: whom did the competition for suppliers hurt most?
   Max-min allocation is NP-hard (it contains the Santa Claus problem), so: a local search
   raises the worst-served scenario from the flow's solution in a fraction of a second;
   every pair that cannot reach that level is dropped (usually most of them); CP-SAT then
   proves the max-min and, at that level, maximises the total (scores in integer
   thousandths; exact, not rounded, in the share). If the time limit stops it, or more than
   ``FAIR_MAX_ARCS`` pairs remain, the best solution found is kept and ``status`` is
   "feasible". Small cases and 150 × 300 events solve to "optimal" in seconds.

Large matrices are sparsified: each scenario keeps only its ``top_k`` best allowed
suppliers as candidates (by default every allowed pair up to ``DENSE_LIMIT`` cells, above
that ``max(50, 10 × demand)``). A scenario left short is then widened to every allowed
supplier and the flow solved again, so a shortfall is never an artefact of the cut and its
reason is true; the total score is then optimal over the candidates, not proven over all.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow
from ortools.sat.python import cp_model

Pair = tuple[int, int]
PairRule = Iterable[Pair] | np.ndarray | None

DEFAULT_DEMAND = 3
DEFAULT_CAPACITY = 4
DEFAULT_STANDBY = 5
DENSE_LIMIT = 2_000_000  # score cells up to which every allowed pair is a candidate
FLOW_RESOLUTION = 1_000_000  # the largest score becomes this many cost units in the flow
FAIR_SCALE = 1000  # CP-SAT works in integer thousandths of a score
CHUNK_CELLS = 4_000_000  # score cells handled at once, to bound temporary memory
FAIR_MAX_ARCS = 30_000  # above this many arcs the fair CP-SAT model is not even built
NAMED = 5  # suppliers named in one reason before "等 N 个"


@dataclass
class Assignment:
    """The pairing list. ``counts``/``shares`` are per scenario; ``shares`` is nan where a
    scenario has no allowed supplier. ``status`` is "optimal", "feasible" (a time limit
    stopped the fair solve) or "greedy"; ``top_k`` is the candidate cut, None for none."""

    pairs: list[Pair]
    total_score: float
    counts: np.ndarray
    standby: dict[int, list[int]]
    unmet: list[tuple[int, str]]
    shares: np.ndarray
    status: str
    top_k: int | None

    @property
    def min_share(self) -> float:
        known = self.shares[~np.isnan(self.shares)]
        return float(known.min()) if len(known) else float("nan")


# -- the problem, checked ---------------------------------------------------------------------
@dataclass
class _Problem:
    scores: np.ndarray
    min_score: float
    demand: np.ndarray
    capacity: np.ndarray
    excluded: np.ndarray | None
    conflicts: np.ndarray | None
    confirmed: list[Pair]  # those kept
    refused: list[tuple[int, str]]  # confirmed pairs that break a rule, with the reason
    left_demand: np.ndarray
    left_capacity: np.ndarray

    @property
    def n(self) -> int:
        return self.scores.shape[0]

    @property
    def m(self) -> int:
        return self.scores.shape[1]

    def chunks(self) -> Iterator[slice]:
        step = max(1, CHUNK_CELLS // max(self.m, 1))
        for start in range(0, self.n, step):
            yield slice(start, min(start + step, self.n))

    def block(self, rows: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Scores of ``rows`` with masks: above the minimum, excluded, in conflict."""
        block = self.scores[rows]
        above = np.isfinite(block) & (block >= self.min_score)
        excluded = self.excluded[rows] if self.excluded is not None else np.zeros_like(above)
        conflicts = self.conflicts[rows] if self.conflicts is not None else np.zeros_like(above)
        return block, above, excluded, conflicts


def _per_row(value: int | Iterable[int], size: int, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.int64)
    if array.ndim == 0:
        array = np.full(size, int(array), np.int64)
    if array.shape != (size,):
        raise ValueError(f"{name} has shape {array.shape}, expected ({size},)")
    if (array < 0).any():
        raise ValueError(f"{name} must not be negative")
    return array.copy()


def _pair_mask(rule: PairRule, shape: tuple[int, int], name: str) -> np.ndarray | None:
    """A boolean (n, m) mask from a mask or a list of (i, j)."""
    if rule is None:
        return None
    if isinstance(rule, np.ndarray) and rule.dtype == bool:
        if rule.shape != shape:
            raise ValueError(f"{name} mask has shape {rule.shape}, expected {shape}")
        return rule
    pairs = _checked_pairs(rule, shape, name)
    mask = np.zeros(shape, bool)
    if pairs:
        rows, cols = zip(*pairs)
        mask[list(rows), list(cols)] = True
    return mask


def _checked_pairs(pairs: Iterable[Pair], shape: tuple[int, int], name: str) -> list[Pair]:
    out = [(int(i), int(j)) for i, j in pairs]
    for i, j in out:
        if not (0 <= i < shape[0] and 0 <= j < shape[1]):
            raise ValueError(f"{name} pair ({i}, {j}) is outside the {shape} score matrix")
    return out


def _prepare(
    scores: np.ndarray,
    *,
    demand: int | Iterable[int],
    capacity: int | Iterable[int],
    min_score: float,
    confirmed: Iterable[Pair],
    excluded: PairRule,
    conflicts: PairRule,
) -> _Problem:
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"scores must be a matrix, got shape {scores.shape}")
    if not np.issubdtype(scores.dtype, np.floating):
        scores = scores.astype(np.float64)
    n, m = scores.shape
    problem = _Problem(
        scores,
        float(min_score),
        _per_row(demand, n, "demand"),
        _per_row(capacity, m, "capacity"),
        _pair_mask(excluded, (n, m), "excluded"),
        _pair_mask(conflicts, (n, m), "conflicts"),
        [],
        [],
        np.zeros(n, np.int64),
        np.zeros(m, np.int64),
    )
    _take_confirmed(problem, list(dict.fromkeys(_checked_pairs(confirmed, (n, m), "confirmed"))))
    return problem


def _take_confirmed(p: _Problem, confirmed: list[Pair]) -> None:
    """Keep the confirmed pairs that break no rule, in the order given; the rest are refused."""
    load = np.zeros(p.m, np.int64)
    per_scenario = np.zeros(p.n, np.int64)
    for i, j in confirmed:
        why = None
        if p.conflicts is not None and p.conflicts[i, j]:
            why = "双方存在利益冲突（如同属一个单位）"
        elif p.excluded is not None and p.excluded[i, j]:
            why = "该配对已被排除"
        elif load[j] >= p.capacity[j]:
            why = f"能力 {j} 的确认对接已达其对接上限 {p.capacity[j]} 场"
        if why:
            p.refused.append((i, f"确认的对接（能力 {j}）无法安排：{why}"))
            continue
        p.confirmed.append((i, j))
        load[j] += 1
        per_scenario[i] += 1
    p.left_demand = np.maximum(p.demand - per_scenario, 0)
    p.left_capacity = p.capacity - load


# -- candidates -----------------------------------------------------------------------------
class _Candidates:
    """Per scenario, the allowed unconfirmed suppliers it may get, best first."""

    def __init__(self, p: _Problem, top_k: int | None):
        self.p = p
        self.cols: list[np.ndarray] = [np.zeros(0, np.int64)] * p.n
        self.full = np.zeros(p.n, bool)
        self.confirmed_cols: dict[int, list[int]] = {}
        for i, j in p.confirmed:
            self.confirmed_cols.setdefault(i, []).append(j)
        for rows in p.chunks():
            self._fill(rows, np.arange(rows.start, rows.stop), top_k)

    def _fill(self, rows: slice | np.ndarray, ids: np.ndarray, k: int | None) -> None:
        block, above, excluded, conflicts = self.p.block(rows)
        full = self.p.left_capacity == 0  # of no use to anyone: not a candidate
        masked = np.where(above & ~excluded & ~conflicts & ~full, block, -np.inf)
        for r, i in enumerate(ids):
            masked[r, self.confirmed_cols.get(int(i), [])] = -np.inf
        if k is None or k >= self.p.m:
            order = np.argsort(-masked, axis=1, kind="stable")
        else:
            top = np.argpartition(-masked, k - 1, axis=1)[:, :k]
            order = np.take_along_axis(
                top, np.argsort(-np.take_along_axis(masked, top, 1), axis=1, kind="stable"), 1
            )
        for r, i in enumerate(ids):
            cols = order[r]
            self.cols[i] = cols[np.isfinite(masked[r, cols])]
        allowed = np.isfinite(masked).sum(axis=1)
        self.full[ids] = np.array([len(self.cols[i]) for i in ids]) >= allowed

    def widen(self, scenarios: np.ndarray) -> None:
        """Make every allowed supplier a candidate of these scenarios."""
        ids = np.sort(np.asarray(scenarios, np.int64))
        step = max(1, CHUNK_CELLS // max(self.p.m, 1))
        for start in range(0, len(ids), step):
            self._fill(ids[start : start + step], ids[start : start + step], None)

    def arcs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, cols, scores), each scenario's arcs together and best first."""
        rows = np.repeat(np.arange(self.p.n), [len(c) for c in self.cols])
        cols = np.concatenate(self.cols) if self.p.n else np.zeros(0, np.int64)
        return rows, cols.astype(np.int64), self.p.scores[rows, cols].astype(np.float64)


def _auto_top_k(p: _Problem, top_k: int | None) -> int | None:
    if top_k is not None:
        return max(int(top_k), 1)
    if p.n * p.m <= DENSE_LIMIT:
        return None
    return max(50, 10 * int(p.demand.max(initial=0)))


# -- solvers ----------------------------------------------------------------------------------
def _max_flow_min_cost(
    p: _Problem, rows: np.ndarray, cols: np.ndarray, scores: np.ndarray
) -> np.ndarray:
    """Which arcs carry flow: most meetings, then the highest total score."""
    n, m = p.n, p.m
    source, sink = n + m, n + m + 1
    top = float(np.abs(scores).max(initial=0.0)) or 1.0
    costs = -np.rint(scores * (FLOW_RESOLUTION / top)).astype(np.int64)
    flow = SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate([np.full(n, source), rows, n + np.arange(m)]).astype(np.int32),
        np.concatenate([np.arange(n), n + cols, np.full(m, sink)]).astype(np.int32),
        np.concatenate([p.left_demand, np.ones(len(rows), np.int64), p.left_capacity]),
        np.concatenate([np.zeros(n, np.int64), costs, np.zeros(m, np.int64)]),
    )
    supply = int(p.left_demand.sum())
    flow.set_node_supply(source, supply)
    flow.set_node_supply(sink, -supply)
    status = flow.solve_max_flow_with_min_cost()
    if status != SimpleMinCostFlow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status}")
    return flow.flows(np.arange(n, n + len(rows))) > 0


def _solve_plain(p: _Problem, cand: _Candidates) -> np.ndarray:
    """The flow, widening every short scenario until none is short for want of candidates."""
    while True:
        rows, cols, scores = cand.arcs()
        chosen = _max_flow_min_cost(p, rows, cols, scores)
        counts = np.bincount(rows[chosen], minlength=p.n)
        short = np.flatnonzero((counts < p.left_demand) & ~cand.full)
        if not len(short):
            return chosen
        cand.widen(short)


def _floor(p: _Problem, scores: np.ndarray) -> float:
    """Shares need non-negative weights: the amount to shift scores by if any is negative."""
    confirmed = [float(p.scores[i, j]) for i, j in p.confirmed]
    return min(0.0, float(scores.min(initial=0.0)), min(confirmed, default=0.0))


def _confirmed_weights(p: _Problem, floor: float) -> np.ndarray:
    return np.array([p.scores[i, j] for i, j in p.confirmed], np.float64) - floor


def _bests(
    p: _Problem, rows: np.ndarray, weights: np.ndarray, confirmed_weights: np.ndarray
) -> np.ndarray:
    """Each scenario's own best: its confirmed pairs and its top remaining-demand arcs."""
    best = np.zeros(p.n, weights.dtype)
    np.add.at(best, [i for i, _ in p.confirmed], confirmed_weights)
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows)  # arcs are best first per row
    keep = rank < p.left_demand[rows]
    np.add.at(best, rows[keep], weights[keep])
    return best


@dataclass
class _IntShares:
    """The fair solve's integers: arc weights and each scenario's confirmed and best totals in
    thousandths of a score. A share is t / ``scale`` with ``scale`` above (largest best)², so
    two different shares never fall in one step of t and the max-min is exact, not rounded."""

    w: np.ndarray
    fine: np.ndarray  # the same weights in millionths, for the total: ties broken finer
    fixed: np.ndarray
    best: np.ndarray
    scale: int

    @classmethod
    def of(cls, p: _Problem, rows: np.ndarray, scores: np.ndarray) -> _IntShares:
        floor = _floor(p, scores)
        w = np.rint((scores - floor) * FAIR_SCALE).astype(np.int64)
        confirmed = np.rint(_confirmed_weights(p, floor) * FAIR_SCALE).astype(np.int64)
        fixed = np.zeros(p.n, np.int64)
        np.add.at(fixed, [i for i, _ in p.confirmed], confirmed)
        best = _bests(p, rows, w, confirmed)
        fine = np.rint((scores - floor) * FLOW_RESOLUTION).astype(np.int64)
        return cls(w, fine, fixed, best, int(best.max(initial=0)) ** 2 + 1)

    def level(self, rows: np.ndarray, chosen: np.ndarray) -> int:
        """The t of a solution: its smallest share."""
        got = self.fixed.copy()
        np.add.at(got, rows[chosen], self.w[chosen])
        counted = self.best > 0
        if not counted.any():
            return self.scale
        return int(min(self.scale, (got[counted] * self.scale // self.best[counted]).min()))

    def reachable(self, p: _Problem, rows: np.ndarray, level: int) -> np.ndarray:
        """Arcs that a solution whose smallest share is at least ``level`` could use. With
        supplier j, scenario i gets at most its best with j in place of its r-th best arc (r:
        its remaining demand); an arc that leaves i below the level even so is never used.
        Dropping those is what makes the fair solve fast: from a good start few arcs remain."""
        first = np.searchsorted(rows, rows)  # arcs are grouped by scenario, best first
        rank = np.arange(len(rows)) - first
        r = p.left_demand[rows]
        length = np.bincount(rows, minlength=p.n)[rows]
        rth = self.w[np.minimum(first + np.maximum(r - 1, 0), max(len(rows) - 1, 0))]
        best = self.best[rows]
        ceiling = best - np.where(r <= length, rth, 0) + self.w
        return (r > 0) & ((rank < r) | (best == 0) | (ceiling * self.scale >= level * best))


class _RaiseWorst:
    """A quick local search for the fair start: again and again, give the worst-served
    scenario a better supplier, one with room or one taken from a scenario that can spare it
    (that scenario takes the worst one's old supplier or another with room), as long as
    nobody else falls to the old worst share. Exactness comes after, from CP-SAT; this only
    gives it a better start, and so a smaller model (see ``_IntShares.reachable``)."""

    def __init__(
        self, p: _Problem, ints: _IntShares, rows: np.ndarray, cols: np.ndarray, chosen: np.ndarray
    ):
        self.ints, self.rows, self.cols = ints, rows, cols
        self.first = np.searchsorted(rows, np.arange(p.n + 1))  # row i's arcs: first[i]:first[i+1]
        self.arc = {(int(i), int(j)): a for a, (i, j) in enumerate(zip(rows, cols))}
        self.held: list[set[int]] = [set() for _ in range(p.n)]
        self.holders: dict[int, set[int]] = {}
        for a in np.flatnonzero(chosen):
            self.held[rows[a]].add(int(a))
            self.holders.setdefault(int(cols[a]), set()).add(int(rows[a]))
        self.room = p.left_capacity - np.bincount(cols[chosen], minlength=p.m)
        self.got = ints.fixed.astype(np.float64)
        np.add.at(self.got, rows[chosen], ints.w[chosen])
        self.counted = ints.best > 0

    def share(self, i: int, got: float | None = None) -> float:
        if not self.counted[i]:
            return np.inf  # no best to fall short of
        return float(self.got[i] if got is None else got) / float(self.ints.best[i])

    def run(self, deadline: float) -> np.ndarray:
        if not self.counted.any():
            return self.chosen()
        shares = np.full(len(self.got), np.inf)
        while time.monotonic() < deadline:
            shares[self.counted] = self.got[self.counted] / self.ints.best[self.counted]
            move = self.best_move(int(np.argmin(shares)))
            if move is None:
                break
            self.apply(*move)
        return self.chosen()

    def best_move(self, i: int) -> tuple | None:
        """The move that leaves the lowest of the changed shares highest, if it beats i's:
        (i, arc dropped, arc taken, scenario robbed or None, the arc it takes instead)."""
        floor, best, found = self.share(i), -np.inf, None
        w = self.ints.w
        for h in sorted(self.held[i]):
            for a in range(self.first[i], self.first[i + 1]):
                if w[a] <= w[h] or a in self.held[i]:
                    continue
                gain = self.share(i, self.got[i] - w[h] + w[a])
                if self.room[self.cols[a]] > 0 and gain > best:
                    best, found = gain, (i, h, a, None, None)
                for k, swap, level in self.steals(a, h) if self.room[self.cols[a]] == 0 else ():
                    if min(gain, level) > best:
                        best, found = min(gain, level), (i, h, a, k, swap)
        return found if best > floor else None

    def steals(self, a: int, freed: int) -> Iterator[tuple[int, int, float]]:
        """Each holder k of arc ``a``'s supplier with an arc it could take instead, and k's
        share after the exchange."""
        j = int(self.cols[a])
        for k in sorted(self.holders.get(j, ())):
            lost = self.ints.w[self.arc[(k, j)]]
            for swap in self.replacements(k, freed):
                yield k, swap, self.share(k, self.got[k] - lost + self.ints.w[swap])

    def replacements(self, k: int, freed: int) -> list[int]:
        """Arcs k could take instead of the one taken from it: the worst one's ``freed``
        supplier, and k's best supplier with room (the taken one has none)."""
        out = []
        mine = {int(self.cols[b]) for b in self.held[k]}
        swap = self.arc.get((k, int(self.cols[freed])))
        if swap is not None and int(self.cols[freed]) not in mine:
            out.append(swap)
        for b in range(self.first[k], self.first[k + 1]):
            if self.room[self.cols[b]] > 0 and int(self.cols[b]) not in mine:
                out.append(b)
                break
        return out

    def apply(self, i: int, h: int, a: int, k: int | None, swap: int | None) -> None:
        self.move(i, h, a)
        if k is not None:
            self.move(k, self.arc[(k, int(self.cols[a]))], swap)

    def move(self, i: int, old: int, new: int) -> None:
        w = self.ints.w
        self.held[i].discard(old)
        self.held[i].add(new)
        self.holders[int(self.cols[old])].discard(i)
        self.holders.setdefault(int(self.cols[new]), set()).add(i)
        self.room[self.cols[old]] += 1
        self.room[self.cols[new]] -= 1
        self.got[i] += w[new] - w[old]

    def chosen(self) -> np.ndarray:
        out = np.zeros(len(self.rows), bool)
        out[[a for arcs in self.held for a in arcs]] = True
        return out


def _solve_fair(
    p: _Problem,
    rows: np.ndarray,
    cols: np.ndarray,
    scores: np.ndarray,
    start: np.ndarray,
    time_limit: float,
) -> tuple[np.ndarray, str]:
    """Max-min share, then max total, keeping the flow's number of meetings: a quick local
    search from the flow's solution ``start``, then two CP-SAT solves, each over the arcs
    that can still matter; past ``FAIR_MAX_ARCS`` of those the local search's result stands."""
    ints = _IntShares.of(p, rows, scores)
    size = int(start.sum())
    began = time.monotonic()
    raised = _RaiseWorst(p, ints, rows, cols, start).run(began + time_limit / 3)
    if (ints.reachable(p, rows, ints.level(rows, raised)) | raised).sum() > FAIR_MAX_ARCS:
        return raised, "feasible"
    left = time_limit - (time.monotonic() - began)
    fairest, proven = _fair_phase(p, ints, rows, cols, raised, size, left * 2 / 3, by_share=True)
    if fairest is None:
        return raised, "feasible"
    left = max(time_limit - (time.monotonic() - began), time_limit / 10)
    final, proven_total = _fair_phase(p, ints, rows, cols, fairest, size, left, by_share=False)
    if final is None:
        return fairest, "feasible"
    return final, "optimal" if proven and proven_total else "feasible"


def _fair_phase(
    p: _Problem,
    ints: _IntShares,
    rows: np.ndarray,
    cols: np.ndarray,
    hint: np.ndarray,
    size: int,
    time_limit: float,
    *,
    by_share: bool,
) -> tuple[np.ndarray | None, bool]:
    """One CP-SAT solve from ``hint``: ``size`` meetings, no share below the hint's smallest;
    maximise the smallest share (``by_share``) or else the total. Returns (chosen arcs or
    None, proven optimal)."""
    level = ints.level(rows, hint)
    keep = np.flatnonzero(ints.reachable(p, rows, level) | hint)
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{a}") for a in keep]
    for bound, groups in (
        (p.left_demand, _group(rows[keep], p.n)),
        (p.left_capacity, _group(cols[keep], p.m)),
    ):
        for node, arcs in enumerate(groups):
            if len(arcs) > bound[node]:
                model.add(cp_model.LinearExpr.sum([x[a] for a in arcs]) <= int(bound[node]))
    model.add(cp_model.LinearExpr.sum(x) == size)
    w = ints.w[keep].tolist()
    totals = {
        i: cp_model.LinearExpr.weighted_sum([x[a] for a in arcs], [w[a] for a in arcs])
        for i, arcs in enumerate(_group(rows[keep], p.n))
        if ints.best[i] > 0
    }
    if by_share:
        t = model.new_int_var(level, ints.scale, "t")
        for i, total in totals.items():
            model.add(ints.scale * (total + int(ints.fixed[i])) >= int(ints.best[i]) * t)
        model.add_hint(t, level)
        model.maximize(t)
    else:  # the level is fixed: each share bound becomes a plain lower bound on a total
        need = -(-(level * ints.best) // ints.scale) - ints.fixed
        for i, total in totals.items():
            model.add(total >= int(need[i]))
        model.maximize(cp_model.LinearExpr.weighted_sum(x, ints.fine[keep].tolist()))
    for var, value in zip(x, hint[keep].tolist()):
        model.add_hint(var, value)
    solver = _solver(time_limit)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, False
    chosen = np.zeros(len(rows), bool)
    chosen[keep] = np.array(solver.response_proto.solution, np.int64)[[v.index for v in x]] > 0
    return chosen, status == cp_model.OPTIMAL


def _group(keys: np.ndarray, size: int) -> list[np.ndarray]:
    """Positions of each key 0..size-1 in ``keys``."""
    order = np.argsort(keys, kind="stable")
    return np.split(order, np.searchsorted(keys[order], np.arange(1, size)))


def _solver(time_limit: float) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = min(8, os.cpu_count() or 1)
    solver.parameters.random_seed = 0
    return solver


# -- the public functions ---------------------------------------------------------------------
def assign(
    scores: np.ndarray,
    *,
    demand: int | Iterable[int] = DEFAULT_DEMAND,
    capacity: int | Iterable[int] = DEFAULT_CAPACITY,
    min_score: float = -np.inf,
    confirmed: Iterable[Pair] = (),
    excluded: PairRule = None,
    conflicts: PairRule = None,
    fair: bool = False,
    standby_size: int = DEFAULT_STANDBY,
    top_k: int | None = None,
    time_limit: float = 10.0,
) -> Assignment:
    """The pairing list: most meetings, then the best total (or with ``fair``, the best
    smallest share, then total). ``excluded``/``conflicts``: pairs or (n, m) boolean masks.
    ``time_limit`` bounds the fair solve, in seconds."""
    p = _prepare(
        scores,
        demand=demand,
        capacity=capacity,
        min_score=min_score,
        confirmed=confirmed,
        excluded=excluded,
        conflicts=conflicts,
    )
    k = _auto_top_k(p, top_k)
    cand = _Candidates(p, k)
    chosen = _solve_plain(p, cand)
    rows, cols, arc_scores = cand.arcs()
    status = "optimal"
    if fair and len(rows):
        chosen, status = _solve_fair(p, rows, cols, arc_scores, chosen, time_limit)
    return _finish(p, cand, rows[chosen], cols[chosen], status, k, standby_size)


def greedy_top_k(
    scores: np.ndarray,
    *,
    k: int | Iterable[int] = DEFAULT_DEMAND,
    capacity: int | Iterable[int] = DEFAULT_CAPACITY,
    min_score: float = -np.inf,
    confirmed: Iterable[Pair] = (),
    excluded: PairRule = None,
    conflicts: PairRule = None,
    standby_size: int = DEFAULT_STANDBY,
) -> Assignment:
    """The baseline: scenario 0, 1, 2… in turn takes its best ``k`` suppliers that still have
    room, under the same rules but with no optimisation."""
    p = _prepare(
        scores,
        demand=k,
        capacity=capacity,
        min_score=min_score,
        confirmed=confirmed,
        excluded=excluded,
        conflicts=conflicts,
    )
    top = _auto_top_k(p, None)
    cand = _Candidates(p, top)
    room = p.left_capacity.copy()
    rows: list[int] = []
    cols: list[int] = []
    for i in range(p.n):
        taken = _greedy_row(cand.cols[i], room, int(p.left_demand[i]))
        if len(taken) < p.left_demand[i] and not cand.full[i]:
            cand.widen(np.array([i]))
            taken = _greedy_row(cand.cols[i], room, int(p.left_demand[i]))
        room[taken] -= 1
        rows += [i] * len(taken)
        cols += taken
    return _finish(
        p, cand, np.array(rows, np.int64), np.array(cols, np.int64), "greedy", top, standby_size
    )


def _greedy_row(candidates: np.ndarray, room: np.ndarray, want: int) -> list[int]:
    return [int(j) for j in candidates[room[candidates] > 0][:want]]


# -- the result, explained --------------------------------------------------------------------
def _finish(
    p: _Problem,
    cand: _Candidates,
    rows: np.ndarray,
    cols: np.ndarray,
    status: str,
    top_k: int | None,
    standby_size: int,
) -> Assignment:
    pairs = sorted(p.confirmed + list(zip(rows.tolist(), cols.tolist())))
    pair_rows = np.array([i for i, _ in pairs], np.int64)
    pair_cols = np.array([j for _, j in pairs], np.int64)
    pair_scores = p.scores[pair_rows, pair_cols].astype(np.float64) if pairs else np.zeros(0)
    counts = np.bincount(pair_rows, minlength=p.n)
    load = np.bincount(pair_cols, minlength=p.m)
    standby, unmet = _standby_and_unmet(p, pairs, counts, load, status, standby_size)
    return Assignment(
        pairs=pairs,
        total_score=float(pair_scores.sum()),
        counts=counts,
        standby=standby,
        unmet=sorted(p.refused + unmet, key=lambda u: u[0]),
        shares=_shares(p, cand, pair_rows, pair_scores),
        status=status,
        top_k=top_k,
    )


def _shares(
    p: _Problem, cand: _Candidates, pair_rows: np.ndarray, pair_scores: np.ndarray
) -> np.ndarray:
    rows, _, scores = cand.arcs()
    floor = _floor(p, scores)
    best = _bests(p, rows, scores - floor, _confirmed_weights(p, floor))
    got = np.zeros(p.n)
    np.add.at(got, pair_rows, pair_scores - floor)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(best > 0, got / np.where(best > 0, best, 1), np.nan)


class _Row(NamedTuple):
    """One scenario's row of the score matrix with its masks; ``free``: allowed, not its own."""

    scores: np.ndarray
    above: np.ndarray
    excluded: np.ndarray
    conflicts: np.ndarray
    free: np.ndarray


def _standby_and_unmet(
    p: _Problem, pairs: list[Pair], counts: np.ndarray, load: np.ndarray, status: str, size: int
) -> tuple[dict[int, list[int]], list[tuple[int, str]]]:
    spare = load < p.capacity
    mine: dict[int, list[int]] = {}
    for i, j in pairs:
        mine.setdefault(i, []).append(j)
    standby: dict[int, list[int]] = {}
    unmet: list[tuple[int, str]] = []
    for rows in p.chunks():
        block, above, excluded, conflicts = p.block(rows)
        free = above & ~excluded & ~conflicts
        for r, i in enumerate(range(rows.start, rows.stop)):
            free[r, mine.get(i, [])] = False
        first = _top(np.where(free & spare, block, -np.inf), size)
        then = _top(np.where(free & ~spare, block, -np.inf), size)
        for r, i in enumerate(range(rows.start, rows.stop)):
            standby[i] = (first[r] + then[r])[:size]
            if counts[i] < p.demand[i]:
                row = _Row(block[r], above[r], excluded[r], conflicts[r], free[r])
                unmet.append((i, _why_short(p, i, int(counts[i]), row, spare, status)))
    return standby, unmet


def _top(masked: np.ndarray, size: int) -> list[list[int]]:
    """Per row, the columns of the ``size`` largest finite values, best first."""
    if size <= 0 or masked.shape[1] == 0:
        return [[] for _ in range(masked.shape[0])]
    size = min(size, masked.shape[1])
    top = np.argpartition(-masked, size - 1, axis=1)[:, :size]
    values = np.take_along_axis(masked, top, 1)
    order = np.argsort(-values, axis=1, kind="stable")
    top, values = np.take_along_axis(top, order, 1), np.take_along_axis(values, order, 1)
    return [row[np.isfinite(vals)].tolist() for row, vals in zip(top, values)]


def _why_short(p: _Problem, i: int, got: int, row: _Row, spare: np.ndarray, status: str) -> str:
    """Why scenario ``i`` has fewer meetings than it asked for, naming the cause."""
    want = int(p.demand[i])
    allowed = row.above & ~row.excluded & ~row.conflicts
    chosen_below = sum(1 for a, j in p.confirmed if a == i and not allowed[j])
    possible = int(allowed.sum()) + chosen_below
    parts = [f"需求 {want} 场，已安排 {got} 场"]
    if possible < want:
        parts.append(_too_few(p.min_score, row, chosen_below))
    full = np.flatnonzero(row.free & ~spare)
    if len(full):
        ranked = full[np.argsort(-row.scores[full], kind="stable")]
        names = "、".join(f"能力 {j}（上限 {p.capacity[j]} 场）" for j in ranked[:NAMED])
        more = f"等 {len(full)} 个" if len(full) > NAMED else ""
        lead = (
            "其余符合条件的能力均已达到对接上限"
            if possible >= want
            else "可对接的能力已达到对接上限"
        )
        parts.append(f"{lead}：{names}{more}")
    idle = int((row.free & spare).sum())
    if idle:
        why = "求解在时限内未证明最优" if status == "feasible" else "未被选中"
        parts.append(f"另有 {idle} 个符合条件且有空位的能力未排入（{why}）")
    return "；".join(parts)


def _too_few(min_score: float, row: _Row, chosen_below: int) -> str:
    """Too few suppliers pass the minimum score and the exclusions: how many, and why."""
    above = int(row.above.sum())
    excluded = int((row.above & row.excluded).sum())
    conflicted = int((row.above & row.conflicts & ~row.excluded).sum())
    scored = f"得分达到最低分 {min_score:g}" if np.isfinite(min_score) else "有得分"
    extra = f"（另有 {chosen_below} 个低于最低分的确认对接）" if chosen_below else ""
    if not excluded and not conflicted:
        return f"只有 {above} 个能力{scored}{extra}"
    cut = "、".join(
        part
        for part in (
            f"{excluded} 个已被排除" if excluded else "",
            f"{conflicted} 个存在利益冲突" if conflicted else "",
        )
        if part
    )
    left = above - excluded - conflicted
    pool = f"得分达到最低分 {min_score:g} 的能力" if np.isfinite(min_score) else "有得分的能力"
    return f"{pool}有 {above} 个，其中 {cut}，只剩 {left} 个可对接{extra}"
