"""What an organiser does with a matchmaking event (供需对接活动), as service functions: create
it from a checked form, plan a draft, adjust it (swap in a standby, lock, availability), publish
it, hand a no-show's meeting to a standby, record outcomes, and the data its pages show.

Nothing here knows HTTP. A refusal the organiser should read is an ``EventError`` with a
Chinese message (``field`` names the form field it belongs beside, if any).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, func, or_, select

from matching.engine import CAPABILITY, OPPORTUNITY
from matching.scheduling import ReplacementError, Schedule, check_schedule, replace_supplier
from service import audit, events
from service.context import Context
from service.events import Plan
from service.ids import row_id
from service.matches import reasons as match_reasons
from service.models import (
    Capability,
    Event,
    EventOpportunity,
    EventStatus,
    EventSupplier,
    Meeting,
    MeetingStatus,
    Opportunity,
    Outcome,
    Standby,
    Status,
    utcnow,
)

ACTIVE = (MeetingStatus.planned.value, MeetingStatus.held.value)  # meetings that hold a slot
SYSTEM = "system"  # the actor when a caller names none (scripts, tests)
UNMET_MARK = "【未满足】"  # how a plan's unmet list is kept in Event.problems (see plan_event)
MAX_NOTE = 1000
LIMITS = {
    "meeting_minutes": (5, 240),
    "break_minutes": (0, 120),
    "slots": (1, 48),
    "tables": (1, 500),
    "per_opportunity": (1, 20),
    "max_per_supplier": (1, 48),
}
DEFAULTS = {
    "name": "",
    "date": "",
    "venue": "",
    "start_time": "09:00",
    "meeting_minutes": "20",
    "break_minutes": "5",
    "slots": "8",
    "tables": "20",
    "per_opportunity": "3",
    "max_per_supplier": "4",
    "min_score": "",
    "fair": "",
    "mode": "filter",
    "field": "",
    "district": "",
}


class EventError(ValueError):
    """A refusal fit to show the organiser; ``field`` is the form field it concerns;
    ``bad_input`` when the request itself is wrong rather than the event's state."""

    def __init__(self, message: str, field: str | None = None, bad_input: bool = False):
        super().__init__(message)
        self.message, self.field, self.bad_input = message, field, bad_input


class NotFound(EventError):
    def __init__(self, message: str = "找不到这个页面或条目。"):
        super().__init__(message, bad_input=True)


def status_of(value: Any) -> str:
    return value.value if hasattr(value, "value") else str(value)


def is_draft(event: Event) -> bool:
    return status_of(event.status) == EventStatus.draft.value


# -- creating ---------------------------------------------------------------------------------
def _int(values: Mapping[str, str], key: str, errors: dict[str, str]) -> int | None:
    low, high = LIMITS[key]
    raw = (values.get(key) or "").strip()
    try:
        number = int(raw)
    except ValueError:
        errors[key] = f"请填写 {low}–{high} 之间的整数" if raw else "必填"
        return None
    if not low <= number <= high:
        errors[key] = f"应在 {low}–{high} 之间"
        return None
    return number


def _text(values: Mapping[str, str], key: str, limit: int) -> str:
    return " ".join((values.get(key) or "").split())[:limit]


def _check_rules(values: Mapping[str, str], errors: dict[str, str]) -> dict[str, Any]:
    clean: dict[str, Any] = {
        "name": _text(values, "name", 200),
        "venue": _text(values, "venue", 200) or None,
    }
    if not clean["name"]:
        errors["name"] = "请填写活动名称"
    clean["date"] = _text(values, "date", 20) or None
    if clean["date"]:
        try:
            clean["date"] = date.fromisoformat(clean["date"]).isoformat()
        except ValueError:
            errors["date"] = "日期格式应为 年-月-日，如 2026-05-20"
    start = _text(values, "start_time", 10) or "09:00"
    try:
        clean["start_time"] = datetime.strptime(start, "%H:%M").strftime("%H:%M")
    except ValueError:
        errors["start_time"] = "开始时间格式应为 时:分，如 09:00"
    for key in LIMITS:
        clean[key] = _int(values, key, errors)
    raw = _text(values, "min_score", 20)
    clean["min_score"] = None
    if raw:
        try:
            clean["min_score"] = float(raw)
        except ValueError:
            pass
        if clean["min_score"] is None or not math.isfinite(clean["min_score"]):
            clean["min_score"] = None
            errors["min_score"] = "请填写数字（如 0.8），或留空表示不设最低分"
    clean["fair"] = values.get("fair") in ("on", "1", "true")
    _check_fit(clean, errors)
    return clean


