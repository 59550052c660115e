"""Organisers' marks on proposed pairs (已确认 / 已排除)."""
from __future__ import annotations

from sqlmodel import Session, select

from service import audit
from service.models import Capability, Opportunity, PairReview, ReviewMark, utcnow

MARKS = {"confirmed": ReviewMark.confirmed, "已确认": ReviewMark.confirmed,
         "excluded": ReviewMark.excluded, "已排除": ReviewMark.excluded}
MAX_NOTE = 1000


def _state(review: PairReview | None) -> dict[str, str | None]:
    if review is None:
        return {"mark": None, "note": None}
    return {"mark": ReviewMark(review.mark).value, "note": review.note}


def set_mark(session: Session, *, opportunity: str, capability: str, mark: str,
             note: str | None = None, actor: str = "system") -> str | None:
    """Set or clear (``mark="clear"``) the mark of a pair given by list ids; returns a problem.
    Every change is recorded in the audit log."""
    opp = session.exec(select(Opportunity).where(Opportunity.ext_id == opportunity)).first()
    cap = session.exec(select(Capability).where(Capability.ext_id == capability)).first()
    if opp is None:
        return f"没有编号为 {opportunity} 的场景机会"
    if cap is None:
        return f"没有编号为 {capability} 的场景能力"
    if mark != "clear" and mark not in MARKS:
        return f"标记应为 confirmed（已确认）、excluded（已排除）或 clear，收到的是 {mark!r}"
    if note is not None and len(note) > MAX_NOTE:
        return f"备注最多 {MAX_NOTE} 个字，现在是 {len(note)} 个字"
    review = session.get(PairReview, (opp.id, cap.id))
    before = _state(review)
    if mark == "clear":
        if review is None:
            return None
        session.delete(review)
        after = _state(None)
    else:
        review = review or PairReview(opportunity_id=opp.id, capability_id=cap.id, mark=MARKS[mark])
        review.mark, review.note, review.updated_at = MARKS[mark], note, utcnow()
        session.add(review)
        after = _state(review)
    audit.record(session, actor=actor, action="review", kind="pair", target=f"{opp.ext_id} ↔ {cap.ext_id}",
                 changes=audit.diff(before, after), commit=False)
    session.commit()
    return None
