"""/api/v1: proposed matches of an entry, free-text search of a list, and organisers' marks on
pairs (已确认 / 已排除)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import AfterValidator
from sqlalchemy.orm import aliased
from sqlmodel import Session, func, select

from matching.engine import CAPABILITY, OPPORTUNITY
from service import entries
from service.api.entries import KINDS, NAMES, PATHS, Filter, PageNo, PerPage, as_utc, find
from service.api.errors import ApiError, not_found
from service.api.responses import errors
from service.api.schemas import (
    ID_MAX,
    ListName,
    MatchesOut,
    Page,
    ReviewIn,
    ReviewOut,
    SearchOut,
    storable,
)
from service.context import Context
from service.deps import ContextDep
from service.embeddings import TABLES
from service.matches import Filters
from service.models import Capability, Opportunity, PairReview, ReviewMark
from service.principals import PUBLIC, OrganiserDep, Principal, PrincipalDep, ReaderDep
from service.ratelimit import check as rate_check
from service.reviews import set_mark
from service.web import SessionDep

router = APIRouter(prefix="/api/v1")

OTHER = {OPPORTUNITY: CAPABILITY, CAPABILITY: OPPORTUNITY}
MAX_QUERY = 500

K = Annotated[int, Query(ge=1, le=100, description="How many matches (1–100).")]


# -- matches -----------------------------------------------------------------------------------
def _matches(context: Context, session: Session, kind: str, ext_id: str, principal: Principal, k: int,
             field: str | None, district: str | None) -> dict[str, Any]:
    entry = find(session, kind, ext_id, principal)
    service = context.matches
    out: dict[str, Any] = {"id": entry.ext_id, "list": PATHS[kind], "matches": []}
    if not service.has(kind, entry.ext_id):  # archived, or not embedded yet
        return out
    find_for = service.for_opportunity if kind == OPPORTUNITY else service.for_capability
    # marks are the organisers' working notes: others get the list the public pages show
    readers = principal.sees_unpublished
    proposals = find_for(session, entry.ext_id, k, Filters(field=field, district=district),
                         include_excluded=readers)
    others = TABLES[OTHER[kind]]
    rows = {row.ext_id: row for row in session.exec(
        select(others).where(others.ext_id.in_([p.other for p in proposals]))).all()}
    for proposal in proposals:
        other = rows.get(proposal.other)
        if other is None:
            continue
        match = proposal.as_json("id")
        match.update(title=other.title, organization=other.organization)
        if not readers:
            match["review"] = None
        out["matches"].append(match)
    return out


MATCHES_DOC = ("The best published entries of the other list for this entry, with the fused score, the "
               "reasons (in Chinese, as the pages show them) and the score's parts. Public for published "
               "entries. Organisers and integrators also see review marks, and excluded pairs with "
               "review=excluded; for everyone else excluded pairs are left out. Confirmed pairs come first. "
               "An archived entry has no matches.")


@router.get("/opportunities/{ext_id}/matches", response_model=MatchesOut, tags=["matching"],
            summary="Best capabilities for an opportunity", description=MATCHES_DOC,
            responses=errors(401, 404, 422))
def opportunity_matches(context: ContextDep, session: SessionDep, principal: PrincipalDep, ext_id: str,
                        k: K = 10, field: Filter = None, district: Filter = None):
    return _matches(context, session, OPPORTUNITY, ext_id, principal, k, field, district)


@router.get("/capabilities/{ext_id}/matches", response_model=MatchesOut, tags=["matching"],
            summary="Best opportunities for a capability", description=MATCHES_DOC,
            responses=errors(401, 404, 422))
def capability_matches(context: ContextDep, session: SessionDep, principal: PrincipalDep, ext_id: str,
                       k: K = 10, field: Filter = None, district: Filter = None):
    return _matches(context, session, CAPABILITY, ext_id, principal, k, field, district)


# -- search ------------------------------------------------------------------------------------
Q = Annotated[str, Query(min_length=1, max_length=MAX_QUERY, description="What you are looking for, in "
                         "Chinese or English.", examples=["医院样本无人机配送"]), AfterValidator(storable)]


@router.get("/search", response_model=SearchOut, tags=["matching"], summary="Search a list by meaning",
            description="Free-text semantic search of the published entries of one list, best first. "
                        "Rate-limited per address for callers without a key (429 with Retry-After).",
            responses=errors(401, 422, 429))
def search(request: Request, context: ContextDep, session: SessionDep, principal: PrincipalDep, q: Q,
           list_name: Annotated[ListName, Query(alias="list", description="Which list to search.")],
           k: K = 10, field: Filter = None, district: Filter = None):
    text = " ".join(q.split())
    if not text:
        raise ApiError(422, "q must contain more than spaces", field="q")
    if principal.role == PUBLIC:
        rate_check(request, "search")
    kind = KINDS[list_name]
    hits = entries.search(context, kind, text, k, Filters(field=field, district=district))
    table = TABLES[kind]
    rows = {row.ext_id: row for row in session.exec(
        select(table).where(table.ext_id.in_([ext_id for ext_id, _ in hits]))).all()}
    items = [{"id": ext_id, "title": rows[ext_id].title, "organization": rows[ext_id].organization,
              "field": rows[ext_id].field, "district": rows[ext_id].district, "score": round(score, 4)}
             for ext_id, score in hits if ext_id in rows]
    return {"list": list_name, "q": text, "items": items}


# -- reviews -----------------------------------------------------------------------------------
def _review_json(opportunity: str, capability: str, review: PairReview | None) -> dict[str, Any]:
    return {"opportunity": opportunity, "capability": capability,
            "mark": ReviewMark(review.mark).value if review else None,
            "note": review.note if review else None,
            "updated_at": as_utc(review.updated_at) if review else None}


IdFilter = Annotated[str | None, Query(max_length=ID_MAX), AfterValidator(
    lambda v: storable(v) if v is not None else v)]


@router.get("/reviews", response_model=Page[ReviewOut], tags=["reviews"], summary="Marks on pairs",
            description="Organisers' marks on proposed pairs, by opportunity id then capability id. "
                        "Organisers and integrators.",
            responses=errors(401, 403, 422))
def list_reviews(session: SessionDep, principal: ReaderDep, page: PageNo = 1, per_page: PerPage = 50,
                 opportunity: IdFilter = None, capability: IdFilter = None,
                 mark: Annotated[ReviewMark | None, Query()] = None):
    opp, cap = aliased(Opportunity), aliased(Capability)
    statement = (select(PairReview, opp.ext_id, cap.ext_id)
                 .join(opp, opp.id == PairReview.opportunity_id)
                 .join(cap, cap.id == PairReview.capability_id))
    if opportunity:
        statement = statement.where(opp.ext_id == opportunity)
    if capability:
        statement = statement.where(cap.ext_id == capability)
    if mark:
        statement = statement.where(PairReview.mark == mark)
    total = session.exec(select(func.count()).select_from(statement.subquery())).one()
    rows = session.exec(statement.order_by(opp.ext_id, cap.ext_id)
                        .offset((page - 1) * per_page).limit(per_page)).all()
    return {"items": [_review_json(o, c, review) for review, o, c in rows], "total": total,
            "page": page, "per_page": per_page}


@router.put("/reviews", response_model=ReviewOut, tags=["reviews"], summary="Mark or clear a pair",
            description="Organisers only. confirmed keeps the pair on the opportunity's list whatever its "
                        "score; excluded leaves it out of matches and events; clear removes the mark. Marks "
                        "are kept when entries change and matches are recomputed.",
            responses=errors(401, 403, 404, 413, 422))
def put_review(session: SessionDep, principal: OrganiserDep, body: ReviewIn):
    opp = entries.by_ext(session, OPPORTUNITY, body.opportunity)
    if opp is None:
        raise not_found(NAMES[OPPORTUNITY], body.opportunity, field="opportunity")
    cap = entries.by_ext(session, CAPABILITY, body.capability)
    if cap is None:
        raise not_found(NAMES[CAPABILITY], body.capability, field="capability")
    problem = set_mark(session, opportunity=opp.ext_id, capability=cap.ext_id, mark=body.mark,
                       note=body.note, actor=principal.actor)
    if problem:
        raise ApiError(422, f"the mark could not be set: {problem}", field="mark")
    return _review_json(opp.ext_id, cap.ext_id, session.get(PairReview, (opp.id, cap.id)))
