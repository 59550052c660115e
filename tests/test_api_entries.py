"""/api/v1/opportunities and /api/v1/capabilities: every caller's view of the lists, writes by
organisers only, merge updates with If-Match, archiving, and the audit log of each change."""
from __future__ import annotations

from tests.api import FIRM_ENTRY, PRIVATE, ROLES, Api, api, opportunity_body  # noqa: F401
from tests.web import csrf_of, sign_in

OPPS = "/api/v1/opportunities"
CAPS = "/api/v1/capabilities"


def _ids(response) -> list[str]:
    return [item["id"] for item in response.json()["items"]]


def test_each_caller_sees_the_published_list_and_only_readers_see_more(api: Api) -> None:
    expected = {  # role: (status, firm's pending submission listed, contact keys present)
        "public": (200, False, False), "firm": (200, False, False),
        "integrator": (200, True, True), "organiser": (200, True, True), "revoked": (401, None, None),
    }
    for role, (status, pending, contacts) in expected.items():
        response = api.get(CAPS, role)
        assert response.status_code == status, role
        if status != 200:
            assert response.json()["error"]["code"] == "unauthorized"
            assert response.headers["www-authenticate"] == "Bearer"
            continue
        assert (FIRM_ENTRY in _ids(response)) is pending, role
        assert all((key in item) is contacts for item in response.json()["items"] for key in PRIVATE), role


def test_pages_are_in_list_id_order_with_totals_and_filters(api: Api) -> None:
    first, second = api.get(f"{CAPS}?per_page=2"), api.get(f"{CAPS}?per_page=2&page=2")
    assert _ids(first) == ["C-1", "C-2"] and _ids(second) == ["C-3", "C-4"]
    assert first.json()["total"] == 4 and second.json()["page"] == 2 and second.json()["per_page"] == 2
    assert _ids(api.get(f"{CAPS}?page=9")) == []
    assert _ids(api.get(CAPS, params={"field": "低空经济"})) == ["C-1", "C-2"]
    assert _ids(api.get(CAPS, params={"district": "滨湖区"})) == ["C-3", "C-4"]
    assert _ids(api.get(CAPS, "organiser", params={"status": "pending_review"})) == [FIRM_ENTRY]
    assert _ids(api.get(OPPS, params={"updated_since": "2099-01-01T00:00:00+08:00"})) == []
    assert _ids(api.get(OPPS, params={"updated_since": "2000-01-01T00:00:00Z"})) == ["O-1", "O-2", "O-3"]


def test_only_readers_may_filter_by_an_unpublished_status(api: Api) -> None:
    assert api.get(CAPS, params={"status": "published"}).status_code == 200
    assert api.get(CAPS, params={"status": "pending_review"}).status_code == 401
    refused = api.get(CAPS, "firm", params={"status": "pending_review"})
    assert refused.status_code == 403 and refused.json()["error"]["field"] == "status"
    assert api.get(CAPS, "integrator", params={"status": "archived"}).json()["items"] == []


def test_reading_one_entry_by_each_caller(api: Api) -> None:
    expected = {"public": 404, "firm": 200, "integrator": 200, "organiser": 200, "revoked": 401}
    for role, status in expected.items():
        response = api.get(f"{CAPS}/{FIRM_ENTRY}", role)
        assert response.status_code == status, role
        if status == 200:  # a firm sees the contact details of its own submission
            assert response.json()["phone"] == "0510-55550005"
            assert response.json()["status"] == "pending_review"
    others = api.get(f"{CAPS}/C-1", "firm").json()
    assert others["title"] == "植保无人机飞防服务" and not set(PRIVATE) & set(others)
    missing = api.get(f"{OPPS}/NOPE")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_creating_needs_an_organiser_key(api: Api) -> None:
    expected = {"public": 401, "revoked": 401, "firm": 403, "integrator": 403}
    for role, status in expected.items():
        response = api.post(OPPS, role, json=opportunity_body())
        assert response.status_code == status, role
    assert api.get(f"{OPPS}/O-9", "organiser").status_code == 404  # nothing was written
    created = api.post(OPPS, json=opportunity_body())
    assert created.status_code == 201
    assert created.headers["location"] == "/api/v1/opportunities/O-9"
    stored = api.get(f"{OPPS}/O-9", "integrator")
    assert stored.json() == created.json() and stored.headers["etag"] == created.headers["etag"]
    assert stored.json()["budget_wan"] == 120 and stored.json()["requirements"] == "样本箱温控2-8℃；航线规划与空域报备"
    public = api.get(f"{OPPS}/O-9").json()
    assert public["title"] == "医院检验样本无人机配送" and not set(PRIVATE) & set(public)


def test_a_taken_id_is_a_conflict_and_a_missing_id_is_made_as_the_import_does(api: Api) -> None:
    taken = api.post(OPPS, json=opportunity_body(id="O-1"))
    assert taken.status_code == 409
    assert taken.json()["error"] == {"code": "conflict", "field": "id",
                                     "message": "the id 'O-1' is already used by another opportunity"}
    body = opportunity_body()
    del body["id"]
    made = api.post(OPPS, json=body)
    assert made.status_code == 201 and made.json()["id"].startswith("JH-")
    again = api.post(OPPS, json=body)
    assert again.status_code == 409 and made.json()["id"] in again.json()["error"]["message"]


