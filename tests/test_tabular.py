"""The file-reading layer of import: what a user who uploads a list relies on."""

from __future__ import annotations

import csv
import io
import random
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from service.columns import KINDS, columns, header_index, normalize_header
from service.tabular import ImportFileError, ParsedTable, RowError, read_table, write_xlsx

OPP = ["编号", "场景名称", "发布单位", "场景描述"]
ROW_A = ["1001", "智慧停车管理", "梁溪区城管局", "老城区停车难，需要实时泊位引导。"]
ROW_B = ["1002", "低空物流配送", "新吴区交通局", "无人机配送医疗物资，要求 30 分钟送达。"]


def csv_bytes(rows: list[list[Any]], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]], *, merge: str | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def read(rows: list[list[Any]], kind: str = "opportunity", **kwargs: Any) -> ParsedTable:
    return read_table(csv_bytes(rows), kind=kind, **kwargs)


def one_error(table: ParsedTable) -> RowError:
    assert len(table.errors) == 1, table.errors
    return table.errors[0]


def cell(table: ParsedTable, key: str) -> Any:
    assert len(table.rows) == 1, table.errors
    return table.rows[0].values[key]


def file_error(data: bytes, **kwargs: Any) -> ImportFileError:
    with pytest.raises(ImportFileError) as info:
        read_table(data, kind=kwargs.pop("kind", "opportunity"), **kwargs)
    return info.value


# ----------------------------------------------------------------- formats and encodings


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [
        ("utf-8", ","),
        ("utf-8-sig", ","),  # Excel "CSV UTF-8"
        ("gbk", ","),  # Excel "CSV" on Chinese Windows
        ("gb18030", ","),
        ("utf-16", "\t"),  # Excel "Unicode 文本"
    ],
)
def test_csv_encodings_read_the_same(encoding: str, delimiter: str) -> None:
    data = csv_bytes([OPP, ROW_A, ROW_B], encoding=encoding, delimiter=delimiter)
    table = read_table(data, kind="opportunity")
    assert [r.values["title"] for r in table.rows] == ["智慧停车管理", "低空物流配送"]
    assert table.rows[0].values["description"] == ROW_A[3]


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_delimiter_is_sniffed_from_the_header(delimiter: str) -> None:
    row = ["1001", "智慧停车", "城管局", "描述,含逗号;和分号\t"]
    table = read_table(csv_bytes([OPP, row], delimiter=delimiter), kind="opportunity")
    assert cell(table, "description") == "描述,含逗号;和分号"
    assert table.mapping == dict(zip(OPP, ["id", "title", "organization", "description"]))


def test_gb18030_that_fails_falls_back_to_charset_detection() -> None:
    rows = [["Title", "Organization", "Description"], ["Café Zürich", "Société", "Crème brûlée"]]
    table = read_table(csv_bytes(rows, encoding="cp1252"), kind="opportunity")
    assert cell(table, "title") == "Café Zürich"


def test_xlsx_is_detected_by_content_not_extension(tmp_path: Path) -> None:
    path = tmp_path / "清单.csv"
    path.write_bytes(xlsx_bytes([OPP, ROW_A]))
    table = read_table(path, kind="opportunity")
    assert cell(table, "title") == "智慧停车管理"


def test_csv_named_xlsx_is_read_as_csv() -> None:
    table = read_table(csv_bytes([OPP, ROW_A]), kind="opportunity", filename="清单.xlsx")
    assert cell(table, "organization") == "梁溪区城管局"


def test_xlsx_reads_the_first_sheet_even_if_another_is_active() -> None:
    book = openpyxl.Workbook()
    book.active.append(OPP)
    book.active.append(ROW_A)
    other = book.create_sheet("说明")
    other.append(["填表说明", "请勿修改表头"])
    book.active = 1
    buf = io.BytesIO()
    book.save(buf)
    assert cell(read_table(buf.getvalue(), kind="opportunity"), "id") == "1001"


