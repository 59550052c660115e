"""Who is calling the API: an organiser or integrator key, a firm's submission token, or the
public. Keys and tokens arrive as ``Authorization: Bearer``; only their SHA-256 is stored."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session, select

from service.api.errors import ApiError
from service.models import ApiKey, Capability, Role, utcnow
from service.web import SessionDep

ORGANISER, INTEGRATOR, FIRM, PUBLIC = "organiser", "integrator", "firm", "public"
KEY_PREFIX = "smk_"  # API keys start so; anything else is tried as a firm's submission token
TOUCH_EVERY = timedelta(minutes=1)  # how stale a key's last_used_at may get


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    role: str
    actor: str  # how the audit log names the caller
    key_id: int | None = None
    capability_id: int | None = None  # the firm's own submission

    @property
    def sees_contacts(self) -> bool:
        """Phone and email of entries are never public."""
        return self.role in (ORGANISER, INTEGRATOR)

    @property
    def sees_unpublished(self) -> bool:
        return self.role in (ORGANISER, INTEGRATOR)


ANONYMOUS = Principal(role=PUBLIC, actor="public")


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, field="Authorization", headers={"WWW-Authenticate": "Bearer"})


def resolve(session: Session, authorization: str | None) -> Principal:
    """The caller named by an Authorization header (none: the public)."""
    if not authorization:
        return ANONYMOUS
    scheme, _, secret = authorization.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise _unauthorized("the Authorization header must be 'Bearer <key>'")
    digest = secret_hash(secret)
    if secret.startswith(KEY_PREFIX):
        key = session.exec(select(ApiKey).where(ApiKey.key_hash == digest)).first()
        if key is None or key.revoked_at is not None:
            raise _unauthorized("the API key is unknown or has been revoked")
        now = utcnow()
        if key.last_used_at is None or now - key.last_used_at > TOUCH_EVERY:
            key.last_used_at = now
            session.add(key)
            session.commit()
        role = Role(key.role).value
        return Principal(role=role, actor=f"key:{key.id} {key.name}", key_id=key.id)
    capability = session.exec(select(Capability).where(Capability.token_hash == digest)).first()
    if capability is None:
        raise _unauthorized("the key or submission token is unknown")
    return Principal(role=FIRM, actor=f"firm:{capability.ext_id}", capability_id=capability.id)


# declared so that /docs offers "Authorize"; the header itself is read by resolve()
bearer = HTTPBearer(auto_error=False, scheme_name="ApiKey",
                    description="An API key (`smk_…`) made by an organiser, or a firm's submission token.")


def principal_dep(request: Request, session: SessionDep,
                  _: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None) -> Principal:
    return resolve(session, request.headers.get("authorization"))


PrincipalDep = Annotated[Principal, Depends(principal_dep)]


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def require(*roles: str):
    """A dependency letting only these roles through: 401 for the public, 403 for others."""

    def check(principal: PrincipalDep) -> Principal:
        if principal.role in roles:
            return principal
        if principal.role == PUBLIC:
            raise _unauthorized("this needs an API key: send 'Authorization: Bearer <key>'")
        raise ApiError(403, f"{_article(principal.role)} {principal.role} may not do this (needs: {', '.join(roles)})")

    return Depends(check)


OrganiserDep = Annotated[Principal, require(ORGANISER)]
ReaderDep = Annotated[Principal, require(ORGANISER, INTEGRATOR)]
