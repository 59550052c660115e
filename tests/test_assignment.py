"""The pairing list against a brute-force optimum on small matrices, and its explanations."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import numpy as np
import pytest

from matching.assignment import Assignment, assign, greedy_top_k

NEG = -np.inf


def _allowed(scores, min_score, excluded, conflicts) -> np.ndarray:
    _n, _m = scores.shape
    allowed = scores >= min_score
    for i, j in excluded:
        allowed[i, j] = False
    for i, j in conflicts:
        allowed[i, j] = False
    return allowed


def _solutions(scores, demand, capacity, allowed, confirmed) -> Iterator[list[tuple[int, int]]]:
    """Every feasible assignment: confirmed pairs plus, per scenario, any subset of its allowed
    suppliers within its remaining demand and the suppliers' remaining capacity."""
    n, m = scores.shape
    room = capacity.copy()
    for _, j in confirmed:
        room[j] -= 1
    left = [max(int(demand[i]) - sum(1 for a, _ in confirmed if a == i), 0) for i in range(n)]
    options = [[j for j in range(m) if allowed[i, j] and (i, j) not in confirmed] for i in range(n)]

    def walk(i: int, chosen: list[tuple[int, int]]) -> Iterator[list[tuple[int, int]]]:
        if i == n:
            yield chosen
            return
        yield from pick(i, 0, left[i], chosen)

    def pick(i, start, budget, chosen):
        yield from walk(i + 1, chosen)
        if budget == 0:
            return
        for k in range(start, len(options[i])):
            j = options[i][k]
            if room[j] > 0:
                room[j] -= 1
                yield from pick(i, k + 1, budget - 1, chosen + [(i, j)])
                room[j] += 1

    for extra in walk(0, []):
        yield list(confirmed) + extra


def _ints(scores) -> np.ndarray:
    return np.rint(np.where(np.isfinite(scores), scores, 0) * 1000).astype(np.int64)


def _oracle(scores, demand, capacity, min_score=NEG, confirmed=(), excluded=(), conflicts=()):
    """(most meetings, best total among them, best min share, best total at that share)."""
    demand = np.broadcast_to(demand, scores.shape[:1])
    capacity = np.broadcast_to(np.asarray(capacity), scores.shape[1:]).copy()
    allowed = _allowed(scores, min_score, excluded, conflicts)
    w = _ints(scores)
    best = _bests(w, demand, allowed, confirmed)
    results = []
    for solution in _solutions(scores, demand, capacity, allowed, list(confirmed)):
        results.append(
            (len(solution), sum(w[i, j] for i, j in solution), _min_share(w, best, solution))
        )
    most = max(r[0] for r in results)
    top = [r for r in results if r[0] == most]
    fairest = max(r[2] for r in top)
    return most, max(r[1] for r in top), fairest, max(r[1] for r in top if r[2] == fairest)


def _bests(w, demand, allowed, confirmed) -> list[int]:
    out = []
    for i in range(w.shape[0]):
        mine = [j for a, j in confirmed if a == i]
        rest = sorted(
            (w[i, j] for j in range(w.shape[1]) if allowed[i, j] and j not in mine), reverse=True
        )
        out.append(sum(w[i, j] for j in mine) + sum(rest[: max(int(demand[i]) - len(mine), 0)]))
    return out


def _min_share(w, best, solution) -> Fraction:
    got = [0] * len(best)
    for i, j in solution:
        got[i] += w[i, j]
    shares = [Fraction(int(g), int(b)) for g, b in zip(got, best) if b > 0]
    return min(shares, default=Fraction(1))


