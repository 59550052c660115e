"""Import with a preview (mapping, counts, rejected rows), the import job and its report,
re-embedding, and export that re-imports to the same rows."""
from __future__ import annotations

import io
import time
from pathlib import Path

import openpyxl
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlmodel import func, select

from matching.engine import CAPABILITY, OPPORTUNITY
from service import entries
from service.models import Opportunity
from service.tabular import read_table
from tests.helpers import write_csv
from tests.web import client, csrf_of, organiser, soup  # noqa: F401

XSS = "<script>alert(1)</script>"
HEADER = ["编号", "场景名称", "牵头处室", "落地区县", "场景描述", "能力需求", XSS]
ROWS = [
    ["G-1", "园区危化品车辆智能监管", "无锡市应急管理局", "新吴区", "园区危化品运输车辆违规停靠难以及时发现。",
     "车辆实时定位；违规停车告警", "重点"],
    ["G-2", f"老旧小区加装电梯{XSS}", "无锡市住房和城乡建设局", "梁溪区", "老旧小区加装电梯意愿征集与施工协调。", "", ""],
    ["G-3", "没有描述的一行", "无锡市某局", "滨湖区", "", "", ""],
]


def gbk_list(tmp_path: Path) -> bytes:
    """A list as Excel on Windows saves it: GBK, a title row and a blank row above the header,
    two headers nobody has taught the importer (牵头处室, 落地区县)."""
    path = write_csv(tmp_path / "清单.csv", HEADER, ROWS, encoding="gbk", title="附件1：场景机会清单")
    return path.read_bytes()


def upload(client: TestClient, data: bytes, *, kind: str = "opportunity", filename: str = "清单.csv",
           follow_redirects: bool = True):
    return client.post("/admin/import/preview", data={"csrf_token": csrf_of(client, "/admin/import"), "kind": kind},
                       files={"file": (filename, data, "text/csv")}, follow_redirects=follow_redirects)


def mapping_form(page: BeautifulSoup) -> dict[str, str]:
    """What the browser sends from the preview's form as it stands."""
    form = page.find("form", class_="mapping-form")
    values = {i["name"]: i.get("value", "") for i in form.find_all("input")}
    for menu in form.find_all("select"):
        chosen = menu.find("option", selected=True) or menu.find("option")
        values[menu["name"]] = chosen["value"]
    return values


def choice_for(page: BeautifulSoup, header: str) -> str:
    """The select name for a header of the file, e.g. m2."""
    hidden = page.find("form", class_="mapping-form").find("input", attrs={"value": header, "type": "hidden"})
    return "m" + hidden["name"][1:]


def count_opportunities(client: TestClient) -> int:
    with client.app.state.context.session() as session:
        return session.exec(select(func.count()).select_from(Opportunity)).one()


def wait_for_job(client: TestClient, location: str, seconds: float = 120) -> BeautifulSoup:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = soup(client.get(f"{location}/status")).find(id="job-status")
        if not status.find("progress"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"job at {location} did not finish within {seconds} s")


def remapped_preview(organiser: TestClient, tmp_path: Path) -> BeautifulSoup:
    first = upload(organiser, gbk_list(tmp_path))
    page = soup(first)
    values = mapping_form(page)
    values[choice_for(page, "牵头处室")] = "organization"
    values[choice_for(page, "落地区县")] = "district"
    return soup(organiser.post("/admin/import/preview", data=values))


# -- the upload form -------------------------------------------------------------------------------
def test_the_upload_form(organiser: TestClient) -> None:
    form = soup(organiser.get("/admin/import?kind=capability")).find("form", attrs={"action": "/admin/import/preview"})
    assert form["enctype"] == "multipart/form-data" and form.find("input", attrs={"type": "file", "name": "file"})
    assert form.find("input", attrs={"name": "kind", "value": "capability"}).has_attr("checked")
    assert form.find("input", attrs={"name": "csrf_token"})["value"]


def test_missing_kind_and_file_are_shown_beside_the_fields(organiser: TestClient) -> None:
    response = organiser.post("/admin/import/preview", data={"csrf_token": csrf_of(organiser, "/admin/import")})
    assert response.status_code == 422
    page = soup(response)
    assert "清单类型" in page.find("fieldset").find(class_="field-error").text
    assert "请选择要导入的文件" in page.find("input", attrs={"type": "file"}).find_parent(class_="form-field").text