def _check_fit(clean: dict[str, Any], errors: dict[str, str]) -> None:
    """Rules that only make sense together: the day and the slots a participant can fill."""
    slots = clean.get("slots")
    if slots is None:
        return
    for key, who in (
        ("per_opportunity", "每个场景的对接数"),
        ("max_per_supplier", "每个能力的对接上限"),
    ):
        if clean.get(key) is not None and clean[key] > slots and key not in errors:
            errors[key] = f"{who}不能超过时段数 {slots}（每人每个时段只能参加一场）"
    if (
        "start_time" in clean
        and clean.get("meeting_minutes")
        and clean.get("break_minutes") is not None
    ):
        start = datetime.strptime(clean["start_time"], "%H:%M")
        end = (
            start.hour * 60
            + start.minute
            + slots * clean["meeting_minutes"]
            + (slots - 1) * clean["break_minutes"]
        )
        if end > 24 * 60:
            errors["slots"] = "按这些时长，活动会超过午夜；请减少时段数或缩短时长"


def published_opportunities(session: Session, *, field: str = "", district: str = "", q: str = ""):
    """A select of the published opportunities, filtered, in list-id order."""
    statement = select(Opportunity).where(Opportunity.status == Status.published)
    if field:
        statement = statement.where(Opportunity.field == field)
    if district:
        statement = statement.where(Opportunity.district == district)
    if q:
        statement = statement.where(
            or_(*(col(column).icontains(q, autoescape=True)
                  for column in (Opportunity.ext_id, Opportunity.title, Opportunity.organization)))
        )
    return statement.order_by(Opportunity.ext_id)


def count(session: Session, statement) -> int:
    return session.exec(select(func.count()).select_from(statement.subquery())).one()


def _check_participants(
    session: Session, values: Mapping[str, str], picked: Iterable[str], errors: dict[str, str]
) -> list[int]:
    if values.get("mode") == "hand":
        wanted = list(dict.fromkeys(p.strip() for p in picked if p.strip()))
        if not wanted:
            errors["pick"] = "请至少勾选一个场景机会"
            return []
        statement = published_opportunities(session).where(col(Opportunity.ext_id).in_(wanted))
        found = {o.ext_id: o.id for o in session.exec(statement).all()}
        missing = [w for w in wanted if w not in found]
        if missing:
            errors["pick"] = f"这些场景机会不存在或未发布：{'、'.join(missing[:10])}"
        return [found[w] for w in wanted if w in found]
    chosen = session.exec(
        published_opportunities(
            session, field=values.get("field", ""), district=values.get("district", "")
        )
    ).all()
    if not chosen:
        errors["field"] = "没有符合这些条件的已发布场景机会"
    return [o.id for o in chosen]


def check_event(
    *, session: Session, values: Mapping[str, str], picked: Iterable[str]
) -> tuple[dict[str, Any], list[int], dict[str, str]]:
    """The event's clean values, the opportunities taking part, and errors by form field."""
    errors: dict[str, str] = {}
    clean = _check_rules(values, errors)
    return clean, _check_participants(session, values, picked, errors), errors


