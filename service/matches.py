"""The matcher kept in step with the database, answering in the lists' own ids with reasons."""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import threading

import numpy as np
from sqlmodel import Session, select

from matching.engine import CAPABILITY, OPPORTUNITY, Entry, Match, Matcher
from matching.language import detect
from matching.lexical import tokenize
from matching.priors import load_priors
from matching.scoring import Weights
from service import embeddings
from service.embeddings import TABLES, parts_of
from service.models import PairReview, ReviewMark, Status


ID_CHUNK = 2000  # ids per query: SQLite allows 32766 parameters, PostgreSQL 65535


@dataclass
class Filters:
    """Which entries of the other list may be proposed."""

    field: str | None = None
    district: str | None = None
    statuses: tuple[Status, ...] = (Status.published,)


@dataclass
class Proposal:
    other: str  # the other entry's list id
    score: float
    reasons: list[str]
    detail: dict[str, Any]
    review: str | None = None

    def as_json(self, key: str) -> dict[str, Any]:
        return {key: self.other, "score": round(self.score, 4), "reasons": self.reasons,
                "review": self.review, "detail": self.detail}


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reasons(match: Match, field_name: str | None, cross_language: bool) -> list[str]:
    """Why a pair is proposed, in the organiser's words."""
    out = []
    if match.requirements:
        covered = "；".join(_short(c) for c in match.covered[:3])
        out.append(f"需求覆盖 {len(match.covered)}/{match.requirements}" + (f"：{covered}" if covered else ""))
    if match.shared_terms:
        out.append("共同关键词：" + "、".join(match.shared_terms))
    if match.same_field and field_name:
        out.append(f"同属领域：{field_name}")
    out.append(f"语义相似度 {match.dense:.2f}" + ("（跨语言）" if cross_language else ""))
    return out


@dataclass
class _Row:
    ext_id: str
    status: Status
    field: str | None
    district: str | None
    lang: str
    maturity: str | None = None


