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


def _big_world(n_caps: int = 600) -> tuple[Matcher, list[Entry], list[Entry]]:
    rng = np.random.default_rng(8)
    words = [f"词{i}" for i in range(60)]
    fields = ["低空经济", "智慧交通", "生物医药"]

    def entry(i: int, clauses: bool) -> Entry:
        tokens = list(rng.choice(words, 6))
        return Entry(i, unit(rng.standard_normal(DIM)), "zh", tokens, fields[i % 3],
                     np.stack([unit(rng.standard_normal(DIM))]) if clauses else None, ["需求"] if clauses else [])

    opps = [entry(i, True) for i in range(1, 21)]
    caps = [entry(i, False) for i in range(100, 100 + n_caps)]
    matcher = Matcher(DIM, candidates=40)
    matcher.load(opps, caps)
    return matcher, opps, caps


@pytest.mark.parametrize("share", [1.0, 0.34, 0.02])
def test_a_filter_still_gets_the_nearest_allowed_candidates(share: float) -> None:
    matcher, opps, caps = _big_world()
    rng = np.random.default_rng(2)
    allowed = {c.id for c in caps if rng.random() < share}
    side = matcher.sides[CAPABILITY]
    ids = np.array(sorted(allowed))
    for opp in opps[:5]:
        vector = matcher.sides[OPPORTUNITY].corrected[opp.id]
        found = matcher._dense_candidates(CAPABILITY, vector, allowed)
        sims = np.stack([side.corrected[i] for i in ids]) @ vector
        assert found == ids[np.argsort(-sims, kind="stable")[: matcher.candidates]].tolist()
        assert all(m.capability in allowed for m in matcher.for_opportunity(opp.id, k=5, allowed=allowed))


def test_an_upsert_does_not_rebuild_bm25_and_scores_agree_both_ways() -> None:
    matcher, opps, caps = _big_world()
    matcher.for_opportunity(opps[0].id, k=5, allowed=None)  # builds BM25
    lexical = matcher.sides[CAPABILITY].lexical()
    new = Entry(5_000, caps[0].vector, "zh", opps[0].tokens + ["词1"], "低空经济")
    matcher.upsert(CAPABILITY, new)
    matcher.remove(CAPABILITY, caps[1].id)
    assert matcher.sides[CAPABILITY].lexical() is lexical  # changed entries scored beside the base
    forward = {m.capability: m.score for m in matcher.for_opportunity(opps[0].id, k=50)}
    assert 5_000 in forward and caps[1].id not in forward
    backward = {m.opportunity: m.score for m in matcher.for_capability(5_000, k=50)}
    assert backward[opps[0].id] == pytest.approx(forward[5_000])
    # the same entry scored by a fresh load: BM25 of an added entry uses the base's statistics
    fresh = Matcher(DIM, candidates=40)
    fresh.load(opps, [c for c in caps if c.id != caps[1].id] + [new])
    again = {m.capability: m.score for m in fresh.for_opportunity(opps[0].id, k=50)}
    assert again[5_000] == pytest.approx(forward[5_000], abs=0.01)


def test_added_entries_score_like_base_entries_under_the_same_statistics() -> None:
    matcher, opps, caps = _big_world()
    lexical = matcher.sides[CAPABILITY].lexical()
    base = lexical.base_row(opps[0].tokens)
    for cap in caps[:20]:  # re-added with the same tokens: the same BM25 as in the base index
        lexical.put(cap.id, cap.tokens)
        assert lexical.added_score(cap.id, opps[0].tokens) == pytest.approx(
            float(base[lexical.positions[cap.id]]), rel=1e-4, abs=1e-5)


def test_one_base_entry_scored_alone_equals_its_place_in_the_whole_row() -> None:
    matcher, opps, caps = _big_world()
    lexical = matcher.sides[CAPABILITY].lexical()
    for opp in opps[:5]:
        row = lexical.base_row(opp.tokens)
        for cap in caps[:50]:
            assert lexical.base_score(cap.id, opp.tokens) == pytest.approx(
                float(row[lexical.positions[cap.id]]), rel=1e-4, abs=1e-5)


def test_a_capabilitys_matches_do_not_score_whole_rows_and_agree_with_the_other_direction() -> None:
    """At 1M capabilities each whole row is 4 MB and 15+ ms; a capability's matches need one
    pair per opportunity, so they are scored one by one (the same values)."""
    matcher, opps, caps = _big_world()
    rows = []
    original = matcher.sides[CAPABILITY].lexical().index.scores
    matcher.sides[CAPABILITY].lexical().index.scores = lambda q: rows.append(1) or original(q)
    for opp in opps:
        matcher._top(opp.id)  # each opportunity's best BM25: one row each, kept
    matcher._rows.clear()
    rows.clear()
    backward = {m.opportunity: m.score for m in matcher.for_capability(caps[3].id, k=20)}
    assert rows == []
    many = [c.id for c in caps[:40]]  # more than FEW_PAIRS: scored from whole rows
    matrix = matcher.score_matrix(list(backward), many)
    assert rows  # (the other path, for comparison)
    for r, score in enumerate(backward.values()):
        assert float(matrix[r, many.index(caps[3].id)]) == pytest.approx(score, rel=1e-5)


def test_search_finds_an_entry_added_since_the_build_that_shares_no_words(world) -> None:
    """A new capability whose tokens miss the query entirely is still a dense candidate: its
    BM25 part is 0, not a missing row (this used to raise KeyError in the search page)."""
    matcher, axes = world
    matcher.search(CAPABILITY, axes["road"], ["道路"], k=3)  # builds the BM25 base
    matcher.upsert(CAPABILITY, Entry(20, unit(axes["road"] + 0.01 * axes["lab"]), "zh", ["全新", "词语"], "智慧交通"))
    found = dict(matcher.search(CAPABILITY, axes["road"], ["道路"], k=5))
    assert 20 in found and 12 in found
    assert found[12] > found[20] - 0.05  # 12 has the word as well as the direction


def test_warm_builds_the_lexical_index_before_the_first_query(world) -> None:
    matcher, _ = world
    matcher.load(list(matcher.sides[OPPORTUNITY].entries.values()), list(matcher.sides[CAPABILITY].entries.values()))
    assert matcher.sides[CAPABILITY]._lexical is None  # lazily built: the first query would pay for it
    matcher.warm()
    built = matcher.sides[CAPABILITY]._lexical
    assert built is not None
    matcher.for_opportunity(1, k=3)
    assert matcher.sides[CAPABILITY]._lexical is built  # the query used it, did not build another
