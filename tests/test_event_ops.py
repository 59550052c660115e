"""Event operations without HTTP: the form check, planning, swapping in a standby, locks,
availability, publishing, standby after publishing and the outcome counts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from matching.scheduling import check_schedule
from service import event_ops
from service.context import Context
from service.event_ops import EventError
from service.models import (
    Capability,
    Event,
    EventOpportunity,
    EventSupplier,
    Meeting,
    Opportunity,
    Standby,
)
from tests.web import client  # noqa: F401

RULES = {
    "name": "春季对接会",
    "slots": "2",
    "tables": "3",
    "per_opportunity": "2",
    "max_per_supplier": "2",
    "meeting_minutes": "20",
    "break_minutes": "5",
    "start_time": "09:00",
    "mode": "filter",
}


@pytest.fixture()
def context(client: TestClient) -> Context:  # noqa: F811
    return client.app.state.context


@pytest.fixture()
def session(context: Context) -> Iterator[Session]:
    with context.session() as session:
        yield session


def make_event(session: Session, **changes: str) -> Event:
    clean, ids, errors = event_ops.check_event(
        session=session, values={**RULES, **changes}, picked=[]
    )
    assert not errors
    return event_ops.create_event(session=session, clean=clean, opportunity_ids=ids)


def planned(context: Context, session: Session, **changes: str) -> Event:
    event = make_event(session, **changes)
    event_ops.plan_event(context=context, session=session, event=event)
    return event


def meetings(session: Session, event: Event) -> list[Meeting]:
    session.expire_all()
    return list(
        session.exec(select(Meeting).where(Meeting.event_id == event.id).order_by(Meeting.id)).all()
    )


def assert_clash_free(session: Session, event: Event) -> None:
    schedule = event_ops.active_schedule(session, event)
    unavailable = {
        kind: event_ops.unavailable_slots(session, event, table)
        for kind, table in (("o", EventOpportunity), ("c", EventSupplier))
    }
    assert schedule.placements
    assert (
        check_schedule(
            schedule,
            n_slots=event.slots,
            n_tables=event.tables,
            unavailable_scenario=unavailable["o"],
            unavailable_supplier=unavailable["c"],
        )
        == []
    )


def standby_of(session: Session, event: Event, meeting: Meeting) -> list[Standby]:
    return list(
        session.exec(
            select(Standby)
            .where(Standby.event_id == event.id, Standby.opportunity_id == meeting.opportunity_id)
            .order_by(Standby.rank)
        ).all()
    )


def ext(session: Session, standby: Standby) -> str:
    return session.get(Capability, standby.capability_id).ext_id


# -- the form ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "changes, key, words",
    [
        ({"name": "  "}, "name", "活动名称"),
        ({"date": "2026-02-30"}, "date", "日期格式"),
        ({"start_time": "25:00"}, "start_time", "开始时间"),
        ({"slots": "abc"}, "slots", "整数"),
        ({"tables": "0"}, "tables", "1–500"),
        ({"min_score": "高"}, "min_score", "数字"),
        ({"min_score": "nan"}, "min_score", "数字"),
        ({"per_opportunity": "3", "slots": "2"}, "per_opportunity", "不能超过时段数"),
        ({"start_time": "23:00", "slots": "8"}, "slots", "午夜"),
        ({"mode": "hand"}, "pick", "至少勾选"),
        ({"mode": "filter", "field": "不存在的领域"}, "field", "没有符合"),
    ],
)
def test_the_form_is_checked_in_chinese(
    session: Session, changes: dict, key: str, words: str
) -> None:
    _, _, errors = event_ops.check_event(session=session, values={**RULES, **changes}, picked=[])
    assert words in errors[key]


def test_hand_picked_opportunities_must_be_published(session: Session) -> None:
    _, ids, errors = event_ops.check_event(
        session=session, values={**RULES, "mode": "hand"}, picked=["O-2", "X-9"]
    )
    assert "X-9" in errors["pick"]
    clean, ids, errors = event_ops.check_event(
        session=session, values={**RULES, "mode": "hand"}, picked=["O-2"]
    )
    assert not errors and len(ids) == 1
    assert clean["slots"] == 2 and clean["min_score"] is None and clean["fair"] is False


def test_a_filter_takes_every_published_opportunity_that_fits(session: Session) -> None:
    _, ids, errors = event_ops.check_event(
        session=session, values={**RULES, "district": "梁溪区"}, picked=[]
    )
    names = {session.get(Opportunity, i).ext_id for i in ids}
    assert not errors and names == {"O-1", "O-2"}


# -- planning and adjusting a draft -----------------------------------------------------------
def test_a_plan_is_stored_clash_free_with_its_unmet_list(
    context: Context, session: Session
) -> None:
    event = planned(context, session)
    assert len(meetings(session, event)) == 6
    assert_clash_free(session, event)
    strict = planned(context, session, min_score="5")
    unmet, _ = event_ops.split_problems(strict)
    assert {u["opportunity"] for u in unmet} == {"O-1", "O-2", "O-3"}
    assert (
        event_ops.load(session=session, event=strict).unmet == unmet
    )  # kept for the page and exports


def test_swap_takes_the_standby_and_the_schedule_stays_clash_free(
    context: Context, session: Session
) -> None:
    event = planned(context, session)
    meeting = meetings(session, event)[0]
    old, scenario = meeting.capability_id, meeting.opportunity_id
    spare = standby_of(session, event, meeting)[0]
    event_ops.swap(
        context=context,
        session=session,
        event=event,
        meeting_id=meeting.id,
        capability=ext(session, spare),
    )
    mine = [m for m in meetings(session, event) if m.opportunity_id == scenario]
    assert spare.capability_id in {m.capability_id for m in mine}
    assert old not in {m.capability_id for m in mine}  # the supplier taken out does not come back
    assert all(m.locked for m in mine)
    assert_clash_free(session, event)


def test_swap_moves_the_meeting_when_the_standby_cannot_make_its_slot(
    context: Context, session: Session
) -> None:
    event = planned(context, session, slots="3")
    meeting = meetings(session, event)[0]
    spare, slot = standby_of(session, event, meeting)[0], meeting.slot
    event_ops.set_unavailable(
        session=session,
        event=event,
        kind="capability",
        ext_id=ext(session, spare),
        slots=[str(slot + 1)],
    )
    event_ops.swap(
        context=context,
        session=session,
        event=event,
        meeting_id=meeting.id,
        capability=ext(session, spare),
    )
    swapped = session.get(Meeting, meeting.id)
    assert swapped.capability_id == spare.capability_id and swapped.slot not in (slot, None)
    assert_clash_free(session, event)


def test_swap_only_takes_a_standby_of_that_scenario(context: Context, session: Session) -> None:
    event = planned(context, session)
    meeting = meetings(session, event)[0]
    taken = next(
        m
        for m in meetings(session, event)
        if m.opportunity_id == meeting.opportunity_id and m.id != meeting.id
    )
    with pytest.raises(EventError, match="候补名单"):
        event_ops.swap(
            context=context,
            session=session,
            event=event,
            meeting_id=meeting.id,
            capability=session.get(Capability, taken.capability_id).ext_id,
        )


def test_a_locked_meeting_keeps_its_pair_and_slot(context: Context, session: Session) -> None:
    event = planned(context, session)
    meeting = meetings(session, event)[-1]
    pair, slot = (meeting.opportunity_id, meeting.capability_id), meeting.slot
    event_ops.set_lock(session=session, event=event, meeting_id=meeting.id, locked=True)
    event_ops.set_unavailable(
        session=session,
        event=event,
        kind="opportunity",
        ext_id=session.get(Opportunity, meeting.opportunity_id).ext_id,
        slots=[str(s + 1) for s in range(event.slots) if s != slot],
    )
    event_ops.plan_event(context=context, session=session, event=event)
    kept = [m for m in meetings(session, event) if (m.opportunity_id, m.capability_id) == pair]
    assert len(kept) == 1 and kept[0].slot == slot and kept[0].locked


def test_availability_is_respected_when_planned_again(context: Context, session: Session) -> None:
    event = planned(context, session, slots="3")
    meeting = meetings(session, event)[0]
    name = session.get(Opportunity, meeting.opportunity_id).ext_id
    event_ops.set_unavailable(
        session=session, event=event, kind="opportunity", ext_id=name, slots=[str(meeting.slot + 1)]
    )
    assert event_ops.clashes(session=session, event=event)  # the stored draft no longer fits
    event_ops.plan_event(context=context, session=session, event=event)
    assert all(
        m.slot != meeting.slot
        for m in meetings(session, event)
        if m.opportunity_id == meeting.opportunity_id
    )
    assert_clash_free(session, event)
    with pytest.raises(EventError, match="1–3"):
        event_ops.set_unavailable(
            session=session, event=event, kind="opportunity", ext_id=name, slots=["4"]
        )


# -- after publishing ----------------------------------------------------------------------------
def test_publishing_stops_replanning(context: Context, session: Session) -> None:
    event = planned(context, session)
    event_ops.publish(session=session, event=event)
    meeting = meetings(session, event)[0]
    for action in (
        lambda: event_ops.plan_event(context=context, session=session, event=event),
        lambda: event_ops.set_lock(
            session=session, event=event, meeting_id=meeting.id, locked=True
        ),
        lambda: event_ops.swap(
            context=context, session=session, event=event, meeting_id=meeting.id, capability="C-1"
        ),
    ):
        with pytest.raises(EventError, match="已发布"):
            action()


def test_an_event_without_a_draft_cannot_be_published(session: Session) -> None:
    with pytest.raises(EventError, match="生成草稿"):
        event_ops.publish(session=session, event=make_event(session))


def _free_and_busy(session: Session, event: Event, meeting: Meeting) -> tuple[Standby, Standby]:
    """A standby of the meeting's scenario free in its slot, and one busy then."""
    busy_then = {m.capability_id for m in meetings(session, event) if m.slot == meeting.slot}
    spare = standby_of(session, event, meeting)
    return (
        next(s for s in spare if s.capability_id not in busy_then),
        next(s for s in spare if s.capability_id in busy_then),
    )


