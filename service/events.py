"""Matchmaking events (供需对接活动): from the matcher's scores to a pairing list, a clash-free
agenda and the standby lists, stored so organisers can adjust, publish and record outcomes."""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlmodel import Session, delete, select

from matching.assignment import assign, greedy_top_k
from matching.scheduling import schedule
from service.context import Context
from service.models import (Capability, Event, EventOpportunity, EventSupplier, Meeting, Opportunity,
                            PairReview, ReviewMark, Standby, Status, utcnow)


@dataclass
class Plan:
    """A planned event in the lists' own ids (slots and tables count from 0)."""

    event: Event
    meetings: list[dict[str, Any]]
    standby: dict[str, list[str]]
    unmet: list[dict[str, str]]
    total_score: float
    greedy_score: float
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        e = self.event
        return {"event": {"id": e.id, "name": e.name, "status": e.status.value if hasattr(e.status, "value") else e.status,
                          "slots": e.slots, "tables": e.tables, "per_opportunity": e.per_opportunity,
                          "max_per_supplier": e.max_per_supplier, "min_score": e.min_score, "fair": e.fair,
                          "total_score": round(self.total_score, 4), "greedy_total_score": _rounded(self.greedy_score),
                          "slots_used": 1 + max((m["slot"] for m in self.meetings if m["slot"] is not None), default=-1)},
                "meetings": self.meetings, "standby": self.standby, "unmet": self.unmet}


def _rounded(value: float) -> float | None:
    """A score for JSON: a stored plan has no greedy comparison (NaN), which JSON cannot carry."""
    return round(value, 4) if math.isfinite(value) else None


def _org(name: str | None) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or "")).lower()


def participants(session: Session, event: Event) -> tuple[list[Opportunity], list[Capability]]:
    """The event's scenarios (published, in list-id order) and every published capability."""
    opps = session.exec(select(Opportunity).join(EventOpportunity, EventOpportunity.opportunity_id == Opportunity.id)
                        .where(EventOpportunity.event_id == event.id, Opportunity.status == Status.published)
                        .order_by(Opportunity.ext_id)).all()
    caps = session.exec(select(Capability).where(Capability.status == Status.published)
                        .order_by(Capability.ext_id)).all()
    return list(opps), list(caps)


def _rules(session: Session, event: Event, opps: list[Opportunity], caps: list[Capability]):
    """Confirmed (organiser marks and locked meetings), excluded, conflicts, availability."""
    row = {o.id: i for i, o in enumerate(opps)}
    col = {c.id: j for j, c in enumerate(caps)}
    confirmed, excluded = [], []
    marks = session.exec(select(PairReview).where(PairReview.opportunity_id.in_(list(row)))).all()
    for m in marks:
        if m.capability_id in col:
            (confirmed if m.mark == ReviewMark.confirmed else excluded).append((row[m.opportunity_id], col[m.capability_id]))
    locked = {}
    for m in session.exec(select(Meeting).where(Meeting.event_id == event.id, Meeting.locked)).all():
        if m.opportunity_id in row and m.capability_id in col:
            pair = (row[m.opportunity_id], col[m.capability_id])
            confirmed.append(pair)
            if m.slot is not None:
                locked[pair] = m.slot
    orgs = np.array([_org(c.organization) for c in caps])
    conflicts = np.stack([orgs == _org(o.organization) for o in opps]) if opps and caps else None
    unavailable_opp = {row[p.opportunity_id]: p.unavailable for p in
                       session.exec(select(EventOpportunity).where(EventOpportunity.event_id == event.id))
                       if p.unavailable and p.opportunity_id in row}
    unavailable_cap = {col[s.capability_id]: s.unavailable for s in
                       session.exec(select(EventSupplier).where(EventSupplier.event_id == event.id))
                       if s.unavailable and s.capability_id in col}
    return list(dict.fromkeys(confirmed)), excluded, conflicts, locked, unavailable_opp, unavailable_cap


def _namer(opps: list[Opportunity], caps: list[Capability]):
    """Turn the solvers' 需求方 i / 能力 j / 时段 s into list ids and titles, slots from 1."""
    def name(message: str) -> str:
        message = re.sub(r"需求方 (\d+)", lambda m: f"场景 {opps[int(m.group(1))].ext_id}「{opps[int(m.group(1))].title}」", message)
        message = re.sub(r"能力 (\d+)", lambda m: f"能力 {caps[int(m.group(1))].ext_id}「{caps[int(m.group(1))].title}」", message)
        return re.sub(r"时段 (\d+)", lambda m: f"第 {int(m.group(1)) + 1} 时段", message)
    return name