@pytest.mark.parametrize("titles", [1, 2])
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_title_rows_and_blank_rows_keep_spreadsheet_row_numbers(titles: int, fmt: str) -> None:
    head = [["附件1：场景机会清单"], ["（2025 年第二批）"]][:titles]
    body = [OPP, ROW_A, [], ["1003", "", "惠山区", "缺名称"], [None, None], ROW_B]
    rows = [*head, [], *body]
    data = xlsx_bytes(rows, merge="A1:D1") if fmt == "xlsx" else csv_bytes(rows)
    table = read_table(data, kind="opportunity")
    header = titles + 2
    assert table.header_row == header
    assert [r.row for r in table.rows] == [header + 1, header + 5]
    assert one_error(table) == RowError(header + 3, "title", "必填项「场景名称」为空")


def test_a_quoted_multiline_cell_is_one_row() -> None:
    rows = [OPP, ["1", "甲", "乙", "第一行\n第二行"], ["2", "", "乙", "丙"]]
    table = read(rows)
    assert cell(table, "description") == "第一行\n第二行"
    assert one_error(table).row == 3


# --------------------------------------------------------------------------- headers


def test_full_width_headers_and_values() -> None:
    header = ["编号＊", "*场景名称", "发布单位：", "场景描述（必填）", "预算（万元）", "电子邮箱"]
    row = [
        "１００１",
        "　智慧停车\u00a0",
        "城管局",
        "停车难，需引导（试点）。",
        "１２０",
        "ａ＠ｂ．ｃｎ",
    ]
    values = read([header, row]).rows[0].values
    assert values == {
        "id": "1001",
        "title": "智慧停车",
        "organization": "城管局",
        "description": "停车难，需引导（试点）。",  # text keeps its Chinese punctuation
        "budget_wan": 120.0,
        "email": "a@b.cn",
    }


ALIASES = [
    ("opportunity", "公司名称", "organization"),
    ("opportunity", "企业名称", "organization"),
    ("opportunity", "单位名称", "organization"),
    ("opportunity", "牵头部门", "organization"),
    ("opportunity", "需求单位", "organization"),
    ("capability", "公司名称", "organization"),
    ("capability", "企业名称", "organization"),
    ("opportunity", "应用场景名称", "title"),
    ("opportunity", "场景机会名称", "title"),
    ("capability", "名称", "title"),
    ("opportunity", "场景简介", "description"),
    ("opportunity", "需求描述", "description"),
    ("capability", "企业与产品简介", "description"),
    ("opportunity", "应用领域", "field"),
    ("capability", "类别", "field"),
    ("capability", "领域", "field"),
    ("opportunity", "拟落地应用区域", "district"),
    ("opportunity", "地区", "district"),
    ("capability", "所属区域", "district"),
    ("opportunity", "联系方式", "phone"),
    ("capability", "手机", "phone"),
    ("opportunity", "邮箱", "email"),
    ("opportunity", "预算", "budget_wan"),
    ("opportunity", "预算金额（万元）", "budget_wan"),
    ("capability", "技术成熟度", "maturity"),
    ("capability", "典型案例", "cases"),
    ("opportunity", "Title", "title"),
    ("capability", "ORGANIZATION", "organization"),
    ("opportunity", "Budget_Wan", "budget_wan"),
    ("opportunity", " 截止 日期 ", "deadline"),  # spaces inside, e.g. a wrapped header cell
]
SAMPLE = {"budget_wan": "120", "deadline": "2026-12-31", "email": "a@b.cn"}


@pytest.mark.parametrize(("kind", "header", "key"), ALIASES)
def test_alias_headers_are_recognised(kind: str, header: str, key: str) -> None:
    names = {col.key: col.name for col in columns(kind)}
    base = [k for k in ("title", "organization", "description") if k != key]
    table = read(
        [[*(names[k] for k in base), header], ["x"] * len(base) + [SAMPLE.get(key, "y")]], kind=kind
    )
    assert table.mapping[header.strip()] == key  # header texts are kept stripped
    assert cell(table, key) is not None