def test_replace_after_publishing_moves_nobody_else(context: Context, session: Session) -> None:
    event = planned(context, session)
    event_ops.publish(session=session, event=event)
    before = meetings(session, event)
    meeting = before[0]
    free, _ = _free_and_busy(session, event, meeting)
    new = event_ops.replace(
        session=session,
        event=event,
        meeting_id=meeting.id,
        capability=ext(session, free),
        reason="no_show",
    )
    after = {m.id: m for m in meetings(session, event)}
    assert (new.slot, new.table_no, new.capability_id) == (
        meeting.slot,
        meeting.table_no,
        free.capability_id,
    )
    assert after[meeting.id].status == "no_show"  # kept for the record
    others = [
        (m.id, m.opportunity_id, m.capability_id, m.slot, m.table_no, m.status) for m in before[1:]
    ]
    assert [
        (m.id, m.opportunity_id, m.capability_id, m.slot, m.table_no, m.status)
        for m in (after[i] for i, *_ in others)
    ] == others
    assert session.get(Standby, (event.id, meeting.opportunity_id, free.capability_id)) is None
    assert_clash_free(session, event)


def test_replace_says_when_the_standby_is_busy_in_that_slot(
    context: Context, session: Session
) -> None:
    event = planned(context, session)
    event_ops.publish(session=session, event=event)
    meeting = meetings(session, event)[0]
    _, busy = _free_and_busy(session, event, meeting)
    with pytest.raises(
        EventError, match=f"能力 {ext(session, busy)}「.+」在第 {meeting.slot + 1} 时段已有对接"
    ):
        event_ops.replace(
            session=session, event=event, meeting_id=meeting.id, capability=ext(session, busy)
        )
    assert session.get(Meeting, meeting.id).status == "planned"


