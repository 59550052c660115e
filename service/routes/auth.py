"""Organiser sign-in and sign-out."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from service.auth import authenticate, sign_in
from service.web import AccountDep, CsrfDep, SessionDep, render

router = APIRouter(tags=["pages"], include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no //host, no scheme): no open redirect."""
    return target if target and target.startswith("/") and not target.startswith("//") else "/admin"


@router.get("/login")
def login_page(request: Request, account: AccountDep, next: str = "/admin"):
    return render(request, "login.html", {"next": _safe_next(next)}, account=account)


@router.post("/login", dependencies=[CsrfDep])
def login(request: Request, session: SessionDep, username: Annotated[str, Form(max_length=100)],
          password: Annotated[str, Form(max_length=200)], next: Annotated[str, Form()] = "/admin"):
    account = authenticate(session, username=username, password=password)
    if account is None:
        return render(request, "login.html", {"next": _safe_next(next), "username": username,
                                              "error": "用户名或密码不正确"}, status_code=401)
    sign_in(request, account)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[CsrfDep])
def logout(request: Request):
    request.session.clear()
    return RedirectResponse("/", status_code=303)
