"""Text that SQLite and PostgreSQL treat differently: NUL characters (PostgreSQL cannot store
them), and case in the organisers' list filter (SQLite's LIKE ignores ASCII case,
PostgreSQL's does not). Runs on the test's backend."""
from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import select

from service.models import Capability
from tests.web import client, csrf_of, organiser, sign_in, soup  # noqa: F401  (fixtures)


def test_nul_in_a_form_is_dropped_not_a_server_error(client: TestClient) -> None:  # noqa: F811
    response = client.post("/submit", follow_redirects=False, data={
        "csrf_token": csrf_of(client, "/submit"), "title": "楼宇\x00能耗计量", "organization": "无锡\x00测试公司",
        "field": "节能环保", "district": "新吴区", "description": "分项\x00计量与告警。"})
    assert response.status_code in (303, 422), response.text[:500]
    with client.app.state.context.session() as session:
        for row in session.exec(select(Capability)).all():
            assert "\x00" not in row.title + row.organization + row.description


def test_nul_in_a_search_is_harmless(client: TestClient) -> None:  # noqa: F811
    assert client.get("/opportunities", params={"q": "无人机\x00样本"}).status_code == 200
    assert client.get("/admin/opportunities", params={"q": "O-\x001"}).status_code in (200, 303)


def test_the_organisers_list_filter_ignores_ascii_case(organiser: TestClient) -> None:  # noqa: F811
    page = soup(organiser.get("/admin/capabilities", params={"q": "medical DRONE"}))
    assert "C-2" in page.get_text()
