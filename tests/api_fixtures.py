"""Fixtures for API tests: the page-test app (three opportunities, five capabilities) with a
caller of every kind: the public, a firm (its submission token), an integrator key, an
organiser key and a revoked key."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from service import submissions
from service.keys import create_key, revoke_key
from tests.web import client  # noqa: F401

ROLES = ("public", "revoked", "firm", "integrator", "organiser")
SUBMISSION = {
    "title": "医院无人机样本配送",
    "organization": "无锡云翼物流科技有限公司",
    "description": "为医院院区之间提供检验样本无人机配送，温控样本箱，航线报备，全程可追溯。",
    "field": "低空经济",
    "district": "新吴区",
    "maturity": "试点应用",
}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@dataclass
class Callers:
    """Headers for each kind of caller, and what the tests need to know about them."""

    headers: dict[str, dict[str, str]]
    organiser_key_id: int
    firm_ext_id: str

    def __getitem__(self, role: str) -> dict[str, str]:
        return self.headers[role]


@pytest.fixture()
def callers(client: TestClient) -> Callers:  # noqa: F811
    context = client.app.state.context
    with context.session() as session:
        organiser, organiser_secret = create_key(session, name="组织方脚本", role="organiser", actor="test")
        _, integrator_secret = create_key(session, name="园区平台", role="integrator", actor="test")
        revoked, revoked_secret = create_key(session, name="旧平台", role="organiser", actor="test")
        revoke_key(session, revoked.id, actor="test")
        clean, errors = submissions.validate(session, dict(SUBMISSION))
        assert not errors
        entry, token = submissions.submit(context, session, clean)
        return Callers(
            headers={"public": {}, "revoked": bearer(revoked_secret), "firm": bearer(token),
                     "integrator": bearer(integrator_secret), "organiser": bearer(organiser_secret)},
            organiser_key_id=organiser.id, firm_ext_id=entry.ext_id)


def allowed(roles: tuple[str, ...]) -> dict[str, int | None]:
    """The status each caller gets from an endpoint only ``roles`` may use (None: allowed)."""
    return {role: None if role in roles else 401 if role in ("public", "revoked") else 403
            for role in ROLES}


def assert_refused(response, status: int) -> None:
    """A refusal in the API's own error shape."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == {401: "unauthorized", 403: "forbidden"}[status]
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