def test_a_file_that_is_not_a_spreadsheet_is_refused(organiser: TestClient, data_dir: Path) -> None:
    response = upload(organiser, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, filename="photo.csv")
    assert response.status_code == 422
    error = soup(response).find(class_="field-error").text
    assert "不是有效的表格文件" in error and "PNG" in error
    assert count_opportunities(organiser) == 3
    assert not list((data_dir / "uploads").iterdir())  # nothing kept of a refused file


def test_a_file_over_the_limit_is_refused(organiser: TestClient) -> None:
    organiser.app.state.context.settings.max_import_mb = 0.01  # about 10 KB
    declared = upload(organiser, b"a,b\n" * 50_000)  # 200 KB: refused from its Content-Length
    assert declared.status_code == 413 and "超过了" in soup(declared).find(class_="field-error").text
    read = upload(organiser, b"a,b\n" * 5_000)  # 20 KB: within the multipart slack, refused when read
    assert read.status_code == 422 and "超过了" in soup(read).find(class_="field-error").text


# -- preview -----------------------------------------------------------------------------------------
def test_a_gbk_list_with_unknown_headers_is_remapped_in_the_preview(organiser: TestClient, tmp_path: Path,
                                                                     data_dir: Path) -> None:
    first = upload(organiser, gbk_list(tmp_path))
    assert first.status_code == 422  # 发布单位 is missing until 牵头处室 is mapped to it
    page = soup(first)
    assert "发布单位" in page.find(class_="import-error").text
    assert "第 3 行" in page.find("h2").text  # the header under the title row and the blank row
    selects = {tr.find("label").text: tr.find("select") for tr in page.find("table", class_="mapping").tbody("tr")}
    assert set(selects) == set(HEADER)  # the file's headers, the script one as text
    assert not page.find("script", string="alert(1)")
    assert selects["场景名称"].find("option", selected=True)["value"] == "title"
    assert selects["牵头处室"].find("option", selected=True).text == "保留为附加列"
    row = selects["牵头处室"].find_parent("tr")
    assert row.find(class_="example").text == "无锡市应急管理局"  # what the column holds helps to choose
    assert len(selects["牵头处室"].find_all("option")) == 13  # every field of the list, and 附加列
    assert not page.find("button", class_="commit")
    stored = sorted(p.name for p in (data_dir / "uploads").iterdir())
    assert len(stored) == 2 and all("清单" not in name for name in stored)

    again = remapped_preview(organiser, tmp_path)
    assert again.find(class_="rows-ok").text == "2" and again.find(class_="rows-rejected").text == "1"
    rejected = [[td.text for td in tr("td")] for tr in again.find("table", class_="rejected").tbody("tr")]
    assert rejected[0][:2] == ["第 6 行", "场景描述"] and "必填" in rejected[0][2]
    sample = again.find("table", class_="sample")
    assert f"老旧小区加装电梯{XSS}" in sample.text and not again.find("script", string="alert(1)")
    assert again.find("button", class_="commit")
    assert count_opportunities(organiser) == 3  # a preview writes nothing


def test_mapping_two_columns_to_one_field_is_refused(organiser: TestClient, tmp_path: Path) -> None:
    page = remapped_preview(organiser, tmp_path)
    values = mapping_form(page)
    values[choice_for(page, "能力需求")] = "description"
    twice = soup(organiser.post("/admin/import/preview", data=values))
    row = twice.find("input", attrs={"value": "能力需求", "type": "hidden"}).find_parent("tr")
    assert "只能对应一列" in row.find(class_="field-error").text and not twice.find("button", class_="commit")


