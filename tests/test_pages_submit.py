"""Firm submissions: the form, its preview, validation, and the private receipt page."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service import entries
from service.models import Capability, Status
from tests.web import client, csrf_of, soup  # noqa: F401

GOOD = {
    "title": "医院检验样本无人机配送",
    "organization": "无锡云鹊航空科技有限公司",
    "field": "低空经济",
    "district": "新吴区",
    "description": "医院院区之间检验样本的无人机转运，样本箱温控2-8℃，航线规划与空域报备。",
    "maturity": "试点应用",
    "cases": "",
    "contact": "李工",
    "phone": "13800001111",
    "email": "li@example.cn",
}
XSS = "<script>alert(1)</script>"


def _submit(client: TestClient, **changes) -> tuple[str, Capability]:
    response = client.post(
        "/submit",
        data={**GOOD, **changes, "csrf_token": csrf_of(client, "/submit")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    token = response.headers["location"].removeprefix("/submission/")
    with client.app.state.context.session() as session:
        entry = session.exec(
            select(Capability).where(Capability.token_hash == entries.token_hash(token))
        ).one()
    return token, entry


def _set_status(
    client: TestClient, entry: Capability, status: Status, note: str | None = None
) -> None:
    context = client.app.state.context
    with context.session() as session:
        entries.set_status(
            context, session, "capability", session.get(Capability, entry.id), status, note
        )


def _error_of(page, name: str) -> str | None:
    field = page.find(attrs={"name": name}).find_parent(class_="form-field")
    error = field.find(class_="field-error")
    return error.text if error else None


def test_the_form_has_every_field_and_a_preview_button(client: TestClient) -> None:
    page = soup(client.get("/submit"))
    form = page.find("form", attrs={"action": "/submit"})
    names = {e["name"] for e in form.find_all(["input", "select", "textarea"])}
    assert names == {
        "csrf_token",
        "title",
        "organization",
        "field",
        "district",
        "description",
        "maturity",
        "cases",
        "contact",
        "phone",
        "email",
    }
    districts = [
        o["value"] for o in form.find("select", attrs={"name": "district"}).find_all("option")
    ]
    assert districts == [
        "",
        "梁溪区",
        "锡山区",
        "惠山区",
        "滨湖区",
        "新吴区",
        "经开区",
        "江阴市",
        "宜兴市",
        "其他",
    ]
    maturities = [
        o["value"] for o in form.find("select", attrs={"name": "maturity"}).find_all("option")
    ]
    assert maturities == ["", "研发中", "试点应用", "规模化应用"]
    preview = form.find("button", string="预览匹配")
    assert preview["hx-post"] == "/submit/preview" and preview["formaction"] == "/submit/preview"
    assert page.find(id=preview["hx-target"].lstrip("#"))


@pytest.mark.parametrize("path", ["/submit", "/submit/preview"])
def test_posts_without_the_csrf_token_are_refused(client: TestClient, path: str) -> None:
    response = client.post(path, data=GOOD)
    assert response.status_code == 403
    with client.app.state.context.session() as session:
        assert not session.exec(select(Capability).where(Capability.token_hash.is_not(None))).all()


def test_errors_are_shown_beside_each_field_and_what_was_typed_is_kept(client: TestClient) -> None:
    typed = {
        **GOOD,
        "title": "  ",
        "email": "li.example.cn",
        "district": "火星",
        "maturity": "量产",
        "description": "描" * 5001,
        "csrf_token": csrf_of(client, "/submit"),
    }
    response = client.post("/submit", data=typed)
    assert response.status_code == 422
    page = soup(response)
    assert "能力名称" in _error_of(page, "title")
    assert "@" in _error_of(page, "email")
    assert "所在地区" in _error_of(page, "district")
    assert "成熟度" in _error_of(page, "maturity")
    assert "过长" in _error_of(page, "description")
    assert _error_of(page, "organization") is None
    assert page.find("input", attrs={"name": "organization"})["value"] == GOOD["organization"]
    assert page.find("input", attrs={"name": "email"})["value"] == "li.example.cn"
    assert (
        page.find("select", attrs={"name": "field"}) is None
    )  # field is free text with suggestions
    assert (
        page.find("option", selected=True, string="试点应用") is None
    )  # the bad maturity is not silently swapped
    with client.app.state.context.session() as session:
        assert not session.exec(select(Capability).where(Capability.token_hash.is_not(None))).all()


def test_a_submission_waits_for_review_behind_a_private_link(client: TestClient) -> None:
    token, entry = _submit(client)
    assert (
        entry.status == Status.pending_review
        and entry.token_hash != token
        and token not in entry.token_hash
    )
    assert entry.phone == "13800001111"
    response = client.get(f"/submission/{token}")
    assert response.status_code == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    page = soup(response)
    assert "已提交" in page.find(class_="flash").text
    assert page.select_one(".status-name").text == "待审核"
    assert page.select_one(".private-link input")["value"].endswith(f"/submission/{token}")
    assert "私人链接" in page.select_one(".private-link").text
    assert page.select_one("ol.matches a.match-title")["href"] == "/opportunities/O-1"
    assert page.find("form", attrs={"action": f"/submission/{token}#edit"})
    # not public until an organiser publishes it
    assert client.get(f"/capabilities/{entry.ext_id}").status_code == 404
    assert entry.ext_id not in client.get("/capabilities").text
    assert "已发布" not in page.select_one(".receipt-status").text


def test_the_same_name_can_be_submitted_twice(client: TestClient) -> None:
    first, second = _submit(client)[1], _submit(client)[1]
    assert first.ext_id != second.ext_id


def test_the_firm_edits_its_submission_until_it_is_published(client: TestClient) -> None:
    token, entry = _submit(client)
    _set_status(client, entry, Status.draft, note="请补充应用案例")
    page = soup(client.get(f"/submission/{token}"))
    assert page.select_one(".status-name").text == "退回修改"
    assert "请补充应用案例" in page.select_one(".review-note").text
    edited = {
        **GOOD,
        "cases": "无锡市第二人民医院试点",
        "csrf_token": csrf_of(client, f"/submission/{token}"),
    }
    response = client.post(f"/submission/{token}", data=edited, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/submission/{token}"
    page = soup(client.get(f"/submission/{token}"))
    assert page.find(class_="flash").text == "已保存，等待审核"
    assert page.select_one(".status-name").text == "待审核"
    assert page.find("textarea", attrs={"name": "cases"}).text == "无锡市第二人民医院试点"
    with client.app.state.context.session() as session:
        saved = session.get(Capability, entry.id)
        assert saved.cases == "无锡市第二人民医院试点" and saved.ext_id == entry.ext_id


def test_an_edit_with_errors_keeps_the_typed_values(client: TestClient) -> None:
    token, entry = _submit(client)
    bad = {
        **GOOD,
        "organization": "",
        "title": "新名称",
        "csrf_token": csrf_of(client, f"/submission/{token}"),
    }
    response = client.post(f"/submission/{token}", data=bad)
    assert response.status_code == 422
    page = soup(response)
    assert "供给单位" in _error_of(page, "organization")
    assert page.find("input", attrs={"name": "title"})["value"] == "新名称"
    with client.app.state.context.session() as session:
        assert session.get(Capability, entry.id).title == GOOD["title"]


def test_a_published_submission_can_no_longer_be_edited(client: TestClient) -> None:
    token, entry = _submit(client)
    _set_status(client, entry, Status.published)
    page = soup(client.get(f"/submission/{token}"))
    assert page.select_one(".status-name").text == "已发布"
    assert not page.find("form", attrs={"method": "post", "action": f"/submission/{token}#edit"})
    assert "不能再由企业修改" in page.text
    response = client.post(
        f"/submission/{token}",
        data={**GOOD, "title": "改名", "csrf_token": csrf_of(client, f"/submission/{token}")},
    )
    assert response.status_code == 409
    with client.app.state.context.session() as session:
        assert session.get(Capability, entry.id).title == GOOD["title"]
    assert client.get(f"/capabilities/{entry.ext_id}").status_code == 200


def test_edits_need_the_csrf_token(client: TestClient) -> None:
    token, entry = _submit(client)
    assert client.post(f"/submission/{token}", data={**GOOD, "title": "改名"}).status_code == 403
    with client.app.state.context.session() as session:
        assert session.get(Capability, entry.id).title == GOOD["title"]


@pytest.mark.parametrize("token", ["nope", "x" * 300, "%00"])
def test_an_unknown_link_is_a_chinese_404(client: TestClient, token: str) -> None:
    response = client.get(f"/submission/{token}")
    assert response.status_code == 404
    assert "找不到" in soup(response).find(class_="error").text


def test_preview_for_htmx_is_a_fragment_of_fitting_opportunities(client: TestClient) -> None:
    data = {
        "title": GOOD["title"],
        "description": GOOD["description"],
        "csrf_token": csrf_of(client, "/submit"),
    }
    response = client.post("/submit/preview", data=data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    page = soup(response)
    assert page.find("html") is None and page.find("form") is None
    assert page.select_one("ol.preview-list a")["href"] == "/opportunities/O-1"
    with client.app.state.context.session() as session:
        assert not session.exec(select(Capability).where(Capability.title == GOOD["title"])).all()


def test_preview_without_javascript_returns_the_form_with_the_list(client: TestClient) -> None:
    data = {**GOOD, "csrf_token": csrf_of(client, "/submit")}
    page = soup(client.post("/submit/preview", data=data))
    assert page.find("input", attrs={"name": "title"})["value"] == GOOD["title"]
    assert page.select_one("#preview ol.preview-list a")["href"] == "/opportunities/O-1"
    empty = soup(
        client.post(
            "/submit/preview",
            data={"csrf_token": data["csrf_token"]},
            headers={"HX-Request": "true"},
        )
    )
    assert "请先填写" in empty.text


def test_submitted_markup_is_shown_as_text(client: TestClient) -> None:
    token, _ = _submit(client, title=XSS, description=f"{XSS} 医院样本无人机转运")
    page = soup(client.get(f"/submission/{token}"))
    assert not [s for s in page.find_all("script") if "alert(1)" in s.text]
    assert page.find("h1").text == f"提交回执：{XSS}"
    fragment = soup(
        client.post(
            "/submit/preview",
            data={"title": XSS, "description": XSS, "csrf_token": csrf_of(client, "/submit")},
        )
    )
    assert not [s for s in fragment.find_all("script") if "alert(1)" in s.text]
