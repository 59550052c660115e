"""An event's workbook: the master pairing list, the agenda grid, standby lists and what could
not be met; its CSV for other systems; and what the printed agendas and sign-in sheet list."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlmodel import Session, select

from service.events import Plan
from service.models import Capability, Event, Meeting, MeetingStatus, Opportunity

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
DOWNLOADS = {"xlsx": XLSX, "csv": CSV}
MEETING_STATUS = {"planned": "待对接", "held": "已对接", "no_show": "未到场", "withdrawn": "已退出"}


def slot_time(event: Event, slot: int) -> str:
    """「09:00–09:20」 for a 0-based slot."""
    start = datetime.strptime(event.start_time or "09:00", "%H:%M")
    begin = start + timedelta(minutes=slot * (event.meeting_minutes + event.break_minutes))
    end = begin + timedelta(minutes=event.meeting_minutes)
    return f"{begin:%H:%M}–{end:%H:%M}"


def _names(session: Session) -> tuple[dict[str, Opportunity], dict[str, Capability]]:
    return ({o.ext_id: o for o in session.exec(select(Opportunity)).all()},
            {c.ext_id: c for c in session.exec(select(Capability)).all()})


def master_rows(session: Session, plan: Plan) -> list[list]:
    opps, caps = _names(session)
    rows = []
    for m in sorted(plan.meetings, key=lambda m: (m["opportunity"], m["slot"] if m["slot"] is not None else 999)):
        o, c = opps[m["opportunity"]], caps[m["capability"]]
        placed = m["slot"] is not None
        rows.append([o.ext_id, o.title, o.organization, m["table"] + 1 if placed else "未排入",
                     m["slot"] + 1 if placed else "未排入", slot_time(plan.event, m["slot"]) if placed else "",
                     c.ext_id, c.title, c.organization, round(m["score"], 3),
                     MEETING_STATUS.get(m["status"], m["status"])])
    return rows


MASTER_HEADER = ["场景编号", "场景名称", "发布单位", "桌号", "时段", "时间", "能力编号", "能力名称", "供给单位",
                 "匹配分", "状态"]


def write_workbook(session: Session, plan: Plan, target: str | IO[bytes]) -> None:
    opps, caps = _names(session)
    book = Workbook()
    sheet = book.active
    sheet.title = "对接名单"
    sheet.append([f"{plan.event.name} 对接名单"])
    sheet.append(MASTER_HEADER)
    for row in master_rows(session, plan):
        sheet.append(row)
    _bold(sheet, 2)
    _grid(book, plan, opps, caps)
    standby = book.create_sheet("候补名单")
    standby.append(["场景编号", "场景名称", "候补顺位", "能力编号", "能力名称", "供给单位"])
    for opp, ranked in sorted(plan.standby.items()):
        for rank, cap in enumerate(ranked, 1):
            standby.append([opp, opps[opp].title, rank, cap, caps[cap].title, caps[cap].organization])
    _bold(standby, 1)
    unmet = book.create_sheet("未满足与问题")
    unmet.append(["场景编号", "原因"])
    for item in plan.unmet:
        unmet.append([item["opportunity"], item["reason"]])
    for problem in plan.problems:
        unmet.append(["", problem])
    _bold(unmet, 1)
    _layout(book)
    book.save(target)


def _grid(book: Workbook, plan: Plan, opps, caps) -> None:
    """Slots down, tables across: who meets whom where."""
    sheet = book.create_sheet("日程表")
    tables = sorted({m["table"] for m in plan.meetings if m["table"] is not None})
    owner = {m["table"]: m["opportunity"] for m in plan.meetings if m["table"] is not None}
    sheet.append(["时段", "时间"] + [f"{t + 1} 号桌\n{owner[t]} {opps[owner[t]].title}" for t in tables])
    slots = sorted({m["slot"] for m in plan.meetings if m["slot"] is not None})
    at = {(m["slot"], m["table"]): m["capability"] for m in plan.meetings if m["slot"] is not None}
    for s in slots:
        cells = [f"{caps[at[(s, t)]].title}\n{caps[at[(s, t)]].organization}" if (s, t) in at else ""
                 for t in tables]
        sheet.append([s + 1, slot_time(plan.event, s)] + cells)
    for row in sheet.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    _bold(sheet, 1)


def _text_width(line: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in line)  # a CJK character is two columns wide


def _layout(book: Workbook) -> None:
    """Columns wide enough to read, wrapped rows tall enough (spreadsheet programs do not
    measure them on opening), and lists printed landscape, one page wide."""
    for sheet in book.worksheets:
        widths: dict[str, float] = {}
        cap = 30 if sheet.title == "日程表" else 48  # the grid wraps: more tables to a page
        for row in sheet.iter_rows(min_row=2 if sheet.title == "对接名单" else 1):
            for cell in row:
                wide = max(_text_width(line) for line in str(cell.value or "").split("\n"))
                widths[cell.column_letter] = max(widths.get(cell.column_letter, 6), min(wide + 2, cap))
                if wide + 2 > cap:  # wrap in its column rather than run across the page
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
        for letter, width in widths.items():
            sheet.column_dimensions[letter].width = width
        for row in sheet.iter_rows():
            lines = max((sum(1 + _text_width(line) // widths.get(c.column_letter, 8)
                             for line in str(c.value or "").split("\n"))
                         for c in row if c.alignment.wrap_text), default=1)
            if lines > 1:
                sheet.row_dimensions[row[0].row].height = min(15 * lines, 409)  # 409: Excel's most
        sheet.page_setup.orientation = "landscape"
        if sheet.title != "日程表":  # the grid is as wide as the tables are many
            sheet.sheet_properties.pageSetUpPr.fitToPage = True
            sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0


def _bold(sheet, row: int) -> None:
    for cell in sheet[row]:
        cell.font = Font(bold=True)


def write_csv(session: Session, plan: Plan, handle: IO[str]) -> None:
    writer = csv.writer(handle)
    writer.writerow(["opportunity_id", "capability_id", "score", "slot", "table", "start", "status"])
    for m in plan.meetings:
        writer.writerow([m["opportunity"], m["capability"], m["score"],
                         "" if m["slot"] is None else m["slot"] + 1, "" if m["table"] is None else m["table"] + 1,
                         "" if m["slot"] is None else slot_time(plan.event, m["slot"])[:5], m["status"]])


def csv_text(session: Session, plan: Plan) -> str:
    buffer = io.StringIO()
    write_csv(session, plan, buffer)
    return buffer.getvalue()


def download(session: Session, plan: Plan, suffix: str) -> tuple[bytes, str, str]:
    """The plan as a file to download: (body, media type, Content-Disposition); ``suffix``
    is xlsx or csv. The ASCII file name is for clients that cannot read the UTF-8 one."""
    if suffix == "xlsx":
        buffer = io.BytesIO()
        write_workbook(session, plan, buffer)
        body = buffer.getvalue()
    else:
        body = csv_text(session, plan).encode("utf-8")
    event = plan.event
    name = f"{event.name}-对接名单.{suffix}"
    disposition = f"attachment; filename=\"event-{event.id}.{suffix}\"; filename*=UTF-8''{quote(name)}"
    return body, DOWNLOADS[suffix], disposition


# -- printed agendas and the sign-in sheet -----------------------------------------------------
@dataclass
class AgendaLine:
    slot: int  # 0-based
    time: str
    table: int  # 0-based
    other: Opportunity | Capability  # whom this participant meets


@dataclass
class Agenda:
    """One participant's day: a scenario owner stays at ``table``; a supplier walks."""

    role: str  # "scenario" | "supplier"
    entry: Opportunity | Capability
    table: int | None
    lines: list[AgendaLine]


