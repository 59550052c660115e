"""The organisers' overview: how big both lists are, where supply meets demand, and the gaps.

A gap is a published opportunity whose best published capability scores below ``GAP_SCORE``:
nothing on the supply list can carry it, so the city has to recruit a supplier for it.
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlmodel import Session, func, select

from matching.engine import CAPABILITY, OPPORTUNITY
from service.context import Context
from service.embeddings import TABLES
from service.models import Capability, Embedding, PairReview, ReviewMark, Status

# On the seed lists (160 opportunities, 320 capabilities) the best fused score of an
# opportunity is 1.05 at the median; judged strong fits score 0.72-1.30 (two of 59 lower, at
# 0.65 and 0.66), while the best *unrelated* capability scores 0.4-0.7 for nearly all judged
# opportunities. Below 0.7 the best candidate is therefore about as good as an unrelated one:
# 17 of the 160 seed opportunities fall below it.
GAP_SCORE = 0.7

UNSET = "（未填写）"


@dataclass
class Gap:
    ext_id: str
    title: str
    field: str | None
    district: str | None
    score: float | None  # None: no published capability at all
    capability: str | None  # list id of the best capability
    capability_title: str | None


@dataclass
class Overview:
    statuses: dict[str, dict[str, int]]  # kind -> status -> count
    by_field: list[tuple[str, int, int]]  # (name, opportunities, capabilities), non-archived
    by_district: list[tuple[str, int, int]]
    pending_review: int
    gaps: list[Gap] | None  # None while the matcher is still loading
    gap_score: float = GAP_SCORE


def overview(context: Context, session: Session) -> Overview:
    return Overview(
        statuses={kind: status_counts(session, kind) for kind in (OPPORTUNITY, CAPABILITY)},
        by_field=side_by_side(session, "field"),
        by_district=side_by_side(session, "district"),
        pending_review=status_counts(session, CAPABILITY).get(Status.pending_review.value, 0),
        gaps=gaps(context, session) if context.matches_ready else None,
    )


def status_counts(session: Session, kind: str) -> dict[str, int]:
    table = TABLES[kind]
    rows = session.exec(select(table.status, func.count()).group_by(table.status)).all()
    counts = {status.value: 0 for status in Status}
    counts.update({Status(status).value: n for status, n in rows})
    return counts


def _counts_by(session: Session, kind: str, key: str) -> dict[str, int]:
    table = TABLES[kind]
    column = getattr(table, key)
    rows = session.exec(select(column, func.count()).where(table.status != Status.archived)
                        .group_by(column)).all()
    out: dict[str, int] = {}
    for value, n in rows:
        name = (value or "").strip() or UNSET
        out[name] = out.get(name, 0) + n
    return out


def side_by_side(session: Session, key: str) -> list[tuple[str, int, int]]:
    """Non-archived entries of both lists counted by ``key``, busiest first, unset last."""
    opps, caps = _counts_by(session, OPPORTUNITY, key), _counts_by(session, CAPABILITY, key)
    names = sorted(opps.keys() | caps.keys(),
                   key=lambda n: (n == UNSET, -(opps.get(n, 0) + caps.get(n, 0)), n))
    return [(name, opps.get(name, 0), caps.get(name, 0)) for name in names]


# -- gaps ----------------------------------------------------------------------------------
_cache: weakref.WeakKeyDictionary[Context, tuple[Any, list[Gap]]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def _state(context: Context, session: Session) -> tuple[Any, ...]:
    """Changes whenever an entry, a vector or a pair mark changes, or the matcher is replaced."""
    parts: list[Any] = [id(context.matches)]
    for table in (*TABLES.values(), PairReview):
        parts += session.exec(select(func.count(), func.max(table.updated_at))).one()
    parts += session.exec(select(func.count(), func.max(Embedding.id))).one()
    return tuple(parts)


def gaps(context: Context, session: Session) -> list[Gap]:
    """Published opportunities without a good published capability, worst first. Scoring every
    pair takes ~0.1 s on the seed lists; the answer is kept until anything it depends on changes."""
    state = _state(context, session)
    with _cache_lock:
        cached = _cache.get(context)
        if cached and cached[0] == state:
            return cached[1]
    found = _find_gaps(context, session)
    with _cache_lock:
        _cache[context] = (state, found)
    return found


def _find_gaps(context: Context, session: Session) -> list[Gap]:
    service = context.matches
    with service.lock:
        opp_rows = {i: r for i, r in service.rows[OPPORTUNITY].items() if r.status == Status.published}
        cap_rows = {i: r for i, r in service.rows[CAPABILITY].items() if r.status == Status.published}
        opp_ids, cap_ids = list(opp_rows), list(cap_rows)
        scores = service.matcher.score_matrix(opp_ids, cap_ids) if opp_ids else np.zeros((0, 0))
    scores = _without_excluded(session, scores, opp_ids, cap_ids)
    confirmed = _confirmed_opportunities(session)
    best: list[tuple[int, float | None, int | None]] = []
    for row, opp_id in enumerate(opp_ids):
        if opp_id in confirmed:
            continue  # an organiser has already found it a supplier
        if not cap_ids or not np.isfinite(scores[row].max()):
            best.append((opp_id, None, None))
            continue
        col = int(scores[row].argmax())
        if scores[row, col] < GAP_SCORE:
            best.append((opp_id, float(scores[row, col]), cap_ids[col]))
    return _describe(session, best)


def _without_excluded(session: Session, scores: np.ndarray, opp_ids: list[int],
                      cap_ids: list[int]) -> np.ndarray:
    """An excluded pair cannot close a gap."""
    rows = {opp_id: r for r, opp_id in enumerate(opp_ids)}
    cols = {cap_id: c for c, cap_id in enumerate(cap_ids)}
    out = scores.astype(np.float64, copy=True)
    excluded = session.exec(select(PairReview).where(PairReview.mark == ReviewMark.excluded)).all()
    for review in excluded:
        if review.opportunity_id in rows and review.capability_id in cols:
            out[rows[review.opportunity_id], cols[review.capability_id]] = -np.inf
    return out


def _confirmed_opportunities(session: Session) -> set[int]:
    query = (select(PairReview.opportunity_id)
             .join(Capability, Capability.id == PairReview.capability_id)
             .where(PairReview.mark == ReviewMark.confirmed, Capability.status == Status.published))
    return set(session.exec(query).all())


def _describe(session: Session, best: list[tuple[int, float | None, int | None]]) -> list[Gap]:
    opps = _by_id(session, OPPORTUNITY, [opp_id for opp_id, _, _ in best])
    caps = _by_id(session, CAPABILITY, [cap_id for _, _, cap_id in best if cap_id is not None])
    out = []
    for opp_id, score, cap_id in best:
        opp, cap = opps.get(opp_id), caps.get(cap_id) if cap_id is not None else None
        if opp is not None:
            out.append(Gap(opp.ext_id, opp.title, opp.field, opp.district, score,
                           cap.ext_id if cap else None, cap.title if cap else None))
    return sorted(out, key=lambda g: (g.score is not None, g.score or 0.0, g.ext_id))


def _by_id(session: Session, kind: str, ids: list[int]) -> dict[int, Any]:
    if not ids:
        return {}
    table = TABLES[kind]
    return {row.id: row for row in session.exec(select(table).where(table.id.in_(ids))).all()}
