"""Import into the database: every column kept, same id updated, stored data never lost."""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from sqlmodel import Session, select

from service.db import make_engine, migrate
from service.importer import import_file
from service.models import Capability, Opportunity, Status
from service.settings import Settings
from service.tabular import ImportFileError
from tests.helpers import CAP_HEADER, CAPABILITIES, OPP_HEADER, OPPORTUNITIES, write_csv


@pytest.fixture()
def session(data_dir: Path):
    engine = make_engine(Settings())
    migrate(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def opp(session: Session, ext_id: str) -> Opportunity:
    return session.exec(select(Opportunity).where(Opportunity.ext_id == ext_id)).one()


def test_every_column_is_kept_and_unknown_ones_as_extra(session: Session, tmp_path: Path) -> None:
    report = import_file(session, "opportunity", write_csv(tmp_path / "o.csv", OPP_HEADER, OPPORTUNITIES),
                         max_bytes=10**6)
    assert (report.created, report.updated, report.rejected) == (3, 0, [])
    first = opp(session, "O-1")
    assert first.title == "医疗样本无人机转运" and first.district == "梁溪区"
    assert first.requirements.startswith("样本箱温控")
    assert first.extra == {"备注": "优先"}
    assert first.status == Status.published and first.created_at and first.updated_at


def test_same_id_again_updates_in_place(session: Session, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", OPP_HEADER, OPPORTUNITIES)
    import_file(session, "opportunity", path, max_bytes=10**6)
    created = opp(session, "O-2").created_at
    rows = [r[:] for r in OPPORTUNITIES]
    rows[1][1] = "道路病害巡检（二期）"
    report = import_file(session, "opportunity", write_csv(tmp_path / "o2.csv", OPP_HEADER, rows), max_bytes=10**6)
    assert (report.created, report.updated) == (0, 3)
    assert len(session.exec(select(Opportunity)).all()) == 3
    again = opp(session, "O-2")
    assert again.title == "道路病害巡检（二期）" and again.created_at == created and again.updated_at > created


def test_a_rejected_row_leaves_the_stored_entry_alone(session: Session, tmp_path: Path) -> None:
    import_file(session, "opportunity", write_csv(tmp_path / "o.csv", OPP_HEADER, OPPORTUNITIES), max_bytes=10**6)
    broken = [r[:] for r in OPPORTUNITIES]
    broken[0][5] = ""  # description emptied by mistake
    broken[2][1] = "太湖蓝藻监测（修订）"
    report = import_file(session, "opportunity", write_csv(tmp_path / "b.csv", OPP_HEADER, broken), max_bytes=10**6)
    assert report.updated == 2 and [(e.row, e.column) for e in report.rejected] == [(2, "description")]
    assert opp(session, "O-1").description.startswith("院区之间")
    assert opp(session, "O-3").title == "太湖蓝藻监测（修订）"


def test_a_column_missing_from_the_file_keeps_its_stored_value(session: Session, tmp_path: Path) -> None:
    import_file(session, "opportunity", write_csv(tmp_path / "o.csv", OPP_HEADER, OPPORTUNITIES), max_bytes=10**6)
    narrow = [[r[0], r[1], r[2], r[5]] for r in OPPORTUNITIES]
    import_file(session, "opportunity", write_csv(tmp_path / "n.csv", ["编号", "场景名称", "发布单位", "场景描述"], narrow),
                max_bytes=10**6)
    assert opp(session, "O-1").district == "梁溪区"


def test_rows_without_an_id_get_a_stable_one(session: Session, tmp_path: Path) -> None:
    rows = [r[1:] for r in CAPABILITIES]
    path = write_csv(tmp_path / "c.csv", CAP_HEADER[1:], rows)
    assert import_file(session, "capability", path, max_bytes=10**6).created == 5
    assert import_file(session, "capability", path, max_bytes=10**6).updated == 5
    ids = session.exec(select(Capability.ext_id)).all()
    assert len(ids) == 5 and all(i.startswith("NL-") for i in ids)


def test_xlsx_with_title_row(session: Session, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["附件2：场景能力清单"])
    sheet.append([])
    sheet.append(["序号", "公司名称", "能力名称", "企业与产品简介", "应用领域"])
    sheet.append([1, "无锡路智科技有限公司", "道路病害识别", "巡查车视频识别裂缝。", "智慧交通"])
    sheet.append([2, "", "缺单位", "描述", ""])
    book.save(tmp_path / "c.xlsx")
    report = import_file(session, "capability", tmp_path / "c.xlsx", max_bytes=10**6)
    assert report.created == 1
    assert [(e.row, e.column) for e in report.rejected] == [(5, "organization")]
    cap = session.exec(select(Capability)).one()
    assert cap.organization == "无锡路智科技有限公司" and cap.field == "智慧交通" and cap.extra == {"序号": "1"}


def test_a_50_mb_file_is_refused_by_size_and_nothing_changes(session: Session, tmp_path: Path) -> None:
    import_file(session, "opportunity", write_csv(tmp_path / "o.csv", OPP_HEADER, OPPORTUNITIES), max_bytes=10**6)
    big = tmp_path / "big.csv"
    row = ",".join(OPPORTUNITIES[0]) + "\n"
    with open(big, "w", encoding="utf-8") as handle:
        handle.write(",".join(OPP_HEADER) + "\n")
        handle.write(row * (50 * 1024 * 1024 // len(row.encode()) + 1))
    with pytest.raises(ImportFileError) as info:
        import_file(session, "opportunity", big, max_bytes=Settings().max_import_bytes)
    assert "MB" in info.value.reason and "50" in info.value.reason
    assert len(session.exec(select(Opportunity)).all()) == 3
