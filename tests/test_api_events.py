"""/api/v1/events: who may do what, creating with the form's rules, planning, publishing,
the stored plan and the exports, each change in the audit log under the key's name."""
from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from fastapi.testclient import TestClient

from tests.api_fixtures import Callers, allowed, assert_refused, callers, client  # noqa: F401

RULES = {"name": "春季对接会", "date": "2026-05-20", "slots": 2, "tables": 3, "per_opportunity": 2,
         "max_per_supplier": 2}


def create(http: TestClient, callers: Callers, **changes) -> dict:  # noqa: F811
    response = http.post("/api/v1/events", json={**RULES, **changes}, headers=callers["organiser"])
    assert response.status_code == 201, response.text
    return response.json()


def plan(http: TestClient, callers: Callers, event_id: int) -> dict:  # noqa: F811
    response = http.post(f"/api/v1/events/{event_id}/plan", headers=callers["organiser"])
    assert response.status_code == 200, response.text
    return response.json()


def audit_actions(http: TestClient, callers: Callers, event_id: int) -> list[tuple[str, str, dict]]:  # noqa: F811
    entries = http.get("/api/v1/audit", params={"kind": "event", "target": str(event_id)},
                       headers=callers["organiser"]).json()["items"]
    return [(e["action"], e["actor"], e["changes"]) for e in reversed(entries)]


# -- who may ------------------------------------------------------------------------------------
READS = ["/api/v1/events", "/api/v1/events/{id}", "/api/v1/events/{id}/plan",
         "/api/v1/events/{id}/export.xlsx", "/api/v1/events/{id}/export.csv"]


def test_organisers_and_integrators_read_events_others_are_refused(
        client: TestClient, callers: Callers) -> None:  # noqa: F811
    event = create(client, callers)
    for path in READS:
        for role, refused in allowed(("organiser", "integrator")).items():
            response = client.get(path.format(id=event["id"]), headers=callers[role])
            if refused:
                assert_refused(response, refused)
            else:
                assert response.status_code == 200, (path, role)


def test_only_organisers_change_events_and_a_refusal_changes_nothing(
        client: TestClient, callers: Callers) -> None:  # noqa: F811
    event = create(client, callers)
    writes = [("/api/v1/events", RULES), (f"/api/v1/events/{event['id']}/plan", None),
              (f"/api/v1/events/{event['id']}/publish", None)]
    for role, refused in allowed(("organiser",)).items():
        if role == "organiser":
            continue
        for path, body in writes:
            assert_refused(client.post(path, json=body, headers=callers[role]), refused)
    listed = client.get("/api/v1/events", headers=callers["organiser"]).json()
    assert listed["total"] == 1 and listed["items"][0]["status"] == "draft"
    assert client.get(f"/api/v1/events/{event['id']}/plan", headers=callers["organiser"]).json()["meetings"] == []
    assert [a for a, _, _ in audit_actions(client, callers, event["id"])] == ["event.create"]


# -- creating -------------------------------------------------------------------------------------
def test_an_event_is_created_with_its_scenarios_and_audited(client: TestClient, callers: Callers) -> None:  # noqa: F811
    event = create(client, callers, opportunities=["O-3", "O-1"], venue="无锡国际会议中心", fair=True)
    assert event["opportunities"] == ["O-1", "O-3"] and event["status"] == "draft"
    assert (event["venue"], event["fair"], event["slots"], event["date"]) == ("无锡国际会议中心", True, 2, "2026-05-20")
    assert client.get(f"/api/v1/events/{event['id']}", headers=callers["integrator"]).json() == event
    by_field = create(client, callers, field="太湖治理")
    assert by_field["opportunities"] == ["O-3"]
    [(action, actor, changes)] = audit_actions(client, callers, event["id"])
    assert (action, actor) == ("event.create", "key:1 组织方脚本")
    assert changes["name"] == "春季对接会" and changes["opportunities"] == 2


@pytest.mark.parametrize(("changes", "field"), [
    ({"slots": 0}, "slots"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"per_opportunity": 3}, "per_opportunity"),  # more than the 2 slots
    ({"date": "5月20日"}, "date"),
    ({"start_time": "9点"}, "start_time"),
    ({"slots": 40, "meeting_minutes": 60, "per_opportunity": 2}, "slots"),  # past midnight
    ({"opportunities": ["O-1", "O-404"]}, "opportunities"),
    ({"opportunities": []}, "opportunities"),
    ({"field": "不存在的领域"}, "field"),
    ({"fair": "maybe"}, "fair"),
])
def test_an_invalid_event_is_refused_with_the_field_named(
        client: TestClient, callers: Callers, changes: dict, field: str) -> None:  # noqa: F811
    response = client.post("/api/v1/events", json={**RULES, **changes}, headers=callers["organiser"])
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field and response.json()["error"]["code"] == "invalid"
    assert client.get("/api/v1/events", headers=callers["organiser"]).json()["total"] == 0


