"""/api/v1/audit: the audit log for organisers, newest first, filtered and paginated. The
query is shared with the 操作日志 page."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlmodel import Session, col, func, select

from service.api.responses import READ, errors
from service.models import AuditEntry
from service.principals import OrganiserDep
from service.web import SessionDep

router = APIRouter(prefix="/api/v1", tags=["audit"])


def _utc(moment: datetime) -> datetime:
    """``since`` in UTC; one without a zone is taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 pushed past the calendar by its offset
        return (datetime.min if moment.year < 5000 else datetime.max).replace(tzinfo=UTC)


def query(*, kind: str = "", target: str = "", actor: str = "", action: str = "",
          since: datetime | None = None):
    """A select of the log, newest first: ``kind``, ``target`` and ``action`` exact, ``actor``
    a prefix (``organiser:`` finds every organiser), ``since`` inclusive."""
    statement = select(AuditEntry)
    for name, value in (("kind", kind), ("target", target), ("action", action)):
        if value:
            statement = statement.where(getattr(AuditEntry, name) == value)
    if actor:
        statement = statement.where(col(AuditEntry.actor).startswith(actor, autoescape=True))
    if since is not None:
        statement = statement.where(col(AuditEntry.at) >= _utc(since))
    return statement.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())


def count(session: Session, statement) -> int:
    return session.exec(select(func.count()).select_from(statement.subquery())).one()


def page(session: Session, statement, *, offset: int, limit: int) -> tuple[int, list[AuditEntry]]:
    """(how many match, the entries from ``offset``)."""
    return count(session, statement), list(session.exec(statement.offset(offset).limit(limit)).all())


class AuditPublic(BaseModel):
    id: int
    at: datetime = Field(description="UTC.")
    actor: str = Field(description="organiser:NAME, key:ID NAME, firm:LIST-ID, cli or system.")
    action: str
    kind: str
    target: str
    changes: dict[str, Any] = Field(description="Changed fields as [old, new]; other values as they were.")


class AuditPage(BaseModel):
    items: list[AuditPublic]
    total: int
    offset: int
    limit: int


Text = Annotated[str, Query(max_length=200)]


@router.get("/audit", response_model=AuditPage, responses=errors(*READ, 422))
def list_audit(session: SessionDep, principal: OrganiserDep, kind: Text = "", target: Text = "",
               actor: Text = "", action: Text = "", since: datetime | None = None,
               offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
               limit: Annotated[int, Query(ge=1, le=200)] = 50) -> AuditPage:
    """Who changed what, when, with old → new values; newest first."""
    statement = query(kind=kind, target=target, actor=actor, action=action, since=since)
    total, rows = page(session, statement, offset=offset, limit=limit)
    return AuditPage(items=[AuditPublic.model_validate(r, from_attributes=True) for r in rows],
                     total=total, offset=offset, limit=limit)
