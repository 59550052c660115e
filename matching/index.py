"""A FAISS inner-product index keyed by the caller's integer ids, exact or approximate by size.

Vectors are expected L2-normalised, so inner product is cosine similarity. Entries can be
added, replaced and removed one at a time; a full rebuild is only ``VectorIndex.build``.

Below ``IndexPlan.exact_below`` entries the index is exact (``IndexFlatIP``). From there on it
is an inverted file (``IndexIVFFlat``: the vectors kept whole, in ``nlist`` k-means cells of
which a query scans ``nprobe``), chosen over HNSW by measurement (docs/BENCHMARKS.md, "Choice of
the approximate index"): at the same recall@10 it builds one to two orders of magnitude faster
on two cores, needs no extra memory for a graph, removes entries in place (HNSW cannot), and
its query time hardly depends on k, while HNSW's efSearch must exceed the 200 candidates the
matcher asks for. The cells are fitted on the vectors held when the index turns approximate
and fitted again whenever it has grown ``refit_growth`` times since (more entries, more
cells); it turns exact again below half the threshold.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import faiss
import numpy as np

EXACT = "exact"
IVF = "ivf"


@dataclass(frozen=True)
class IndexPlan:
    """When the index turns approximate, and how the approximate one is made and searched.

    Measured on vectors like the service's (``bench/bench_index_choice.py``): with nlist = 2·√n
    and nprobe = 32, recall@10 against exact search is 0.99 at 100k (632 cells) and at 1M
    (2,000 cells), and recall@200 (the matcher's candidates) 0.98; nprobe grows past 32 only
    beyond 1,600 cells (about 640k entries)."""

    exact_below: int = 50_000
    lists_per_sqrt: float = 2.0  # nlist = lists_per_sqrt * sqrt(n); more cells build slower
    probe_share: float = 0.02  # nprobe = probe_share * nlist (at least min_probe)
    min_probe: int = 32
    train_per_list: int = 40  # k-means sample: this many vectors per cell (FAISS warns below 39)
    train_iterations: int = 10
    refit_growth: float = 4.0
    seed: int = 1234

    def nlist(self, n: int) -> int:
        return max(1, round(self.lists_per_sqrt * math.sqrt(n)))

    def nprobe(self, nlist: int) -> int:
        return min(nlist, max(self.min_probe, math.ceil(self.probe_share * nlist)))


def _as_matrix(vectors: np.ndarray, dim: int) -> np.ndarray:
    matrix = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
    if matrix.shape[1] != dim:
        raise ValueError(f"vectors have dimension {matrix.shape[1]}, the index has {dim}")
    return matrix


def _as_ids(ids: np.ndarray | list[int]) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))


def _exact(dim: int) -> faiss.Index:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def _exact_contents(index: faiss.IndexIDMap2, dim: int) -> tuple[np.ndarray, np.ndarray]:
    n = int(index.ntotal)
    if not n:
        return np.zeros(0, np.int64), np.zeros((0, dim), np.float32)
    ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    return ids, index.index.reconstruct_n(0, n)


def _ivf_contents(index: faiss.IndexIVFFlat, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) straight from the inverted lists (IVFFlat codes are the float32 rows)."""
    lists, id_parts, vector_parts = index.invlists, [], []
    for cell in range(index.nlist):
        size = lists.list_size(cell)
        if size:
            id_parts.append(faiss.rev_swig_ptr(lists.get_ids(cell), size).copy())
            codes = faiss.rev_swig_ptr(lists.get_codes(cell), size * lists.code_size)
            vector_parts.append(codes.view(np.float32).reshape(size, dim).copy())
    if not id_parts:
        return np.zeros(0, np.int64), np.zeros((0, dim), np.float32)
    return np.concatenate(id_parts).astype(np.int64), np.concatenate(vector_parts)


class VectorIndex:
    """Inner-product search over (id, vector) pairs: exact while small, IVF when large."""

    def __init__(self, dim: int, plan: IndexPlan | None = None):
        self.dim = dim
        self.plan = plan or IndexPlan()
        self._index: faiss.Index = _exact(dim)
        self._ivf: faiss.IndexIVFFlat | None = None
        self._fitted_at = 0  # entries held when the IVF cells were fitted

    @classmethod
    def build(cls, ids: np.ndarray | list[int], vectors: np.ndarray, dim: int,
              plan: IndexPlan | None = None) -> VectorIndex:
        index = cls(dim, plan)
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

    @property
    def kind(self) -> str:
        return EXACT if self._ivf is None else IVF

    def describe(self) -> str:
        """The index as a short label, e.g. ``exact`` or ``IVF nlist=1265 nprobe=38``."""
        if self._ivf is None:
            return EXACT
        return f"IVF nlist={self._ivf.nlist} nprobe={self._ivf.nprobe}"

    def add(self, ids: np.ndarray | list[int], vectors: np.ndarray) -> None:
        """Insert or replace: an id already present gets the new vector."""
        id_array = _as_ids(ids)
        matrix = _as_matrix(vectors, self.dim)
        if len(id_array) != len(matrix):
            raise ValueError(f"{len(id_array)} ids for {len(matrix)} vectors")
        if len(np.unique(id_array)) != len(id_array):
            raise ValueError("duplicate ids in one add")
        if not len(self) and len(id_array) >= self.plan.exact_below:
            self._fit(id_array, matrix)  # a large first fill: straight to the IVF, no exact copy
            return
        self.remove(id_array)
        self._index.add_with_ids(matrix, id_array)
        self._reshape()

    def remove(self, ids: np.ndarray | list[int]) -> int:
        id_array = _as_ids(ids)
        if not len(id_array) or not len(self):
            return 0
        if self._ivf is None:
            removed = int(self._index.remove_ids(faiss.IDSelectorBatch(id_array)))
        else:
            # the IVF's id hashtable takes only an explicit array; it removes in place and
            # skips ids it does not hold
            removed = int(self._ivf.remove_ids(faiss.IDSelectorArray(id_array)))
        if removed:
            self._reshape()
        return removed

    def vector(self, item: int) -> np.ndarray:
        return self._index.reconstruct(int(item))

    def contents(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (id, vector) held, in no particular order."""
        if self._ivf is None:
            return _exact_contents(self._index, self.dim)
        return _ivf_contents(self._ivf, self.dim)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query row, best first; rows are padded with id -1 when the
        index holds fewer than k entries (or, approximate, when the cells scanned do)."""
        matrix = _as_matrix(queries, self.dim)
        k = max(int(k), 1)
        if not len(self):
            return np.zeros((len(matrix), k), np.float32), np.full((len(matrix), k), -1, np.int64)
        return self._index.search(matrix, k)

    # -- exact or approximate, by size --------------------------------------------------------
    def _reshape(self) -> None:
        n, plan = len(self), self.plan
        if self._ivf is None and n >= plan.exact_below:
            ids, vectors = self.contents()
            self._index = _exact(self.dim)  # let the exact copy go before the IVF is filled
            self._fit(ids, vectors)
        elif self._ivf is not None and n < plan.exact_below // 2:
            ids, vectors = self.contents()
            self._index, self._ivf, self._fitted_at = _exact(self.dim), None, 0
            self._index.add_with_ids(vectors, ids)
        elif self._ivf is not None and n >= plan.refit_growth * self._fitted_at:
            self._fit(*self.contents())

    def _fit(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """A new IVF over these entries: k-means cells fitted on a sample, then every entry."""
        plan, n = self.plan, len(ids)
        nlist = plan.nlist(n)
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dim), self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.cp.niter = plan.train_iterations
        ivf.cp.seed = plan.seed
        ivf.cp.min_points_per_centroid = 1  # the sample below is sized on purpose
        sample_size = min(n, plan.train_per_list * nlist)
        sample = vectors[np.random.default_rng(plan.seed).choice(n, sample_size, replace=False)]
        ivf.train(np.ascontiguousarray(sample))
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # lookup and in-place removal by id
        ivf.add_with_ids(np.ascontiguousarray(vectors), np.ascontiguousarray(ids))
        ivf.nprobe = plan.nprobe(nlist)
        self._index, self._ivf, self._fitted_at = ivf, ivf, n