def create_event(
    *, session: Session, clean: dict[str, Any], opportunity_ids: list[int], actor: str = SYSTEM
) -> Event:
    rules = {k: v for k, v in clean.items() if k != "name"}
    event = events.create(session, name=clean["name"], opportunity_ids=opportunity_ids, **rules)
    _audit(session, actor, "event.create", event, {**audit.snapshot(event, list(clean)),
                                                   "opportunities": len(opportunity_ids)})
    session.commit()
    return event


def _audit(session: Session, actor: str, action: str, event: Event, changes: dict[str, Any]) -> None:
    """Note an event change in the audit log; the caller's commit stores it with the change."""
    audit.record(session, actor=actor, action=action, kind="event", target=str(event.id),
                 changes=changes, commit=False)


def _meeting_count(session: Session, event: Event) -> int:
    return session.exec(
        select(func.count()).select_from(Meeting).where(Meeting.event_id == event.id)
    ).one()


# -- planning ---------------------------------------------------------------------------------
@dataclass
class PlanRun:
    plan: Plan
    seconds: float

    @property
    def placed(self) -> int:
        return sum(1 for m in self.plan.meetings if m["slot"] is not None)


def plan_event(
    *, context: Context, session: Session, event: Event, actor: str = SYSTEM
) -> PlanRun:
    """Solve and store a draft. The plan's unmet list is kept in ``Event.problems`` (marked
    ``UNMET_MARK``) so the event page and the exports can show it later."""
    if not is_draft(event):
        raise EventError("活动已发布，不能再重新生成；缺席或退出请用「替补」。")
    before = _meeting_count(session, event)
    started = time.perf_counter()
    plan = events.plan(context, session, event)
    seconds = time.perf_counter() - started
    event.problems = list(plan.problems) + [
        f"{UNMET_MARK}{u['opportunity']}：{u['reason']}" for u in plan.unmet
    ]
    session.add(event)
    _audit(session, actor, "event.plan", event, {
        "meetings": [before, len(plan.meetings)],
        "placed": sum(1 for m in plan.meetings if m["slot"] is not None),
        "unmet": len({u["opportunity"] for u in plan.unmet}),
    })
    session.commit()
    return PlanRun(plan, seconds)


def split_problems(event: Event) -> tuple[list[dict[str, str]], list[str]]:
    """(unmet, problems) of the last plan."""
    unmet, problems = [], []
    for text in event.problems or []:
        if text.startswith(UNMET_MARK):
            ext_id, _, reason = text[len(UNMET_MARK) :].partition("：")
            unmet.append({"opportunity": ext_id, "reason": reason})
        else:
            problems.append(text)
    return unmet, problems


def load(*, session: Session, event: Event) -> Plan:
    """The stored plan with its unmet list; in each (slot, table) an active meeting comes after
    the withdrawn one it replaced, so the workbook's grid shows who is really there."""
    unmet, problems = split_problems(event)
    plan = events.load_plan(session, event, unmet=unmet)
    plan.problems = problems
    plan.meetings.sort(
        key=lambda m: (m["slot"] is None, m["slot"] or 0, m["table"] or 0, m["status"] in ACTIVE)
    )
    return plan


def get_event(session: Session, raw_id: str | int) -> Event:
    number = row_id(raw_id)
    event = session.get(Event, number) if number is not None else None
    if event is None:
        raise NotFound()
    return event


def get_meeting(session: Session, event: Event, raw_id: str | int) -> Meeting:
    number = row_id(raw_id)
    meeting = session.get(Meeting, number) if number is not None else None
    if meeting is None or meeting.event_id != event.id:
        raise NotFound("这个活动里没有这场对接。")
    return meeting


# -- adjusting a draft ----------------------------------------------------------------------
def _need_draft(event: Event) -> None:
    if not is_draft(event):
        raise EventError("活动已发布，草稿不能再调整；缺席或退出请用「替补」。")