@pytest.mark.parametrize("header", ["序号", "备注"])
def test_unrecognised_headers_are_kept_as_extra(header: str) -> None:
    table = read([[header, *OPP], ["7", *ROW_A]])
    assert table.unknown == [header]
    assert table.rows[0].extra == {header: "7"}
    assert "id" not in table.rows[0].values or table.rows[0].values["id"] == "1001"


@pytest.mark.parametrize("kind", KINDS)
def test_no_alias_means_two_columns(kind: str) -> None:
    seen: dict[str, str] = {}
    for col in columns(kind):
        for label in (col.key, col.name, *col.aliases):
            assert seen.setdefault(normalize_header(label), col.key) == col.key, label
    assert seen == header_index(kind)


def test_lists_md_column_order() -> None:
    assert [c.name for c in columns("opportunity")] == [
        "编号",
        "场景名称",
        "发布单位",
        "所属领域",
        "所在地区",
        "场景描述",
        "能力需求",
        "预算(万元)",
        "截止日期",
        "联系人",
        "联系电话",
        "电子邮箱",
    ]
    assert [c.name for c in columns("capability")] == [
        "编号",
        "能力名称",
        "供给单位",
        "所属领域",
        "所在地区",
        "能力描述",
        "成熟度",
        "应用案例",
        "联系人",
        "联系电话",
        "电子邮箱",
    ]


# --------------------------------------------------------------------------- mapping


def test_user_mapping_names_unknown_headers() -> None:
    rows = [["项目", "甲方", "情况说明"], ["智慧停车", "城管局", "停车难"]]
    assert "找不到表头" in file_error(csv_bytes(rows)).reason
    mapping = {"项目": "title", "甲方": "organization", "情况说明": "description"}
    table = read(rows, mapping=mapping)
    assert table.rows[0].values == {
        "title": "智慧停车",
        "organization": "城管局",
        "description": "停车难",
    }


def test_user_mapping_overrides_detection() -> None:
    rows = [["序号", "名称", "项目名", *OPP[2:]], ["1", "旧名", "新名", *ROW_A[2:]]]
    table = read(rows, mapping={"序号": "id", "名称": "", "项目名": "title"})
    assert table.rows[0].values["id"] == "1"
    assert table.rows[0].values["title"] == "新名"
    assert table.rows[0].extra == {"名称": "旧名"}


@pytest.mark.parametrize("key", ["titel", "budget_wan"])
def test_mapping_to_an_unknown_key_is_refused(key: str) -> None:
    error = file_error(csv_bytes([OPP, ROW_A]), kind="capability", mapping={"编号": key})
    assert key in error.reason and error.column == key


# ---------------------------------------------------------------- required and errors


def test_missing_required_column_names_it_and_lists_the_headers() -> None:
    error = file_error(csv_bytes([["编号", "场景名称", "场景描述"], ["1", "a", "b"]]))
    assert "「发布单位」" in error.reason and "organization" in error.reason
    assert "编号、场景名称、场景描述" in error.reason
    assert (error.row, error.column) == (1, "organization")


@pytest.mark.parametrize(
    ("index", "key", "name"),
    [(1, "title", "场景名称"), (2, "organization", "发布单位"), (3, "description", "场景描述")],
)
@pytest.mark.parametrize("blank", ["", "  ", "\u3000", "\u00a0"])
def test_empty_required_cell_is_a_row_error(index: int, key: str, name: str, blank: str) -> None:
    bad = list(ROW_B)
    bad[index] = blank
    table = read([OPP, ROW_A, bad, ["1003", "c", "d", "e"]])
    assert one_error(table) == RowError(3, key, f"必填项「{name}」为空")
    assert [r.row for r in table.rows] == [2, 4]


def test_capability_required_cells_use_capability_names() -> None:
    header = ["能力名称", "供给单位", "能力描述"]
    table = read([header, ["AI 质检", "", "视觉检测"]], kind="capability")
    assert one_error(table).reason == "必填项「供给单位」为空"


