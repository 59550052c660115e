"""Slots and tables: every schedule passes the independent checker, uses the fewest slots,
and says what it could not place and why."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from matching.scheduling import (
    ReplacementError,
    Schedule,
    check_schedule,
    replace_supplier,
    schedule,
)


def _random_pairs(seed: int, n: int, m: int, meetings: int) -> list[tuple[int, int]]:
    rng = np.random.default_rng(seed)
    cells = [(i, j) for i in range(n) for j in range(m)]
    return sorted(cells[k] for k in rng.choice(len(cells), meetings, replace=False))


def _max_degree(pairs) -> int:
    return max(
        max(Counter(i for i, _ in pairs).values()), max(Counter(j for _, j in pairs).values())
    )


def _brute_force(pairs, n_slots, unavailable_scenario, unavailable_supplier) -> tuple[int, int]:
    """(most meetings placeable, fewest slots placing that many), trying every slot or none
    for every meeting."""
    best = (0, 0)
    busy: set[tuple[int, int, int]] = set()

    def walk(k: int, placed: int, last: int) -> None:
        nonlocal best
        if k == len(pairs):
            best = max(best, (placed, -last))
            return
        i, j = pairs[k]
        for s in range(n_slots):
            if (
                s in unavailable_scenario.get(i, ())
                or s in unavailable_supplier.get(j, ())
                or (0, i, s) in busy
                or (1, j, s) in busy
            ):
                continue
            busy.update({(0, i, s), (1, j, s)})
            walk(k + 1, placed + 1, max(last, s + 1))
            busy.difference_update({(0, i, s), (1, j, s)})
        walk(k + 1, placed, last)

    walk(0, 0, 0)
    return best[0], -best[1]


@pytest.mark.parametrize(
    "seed, n, m, meetings",
    [
        (0, 5, 8, 15),
        (1, 10, 30, 30),
        (2, 30, 60, 90),
        (3, 150, 300, 450),
        (4, 4, 4, 16),
        (5, 20, 10, 120),
    ],
)
def test_without_limits_slots_used_is_the_max_degree(
    seed: int, n: int, m: int, meetings: int
) -> None:
    pairs = _random_pairs(seed, n, m, meetings)
    result = schedule(pairs, n_slots=_max_degree(pairs) + 2, n_tables=n)
    assert check_schedule(result, n_slots=_max_degree(pairs) + 2, n_tables=n, pairs=pairs) == []
    assert result.slots_used == _max_degree(pairs)
    assert not result.unplaced and not result.problems and result.status == "optimal"
    assert len(result.placements) == len(pairs)


@pytest.mark.parametrize(
    "seed, limited", [(s, True) for s in range(12)] + [(s, False) for s in range(4)]
)
def test_most_meetings_in_fewest_slots_matches_brute_force(seed: int, limited: bool) -> None:
    """Most meetings placed, then fewest slots. With availability limits many of these need
    the CP-SAT search and some cannot place everything; without, two slots are too few."""
    rng = np.random.default_rng(seed)
    pairs = _random_pairs(seed, 4, 4, 8)
    n_slots = 4 if limited else 2
    away_scenario = (
        {
            i: set(rng.choice(4, 1 + (rng.random() < 0.3), replace=False).tolist())
            for i in range(4)
            if rng.random() < 0.6
        }
        if limited
        else {}
    )
    away_supplier = (
        {j: set(rng.choice(4, 1).tolist()) for j in range(4) if rng.random() < 0.6}
        if limited
        else {}
    )
    result = schedule(
        pairs,
        n_slots=n_slots,
        n_tables=4,
        unavailable_scenario=away_scenario,
        unavailable_supplier=away_supplier,
    )
    assert (
        check_schedule(
            result,
            n_slots=n_slots,
            n_tables=4,
            unavailable_scenario=away_scenario,
            unavailable_supplier=away_supplier,
            pairs=pairs,
        )
        == []
    )
    most, fewest = _brute_force(pairs, n_slots, away_scenario, away_supplier)
    assert (len(result.placements), result.slots_used) == (most, fewest)
    assert len(result.unplaced) == len(pairs) - most
    assert len([p for p in result.problems if "未排入" in p]) == len(result.unplaced)


def test_availability_is_respected_on_a_larger_event() -> None:
    pairs = _random_pairs(7, 40, 80, 120)
    rng = np.random.default_rng(7)
    away = {j: {int(rng.integers(0, 6))} for j in range(80)}
    result = schedule(pairs, n_slots=6, n_tables=40, unavailable_supplier=away)
    assert (
        check_schedule(result, n_slots=6, n_tables=40, unavailable_supplier=away, pairs=pairs) == []
    )
    assert not result.unplaced


def test_too_few_slots_lists_the_overloaded_and_places_the_rest() -> None:
    pairs = [(3, j) for j in range(5)] + [(0, 1), (1, 2), (2, 7)]
    result = schedule(pairs, n_slots=4, n_tables=10)
    assert check_schedule(result, n_slots=4, n_tables=10, pairs=pairs) == []
    assert "需求方 3 的对接数 5 超过时段数 4；可增加时段或减少其对接" in result.problems
    assert len(result.unplaced) == 1 and result.unplaced[0][0] == 3
    assert any("需求方 3 在所有可用时段都已排满" in p for p in result.problems)
    assert len(result.placements) == len(pairs) - 1  # the most that fit


def test_too_many_scenarios_for_the_tables() -> None:
    pairs = [(i, i) for i in range(5)] + [(0, 9), (1, 9)]
    result = schedule(pairs, n_slots=4, n_tables=3)
    assert check_schedule(result, n_slots=4, n_tables=3, pairs=pairs) == []
    assert result.problems[0].startswith("场景数 5 超过桌数 3：需求方 3、需求方 4 没有桌位")
    assert sorted(result.unplaced) == [(3, 3), (4, 4)]
    assert sorted(result.tables) == [0, 1, 2]


def test_no_common_slot_is_named() -> None:
    pairs = [(0, 1), (0, 2)]
    result = schedule(
        pairs,
        n_slots=3,
        n_tables=1,
        unavailable_scenario={0: {0}},
        unavailable_supplier={1: {1, 2}},
    )
    assert result.unplaced == [(0, 1)]
    assert any("需求方 0 与能力 1" in p and "没有共同的可用时段" in p for p in result.problems)


def test_a_supplier_full_in_all_its_slots_is_named() -> None:
    pairs = [(0, 17), (1, 17), (2, 17)]
    result = schedule(pairs, n_slots=4, n_tables=3, unavailable_supplier={17: {0, 1}})
    assert (
        check_schedule(
            result, n_slots=4, n_tables=3, unavailable_supplier={17: {0, 1}}, pairs=pairs
        )
        == []
    )
    assert len(result.unplaced) == 1
    assert "能力 17 的对接数 3 超过可用时段数 2；可增加时段或减少其对接" in result.problems
    assert any("能力 17 在所有可用时段都已排满" in p for p in result.problems)


def test_locked_meetings_stay_put_and_a_bad_lock_is_reported() -> None:
    pairs = _random_pairs(11, 6, 8, 14)
    locks = {pairs[0]: 3, pairs[1]: 9}
    result = schedule(pairs, n_slots=6, n_tables=6, locked=locks)
    assert check_schedule(result, n_slots=6, n_tables=6, pairs=pairs) == []
    slot_of = {(i, j): s for i, j, s, _ in result.placements}
    assert slot_of[pairs[0]] == 3
    assert pairs[1] in slot_of  # placed freely instead
    assert any("锁定在时段 9 无法满足" in p for p in result.problems)


@pytest.fixture()
def published() -> Schedule:
    return schedule(
        [(0, 10), (0, 11), (1, 11), (1, 12), (2, 13)],
        n_slots=3,
        n_tables=3,
        unavailable_supplier={14: {0, 1}},
    )


def test_replace_supplier_moves_only_the_replaced_meeting(published: Schedule) -> None:
    before = {(i, j): (s, t) for i, j, s, t in published.placements}
    slot, table = before[(2, 13)]
    blocked = {14: {s for s in range(3) if s != slot}}
    after = replace_supplier(published, 2, 13, 14, unavailable_supplier=blocked)
    moved = {(i, j): (s, t) for i, j, s, t in after.placements}
    assert moved.pop((2, 14)) == (slot, table)
    before.pop((2, 13))
    assert moved == before
    assert check_schedule(after, n_slots=3, n_tables=3, unavailable_supplier=blocked) == []
    assert (2, 13) in {(i, j) for i, j, _, _ in published.placements}  # the original is intact


def test_replace_supplier_refuses_an_unfit_standby(published: Schedule) -> None:
    slot_of = {(i, j): s for i, j, s, _ in published.placements}
    with pytest.raises(ReplacementError, match="不可用"):
        replace_supplier(published, 0, 10, 15, unavailable_supplier={15: {slot_of[(0, 10)]}})
    with pytest.raises(ReplacementError, match="已与需求方 0 有对接"):
        replace_supplier(published, 0, 10, 11)
    with pytest.raises(ReplacementError, match="不在日程中"):
        replace_supplier(published, 2, 10, 15)
    with pytest.raises(ReplacementError, match="达到对接上限 1"):
        replace_supplier(published, 0, 10, 13, capacity=1)


def test_replace_supplier_refuses_whoever_is_busy_in_that_slot() -> None:
    published = schedule([(0, 10), (1, 11)], n_slots=1, n_tables=2)
    with pytest.raises(ReplacementError, match="能力 11 在时段 0 已有对接（与需求方 1）"):
        replace_supplier(published, 0, 10, 11)


CLASHES = {
    "participant twice": ([(0, 1, 0, 0), (0, 2, 0, 0)], "需求方 0 在时段 0 有两场对接"),
    "supplier twice": ([(0, 1, 0, 0), (1, 1, 0, 1)], "能力 1 在时段 0 有两场对接"),
    "table twice": ([(0, 1, 0, 0), (1, 2, 0, 0)], "桌 0 在时段 0 有两场对接"),
    "scenario moves": ([(0, 1, 0, 0), (0, 2, 1, 1)], "需求方 0 换了桌"),
    "shared table": ([(0, 1, 0, 0), (1, 2, 1, 0)], "桌 0 分给了两个需求方"),
    "unavailable": ([(0, 5, 2, 0)], "能力 5 在时段 2 不可用"),
    "out of range": ([(0, 1, 7, 0)], "时段 7 超出范围"),
    "dropped": ([(0, 1, 0, 0)], "对接 (3, 4) 既未排入也未列为未排入"),
}


@pytest.mark.parametrize("placements, words", CLASHES.values(), ids=CLASHES.keys())
def test_check_schedule_finds_every_kind_of_clash(placements, words: str) -> None:
    bad = Schedule(placements, 1, [], [])
    pairs = [(i, j) for i, j, _, _ in placements] + [(3, 4)] * (words.startswith("对接 (3"))
    clashes = check_schedule(bad, n_slots=3, n_tables=3, unavailable_supplier={5: {2}}, pairs=pairs)
    assert any(words in c for c in clashes), clashes


def test_duplicate_meetings_are_refused() -> None:
    with pytest.raises(ValueError):
        schedule([(0, 1), (0, 1)], n_slots=2, n_tables=1)
