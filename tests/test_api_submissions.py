"""/api/v1/submissions: a firm submits a capability for review and gets its private token once;
with the token it reads and edits its own submission, and nothing else. Submitting is
rate-limited, in the API and on the form."""
from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from matching.engine import CAPABILITY
from service import entries
from service.keys import create_key
from service.models import Capability, Status
from tests.api_fixtures import SUBMISSION, Callers, allowed, assert_refused, bearer, callers, client  # noqa: F401
from tests.web import csrf_of, soup


def submit(http: TestClient, **changes) -> dict:
    response = http.post("/api/v1/submissions", json={**SUBMISSION, **changes})
    assert response.status_code == 201, response.text
    return response.json()


def stored(http: TestClient, ext_id: str) -> Capability:
    with http.app.state.context.session() as session:
        return session.exec(select(Capability).where(Capability.ext_id == ext_id)).one()


def test_a_submission_waits_for_review_and_its_token_is_shown_once(client: TestClient) -> None:  # noqa: F811
    made = submit(client, title="医院无人机样本配送（二期）")
    assert made["status"] == "pending_review" and made["editable"] and made["id"].startswith("NL-")
    assert made["receipt"] == f"/submission/{made['token']}"
    entry = stored(client, made["id"])
    assert entry.token_hash == hashlib.sha256(made["token"].encode()).hexdigest()
    assert entry.title == "医院无人机样本配送（二期）" and entry.status == Status.pending_review
    mine = client.get("/api/v1/submissions/me", headers=bearer(made["token"]))
    assert mine.status_code == 200 and "token" not in mine.json()
    assert {k: v for k, v in made.items() if k not in ("token", "receipt")} == mine.json()
    assert client.get(made["receipt"]).status_code == 200  # the same token opens the receipt page
    audit = entry_audit(client, made["id"])
    assert [(a["action"], a["actor"]) for a in audit] == [("create", f"firm:{made['id']}")]


def entry_audit(http: TestClient, ext_id: str) -> list[dict]:
    with http.app.state.context.session() as session:
        _, secret = create_key(session, name="审计", role="organiser", actor="test")
    return http.get("/api/v1/audit", params={"kind": "capability", "target": ext_id},
                    headers=bearer(secret)).json()["items"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"title": ""}, "title"),
    ({"organization": "   "}, "organization"),
    ({"description": None}, "description"),
    ({"district": "上海市"}, "district"),
    ({"maturity": "概念"}, "maturity"),
    ({"title": "x" * 501}, "title"),
    ({"email": "not an address"}, "email"),
])
def test_an_invalid_submission_names_the_field_and_stores_nothing(
        client: TestClient, changes: dict, field: str) -> None:  # noqa: F811
    response = client.post("/api/v1/submissions", json={**SUBMISSION, **changes})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    with client.app.state.context.session() as session:
        assert session.exec(select(Capability).where(Capability.status == Status.pending_review)).all() == []


