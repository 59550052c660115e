"""``scenario-match event plan``: the pairing list and agenda contract."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from service.cli import app
from tests.helpers import CAP_HEADER, CAPABILITIES, OPP_HEADER, OPPORTUNITIES, write_csv

runner = CliRunner()
EXTRA_CAPS = [
    ["C-6", "医院物流无人机网络", "无锡市第二人民医院", "低空经济", "梁溪区",  # same organisation as O-1
     "院内自建无人机物流网络，冷链样本箱，航线审批。", "试点应用"],
    ["C-7", "城市低空物流调度平台", "无锡云梯航空科技有限公司", "低空经济", "新吴区",
     "无人机配送航线规划、空域申报、温控货箱与全程追溯。", "试点应用"],
]


def plan(*args: str) -> dict:
    result = runner.invoke(app, ["event", "plan", "--name", "春季对接会", *args, "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture()
def loaded(data_dir: Path, tmp_path: Path) -> Path:
    opps = write_csv(tmp_path / "o.csv", OPP_HEADER, OPPORTUNITIES)
    caps = write_csv(tmp_path / "c.csv", CAP_HEADER, CAPABILITIES + EXTRA_CAPS)
    assert runner.invoke(app, ["import", "opportunities", str(opps)]).exit_code == 0
    assert runner.invoke(app, ["import", "capabilities", str(caps)]).exit_code == 0
    return data_dir


def assert_clash_free(meetings: list[dict], slots: int, tables: int) -> None:
    placed = [m for m in meetings if m["slot"] is not None]
    for key in ("opportunity", "capability", "table"):
        busy = Counter((m[key], m["slot"]) for m in placed)
        assert max(busy.values()) == 1, key
    table_of = {}
    for m in placed:
        assert table_of.setdefault(m["opportunity"], m["table"]) == m["table"]  # one table each
        assert 0 <= m["slot"] < slots and 0 <= m["table"] < tables


def test_plan_contract(loaded: Path) -> None:
    result = plan("--opportunities", "all", "--per-opportunity", "2", "--max-per-supplier", "1",
                  "--slots", "3", "--tables", "3")
    assert set(result) == {"event", "meetings", "standby", "unmet"}
    meetings = result["meetings"]
    assert {"opportunity", "capability", "score", "slot", "table"} <= set(meetings[0])
    assert Counter(m["opportunity"] for m in meetings) == {"O-1": 2, "O-2": 2, "O-3": 2}
    assert max(Counter(m["capability"] for m in meetings).values()) == 1
    assert_clash_free(meetings, 3, 3)
    assert all(m["score"] > -1e9 for m in meetings)
    for opp, standby in result["standby"].items():
        assert not {m["capability"] for m in meetings if m["opportunity"] == opp} & set(standby)


def test_a_supplier_never_meets_its_own_organisation(loaded: Path) -> None:
    result = plan("--opportunities", "O-1", "--per-opportunity", "7", "--slots", "8", "--tables", "2")
    assert "C-6" not in {m["capability"] for m in result["meetings"]}
    assert result["unmet"] and result["unmet"][0]["opportunity"] == "O-1"
    assert "利益冲突" in result["unmet"][0]["reason"]


def test_review_marks_bind_the_plan(loaded: Path) -> None:
    runner.invoke(app, ["review", "--opportunity", "O-2", "--capability", "C-5", "--mark", "confirmed"])
    runner.invoke(app, ["review", "--opportunity", "O-2", "--capability", "C-3", "--mark", "excluded"])
    result = plan("--opportunities", "O-2", "--per-opportunity", "2", "--slots", "4", "--tables", "1")
    mine = {m["capability"] for m in result["meetings"]}
    assert "C-5" in mine and "C-3" not in mine


def test_a_high_minimum_score_is_explained(loaded: Path) -> None:
    result = plan("--opportunities", "O-3", "--per-opportunity", "3", "--min-score", "1.0",
                  "--slots", "4", "--tables", "2")
    reasons = [u["reason"] for u in result["unmet"] if u["opportunity"] == "O-3"]
    assert reasons and "最低分 1" in reasons[0]


def test_too_few_slots_never_drop_a_meeting_silently(loaded: Path) -> None:
    result = plan("--per-opportunity", "3", "--slots", "2", "--tables", "3")
    unplaced = [m for m in result["meetings"] if m["slot"] is None]
    assert unplaced  # three meetings each, two slots
    for opp in {m["opportunity"] for m in unplaced}:
        assert any(u["opportunity"] == opp and "未能排入" in u["reason"] for u in result["unmet"])


def test_fair_option_and_workbook(loaded: Path, tmp_path: Path) -> None:
    out = tmp_path / "event.xlsx"
    result = plan("--per-opportunity", "2", "--max-per-supplier", "2", "--slots", "4", "--tables", "3",
                  "--fair", "--out", str(out))
    assert result["event"]["fair"] is True
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["对接名单", "日程表", "候补名单", "未满足与问题"]
    rows = list(book["对接名单"].iter_rows(min_row=3, values_only=True))
    assert len(rows) == len(result["meetings"])
    assert {r[0] for r in rows} == {"O-1", "O-2", "O-3"}


@pytest.mark.parametrize("args, message", [
    (["--opportunities", "O-1,NOPE"], "NOPE"),
    (["--out", "x.pdf"], ".xlsx"),
])
def test_bad_requests_fail_clearly(loaded: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["event", "plan", "--name", "x", *args])
    assert result.exit_code != 0 and message in result.stderr


def test_scenarios_without_a_table_are_not_paired_and_are_reported(loaded: Path) -> None:
    result = plan("--per-opportunity", "2", "--max-per-supplier", "1", "--slots", "4", "--tables", "2")
    assert {m["opportunity"] for m in result["meetings"]} == {"O-1", "O-2"}
    assert all(m["slot"] is not None for m in result["meetings"])  # every paired meeting has a place
    assert any(u["opportunity"] == "O-3" and "桌数 2" in u["reason"] for u in result["unmet"])