@pytest.mark.parametrize(
    "ids",
    [
        ["1001", "1002", "1001"],
        ["1001", "1002", "１００１"],  # full-width digits are the same id
        [1001, "1002", 1001.0],  # xlsx number cells
    ],
)
def test_duplicate_id_keeps_the_first_row(ids: list[Any]) -> None:
    rows = [OPP, *[[i, f"场景{n}", "单位", "描述"] for n, i in enumerate(ids)]]
    table = read_table(xlsx_bytes(rows), kind="opportunity")
    assert one_error(table) == RowError(4, "id", "编号 1001 与第 2 行重复")
    assert [(r.values["id"], r.values["title"]) for r in table.rows] == [
        ("1001", "场景0"),
        ("1002", "场景1"),
    ]


# ---------------------------------------------------------------------------- values


def value_of(key: str, raw: Any, *, fmt: str = "csv") -> ParsedTable:
    name = {c.key: c.name for c in columns("opportunity")}[key]
    rows = [[*OPP, name], [*ROW_A, raw]]
    return read_table(xlsx_bytes(rows) if fmt == "xlsx" else csv_bytes(rows), kind="opportunity")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("120", 120.0),
        ("120.5", 120.5),
        ("１２０", 120.0),
        ("120万", 120.0),
        ("120万元", 120.0),
        (" 1,200 ", 1200.0),
        ("", None),
        ("—", None),
    ],
)
def test_budget_text(raw: str, expected: float | None) -> None:
    assert cell(value_of("budget_wan", raw), "budget_wan") == expected


@pytest.mark.parametrize(("raw", "expected"), [(120, 120.0), (120.5, 120.5), (0, 0.0)])
def test_budget_excel_number(raw: float, expected: float) -> None:
    assert cell(value_of("budget_wan", raw, fmt="xlsx"), "budget_wan") == expected


@pytest.mark.parametrize(
    ("raw", "fmt"),
    [
        ("约120", "csv"),
        ("面议", "csv"),
        ("1e5", "csv"),
        ("-5", "csv"),
        ("120元", "csv"),
        (-5, "xlsx"),
    ],
)
def test_bad_budget_is_a_row_error_naming_column_and_value(raw: Any, fmt: str) -> None:
    table = value_of("budget_wan", raw, fmt=fmt)
    error = one_error(table)
    assert (error.row, error.column) == (2, "budget_wan")
    assert "预算(万元)" in error.reason and str(raw) in error.reason
    assert table.rows == []


@pytest.mark.parametrize(
    "raw",
    [
        "2026-12-31",
        "2026/12/31",
        "2026.12.31",
        "2026年12月31日",
        "２０２６年１２月３１日",
        "20261231",
        "2026/12/31 0:00",
        "2026-12-31 00:00:00",
    ],
)
def test_deadline_text(raw: str) -> None:
    assert cell(value_of("deadline", raw), "deadline") == "2026-12-31"


@pytest.mark.parametrize(
    "raw",
    [
        datetime(2026, 12, 31),
        datetime(2026, 12, 31, 17, 30),
        date(2026, 12, 31),
        (date(2026, 12, 31) - date(1899, 12, 30)).days,
    ],  # a date cell stored as a bare number
)
def test_deadline_excel_cells(raw: Any) -> None:
    assert cell(value_of("deadline", raw, fmt="xlsx"), "deadline") == "2026-12-31"


def test_deadline_single_digit_month_and_day() -> None:
    assert cell(value_of("deadline", "2026-1-5"), "deadline") == "2026-01-05"


@pytest.mark.parametrize("raw", ["2026-13-01", "2026-02-30", "明年年底", "12/31/2026", "2026年"])
def test_bad_deadline_is_a_row_error(raw: str) -> None:
    error = one_error(value_of("deadline", raw))
    assert error.column == "deadline" and "截止日期" in error.reason and raw in error.reason


