"""Organiser accounts, signed-cookie sessions and CSRF tokens for the web pages."""
from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from pwdlib import PasswordHash
from sqlmodel import Session, select

from service.models import Account, Role

_hasher = PasswordHash.recommended()  # argon2id
MIN_PASSWORD = 10
SESSION_USER = "account_id"
SESSION_CSRF = "csrf"


class AuthError(ValueError):
    """A refused sign-in or account change, with a message for the user."""


def create_account(session: Session, *, username: str, password: str, role: Role = Role.organiser) -> Account:
    username = username.strip()
    if not username or len(username) > 100:
        raise AuthError("用户名不能为空，最多 100 个字符")
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"密码至少 {MIN_PASSWORD} 个字符")
    if session.exec(select(Account).where(Account.username == username)).first():
        raise AuthError(f"用户名 {username} 已存在")
    account = Account(username=username, password_hash=_hasher.hash(password), role=role)
    session.add(account)
    session.commit()
    session.refresh(account)
    return account


def authenticate(session: Session, *, username: str, password: str) -> Account | None:
    account = session.exec(select(Account).where(Account.username == username.strip())).first()
    if account is None or not account.active:
        _hasher.hash(password)  # same work either way, so timing does not reveal usernames
        return None
    return account if _hasher.verify(password, account.password_hash) else None


def current_account(request: Request, session: Session) -> Account | None:
    account_id = request.session.get(SESSION_USER)
    account = session.get(Account, account_id) if account_id else None
    return account if account and account.active else None


def sign_in(request: Request, account: Account) -> None:
    request.session.clear()  # a new session on sign-in: no fixation
    request.session[SESSION_USER] = account.id
    request.session[SESSION_CSRF] = secrets.token_urlsafe(32)


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_CSRF)
    if not token:
        token = request.session[SESSION_CSRF] = secrets.token_urlsafe(32)
    return token


def csrf_ok(request: Request, submitted: str | None) -> bool:
    expected = request.session.get(SESSION_CSRF)
    return bool(expected and submitted and hmac.compare_digest(expected, submitted))