def _standby(
    session: Session, event: Event, meeting: Meeting, capability: str
) -> tuple[Standby, Capability]:
    cap = session.exec(select(Capability).where(Capability.ext_id == capability.strip())).first()
    row = cap and session.get(Standby, (event.id, meeting.opportunity_id, cap.id))
    if not cap or not row:
        raise EventError(
            "请从该场景的候补名单中选择替换的能力。", field="capability", bad_input=True
        )
    return row, cap


def unavailable_slots(session: Session, event: Event, table: type) -> dict[int, list[int]]:
    key = (
        EventOpportunity.opportunity_id
        if table is EventOpportunity
        else EventSupplier.capability_id
    )
    return {
        getattr(r, key.key): list(r.unavailable)
        for r in session.exec(select(table).where(table.event_id == event.id)).all()
        if r.unavailable
    }


def swap(
    *,
    context: Context,
    session: Session,
    event: Event,
    meeting_id: str | int,
    capability: str,
    actor: str = SYSTEM,
) -> PlanRun:
    """In a draft: the meeting goes to a standby supplier and is locked (in its slot when the
    standby is free then), the scenario's other meetings are locked too so the supplier taken
    out does not come back, and the event is planned again around the locks."""
    _need_draft(event)
    meeting = get_meeting(session, event, meeting_id)
    standby, cap = _standby(session, event, meeting, capability)
    locks = session.exec(
        select(Meeting).where(
            Meeting.event_id == event.id, Meeting.locked, Meeting.capability_id == cap.id
        )
    ).all()
    if len(locks) >= event.max_per_supplier:
        raise EventError(
            f"能力 {cap.ext_id}「{cap.title}」已锁定 {len(locks)} 场对接，达到对接上限。",
            field="capability",
        )
    busy = {m.slot for m in locks} | set(
        unavailable_slots(session, event, EventSupplier).get(cap.id, [])
    )
    _audit(session, actor, "event.swap", event, {
        "meeting": meeting.id,
        "capability": [_cap_ext(session, meeting.capability_id), cap.ext_id],
    })
    meeting.slot = meeting.slot if meeting.slot not in busy else None
    meeting.capability_id, meeting.score, meeting.locked = cap.id, standby.score, True
    for other in session.exec(
        select(Meeting).where(
            Meeting.event_id == event.id, Meeting.opportunity_id == meeting.opportunity_id
        )
    ).all():
        other.locked = True
        session.add(other)
    session.delete(standby)
    session.commit()
    return plan_event(context=context, session=session, event=event, actor=actor)


def _cap_ext(session: Session, capability_id: int) -> str | None:
    cap = session.get(Capability, capability_id)
    return cap.ext_id if cap else None


def set_lock(
    *, session: Session, event: Event, meeting_id: str | int, locked: bool, actor: str = SYSTEM
) -> Meeting:
    """A locked meeting keeps its pair and its slot when the draft is planned again."""
    _need_draft(event)
    meeting = get_meeting(session, event, meeting_id)
    if meeting.locked != locked:
        _audit(session, actor, "event.lock", event,
               {"meeting": meeting.id, "locked": [meeting.locked, locked]})
    meeting.locked = locked
    session.add(meeting)
    session.commit()
    return meeting


def set_unavailable(
    *,
    session: Session,
    event: Event,
    kind: str,
    ext_id: str,
    slots: Iterable[str],
    actor: str = SYSTEM,
) -> list[int]:
    """Store the slots (1-based in the form, 0-based stored) a participant cannot attend."""
    _need_draft(event)
    chosen: set[int] = set()
    for raw in slots:
        try:
            slot = int(raw) - 1
        except ValueError:
            slot = -1
        if not 0 <= slot < event.slots:
            raise EventError(f"时段应在 1–{event.slots} 之间。", field="slot", bad_input=True)
        chosen.add(slot)
    row = _participant(session, event, kind, ext_id)
    if sorted(chosen) != sorted(row.unavailable or []):
        _audit(session, actor, "event.availability", event, {  # slots counted from 1, as shown
            "kind": kind, "entry": ext_id,
            "unavailable": [[s + 1 for s in sorted(row.unavailable or [])], [s + 1 for s in sorted(chosen)]],
        })
    row.unavailable = sorted(chosen)
    session.add(row)
    session.commit()
    return row.unavailable


