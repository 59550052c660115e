"""The public pages: home, both lists (filters, search, pages), each entry with its matches,
and what only a signed-in organiser sees there."""

from __future__ import annotations

from fastapi.testclient import TestClient

from service import entries
from service.models import Capability, Status
from service.reviews import set_mark
from tests.web import client, organiser, soup  # noqa: F401

XSS = "<script>alert(1)</script>"


def _save(client: TestClient, kind: str, **values) -> None:
    context = client.app.state.context
    status = values.pop("status", Status.published)
    with context.session() as session:
        clean, errors = entries.check(session, kind, values)
        assert not errors
        entries.save(context, session, kind, clean, status=status)


def _set_status(client: TestClient, kind: str, ext_id: str, status: Status) -> None:
    context = client.app.state.context
    with context.session() as session:
        entries.set_status(context, session, kind, entries.by_ext(session, kind, ext_id), status)


def _ids(response) -> list[str]:
    return [row.find("td").text for row in soup(response).select("table.list tbody tr")]


def _match_ids(response) -> list[str]:
    return [a["href"].rsplit("/", 1)[1] for a in soup(response).select("ol.matches a.match-title")]


def test_home_counts_both_lists_and_searches_each(client: TestClient) -> None:
    page = soup(client.get("/"))
    counts = [c.text for c in page.select(".home-list .count")]
    assert counts == ["3", "5"]
    actions = {
        form["action"]
        for form in page.select("form.search")
        if form.find("input", attrs={"name": "q"})
    }
    assert actions == {"/opportunities", "/capabilities"}
    assert "两张清单" in page.text and "需求覆盖" in page.text
    assert page.find("a", href="/submit")


def test_lists_show_published_entries_in_id_order_with_links(client: TestClient) -> None:
    _set_status(client, "capability", "C-3", Status.pending_review)
    response = client.get("/capabilities")
    assert response.status_code == 200
    assert _ids(response) == ["C-1", "C-2", "C-4", "C-5"]
    first = soup(response).select_one("table.list tbody tr")
    assert [td.text for td in first.find_all("td")] == [
        "C-1",
        "植保无人机飞防服务",
        "无锡田园飞控科技有限公司",
        "低空经济",
        "惠山区",
    ]
    assert first.find("a")["href"] == "/capabilities/C-1"
    assert _ids(client.get("/opportunities")) == ["O-1", "O-2", "O-3"]


def test_filters_are_selects_filled_from_the_data(client: TestClient) -> None:
    page = soup(client.get("/capabilities"))
    options = {
        s["name"]: [o["value"] for o in s.find_all("option")]
        for s in page.select("form.filters select")
    }
    assert options["field"] == ["", "低空经济", "太湖治理", "智慧交通", "节能环保"]
    assert options["district"] == ["", "宜兴市", "惠山区", "新吴区", "滨湖区"]
    assert options["maturity"] == ["", "规模化应用", "试点应用"]
    assert "maturity" not in {
        s["name"] for s in soup(client.get("/opportunities")).select("form.filters select")
    }
    assert _ids(client.get("/capabilities", params={"field": "低空经济"})) == ["C-1", "C-2"]
    assert _ids(
        client.get("/capabilities", params={"district": "滨湖区", "maturity": "试点应用"})
    ) == ["C-4"]
    chosen = soup(client.get("/capabilities", params={"district": "滨湖区"})).find(
        "option", selected=True
    )
    assert chosen["value"] == "滨湖区"


def test_search_ranks_by_meaning_with_scores_and_filters(client: TestClient) -> None:
    response = client.get("/capabilities", params={"q": "湖泊蓝藻卫星遥感监测"})
    ids = _ids(response)
    assert ids[0] == "C-4" and len(ids) == 5
    scores = [float(td.text) for td in soup(response).select("table.list td.score")]
    assert scores == sorted(scores, reverse=True)
    assert soup(response).find("input", attrs={"name": "q"})["value"] == "湖泊蓝藻卫星遥感监测"
    assert _ids(client.get("/capabilities", params={"q": "无人机", "field": "低空经济"})) in (
        ["C-1", "C-2"],
        ["C-2", "C-1"],
    )


def test_pages_of_twenty_and_bad_page_numbers(client: TestClient) -> None:
    with client.app.state.context.session() as session:
        for i in range(25):  # straight into the table: paging does not need the matcher
            session.add(
                Capability(
                    ext_id=f"D-{i:02d}",
                    title=f"能力{i}",
                    organization="单位",
                    field="低空经济",
                    description="描述",
                )
            )
        session.commit()
    first = client.get("/capabilities", params={"field": "低空经济"})
    assert len(_ids(first)) == 20
    next_link = soup(first).find("a", rel="next")["href"]
    assert "field=" in next_link and "page=2" in next_link
    second = client.get(next_link)
    assert len(_ids(second)) == 7 and not soup(second).find("a", rel="next")
    past = client.get("/capabilities", params={"field": "低空经济", "page": "99"})
    assert past.status_code == 200 and _ids(past) == _ids(second)
    assert "已显示第 2 页" in soup(past).find(class_="flash").text
    for bad in ("abc", "-3", "0", "1e9", ""):
        response = client.get("/capabilities", params={"page": bad})
        assert response.status_code == 200 and len(_ids(response)) == 20


