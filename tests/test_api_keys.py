"""API keys: organisers make, list and revoke them over the API and on the command line; the
secret is shown once and only its hash is stored; a revoked key is refused."""
from __future__ import annotations

import hashlib
import json

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.cli import app as cli
from tests.conftest import database_text
from tests.api_fixtures import Callers, allowed, assert_refused, bearer, callers, client  # noqa: F401


def test_only_organisers_manage_keys(client: TestClient, callers: Callers) -> None:  # noqa: F811
    def state() -> list[tuple]:
        return [(k["id"], k["name"], k["revoked_at"])
                for k in client.get("/api/v1/keys", headers=callers["organiser"]).json()]

    before = state()
    for role, refused in allowed(("organiser",)).items():
        if not refused:
            continue
        assert_refused(client.post("/api/v1/keys", json={"name": "我的密钥", "role": "organiser"},
                                   headers=callers[role]), refused)
        assert_refused(client.get("/api/v1/keys", headers=callers[role]), refused)
        assert_refused(client.post(f"/api/v1/keys/{callers.organiser_key_id}/revoke",
                                   headers=callers[role]), refused)
    assert state() == before
    made = client.post("/api/v1/keys", json={"name": "我的密钥", "role": "organiser"}, headers=callers["organiser"])
    assert made.status_code == 201
    revoked = client.post(f"/api/v1/keys/{made.json()['id']}/revoke", headers=callers["organiser"])
    assert revoked.status_code == 200


def test_a_new_key_is_shown_once_and_only_its_hash_is_stored(
        client: TestClient, callers: Callers, data_dir) -> None:  # noqa: F811
    response = client.post("/api/v1/keys", json={"name": "园区招商平台", "role": "integrator"},
                           headers=callers["organiser"])
    assert response.status_code == 201
    made = response.json()
    secret = made["secret"]
    assert secret.startswith("smk_") and len(secret) > 40 and made["prefix"] == secret[:10]
    assert (made["role"], made["created_by"], made["revoked_at"]) == ("integrator", "key:1 组织方脚本", None)
    listed = client.get("/api/v1/keys", headers=callers["organiser"])
    assert secret not in listed.text and hashlib.sha256(secret.encode()).hexdigest() not in listed.text
    row = next(k for k in listed.json() if k["id"] == made["id"])
    assert set(row) == {"id", "name", "role", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"}
    assert row["last_used_at"] is None
    dump = database_text()
    assert secret not in dump and hashlib.sha256(secret.encode()).hexdigest() in dump
    # the key works, with its role, and its use is noted
    assert client.get("/api/v1/events", headers=bearer(secret)).status_code == 200
    assert client.post("/api/v1/events", json={"name": "x"}, headers=bearer(secret)).status_code == 403
    row = next(k for k in client.get("/api/v1/keys", headers=callers["organiser"]).json() if k["id"] == made["id"])
    assert row["last_used_at"] is not None


def test_a_revoked_key_is_refused_and_listed_as_revoked(client: TestClient, callers: Callers) -> None:  # noqa: F811
    made = client.post("/api/v1/keys", json={"name": "临时", "role": "organiser"},
                       headers=callers["organiser"]).json()
    assert client.get("/api/v1/keys", headers=bearer(made["secret"])).status_code == 200
    revoked = client.post(f"/api/v1/keys/{made['id']}/revoke", headers=callers["organiser"])
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert_refused(client.get("/api/v1/keys", headers=bearer(made["secret"])), 401)
    again = client.post(f"/api/v1/keys/{made['id']}/revoke", headers=callers["organiser"])
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    audit = client.get("/api/v1/audit", params={"kind": "api_key", "target": str(made["id"])},
                       headers=callers["organiser"]).json()["items"]
    assert [(e["action"], e["actor"]) for e in audit] == [("key.revoke", "key:1 组织方脚本"),
                                                         ("key.create", "key:1 组织方脚本")]


def test_an_organiser_may_revoke_the_key_it_is_using(client: TestClient, callers: Callers) -> None:  # noqa: F811
    response = client.post(f"/api/v1/keys/{callers.organiser_key_id}/revoke", headers=callers["organiser"])
    assert response.status_code == 200
    assert_refused(client.get("/api/v1/keys", headers=callers["organiser"]), 401)


def test_bad_key_requests(client: TestClient, callers: Callers) -> None:  # noqa: F811
    for body, field in [({"name": "x", "role": "admin"}, "role"), ({"name": "", "role": "integrator"}, "name"),
                        ({"name": "   ", "role": "integrator"}, "name"), ({"role": "integrator"}, "name"),
                        ({"name": "x" * 101, "role": "integrator"}, "name")]:
        response = client.post("/api/v1/keys", json=body, headers=callers["organiser"])
        assert response.status_code == 422 and response.json()["error"]["field"] == field, body
    assert client.post("/api/v1/keys/999/revoke", headers=callers["organiser"]).status_code == 404
    assert client.post("/api/v1/keys/abc/revoke", headers=callers["organiser"]).status_code == 422
    for header in ("Bearer", "Basic abc", "Bearer smk_unknown", "Bearer not-a-token"):
        assert_refused(client.get("/api/v1/keys", headers={"Authorization": header}), 401)
    assert len(client.get("/api/v1/keys", headers=callers["organiser"]).json()) == 3


def test_the_command_line_creates_lists_and_revokes_keys(data_dir) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["keys", "create", "园区平台", "--role", "integrator", "--json"])
    assert made.exit_code == 0, made.output
    key = json.loads(made.output)
    assert key["secret"].startswith("smk_") and key["role"] == "integrator" and key["created_by"] == "cli"
    text = runner.invoke(cli, ["keys", "create", "组织方脚本", "--role", "organiser"])
    assert text.exit_code == 0 and "只显示这一次" in text.output
    listed = runner.invoke(cli, ["keys", "list", "--json"])
    rows = json.loads(listed.output)
    assert [(r["name"], r["role"]) for r in rows] == [("园区平台", "integrator"), ("组织方脚本", "organiser")]
    assert key["secret"] not in listed.output and "secret" not in rows[0]
    plain = runner.invoke(cli, ["keys", "list"]).output
    assert key["prefix"] in plain and key["secret"] not in plain
    assert runner.invoke(cli, ["keys", "revoke", str(key["id"])]).exit_code == 0
    rows = json.loads(runner.invoke(cli, ["keys", "list", "--json"]).output)
    assert rows[0]["revoked_at"] is not None and rows[1]["revoked_at"] is None
    missing = runner.invoke(cli, ["keys", "revoke", "99"])
    assert missing.exit_code == 1 and "没有编号为 99" in missing.output
    assert runner.invoke(cli, ["keys", "create", "x", "--role", "admin"]).exit_code == 2
    assert runner.invoke(cli, ["keys", "create", "  "]).exit_code == 1
