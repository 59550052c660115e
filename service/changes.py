"""The change log: every write of an entry is noted after its vectors are stored, so that other
service processes over the same database can bring their in-memory indexes in step."""
from __future__ import annotations

from sqlmodel import Session

from service.models import Change


def record(session: Session, kind: str, entry_ids: list[int]) -> None:
    """Note that these entries changed (their rows and vectors are already committed)."""
    if not entry_ids:
        return
    session.add_all(Change(kind=kind, entry_id=entry_id) for entry_id in dict.fromkeys(entry_ids))
    session.commit()