def _participant(
    session: Session, event: Event, kind: str, ext_id: str
) -> EventOpportunity | EventSupplier:
    """The row keeping a participant's availability (a supplier's is made on first use)."""
    if kind == OPPORTUNITY:
        opp = session.exec(select(Opportunity).where(Opportunity.ext_id == ext_id)).first()
        row = opp and session.get(EventOpportunity, (event.id, opp.id))
        if row:
            return row
        raise NotFound("这个场景没有参加本活动。")
    cap = session.exec(select(Capability).where(Capability.ext_id == ext_id)).first()
    if kind != CAPABILITY or cap is None:
        raise NotFound("找不到这个能力。")
    found = session.get(EventSupplier, (event.id, cap.id))
    return found or EventSupplier(event_id=event.id, capability_id=cap.id)


# -- publishing, standby after publishing, outcomes ---------------------------------------------
def publish(*, session: Session, event: Event, actor: str = SYSTEM) -> Event:
    _need_draft(event)
    placed = session.exec(
        select(func.count())
        .select_from(Meeting)
        .where(Meeting.event_id == event.id, col(Meeting.slot).is_not(None))
    ).one()
    if not placed:
        raise EventError("草稿里还没有排入日程的对接，请先生成草稿。")
    _audit(session, actor, "event.publish", event,
           {"status": [status_of(event.status), EventStatus.published.value]})
    event.status = EventStatus.published
    event.updated_at = utcnow()
    session.add(event)
    session.commit()
    return event


def active_schedule(session: Session, event: Event) -> Schedule:
    """The stored placements that hold a slot, in database ids (any ints do for the checks)."""
    placements = [
        (m.opportunity_id, m.capability_id, m.slot, m.table_no)
        for m in session.exec(
            select(Meeting).where(
                Meeting.event_id == event.id,
                col(Meeting.status).in_(ACTIVE),
                col(Meeting.slot).is_not(None),
            )
        ).all()
    ]
    return Schedule(sorted(placements, key=lambda p: (p[2], p[3])), 0, [], [])


def replace(
    *,
    session: Session,
    event: Event,
    meeting_id: str | int,
    capability: str,
    reason: str = MeetingStatus.withdrawn.value,
    actor: str = SYSTEM,
) -> Meeting:
    """After publishing: a standby takes the meeting's slot and table, nobody else moves; the
    old meeting is kept, marked withdrawn or no-show. Returns the new meeting."""
    if is_draft(event):
        raise EventError("草稿阶段请用「换人」调整；替补用于发布之后。")
    if reason not in (MeetingStatus.withdrawn.value, MeetingStatus.no_show.value):
        raise EventError("请选择原对接的情况：退出或未到场。", field="reason", bad_input=True)
    meeting = get_meeting(session, event, meeting_id)
    schedule = _replaceable(session, event, meeting)
    standby, cap = _standby(session, event, meeting, capability)
    try:
        replace_supplier(
            schedule,
            meeting.opportunity_id,
            meeting.capability_id,
            cap.id,
            unavailable_supplier=unavailable_slots(session, event, EventSupplier),
            capacity=event.max_per_supplier,
        )
    except ReplacementError as error:
        raise EventError(name_ids(session, str(error)), field="capability") from None
    new = Meeting(
        event_id=event.id,
        opportunity_id=meeting.opportunity_id,
        capability_id=cap.id,
        score=standby.score,
        slot=meeting.slot,
        table_no=meeting.table_no,
    )
    old_status = status_of(meeting.status)
    if old_status == MeetingStatus.planned.value:  # a recorded no-show stays one
        meeting.status = MeetingStatus(reason)
    session.add_all([meeting, new])
    session.delete(standby)
    session.flush()
    _audit(session, actor, "event.replace", event, {
        "meeting": meeting.id, "new_meeting": new.id,
        "capability": [_cap_ext(session, meeting.capability_id), cap.ext_id],
        "status": [old_status, status_of(meeting.status)],
    })
    session.commit()
    session.refresh(new)
    return new