@dataclass
class MatchService:
    model: str
    dim: int
    weights: Weights = dataclass_field(default_factory=Weights)
    correct_language: bool = True

    def __post_init__(self) -> None:
        priors = load_priors(self.model) if self.correct_language else None
        self.matcher = Matcher(self.dim, weights=self.weights, correct_language=self.correct_language,
                               priors=priors)
        # web requests read while imports and edits write: one writer or reader at a time
        self.lock = threading.RLock()
        self.rows: dict[str, dict[int, _Row]] = {OPPORTUNITY: {}, CAPABILITY: {}}
        self.by_ext: dict[str, dict[str, int]] = {OPPORTUNITY: {}, CAPABILITY: {}}
        # the ids each filter lets through, until the next change (one set per filter in use)
        self._allowed_cache: dict[tuple, frozenset[int]] = {}

    # -- keeping in step -----------------------------------------------------------------
    def _entries(self, session: Session, kind: str, ids: list[int] | None = None) -> list[Entry]:
        table = TABLES[kind]
        query = select(table).where(table.status != Status.archived)
        if ids is not None:
            query = query.where(table.id.in_(ids))
        vectors = embeddings.load(session, kind, self.model, ids)
        tokens = embeddings.load_tokens(session, kind, self.model, ids)
        out = []
        for row in session.exec(query).all():
            parts = parts_of(kind, row)
            stored = vectors.get(row.id, {})
            if any(p.part not in stored for p in parts):
                continue  # not embedded with this model yet
            lang = detect(parts[0].text)
            clauses = np.stack([stored[p.part] for p in parts[1:]]) if len(parts) > 1 else None
            hashed, words = tokens.get(row.id, ("", []))
            words = words if hashed == parts[0].hash else tokenize(parts[0].text)
            out.append(Entry(row.id, stored[0], lang, words, row.field,
                             clauses, [p.text for p in parts[1:]]))
            self.rows[kind][row.id] = _Row(row.ext_id, row.status, row.field, row.district, lang,
                                           getattr(row, "maturity", None))
            self.by_ext[kind][row.ext_id] = row.id
        return out

    def rebuild(self, session: Session) -> None:
        """Everything from stored vectors (nothing is encoded here)."""
        with self.lock:
            self._allowed_cache.clear()
            self.rows = {OPPORTUNITY: {}, CAPABILITY: {}}
            self.by_ext = {OPPORTUNITY: {}, CAPABILITY: {}}
            self.matcher.load(self._entries(session, OPPORTUNITY), self._entries(session, CAPABILITY))
            self.matcher.warm()

    def refresh(self, session: Session, kind: str, ids: list[int]) -> None:
        """Bring these entries (changed, added, archived or deleted) into the matcher."""
        with self.lock:
            self._refresh(session, kind, ids)

    def _refresh(self, session: Session, kind: str, ids: list[int]) -> None:
        if len(ids) > ID_CHUNK:  # _entries reads them with one IN (...): databases cap its parameters
            for start in range(0, len(ids), ID_CHUNK):
                self._refresh(session, kind, ids[start : start + ID_CHUNK])
            return
        self._allowed_cache.clear()
        for entry_id in ids:
            self.matcher.remove(kind, entry_id)
            old = self.rows[kind].pop(entry_id, None)
            if old:
                self.by_ext[kind].pop(old.ext_id, None)
        for entry in self._entries(session, kind, ids):
            self.matcher.upsert(kind, entry)
        self.matcher.warm()

    # -- answering -----------------------------------------------------------------------------
    def has(self, kind: str, ext_id: str) -> bool:
        return ext_id in self.by_ext[kind]

    def published(self, kind: str) -> list[str]:
        """List ids of the published entries, in list-id order."""
        return sorted(r.ext_id for r in self.rows[kind].values() if r.status == Status.published)

    def choices(self, kind: str, key: str) -> list[str]:
        """The values of ``key`` (field, district, maturity) among published entries, sorted:
        the list pages' filter options, without a DISTINCT over the table per page view."""
        cache_key = ("choices", kind, key)
        values = self._allowed_cache.get(cache_key)
        if values is None:
            values = self._allowed_cache[cache_key] = sorted(
                {getattr(r, key) for r in self.rows[kind].values() if r.status == Status.published} - {None, ""})
        return list(values)

    def _allowed(self, kind: str, filters: Filters) -> frozenset[int]:
        key = (kind, filters.field, filters.district, tuple(filters.statuses))
        allowed = self._allowed_cache.get(key)
        if allowed is None:
            allowed = self._allowed_cache[key] = frozenset(
                i for i, r in self.rows[kind].items()
                if r.status in filters.statuses
                and (not filters.field or r.field == filters.field)
                and (not filters.district or r.district == filters.district)
            )
            if len(self._allowed_cache) > 64:  # filters by many fields/districts: keep it bounded
                self._allowed_cache.pop(next(iter(self._allowed_cache)))
        return allowed

    def _proposals(self, session: Session, matches: list[Match], kind_of_other: str, k: int,
                   include_excluded: bool) -> list[Proposal]:
        marks = _marks(session, matches)
        out = []
        for m in matches:
            mark = marks.get((m.opportunity, m.capability))
            if mark == ReviewMark.excluded and not include_excluded:
                continue
            other = m.capability if kind_of_other == CAPABILITY else m.opportunity
            opp, cap = self.rows[OPPORTUNITY][m.opportunity], self.rows[CAPABILITY][m.capability]
            detail = {"dense": round(m.dense, 4), "coverage": round(m.coverage, 4),
                      "lexical": round(m.lexical, 4), "shared_terms": m.shared_terms,
                      "covered_requirements": m.covered, "same_field": m.same_field}
            out.append(Proposal(self.rows[kind_of_other][other].ext_id, m.score,
                                reasons(m, opp.field, opp.lang != cap.lang), detail,
                                mark.value if mark else None))
        # a confirmed pair stays on the list whatever its score
        out.sort(key=lambda p: (p.review != ReviewMark.confirmed.value, -p.score))
        return out[:k]

    def score_matrix(self, opportunities: list[str], capabilities: list[str]) -> np.ndarray:
        """Fused scores (rows: opportunities) by list ids; -inf for an entry not in the matcher."""
        with self.lock:
            opp_ids = [self.by_ext[OPPORTUNITY].get(e) for e in opportunities]
            cap_ids = [self.by_ext[CAPABILITY].get(e) for e in capabilities]
            known_o = [i for i in opp_ids if i is not None]
            known_c = [i for i in cap_ids if i is not None]
            inner = self.matcher.score_matrix(known_o, known_c)
            out = np.full((len(opp_ids), len(cap_ids)), -np.inf, np.float32)
            rows = [r for r, i in enumerate(opp_ids) if i is not None]
            cols = [c for c, i in enumerate(cap_ids) if i is not None]
            out[np.ix_(rows, cols)] = inner
            return out

    def search(self, kind: str, vector: np.ndarray, text: str, k: int = 10,
               filters: Filters | None = None, made_as: str = OPPORTUNITY) -> list[tuple[str, float]]:
        """Text encoded like ``made_as`` entries (an opportunity's query, or a capability's
        passage) against one list: (list id, score), best first."""
        with self.lock:
            corrected = self.matcher.correct(made_as, vector, detect(text))
            found = self.matcher.search(kind, corrected, tokenize(text), k, self._allowed(kind, filters or Filters()))
            return [(self.rows[kind][i].ext_id, score) for i, score in found]

    def for_opportunity(self, session: Session, ext_id: str, k: int = 10, filters: Filters | None = None,
                        include_excluded: bool = False) -> list[Proposal]:
        with self.lock:
            return self._for_opportunity(session, ext_id, k, filters, include_excluded)

    def for_capability(self, session: Session, ext_id: str, k: int = 10, filters: Filters | None = None,
                       include_excluded: bool = False) -> list[Proposal]:
        with self.lock:
            return self._for_capability(session, ext_id, k, filters, include_excluded)

    def _for_opportunity(self, session: Session, ext_id: str, k: int, filters: Filters | None,
                         include_excluded: bool) -> list[Proposal]:
        opp_id = self.by_ext[OPPORTUNITY][ext_id]
        allowed = self._allowed(CAPABILITY, filters or Filters())
        confirmed = _confirmed(session, opportunity_id=opp_id)
        matches = self.matcher.for_opportunity(opp_id, k + _excluded_count(session, opportunity_id=opp_id), allowed)
        matches += [m for m in self.matcher.pairs(opp_id, confirmed) if m.capability not in {x.capability for x in matches}]
        return self._proposals(session, matches, CAPABILITY, k, include_excluded)

    def _for_capability(self, session: Session, ext_id: str, k: int, filters: Filters | None,
                        include_excluded: bool) -> list[Proposal]:
        cap_id = self.by_ext[CAPABILITY][ext_id]
        allowed = self._allowed(OPPORTUNITY, filters or Filters())
        matches = self.matcher.for_capability(cap_id, k + _excluded_count(session, capability_id=cap_id), allowed)
        return self._proposals(session, matches, OPPORTUNITY, k, include_excluded)


def _marks(session: Session, matches: list[Match]) -> dict[tuple[int, int], ReviewMark]:
    if not matches:
        return {}
    opps = {m.opportunity for m in matches}
    rows = session.exec(select(PairReview).where(PairReview.opportunity_id.in_(opps))).all()
    return {(r.opportunity_id, r.capability_id): ReviewMark(r.mark) for r in rows}


def _confirmed(session: Session, *, opportunity_id: int) -> list[int]:
    rows = session.exec(select(PairReview).where(
        PairReview.opportunity_id == opportunity_id, PairReview.mark == ReviewMark.confirmed)).all()
    return [r.capability_id for r in rows]


def _excluded_count(session: Session, **where: int) -> int:
    query = select(PairReview).where(PairReview.mark == ReviewMark.excluded)
    for column, value in where.items():
        query = query.where(getattr(PairReview, column) == value)
    return len(session.exec(query).all())
