"""Creating and changing entries from the web and API: stored, embedded, and in the matcher
at once."""
from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlmodel import Session, select

from matching.engine import CAPABILITY, OPPORTUNITY
from matching.text import entry_text
from service import audit
from service.context import Context
from service.embeddings import TABLES
from service.importer import auto_id
from service.matches import Filters
from service.models import Capability, Opportunity, Status, utcnow
from service.tabular import validate_fields

Entry = Opportunity | Capability


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def by_ext(session: Session, kind: str, ext_id: str) -> Entry | None:
    table = TABLES[kind]
    return session.exec(select(table).where(table.ext_id == ext_id)).first()


def check(session: Session, kind: str, values: dict[str, Any], entry: Entry | None = None
          ) -> tuple[dict[str, Any], dict[str, str]]:
    """Form values checked like an imported row, plus: the id must be free."""
    clean, errors = validate_fields(kind, values)
    ext_id = clean.get("id")
    if ext_id and len(ext_id) > 100:
        errors["id"] = "编号最多 100 个字符"
    elif ext_id and (entry is None or entry.ext_id != ext_id):
        if by_ext(session, kind, ext_id):
            errors["id"] = f"编号 {ext_id} 已被使用"
    return clean, errors


SYSTEM = "system"  # the actor of a change whose caller did not name one


def save(context: Context, session: Session, kind: str, clean: dict[str, Any], *,
         entry: Entry | None = None, status: Status | None = None, actor: str = SYSTEM) -> Entry:
    """Create or update from checked values; embeds the entry, updates the matcher and records
    the change in the audit log."""
    table = TABLES[kind]
    before = audit.snapshot(entry) if entry is not None else {}
    if entry is None:
        entry = table(ext_id=clean.get("id") or auto_id(kind, clean), title="", organization="",
                      description="", status=status or Status.published)
    for key, value in clean.items():
        if key == "id":
            entry.ext_id = value or entry.ext_id
        elif key in table.model_fields:
            setattr(entry, key, value)
    if status is not None:
        entry.status = status
    entry.updated_at = utcnow()
    session.add(entry)
    audit.record(session, actor=actor, action="update" if before else "create", kind=kind,
                 target=entry.ext_id, changes=audit.diff(before, audit.snapshot(entry)), commit=False)
    session.commit()
    session.refresh(entry)
    sync(context, session, kind, [entry.id])
    return entry


_KEEP: Any = object()  # set_status: leave a capability's review note as it is


def set_status(context: Context, session: Session, kind: str, entry: Entry, status: Status,
               note: str | None = _KEEP, *, actor: str = SYSTEM) -> None:
    """Change an entry's status (and a capability's review note: None clears it)."""
    before = audit.snapshot(entry)
    entry.status = status
    entry.updated_at = utcnow()
    if isinstance(entry, Capability) and note is not _KEEP:
        entry.review_note = note
    session.add(entry)
    audit.record(session, actor=actor, action="status", kind=kind, target=entry.ext_id,
                 changes=audit.diff(before, audit.snapshot(entry)), commit=False)
    session.commit()
    sync(context, session, kind, [entry.id])


def sync(context: Context, session: Session, kind: str, ids: list[int]) -> None:
    """Embed what changed, note the change and bring the matcher in step."""
    context.after_write(kind, ids)


def new_submission_token() -> str:
    return secrets.token_urlsafe(24)


def search(context: Context, kind: str, text: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
    """Semantic search of one list by free text."""
    vector = context.encoder.encode_queries([text])[0]
    return context.matches.search(kind, vector, text, k, filters)


def preview_for_capability(context: Context, values: dict[str, Any], k: int = 5) -> list[tuple[str, float]]:
    """Published opportunities an unsaved capability would fit, best first."""
    text = entry_text(values.get("title") or "", values.get("description") or "")
    if not text:
        return []
    vector = context.encoder.encode_passages([text])[0]
    return context.matches.search(OPPORTUNITY, vector, text, k, made_as=CAPABILITY)