# -- commit ----------------------------------------------------------------------------------------
def test_committing_runs_the_import_as_a_job(organiser: TestClient, tmp_path: Path, data_dir: Path) -> None:
    values = mapping_form(remapped_preview(organiser, tmp_path))
    response = organiser.post("/admin/import/commit", data=values, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/jobs/")
    twice = organiser.post("/admin/import/commit", data=values)  # a double click imports once
    assert twice.status_code == 422 and "已经导入" in soup(twice).find(class_="field-error").text
    report = wait_for_job(organiser, response.headers["location"])
    assert report.find(class_="created").text == "2" and report.find(class_="updated").text == "0"
    rejected = [[td.text for td in tr("td")] for tr in report.find("table", class_="rejected").tbody("tr")]
    assert rejected[0][:2] == ["第 6 行", "场景描述"]
    assert report.find("a", attrs={"href": "/opportunities"})

    context = organiser.app.state.context
    with context.session() as session:
        entry = entries.by_ext(session, OPPORTUNITY, "G-1")
        assert (entry.organization, entry.district) == ("无锡市应急管理局", "新吴区")
        assert entry.extra == {XSS: "重点"}
        assert context.matches.has(OPPORTUNITY, "G-1") and context.matches.has(OPPORTUNITY, "G-2")
        proposed = [p.other for p in context.matches.for_capability(session, "C-3", 10)]
        assert "G-1" in proposed and "G-2" in proposed
    assert not [p for p in (data_dir / "uploads").iterdir()]  # the upload is gone once imported


def test_commit_after_changing_the_mapping_shows_the_new_preview_first(organiser: TestClient,
                                                                       tmp_path: Path) -> None:
    page = remapped_preview(organiser, tmp_path)
    values = mapping_form(page)
    values[choice_for(page, "落地区县")] = ""
    response = organiser.post("/admin/import/commit", data=values, follow_redirects=False)
    assert response.status_code == 200
    again = soup(response)
    assert "对应关系已修改" in again.find(class_="flash").text and again.find("button", class_="commit")
    assert count_opportunities(organiser) == 3


def test_an_unknown_upload_token_is_refused(organiser: TestClient) -> None:
    token = csrf_of(organiser, "/admin/import")
    for path in ("/admin/import/preview", "/admin/import/commit"):
        for bad in ("f" * 32, "../../secret_key"):
            response = organiser.post(path, data={"csrf_token": token, "token": bad})
            assert response.status_code == 422 and "过期" in soup(response).find(class_="field-error").text


def test_reembedding_runs_as_a_job(organiser: TestClient) -> None:
    response = organiser.post("/admin/reembed", data={"csrf_token": csrf_of(organiser, "/admin")},
                              follow_redirects=False)
    assert response.status_code == 303
    page = soup(organiser.get(response.headers["location"]))
    assert page.find("h1").text == "重新向量化全部条目"
    report = wait_for_job(organiser, response.headers["location"])
    assert "匹配索引已重建" in report.text and not report.find(class_="error")
    assert organiser.app.state.context.matches.has(CAPABILITY, "C-1")


# -- export --------------------------------------------------------------------------------------------
def test_export_re_imports_to_the_same_rows(organiser: TestClient) -> None:
    organiser.post("/admin/opportunities/O-3/archive", data={"csrf_token": csrf_of(organiser, "/admin")})
    response = organiser.get("/admin/export/opportunities.xlsx")
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and ".xlsx" in disposition and "filename*=UTF-8''" in disposition
    table = read_table(response.content, kind=OPPORTUNITY, filename="export.xlsx")
    assert not table.errors
    with organiser.app.state.context.session() as session:
        stored = {e.ext_id: e for e in session.exec(select(Opportunity)).all()}
    assert [row.values["id"] for row in table.rows] == ["O-1", "O-2"]  # archived O-3 left out
    for row in table.rows:
        entry = stored[row.values["id"]]
        for key in ("title", "organization", "field", "district", "description", "requirements"):
            assert row.values[key] == getattr(entry, key), key
        assert "状态" not in row.extra  # the export's status column: an import sets the status itself
    assert table.rows[0].extra["备注"] == "优先"
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    headers = [cell.value for cell in sheet[1]]
    assert "状态" in headers and sheet.cell(2, headers.index("状态") + 1).value == "已发布"


def test_an_exported_capability_list_previews_as_updates(organiser: TestClient) -> None:
    exported = organiser.get("/admin/export/capabilities.xlsx").content
    assert len(read_table(exported, kind=CAPABILITY).rows) == 5
    page = soup(upload(organiser, exported, kind="capability", filename="能力.xlsx"))
    summary = page.find(class_="import-summary").text
    assert page.find(class_="rows-ok").text == "5" and "新增 0 条，更新 5 条" in summary
