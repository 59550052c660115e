"""Ranking quality against graded relevance judgments (qrels)."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def ndcg_at_k(ranked: Sequence[str], grades: Mapping[str, int], k: int = 10) -> float:
    gains = [grades.get(item, 0) for item in ranked[:k]]
    dcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at_k(ranked: Sequence[str], grades: Mapping[str, int], k: int = 10) -> float:
    relevant = {item for item, g in grades.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def reciprocal_rank(ranked: Sequence[str], grades: Mapping[str, int]) -> float:
    for i, item in enumerate(ranked):
        if grades.get(item, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def evaluate(
    rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]], k: int = 10
) -> dict[str, float]:
    """Mean nDCG@k, recall@k and MRR over the judged queries (a missing ranking scores 0)."""
    judged = [q for q, grades in qrels.items() if any(g > 0 for g in grades.values())]
    if not judged:
        return {f"ndcg@{k}": 0.0, f"recall@{k}": 0.0, "mrr": 0.0, "queries": 0}
    totals = {f"ndcg@{k}": 0.0, f"recall@{k}": 0.0, "mrr": 0.0}
    for query in judged:
        ranked, grades = rankings.get(query, []), qrels[query]
        totals[f"ndcg@{k}"] += ndcg_at_k(ranked, grades, k)
        totals[f"recall@{k}"] += recall_at_k(ranked, grades, k)
        totals["mrr"] += reciprocal_rank(ranked, grades)
    return {**{name: value / len(judged) for name, value in totals.items()}, "queries": len(judged)}
