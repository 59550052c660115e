"""Matchmaking events (供需对接活动) for signed-in organisers: create, plan a draft, adjust it,
publish, hand a no-show's meeting to a standby, record outcomes; exports, printed agendas
and the sign-in sheet. The work is done in service.event_ops; this module is the HTTP."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, func, select
from starlette.datastructures import FormData

from service import event_export, event_ops
from service.deps import ContextDep
from service.event_ops import EventError, NotFound
from service.models import Account, Event, MeetingStatus, Opportunity
from service.routes.pages import PER_PAGE, pager
from service.web import CsrfDep, OrganiserDep, SessionDep, render

router = APIRouter(include_in_schema=False)

EVENT_STATUS = {"draft": "草稿", "published": "已发布"}
MEETING_STATUS = event_export.MEETING_STATUS
OUTCOMES = {"intent": "意向", "signed": "签约"}


async def form_data(request: Request) -> FormData:
    return await request.form()  # already parsed for the CSRF check


FormDep = Annotated[FormData, Depends(form_data)]


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def _event(session, raw_id: str) -> Event:
    try:
        return event_ops.get_event(session, raw_id)
    except NotFound:
        raise HTTPException(status_code=404) from None


def _go(
    request: Request, target: str, message: str | None = None, error: str | None = None
) -> RedirectResponse:
    if message:
        request.session["flash"] = message
    if error:
        request.session["event_error"] = error
    return RedirectResponse(target, status_code=303)


def _messages(request: Request) -> dict[str, str | None]:
    return {
        "flash": request.session.pop("flash", None),
        "error": request.session.pop("event_error", None),
    }


def _base(event: Event) -> dict[str, Any]:
    return {
        "event": event,
        "slot_time": event_export.slot_time,
        "EVENT_STATUS": EVENT_STATUS,
        "MEETING_STATUS": MEETING_STATUS,
        "OUTCOMES": OUTCOMES,
        "draft": event_ops.is_draft(event),
        "status": event_ops.status_of(event.status),
    }


def _path(event: Event, rest: str = "") -> str:
    return f"/events/{event.id}{rest}"


def _actor(organiser: Account) -> str:
    return f"organiser:{organiser.username}"


# -- the list and creating ---------------------------------------------------------------------
@router.get("/events")
def event_list(
    request: Request, session: SessionDep, organiser: OrganiserDep, page: str | None = None
):
    total = session.exec(select(func.count()).select_from(Event)).one()
    pages = pager(page, total)
    rows = event_ops.list_events(session, offset=(pages.number - 1) * PER_PAGE, limit=PER_PAGE)
    return render(
        request,
        "events/list.html",
        {"rows": rows, "page": pages, "EVENT_STATUS": EVENT_STATUS, **_messages(request)},
        account=organiser,
    )


def _choices(session) -> dict[str, list[str]]:
    published = session.exec(event_ops.published_opportunities(session)).all()
    return {
        "fields": sorted({o.field for o in published if o.field}),
        "districts": sorted({o.district for o in published if o.district}),
    }


def _new_page(
    request: Request,
    session,
    organiser,
    values: dict[str, str],
    picked: list[str],
    errors: dict[str, str],
    status_code: int = 200,
):
    q = " ".join(values.get("q", "").split())[:100]
    statement = event_ops.published_opportunities(session, q=q)
    pages = pager(values.get("pick_page"), event_ops.count(session, statement))
    shown = session.exec(statement.offset((pages.number - 1) * PER_PAGE).limit(PER_PAGE)).all()
    matching = event_ops.count(
        session,
        event_ops.published_opportunities(
            session, field=values.get("field", ""), district=values.get("district", "")
        ),
    )
    shown_ids = {o.ext_id for o in shown}
    context = {
        "values": values,
        "errors": errors,
        "picked": picked,
        "shown": shown,
        "page": pages,
        "q": q,
        "carried": [p for p in picked if p not in shown_ids],
        "matching": matching,
        **_choices(session),
    }
    return render(request, "events/new.html", context, status_code=status_code, account=organiser)


@router.get("/events/new")
def new_event(request: Request, session: SessionDep, organiser: OrganiserDep):
    return _new_page(request, session, organiser, dict(event_ops.DEFAULTS), [], {})


@router.post("/events/new", dependencies=[CsrfDep])
def create_event(request: Request, session: SessionDep, organiser: OrganiserDep, form: FormDep):
    values = {
        **event_ops.DEFAULTS,
        "fair": "",
        **{k: v for k, v in form.items() if isinstance(v, str)},
    }
    picked = list(
        dict.fromkeys(p for p in form.getlist("pick") if isinstance(p, str) and p.strip())
    )
    if values.get("action") != "create" or "pick_page" in form:
        return _new_page(
            request, session, organiser, values, picked, {}
        )  # filtering or paging the picker
    clean, opportunity_ids, errors = event_ops.check_event(
        session=session, values=values, picked=picked
    )
    if errors:
        return _new_page(request, session, organiser, values, picked, errors, status_code=400)
    event = event_ops.create_event(
        session=session, clean=clean, opportunity_ids=opportunity_ids, actor=_actor(organiser)
    )
    return _go(
        request,
        _path(event),
        f"已创建活动「{event.name}」，{len(opportunity_ids)} 个场景参加。下一步：生成草稿。",
    )


# -- the event page ----------------------------------------------------------------------------
@router.get("/events/{event_id}")
def event_page(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    organiser: OrganiserDep,
    event_id: str,
    page: str | None = None,
):
    event = _event(session, event_id)
    view = event_ops.board(session=session, event=event)
    pages = pager(page, len(view.scenarios))
    rows = view.scenarios[(pages.number - 1) * PER_PAGE : pages.number * PER_PAGE]
    pairs = [
        (r.opportunity.ext_id, view.capabilities[m.capability_id].ext_id)
        for r in rows
        for m in r.meetings
    ]
    pairs += [(r.opportunity.ext_id, cap.ext_id) for r in rows for _, cap in r.standby]
    reasons = event_ops.pair_reasons(context, pairs) if context.matches_ready else {}
    values = {
        **_base(event),
        "view": view,
        "rows": rows,
        "page": pages,
        "page_of": {r.opportunity.ext_id: 1 + n // PER_PAGE for n, r in enumerate(view.scenarios)},
        "reasons": reasons,
        **_messages(request),
    }
    return render(request, "events/detail.html", values, account=organiser)


def _back(form: FormData) -> str:
    """Where on the page to return to: only a query or a fragment of the same page."""
    back = _text(form, "back")
    return back if back[:1] in ("?", "#") and "\n" not in back and "\r" not in back else ""


def _act(request: Request, target: str, work, done: str = ""):
    """Run one action; go back to ``target`` with its message, or its refusal."""
    try:
        message = work() or done
    except NotFound:
        raise HTTPException(status_code=404) from None
    except EventError as error:
        return _go(request, target, error=error.message)
    return _go(request, target, message)


def _plan_message(run: event_ops.PlanRun) -> str:
    plan, greedy = run.plan, run.plan.greedy_score
    unmet = len({u["opportunity"] for u in plan.unmet})
    gain = f"（高 {100 * (plan.total_score / greedy - 1):.1f}%）" if greedy > 0 else ""
    return (
        f"草稿已生成，用时 {run.seconds:.1f} 秒：{len(plan.meetings)} 场对接，{run.placed} 场排入日程；"
        f"总匹配分 {plan.total_score:.2f}，逐个取前 {plan.event.per_opportunity} 的贪心法为 {greedy:.2f}{gain}。"
        + (f"{unmet} 个场景未满足，见「未满足与问题」。" if unmet else "每个场景都已满足。")
    )


@router.post("/events/{event_id}/plan", dependencies=[CsrfDep])
def plan_event(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    organiser: OrganiserDep,
    event_id: str,
):
    event = _event(session, event_id)
    return _act(
        request,
        _path(event),
        lambda: _plan_message(
            event_ops.plan_event(
                context=context, session=session, event=event, actor=_actor(organiser)
            )
        ),
    )


@router.post("/events/{event_id}/publish", dependencies=[CsrfDep])
def publish_event(request: Request, session: SessionDep, organiser: OrganiserDep, event_id: str):
    event = _event(session, event_id)
    return _act(
        request,
        _path(event),
        lambda: event_ops.publish(session=session, event=event, actor=_actor(organiser)) and None,
        "活动已发布：日程不再重新生成；有人缺席或退出时，可在对接旁选择候补替补。",
    )


@router.post("/events/{event_id}/availability", dependencies=[CsrfDep])
def set_availability(
    request: Request, session: SessionDep, organiser: OrganiserDep, event_id: str, form: FormDep
):
    event = _event(session, event_id)
    kind, ext_id = _text(form, "kind"), _text(form, "entry")
    slots = [s for s in form.getlist("slot") if isinstance(s, str)]

    def work() -> str:
        chosen = event_ops.set_unavailable(
            session=session,
            event=event,
            kind=kind,
            ext_id=ext_id,
            slots=slots,
            actor=_actor(organiser),
        )
        shown = "、".join(str(s + 1) for s in chosen) or "无"
        return f"已保存 {ext_id} 不能参加的时段：{shown}。请重新生成草稿，让日程避开这些时段。"

    target = _path(event, "/suppliers") if kind == "capability" else _path(event)
    return _act(request, target + _back(form), work)


# -- one meeting: swap, lock, standby after publishing, outcome -------------------------------------
def _meeting_page(
    request: Request,
    context,
    session,
    organiser,
    event: Event,
    meeting_id: str,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
):
    try:
        meeting = event_ops.get_meeting(session, event, meeting_id)
    except NotFound:
        raise HTTPException(status_code=404) from None
    view = event_ops.board(session=session, event=event)
    row = next((r for r in view.scenarios if r.opportunity.id == meeting.opportunity_id), None)
    if row is None:  # its scenario left the event
        raise HTTPException(status_code=404)
    cap = view.capabilities[meeting.capability_id]
    pairs = [(row.opportunity.ext_id, cap.ext_id)] + [
        (row.opportunity.ext_id, c.ext_id) for _, c in row.standby
    ]
    reasons = event_ops.pair_reasons(context, pairs) if context.matches_ready else {}
    values = {
        **_base(event),
        "meeting": meeting,
        "row": row,
        "cap": cap,
        "reasons": reasons,
        "errors": errors or {},
        "typed": typed or {},
        **_messages(request),
    }
    return render(
        request, "events/meeting.html", values, status_code=status_code, account=organiser
    )


@router.get("/events/{event_id}/meetings/{meeting_id}")
def meeting_page(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    organiser: OrganiserDep,
    event_id: str,
    meeting_id: str,
):
    return _meeting_page(
        request, context, session, organiser, _event(session, event_id), meeting_id
    )


def _refused(request, context, session, organiser, event, meeting_id, error: EventError, typed):
    if isinstance(error, NotFound):
        raise HTTPException(status_code=404)
    session.rollback()
    return _meeting_page(
        request,
        context,
        session,
        organiser,
        event,
        meeting_id,
        {error.field or "form": error.message},
        typed,
        status_code=400 if error.bad_input else 409,
    )


@router.post("/events/{event_id}/swap", dependencies=[CsrfDep])
def swap(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    organiser: OrganiserDep,
    event_id: str,
    form: FormDep,
):
    event = _event(session, event_id)
    meeting_id, capability = _text(form, "meeting"), _text(form, "capability")
    try:
        run = event_ops.swap(
            context=context,
            session=session,
            event=event,
            meeting_id=meeting_id,
            capability=capability,
            actor=_actor(organiser),
        )
    except EventError as error:
        return _refused(
            request,
            context,
            session,
            organiser,
            event,
            meeting_id,
            error,
            {"capability": capability},
        )
    return _go(
        request, _path(event), f"已换为候补 {capability}，该场景的对接已锁定。" + _plan_message(run)
    )


@router.post("/events/{event_id}/meetings/{meeting_id}/lock", dependencies=[CsrfDep])
def lock(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    organiser: OrganiserDep,
    event_id: str,
    meeting_id: str,
    form: FormDep,
):
    event = _event(session, event_id)
    locked = _text(form, "locked") == "1"
    try:
        event_ops.set_lock(
            session=session,
            event=event,
            meeting_id=meeting_id,
            locked=locked,
            actor=_actor(organiser),
        )
    except EventError as error:
        return _refused(request, context, session, organiser, event, meeting_id, error, {})
    return _go(
        request,
        _path(event) + _back(form),
        "已锁定：重新生成草稿时这场对接及其时段保持不变。"
        if locked
        else "已解锁：重新生成草稿时这场对接可能被调整。",
    )


@router.post("/events/{event_id}/meetings/{meeting_id}/replace", dependencies=[CsrfDep])
def replace(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    organiser: OrganiserDep,
    event_id: str,
    meeting_id: str,
    form: FormDep,
):
    event = _event(session, event_id)
    capability, reason = (
        _text(form, "capability"),
        _text(form, "reason") or MeetingStatus.withdrawn.value,
    )
    try:
        new = event_ops.replace(
            session=session,
            event=event,
            meeting_id=meeting_id,
            capability=capability,
            reason=reason,
            actor=_actor(organiser),
        )
    except EventError as error:
        return _refused(
            request,
            context,
            session,
            organiser,
            event,
            meeting_id,
            error,
            {"capability": capability, "reason": reason},
        )
    return _go(
        request,
        _path(event),
        f"候补 {capability} 已接替：第 {new.slot + 1} 时段"
        f"（{event_export.slot_time(event, new.slot)}），{new.table_no + 1} 号桌；其他人不变。",
    )


@router.post("/events/{event_id}/meetings/{meeting_id}/outcome", dependencies=[CsrfDep])
def outcome(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    organiser: OrganiserDep,
    event_id: str,
    meeting_id: str,
    form: FormDep,
):
    event = _event(session, event_id)
    typed = {
        "status": _text(form, "status"),
        "outcome": _text(form, "outcome"),
        "note": _text(form, "note"),
    }
    try:
        _, errors = event_ops.record_outcome(
            session=session, event=event, meeting_id=meeting_id, actor=_actor(organiser), **typed
        )
    except EventError as error:
        return _refused(request, context, session, organiser, event, meeting_id, error, typed)
    if errors:
        return _meeting_page(
            request, context, session, organiser, event, meeting_id, errors, typed, 400
        )
    return _go(request, _path(event) + _back(form), "已记录对接结果。")


# -- suppliers, exports, agendas, the sign-in sheet ---------------------------------------------
@router.get("/events/{event_id}/suppliers")
def suppliers(
    request: Request,
    session: SessionDep,
    organiser: OrganiserDep,
    event_id: str,
    page: str | None = None,
):
    event = _event(session, event_id)
    rows = event_ops.supplier_rows(session, event)
    pages = pager(page, len(rows))
    values = {
        **_base(event),
        "rows": rows[(pages.number - 1) * PER_PAGE : pages.number * PER_PAGE],
        "page": pages,
        "opportunities": _opportunities(session, rows),
        **_messages(request),
    }
    return render(request, "events/suppliers.html", values, account=organiser)


def _opportunities(session, rows) -> dict[int, Any]:
    ids = {m.opportunity_id for _, meetings, _ in rows for m in meetings}
    return {
        o.id: o for o in session.exec(select(Opportunity).where(col(Opportunity.id).in_(ids))).all()
    }


def _download(session, event_id: str, suffix: str) -> Response:
    event = _event(session, event_id)
    plan = event_ops.load(session=session, event=event)
    body, media_type, disposition = event_export.download(session, plan, suffix)
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})


@router.get("/events/{event_id}/export.xlsx")
def export_xlsx(session: SessionDep, organiser: OrganiserDep, event_id: str):
    return _download(session, event_id, "xlsx")


@router.get("/events/{event_id}/export.csv")
def export_csv(session: SessionDep, organiser: OrganiserDep, event_id: str):
    return _download(session, event_id, "csv")


@router.get("/events/{event_id}/agenda")
def agenda(
    request: Request, session: SessionDep, organiser: OrganiserDep, event_id: str, only: str = ""
):
    event = _event(session, event_id)
    sections = event_export.agendas(session, event)
    if only in ("scenario", "supplier"):
        sections = [a for a in sections if a.role == only]
    return render(
        request,
        "events/agenda.html",
        {**_base(event), "sections": sections, "only": only},
        account=organiser,
    )


@router.get("/events/{event_id}/signin")
def signin(request: Request, session: SessionDep, organiser: OrganiserDep, event_id: str):
    event = _event(session, event_id)
    return render(
        request,
        "events/signin.html",
        {**_base(event), "rows": event_export.signin_rows(session, event)},
        account=organiser,
    )