@pytest.mark.parametrize(
    ("raw", "expected"), [("张三@园区.cn", "张三@园区.cn"), ("ａ＠ｂ.cn", "a@b.cn"), ("", None)]
)
def test_email(raw: str, expected: str | None) -> None:
    assert cell(value_of("email", raw), "email") == expected


def test_email_without_at_is_a_row_error() -> None:
    error = one_error(value_of("email", "zhangsan.qq.com"))
    assert error.column == "email" and "zhangsan.qq.com" in error.reason and "@" in error.reason


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("id", 1001.0, "1001"),
        ("id", 1001, "1001"),
        ("phone", 13800000000, "13800000000"),
        ("phone", "０５１０－１２３４５６７８", "0510-12345678"),
    ],
)
def test_excel_numbers_in_code_columns(key: str, raw: Any, expected: str) -> None:
    rows = [[*OPP[1:], {"id": "编号", "phone": "联系电话"}[key]], [*ROW_A[1:], raw]]
    assert cell(read_table(xlsx_bytes(rows), kind="opportunity"), key) == expected


def test_empty_optional_cells_are_none_and_absent_columns_absent() -> None:
    values = value_of("contact", "").rows[0].values
    assert values["contact"] is None
    assert "phone" not in values


# ---------------------------------------------------------------------- extra columns


def test_extra_columns_are_kept_and_empty_extra_cells_omitted() -> None:
    rows = [[*OPP, "备注", "推荐单位"], [*ROW_A, "急", ""], [*ROW_B, "", "市工信局", "表外"]]
    table = read(rows)
    assert table.unknown == ["备注", "推荐单位", "列G"]
    assert [r.extra for r in table.rows] == [
        {"备注": "急"},
        {"推荐单位": "市工信局", "列G": "表外"},
    ]


def test_the_status_column_of_an_exported_list_is_not_kept_as_an_extra_attribute() -> None:
    """管理后台's export adds 状态; importing that file again sets the status itself, so the
    column must not pile up as an extra attribute on every entry."""
    table = read([[*OPP, "状态", "备注"], [*ROW_A, "已发布", "急"]])
    assert table.rows[0].extra == {"备注": "急"}
    assert "状态" not in table.unknown


@pytest.mark.parametrize(
    ("header", "row", "values", "extra"),
    [
        ([*OPP, "备注", "备注"], [*ROW_A, "一", "二"], {}, {"备注": "一", "备注_2": "二"}),
        (
            [*OPP, "场景名称"],
            [*ROW_A, "另一个名称"],
            {"title": "智慧停车管理"},
            {"场景名称_2": "另一个名称"},
        ),
        (
            ["公司名称", "单位名称", *OPP[1:2], OPP[3]],
            ["甲公司", "乙单位", "名", "述"],
            {"organization": "甲公司"},
            {"单位名称": "乙单位"},
        ),
    ],
)
def test_duplicate_headers(header: list[str], row: list[str], values: dict, extra: dict) -> None:
    parsed = read([header, row]).rows[0]
    assert values.items() <= parsed.values.items()
    assert parsed.extra == extra


@pytest.mark.parametrize(
    ("header", "length", "ok"),
    [
        ("场景描述", 5000, True),
        ("场景描述", 5001, False),
        ("场景名称", 500, True),
        ("场景名称", 501, False),
        ("联系人", 501, False),
        ("备注", 5001, False),
    ],
)
def test_over_long_cells_are_row_errors(header: str, length: int, ok: bool) -> None:
    base = dict(zip(OPP, ROW_A))
    base[header] = "长" * length
    table = read([list(base), list(base.values())])
    assert (len(table.rows), len(table.errors)) == ((1, 0) if ok else (0, 1))
    if not ok:
        assert header in table.errors[0].reason and str(length) in table.errors[0].reason
    else:
        assert (
            len(next(iter(table.rows)).values[{"场景描述": "description"}.get(header, "title")])
            == length
        )


# ------------------------------------------------------------------------ file errors


