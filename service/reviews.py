"""Organisers' marks on proposed pairs (已确认 / 已排除)."""
from __future__ import annotations

from sqlmodel import Session, select

from service.models import Capability, Opportunity, PairReview, ReviewMark, utcnow

MARKS = {"confirmed": ReviewMark.confirmed, "已确认": ReviewMark.confirmed,
         "excluded": ReviewMark.excluded, "已排除": ReviewMark.excluded}


def set_mark(session: Session, *, opportunity: str, capability: str, mark: str,
             note: str | None = None) -> str | None:
    """Set or clear (``mark="clear"``) the mark of a pair given by list ids; returns a problem."""
    opp = session.exec(select(Opportunity).where(Opportunity.ext_id == opportunity)).first()
    cap = session.exec(select(Capability).where(Capability.ext_id == capability)).first()
    if opp is None:
        return f"没有编号为 {opportunity} 的场景机会"
    if cap is None:
        return f"没有编号为 {capability} 的场景能力"
    review = session.get(PairReview, (opp.id, cap.id))
    if mark == "clear":
        if review:
            session.delete(review)
            session.commit()
        return None
    if mark not in MARKS:
        return f"标记应为 confirmed（已确认）、excluded（已排除）或 clear，收到的是 {mark!r}"
    review = review or PairReview(opportunity_id=opp.id, capability_id=cap.id, mark=MARKS[mark])
    review.mark, review.note, review.updated_at = MARKS[mark], note, utcnow()
    session.add(review)
    session.commit()
    return None