def plan(context: Context, session: Session, event: Event) -> Plan:
    """Solve the pairing, schedule it, and store meetings and standby (locked meetings kept).

    Each scenario owner keeps one table, so with fewer tables than scenarios only the first
    ``tables`` scenarios (in list-id order) take part in the pairing: pairing the others would
    spend suppliers' meeting limits on meetings that have no table. The rest are reported."""
    opps, caps = participants(session, event)
    unseated = opps[max(event.tables, 0):]
    opps = opps[:max(event.tables, 0)]
    service = context.matches
    scores = service.score_matrix([o.ext_id for o in opps], [c.ext_id for c in caps])
    confirmed, excluded, conflicts, locked, un_opp, un_cap = _rules(session, event, opps, caps)
    min_score = event.min_score if event.min_score is not None else -np.inf
    rules = dict(capacity=event.max_per_supplier, min_score=min_score, confirmed=confirmed,
                 excluded=excluded or None, conflicts=conflicts)
    result = assign(scores, demand=event.per_opportunity, fair=event.fair, **rules)
    greedy = greedy_top_k(scores, k=event.per_opportunity, **rules)
    agenda = schedule(result.pairs, n_slots=event.slots, n_tables=event.tables,
                      unavailable_scenario=un_opp, unavailable_supplier=un_cap, locked=locked)
    name = _namer(opps, caps)
    _store(session, event, opps, caps, scores, result, agenda, locked)
    unmet = [{"opportunity": opps[i].ext_id, "reason": name(reason)} for i, reason in result.unmet]
    unmet += [{"opportunity": o.ext_id, "reason": f"桌数 {event.tables} 少于参加的场景数 "
               f"{len(opps) + len(unseated)}，本场景没有桌位，未安排对接；可增加桌数或分场举办"} for o in unseated]
    unplaced = {(i, j) for i, j in agenda.unplaced}
    for i in sorted({i for i, _ in unplaced}):
        lost = [caps[j].ext_id for a, j in agenda.unplaced if a == i]
        unmet.append({"opportunity": opps[i].ext_id, "reason": f"{len(lost)} 场对接未能排入日程（{'、'.join(lost)}）"})
    event.problems = [name(p) for p in agenda.problems]
    event.updated_at = utcnow()
    session.add(event)
    session.commit()
    return load_plan(session, event, unmet=unmet, total=result.total_score, greedy=greedy.total_score)


def _store(session: Session, event: Event, opps, caps, scores, result, agenda, locked) -> None:
    session.exec(delete(Meeting).where(Meeting.event_id == event.id, Meeting.locked == False))  # noqa: E712
    session.exec(delete(Standby).where(Standby.event_id == event.id))
    kept = {(m.opportunity_id, m.capability_id): m for m in
            session.exec(select(Meeting).where(Meeting.event_id == event.id)).all()}
    where = {(i, j): (slot, table) for i, j, slot, table in agenda.placements}
    for i, j in result.pairs:
        key = (opps[i].id, caps[j].id)
        meeting = kept.pop(key, None) or Meeting(event_id=event.id, opportunity_id=key[0], capability_id=key[1])
        meeting.score = float(scores[i, j])
        meeting.slot, meeting.table_no = where.get((i, j), (None, None))
        session.add(meeting)
    for meeting in kept.values():  # a locked meeting the rules no longer allow
        session.delete(meeting)
    for i, table in agenda.tables.items():
        link = session.get(EventOpportunity, (event.id, opps[i].id))
        if link:
            link.table_no = table
            session.add(link)
    for i, ranked in result.standby.items():
        for rank, j in enumerate(ranked):
            session.add(Standby(event_id=event.id, opportunity_id=opps[i].id, capability_id=caps[j].id,
                                rank=rank, score=float(scores[i, j])))
    session.flush()


def load_plan(session: Session, event: Event, *, unmet: list[dict[str, str]] | None = None,
              total: float | None = None, greedy: float | None = None) -> Plan:
    """The stored plan of an event, in list ids."""
    opp_ext = dict(session.exec(select(Opportunity.id, Opportunity.ext_id)).all())
    cap_ext = dict(session.exec(select(Capability.id, Capability.ext_id)).all())
    meetings = session.exec(select(Meeting).where(Meeting.event_id == event.id)).all()
    rows = sorted(({"id": m.id, "opportunity": opp_ext[m.opportunity_id], "capability": cap_ext[m.capability_id],
                    "score": round(m.score, 4), "slot": m.slot, "table": m.table_no, "locked": m.locked,
                    "status": m.status.value if hasattr(m.status, "value") else m.status}
                   for m in meetings), key=lambda r: (r["slot"] is None, r["slot"] or 0, r["table"] or 0))
    standby: dict[str, list[str]] = {}
    for s in session.exec(select(Standby).where(Standby.event_id == event.id).order_by(Standby.rank)).all():
        standby.setdefault(opp_ext[s.opportunity_id], []).append(cap_ext[s.capability_id])
    total = total if total is not None else sum(m.score for m in meetings)
    return Plan(event, rows, standby, unmet or [], total, greedy if greedy is not None else float("nan"),
                list(event.problems))


def create(session: Session, *, name: str, opportunity_ids: list[int], **rules: Any) -> Event:
    event = Event(name=name, **rules)
    session.add(event)
    session.flush()
    for opp_id in opportunity_ids:
        session.add(EventOpportunity(event_id=event.id, opportunity_id=opp_id))
    session.commit()
    session.refresh(event)
    return event
