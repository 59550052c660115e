"""Both lists in memory, ready to match: corrected vectors in FAISS, BM25, fused ranking.

The caller owns the data (ids and raw vectors); this keeps derived state in step with it:
``load`` for everything at once, ``upsert``/``remove`` one entry at a time.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field

import numpy as np

from matching.index import VectorIndex
from matching.language import LanguageCentering
from matching.lexical import LexicalIndex
from matching.scoring import Parts, Weights, score_parts

OPPORTUNITY = "opportunity"
CAPABILITY = "capability"
CLAUSE = "clause"


@dataclass
class Entry:
    """One list entry as the matcher needs it. ``clauses`` only for opportunities."""

    id: int
    vector: np.ndarray
    lang: str
    tokens: list[str]
    field: str | None = None
    clauses: np.ndarray | None = None
    clause_texts: list[str] = dataclass_field(default_factory=list)


@dataclass
class Match:
    opportunity: int
    capability: int
    score: float
    dense: float
    coverage: float
    lexical: float
    same_field: bool
    shared_terms: list[str]
    covered: list[str]
    requirements: int


class _Side:
    """One list: entries, language-corrected vectors in a FAISS index, a lazy BM25 index."""

    def __init__(self, dim: int):
        self.entries: dict[int, Entry] = {}
        self.corrected: dict[int, np.ndarray] = {}
        self.index = VectorIndex(dim)
        self._lexical: tuple[list[int], LexicalIndex] | None = None

    def lexical(self) -> tuple[list[int], LexicalIndex]:
        if self._lexical is None:
            ids = list(self.entries)
            self._lexical = (ids, LexicalIndex([self.entries[i].tokens for i in ids]))
        return self._lexical

    def put(self, entry: Entry, corrected: np.ndarray) -> None:
        self.entries[entry.id] = entry
        self.corrected[entry.id] = corrected
        self.index.add([entry.id], corrected[None, :])
        self._lexical = None

    def fill(self, prepared: list[tuple[Entry, np.ndarray]]) -> None:
        """Everything at once into an empty side: one FAISS add, not one per entry."""
        for entry, corrected in prepared:
            self.entries[entry.id] = entry
            self.corrected[entry.id] = corrected
        if prepared:
            self.index.add([e.id for e, _ in prepared], np.stack([c for _, c in prepared]))
        self._lexical = None

    def drop(self, entry_id: int) -> None:
        if self.entries.pop(entry_id, None) is not None:
            self.corrected.pop(entry_id)
            self.index.remove([entry_id])
            self._lexical = None


class Matcher:
    """Ranks capabilities for an opportunity and the reverse, with the parts of each score."""

    def __init__(self, dim: int, *, weights: Weights | None = None, candidates: int = 200,
                 correct_language: bool = True, priors: dict[str, dict[str, np.ndarray]] | None = None):
        self.dim = dim
        self.priors = priors or {}
        self.weights = weights or Weights()
        self.correct_language = correct_language
        self.candidates = candidates
        self.sides = {OPPORTUNITY: _Side(dim), CAPABILITY: _Side(dim)}
        identity = LanguageCentering({}, np.zeros(dim, np.float32))
        self._centering = {OPPORTUNITY: identity, CAPABILITY: identity, CLAUSE: identity}
        self._lexical_rows: dict[int, np.ndarray] = {}

    # -- keeping in step with the caller's data -------------------------------------------
    def load(self, opportunities: Iterable[Entry], capabilities: Iterable[Entry]) -> None:
        """Replace everything; fits the language correction on these vectors, apart for each
        kind of vector (opportunities, capabilities, requirements), whose prefixes and styles
        differ."""
        opportunities, capabilities = list(opportunities), list(capabilities)
        if self.correct_language:
            clauses = [(c, e.lang) for e in opportunities if e.clauses is not None for c in e.clauses]
            for role, rows in ((OPPORTUNITY, [(e.vector, e.lang) for e in opportunities]),
                               (CAPABILITY, [(e.vector, e.lang) for e in capabilities]),
                               (CLAUSE, clauses)):
                if rows or role in self.priors:
                    vectors = np.stack([v for v, _ in rows]) if rows else np.zeros((0, self.dim), np.float32)
                    self._centering[role] = LanguageCentering.fit(
                        vectors, [lang for _, lang in rows], self.priors.get(role))
        self.sides = {OPPORTUNITY: _Side(self.dim), CAPABILITY: _Side(self.dim)}
        self.sides[OPPORTUNITY].fill([self._prepare(OPPORTUNITY, e) for e in opportunities])
        self.sides[CAPABILITY].fill([self._prepare(CAPABILITY, e) for e in capabilities])
        self._lexical_rows.clear()

    def _prepare(self, side: str, entry: Entry) -> tuple[Entry, np.ndarray]:
        """The entry with corrected requirement vectors (the caller's keeps its raw ones), and
        its corrected vector."""
        corrected = self.correct(side, entry.vector, entry.lang)
        if entry.clauses is not None and len(entry.clauses):
            clauses = self._centering[CLAUSE].transform(entry.clauses, [entry.lang] * len(entry.clauses))
            entry = replace(entry, clauses=clauses)
        return entry, corrected

    def upsert(self, side: str, entry: Entry) -> None:
        self.sides[side].put(*self._prepare(side, entry))
        self._lexical_rows.clear()

    def remove(self, side: str, entry_id: int) -> None:
        self.sides[side].drop(entry_id)
        self._lexical_rows.clear()

    def correct(self, side: str, vector: np.ndarray, lang: str) -> np.ndarray:
        """A raw vector made like ``side``'s (same prefix), corrected for its language."""
        return self._centering[side].transform(vector, [lang])[0]

    # -- scoring ------------------------------------------------------------------------------
    def _lexical_row(self, opportunity_id: int) -> dict[int, float]:
        """BM25 of the opportunity against every capability, scaled by its best."""
        if opportunity_id not in self._lexical_rows:
            ids, lexical = self.sides[CAPABILITY].lexical()
            row = lexical.scores(self.sides[OPPORTUNITY].entries[opportunity_id].tokens)
            top = float(row.max()) if len(row) else 0.0
            self._lexical_rows[opportunity_id] = (ids, row / top if top > 0 else row)
        ids, row = self._lexical_rows[opportunity_id]
        return dict(zip(ids, row.tolist()))

    def _parts(self, opportunity_id: int, capability_ids: list[int]) -> Parts:
        opp = self.sides[OPPORTUNITY].entries[opportunity_id]
        caps = self.sides[CAPABILITY]
        lexical = self._lexical_row(opportunity_id)
        return score_parts(
            vector=self.sides[OPPORTUNITY].corrected[opportunity_id],
            clauses=opp.clauses if opp.clauses is not None else np.zeros((0, self.dim), np.float32),
            field=opp.field,
            capability_vectors=np.stack([caps.corrected[c] for c in capability_ids])
            if capability_ids
            else np.zeros((0, self.dim), np.float32),
            capability_fields=[caps.entries[c].field for c in capability_ids],
            lexical=np.array([lexical.get(c, 0.0) for c in capability_ids], np.float32),
        )

    def _match(self, opportunity_id: int, capability_id: int, parts: Parts, i: int,
               totals: np.ndarray) -> Match:
        opp = self.sides[OPPORTUNITY].entries[opportunity_id]
        cap = self.sides[CAPABILITY].entries[capability_id]
        _, lexical = self.sides[CAPABILITY].lexical()
        return Match(
            opportunity=opportunity_id,
            capability=capability_id,
            score=float(totals[i]),
            dense=float(parts.dense[i]),
            coverage=float(parts.coverage[i]),
            lexical=float(parts.lexical[i]),
            same_field=bool(parts.same_field[i]),
            shared_terms=lexical.shared_terms(opp.tokens, cap.tokens),
            covered=[opp.clause_texts[j] for j in parts.covered(i) if j < len(opp.clause_texts)],
            requirements=len(opp.clause_texts),
        )

    # -- candidates ---------------------------------------------------------------------------
    def _candidates(self, side: str, vector: np.ndarray, tokens: list[str], allowed: set[int] | None) -> list[int]:
        """Nearest neighbours in FAISS joined with the best BM25 hits, within ``allowed``."""
        target = self.sides[side]
        k = min(len(target.index), max(self.candidates, 1))
        found: list[int] = []
        if k:
            _, ids = target.index.search(vector[None, :], k if allowed is None else len(target.index))
            found = [int(i) for i in ids[0] if i >= 0]
        ids, lexical = target.lexical()
        scores = lexical.scores(tokens)
        found += [ids[p] for p in np.argsort(-scores)[: self.candidates // 4] if scores[p] > 0]
        unique = list(dict.fromkeys(found))
        return [i for i in unique if allowed is None or i in allowed]

    # -- queries --------------------------------------------------------------------------------
    def pairs(self, opportunity_id: int, capability_ids: list[int]) -> list[Match]:
        """The given pairs, scored, in the order given (unknown capabilities are skipped)."""
        caps = [c for c in capability_ids if c in self.sides[CAPABILITY].entries]
        if not caps:
            return []
        parts = self._parts(opportunity_id, caps)
        totals = parts.total(self.weights)
        return [self._match(opportunity_id, c, parts, i, totals) for i, c in enumerate(caps)]

    def for_opportunity(self, opportunity_id: int, k: int = 10, allowed: set[int] | None = None) -> list[Match]:
        opp = self.sides[OPPORTUNITY].entries[opportunity_id]
        vector = self.sides[OPPORTUNITY].corrected[opportunity_id]
        caps = [c for c in self._candidates(CAPABILITY, vector, opp.tokens, allowed)
                if c in self.sides[CAPABILITY].entries]
        if not caps:
            return []
        parts = self._parts(opportunity_id, caps)
        totals = parts.total(self.weights)
        # reasons (shared terms, covered requirements) only for the pairs returned
        best = np.argsort(-totals, kind="stable")[:k]
        return [self._match(opportunity_id, caps[i], parts, int(i), totals) for i in best]

    def for_capability(self, capability_id: int, k: int = 10, allowed: set[int] | None = None) -> list[Match]:
        cap = self.sides[CAPABILITY].entries[capability_id]
        vector = self.sides[CAPABILITY].corrected[capability_id]
        opps = self._candidates(OPPORTUNITY, vector, cap.tokens, allowed)
        scored = [m for opp_id in opps for m in self.pairs(opp_id, [capability_id])]
        return sorted(scored, key=lambda m: -m.score)[:k]

    def search(self, side: str, vector: np.ndarray, tokens: list[str], k: int = 10,
               allowed: set[int] | None = None, lexical_weight: float | None = None) -> list[tuple[int, float]]:
        """Free text against one list: corrected cosine plus scaled BM25, best first.

        ``vector`` is already corrected (see ``correct``)."""
        target = self.sides[side]
        found = self._candidates(side, vector, tokens, allowed)
        if not found:
            return []
        ids, lexical = target.lexical()
        row = lexical.scores(tokens)
        top = float(row.max()) if len(row) else 0.0
        lex = dict(zip(ids, (row / top if top > 0 else row).tolist()))
        weight = self.weights.lexical if lexical_weight is None else lexical_weight
        dense = np.stack([target.corrected[i] for i in found]) @ vector
        scored = [(i, float(d) + weight * lex.get(i, 0.0)) for i, d in zip(found, dense)]
        return sorted(scored, key=lambda pair: -pair[1])[:k]

    def score_matrix(self, opportunity_ids: list[int], capability_ids: list[int]) -> np.ndarray:
        """Fused scores of every pair (rows: opportunities), for pairing and evaluation."""
        out = np.zeros((len(opportunity_ids), len(capability_ids)), np.float32)
        for r, opp_id in enumerate(opportunity_ids):
            if capability_ids:
                out[r] = self._parts(opp_id, capability_ids).total(self.weights)
        return out
