"""/api/v1 matches, search and reviews: who may ask, what marks do to the answers, the public
search limit (API and pages), and changes made through the API showing up at once."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api import FIRM_ENTRY, Api, api, make_api  # noqa: F401
from tests.web import sign_in

OPPS = "/api/v1/opportunities"
CAPS = "/api/v1/capabilities"


def _matches(api: Api, path: str, role: str = "public", **params) -> list[dict]:
    response = api.get(f"{path}/matches", role, params=params)
    assert response.status_code == 200, response.text
    return response.json()["matches"]


def _search(api: Api, kind: str, q: str, role: str = "public") -> list[str]:
    response = api.get("/api/v1/search", role, params={"list": kind, "q": q})
    assert response.status_code == 200, response.text
    return [hit["id"] for hit in response.json()["items"]]


def test_matches_carry_score_reasons_and_detail(api: Api) -> None:
    matches = _matches(api, f"{OPPS}/O-1")
    assert matches[0]["id"] == "C-2" and matches[0]["title"] == "Medical drone logistics"
    assert [m["score"] for m in matches] == sorted((m["score"] for m in matches), reverse=True)
    assert any(r.startswith("需求覆盖") for r in matches[0]["reasons"])
    assert set(matches[0]["detail"]) == {"dense", "coverage", "lexical", "shared_terms", "covered_requirements",
                                         "same_field"}
    assert FIRM_ENTRY not in [m["id"] for m in matches]  # unpublished entries are never proposed
    assert [m["id"] for m in _matches(api, f"{OPPS}/O-1", k=1)] == ["C-2"]
    assert {m["id"] for m in _matches(api, f"{OPPS}/O-1", field="低空经济")} == {"C-1", "C-2"}
    assert _matches(api, f"{OPPS}/O-1", district="宜兴市") == []
    assert _matches(api, f"{CAPS}/C-4")[0]["id"] == "O-3"


def test_matches_of_an_unpublished_entry_by_each_caller(api: Api) -> None:
    expected = {"public": 404, "firm": 200, "integrator": 200, "organiser": 200, "revoked": 401}
    for role, status in expected.items():
        assert api.get(f"{CAPS}/{FIRM_ENTRY}/matches", role).status_code == status, role
    for k in (0, 101):
        refused = api.get(f"{OPPS}/O-1/matches", params={"k": k})
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "k"


def test_marks_set_through_the_api_shape_the_matches(api: Api) -> None:
    assert api.put("/api/v1/reviews", json={"opportunity": "O-1", "capability": "C-2", "mark": "excluded",
                                            "note": "不在服务范围"}).status_code == 200
    assert api.put("/api/v1/reviews", json={"opportunity": "O-1", "capability": "C-4",
                                            "mark": "confirmed"}).status_code == 200
    public = _matches(api, f"{OPPS}/O-1")
    assert "C-2" not in [m["id"] for m in public]
    assert public[0]["id"] == "C-4" and all(m["review"] is None for m in public)
    reader = {m["id"]: m["review"] for m in _matches(api, f"{OPPS}/O-1", "integrator")}
    assert reader["C-2"] == "excluded" and reader["C-4"] == "confirmed"
    listed = api.get("/api/v1/reviews", "integrator").json()
    assert [(r["opportunity"], r["capability"], r["mark"], r["note"]) for r in listed["items"]] == [
        ("O-1", "C-2", "excluded", "不在服务范围"), ("O-1", "C-4", "confirmed", None)]
    cleared = api.put("/api/v1/reviews", json={"opportunity": "O-1", "capability": "C-2", "mark": "clear"})
    assert cleared.json()["mark"] is None
    assert "C-2" in [m["id"] for m in _matches(api, f"{OPPS}/O-1")]
    assert api.get("/api/v1/reviews", "organiser", params={"mark": "excluded"}).json()["total"] == 0
    log = api.audit("review")
    assert [(e.actor, e.target, e.changes) for e in log] == [
        ("key:1 平台 organiser", "O-1 ↔ C-2", {"mark": [None, "excluded"], "note": [None, "不在服务范围"]}),
        ("key:1 平台 organiser", "O-1 ↔ C-4", {"mark": [None, "confirmed"]}),
        ("key:1 平台 organiser", "O-1 ↔ C-2", {"mark": ["excluded", None], "note": ["不在服务范围", None]}),
    ]


def test_reviews_by_each_caller_and_bad_pairs(api: Api) -> None:
    body = {"opportunity": "O-2", "capability": "C-3", "mark": "confirmed"}
    for role, (read, write) in {"public": (401, 401), "revoked": (401, 401), "firm": (403, 403),
                                "integrator": (200, 403), "organiser": (200, 200)}.items():
        assert api.get("/api/v1/reviews", role).status_code == read, role
        assert api.put("/api/v1/reviews", role, json=body).status_code == write, role
    assert api.get("/api/v1/reviews", "organiser").json()["total"] == 1
    for change, status, field in [({"opportunity": "O-404"}, 404, "opportunity"),
                                  ({"capability": "C-404"}, 404, "capability"),
                                  ({"mark": "maybe"}, 422, "mark"), ({"note": "x" * 1001}, 422, "note")]:
        response = api.put("/api/v1/reviews", json={**body, **change})
        assert (response.status_code, response.json()["error"]["field"]) == (status, field), change


def test_search_finds_by_meaning_across_languages(api: Api) -> None:
    assert _search(api, "capabilities", "医院检验样本无人机温控配送")[0] == "C-2"
    assert _search(api, "opportunities", "algae bloom satellite monitoring")[0] == "O-3"
    assert FIRM_ENTRY not in _search(api, "capabilities", "化工园区废水在线监测", "organiser")
    for params, field in [({"list": "capabilities"}, "q"), ({"list": "capabilities", "q": ""}, "q"),
                          ({"list": "capabilities", "q": "   "}, "q"), ({"list": "capabilities", "q": "x" * 501}, "q"),
                          ({"list": "events", "q": "x"}, "list"), ({"list": "capabilities", "q": "x", "k": 0}, "k")]:
        response = api.get("/api/v1/search", params=params)
        assert (response.status_code, response.json()["error"]["field"]) == (422, field), params


def test_an_api_update_is_searched_and_matched_at_once(api: Api) -> None:
    query = "太湖蓝藻水华卫星遥感预警"
    assert _search(api, "capabilities", query)[0] == "C-4"
    before = {m["id"]: m["score"] for m in _matches(api, f"{OPPS}/O-3")}
    changed = api.put(f"{CAPS}/C-3", json={
        "title": "太湖蓝藻水华卫星遥感预警平台", "field": "太湖治理",
        "description": "卫星遥感与岸基视频联合监测太湖蓝藻水华，自动估算水华面积，提前72小时预警。"})
    assert changed.status_code == 200
    assert "C-3" in _search(api, "capabilities", query)[:2]
    after = {m["id"]: m["score"] for m in _matches(api, f"{OPPS}/O-3")}
    assert after["C-3"] > before.get("C-3", 0.0) + 0.2
    assert list(after)[:2] == sorted(["C-3", "C-4"], key=lambda i: -after[i])
    created = api.post(CAPS, json={"id": "C-9", "title": "Glass curtain wall cleaning robot",
                                   "organization": "Wuxi Clean Robotics", "field": "智能制造",
                                   "description": "A robot that climbs and cleans glass curtain walls of high-rise "
                                                  "buildings."})
    assert created.status_code == 201
    assert _search(api, "capabilities", "高层建筑玻璃幕墙清洗机器人")[0] == "C-9"


@pytest.fixture()
def limited(tmp_path: Path, e5) -> Iterator[Api]:
    yield from make_api(tmp_path, e5, search_per_minute=2)


def test_public_search_is_rate_limited_and_keys_are_not(limited: Api) -> None:
    params = {"list": "opportunities", "q": "无人机"}
    assert [limited.get("/api/v1/search", params=params).status_code for _ in range(3)] == [200, 200, 429]
    refused = limited.get("/api/v1/search", params=params)
    assert refused.json()["error"]["code"] == "rate_limited" and int(refused.headers["retry-after"]) >= 1
    assert all(limited.get("/api/v1/search", "integrator", params=params).status_code == 200 for _ in range(3))


def test_public_search_on_the_pages_is_rate_limited_too(limited: Api) -> None:
    client = limited.client
    assert [client.get("/opportunities", params={"q": "无人机"}).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/opportunities").status_code == 200  # browsing without a query is not limited
    sign_in(client)
    assert client.get("/opportunities", params={"q": "无人机"}).status_code == 200