def _placed_meetings(session: Session, event: Event) -> list[Meeting]:
    """Meetings that hold a slot (planned or held; a withdrawn or no-show one gave it up)."""
    return list(session.exec(select(Meeting).where(
        Meeting.event_id == event.id, Meeting.slot.is_not(None), Meeting.table_no.is_not(None),
        Meeting.status.in_([MeetingStatus.planned.value, MeetingStatus.held.value]))
        .order_by(Meeting.slot, Meeting.table_no)).all())


def agendas(session: Session, event: Event) -> list[Agenda]:
    """Every scenario owner (by table) and then every supplier (by list id) with their
    meetings in slot order."""
    meetings = _placed_meetings(session, event)
    opps = {o.id: o for o in session.exec(select(Opportunity).where(
        Opportunity.id.in_({m.opportunity_id for m in meetings}))).all()}
    caps = {c.id: c for c in session.exec(select(Capability).where(
        Capability.id.in_({m.capability_id for m in meetings}))).all()}
    scenarios: dict[int, Agenda] = {}
    suppliers: dict[int, Agenda] = {}
    for m in meetings:
        when = slot_time(event, m.slot)
        scenarios.setdefault(m.opportunity_id, Agenda("scenario", opps[m.opportunity_id], m.table_no, [])) \
            .lines.append(AgendaLine(m.slot, when, m.table_no, caps[m.capability_id]))
        suppliers.setdefault(m.capability_id, Agenda("supplier", caps[m.capability_id], None, [])) \
            .lines.append(AgendaLine(m.slot, when, m.table_no, opps[m.opportunity_id]))
    return (sorted(scenarios.values(), key=lambda a: (a.table, a.entry.ext_id))
            + sorted(suppliers.values(), key=lambda a: a.entry.ext_id))


def signin_rows(session: Session, event: Event) -> list[dict[str, str]]:
    """The sign-in sheet (签到表): each participant, its organisation and where it sits."""
    rows = []
    for agenda in agendas(session, event):
        entry = agenda.entry
        where = (f"{agenda.table + 1} 号桌" if agenda.role == "scenario"
                 else "→".join(f"{line.table + 1}" for line in agenda.lines) + " 号桌")
        rows.append({"role": "需求方" if agenda.role == "scenario" else "供给方", "ext_id": entry.ext_id,
                     "title": entry.title, "organization": entry.organization,
                     "contact": entry.contact or "", "table": where})
    return rows
