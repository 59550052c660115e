"""Helpers for API tests: an app over the small lists of tests/helpers.py, and a Bearer header
for every kind of caller (public, firm, integrator, organiser, revoked key)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from service.app import create_app
from service.importer import import_file
from service.keys import create_key, revoke_key
from service.models import AuditEntry, Capability, Status
from service.principals import secret_hash
from service.settings import Settings
from tests.helpers import lists

FIRM_TOKEN = "firm-token-for-C-5-abcdefghijklmnop"
FIRM_ENTRY = "C-5"  # the firm's own submission, waiting for review
ROLES = ("public", "firm", "integrator", "organiser", "revoked")
PRIVATE = ("phone", "email")


@dataclass
class Api:
    client: TestClient
    headers: dict[str, dict[str, str]]  # role -> headers

    def get(self, path: str, role: str = "public", **kwargs: Any):
        return self.client.get(path, headers={**self.headers[role], **kwargs.pop("headers", {})}, **kwargs)

    def post(self, path: str, role: str = "organiser", **kwargs: Any):
        return self.client.post(path, headers={**self.headers[role], **kwargs.pop("headers", {})}, **kwargs)

    def put(self, path: str, role: str = "organiser", **kwargs: Any):
        return self.client.put(path, headers={**self.headers[role], **kwargs.pop("headers", {})}, **kwargs)

    @property
    def context(self):
        return self.client.app.state.context

    def audit(self, action: str | None = None) -> list[AuditEntry]:
        with self.context.session() as session:
            query = select(AuditEntry).order_by(AuditEntry.id)
            if action:
                query = query.where(AuditEntry.action == action)
            return list(session.exec(query).all())


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def make_api(tmp_path: Path, encoder: Any, **settings: Any) -> Iterator[Api]:
    """The app over three opportunities and five capabilities (C-5 a firm's pending submission),
    matcher built, with a key of each role."""
    app = create_app(Settings(data_dir=tmp_path / "api-data", **settings))
    context = app.state.context
    context.__dict__["encoder"] = encoder  # the session's model, loaded once
    opps, caps = lists(tmp_path)
    with context.session() as session:
        for kind, path in (("opportunity", opps), ("capability", caps)):
            report = import_file(session, kind, path, max_bytes=10**6, actor="cli")
            context.after_write(kind, report.entry_ids, wait=True)
        firm = session.exec(select(Capability).where(Capability.ext_id == FIRM_ENTRY)).one()
        firm.token_hash = secret_hash(FIRM_TOKEN)
        firm.status = Status.pending_review
        firm.phone, firm.email = "0510-55550005", "c5@example.com"
        session.add(firm)
        session.commit()
        context.after_write("capability", [firm.id], wait=True)
        _, organiser = create_key(session, name="平台 organiser", role="organiser", actor="cli")
        _, integrator = create_key(session, name="integrator", role="integrator", actor="cli")
        revoked_key, revoked = create_key(session, name="old", role="organiser", actor="cli")
        revoke_key(session, revoked_key.id, actor="cli")
    headers = {"public": {}, "firm": bearer(FIRM_TOKEN), "integrator": bearer(integrator),
               "organiser": bearer(organiser), "revoked": bearer(revoked)}
    with TestClient(app) as client:
        yield Api(client, headers)


@pytest.fixture()
def api(tmp_path: Path, e5) -> Iterator[Api]:
    yield from make_api(tmp_path, e5)


def opportunity_body(**values: Any) -> dict[str, Any]:
    body = {"id": "O-9", "title": "医院检验样本无人机配送", "organization": "无锡市人民医院",
            "field": "低空经济", "district": "梁溪区",
            "description": "院区之间检验样本需要无人机配送，温控样本箱，航线规划与空域报备。",
            "requirements": "样本箱温控2-8℃；航线规划与空域报备", "budget_wan": 120, "deadline": "2026-12-31",
            "contact": "王老师", "phone": "0510-88880000", "email": "wang@example.com"}
    return {**body, **values}
