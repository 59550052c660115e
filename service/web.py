"""What every page shares: templates, the signed-in organiser, CSRF checks, highlighting."""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from sqlmodel import Session

from service.auth import csrf_ok, csrf_token, current_account
from service.models import Account

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"

STATUS_NAMES = {"draft": "草稿/退回", "pending_review": "待审核", "published": "已发布", "archived": "已归档"}
KIND_NAMES = {"opportunity": "场景机会", "capability": "场景能力"}


def highlight(text: str | None, terms: list[str] | None) -> Markup:
    """The text, escaped, with each term wrapped in <mark>."""
    safe = str(escape(text or ""))
    words = sorted({str(escape(t)) for t in terms or [] if t}, key=len, reverse=True)
    if not words:
        return Markup(safe)
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    return Markup(pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", safe))


@cache
def templates() -> Jinja2Templates:
    env = Jinja2Templates(directory=str(TEMPLATES))
    env.env.filters["highlight"] = highlight
    env.env.globals.update(STATUS_NAMES=STATUS_NAMES, KIND_NAMES=KIND_NAMES)
    return env


def render(request: Request, name: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200, account: Account | None = None) -> HTMLResponse:
    """A page with the signed-in account and the CSRF token every form needs."""
    values = {"account": account, "csrf_token": csrf_token(request), **(context or {})}
    return templates().TemplateResponse(request, name, values, status_code=status_code)


def session_dep(request: Request):
    with request.app.state.context.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(session_dep)]


def account_dep(request: Request, session: SessionDep) -> Account | None:
    return current_account(request, session)


AccountDep = Annotated[Account | None, Depends(account_dep)]


class SignInRequired(Exception):
    """Raised for organiser pages without a signed-in organiser; the app redirects to /login."""


def organiser_dep(account: AccountDep) -> Account:
    if account is None:
        raise SignInRequired()
    return account


OrganiserDep = Annotated[Account, Depends(organiser_dep)]


def csrf_dep(request: Request, csrf_token: Annotated[str | None, Form()] = None) -> None:
    """Every form POST carries the session's token (htmx sends it as X-CSRF-Token)."""
    if not csrf_ok(request, csrf_token or request.headers.get("x-csrf-token")):
        raise HTTPException(status_code=403, detail="表单已过期或来源无效（CSRF 校验失败），请刷新页面后重试。")


CsrfDep = Depends(csrf_dep)
