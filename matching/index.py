"""A FAISS inner-product index keyed by the caller's integer ids.

Vectors are expected L2-normalised, so inner product is cosine similarity. Entries can be
added, replaced and removed one at a time; a full rebuild is only ``VectorIndex.build``.
"""
from __future__ import annotations

import faiss
import numpy as np


def _as_matrix(vectors: np.ndarray, dim: int) -> np.ndarray:
    matrix = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
    if matrix.shape[1] != dim:
        raise ValueError(f"vectors have dimension {matrix.shape[1]}, the index has {dim}")
    return matrix


def _as_ids(ids: np.ndarray | list[int]) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))


class VectorIndex:
    """Exact inner-product search over (id, vector) pairs."""

    def __init__(self, dim: int):
        self.dim = dim
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @classmethod
    def build(cls, ids: np.ndarray | list[int], vectors: np.ndarray, dim: int) -> VectorIndex:
        index = cls(dim)
        if len(ids):
            index.add(ids, vectors)
        return index

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def __contains__(self, item: int) -> bool:
        try:
            self._index.reconstruct(int(item))
        except RuntimeError:
            return False
        return True

    def add(self, ids: np.ndarray | list[int], vectors: np.ndarray) -> None:
        """Insert or replace: an id already present gets the new vector."""
        id_array = _as_ids(ids)
        matrix = _as_matrix(vectors, self.dim)
        if len(id_array) != len(matrix):
            raise ValueError(f"{len(id_array)} ids for {len(matrix)} vectors")
        if len(np.unique(id_array)) != len(id_array):
            raise ValueError("duplicate ids in one add")
        self.remove(id_array)
        self._index.add_with_ids(matrix, id_array)

    def remove(self, ids: np.ndarray | list[int]) -> int:
        id_array = _as_ids(ids)
        if not len(id_array) or not len(self):
            return 0
        return int(self._index.remove_ids(faiss.IDSelectorBatch(id_array)))

    def vector(self, item: int) -> np.ndarray:
        return self._index.reconstruct(int(item))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query row, best first; rows are padded with id -1 when the
        index holds fewer than k entries."""
        matrix = _as_matrix(queries, self.dim)
        k = max(int(k), 1)
        if not len(self):
            return np.zeros((len(matrix), k), np.float32), np.full((len(matrix), k), -1, np.int64)
        return self._index.search(matrix, k)