def _replaceable(session: Session, event: Event, meeting: Meeting) -> Schedule:
    """The schedule a standby joins: a planned meeting, or a recorded no-show whose slot
    nobody has taken yet, with that meeting in it."""
    status = status_of(meeting.status)
    if meeting.slot is None or status not in (
        MeetingStatus.planned.value,
        MeetingStatus.no_show.value,
    ):
        raise EventError("只有已排入日程、尚未对接的对接可以替补。")
    schedule = active_schedule(session, event)
    if status == MeetingStatus.no_show.value:
        if any((s, t) == (meeting.slot, meeting.table_no) for _, _, s, t in schedule.placements):
            raise EventError("这个时段这张桌已由候补接替。")
        schedule.placements.append(
            (meeting.opportunity_id, meeting.capability_id, meeting.slot, meeting.table_no)
        )
    return schedule


def name_ids(session: Session, message: str) -> str:
    """The scheduler's 需求方 i / 能力 j / 时段 s (database ids, 0-based slots) in the lists' words."""

    def opp(m: re.Match) -> str:
        o = session.get(Opportunity, int(m.group(1)))
        return f"场景 {o.ext_id}「{o.title}」" if o else m.group(0)

    def cap(m: re.Match) -> str:
        c = session.get(Capability, int(m.group(1)))
        return f"能力 {c.ext_id}「{c.title}」" if c else m.group(0)

    def pair(m: re.Match) -> str:
        o, c = session.get(Opportunity, int(m.group(1))), session.get(Capability, int(m.group(2)))
        return f"（{o.ext_id} ↔ {c.ext_id}）" if o and c else m.group(0)

    message = re.sub(r"\s*\((\d+), (\d+)\)", pair, message)
    message = re.sub(r"需求方 (\d+)", opp, message)
    message = re.sub(r"能力 (\d+)", cap, message)
    message = re.sub(r"时段 (\d+)", lambda m: f"第 {int(m.group(1)) + 1} 时段", message)
    return re.sub(
        r"(?<=[\u4e00-\u9fff」）])\s+(?=[\u4e00-\u9fff（])", "", message
    )  # 「…」 在 → 「…」在


def record_outcome(
    *,
    session: Session,
    event: Event,
    meeting_id: str | int,
    status: str,
    outcome: str,
    note: str,
    actor: str = SYSTEM,
) -> tuple[Meeting | None, dict[str, str]]:
    """Held / no-show and the outcome (意向, 签约) of one meeting; (meeting, errors)."""
    if is_draft(event):
        raise EventError("活动发布后才能记录对接结果。")
    meeting = get_meeting(session, event, meeting_id)
    errors: dict[str, str] = {}
    if status_of(meeting.status) == MeetingStatus.withdrawn.value:
        raise EventError("这场对接已由候补替换，不能再记录结果。")
    if status not in (
        MeetingStatus.planned.value,
        MeetingStatus.held.value,
        MeetingStatus.no_show.value,
    ):
        errors["status"] = "请选择对接情况"
    if outcome not in ("", Outcome.intent.value, Outcome.signed.value):
        errors["outcome"] = "请选择对接成果"
    elif outcome and status != MeetingStatus.held.value:
        errors["outcome"] = "只有已对接的会谈才能记录意向或签约"
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        errors["note"] = f"备注最多 {MAX_NOTE} 字（现有 {len(note)} 字）"
    if errors:
        return None, errors
    fields = ["status", "outcome", "note"]
    before = audit.snapshot(meeting, fields)
    meeting.status, meeting.outcome, meeting.note = (
        MeetingStatus(status),
        Outcome(outcome) if outcome else None,
        note or None,
    )
    changed = audit.diff(before, audit.snapshot(meeting, fields))
    if changed:
        _audit(session, actor, "event.outcome", event, {"meeting": meeting.id, **changed})
    session.add(meeting)
    session.commit()
    return meeting, {}


