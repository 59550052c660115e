"""Database tables. The database is the source of truth; indexes are rebuilt from it."""
from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Status(str, Enum):
    draft = "draft"
    pending_review = "pending_review"
    published = "published"
    archived = "archived"


class ReviewMark(str, Enum):
    confirmed = "confirmed"  # 已确认
    excluded = "excluded"  # 已排除


class EntryBase(SQLModel):
    """Columns both lists share (LISTS.md)."""

    ext_id: str = Field(index=True, unique=True, max_length=100, description="The list's own id (编号).")
    title: str = Field(max_length=500)
    organization: str = Field(max_length=500)
    field: str | None = Field(default=None, index=True, max_length=100)
    district: str | None = Field(default=None, index=True, max_length=100)
    description: str = Field(max_length=5000)
    contact: str | None = Field(default=None, max_length=500)
    phone: str | None = Field(default=None, max_length=500)
    email: str | None = Field(default=None, max_length=500)


class Opportunity(EntryBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    requirements: str | None = Field(default=None, max_length=5000)
    budget_wan: float | None = None
    deadline: str | None = Field(default=None, max_length=10)
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: Status = Field(default=Status.published, index=True, sa_type=String(20))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Capability(EntryBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    maturity: str | None = Field(default=None, max_length=100)
    cases: str | None = Field(default=None, max_length=5000)
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: Status = Field(default=Status.published, index=True, sa_type=String(20))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # a firm's submission: the hash of its private link's token, and the reviewer's reason when
    # it was sent back (status draft)
    token_hash: str | None = Field(default=None, index=True, max_length=64)
    review_note: str | None = Field(default=None, max_length=1000)


class Role(str, Enum):
    """Who may do what. Firms act through their submission's private token; the public needs
    nothing."""

    organiser = "organiser"  # everything
    integrator = "integrator"  # read-only API access, contact details included


class Account(SQLModel, table=True):
    """A person who signs in. Passwords are stored as argon2 hashes only."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=100)
    password_hash: str = Field(max_length=300)
    role: Role = Field(default=Role.organiser, sa_type=String(20))
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class Embedding(SQLModel, table=True):
    """One stored vector: part 0 is the whole entry, parts 1.. its requirement clauses."""

    __table_args__ = (UniqueConstraint("kind", "entry_id", "part", "model"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20, index=True)  # "opportunity" | "capability"
    entry_id: int = Field(index=True)
    part: int = 0
    model: str = Field(max_length=300)
    text_hash: str = Field(max_length=64)
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # part 0 only: the text's lexical tokens, {"v": tokenizer version, "tokens": [...]}, so that
    # a start-up reads them instead of segmenting every entry again
    lexical: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class PairReview(SQLModel, table=True):
    """An organiser's mark on a proposed pair; kept when matches are recomputed."""

    opportunity_id: int = Field(foreign_key="opportunity.id", primary_key=True, ondelete="CASCADE")
    capability_id: int = Field(foreign_key="capability.id", primary_key=True, ondelete="CASCADE")
    mark: ReviewMark = Field(sa_type=String(20))
    note: str | None = Field(default=None, max_length=1000)
    updated_at: datetime = Field(default_factory=utcnow)


class EventStatus(str, Enum):
    draft = "draft"  # 草稿：可调整、可重新生成
    published = "published"  # 已发布：只做替补与结果记录


class MeetingStatus(str, Enum):
    planned = "planned"
    held = "held"  # 已对接
    no_show = "no_show"  # 未到场
    withdrawn = "withdrawn"  # 退出


class Outcome(str, Enum):
    intent = "intent"  # 意向
    signed = "signed"  # 签约


class Event(SQLModel, table=True):
    """A 供需对接活动: its rules and its time grid."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    date: str | None = Field(default=None, max_length=10)
    venue: str | None = Field(default=None, max_length=200)
    start_time: str = Field(default="09:00", max_length=5)
    meeting_minutes: int = 20
    break_minutes: int = 5
    slots: int = 8
    tables: int = 20
    per_opportunity: int = 3
    max_per_supplier: int = 4
    min_score: float | None = None
    fair: bool = False
    status: EventStatus = Field(default=EventStatus.draft, sa_type=String(20))
    problems: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class EventOpportunity(SQLModel, table=True):
    """A scenario taking part; its owner keeps one table."""

    event_id: int = Field(foreign_key="event.id", primary_key=True, ondelete="CASCADE")
    opportunity_id: int = Field(foreign_key="opportunity.id", primary_key=True, ondelete="CASCADE")
    table_no: int | None = None
    unavailable: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class EventSupplier(SQLModel, table=True):
    """A capability's availability for one event (slots it cannot attend)."""

    event_id: int = Field(foreign_key="event.id", primary_key=True, ondelete="CASCADE")
    capability_id: int = Field(foreign_key="capability.id", primary_key=True, ondelete="CASCADE")
    unavailable: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Meeting(SQLModel, table=True):
    """One pairing of the event's list (对接名单), placed in a slot at the scenario's table."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    opportunity_id: int = Field(foreign_key="opportunity.id", ondelete="CASCADE")
    capability_id: int = Field(foreign_key="capability.id", ondelete="CASCADE")
    score: float = 0.0
    slot: int | None = None
    table_no: int | None = None
    locked: bool = False
    status: MeetingStatus = Field(default=MeetingStatus.planned, sa_type=String(20))
    outcome: Outcome | None = Field(default=None, sa_type=String(20))
    note: str | None = Field(default=None, max_length=1000)


class Standby(SQLModel, table=True):
    """A ranked reserve supplier (候补) for a scenario of an event."""

    event_id: int = Field(foreign_key="event.id", primary_key=True, ondelete="CASCADE")
    opportunity_id: int = Field(foreign_key="opportunity.id", primary_key=True, ondelete="CASCADE")
    capability_id: int = Field(foreign_key="capability.id", primary_key=True, ondelete="CASCADE")
    rank: int = 0
    score: float = 0.0


class ApiKey(SQLModel, table=True):
    """A key for ``Authorization: Bearer``: shown once when made, stored as a SHA-256 hash."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    role: Role = Field(sa_type=String(20))
    key_hash: str = Field(index=True, unique=True, max_length=64)
    prefix: str = Field(max_length=16)  # the key's first characters, to tell keys apart in lists
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class AuditEntry(SQLModel, table=True):
    """One change: who made it, when, to what, and the fields' old and new values."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=200)  # "organiser:alice", "key:3 平台名", "firm:NL-…", "cli"
    action: str = Field(max_length=50)  # create, update, status, import, review, event.plan, key.create…
    kind: str = Field(max_length=30)  # opportunity, capability, pair, event, api_key, account
    target: str = Field(default="", max_length=200)  # the list id, event id or key id
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Change(SQLModel, table=True):
    """An entry whose stored state (vectors included) changed, for other processes to follow."""

    __tablename__ = "change_log"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    entry_id: int
    at: datetime = Field(default_factory=utcnow, index=True)