def zip_of(name: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(name, "hello")
    return buf.getvalue()


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06" + bytes(40)


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (b"", "清单.csv", "文件为空"),
        (b"\r\n\r\n   \r\n", "清单.csv", "文件为空"),
        (b",,,\r\n\r\n,,\r\n", "清单.csv", "文件为空"),
        (xlsx_bytes([[], [None, None]]), "清单.xlsx", "文件为空"),
        (csv_bytes([OPP]), "清单.csv", "没有数据行"),
        (csv_bytes([["附件1：场景机会清单"], OPP, [], ["", ""]]), "清单.csv", "没有数据行"),
        (xlsx_bytes([OPP]), "清单.xlsx", "没有数据行"),
        (PNG, "清单.xlsx", "不是有效的表格文件"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "清单.pdf", "不是有效的表格文件"),
        (zip_of("word/document.xml"), "清单.xlsx", "不是有效的表格文件"),
        (zip_of("xl/workbook.bin"), "清单.xlsb", ".xlsb"),
        (zip_of("content.xml"), "清单.ods", ".ods"),
        (xlsx_bytes([OPP, ROW_A])[:2000], "清单.xlsx", "不是有效的表格文件"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "清单.xls", ".xlsx"),
        (random.Random(7).randbytes(4096), "清单.csv", "不是有效的表格文件"),
        ("<html><table><tr><td>场景名称</td></tr></table></html>".encode(), "清单.xls", "另存为"),
        (csv_bytes([["hello", "world"], ["1", "2"]]), "清单.csv", "找不到表头"),
    ],
)
def test_unreadable_files_say_why(data: bytes, filename: str, expected: str) -> None:
    assert expected in file_error(data, filename=filename).reason


def test_not_a_table_message_names_the_file() -> None:
    assert "「照片.xlsx」" in file_error(PNG, filename="照片.xlsx").reason


def test_xls_message_says_to_save_as_xlsx_or_csv() -> None:
    reason = file_error(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)).reason
    assert ".xls" in reason and ".xlsx" in reason and "CSV" in reason


def test_renamed_png_file(tmp_path: Path) -> None:
    path = tmp_path / "清单.xlsx"
    path.write_bytes(PNG)
    with pytest.raises(ImportFileError, match="不是有效的表格文件"):
        read_table(path, kind="capability")


