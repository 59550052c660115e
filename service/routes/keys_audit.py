"""Organiser pages for API keys (API 密钥: list, create with the secret shown once, revoke) and
the audit log (操作日志: who changed what, old → new, newest first)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from service import keys
from service.api import audit as audit_api
from service.ids import row_id
from service.models import Account, Role
from service.routes.pages import PER_PAGE, pager, pop_flash
from service.web import CsrfDep, OrganiserDep, SessionDep, render

router = APIRouter(include_in_schema=False)

ROLE_NAMES = {Role.organiser.value: "组织方（全部权限）", Role.integrator.value: "对接平台（只读，含联系方式）"}
KIND_NAMES = {"opportunity": "场景机会", "capability": "场景能力", "pair": "配对标记", "event": "对接活动",
              "api_key": "API 密钥", "account": "账号"}


def _actor(organiser: Account) -> str:
    return f"organiser:{organiser.username}"


# -- API keys ---------------------------------------------------------------------------------
def _keys_page(request: Request, session: Session, organiser: Account, *, values: dict[str, str] | None = None,
               errors: dict[str, str] | None = None, created: dict[str, Any] | None = None,
               status_code: int = 200):
    context = {"keys": keys.list_keys(session), "ROLE_NAMES": ROLE_NAMES, "values": values or {"role": "integrator"},
               "errors": errors or {}, "created": created, "flash": pop_flash(request), "max_name": keys.MAX_NAME}
    return render(request, "admin/keys.html", context, status_code=status_code, account=organiser)


@router.get("/admin/keys")
def keys_page(request: Request, session: SessionDep, organiser: OrganiserDep):
    return _keys_page(request, session, organiser)


@router.post("/admin/keys", dependencies=[CsrfDep])
def create_key(request: Request, session: SessionDep, organiser: OrganiserDep,
               name: Annotated[str, Form()] = "", role: Annotated[str, Form()] = ""):
    values = {"name": name, "role": role}
    errors = {}
    if role not in ROLE_NAMES:
        errors["role"] = "请选择密钥的权限"
    if not name.strip() or len(name.strip()) > keys.MAX_NAME:
        errors["name"] = f"请填写密钥名称（1–{keys.MAX_NAME} 个字），如使用它的平台名"
    if errors:
        return _keys_page(request, session, organiser, values=values, errors=errors, status_code=422)
    key, secret = keys.create_key(session, name=name, role=role, actor=_actor(organiser))
    # shown on this answer only: never put in the session, a redirect or a log
    response = _keys_page(request, session, organiser, created={"key": key, "secret": secret})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/admin/keys/{key_id}/revoke", dependencies=[CsrfDep])
def revoke_key(request: Request, session: SessionDep, organiser: OrganiserDep, key_id: str):
    number = row_id(key_id)
    key = keys.revoke_key(session, number, actor=_actor(organiser)) if number is not None else None
    request.session["flash"] = (f"已吊销密钥「{key.name}」：使用它的请求从现在起会被拒绝。" if key
                                else "找不到这个密钥。")
    return RedirectResponse("/admin/keys", status_code=303)


# -- the audit log ----------------------------------------------------------------------------
@dataclass
class Change:
    field: str
    old: Any
    new: Any
    changed: bool  # False: a value noted with the change (e.g. which meeting), not a change


def changes_of(changes: dict[str, Any]) -> list[Change]:
    """A log entry's values: ``[old, new]`` pairs are changes; anything else is context."""
    return [Change(key, value[0], value[1], True) if isinstance(value, list) and len(value) == 2
            else Change(key, None, value, False) for key, value in changes.items()]


def _text(value: str) -> str:
    return " ".join(value.split())[:200]


@router.get("/admin/audit")
def audit_page(request: Request, session: SessionDep, organiser: OrganiserDep, kind: str = "",
               target: str = "", actor: str = "", page: str | None = None):
    params = {"kind": _text(kind), "target": _text(target), "actor": _text(actor)}
    statement = audit_api.query(**params)
    total = audit_api.count(session, statement)
    pages = pager(page, total)
    _, rows = audit_api.page(session, statement, offset=(pages.number - 1) * PER_PAGE, limit=PER_PAGE)
    context = {"rows": [(row, changes_of(row.changes)) for row in rows], "page": pages,
               "params": {k: v for k, v in params.items() if v}, "KINDS": KIND_NAMES}
    return render(request, "admin/audit.html", {**params, **context}, account=organiser)