@dataclass
class OutcomeCounts:
    """An event's meetings by what happened; ``meetings`` counts those not withdrawn."""

    meetings: int = 0
    planned: int = 0
    held: int = 0
    no_show: int = 0
    withdrawn: int = 0
    intents: int = 0
    signed: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def outcomes(session: Session, event_id: int) -> OutcomeCounts:
    counts = OutcomeCounts()
    rows = session.exec(
        select(Meeting.status, Meeting.outcome, func.count())
        .where(Meeting.event_id == event_id)
        .group_by(Meeting.status, Meeting.outcome)
    ).all()
    for status, outcome, n in rows:
        status = status_of(status)
        setattr(counts, status, getattr(counts, status) + n)
        if status != MeetingStatus.withdrawn.value:
            counts.meetings += n
        if outcome and status_of(outcome) == Outcome.intent.value:
            counts.intents += n
        elif outcome and status_of(outcome) == Outcome.signed.value:
            counts.signed += n
    return counts


# -- what the pages show ----------------------------------------------------------------------
@dataclass
class ScenarioRow:
    opportunity: Opportunity
    table: int | None
    unavailable: list[int]
    meetings: list[Meeting]
    standby: list[tuple[Standby, Capability]]
    unmet: list[str]


@dataclass
class Board:
    """An event as its page shows it: the grid (table → slot → meeting) and per scenario its
    meetings, standby and shortfalls."""

    event: Event
    scenarios: list[ScenarioRow]
    capabilities: dict[int, Capability]
    grid: dict[int, dict[int, Meeting]]
    owners: dict[int, Opportunity]
    unmet: list[dict[str, str]]
    problems: list[str]
    clashes: list[str]
    counts: OutcomeCounts
    total_score: float
    placed: int
    unplaced: int
    supplier_unavailable: dict[int, list[int]] = field(default_factory=dict)

    @property
    def slots_used(self) -> int:
        return 1 + max((s for row in self.grid.values() for s in row), default=-1)


def board(*, session: Session, event: Event) -> Board:
    links = session.exec(
        select(EventOpportunity).where(EventOpportunity.event_id == event.id)
    ).all()
    opps = {
        o.id: o
        for o in session.exec(
            select(Opportunity).where(
                col(Opportunity.id).in_([link.opportunity_id for link in links])
            )
        ).all()
    }
    meetings = session.exec(
        select(Meeting).where(Meeting.event_id == event.id).order_by(Meeting.id)
    ).all()
    standby = session.exec(
        select(Standby).where(Standby.event_id == event.id).order_by(Standby.rank)
    ).all()
    cap_ids = {m.capability_id for m in meetings} | {s.capability_id for s in standby}
    caps = {
        c.id: c
        for c in session.exec(select(Capability).where(col(Capability.id).in_(cap_ids))).all()
    }
    unmet, problems = split_problems(event)
    short: dict[str, list[str]] = {}
    for item in unmet:
        short.setdefault(item["opportunity"], []).append(item["reason"])
    rows = []
    for link in links:
        if link.opportunity_id not in opps:
            continue
        opp = opps[link.opportunity_id]
        mine = sorted(
            (m for m in meetings if m.opportunity_id == opp.id),
            key=lambda m: (m.slot is None, m.slot or 0, status_of(m.status) in ACTIVE),
        )
        spare = [
            (s, caps[s.capability_id])
            for s in standby
            if s.opportunity_id == opp.id and s.capability_id in caps
        ]
        rows.append(
            ScenarioRow(
                opp, link.table_no, list(link.unavailable), mine, spare, short.get(opp.ext_id, [])
            )
        )
    rows.sort(key=lambda r: (r.table is None, r.table or 0, r.opportunity.ext_id))
    grid: dict[int, dict[int, Meeting]] = {}
    for m in meetings:
        if m.slot is not None and m.table_no is not None and status_of(m.status) in ACTIVE:
            grid.setdefault(m.table_no, {})[m.slot] = m
    owners = {r.table: r.opportunity for r in rows if r.table is not None}
    active = [
        m
        for m in meetings
        if status_of(m.status) in ACTIVE or status_of(m.status) == MeetingStatus.no_show.value
    ]
    supplier_unavailable = unavailable_slots(session, event, EventSupplier)
    return Board(
        event,
        rows,
        caps,
        dict(sorted(grid.items())),
        owners,
        unmet,
        problems,
        clashes(session=session, event=event),
        outcomes(session, event.id),
        sum(m.score for m in active),
        sum(1 for m in active if m.slot is not None),
        sum(1 for m in active if m.slot is None),
        supplier_unavailable,
    )


