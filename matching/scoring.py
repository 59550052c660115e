"""How well capabilities fit one opportunity: the parts of the score and their fusion.

Every part is a function of the pair alone (given the lists), so ranking capabilities for an
opportunity and opportunities for a capability read the same number.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Weights:
    """Fusion weights, chosen by measuring on the dev set (``scenario-match eval``).

    Tuned on the judged opportunities JH2026-001..080 and checked on JH2026-081..160: the
    results are flat around these values (nDCG@10 within 0.01), and a larger lexical weight
    loses, most on English capabilities, which BM25 cannot see."""

    dense: float = 1.0
    coverage: float = 1.0
    lexical: float = 0.1
    field: float = 0.1


COVERED_AT = 0.25
"""Corrected clause similarity at which a requirement counts as covered (shown as a reason).
On the dev set, strong fits in the top 10 cover 41% of their opportunity's requirements at
this level and non-fits 11% (at 0.35: 21% and 1%, too few to be worth showing)."""


@dataclass
class Parts:
    """Score parts for one opportunity against n capabilities (arrays of length n)."""

    dense: np.ndarray
    coverage: np.ndarray
    lexical: np.ndarray
    same_field: np.ndarray
    clause_sims: np.ndarray  # (n_clauses, n); zero rows when the opportunity has no clauses

    def total(self, weights: Weights) -> np.ndarray:
        return (
            weights.dense * self.dense
            + weights.coverage * self.coverage
            + weights.lexical * self.lexical
            + weights.field * self.same_field
        )

    def covered(self, i: int) -> list[int]:
        return np.flatnonzero(self.clause_sims[:, i] >= COVERED_AT).tolist()


def score_parts(
    *,
    vector: np.ndarray,
    clauses: np.ndarray,
    field: str | None,
    capability_vectors: np.ndarray,
    capability_fields: list[str | None],
    lexical: np.ndarray,
) -> Parts:
    """The opportunity (corrected ``vector`` and requirement ``clauses``) against capabilities.

    Coverage is the mean over the opportunity's requirements of how well the capability meets
    each: a same-field near miss matches the whole text but leaves a requirement uncovered,
    which the mean shows and whole-text similarity hides.
    """
    dense = capability_vectors @ vector
    clause_sims = clauses @ capability_vectors.T if len(clauses) else np.zeros((0, len(dense)))
    cover = np.clip(clause_sims, 0.0, None).mean(axis=0) if len(clauses) else np.clip(dense, 0.0, None)
    same = np.array([bool(field) and f == field for f in capability_fields], dtype=np.float32)
    return Parts(dense, cover, np.asarray(lexical, np.float32), same, clause_sims)