def test_a_recorded_no_show_can_be_replaced_once(context: Context, session: Session) -> None:
    event = planned(context, session)
    event_ops.publish(session=session, event=event)
    meeting = meetings(session, event)[0]
    event_ops.record_outcome(
        session=session, event=event, meeting_id=meeting.id, status="no_show", outcome="", note=""
    )
    free, _ = _free_and_busy(session, event, meeting)
    new = event_ops.replace(
        session=session, event=event, meeting_id=meeting.id, capability=ext(session, free)
    )
    assert (new.slot, new.table_no) == (meeting.slot, meeting.table_no)
    assert session.get(Meeting, meeting.id).status == "no_show"
    spare = standby_of(session, event, meeting)[0]
    with pytest.raises(EventError, match="已由候补接替"):
        event_ops.replace(
            session=session, event=event, meeting_id=meeting.id, capability=ext(session, spare)
        )


def test_replace_is_for_published_events(context: Context, session: Session) -> None:
    event = planned(context, session)
    meeting = meetings(session, event)[0]
    with pytest.raises(EventError, match="草稿阶段"):
        event_ops.replace(session=session, event=event, meeting_id=meeting.id, capability="C-1")


def test_outcomes_are_recorded_and_counted(context: Context, session: Session) -> None:
    event = planned(context, session)
    event_ops.publish(session=session, event=event)
    first, second, third, fourth, *_ = meetings(session, event)
    record = {"session": session, "event": event}
    free, _ = _free_and_busy(session, event, fourth)
    event_ops.replace(**record, meeting_id=fourth.id, capability=ext(session, free))
    assert (
        event_ops.record_outcome(
            **record, meeting_id=first.id, status="held", outcome="signed", note="签了"
        )[1]
        == {}
    )
    event_ops.record_outcome(
        **record, meeting_id=second.id, status="held", outcome="intent", note=""
    )
    event_ops.record_outcome(**record, meeting_id=third.id, status="no_show", outcome="", note="")
    counts = event_ops.outcomes(session, event.id)
    assert counts.as_dict() == {
        "meetings": 6,
        "planned": 3,
        "held": 2,
        "no_show": 1,
        "withdrawn": 1,
        "intents": 1,
        "signed": 1,
    }


@pytest.mark.parametrize(
    "status, outcome, note, key",
    [
        ("no_show", "signed", "", "outcome"),
        ("held", "bought", "", "outcome"),
        ("gone", "", "", "status"),
        ("held", "", "长" * 1001, "note"),
    ],
)
def test_bad_outcomes_are_refused(
    context: Context, session: Session, status: str, outcome: str, note: str, key: str
) -> None:
    event = planned(context, session)
    event_ops.publish(session=session, event=event)
    meeting = meetings(session, event)[0]
    saved, errors = event_ops.record_outcome(
        session=session,
        event=event,
        meeting_id=meeting.id,
        status=status,
        outcome=outcome,
        note=note,
    )
    assert saved is None and key in errors
    assert session.get(Meeting, meeting.id).status == "planned"


def test_pair_reasons_explain_each_pair(context: Context) -> None:
    found = event_ops.pair_reasons(context, [("O-3", "C-4"), ("O-3", "C-5"), ("O-9", "C-1")])
    assert set(found) == {("O-3", "C-4"), ("O-3", "C-5")}
    assert any(r.startswith("需求覆盖") for r in found[("O-3", "C-4")])
