"""The FAISS index against a numpy brute-force oracle, and its add/update/remove."""
from __future__ import annotations

import numpy as np
import pytest

from matching.index import VectorIndex


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