def test_a_body_over_the_limit_is_413(client: TestClient, callers: Callers) -> None:  # noqa: F811
    response = client.post("/api/v1/events", content=b'{"name": "' + b"x" * (1100 * 1024) + b'"}',
                           headers={**callers["organiser"], "Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"


def test_unknown_and_malformed_event_ids(client: TestClient, callers: Callers) -> None:  # noqa: F811
    for method, suffix in [("get", ""), ("get", "/plan"), ("post", "/plan"), ("post", "/publish"),
                           ("get", "/export.xlsx"), ("get", "/export.csv")]:
        missing = client.request(method, f"/api/v1/events/999{suffix}", headers=callers["organiser"])
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found", suffix
        for bad in ("abc", "0", "99999999999999999999"):
            malformed = client.request(method, f"/api/v1/events/{bad}{suffix}", headers=callers["organiser"])
            assert malformed.status_code == 422 and malformed.json()["error"]["field"] == "event_id"


def test_the_list_is_newest_first_and_paginated(client: TestClient, callers: Callers) -> None:  # noqa: F811
    ids = [create(client, callers, name=f"第{n}场")["id"] for n in range(3)]
    page = client.get("/api/v1/events", params={"limit": 2}, headers=callers["integrator"]).json()
    assert [e["id"] for e in page["items"]] == ids[::-1][:2] and page["total"] == 3
    rest = client.get("/api/v1/events", params={"limit": 2, "offset": 2}, headers=callers["integrator"]).json()
    assert [e["id"] for e in rest["items"]] == ids[:1]
    bad = client.get("/api/v1/events", params={"limit": 0}, headers=callers["integrator"])
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "limit"


# -- planning, publishing, the plan and its exports ----------------------------------------------
def test_a_plan_lists_meetings_with_slot_time_and_table_and_is_stored(
        client: TestClient, callers: Callers) -> None:  # noqa: F811
    event = create(client, callers)
    planned = plan(client, callers, event["id"])
    meetings = planned["meetings"]
    assert len(meetings) == 6 and planned["unmet"] == [] and planned["event"]["slots_used"] == 2
    assert {(m["slot"], m["time"]) for m in meetings} == {(0, "09:00–09:20"), (1, "09:25–09:45")}
    placed = {(m["slot"], m["table"]) for m in meetings}
    assert len(placed) == 6  # no table holds two meetings in one slot
    for m in meetings:
        assert m["opportunity"] in {"O-1", "O-2", "O-3"} and m["capability"].startswith("C-")
    assert set(planned["standby"]) == {"O-1", "O-2", "O-3"}
    stored = client.get(f"/api/v1/events/{event['id']}/plan", headers=callers["integrator"]).json()
    assert stored["meetings"] == meetings and stored["standby"] == planned["standby"]
    assert stored["event"]["greedy_total_score"] is None  # only known right after planning
    [_, (action, actor, changes)] = audit_actions(client, callers, event["id"])
    assert (action, actor, changes["meetings"]) == ("event.plan", "key:1 组织方脚本", [0, 6])


def test_publishing_needs_a_plan_and_stops_replanning(client: TestClient, callers: Callers) -> None:  # noqa: F811
    event = create(client, callers)
    path = f"/api/v1/events/{event['id']}"
    early = client.post(f"{path}/publish", headers=callers["organiser"])
    assert early.status_code == 409 and early.json()["error"]["code"] == "conflict"
    meetings = plan(client, callers, event["id"])["meetings"]
    published = client.post(f"{path}/publish", headers=callers["organiser"])
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert published.json()["counts"]["planned"] == 6
    for again in ("plan", "publish"):
        refused = client.post(f"{path}/{again}", headers=callers["organiser"])
        assert refused.status_code == 409, again
    assert client.get(f"{path}/plan", headers=callers["organiser"]).json()["meetings"] == meetings
    actions = audit_actions(client, callers, event["id"])
    assert [a for a, _, _ in actions] == ["event.create", "event.plan", "event.publish"]
    assert actions[-1][2] == {"status": ["draft", "published"]}


def test_the_exports_carry_the_plan(client: TestClient, callers: Callers) -> None:  # noqa: F811
    event = create(client, callers)
    meetings = plan(client, callers, event["id"])["meetings"]
    path = f"/api/v1/events/{event['id']}"
    workbook = client.get(f"{path}/export.xlsx", headers=callers["integrator"])
    assert workbook.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in workbook.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(workbook.content))
    assert book.sheetnames == ["对接名单", "日程表", "候补名单", "未满足与问题"]
    assert book["对接名单"].max_row == 2 + len(meetings)
    table = client.get(f"{path}/export.csv", headers=callers["integrator"])
    assert table.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert {(r["opportunity_id"], r["capability_id"], r["slot"]) for r in rows} == {
        (m["opportunity"], m["capability"], str(m["slot"] + 1)) for m in meetings}
