"""The ``scenario-match`` command line, as automated checks and organisers call it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from tests.conftest import sqlite_only
from tests.helpers import CAPABILITIES, OPP_HEADER, OPPORTUNITIES, lists, write_csv

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: str):
    code, out, err = run(*args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture()
def loaded(data_dir: Path, tmp_path: Path) -> Path:
    opps, caps = lists(tmp_path)
    assert run_json("import", "opportunities", str(opps)) == {"created": 3, "updated": 0, "rejected": []}
    assert run_json("import", "capabilities", str(caps)) == {"created": 5, "updated": 0, "rejected": []}
    return data_dir


def test_match_for_an_opportunity(loaded: Path) -> None:
    result = run_json("match", "--opportunity", "O-2", "--top", "3")
    assert result["opportunity"] == "O-2"
    matches = result["matches"]
    assert len(matches) == 3
    assert matches[0]["capability"] == "C-3"
    assert {m["capability"] for m in matches} <= {c[0] for c in CAPABILITIES}
    scores = [m["score"] for m in matches]
    assert scores == sorted(scores, reverse=True)
    assert all(m["reasons"] and all(isinstance(r, str) for r in m["reasons"]) for m in matches)
    assert any("裂缝" in r for r in matches[0]["reasons"])  # a shared key term is named


def test_match_for_a_capability_reads_the_same_scores(loaded: Path) -> None:
    forward = {m["capability"]: m["score"] for m in run_json("match", "--opportunity", "O-3", "--top", "5")["matches"]}
    result = run_json("match", "--capability", "C-4", "--top", "3")
    assert result["capability"] == "C-4"
    assert result["matches"][0]["opportunity"] == "O-3"
    assert result["matches"][0]["score"] == pytest.approx(forward["C-4"], abs=1e-4)


def test_match_all_maps_every_opportunity(loaded: Path) -> None:
    result = run_json("match", "--all", "--top", "2")
    assert set(result) == {"O-1", "O-2", "O-3"}
    assert all(len(v) == 2 for v in result.values())
    assert result["O-3"][0]["capability"] == "C-4"


def test_text_output_is_readable(loaded: Path) -> None:
    code, out, _ = run("match", "--opportunity", "O-1", "--top", "2")
    assert code == 0 and "O-1" in out and "语义相似度" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["match", "--opportunity", "NOPE"], "NOPE"),
        (["match", "--capability", "NOPE"], "NOPE"),
        (["match", "--opportunity", "O-1", "--capability", "C-1"], "只给出"),
        (["match"], "只给出"),
    ],
)
def test_bad_match_requests_fail_clearly(loaded: Path, args: list[str], message: str) -> None:
    code, out, err = run(*args)
    assert code != 0 and message in err and "Traceback" not in out + err


def test_review_marks_survive_recomputing(loaded: Path, tmp_path: Path) -> None:
    assert run("review", "--opportunity", "O-1", "--capability", "C-5", "--mark", "confirmed")[0] == 0
    assert run("review", "--opportunity", "O-1", "--capability", "C-2", "--mark", "excluded")[0] == 0
    # re-import with a changed text: the matches are recomputed, the marks stay
    rows = [r[:] for r in OPPORTUNITIES]
    rows[0][5] += "希望2027年上线。"
    write_csv(tmp_path / "again.csv", OPP_HEADER, rows)
    assert run_json("import", "opportunities", str(tmp_path / "again.csv"))["updated"] == 3
    matches = run_json("match", "--opportunity", "O-1", "--top", "3")["matches"]
    assert matches[0]["capability"] == "C-5" and matches[0]["review"] == "confirmed"
    assert "C-2" not in [m["capability"] for m in matches]
    assert run("review", "--opportunity", "O-1", "--capability", "C-2", "--mark", "clear")[0] == 0
    assert "C-2" in [m["capability"] for m in run_json("match", "--opportunity", "O-1", "--top", "5")["matches"]]


def test_review_of_unknown_ids_or_marks_is_refused(loaded: Path) -> None:
    assert "NOPE" in run("review", "--opportunity", "NOPE", "--capability", "C-1", "--mark", "confirmed")[2]
    code, _, err = run("review", "--opportunity", "O-1", "--capability", "C-1", "--mark", "maybe")
    assert code != 0 and "maybe" in err


def test_import_reports_rejected_rows_by_spreadsheet_row(data_dir: Path, tmp_path: Path) -> None:
    rows = [OPPORTUNITIES[0], ["O-9", "", "某单位", "", "", "缺少名称", "", ""], OPPORTUNITIES[1], OPPORTUNITIES[0]]
    path = write_csv(tmp_path / "gbk.csv", OPP_HEADER, rows, encoding="gbk", title="附件1：场景机会清单")
    result = run_json("import", "opportunities", str(path))
    assert result["created"] == 2 and result["updated"] == 0
    # title row 1, blank row 2, header row 3: data rows are 4..7
    assert [(r["row"], r["column"]) for r in result["rejected"]] == [(5, "title"), (7, "id")]
    assert all(r["reason"] for r in result["rejected"])
    code, out, _ = run("import", "opportunities", str(path))
    assert code == 0 and "第 5 行" in out and "第 7 行" in out


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n\x00\x00binary"])
def test_unreadable_file_exits_non_zero_and_keeps_what_is_stored(loaded: Path, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    code, out, err = run("import", "capabilities", str(path))
    assert code != 0 and "bad.csv" in err and "Traceback" not in out + err
    assert len(run_json("match", "--opportunity", "O-1", "--top", "10")["matches"]) == 5


def test_missing_file(data_dir: Path, tmp_path: Path) -> None:
    code, _, err = run("import", "opportunities", str(tmp_path / "nope.xlsx"))
    assert code != 0 and "nope.xlsx" in err


def test_an_import_into_an_empty_data_dir_holds_exactly_what_was_imported(loaded: Path) -> None:
    assert set(run_json("match", "--all", "--top", "1")) == {"O-1", "O-2", "O-3"}


@sqlite_only  # with a database URL the URL, not the data dir, names the database
def test_two_data_dirs_never_see_each_other(loaded: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SCENARIO_MATCH_DATA_DIR", str(tmp_path / "other"))
    assert run_json("match", "--all", "--top", "1") == {}


def test_map_option_names_an_unknown_header(data_dir: Path, tmp_path: Path) -> None:
    header = ["编号", "需求名", "发布单位", "场景描述"]
    path = write_csv(tmp_path / "odd.csv", header, [["X1", "智慧停车", "梁溪区", "泊位引导"]])
    code, _, err = run("import", "opportunities", str(path))
    assert code != 0 and "场景名称" in err
    assert run_json("import", "opportunities", str(path), "--map", "需求名=title")["created"] == 1


def test_the_installed_entry_point(loaded: Path) -> None:
    """The real ``scenario-match`` executable, as a shell user runs it."""
    exe = Path(sys.executable).parent / "scenario-match"
    out = subprocess.run([str(exe), "match", "--opportunity", "O-2", "--top", "1", "--json"],
                         capture_output=True, text=True, env=os.environ.copy(), timeout=300, check=True)
    assert json.loads(out.stdout)["matches"][0]["capability"] == "C-3"


def test_eval_prints_the_three_rankings(data_dir: Path, tmp_path: Path) -> None:
    opps, caps = lists(tmp_path)
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("opportunity_id\tcapability_id\tgrade\nO-1\tC-2\t2\nO-2\tC-3\t2\nO-3\tC-4\t2\n", encoding="utf-8")
    code, out, err = run("eval", "--opportunities", str(opps), "--capabilities", str(caps), "--qrels", str(qrels))
    assert code == 0, err
    for name in ("lexical only", "dense only", "hybrid (shipped)"):
        assert name in out
    result = run_json("eval", "--opportunities", str(opps), "--capabilities", str(caps), "--qrels", str(qrels))
    assert result["hybrid (shipped)"]["all"]["queries"] == 3
    assert 0 < result["hybrid (shipped)"]["all"]["mrr"] <= 1
    assert not data_dir.exists()  # eval works in a scratch dir, never the user's data


def test_eval_names_a_bad_qrels_file(data_dir: Path, tmp_path: Path) -> None:
    opps, caps = lists(tmp_path)
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("opp\tcap\n", encoding="utf-8")
    code, _, err = run("eval", "--opportunities", str(opps), "--capabilities", str(caps), "--qrels", str(qrels))
    assert code != 0 and "opportunity_id" in err


def test_filters_by_field_and_district(loaded: Path) -> None:
    matches = run_json("match", "--opportunity", "O-1", "--field", "低空经济")["matches"]
    assert {m["capability"] for m in matches} == {"C-1", "C-2"}
    matches = run_json("match", "--opportunity", "O-1", "--district", "滨湖区")["matches"]
    assert {m["capability"] for m in matches} == {"C-3", "C-4"}
    code, _, err = run("match", "--opportunity", "O-1", "--status", "bogus")
    assert code != 0 and "bogus" in err


def test_a_broken_database_url_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "scenario-match"
    env = {**os.environ, "SCENARIO_MATCH_DATABASE_URL": f"sqlite:///{tmp_path}/no/such/dir/x.db"}
    out = subprocess.run([str(exe), "match", "--all"], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 1 and "数据库" in out.stderr and "Traceback" not in out.stderr
