"""The event pages an organiser uses: list, create, the draft with its grid, swap, lock,
availability, publish, standby after publishing, outcomes, exports, agendas and sign-in."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import Capability, Meeting, Opportunity, Standby
from tests.web import client, csrf_of, organiser, soup  # noqa: F401

FORM = {
    "action": "create",
    "name": "春季对接会",
    "date": "2026-05-20",
    "venue": "无锡国际会议中心",
    "start_time": "09:00",
    "meeting_minutes": "20",
    "break_minutes": "5",
    "slots": "2",
    "tables": "3",
    "per_opportunity": "2",
    "max_per_supplier": "2",
    "min_score": "",
    "mode": "filter",
}
SCRIPT = "<script>alert(1)</script>"


def post(http: TestClient, path: str, data: dict | None = None, **kwargs):
    return http.post(path, data={"csrf_token": csrf_of(http, "/events"), **(data or {})}, **kwargs)


def create(http: TestClient, **changes) -> str:
    response = post(http, "/events/new", {**FORM, **changes}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]


@pytest.fixture()
def drafted(organiser: TestClient) -> str:  # noqa: F811
    path = create(organiser)
    assert "草稿已生成" in soup(post(organiser, f"{path}/plan")).find(class_="flash").text
    return path


@pytest.fixture()
def published(organiser: TestClient, drafted: str) -> str:  # noqa: F811
    assert post(organiser, f"{drafted}/publish").status_code == 200
    return drafted


def stored(http: TestClient, model, *where):
    with http.app.state.context.session() as session:
        return list(session.exec(select(model).where(*where)).all())


def event_id(path: str) -> int:
    return int(path.rsplit("/", 1)[1])


def meetings(http: TestClient, path: str) -> list[Meeting]:
    return sorted(stored(http, Meeting, Meeting.event_id == event_id(path)), key=lambda m: m.id)


def cap_ext(http: TestClient, capability_id: int) -> str:
    return stored(http, Capability, Capability.id == capability_id)[0].ext_id


def standby(http: TestClient, path: str, meeting: Meeting) -> list[Standby]:
    return sorted(
        stored(
            http,
            Standby,
            Standby.event_id == event_id(path),
            Standby.opportunity_id == meeting.opportunity_id,
        ),
        key=lambda s: s.rank,
    )


# -- who may ------------------------------------------------------------------------------------
GETS = [
    "/events",
    "/events/new",
    "/events/1",
    "/events/1/suppliers",
    "/events/1/meetings/1",
    "/events/1/agenda",
    "/events/1/signin",
    "/events/1/export.xlsx",
    "/events/1/export.csv",
]
POSTS = [
    "/events/new",
    "/events/1/plan",
    "/events/1/publish",
    "/events/1/swap",
    "/events/1/availability",
    "/events/1/meetings/1/lock",
    "/events/1/meetings/1/replace",
    "/events/1/meetings/1/outcome",
]


def test_anonymous_visitors_are_sent_to_sign_in(client: TestClient) -> None:  # noqa: F811
    token = csrf_of(client)
    for path, response in [(p, client.get(p, follow_redirects=False)) for p in GETS] + [
        (p, client.post(p, data={"csrf_token": token}, follow_redirects=False)) for p in POSTS
    ]:
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), (
            path
        )


@pytest.mark.parametrize("path", POSTS)
def test_posts_without_the_csrf_token_are_refused(
    organiser: TestClient, drafted: str, path: str  # noqa: F811
) -> None:
    before = [(m.capability_id, m.slot, m.locked, m.status) for m in meetings(organiser, drafted)]
    response = organiser.post(
        path, data={**FORM, "meeting": "1", "locked": "1", "capability": "C-1"}
    )
    assert response.status_code == 403 and "CSRF" in soup(response).find(class_="error").text
    assert [
        (m.capability_id, m.slot, m.locked, m.status) for m in meetings(organiser, drafted)
    ] == before


def test_unknown_ids_are_a_chinese_404(organiser: TestClient, drafted: str) -> None:  # noqa: F811
    for path in (
        "/events/999",
        "/events/abc",
        "/events/1/meetings/999",
        "/events/1/meetings/x",
        "/events/99999999999999999999/agenda",
        "/events/999/export.xlsx",
    ):
        response = organiser.get(path)
        assert (
            response.status_code == 404 and "找不到" in soup(response).find(class_="error").text
        ), path
    response = post(organiser, "/events/1/meetings/999/lock", {"locked": "1"})
    assert response.status_code == 404


# -- the list and creating --------------------------------------------------------------------
def test_the_list_links_each_event_and_survives_bad_page_numbers(
    organiser: TestClient, drafted: str  # noqa: F811
) -> None:
    for page in ("", "?page=abc", "?page=-3", "?page=99"):
        response = organiser.get(f"/events{page}")
        assert response.status_code == 200
        link = soup(response).find("a", href=drafted)
        assert link and link.text == "春季对接会"


def test_the_create_form_has_every_field_and_the_published_opportunities(
    organiser: TestClient,  # noqa: F811
) -> None:
    form = soup(organiser.get("/events/new")).find("form", action="/events/new")
    names = {i["name"] for i in form.find_all(["input", "select"]) if i.get("name")}
    assert {
        "name",
        "date",
        "venue",
        "start_time",
        "meeting_minutes",
        "break_minutes",
        "slots",
        "tables",
        "per_opportunity",
        "max_per_supplier",
        "min_score",
        "fair",
        "mode",
        "field",
        "district",
        "pick",
        "csrf_token",
    } <= names
    assert form.find("input", attrs={"name": "per_opportunity"})["value"] == "3"
    assert form.find("input", attrs={"name": "max_per_supplier"})["value"] == "4"
    assert {i["value"] for i in form.find_all("input", attrs={"name": "pick"})} == {
        "O-1",
        "O-2",
        "O-3",
    }


def test_errors_show_beside_the_fields_and_what_was_typed_is_kept(organiser: TestClient) -> None:  # noqa: F811
    response = post(
        organiser,
        "/events/new",
        {**FORM, "name": "", "slots": "九", "venue": "太湖饭店", "date": "5月20日", "fair": "on"},
    )
    assert response.status_code == 400
    page = soup(response)
    assert "活动名称" in page.find(id="error-name").text
    assert "整数" in page.find(id="error-slots").text and "日期" in page.find(id="error-date").text
    assert page.find("input", attrs={"name": "venue"})["value"] == "太湖饭店"
    assert page.find("input", attrs={"name": "slots"})["value"] == "九"
    assert page.find("input", attrs={"name": "fair"}).has_attr("checked")
    assert organiser.get("/events").text.count("春季对接会") == 0


def test_hand_picking_keeps_the_picks_while_filtering(organiser: TestClient) -> None:  # noqa: F811
    response = post(
        organiser,
        "/events/new",
        {**FORM, "mode": "hand", "action": "filter", "q": "蓝藻", "pick": ["O-1"]},
    )
    page = soup(response)
    shown = page.find_all("input", attrs={"name": "pick", "type": "checkbox"})
    assert [i["value"] for i in shown] == ["O-3"]
    assert page.find("input", attrs={"name": "pick", "type": "hidden"})["value"] == "O-1"  # carried
    assert page.find("input", attrs={"name": "name"})["value"] == "春季对接会"
    path = create(organiser, mode="hand", pick=["O-1", "O-3"])
    page = soup(organiser.get(path))
    assert "2 个" in page.find(class_="rules").text


def test_hand_picking_nothing_is_refused(organiser: TestClient) -> None:  # noqa: F811
    response = post(organiser, "/events/new", {**FORM, "mode": "hand"})
    assert response.status_code == 400 and "至少勾选" in soup(response).find(id="error-pick").text


# -- the draft --------------------------------------------------------------------------------------
def test_the_event_page_shows_rules_grid_pairs_reasons_and_standby(
    organiser: TestClient, drafted: str  # noqa: F811
) -> None:
    page = soup(organiser.get(drafted))
    assert (
        "每个场景" in page.find(class_="rules").text
        and "对接 2 家" in page.find(class_="rules").text
    )
    grid = page.find("table", class_="event-grid")
    assert [th.text.strip()[:1] for th in grid.find("thead").find_all("th")[1:]] == ["1", "2"]
    assert "09:00–09:20" in grid.find("thead").text and "09:25–09:45" in grid.find("thead").text
    cells = grid.find_all("td", class_="cell")
    assert len([c for c in cells if "empty" not in c["class"]]) == 6
    assert any("道路表观病害AI识别" in c.text and "无锡路智科技有限公司" in c.text for c in cells)
    scenario = page.find(id="s-O-3")
    assert scenario.find(class_="pairs").find(class_="reasons").find("li")  # why each pair fits
    assert scenario.find(class_="standby").find("li")
    assert scenario.find("form", action=f"{drafted}/swap")


def test_an_unmet_scenario_is_shown_prominently(organiser: TestClient) -> None:  # noqa: F811
    path = create(organiser, min_score="1.5")
    post(organiser, f"{path}/plan")
    page = soup(organiser.get(path))
    attention = page.find(class_="attention")
    assert attention and "未满足" in attention.text and "O-1" in attention.text
    assert "最低分" in page.find(id="s-O-1").find(class_="unmet-reason").text


def test_swap_on_the_page_takes_the_standby(organiser: TestClient, drafted: str) -> None:  # noqa: F811
    meeting = meetings(organiser, drafted)[0]
    spare = cap_ext(organiser, standby(organiser, drafted, meeting)[0].capability_id)
    response = post(organiser, f"{drafted}/swap", {"meeting": str(meeting.id), "capability": spare})
    assert "已换为候补" in soup(response).find(class_="flash").text
    mine = [m for m in meetings(organiser, drafted) if m.opportunity_id == meeting.opportunity_id]
    assert spare in {cap_ext(organiser, m.capability_id) for m in mine} and all(
        m.locked for m in mine
    )


def test_swap_to_a_stranger_is_refused_beside_the_field(
    organiser: TestClient, drafted: str  # noqa: F811
) -> None:
    meeting = meetings(organiser, drafted)[0]
    response = post(
        organiser, f"{drafted}/swap", {"meeting": str(meeting.id), "capability": "NO-SUCH"}
    )
    assert (
        response.status_code == 400
        and "候补名单" in soup(response).find(id="error-capability").text
    )


def test_lock_and_unlock(organiser: TestClient, drafted: str) -> None:  # noqa: F811
    meeting = meetings(organiser, drafted)[0]
    response = post(organiser, f"{drafted}/meetings/{meeting.id}/lock", {"locked": "1"})
    assert "已锁定" in soup(response).find(class_="flash").text
    assert meetings(organiser, drafted)[0].locked
    form = soup(response).find("form", action=f"{drafted}/meetings/{meeting.id}/lock")
    assert (
        form.find("button").text == "解锁"
        and form.find("input", attrs={"name": "locked"})["value"] == "0"
    )
    post(organiser, f"{drafted}/meetings/{meeting.id}/lock", {"locked": "0"})
    assert not meetings(organiser, drafted)[0].locked


def test_availability_is_stored_and_flagged_until_replanned(
    organiser: TestClient, drafted: str  # noqa: F811
) -> None:
    meeting = meetings(organiser, drafted)[0]
    opp = stored(organiser, Opportunity, Opportunity.id == meeting.opportunity_id)[0]
    response = post(
        organiser,
        f"{drafted}/availability",
        {
            "kind": "opportunity",
            "entry": opp.ext_id,
            "slot": [str(meeting.slot + 1)],
            "back": "#s-x",
        },
    )
    assert "重新生成" in soup(response).find(class_="flash").text
    assert "不可用" in soup(response).find(class_="clashes").text
    post(organiser, f"{drafted}/plan")
    assert all(
        m.slot != meeting.slot for m in meetings(organiser, drafted) if m.opportunity_id == opp.id
    )
    response = post(
        organiser,
        f"{drafted}/availability",
        {"kind": "opportunity", "entry": opp.ext_id, "slot": "9"},
    )
    assert "1–2" in soup(response).find(class_="event-refusal").text


def test_supplier_availability_on_the_suppliers_page(organiser: TestClient, drafted: str) -> None:  # noqa: F811
    page = soup(organiser.get(f"{drafted}/suppliers?page=x"))
    form = page.find("input", attrs={"name": "kind", "value": "capability"}).find_parent("form")
    entry = form.find("input", attrs={"name": "entry"})["value"]
    response = post(
        organiser, f"{drafted}/availability", {"kind": "capability", "entry": entry, "slot": ["1"]}
    )
    assert "不能参加：第 1 时段" in soup(response).find(id=f"c-{entry}").text


# -- publishing and after -------------------------------------------------------------------------
def test_publish_stops_replanning(organiser: TestClient, published: str) -> None:  # noqa: F811
    page = soup(organiser.get(published))
    assert "已发布" in page.find("h1").text and not page.find("form", action=f"{published}/plan")
    response = post(organiser, f"{published}/plan")
    assert "已发布" in soup(response).find(class_="event-refusal").text


def _free_and_busy(http: TestClient, path: str, meeting: Meeting) -> tuple[str, str]:
    busy = {m.capability_id for m in meetings(http, path) if m.slot == meeting.slot}
    spare = [s.capability_id for s in standby(http, path, meeting)]
    return (
        cap_ext(http, next(c for c in spare if c not in busy)),
        cap_ext(http, next(c for c in spare if c in busy)),
    )


def test_replace_after_publishing(organiser: TestClient, published: str) -> None:  # noqa: F811
    before = meetings(organiser, published)
    meeting = before[0]
    free, busy = _free_and_busy(organiser, published, meeting)
    response = post(organiser, f"{published}/meetings/{meeting.id}/replace", {"capability": busy})
    assert response.status_code == 409
    assert "已有对接" in soup(response).find(id="error-capability").text
    response = post(
        organiser,
        f"{published}/meetings/{meeting.id}/replace",
        {"capability": free, "reason": "no_show"},
    )
    assert "其他人不变" in soup(response).find(class_="flash").text
    after = meetings(organiser, published)
    assert len(after) == len(before) + 1 and after[0].status == "no_show"
    assert (after[-1].slot, after[-1].table_no) == (meeting.slot, meeting.table_no)
    assert [(m.capability_id, m.slot) for m in after[1:-1]] == [
        (m.capability_id, m.slot) for m in before[1:]
    ]


def test_outcomes_are_recorded_and_summed(organiser: TestClient, published: str) -> None:  # noqa: F811
    first, second = meetings(organiser, published)[:2]
    response = post(
        organiser,
        f"{published}/meetings/{first.id}/outcome",
        {"status": "no_show", "outcome": "signed", "note": "想签"},
    )
    assert response.status_code == 400
    page = soup(response)
    assert (
        "已对接" in page.find(id="error-outcome").text
        and page.find("textarea", attrs={"name": "note"}).text == "想签"
    )
    post(
        organiser,
        f"{published}/meetings/{first.id}/outcome",
        {"status": "held", "outcome": "signed", "note": "已签约"},
    )
    post(
        organiser,
        f"{published}/meetings/{second.id}/outcome",
        {"status": "held", "outcome": "intent", "note": ""},
    )
    counts = soup(organiser.get(published)).find("table", class_="outcome-counts")
    values = {td["data-label"]: td.text for td in counts.find_all("td")}
    assert (
        values["已对接"] == "2"
        and values["签约"] == "1"
        and values["意向"] == "1"
        and values["对接"] == "6"
    )


def test_outcomes_wait_for_publishing(organiser: TestClient, drafted: str) -> None:  # noqa: F811
    meeting = meetings(organiser, drafted)[0]
    response = post(
        organiser, f"{drafted}/meetings/{meeting.id}/outcome", {"status": "held", "outcome": ""}
    )
    assert response.status_code == 409 and "发布后" in soup(response).find(id="error-form").text


# -- exports and print ------------------------------------------------------------------------------
def test_the_workbook_opens_with_its_four_sheets(organiser: TestClient, drafted: str) -> None:  # noqa: F811
    response = organiser.get(f"{drafted}/export.xlsx")
    assert (
        response.headers["content-type"]
        == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in response.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["对接名单", "日程表", "候补名单", "未满足与问题"]
    assert book["对接名单"].max_row == 2 + 6


def test_the_csv_lists_every_meeting(organiser: TestClient, drafted: str) -> None:  # noqa: F811
    response = organiser.get(f"{drafted}/export.csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:2] == ["opportunity_id", "capability_id"] and len(rows) == 7


def test_agendas_give_each_participant_a_printed_page(organiser: TestClient, drafted: str) -> None:  # noqa: F811
    page = soup(organiser.get(f"{drafted}/agenda"))
    sections = page.find_all("section", class_="agenda-page")
    placed = meetings(organiser, drafted)
    assert len(sections) == len({m.opportunity_id for m in placed}) + len(
        {m.capability_id for m in placed}
    )
    first = page.find(id="scenario-O-1")
    assert "1 号桌" in first.text and len(first.find("tbody").find_all("tr")) == 2
    times = [tr.find_all("td")[1].text for tr in first.find("tbody").find_all("tr")]
    assert times == sorted(times)
    supplier = page.find("section", id=lambda i: i and i.startswith("supplier-"))
    assert "号桌" in supplier.find("tbody").text
    only = soup(organiser.get(f"{drafted}/agenda?only=supplier")).find_all(
        "section", class_="agenda-page"
    )
    assert only and all(s["id"].startswith("supplier-") for s in only)


def test_the_sign_in_sheet_has_a_row_per_participant(organiser: TestClient, drafted: str) -> None:  # noqa: F811
    table = soup(organiser.get(f"{drafted}/signin")).find("table", class_="signin")
    assert [th.text for th in table.find("thead").find_all("th")] == [
        "序号",
        "角色",
        "参会方",
        "单位",
        "联系人",
        "桌号",
        "签名",
    ]
    rows = table.find("tbody").find_all("tr")
    placed = meetings(organiser, drafted)
    assert len(rows) == len({m.opportunity_id for m in placed}) + len(
        {m.capability_id for m in placed}
    )
    assert rows[0].find_all("td")[1].text == "需求方" and "1 号桌" in rows[0].text


def test_titles_are_escaped_everywhere(organiser: TestClient, drafted: str) -> None:  # noqa: F811
    with organiser.app.state.context.session() as session:
        opp = session.exec(select(Opportunity).where(Opportunity.ext_id == "O-1")).one()
        opp.title = SCRIPT
        session.add(opp)
        session.commit()
        opp_id = opp.id
    meeting = next(m for m in meetings(organiser, drafted) if m.opportunity_id == opp_id)
    for path in (
        drafted,
        f"{drafted}/agenda",
        f"{drafted}/signin",
        f"{drafted}/meetings/{meeting.id}",
        f"{drafted}/suppliers",
    ):
        page = soup(organiser.get(path))
        assert not [s for s in page.find_all("script") if "alert(1)" in s.text], path
        assert SCRIPT in page.text, path