def test_update_changes_only_the_fields_sent(api: Api) -> None:
    before = api.get(f"{OPPS}/O-1", "organiser").json()
    response = api.put(f"{OPPS}/O-1", json={"budget_wan": 80.5, "district": None, "extra": {"备注": "加急"}})
    assert response.status_code == 200
    after = response.json()
    assert after["budget_wan"] == 80.5 and after["district"] is None and after["extra"] == {"备注": "加急"}
    assert {k: v for k, v in after.items() if k not in ("budget_wan", "district", "extra", "updated_at")} == \
        {k: v for k, v in before.items() if k not in ("budget_wan", "district", "extra", "updated_at")}
    cleared = api.put(f"{OPPS}/O-1", json={"title": None})
    assert cleared.status_code == 422 and cleared.json()["error"]["field"] == "title"
    assert api.put(f"{OPPS}/O-1", json={"id": "O-2"}).status_code == 409
    renamed = api.put(f"{OPPS}/O-1", json={"id": "O-1A"})
    assert renamed.status_code == 200 and api.get(f"{OPPS}/O-1A").status_code == 200
    assert api.get(f"{OPPS}/O-1").status_code == 404
    assert api.put(f"{OPPS}/NOPE", json={"title": "x"}).status_code == 404


def test_if_match_refuses_a_stale_write(api: Api) -> None:
    read = api.get(f"{CAPS}/C-3", "organiser")
    tag = read.headers["etag"]
    first = api.put(f"{CAPS}/C-3", json={"maturity": "试点应用"}, headers={"If-Match": tag})
    assert first.status_code == 200 and first.headers["etag"] != tag
    stale = api.put(f"{CAPS}/C-3", json={"maturity": "研发中"}, headers={"If-Match": tag})
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "precondition_failed"
    assert api.get(f"{CAPS}/C-3").json()["maturity"] == "试点应用"  # the first write was not lost
    fresh = api.put(f"{CAPS}/C-3", json={"maturity": "研发中"}, headers={"If-Match": first.headers["etag"]})
    assert fresh.status_code == 200
    assert api.post(f"{CAPS}/C-3/archive", headers={"If-Match": tag}).status_code == 412


def test_updates_and_archiving_need_an_organiser_key(api: Api) -> None:
    expected = {"public": 401, "revoked": 401, "firm": 403, "integrator": 403}
    for role, status in expected.items():
        assert api.put(f"{CAPS}/C-1", role, json={"maturity": "研发中"}).status_code == status, role
        assert api.post(f"{CAPS}/C-1/archive", role).status_code == status, role
    assert api.get(f"{CAPS}/C-1").json()["maturity"] == "规模化应用"


def test_archiving_takes_an_entry_out_of_public_view_and_matches(api: Api) -> None:
    assert "C-2" in [m["id"] for m in api.get(f"{OPPS}/O-1/matches").json()["matches"]]
    archived = api.post(f"{CAPS}/C-2/archive")
    assert archived.status_code == 200 and archived.json()["status"] == "archived"
    assert api.get(f"{CAPS}/C-2").status_code == 404
    assert api.get(f"{CAPS}/C-2", "integrator").json()["status"] == "archived"
    assert "C-2" not in _ids(api.get(CAPS))
    assert "C-2" not in [m["id"] for m in api.get(f"{OPPS}/O-1/matches").json()["matches"]]
    assert api.post(f"{CAPS}/C-2/archive").status_code == 200  # again: no change
    assert len([e for e in api.audit("status") if e.target == "C-2"]) == 1
    republished = api.put(f"{CAPS}/C-2", json={"status": "published"})
    assert republished.status_code == 200 and api.get(f"{CAPS}/C-2").status_code == 200


def test_every_change_is_in_the_audit_log_with_who_and_what(api: Api) -> None:
    api.post(OPPS, json=opportunity_body())
    api.put(f"{OPPS}/O-9", json={"budget_wan": 150, "phone": None})
    api.post(f"{OPPS}/O-9/archive")
    log = [e for e in api.audit() if e.target == "O-9"]
    assert [(e.action, e.kind) for e in log] == [("create", "opportunity"), ("update", "opportunity"),
                                                ("status", "opportunity")]
    assert {e.actor for e in log} == {"key:1 平台 organiser"}
    assert log[0].changes["title"] == [None, "医院检验样本无人机配送"]
    assert log[1].changes == {"budget_wan": [120.0, 150.0], "phone": ["0510-88880000", None]}
    assert log[2].changes == {"status": ["published", "archived"]}


def test_organiser_pages_record_the_signed_in_organiser(api: Api) -> None:
    sign_in(api.client, "zhang")
    token = csrf_of(api.client, "/admin")
    response = api.client.post("/admin/opportunities/O-2/archive", data={"csrf_token": token},
                               follow_redirects=False)
    assert response.status_code == 303
    (entry,) = [e for e in api.audit("status") if e.target == "O-2"]
    assert entry.actor == "organiser:zhang" and entry.changes == {"status": ["published", "archived"]}
