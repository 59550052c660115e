"""The change log: every write of an entry is noted after its vectors are stored, so that other
service processes over the same database can bring their in-memory indexes in step
(``service.follow``)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, delete, select

from service.models import Change, utcnow

KEEP = timedelta(days=1)


def record(session: Session, kind: str, entry_ids: list[int]) -> list[int]:
    """Note that these entries changed (their rows and vectors are already committed); returns
    the ids of the change rows."""
    if not entry_ids:
        return []
    rows = [Change(kind=kind, entry_id=entry_id) for entry_id in dict.fromkeys(entry_ids)]
    session.add_all(rows)
    session.flush()
    ids = [row.id for row in rows]
    session.commit()
    return ids


def latest(session: Session) -> int:
    """The highest change id committed so far (0 for none)."""
    return session.exec(select(func.max(Change.id))).one() or 0


def since(session: Session, after: int) -> list[tuple[int, str, int]]:
    """(change id, kind, entry id) of the changes with an id above ``after``, in id order."""
    query = select(Change.id, Change.kind, Change.entry_id).where(Change.id > after).order_by(Change.id)
    return [tuple(row) for row in session.exec(query).all()]


def prune(session: Session, keep: timedelta = KEEP) -> int:
    """Forget changes older than ``keep``; returns how many. The newest row always stays: an
    emptied table would let SQLite hand out ids from 1 again, below what followers have read."""
    newest = latest(session)
    result = session.exec(delete(Change).where(Change.at < utcnow() - keep, Change.id < newest))
    session.commit()
    return result.rowcount or 0
