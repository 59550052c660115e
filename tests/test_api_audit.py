"""/api/v1/audit: organisers read who changed what, when, old → new; filters and pages. The
changes organisers make to events in the browser are in it under their names."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from fastapi.testclient import TestClient

from tests.api_fixtures import Callers, allowed, assert_refused, callers, client  # noqa: F401
from tests.test_pages_events import (  # noqa: F401
    _free_and_busy,
    cap_ext,
    drafted,
    meetings,
    organiser,
    post,
    published,
    standby,
)

ACTOR = "organiser:organiser"  # the signed-in organiser of tests.web


def audit(http: TestClient, callers: Callers, **params) -> dict:  # noqa: F811
    response = http.get("/api/v1/audit", params=params, headers=callers["organiser"])
    assert response.status_code == 200, response.text
    return response.json()


def test_only_organisers_read_the_audit_log(client: TestClient, callers: Callers) -> None:  # noqa: F811
    for role, refused in allowed(("organiser",)).items():
        response = client.get("/api/v1/audit", headers=callers[role])
        if refused:
            assert_refused(response, refused)
        else:
            assert response.status_code == 200 and response.json()["total"] > 0


def test_the_log_is_newest_first_filtered_and_paged(client: TestClient, callers: Callers) -> None:  # noqa: F811
    everything = audit(client, callers, limit=200)
    times = [e["at"] for e in everything["items"]]
    assert times == sorted(times, reverse=True) and everything["total"] == len(times)
    keys = audit(client, callers, kind="api_key")
    assert keys["total"] == 4 and {e["action"] for e in keys["items"]} == {"key.create", "key.revoke"}
    one = audit(client, callers, kind="api_key", target="3")
    assert [e["action"] for e in one["items"]] == ["key.revoke", "key.create"]
    firms = audit(client, callers, actor="firm:")
    assert [e["actor"] for e in firms["items"]] == [f"firm:{callers.firm_ext_id}"]
    assert audit(client, callers, action="key.revoke")["total"] == 1
    assert audit(client, callers, actor="firm%")["total"] == 0  # a prefix, not a pattern
    page = audit(client, callers, limit=2, offset=1)
    assert [e["id"] for e in page["items"]] == [e["id"] for e in everything["items"][1:3]]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert audit(client, callers, since=future.isoformat())["total"] == 0
    past = datetime.now(timezone(timedelta(hours=8))) - timedelta(hours=1)  # Beijing time
    assert audit(client, callers, since=past.isoformat())["total"] == everything["total"]
    for params, field in [({"since": "昨天"}, "since"), ({"limit": 0}, "limit"), ({"offset": -1}, "offset")]:
        response = client.get("/api/v1/audit", params=params, headers=callers["organiser"])
        assert response.status_code == 422 and response.json()["error"]["field"] == field


def test_event_changes_in_the_browser_are_logged_with_old_and_new_values(
        organiser: TestClient, callers: Callers, drafted: str) -> None:  # noqa: F811
    event_id = drafted.rsplit("/", 1)[1]
    first = meetings(organiser, drafted)[0]
    post(organiser, f"{drafted}/meetings/{first.id}/lock", {"locked": "1"})
    post(organiser, f"{drafted}/availability", {"kind": "capability", "entry": "C-5", "slot": ["2"]})
    spare = cap_ext(organiser, standby(organiser, drafted, first)[0].capability_id)
    old = cap_ext(organiser, first.capability_id)
    post(organiser, f"{drafted}/swap", {"meeting": str(first.id), "capability": spare})
    post(organiser, f"{drafted}/publish")
    second = meetings(organiser, drafted)[1]
    post(organiser, f"{drafted}/meetings/{second.id}/outcome", {"status": "held", "outcome": "intent", "note": "下周考察"})
    log = audit(organiser, callers, kind="event", target=event_id)["items"][::-1]
    assert {e["actor"] for e in log} == {ACTOR}
    assert [e["action"] for e in log] == ["event.create", "event.plan", "event.lock", "event.availability",
                                          "event.swap", "event.plan", "event.publish", "event.outcome"]
    changes = [e["changes"] for e in log]
    assert changes[2] == {"meeting": first.id, "locked": [False, True]}
    assert changes[3] == {"kind": "capability", "entry": "C-5", "unavailable": [[], [2]]}
    assert changes[4] == {"meeting": first.id, "capability": [old, spare]}
    assert changes[6] == {"status": ["draft", "published"]}
    assert changes[7] == {"meeting": second.id, "status": ["planned", "held"], "outcome": [None, "intent"],
                          "note": [None, "下周考察"]}


def test_a_replacement_after_publishing_is_logged(
        organiser: TestClient, callers: Callers, published: str) -> None:  # noqa: F811
    meeting = meetings(organiser, published)[0]
    free, _ = _free_and_busy(organiser, published, meeting)
    old = cap_ext(organiser, meeting.capability_id)
    post(organiser, f"{published}/meetings/{meeting.id}/replace", {"capability": free, "reason": "no_show"})
    [entry] = audit(organiser, callers, action="event.replace")["items"]
    new = meetings(organiser, published)[-1]
    assert entry["actor"] == ACTOR and entry["target"] == published.rsplit("/", 1)[1]
    assert entry["changes"] == {"meeting": meeting.id, "new_meeting": new.id, "capability": [old, free],
                                "status": ["planned", "no_show"]}