def test_opportunity_page_shows_fields_and_ranked_matches_with_reasons(client: TestClient) -> None:
    response = client.get("/opportunities/O-1")
    assert response.status_code == 200
    page = soup(response)
    assert page.find("h1").text == "医疗样本无人机转运"
    fields = dict(
        zip(
            [dt.text for dt in page.select("dl.fields dt")],
            [dd.text for dd in page.select("dl.fields dd")],
            strict=True,
        )
    )
    assert fields["发布单位"] == "无锡市第二人民医院" and "样本箱温控" in fields["能力需求"]
    ids = _match_ids(response)
    assert set(ids[:2]) == {"C-1", "C-2"} and len(ids) <= 10
    scores = [float(s.text) for s in page.select("ol.matches .score")]
    assert scores == sorted(scores, reverse=True)
    drone = page.select("ol.matches > li")[ids.index("C-1")]
    assert "无人机" in [m.text for m in drone.select(".match-title mark")]
    assert any(r.text.startswith("需求覆盖") for r in drone.select(".reasons li"))
    assert page.find("button", string="打印")
    assert not page.find(
        "form", attrs={"action": "/admin/pairs"}
    )  # no review buttons for the public


def test_capability_page_lists_best_opportunities(client: TestClient) -> None:
    response = client.get("/capabilities/C-4")
    assert response.status_code == 200
    assert _match_ids(response)[0] == "O-3"
    assert soup(response).select_one("ol.matches a.match-title")["href"] == "/opportunities/O-3"


def test_contact_details_only_for_organisers(client: TestClient) -> None:
    _save(
        client,
        "opportunity",
        id="O-9",
        title="园区无人机巡检",
        organization="无锡某园区",
        description="园区安防巡检",
        contact="王经理",
        phone="0510-88886666",
        email="wang@example.cn",
    )
    public = client.get("/opportunities/O-9").text
    assert "王经理" in public and "0510-88886666" not in public and "wang@example.cn" not in public
    from tests.web import sign_in

    sign_in(client)
    private = client.get("/opportunities/O-9").text
    assert "0510-88886666" in private and "wang@example.cn" in private


def test_unknown_and_unpublished_entries_are_a_chinese_404(client: TestClient) -> None:
    _set_status(client, "capability", "C-5", Status.pending_review)
    for path in (
        "/opportunities/NOPE",
        "/capabilities/C-5",
        "/capabilities/O-1",
        "/opportunities/a/b",
    ):
        response = client.get(path)
        assert response.status_code == 404
        assert "找不到" in soup(response).find(class_="error").text


def test_organiser_sees_unpublished_entries_with_their_status(organiser: TestClient) -> None:
    _set_status(organiser, "capability", "C-5", Status.pending_review)
    page = soup(organiser.get("/capabilities/C-5"))
    assert "待审核" in page.select_one(".entry-kind .tag").text
    _set_status(organiser, "capability", "C-5", Status.archived)
    response = organiser.get("/capabilities/C-5")
    assert (
        response.status_code == 200
        and "已归档" in soup(response).select_one(".entry-kind .tag").text
    )


def test_organiser_marks_pairs_from_the_opportunity_page(organiser: TestClient) -> None:
    with organiser.app.state.context.session() as session:
        set_mark(session, opportunity="O-1", capability="C-2", mark="confirmed")
        set_mark(session, opportunity="O-1", capability="C-5", mark="excluded")
    page = soup(organiser.get("/opportunities/O-1"))
    rows = {
        li.select_one("a.match-title")["href"].rsplit("/", 1)[1]: li
        for li in page.select("ol.matches > li")
    }
    assert rows["C-2"].select_one(".tag").text == "已确认"
    assert rows["C-5"].select_one(".tag").text == "已排除"
    forms = rows["C-1"].find_all("form", attrs={"action": "/admin/pairs", "method": "post"})
    fields = [{i["name"]: i["value"] for i in f.find_all("input")} for f in forms]
    assert [f["mark"] for f in fields] == [
        "confirmed",
        "excluded",
    ]  # nothing to clear on an unmarked pair
    assert all(
        f["opportunity"] == "O-1"
        and f["capability"] == "C-1"
        and f["next"] == "/opportunities/O-1"
        and f["csrf_token"]
        for f in fields
    )
    assert [
        f.find("input", attrs={"name": "mark"})["value"] for f in rows["C-2"].find_all("form")
    ] == ["excluded", "clear"]
    # the public never sees the excluded pair nor any mark
    organiser.post("/logout", data={"csrf_token": fields[0]["csrf_token"]})
    public = organiser.get("/opportunities/O-1")
    assert "C-5" not in _match_ids(public) and not soup(public).select("ol.matches .tag")


def test_titles_are_shown_as_text_never_run(client: TestClient) -> None:
    _save(
        client,
        "capability",
        id="X-1",
        title=XSS,
        organization=XSS,
        field="低空经济",
        description=f"医院样本无人机 {XSS}",
    )
    for path in (
        "/capabilities",
        "/capabilities/X-1",
        "/opportunities/O-1",
        "/capabilities?q=无人机",
    ):
        page = soup(client.get(path))
        assert not [s for s in page.find_all("script") if "alert(1)" in s.text], path
        assert XSS in page.text, path


def test_filter_options_follow_publishing_and_archiving(client: TestClient) -> None:  # noqa: F811
    """The options come from the matcher's rows (no DISTINCT over the table per page view), so
    they must change the moment an entry is published or archived."""

    def fields() -> list[str]:
        page = soup(client.get("/capabilities"))
        return [o["value"] for o in page.select("form.filters select[name=field] option")]

    context = client.app.state.context
    assert "生物医药" not in fields()
    with context.session() as session:
        entry = entries.save(context, session, "capability", {
            "id": "C-9", "title": "细胞治疗冷链转运箱", "organization": "某生物公司", "field": "生物医药",
            "description": "温控转运箱，全程记录温度。"}, status=Status.published)
    assert "生物医药" in fields()
    with context.session() as session:
        entries.set_status(context, session, "capability", session.get(Capability, entry.id), Status.archived)
    assert "生物医药" not in fields()
