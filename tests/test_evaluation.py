"""Ranking metrics on cases small enough to work out by hand."""
from __future__ import annotations

import math

import pytest

from matching.evaluation import evaluate, ndcg_at_k, recall_at_k, reciprocal_rank

GRADES = {"a": 2, "b": 1}


@pytest.mark.parametrize(
    "ranked, ndcg",
    [
        (["a", "b", "x"], 1.0),
        (["b", "a"], (1 + 3 / math.log2(3)) / (3 + 1 / math.log2(3))),
        (["x", "y"], 0.0),
    ],
)
def test_ndcg(ranked: list[str], ndcg: float) -> None:
    assert ndcg_at_k(ranked, GRADES, 10) == pytest.approx(ndcg)


def test_recall_and_reciprocal_rank() -> None:
    assert recall_at_k(["x", "a", "y"], GRADES, 2) == 0.5
    assert recall_at_k(["x", "a", "b"], GRADES, 10) == 1.0
    assert reciprocal_rank(["x", "y", "b"], GRADES) == pytest.approx(1 / 3)
    assert reciprocal_rank(["x"], GRADES) == 0.0


def test_evaluate_averages_judged_queries_and_counts_missing_rankings_as_zero() -> None:
    result = evaluate({"q1": ["a", "b"]}, {"q1": GRADES, "q2": {"c": 2}})
    assert result["queries"] == 2
    assert result["mrr"] == pytest.approx(0.5)
    assert result["ndcg@10"] == pytest.approx(0.5)
