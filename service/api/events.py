"""/api/v1/events: matchmaking events (供需对接活动). Organisers create, plan, publish; organisers
and integrators read the events, their plans and the exports. The work is done in
service.event_ops, as for the pages; every change is audited under the key's name."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field
from sqlmodel import Session, col, func, select

from service import event_export, event_ops
from service.api.errors import ApiError
from service.api.responses import READ, WRITE, errors
from service.deps import ContextDep
from service.event_ops import LIMITS, EventError, NotFound
from service.models import Event, EventOpportunity, Opportunity
from service.principals import OrganiserDep, ReaderDep
from service.web import SessionDep

router = APIRouter(prefix="/api/v1", tags=["events"])

MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL
EventId = Annotated[int, Path(ge=1, le=MAX_ID, description="The event's id.")]


def _limit(key: str) -> Any:
    low, high = LIMITS[key]
    return Field(default=int(event_ops.DEFAULTS[key]), ge=low, le=high)


class EventCreate(BaseModel):
    """An event's rules, checked as the create form checks them. Scenarios: the opportunities
    listed in ``opportunities`` (published, by list id), or else every published one in
    ``field`` and ``district`` (both optional)."""

    name: str = Field(min_length=1, max_length=200, examples=["低空经济专场"])
    date: str | None = Field(None, max_length=20, description="YYYY-MM-DD", examples=["2026-05-20"])
    venue: str | None = Field(None, max_length=200)
    start_time: str = Field("09:00", max_length=10, description="HH:MM")
    meeting_minutes: int = _limit("meeting_minutes")
    break_minutes: int = _limit("break_minutes")
    slots: int = _limit("slots")
    tables: int = _limit("tables")
    per_opportunity: int = _limit("per_opportunity")
    max_per_supplier: int = _limit("max_per_supplier")
    min_score: float | None = Field(None, description="Pairs scoring below are never met.")
    fair: bool = Field(False, description="Raise the worst-served scenario's share first.")
    opportunities: list[Annotated[str, Field(max_length=100)]] | None = Field(
        None, max_length=2000, description="Hand-picked opportunity list ids.")
    field: str | None = Field(None, max_length=100, description="Take every published opportunity of this field.")
    district: str | None = Field(None, max_length=100)


class EventPublic(BaseModel):
    id: int
    name: str
    date: str | None
    venue: str | None
    start_time: str
    meeting_minutes: int
    break_minutes: int
    slots: int
    tables: int
    per_opportunity: int
    max_per_supplier: int
    min_score: float | None
    fair: bool
    status: str = Field(description="draft or published")
    opportunities: list[str] = Field(description="List ids of the scenarios taking part.")
    counts: dict[str, int] = Field(description="Meetings by status and outcome (meetings: not withdrawn).")
    created_at: datetime
    updated_at: datetime


class EventPage(BaseModel):
    items: list[EventPublic]
    total: int
    offset: int
    limit: int


class PlanMeeting(BaseModel):
    id: int
    opportunity: str
    capability: str
    score: float
    slot: int | None = Field(description="From 0; null when not placed in the agenda.")
    table: int | None = Field(description="From 0.")
    time: str | None = Field(description="「09:00–09:20」")
    locked: bool
    status: str


class PlanSummary(BaseModel):
    id: int
    name: str
    status: str
    slots: int
    tables: int
    per_opportunity: int
    max_per_supplier: int
    min_score: float | None
    fair: bool
    total_score: float
    greedy_total_score: float | None = Field(description="Top-k per scenario, for comparison; "
                                                         "only in the answer to planning.")
    slots_used: int


class Unmet(BaseModel):
    opportunity: str
    reason: str


class PlanPublic(BaseModel):
    event: PlanSummary
    meetings: list[PlanMeeting]
    standby: dict[str, list[str]] = Field(description="Per scenario, ranked standby capabilities.")
    unmet: list[Unmet]
    problems: list[str]


def _refusal(error: EventError) -> ApiError:
    if isinstance(error, NotFound):
        return ApiError(404, error.message)
    return ApiError(422 if error.bad_input else 409, error.message, field=error.field)


def _event(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise ApiError(404, f"no event with id {event_id}", field="event_id")
    return event


def _public(session: Session, event: Event) -> EventPublic:
    scenarios = session.exec(
        select(Opportunity.ext_id)
        .join(EventOpportunity, col(EventOpportunity.opportunity_id) == Opportunity.id)
        .where(EventOpportunity.event_id == event.id)
        .order_by(Opportunity.ext_id)
    ).all()
    values = event.model_dump(exclude={"problems", "status"})
    return EventPublic(**values, status=event_ops.status_of(event.status), opportunities=list(scenarios),
                       counts=event_ops.outcomes(session, event.id).as_dict())


def _plan(session: Session, plan: event_ops.Plan) -> PlanPublic:
    data = plan.as_json()
    for meeting in data["meetings"]:
        slot = meeting["slot"]
        meeting["time"] = None if slot is None else event_export.slot_time(plan.event, slot)
    return PlanPublic(**data, problems=plan.problems)


def _form_values(body: EventCreate) -> tuple[dict[str, str], list[str]]:
    """The body as the create form would post it, so both are checked by the same rules."""
    values = {key: "" if value is None else str(value)
              for key, value in body.model_dump(exclude={"opportunities", "fair"}).items()}
    values["fair"] = "1" if body.fair else ""
    values["mode"] = "hand" if body.opportunities is not None else "filter"
    return values, body.opportunities or []


@router.post("/events", status_code=201, response_model=EventPublic, responses=errors(*WRITE))
def create_event(body: EventCreate, session: SessionDep, principal: OrganiserDep) -> EventPublic:
    """Create an event with its scenarios (a draft, not yet planned)."""
    values, picked = _form_values(body)
    clean, opportunity_ids, problems = event_ops.check_event(session=session, values=values, picked=picked)
    if problems:
        field, message = next(iter(problems.items()))
        field = {"pick": "opportunities"}.get(field, field)
        raise ApiError(422, f"{field}: {message}", field=field)
    event = event_ops.create_event(session=session, clean=clean, opportunity_ids=opportunity_ids,
                                   actor=principal.actor)
    return _public(session, event)


@router.get("/events", response_model=EventPage, responses=errors(*READ, 422))
def list_events(session: SessionDep, principal: ReaderDep,
                offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
                limit: Annotated[int, Query(ge=1, le=100)] = 20) -> EventPage:
    """Every event, newest first."""
    total = session.exec(select(func.count()).select_from(Event)).one()
    rows = session.exec(select(Event).order_by(col(Event.id).desc()).offset(offset).limit(limit)).all()
    return EventPage(items=[_public(session, e) for e in rows], total=total, offset=offset, limit=limit)


@router.get("/events/{event_id}", response_model=EventPublic, responses=errors(*READ, 404, 422))
def get_event(event_id: EventId, session: SessionDep, principal: ReaderDep) -> EventPublic:
    return _public(session, _event(session, event_id))


@router.post("/events/{event_id}/plan", response_model=PlanPublic, responses=errors(*READ, 404, 409, 422))
def plan_event(event_id: EventId, context: ContextDep, session: SessionDep,
               principal: OrganiserDep) -> PlanPublic:
    """Plan the draft again (locked meetings and organiser marks bind it); 409 once published."""
    event = _event(session, event_id)
    try:
        run = event_ops.plan_event(context=context, session=session, event=event, actor=principal.actor)
    except EventError as error:
        raise _refusal(error) from None
    return _plan(session, run.plan)


@router.get("/events/{event_id}/plan", response_model=PlanPublic, responses=errors(*READ, 404, 422))
def get_plan(event_id: EventId, session: SessionDep, principal: ReaderDep) -> PlanPublic:
    """The stored plan: meetings with slot, time and table, standby lists, shortfalls."""
    event = _event(session, event_id)
    return _plan(session, event_ops.load(session=session, event=event))


@router.post("/events/{event_id}/publish", response_model=EventPublic, responses=errors(*READ, 404, 409, 422))
def publish_event(event_id: EventId, session: SessionDep, principal: OrganiserDep) -> EventPublic:
    """Publish the draft: it is not planned again; 409 without a placed meeting or when published."""
    event = _event(session, event_id)
    try:
        event_ops.publish(session=session, event=event, actor=principal.actor)
    except EventError as error:
        raise _refusal(error) from None
    return _public(session, event)


def _download(session: Session, event_id: int, suffix: str) -> Response:
    event = _event(session, event_id)
    plan = event_ops.load(session=session, event=event)
    body, media_type, disposition = event_export.download(session, plan, suffix)
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})


def _file(media_type: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
                  "description": "The file."}, **errors(*READ, 404, 422)}


@router.get("/events/{event_id}/export.xlsx", response_class=Response, responses=_file(event_export.XLSX))
def export_xlsx(event_id: EventId, session: SessionDep, principal: ReaderDep) -> Response:
    """The workbook: 对接名单, 日程表, 候补名单, 未满足与问题."""
    return _download(session, event_id, "xlsx")


@router.get("/events/{event_id}/export.csv", response_class=Response, responses=_file("text/csv"))
def export_csv(event_id: EventId, session: SessionDep, principal: ReaderDep) -> Response:
    """The pairing list as CSV (slots and tables from 1)."""
    return _download(session, event_id, "csv")