def _check_rules(
    result: Assignment,
    scores,
    demand=3,
    capacity=4,
    min_score=NEG,
    confirmed=(),
    excluded=(),
    conflicts=(),
) -> None:
    n, m = scores.shape
    demand = np.broadcast_to(demand, (n,))
    capacity = np.broadcast_to(capacity, (m,))
    allowed = _allowed(scores, min_score, excluded, conflicts)
    assert len(set(result.pairs)) == len(result.pairs)
    for i, j in result.pairs:
        assert allowed[i, j] or (i, j) in confirmed
    assert set(confirmed) <= set(result.pairs)
    per_scenario = np.bincount([i for i, _ in result.pairs], minlength=n)
    per_supplier = np.bincount([j for _, j in result.pairs], minlength=m)
    confirmed_per = np.bincount([i for i, _ in confirmed], minlength=n)
    assert (per_scenario <= np.maximum(demand, confirmed_per)).all()
    assert (per_supplier <= capacity).all()
    assert (result.counts == per_scenario).all()
    assert result.total_score == pytest.approx(sum(scores[i, j] for i, j in result.pairs))
    short = {i for i in range(n) if per_scenario[i] < demand[i]}
    assert short == {i for i, _ in result.unmet}  # every shortfall is explained


def _random_case(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    n, m = (3, 5) if seed % 2 else (4, 4)
    scores = np.round(rng.random((n, m)), 2)
    cells = [(i, j) for i in range(n) for j in range(m)]
    picks = rng.permutation(len(cells))
    return {
        "scores": scores,
        "demand": rng.integers(1, 4 if n == 3 else 3, n),
        "capacity": rng.integers(1, 3, m),
        "min_score": 0.25,
        "excluded": [cells[k] for k in picks[:2]],
        "conflicts": [cells[k] for k in picks[2:3]],
        "confirmed": [cells[k] for k in picks[3:4] if scores[cells[k]] >= 0.25],
    }


S4 = np.array(
    [
        [0.9, 0.8, 0.3, 0.6, 0.2],
        [0.7, 0.9, 0.5, 0.1, 0.4],
        [0.9, 0.2, 0.8, 0.7, 0.6],
        [0.3, 0.6, 0.9, 0.5, 0.7],
    ]
)
CASES = {
    "capacity binding": {"scores": S4[:, :3], "demand": 2, "capacity": 1},
    "infeasible demand": {"scores": S4, "demand": 3, "capacity": 2, "min_score": 0.75},
    "confirmed pairs": {
        "scores": S4[:3],
        "demand": 2,
        "capacity": 2,
        "confirmed": [(0, 4), (1, 3), (2, 0)],
    },
    "excluded pairs": {
        "scores": S4[:3],
        "demand": 2,
        "capacity": 1,
        "excluded": [(0, 0), (2, 0), (1, 1)],
    },
    "conflicts": {
        "scores": S4[:3, :4],
        "demand": 2,
        "capacity": 2,
        "conflicts": [(0, 0), (0, 1), (2, 2)],
    },
    "ties": {
        "scores": np.array([[1.0, 1.0, 0.5, 0.5], [1.0, 1.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]]),
        "demand": 2,
        "capacity": 1,
    },
    "min score": {"scores": S4, "demand": 2, "capacity": 2, "min_score": 0.6},
    "uneven demand and capacity": {
        "scores": S4,
        "demand": np.array([3, 1, 2, 2]),
        "capacity": np.array([1, 2, 1, 3, 1]),
    },
    **{f"random {seed}": _random_case(seed) for seed in range(8)},
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_plain_matches_brute_force(case: dict) -> None:
    most, best_total, _, _ = _oracle(**case)
    result = assign(**case)
    _check_rules(result, **case)
    assert result.status == "optimal"
    assert len(result.pairs) == most
    assert result.total_score == pytest.approx(best_total / 1000, abs=1e-4)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_fair_matches_brute_force_max_min(case: dict) -> None:
    most, _, fairest, total_at_fairest = _oracle(**case)
    result = assign(**case, fair=True)
    _check_rules(result, **case)
    assert result.status == "optimal"
    assert len(result.pairs) == most
    allowed = _allowed(
        case["scores"],
        case.get("min_score", NEG),
        case.get("excluded", ()),
        case.get("conflicts", ()),
    )
    w = _ints(case["scores"])
    best = _bests(
        w, np.broadcast_to(case["demand"], w.shape[:1]), allowed, case.get("confirmed", ())
    )
    assert _min_share(w, best, result.pairs) == fairest
    assert sum(w[i, j] for i, j in result.pairs) == total_at_fairest


def test_fair_raises_the_worst_served_scenario_where_plain_does_not() -> None:
    scores = np.array([[1.0, 0.5], [0.55, 0.1]])
    plain = assign(scores, demand=1, capacity=1)
    fair = assign(scores, demand=1, capacity=1, fair=True)
    assert plain.pairs == [(0, 0), (1, 1)]
    assert fair.pairs == [(0, 1), (1, 0)]
    assert fair.min_share == pytest.approx(0.5) and plain.min_share == pytest.approx(0.1 / 0.55)


def test_demand_is_met_before_score_is_raised() -> None:
    """One pair scoring 1.0 beats two scoring 0.2 in total; two meetings win anyway."""
    scores = np.array([[1.0, 0.1], [0.1, 0.0]])
    result = assign(scores, demand=1, capacity=1, min_score=0.05)
    assert result.pairs == [(0, 1), (1, 0)]
    assert not result.unmet


@pytest.mark.parametrize("top_k", [1, 2])
def test_a_tight_candidate_cut_still_meets_demand(top_k: int) -> None:
    rng = np.random.default_rng(5)
    scores = rng.random((12, 20))
    scores[:, 0] += 1  # everyone's favourite, and it can take only one
    dense = assign(scores, demand=2, capacity=1)
    cut = assign(scores, demand=2, capacity=1, top_k=top_k)
    assert len(cut.pairs) == len(dense.pairs) == 20
    _check_rules(cut, scores, 2, 1)
    assert cut.top_k == top_k and dense.top_k is None


REASONS = {
    "few above the minimum": (
        {"scores": np.array([[0.9, 0.2, 0.1]]), "demand": 3, "min_score": 0.5},
        ["需求 3 场，已安排 1 场；只有 1 个能力得分达到最低分 0.5"],
    ),
    "exclusions and conflicts": (
        {
            "scores": np.array([[0.9, 0.8, 0.7, 0.1]]),
            "demand": 3,
            "min_score": 0.5,
            "excluded": [(0, 1)],
            "conflicts": [(0, 2)],
        },
        ["得分达到最低分 0.5 的能力有 3 个，其中 1 个已被排除、1 个存在利益冲突，只剩 1 个可对接"],
    ),
    "too few and one of them full": (
        {
            "scores": np.array([[0.9, 0.8, 0.1], [0.95, 0.1, 0.1]]),
            "demand": 3,
            "capacity": 1,
            "min_score": 0.5,
        },
        [
            "只有 2 个能力得分达到最低分 0.5；可对接的能力已达到对接上限：能力 0（上限 1 场）",
            "只有 1 个能力得分达到最低分 0.5",
        ],
    ),
    "suppliers at capacity": (
        {
            "scores": np.array([[0.9, 0.8, 0.1], [0.95, 0.85, 0.1]]),
            "demand": 2,
            "capacity": 1,
            "min_score": 0.5,
        },
        ["其余符合条件的能力均已达到对接上限", "能力 0（上限 1 场）"],
    ),
}


@pytest.mark.parametrize("case, words", REASONS.values(), ids=REASONS.keys())
def test_unmet_reasons_name_the_cause(case: dict, words: list[str]) -> None:
    result = assign(**case)
    _check_rules(result, **case)
    reasons = " ".join(reason for _, reason in result.unmet)
    for word in words:
        assert word in reasons


def test_capacity_shortfall_names_the_full_supplier() -> None:
    scores = np.array([[0.9, 0.8, 0.1], [0.95, 0.85, 0.1]])
    result = assign(scores, demand=2, capacity=np.array([1, 2, 1]), min_score=0.5)
    [(_who, reason)] = result.unmet
    assert "能力 0（上限 1 场）" in reason and "能力 1" not in reason


@pytest.mark.parametrize(
    "rule, word",
    [
        ({"conflicts": [(0, 1)]}, "利益冲突"),
        ({"excluded": [(0, 1)]}, "已被排除"),
        ({"capacity": np.array([4, 1, 4])}, "对接上限 1"),
    ],
)
def test_an_infeasible_confirmed_pair_is_reported_not_assigned(rule: dict, word: str) -> None:
    scores = np.array([[0.9, 0.5, 0.3], [0.4, 0.8, 0.2]])
    confirmed = [(1, 1), (0, 1)]  # with capacity 1, the first one listed keeps the supplier
    result = assign(scores, demand=1, confirmed=confirmed, **rule)
    assert (0, 1) not in result.pairs
    assert any(
        i == 0 and "确认的对接（能力 1）无法安排" in r and word in r for i, r in result.unmet
    )


def test_a_confirmed_pair_below_the_minimum_is_kept() -> None:
    scores = np.array([[0.9, 0.1, 0.8]])
    result = assign(scores, demand=2, min_score=0.5, confirmed=[(0, 1)])
    assert result.pairs == [(0, 0), (0, 1)] and not result.unmet


def test_standby_ranks_spare_suppliers_first() -> None:
    scores = np.array([[0.9, 0.85, 0.8, 0.7, 0.6, 0.1], [0.95, 0.1, 0.1, 0.1, 0.1, 0.1]])
    result = assign(
        scores,
        demand=1,
        capacity=np.array([1, 1, 1, 1, 1, 1]),
        min_score=0.5,
        conflicts=[(0, 3)],
        standby_size=3,
    )
    assert result.pairs == [(0, 1), (1, 0)]
    # 2 and 4 have room, 0 is full, 3 is in conflict, 5 is below the minimum
    assert result.standby[0] == [2, 4, 0]
    assert result.standby[1] == []


def test_greedy_baseline_obeys_the_rules_and_never_beats_the_optimum() -> None:
    for seed in range(5):
        rng = np.random.default_rng(seed)
        scores = rng.random((15, 25))
        scores[:, :3] += 0.5
        greedy = greedy_top_k(scores, k=3, capacity=2)
        best = assign(scores, demand=3, capacity=2)
        _check_rules(greedy, scores, 3, 2)
        assert len(greedy.pairs) <= len(best.pairs)
        assert greedy.total_score <= best.total_score + 1e-9
        assert greedy.status == "greedy"


def test_conflicts_as_a_mask_equal_conflicts_as_pairs() -> None:
    scores = np.round(np.random.default_rng(2).random((4, 5)), 2)
    mask = np.zeros((4, 5), bool)
    mask[0, 1] = mask[3, 4] = True
    assert assign(scores, conflicts=mask).pairs == assign(scores, conflicts=[(0, 1), (3, 4)]).pairs


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        assign(np.zeros((2, 2)), confirmed=[(0, 5)])
    with pytest.raises(ValueError):
        assign(np.zeros((2, 2)), demand=[1, 2, 3])
    with pytest.raises(ValueError):
        assign(np.zeros((2, 2)), conflicts=np.zeros((3, 3), bool))


def test_past_the_cp_sat_size_the_local_search_still_raises_the_worst(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Large fair problems keep the local search's result: it obeys every rule, keeps the
    number of meetings and never lowers the smallest share."""
    monkeypatch.setattr("matching.assignment.FAIR_MAX_ARCS", 0)
    rng = np.random.default_rng(9)
    scores = rng.random((30, 40)) * 0.5 + rng.random(40)[None, :] * 0.5  # popular suppliers
    rules = {"demand": 3, "capacity": 2, "min_score": 0.3, "conflicts": [(0, 1), (4, 7)]}
    plain = assign(scores, **rules)
    fair = assign(scores, **rules, fair=True)
    _check_rules(fair, scores, **rules)
    assert fair.status == "feasible"
    assert len(fair.pairs) == len(plain.pairs)
    assert fair.min_share > plain.min_share


@pytest.mark.parametrize("fair", [False, True])
def test_negative_scores_still_meet_demand_first(fair: bool) -> None:
    case = {"scores": S4 - 0.75, "demand": 2, "capacity": 1}
    most, best_total, _, _ = _oracle(**case)
    result = assign(**case, fair=fair)
    _check_rules(result, **case)
    assert len(result.pairs) == most
    if not fair:
        assert result.total_score == pytest.approx(best_total / 1000, abs=1e-4)
    assert np.nanmin(result.shares) >= 0
