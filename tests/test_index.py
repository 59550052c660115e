"""The FAISS index against a numpy brute-force oracle, and its add/update/remove."""
from __future__ import annotations

import numpy as np
import pytest

from matching.index import EXACT, IVF, IndexPlan, VectorIndex


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def oracle(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    scores = queries @ vectors.T
    return ids[np.argsort(-scores, axis=1, kind="stable")[:, :k]]


@pytest.mark.parametrize("n, dim, k", [(1, 8, 1), (7, 16, 3), (97, 32, 10), (1001, 384, 17)])
def test_search_agrees_with_brute_force(n: int, dim: int, k: int) -> None:
    rng = np.random.default_rng(n)
    vectors, queries = unit_rows(rng, n, dim), unit_rows(rng, 5, dim)
    ids = rng.choice(10 * n, size=n, replace=False).astype(np.int64)
    scores, found = VectorIndex.build(ids, vectors, dim).search(queries, k)
    expected = oracle(vectors, ids, queries, min(k, n))
    np.testing.assert_array_equal(found[:, : min(k, n)], expected)
    np.testing.assert_allclose(scores[:, 0], (queries @ vectors.T).max(axis=1), rtol=1e-5)


def test_fewer_entries_than_k_pads_with_minus_one() -> None:
    rng = np.random.default_rng(0)
    index = VectorIndex.build([5, 9], unit_rows(rng, 2, 8), 8)
    _, found = index.search(unit_rows(rng, 1, 8), 4)
    assert sorted(found[0, :2].tolist()) == [5, 9]
    assert found[0, 2:].tolist() == [-1, -1]


def test_update_and_remove_without_rebuild_match_a_fresh_build() -> None:
    rng = np.random.default_rng(1)
    dim = 24
    vectors = unit_rows(rng, 50, dim)
    ids = np.arange(100, 150)
    index = VectorIndex.build(ids, vectors, dim)
    replaced = unit_rows(rng, 5, dim)
    index.add(ids[:5], replaced)  # update five in place
    assert index.remove([140, 141, 999]) == 2  # an unknown id is ignored
    vectors[:5] = replaced
    keep = ~np.isin(ids, [140, 141])
    queries = unit_rows(rng, 8, dim)
    _, found = index.search(queries, 10)
    np.testing.assert_array_equal(found, oracle(vectors[keep], ids[keep], queries, 10))
    assert len(index) == 48 and 140 not in index and 100 in index


def test_empty_index_and_wrong_dimension() -> None:
    index = VectorIndex(8)
    _, found = index.search(np.ones((1, 8), np.float32), 3)
    assert (found == -1).all()
    with pytest.raises(ValueError, match="dimension"):
        index.add([1], np.ones((1, 9), np.float32))
    with pytest.raises(ValueError, match="duplicate"):
        index.add([1, 1], np.ones((2, 8), np.float32))


# -- the approximate path (IVF above the plan's threshold) ----------------------------------------
SMALL_PLAN = IndexPlan(exact_below=2_000)


def clustered_rows(rng: np.random.Generator, n: int, dim: int, centres: int = 40) -> np.ndarray:
    """Unit vectors around a few centres, like embeddings of a list with a dozen fields."""
    middle = unit_rows(rng, centres, dim)
    x = middle[rng.integers(0, centres, n)] + 0.35 * rng.standard_normal((n, dim)).astype(np.float32) / np.sqrt(dim)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def recall_at(found: np.ndarray, expected: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found.tolist(), expected.tolist())]))


@pytest.fixture(scope="module")
def clustered() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(6)
    vectors = clustered_rows(rng, 6_001, 48)
    return np.arange(10, 6_011, dtype=np.int64), vectors, clustered_rows(rng, 50, 48)


def test_large_index_is_approximate_with_recall_at_10_of_at_least_098(clustered) -> None:
    ids, vectors, queries = clustered
    index = VectorIndex.build(ids, vectors, 48, SMALL_PLAN)
    assert index.kind == IVF and len(index) == len(ids)
    _, found = index.search(queries, 10)
    assert recall_at(found, oracle(vectors, ids, queries, 10)) >= 0.98


def test_approximate_add_update_remove(clustered) -> None:
    ids, vectors, queries = clustered
    index = VectorIndex.build(ids, vectors, 48, SMALL_PLAN)
    target = queries[0]
    index.add([ids[3]], target[None, :])  # update in place: now the best match of the query
    index.add([99_999], -target[None, :])  # a new entry
    assert index.remove([ids[4], ids[5], 123_456_789]) == 2  # an unknown id is ignored
    assert len(index) == len(ids) - 2 + 1
    assert ids[4] not in index and 99_999 in index
    np.testing.assert_allclose(index.vector(ids[3]), target)
    scores, found = index.search(target[None, :], 5)
    assert found[0, 0] == ids[3] and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    assert ids[4] not in found and 99_999 not in found
    held, held_vectors = index.contents()
    assert sorted(held.tolist()) == sorted([*np.delete(ids, [4, 5]).tolist(), 99_999])
    np.testing.assert_allclose(held_vectors[held.tolist().index(ids[3])], target)


def test_switches_to_ivf_past_the_threshold_and_back_below_half(clustered) -> None:
    ids, vectors, queries = clustered
    index = VectorIndex(48, SMALL_PLAN)
    index.add(ids[:1_500], vectors[:1_500])
    assert index.kind == EXACT
    for start in range(1_500, 2_100, 100):  # growing one batch at a time, as upserts do
        index.add(ids[start:start + 100], vectors[start:start + 100])
    assert index.kind == IVF and len(index) == 2_100
    _, found = index.search(queries, 10)
    assert recall_at(found, oracle(vectors[:2_100], ids[:2_100], queries, 10)) >= 0.98
    index.remove(ids[:1_200])
    assert index.kind == EXACT and len(index) == 900  # exact again below half the threshold
    _, found = index.search(queries, 10)
    np.testing.assert_array_equal(found, oracle(vectors[1_200:2_100], ids[1_200:2_100], queries, 10))


def test_the_cells_are_fitted_again_when_the_index_has_grown(clustered) -> None:
    ids, vectors, _ = clustered
    index = VectorIndex.build(ids[:2_000], vectors[:2_000], 48, SMALL_PLAN)
    first = index.describe()
    index.add(ids[2_000:], vectors[2_000:])  # three times the size, below refit_growth (4×)
    assert index.describe() == first
    plan = IndexPlan(exact_below=2_000, refit_growth=2.0)
    grown = VectorIndex.build(ids[:2_000], vectors[:2_000], 48, plan)
    grown.add(ids[2_000:], vectors[2_000:])
    assert grown.describe() != first and len(grown) == len(ids)
