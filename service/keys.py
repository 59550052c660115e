"""API keys: made by an organiser, shown once, stored as a SHA-256 hash, revoked not deleted."""
from __future__ import annotations

import secrets

from sqlmodel import Session, select

from service import audit
from service.models import ApiKey, Role, utcnow
from service.principals import KEY_PREFIX, secret_hash

MAX_NAME = 100


class KeyError_(ValueError):
    """A refused key change, with a message for the user."""


def create_key(session: Session, *, name: str, role: Role | str, actor: str) -> tuple[ApiKey, str]:
    """A new key and its secret (the only time the secret exists outside the caller's hands)."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise KeyError_(f"key name must be 1 to {MAX_NAME} characters")
    try:
        role = Role(role)
    except ValueError:
        raise KeyError_(f"role must be one of: {', '.join(r.value for r in Role)}") from None
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, role=role, key_hash=secret_hash(secret), prefix=secret[:10], created_by=actor)
    session.add(key)
    session.flush()
    audit.record(session, actor=actor, action="key.create", kind="api_key", target=str(key.id),
                 changes={"name": name, "role": role.value}, commit=False)
    session.commit()
    session.refresh(key)
    return key, secret


def revoke_key(session: Session, key_id: int, *, actor: str) -> ApiKey | None:
    key = session.get(ApiKey, key_id)
    if key is None:
        return None
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        audit.record(session, actor=actor, action="key.revoke", kind="api_key", target=str(key.id),
                     changes={"name": key.name}, commit=False)
        session.commit()
        session.refresh(key)
    return key


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).order_by(ApiKey.id)).all())
