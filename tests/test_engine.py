"""The matcher: fused ranking in both directions, coverage of requirements, live updates."""
from __future__ import annotations

import numpy as np
import pytest

from matching.engine import CAPABILITY, OPPORTUNITY, Entry, Matcher
from matching.scoring import Weights

DIM = 32


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


@pytest.fixture()
def world() -> tuple[Matcher, dict[str, np.ndarray]]:
    """One drone-delivery opportunity whose text is mostly about drones, with two requirements
    (route dispatch, cold chain); a capability that meets both, a near miss that is all about
    drones but has no cold chain, and unrelated ones."""
    rng = np.random.default_rng(3)
    names = ("drone", "route", "cold", "road", "farm", "lab")
    axes = {name: unit(rng.standard_normal(DIM)) for name in names}
    opp = Entry(1, unit(2 * axes["drone"] + axes["route"] + axes["cold"]), "zh", ["无人机", "样本", "转运"],
                "低空经济", np.stack([axes["route"], axes["cold"]]), ["无人机航线调度", "样本冷链温控"])
    caps = [
        Entry(10, unit(0.3 * axes["drone"] + axes["route"] + axes["cold"]), "zh", ["无人机", "冷链"], "低空经济"),
        Entry(11, unit(2 * axes["drone"] + axes["route"] + axes["farm"]), "zh", ["无人机", "植保"], "低空经济"),
        Entry(12, unit(axes["road"]), "zh", ["道路"], "智慧交通"),
        Entry(13, unit(axes["lab"] + 0.2 * axes["cold"]), "zh", ["样本", "检测"], "生物医药"),
    ]
    other = Entry(2, unit(axes["road"] + 0.1 * axes["drone"]), "zh", ["道路", "巡检"], "智慧交通",
                  np.stack([axes["road"]]), ["道路巡检"])
    matcher = Matcher(DIM, weights=Weights(dense=1, coverage=1, lexical=0.3, field=0.05))
    matcher.load([opp, other], caps)
    return matcher, axes


def test_the_capability_covering_every_requirement_beats_the_near_miss(world) -> None:
    matcher, _ = world
    ranked = matcher.for_opportunity(1, k=4)
    assert [m.capability for m in ranked[:2]] == [10, 11]
    best, near_miss = ranked[0], ranked[1]
    assert near_miss.dense > best.dense  # the whole texts look alike...
    assert best.coverage > near_miss.coverage  # ...the requirements tell them apart
    assert best.covered == ["无人机航线调度", "样本冷链温控"]
    assert near_miss.covered == ["无人机航线调度"]


def test_both_directions_give_the_same_score_for_a_pair(world) -> None:
    matcher, _ = world
    forward = {m.capability: m.score for m in matcher.for_opportunity(1, k=10)}
    for cap in forward:
        backward = {m.opportunity: m.score for m in matcher.for_capability(cap, k=10)}
        assert backward[1] == pytest.approx(forward[cap])


def test_allowed_restricts_proposals(world) -> None:
    matcher, _ = world
    assert [m.capability for m in matcher.for_opportunity(1, k=10, allowed={12, 13})] in ([12, 13], [13, 12])
    assert matcher.for_opportunity(1, k=10, allowed=set()) == []


def test_upsert_and_remove_take_effect_without_reload(world) -> None:
    matcher, axes = world
    matcher.upsert(CAPABILITY, Entry(14, unit(2 * axes["drone"] + axes["route"] + axes["cold"]), "zh", ["无人机", "样本", "转运"],
                                     "低空经济"))
    assert matcher.for_opportunity(1, k=1)[0].capability == 14
    matcher.remove(CAPABILITY, 14)
    assert 14 not in [m.capability for m in matcher.for_opportunity(1, k=10)]
    matcher.remove(OPPORTUNITY, 2)
    assert [m.opportunity for m in matcher.for_capability(12, k=10)] == [1]


def test_score_matrix_matches_single_queries(world) -> None:
    matcher, _ = world
    matrix = matcher.score_matrix([1, 2], [10, 11, 12, 13])
    for row, opp in enumerate([1, 2]):
        single = {m.capability: m.score for m in matcher.for_opportunity(opp, k=10)}
        assert matrix[row].tolist() == pytest.approx([single[c] for c in [10, 11, 12, 13]])
