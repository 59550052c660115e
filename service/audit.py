"""The audit log: who changed what, when, with the fields' old and new values."""
from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlmodel import Session

from service.models import AuditEntry

MAX_VALUE = 500  # characters of a changed value kept in the log


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, str) and len(value) > MAX_VALUE:
        return value[: MAX_VALUE - 1] + "…"
    return value


def snapshot(entry: Any, fields: list[str] | None = None) -> dict[str, Any]:
    """The auditable values of a row (timestamps and secrets left out)."""
    names = fields or [name for name in type(entry).model_fields
                       if name not in {"id", "created_at", "updated_at", "token_hash", "password_hash", "key_hash"}]
    return {name: _plain(getattr(entry, name)) for name in names}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the fields whose value changed."""
    return {key: [before.get(key), after.get(key)] for key in after if before.get(key) != after.get(key)}


def record(session: Session, *, actor: str, action: str, kind: str, target: str = "",
           changes: dict[str, Any] | None = None, commit: bool = True) -> AuditEntry:
    entry = AuditEntry(actor=actor[:200], action=action, kind=kind, target=str(target)[:200],
                       changes={key: _plain(value) for key, value in (changes or {}).items()})
    session.add(entry)
    if commit:
        session.commit()
    return entry