def test_oversized_path_is_refused_before_reading(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "大文件.csv"
    with path.open("wb") as handle:
        handle.truncate(21 * 1024 * 1024)  # sparse: no need to write 21 MB

    def must_not_read(self: Path) -> bytes:
        raise AssertionError("read before the size check")

    monkeypatch.setattr(Path, "read_bytes", must_not_read)
    with pytest.raises(ImportFileError) as info:
        read_table(path, kind="opportunity")
    assert "21 MB" in info.value.reason and "20 MB" in info.value.reason


def test_oversized_bytes_and_a_custom_limit() -> None:
    data = csv_bytes([OPP, ROW_A]) + b" " * (21 * 1024 * 1024)
    assert "20 MB" in file_error(data).reason
    assert "0.5 MB" in file_error(csv_bytes([OPP, ROW_A]) * 8000, max_bytes=512 * 1024).reason


def test_missing_file_is_an_import_error(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="文件不存在"):
        read_table(tmp_path / "nope.csv", kind="opportunity")


def test_header_must_be_within_the_first_15_rows() -> None:
    assert read([*[[f"说明{n}"] for n in range(14)], OPP, ROW_A]).header_row == 15
    error = file_error(csv_bytes([*[[f"说明{n}"] for n in range(15)], OPP, ROW_A]))
    assert "找不到表头" in error.reason and error.row == 1


@pytest.mark.parametrize(
    ("rows", "kind"),
    [
        ([["能力名称", "供给单位", "能力描述"], ["a", "b", "c"]], "opportunity"),
        (
            [["能力名称", "供给单位", "能力描述", "联系人", "所属领域"], ["a", "b", "c", "d", "e"]],
            "opportunity",
        ),
        ([OPP, ROW_A], "capability"),
    ],
)
def test_importing_one_list_as_the_other_says_so(rows: list[list[str]], kind: str) -> None:
    other = {"opportunity": "场景能力清单", "capability": "场景机会清单"}[kind]
    assert f"这似乎是一份{other}" in file_error(csv_bytes(rows), kind=kind).reason


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        read_table(csv_bytes([OPP, ROW_A]), kind="opportunities")


@pytest.mark.parametrize("seed", range(40))
def test_damaged_files_never_raise_anything_else(seed: int) -> None:
    rng = random.Random(seed)
    good = [xlsx_bytes([OPP, ROW_A, ROW_B]), csv_bytes([OPP, ROW_A, ROW_B], encoding="gbk")]
    data = bytearray(good[seed % 2])
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    data = data[: rng.randint(len(data) // 2, len(data))] if seed % 3 == 0 else data
    try:
        read_table(bytes(data), kind="opportunity")
    except ImportFileError as error:
        assert error.reason


# ------------------------------------------------------------------------------ export


FULL = {
    "opportunity": {
        "id": "001",
        "title": "智慧停车",
        "organization": "梁溪区城管局",
        "field": "人工智能",
        "district": "梁溪区",
        "description": "=SUM(A1) 不是公式，“引号”与逗号，都保留。",
        "requirements": "视频识别\n泊位引导",
        "budget_wan": 120.5,
        "deadline": "2026-12-31",
        "contact": "张三",
        "phone": "0510-12345678",
        "email": "zs@example.cn",
    },
    "capability": {
        "id": "C-01",
        "title": "AI 质检",
        "organization": "某大学",
        "field": "人工智能",
        "district": "新吴区",
        "description": "视觉检测",
        "maturity": "试点应用",
        "cases": "某工厂",
        "contact": "李四",
        "phone": "13800000000",
        "email": "ls@example.cn",
    },
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("target", ["path", "buffer"])
def test_round_trip_write_then_read(kind: str, target: str, tmp_path: Path) -> None:
    rows = [
        {**FULL[kind], "extra": {"备注": "急", "序号": "1"}},
        {"title": "第二", "organization": "单位", "description": "描述", "extra": {"附件": "有"}},
    ]
    if target == "path":
        out: Any = tmp_path / "export.xlsx"
        write_xlsx(rows, kind=kind, path_or_buffer=out)
        table = read_table(out, kind=kind)
    else:
        out = io.BytesIO()
        write_xlsx(rows, kind=kind, path_or_buffer=out)
        table = read_table(out.getvalue(), kind=kind)
    assert table.errors == []
    assert table.rows[0].values == FULL[kind]
    assert table.rows[0].extra == {"备注": "急", "序号": "1"}
    assert table.rows[1].extra == {"附件": "有"}
    assert table.unknown == ["备注", "序号", "附件"]


def test_export_layout_is_lists_md_order_then_extras() -> None:
    out = io.BytesIO()
    write_xlsx(
        [{"title": "x", "extra": {"备注": "y"}, "created_at": "not exported"}],
        kind="capability",
        path_or_buffer=out,
    )
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue())).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header == [c.name for c in columns("capability")] + ["备注"]
    assert sheet.title == "场景能力清单"


def test_round_trip_of_a_parsed_file_is_stable() -> None:
    rows = [["附件1"], [*OPP, "预算（万元）", "备注"], [*ROW_A, "１２０万", "急"], [*ROW_B, "", ""]]
    first = read(rows)
    out = io.BytesIO()
    write_xlsx(
        [{**r.values, "extra": r.extra} for r in first.rows], kind="opportunity", path_or_buffer=out
    )
    second = read_table(out.getvalue(), kind="opportunity")

    def filled(table: ParsedTable) -> list[tuple[dict, dict]]:
        return [({k: v for k, v in r.values.items() if v is not None}, r.extra) for r in table.rows]

    assert filled(second) == filled(first)
    assert second.rows[0].values["budget_wan"] == 120.0
