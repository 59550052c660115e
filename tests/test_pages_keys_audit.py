"""The organiser pages for API keys (create with the secret shown once, list, revoke) and the
audit log (newest first, filtered, old → new)."""
from __future__ import annotations

from fastapi.testclient import TestClient

from matching.engine import OPPORTUNITY
from service import entries
from service.models import Status
from tests.api_fixtures import bearer
from tests.web import client, csrf_of, organiser, soup  # noqa: F401


def create_key(http: TestClient, name: str = "园区招商平台", role: str = "integrator"):
    return http.post("/admin/keys", data={"name": name, "role": role, "csrf_token": csrf_of(http, "/admin/keys")})


def test_the_pages_need_a_signed_in_organiser_and_the_csrf_token(client: TestClient) -> None:  # noqa: F811
    for path in ("/admin/keys", "/admin/audit"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    token = csrf_of(client)
    for path in ("/admin/keys", "/admin/keys/1/revoke"):
        response = client.post(path, data={"name": "x", "role": "organiser", "csrf_token": token},
                               follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_posts_without_the_csrf_token_are_refused(organiser: TestClient) -> None:  # noqa: F811
    response = organiser.post("/admin/keys", data={"name": "x", "role": "organiser"})
    assert response.status_code == 403
    assert soup(organiser.get("/admin/keys")).find("table", class_="key-list") is None


def test_the_admin_nav_links_both_pages(organiser: TestClient) -> None:  # noqa: F811
    nav = soup(organiser.get("/admin")).find("nav", class_="admin-nav")
    assert {a["href"]: a.text for a in nav.find_all("a")}.items() >= {
        "/admin/keys": "API 密钥", "/admin/audit": "操作日志"}.items()
    current = soup(organiser.get("/admin/keys")).find("nav", class_="admin-nav").find(attrs={"aria-current": "page"})
    assert current["href"] == "/admin/keys"


def test_a_key_made_on_the_page_is_shown_once_works_and_can_be_revoked(organiser: TestClient) -> None:  # noqa: F811
    response = create_key(organiser)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    box = soup(response).find("section", class_="new-key")
    secret = box.find("input", class_="secret")["value"]
    assert secret.startswith("smk_") and "只显示这一次" in box.text and "复制" in box.text
    assert organiser.get("/api/v1/events", headers=bearer(secret)).status_code == 200
    again = organiser.get("/admin/keys")
    assert secret not in again.text and again.text.count(secret[:10]) == 1
    row = soup(again).find("table", class_="key-list").find("tbody").find("tr")
    cells = {td["data-label"]: td for td in row.find_all("td")}
    assert cells["名称"].text == "园区招商平台" and "只读" in cells["权限"].text and cells["状态"].text.strip() == "有效"
    assert "从未使用" not in cells["最近使用"].text  # used just now
    form = row.find("form")
    revoked = organiser.post(form["action"], data={"csrf_token": csrf_of(organiser, "/admin/keys")})
    page = soup(revoked)
    assert "已吊销密钥「园区招商平台」" in page.find(class_="flash").text
    row = page.find("table", class_="key-list").find("tbody").find("tr")
    assert "已吊销" in row.find("td", attrs={"data-label": "状态"}).text and row.find("form") is None
    assert organiser.get("/api/v1/events", headers=bearer(secret)).status_code == 401


def test_a_bad_key_form_shows_errors_beside_the_fields(organiser: TestClient) -> None:  # noqa: F811
    response = create_key(organiser, name="  ", role="root")
    assert response.status_code == 422
    page = soup(response)
    assert "密钥名称" in page.find(id="error-name").text and "权限" in page.find(id="error-role").text
    assert page.find("section", class_="new-key") is None and page.find("table", class_="key-list") is None
    for key_id in ("999", "99999999999999999999", "abc"):  # the long one is past PostgreSQL's integer
        missing = organiser.post(f"/admin/keys/{key_id}/revoke",
                                 data={"csrf_token": csrf_of(organiser, "/admin/keys")})
        assert "找不到这个密钥" in soup(missing).find(class_="flash").text, key_id


def test_the_audit_page_shows_who_changed_what_old_to_new_newest_first(organiser: TestClient) -> None:  # noqa: F811
    context = organiser.app.state.context
    with context.session() as session:
        entry = entries.by_ext(session, OPPORTUNITY, "O-2")
        entries.set_status(context, session, OPPORTUNITY, entry, Status.archived, actor="organiser:zhang")
    create_key(organiser, name="<b>平台</b>")
    page = soup(organiser.get("/admin/audit"))
    rows = page.find("table", class_="audit-log").find("tbody").find_all("tr")
    first = {td["data-label"]: td for td in rows[0].find_all("td")}
    assert first["操作人"].text == "organiser:organiser" and first["操作"].text == "key.create"
    assert "<b>平台</b>" in first["变更"].text  # escaped, shown as typed
    archived = next(r for r in rows if "O-2" in r.find("td", attrs={"data-label": "对象"}).text)
    change = archived.find("td", attrs={"data-label": "变更"})
    assert archived.find("td", attrs={"data-label": "操作人"}).text == "organiser:zhang"
    assert (change.find("del").text, change.find("ins").text) == ("published", "archived")
    filtered = soup(organiser.get("/admin/audit", params={"kind": "opportunity", "target": "O-2"}))
    only = filtered.find("table", class_="audit-log").find("tbody").find_all("tr")
    assert len(only) == 1 and "场景机会" in only[0].find("td", attrs={"data-label": "对象"}).text
    assert filtered.find("select", attrs={"name": "kind"}).find("option", selected=True)["value"] == "opportunity"
    none = soup(organiser.get("/admin/audit", params={"actor": "firm:", "page": "x"}))
    assert none.find("table", class_="audit-log") is None and "没有符合条件的记录" in none.text


def test_the_audit_page_pages(organiser: TestClient) -> None:  # noqa: F811
    for n in range(21):
        create_key(organiser, name=f"密钥{n}")
    first = soup(organiser.get("/admin/audit", params={"kind": "api_key"}))
    assert len(first.find("table", class_="audit-log").find("tbody").find_all("tr")) == 20
    later = first.find("a", rel="next")["href"]
    second = soup(organiser.get(later)).find("table", class_="audit-log").find("tbody").find_all("tr")
    assert len(second) == 1 and "密钥0" in second[0].text
