"""Ranking quality on the shipped seed lists and their labelled dev set.

These figures are what `scenario-match eval` prints; here they guard the three traps the
matching must avoid: English capabilities kept out of Chinese opportunities' top 10 by
language bias, BM25 fusion that loses to dense alone, and same-field near misses.
"""
from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.context import Context
from service.evaluate import SHIPPED, VARIANTS, measure, rankings, read_cases, read_qrels
from service.settings import Settings
from tests.conftest import SEED

LEXICAL, DENSE = VARIANTS[0].name, VARIANTS[1].name


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Context:
    data = tmp_path_factory.mktemp("seeded")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SCENARIO_MATCH_DATA_DIR", str(data))
        result = CliRunner().invoke(app, ["seed"])
        assert result.exit_code == 0, result.output
        assert CliRunner().invoke(app, ["seed", "--if-empty"]).stdout.startswith("数据库已有数据")
    return Context(Settings(data_dir=data))


@pytest.fixture(scope="module")
def qrels() -> dict[str, dict[str, int]]:
    return read_qrels(SEED / "qrels.tsv")


@pytest.fixture(scope="module")
def results(seeded: Context, qrels) -> dict:
    slices = {"all": set(qrels), **read_cases(SEED / "dev_cases.tsv")}
    return measure(seeded, qrels, slices)


def test_seed_lists_meet_the_plan_targets(seeded: Context, qrels) -> None:
    with open(SEED / "opportunities.csv", encoding="utf-8") as f:
        assert len(list(csv.reader(f))) - 1 >= 150
    with open(SEED / "capabilities.csv", encoding="utf-8") as f:
        assert len(list(csv.reader(f))) - 1 >= 300
    assert len(qrels) >= 40
    assert len(seeded.matches.published("opportunity")) >= 150
    assert len(seeded.matches.published("capability")) >= 300


@pytest.mark.parametrize("slice_", ["all", "english", "near_miss"])
@pytest.mark.parametrize("baseline", [LEXICAL, DENSE])
def test_shipped_ranking_is_clearly_ahead(results: dict, slice_: str, baseline: str) -> None:
    shipped, base = results[SHIPPED.name][slice_], results[baseline][slice_]
    assert shipped["queries"] >= 10
    assert shipped["ndcg@10"] >= base["ndcg@10"] + 0.05, (slice_, baseline, shipped, base)
    assert shipped["recall@10"] >= base["recall@10"]


def test_english_capabilities_reach_the_top_ten(results: dict) -> None:
    assert results[SHIPPED.name]["english"]["recall@10"] >= 0.9
    assert results[DENSE]["english"]["recall@10"] < results[SHIPPED.name]["english"]["recall@10"] - 0.15


def test_near_misses_rank_below_a_real_fit(seeded: Context, qrels) -> None:
    """For each near-miss case, the best relevant capability outranks every distractor."""
    cases = [r for r in csv.DictReader(open(SEED / "dev_cases.tsv", encoding="utf-8"), delimiter="\t")
             if r["case"] == "near_miss"]
    ranked = rankings(seeded, SHIPPED, [c["opportunity_id"] for c in cases])
    wins = 0
    for case in cases:
        order = ranked[case["opportunity_id"]]
        best = min(order.index(c) for c, g in qrels[case["opportunity_id"]].items() if c in order)
        distractors = [order.index(d) for d in case["distractors"].split(",") if d in order]
        wins += all(best < d for d in distractors)
    assert wins / len(cases) >= 0.9