def clashes(*, session: Session, event: Event) -> list[str]:
    """What is wrong with the stored schedule now (e.g. availability changed since planning)."""
    found = check_schedule(
        active_schedule(session, event),
        n_slots=event.slots,
        n_tables=event.tables,
        unavailable_scenario=unavailable_slots(session, event, EventOpportunity),
        unavailable_supplier=unavailable_slots(session, event, EventSupplier),
    )
    return [name_ids(session, c) for c in found]


def pair_reasons(
    context: Context, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], list[str]]:
    """Why each (opportunity, capability) pair fits, by list ids; one scoring call per opportunity."""
    service = context.matches
    wanted: dict[str, list[str]] = {}
    for opp, cap in pairs:
        wanted.setdefault(opp, []).append(cap)
    out: dict[tuple[str, str], list[str]] = {}
    with service.lock:
        for opp, caps in wanted.items():
            opp_id = service.by_ext[OPPORTUNITY].get(opp)
            cap_ids = [
                service.by_ext[CAPABILITY][c]
                for c in dict.fromkeys(caps)
                if c in service.by_ext[CAPABILITY]
            ]
            if opp_id is None or not cap_ids:
                continue
            o_row = service.rows[OPPORTUNITY][opp_id]
            for match in service.matcher.pairs(opp_id, cap_ids):
                c_row = service.rows[CAPABILITY][match.capability]
                out[(opp, c_row.ext_id)] = match_reasons(
                    match, o_row.field, o_row.lang != c_row.lang
                )
    return out


def list_events(session: Session, *, offset: int, limit: int) -> list[tuple[Event, int, int]]:
    """(event, scenarios taking part, meetings not withdrawn), newest first."""
    rows = session.exec(
        select(Event).order_by(col(Event.id).desc()).offset(offset).limit(limit)
    ).all()
    out = []
    for event in rows:
        scenarios = session.exec(
            select(func.count())
            .select_from(EventOpportunity)
            .where(EventOpportunity.event_id == event.id)
        ).one()
        out.append((event, scenarios, outcomes(session, event.id).meetings))
    return out


def supplier_rows(
    session: Session, event: Event
) -> list[tuple[Capability, list[Meeting], list[int]]]:
    """Every supplier with a meeting or a standby place in the event: its meetings and the
    slots it cannot attend, in list-id order."""
    meetings = session.exec(select(Meeting).where(Meeting.event_id == event.id)).all()
    ids = {m.capability_id for m in meetings} | set(
        session.exec(select(Standby.capability_id).where(Standby.event_id == event.id)).all()
    )
    unavailable = unavailable_slots(session, event, EventSupplier)
    caps = session.exec(
        select(Capability).where(col(Capability.id).in_(ids)).order_by(Capability.ext_id)
    ).all()
    return [
        (
            c,
            sorted(
                (m for m in meetings if m.capability_id == c.id),
                key=lambda m: (m.slot is None, m.slot or 0),
            ),
            unavailable.get(c.id, []),
        )
        for c in caps
    ]