def test_a_body_over_the_limit_is_413(client: TestClient) -> None:  # noqa: F811
    response = client.post("/api/v1/submissions", content=b"{" + b" " * (1100 * 1024) + b"}",
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_only_the_firm_reads_and_edits_its_submission(client: TestClient, callers: Callers) -> None:  # noqa: F811
    other = submit(client, title="另一家企业的能力")
    for role, refused in allowed(("firm",)).items():
        read = client.get("/api/v1/submissions/me", headers=callers[role])
        edit = client.put("/api/v1/submissions/me", json={**SUBMISSION, "title": "改"}, headers=callers[role])
        if refused:
            assert_refused(read, refused)
            assert_refused(edit, refused)
    assert client.get("/api/v1/submissions/me", headers=callers["firm"]).json()["id"] == callers.firm_ext_id
    assert client.get("/api/v1/submissions/me", headers=bearer(other["token"])).json()["title"] == "另一家企业的能力"
    assert stored(client, other["id"]).title == "另一家企业的能力"


def test_an_edit_goes_back_to_review_and_is_audited_old_to_new(
        client: TestClient, callers: Callers) -> None:  # noqa: F811
    context = client.app.state.context
    with context.session() as session:  # an organiser sends it back with a reason
        entry = entries.by_ext(session, CAPABILITY, callers.firm_ext_id)
        entries.set_status(context, session, CAPABILITY, entry, Status.draft, "请补充应用案例", actor="organiser:zhang")
    sent_back = client.get("/api/v1/submissions/me", headers=callers["firm"]).json()
    assert (sent_back["status"], sent_back["review_note"], sent_back["editable"]) == ("draft", "请补充应用案例", True)
    response = client.put("/api/v1/submissions/me", headers=callers["firm"],
                          json={**SUBMISSION, "cases": "无锡市第二人民医院院区间试飞 300 架次"})
    assert response.status_code == 200 and response.json()["status"] == "pending_review"
    assert stored(client, callers.firm_ext_id).cases == "无锡市第二人民医院院区间试飞 300 架次"
    latest = entry_audit(client, callers.firm_ext_id)[0]
    assert latest["actor"] == f"firm:{callers.firm_ext_id}" and latest["action"] == "update"
    assert latest["changes"]["cases"] == [None, "无锡市第二人民医院院区间试飞 300 架次"]
    assert latest["changes"]["status"] == ["draft", "pending_review"]
    bad = client.put("/api/v1/submissions/me", headers=callers["firm"], json={**SUBMISSION, "district": "火星"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "district"
    assert stored(client, callers.firm_ext_id).district == "新吴区"


def test_a_published_submission_cannot_be_edited_by_the_firm(client: TestClient, callers: Callers) -> None:  # noqa: F811
    context = client.app.state.context
    with context.session() as session:
        entry = entries.by_ext(session, CAPABILITY, callers.firm_ext_id)
        entries.set_status(context, session, CAPABILITY, entry, Status.published, actor="organiser:zhang")
    response = client.put("/api/v1/submissions/me", json={**SUBMISSION, "title": "改名"}, headers=callers["firm"])
    assert response.status_code == 409 and response.json()["error"]["code"] == "conflict"
    assert stored(client, callers.firm_ext_id).title == SUBMISSION["title"]
    mine = client.get("/api/v1/submissions/me", headers=callers["firm"]).json()
    assert (mine["status"], mine["editable"]) == ("published", False)


def test_a_firm_may_not_use_organiser_or_reader_endpoints(client: TestClient, callers: Callers) -> None:  # noqa: F811
    for method, path in [("get", "/api/v1/keys"), ("post", "/api/v1/keys"), ("get", "/api/v1/audit"),
                         ("get", "/api/v1/events"), ("post", "/api/v1/events")]:
        assert_refused(client.request(method, path, json={"name": "x", "role": "organiser"},
                                      headers=callers["firm"]), 403)


# -- the rate limit ------------------------------------------------------------------------------
@pytest.fixture()
def limited(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> TestClient:
    """The app made with two submissions an hour per address."""
    monkeypatch.setenv("SCENARIO_MATCH_SUBMIT_PER_HOUR", "2")
    return request.getfixturevalue("client")


def test_submitting_is_rate_limited_in_the_api_and_on_the_form(limited: TestClient) -> None:
    submit(limited)
    submit(limited, title="第二项能力")
    refused = limited.post("/api/v1/submissions", json={**SUBMISSION, "title": "第三项"})
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) > 0
    form = {**SUBMISSION, "csrf_token": csrf_of(limited, "/submit")}
    page = limited.post("/submit", data=form, follow_redirects=False)
    assert page.status_code == 429 and int(page.headers["retry-after"]) > 0
    assert "请求过于频繁" in soup(page).find("h1").text
    with limited.app.state.context.session() as session:
        titles = session.exec(select(Capability.title).where(Capability.status == Status.pending_review)).all()
    assert sorted(titles) == sorted([SUBMISSION["title"], "第二项能力"])


def test_the_form_counts_against_the_same_limit(limited: TestClient) -> None:
    for n in range(2):
        form = {**SUBMISSION, "title": f"表单提交 {n}", "csrf_token": csrf_of(limited, "/submit")}
        assert limited.post("/submit", data=form, follow_redirects=False).status_code == 303
    assert limited.post("/api/v1/submissions", json=SUBMISSION).status_code == 429
