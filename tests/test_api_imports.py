"""/api/v1/imports: the same report as the command line, organisers only, unreadable files
refused without a change, entries matched at once, and one audit entry per import."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from service.cli import app as cli
from service.context import Context
from service.models import AuditEntry
from service.settings import Settings
from tests.api import Api, api, make_api  # noqa: F401
from tests.helpers import CAP_HEADER, OPP_HEADER, write_csv

NEW_OPPORTUNITIES = [
    ["O-10", "污水处理厂智能加药", "无锡市水务集团", "节能环保", "宜兴市",
     "污水处理厂加药量凭经验调整，药耗高且出水指标波动。", "进水水质在线监测；加药量自动优化", "试点"],
    ["O-11", "", "无锡市惠山区卫健委", "生物医药", "惠山区", "基层医院影像诊断能力不足。", "", ""],
    ["O-12", "地铁站客流疏导", "无锡地铁集团", "智慧交通", "梁溪区", "早晚高峰站台拥挤，疏导靠人工。",
     "客流密度实时识别", ""],
    ["O-10", "重复编号", "某单位", "", "", "同一文件里编号重复。", "", ""],
]


def _file(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "新增场景.csv", OPP_HEADER, NEW_OPPORTUNITIES, title="附件1：场景机会清单")


def _upload(api: Api, path: Path, role: str = "organiser", kind: str = "opportunities", **data):
    return api.post(f"/api/v1/imports/{kind}", role, files={"file": (path.name, path.read_bytes())}, data=data)


def test_the_api_reports_what_the_command_line_reports(api: Api, data_dir: Path, tmp_path: Path) -> None:
    path = _file(tmp_path)
    result = CliRunner().invoke(cli, ["import", "opportunities", str(path), "--json"])
    assert result.exit_code == 0, result.output
    by_cli = json.loads(result.stdout)
    by_api = _upload(api, path)
    assert by_api.status_code == 200
    assert by_api.json() == by_cli
    assert by_cli["created"] == 2 and {(r["row"], r["column"]) for r in by_cli["rejected"]} == {(5, "title"), (7, "id")}
    with Context(Settings()).session() as session:  # the command line's own data dir
        (entry,) = session.exec(select(AuditEntry).where(AuditEntry.action == "import")).all()
    assert (entry.actor, entry.target, entry.changes) == ("cli", "新增场景.csv",
                                                          {"created": 2, "updated": 0, "rejected": 2})


def test_imported_entries_are_public_matched_and_audited_at_once(api: Api, tmp_path: Path) -> None:
    assert _upload(api, _file(tmp_path)).status_code == 200
    assert api.get("/api/v1/opportunities/O-12").json()["status"] == "published"
    matches = api.get("/api/v1/opportunities/O-12/matches").json()["matches"]
    assert matches and all(m["id"].startswith("C-") for m in matches)
    (entry,) = api.audit("import")[2:]  # after the fixture's own two imports
    assert (entry.actor, entry.kind, entry.target) == ("key:1 平台 organiser", "opportunity", "新增场景.csv")
    assert entry.changes == {"created": 2, "updated": 0, "rejected": 2}
    again = _upload(api, _file(tmp_path))
    assert again.json()["created"] == 0 and again.json()["updated"] == 2


def test_only_organisers_may_import(api: Api, tmp_path: Path) -> None:
    path = _file(tmp_path)
    for role, status in {"public": 401, "revoked": 401, "firm": 403, "integrator": 403}.items():
        assert _upload(api, path, role).status_code == status, role
    assert api.get("/api/v1/opportunities/O-10").status_code == 404


@pytest.mark.parametrize("content, words", [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "PNG"),
    (b"", "\u6587\u4ef6\u4e3a\u7a7a"),  # 文件为空
    ("编号,场景名称,发布单位,场景描述\n".encode(), "\u6ca1\u6709\u6570\u636e\u884c"),  # 没有数据行
])
def test_an_unreadable_file_is_refused_and_changes_nothing(api: Api, tmp_path: Path, content: bytes,
                                                           words: str) -> None:
    before = api.get("/api/v1/opportunities", "organiser").json()["total"]
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    response = _upload(api, path)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "file" and error["message"].startswith("the file cannot be imported")
    assert words in error["message"]
    assert api.get("/api/v1/opportunities", "organiser").json()["total"] == before
    assert len(api.audit("import")) == 2


def test_a_mapping_names_headers_the_import_does_not_know(api: Api, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "caps.csv", ["编号", "技术名", "供给单位", "能力描述"],
                     [["C-20", "机器视觉质检", "无锡视觉科技", "产线缺陷自动检测。"]])
    unmapped = _upload(api, path, kind="capabilities")
    assert unmapped.status_code == 422 and unmapped.json()["error"]["field"] == "file"
    mapped = _upload(api, path, kind="capabilities", mapping=json.dumps({"技术名": "title"}))
    assert mapped.json() == {"created": 1, "updated": 0, "rejected": []}
    assert api.get("/api/v1/capabilities/C-20").json()["title"] == "机器视觉质检"
    for bad in ("{not json", "[1, 2]", '{"技术名": 3}', '{"技术名": "no_such_field"}'):
        response = _upload(api, path, kind="capabilities", mapping=bad)
        assert response.status_code == 422, bad
        assert response.json()["error"]["field"] in ("mapping", "file"), bad


def test_a_missing_file_or_list_is_a_named_error(api: Api, tmp_path: Path) -> None:
    missing = api.post("/api/v1/imports/opportunities", data={"mapping": "{}"})
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "file"
    wrong = _upload(api, _file(tmp_path), kind="events")
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "list_name"


@pytest.fixture()
def small_imports(tmp_path: Path, e5) -> Iterator[Api]:
    yield from make_api(tmp_path, e5, max_import_mb=0.01)


def test_a_file_over_the_import_limit_is_413(small_imports: Api, tmp_path: Path) -> None:
    rows = [[f"O-{i}", f"场景{i}", "某单位", "", "", "描述" * 40, "", ""] for i in range(100, 160)]
    path = write_csv(tmp_path / "big.csv", OPP_HEADER, rows)
    assert 10_240 < path.stat().st_size < 64 * 1024  # passes the body limit, over the import limit
    response = _upload(small_imports, path)
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    huge = tmp_path / "huge.csv"
    huge.write_bytes(path.read_bytes() * 20)  # over the body limit too: refused before it is read
    assert _upload(small_imports, huge).status_code == 413
    assert small_imports.get("/api/v1/opportunities/O-100").status_code == 404


def test_capabilities_import_too(api: Api, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", CAP_HEADER, [["C-30", "园区能耗监测平台", "无锡能效科技", "节能环保",
                                                      "新吴区", "工业园区能耗在线监测与节能诊断。", "规模化应用"]])
    assert _upload(api, path, kind="capabilities").json() == {"created": 1, "updated": 0, "rejected": []}
    assert api.get("/api/v1/capabilities/C-30").json()["maturity"] == "规模化应用"
