"""Both lists in memory, ready to match: corrected vectors in FAISS, BM25, fused ranking.

The caller owns the data (ids and raw vectors); this keeps derived state in step with it:
``load`` for everything at once, ``upsert``/``remove`` one entry at a time.
"""
from __future__ import annotations

import math
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field

import numpy as np

from matching.index import IndexPlan, VectorIndex
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


class _Lexical:
    """BM25 over one list, kept current without indexing the whole list again on each change.

    A base index over the entries present at the last build; entries added or changed since
    are scored with the base's statistics (idf, mean length, k1, b) from a small inverted
    index of their own, and base entries changed or removed since are masked out. The base is
    built again once the changes reach ``REBUILD_SHARE`` of it: one upsert used to re-index
    the whole list (seconds at 100k entries) before the next query."""

    REBUILD_SHARE = 0.02
    REBUILD_MIN = 256

    def __init__(self, entries: dict[int, Entry]):
        self.ids = list(entries)
        self.positions = {entry_id: pos for pos, entry_id in enumerate(self.ids)}
        self.index = LexicalIndex([entries[i].tokens for i in self.ids])
        self.live = np.ones(len(self.ids), bool)
        self.masked = 0
        self.length = float(np.mean([max(len(entries[i].tokens), 1) for i in self.ids])) if self.ids else 1.0
        bm25 = getattr(self.index, "_bm25", None)  # bm25s's own parameters, so that both parts agree
        self.k1, self.b = float(getattr(bm25, "k1", 1.5)), float(getattr(bm25, "b", 0.75))
        self.added: dict[int, dict[str, float]] = {}  # id -> term -> BM25 weight
        self.postings: dict[str, dict[int, float]] = {}
        self.tokens: dict[int, list[str]] = {}

    def stale(self) -> bool:
        return len(self.added) + self.masked > max(self.REBUILD_MIN, self.REBUILD_SHARE * len(self.ids))

    def put(self, entry_id: int, tokens: Sequence[str]) -> None:
        self.drop(entry_id)
        counts = Counter(t for t in tokens if t in self.index._df)
        norm = self.k1 * (1 - self.b + self.b * max(len(tokens), 1) / self.length)
        weights = {t: self.index.idf(t) * tf / (tf + norm) for t, tf in counts.items()}
        self.added[entry_id] = weights
        self.tokens[entry_id] = list(tokens)
        for term, weight in weights.items():
            self.postings.setdefault(term, {})[entry_id] = weight

    def drop(self, entry_id: int) -> None:
        pos = self.positions.get(entry_id)
        if pos is not None and self.live[pos]:
            self.live[pos] = False
            self.masked += 1
        for term in self.added.pop(entry_id, {}):
            self.postings[term].pop(entry_id, None)
        self.tokens.pop(entry_id, None)

    def base_row(self, query: Sequence[str]) -> np.ndarray:
        """BM25 of every base entry (in base order; changed or removed ones 0)."""
        row = self.index.scores(query)
        if self.masked:
            row = np.where(self.live, row, np.float32(0))
        return row

    def added_scores(self, query: Sequence[str]) -> dict[int, float]:
        """BM25 of the entries added or changed since the base was built (those above 0)."""
        out: dict[int, float] = {}
        for term in query:
            for entry_id, weight in self.postings.get(term, {}).items():
                out[entry_id] = out.get(entry_id, 0.0) + weight
        return out

    def base_score(self, entry_id: int, query: Sequence[str]) -> float:
        """BM25 of one base entry for the query, from its own tokens and the base's statistics:
        the same value as its place in ``base_row`` without scoring every entry."""
        pos = self.positions[entry_id]
        if not self.live[pos]:
            return 0.0
        doc = self.index.tokens[pos]
        counts = Counter(doc)
        norm = self.k1 * (1 - self.b + self.b * max(len(doc), 1) / self.length)
        return float(sum(self.index.idf(t) * counts[t] / (counts[t] + norm) for t in query if t in counts))

    def added_score(self, entry_id: int, query: Sequence[str]) -> float:
        weights = self.added.get(entry_id, {})
        return float(sum(weights.get(t, 0.0) for t in query))

    def entry_tokens(self, entry_id: int) -> list[str]:
        if entry_id in self.tokens:
            return self.tokens[entry_id]
        return self.index.tokens[self.positions[entry_id]]

    def top(self, query: Sequence[str], m: int, row: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``m`` best (id, BM25 > 0), best first; ``row`` is ``index.scores(query)`` when
        the caller has it already."""
        row = self.base_row(query) if row is None else row
        if self.masked:
            row = np.where(self.live, row, np.float32(0))
        best: list[tuple[int, float]] = []
        if len(row) and m > 0:
            picks = np.argpartition(-row, m - 1)[:m] if m < len(row) else np.arange(len(row))
            best = [(self.ids[p], float(row[p])) for p in picks if row[p] > 0]
        best += list(self.added_scores(query).items())
        return sorted(best, key=lambda pair: -pair[1])[:m]


class _Side:
    """One list: entries, language-corrected vectors in a FAISS index, BM25 (built lazily)."""

    def __init__(self, dim: int, plan: IndexPlan | None = None):
        self.entries: dict[int, Entry] = {}
        self.corrected: dict[int, np.ndarray] = {}
        self.index = VectorIndex(dim, plan)
        self._lexical: _Lexical | None = None
        self.version = 0  # counts BM25 base builds: row caches keyed on it

    def lexical(self) -> _Lexical:
        if self._lexical is None or self._lexical.stale():
            self._lexical = _Lexical(self.entries)
            self.version += 1
        return self._lexical

    def put(self, entry: Entry, corrected: np.ndarray) -> None:
        self.entries[entry.id] = entry
        self.corrected[entry.id] = corrected
        self.index.add([entry.id], corrected[None, :])
        if self._lexical is not None:
            self._lexical.put(entry.id, entry.tokens)

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
            if self._lexical is not None:
                self._lexical.drop(entry_id)


class Matcher:
    """Ranks capabilities for an opportunity and the reverse, with the parts of each score."""

    ROW_CACHE_BYTES = 256 * 2**20
    """BM25 rows (an opportunity against every capability) kept for reuse: at 100k capabilities
    every seed opportunity's row fits; at 1M, 64 rows."""
    FEW_PAIRS = 16
    """Up to this many capabilities of an opportunity whose row is not cached are scored one by
    one (a capability's matches: one pair per opportunity) instead of scoring the whole list."""

    def __init__(self, dim: int, *, weights: Weights | None = None, candidates: int = 200,
                 correct_language: bool = True, priors: dict[str, dict[str, np.ndarray]] | None = None,
                 index_plan: IndexPlan | None = None):
        self.dim = dim
        self.priors = priors or {}
        self.weights = weights or Weights()
        self.correct_language = correct_language
        self.candidates = candidates
        self.index_plan = index_plan
        self.sides = {OPPORTUNITY: _Side(dim, index_plan), CAPABILITY: _Side(dim, index_plan)}
        identity = LanguageCentering({}, np.zeros(dim, np.float32))
        self._centering = {OPPORTUNITY: identity, CAPABILITY: identity, CLAUSE: identity}
        self._rows: OrderedDict[int, np.ndarray] = OrderedDict()  # opportunity -> BM25 base row
        self._tops: dict[int, tuple[float, int]] = {}  # opportunity -> (best BM25, capability)
        self._cached_version = -1

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
        self.sides = {OPPORTUNITY: _Side(self.dim, self.index_plan), CAPABILITY: _Side(self.dim, self.index_plan)}
        self.sides[OPPORTUNITY].fill(self._prepare_all(OPPORTUNITY, opportunities))
        self.sides[CAPABILITY].fill(self._prepare_all(CAPABILITY, capabilities))
        self._forget()

    def warm(self) -> None:
        """Build what the first query would otherwise build (the BM25 indexes, again once the
        changes since the last build make them stale): at 100k entries that is seconds better
        spent at start-up or in a write than in somebody's request."""
        for side in self.sides.values():
            side.lexical()

    def _prepare_all(self, side: str, entries: list[Entry]) -> list[tuple[Entry, np.ndarray]]:
        """``_prepare`` for many: the whole vectors corrected in one matrix operation per
        language instead of one call per entry."""
        if not entries:
            return []
        corrected = self._centering[side].transform(np.stack([e.vector for e in entries]),
                                                    [e.lang for e in entries])
        return [(self._with_clauses(e), c) for e, c in zip(entries, corrected)]

    def _prepare(self, side: str, entry: Entry) -> tuple[Entry, np.ndarray]:
        """The entry with corrected requirement vectors (the caller's keeps its raw ones), and
        its corrected vector."""
        return self._with_clauses(entry), self.correct(side, entry.vector, entry.lang)

    def _with_clauses(self, entry: Entry) -> Entry:
        if entry.clauses is not None and len(entry.clauses):
            clauses = self._centering[CLAUSE].transform(entry.clauses, [entry.lang] * len(entry.clauses))
            entry = replace(entry, clauses=clauses)
        return entry

    def upsert(self, side: str, entry: Entry) -> None:
        self._forget_entry(side, entry.id)
        self.sides[side].put(*self._prepare(side, entry))
        if side == CAPABILITY and self._tops and self._cached_version == self.sides[CAPABILITY].version:
            lexical = self.sides[CAPABILITY].lexical()
            if lexical.stale():
                return
            opps = self.sides[OPPORTUNITY].entries
            for opp_id, (top, best) in list(self._tops.items()):
                score = lexical.added_score(entry.id, opps[opp_id].tokens) if opp_id in opps else 0.0
                if score > top:
                    self._tops[opp_id] = (score, entry.id)

    def remove(self, side: str, entry_id: int) -> None:
        self._forget_entry(side, entry_id)
        self.sides[side].drop(entry_id)

    def _forget(self) -> None:
        self._rows.clear()
        self._tops.clear()

    def _forget_entry(self, side: str, entry_id: int) -> None:
        """Cached BM25 that this entry's change makes wrong: an opportunity's own row and best,
        or the best of every opportunity whose best was this capability."""
        if side == OPPORTUNITY:
            self._rows.pop(entry_id, None)
            self._tops.pop(entry_id, None)
        else:
            for opp_id in [o for o, (_, best) in self._tops.items() if best == entry_id]:
                del self._tops[opp_id]

    def correct(self, side: str, vector: np.ndarray, lang: str) -> np.ndarray:
        """A raw vector made like ``side``'s (same prefix), corrected for its language."""
        return self._centering[side].transform(vector, [lang])[0]

    # -- BM25 of an opportunity against the capabilities, scaled by its best -----------------
    def _capability_lexical(self) -> _Lexical:
        lexical = self.sides[CAPABILITY].lexical()
        if self._cached_version != self.sides[CAPABILITY].version:
            self._forget()
            self._cached_version = self.sides[CAPABILITY].version
        return lexical

    def _row(self, opportunity_id: int) -> np.ndarray:
        """BM25 of the opportunity against every base capability (masked ones included)."""
        lexical = self._capability_lexical()
        row = self._rows.get(opportunity_id)
        if row is None:
            row = lexical.index.scores(self.sides[OPPORTUNITY].entries[opportunity_id].tokens)
            self._rows[opportunity_id] = row
            while len(self._rows) > 1 and len(self._rows) * row.nbytes > self.ROW_CACHE_BYTES:
                self._rows.popitem(last=False)
        else:
            self._rows.move_to_end(opportunity_id)
        return row

    def _top(self, opportunity_id: int) -> float:
        lexical = self._capability_lexical()
        if opportunity_id not in self._tops:
            row = self._row(opportunity_id)
            best = (0.0, -1)
            if len(row):
                live = np.where(lexical.live, row, np.float32(0)) if lexical.masked else row
                p = int(np.argmax(live))
                best = (float(live[p]), lexical.ids[p])
            tokens = self.sides[OPPORTUNITY].entries[opportunity_id].tokens
            for cap_id, score in lexical.added_scores(tokens).items():
                if score > best[0]:
                    best = (score, cap_id)
            self._tops[opportunity_id] = best
        return self._tops[opportunity_id][0]

    def _lexical_values(self, opportunity_id: int, capability_ids: list[int]) -> np.ndarray:
        lexical = self._capability_lexical()
        top = self._top(opportunity_id)
        out = np.zeros(len(capability_ids), np.float32)
        if top <= 0 or not capability_ids:
            return out
        tokens = self.sides[OPPORTUNITY].entries[opportunity_id].tokens
        positions = np.array([lexical.positions.get(c, -1) for c in capability_ids], np.int64)
        base = positions >= 0
        base[base] = lexical.live[positions[base]]
        if base.any() and (opportunity_id in self._rows or base.sum() > self.FEW_PAIRS):
            out[base] = self._row(opportunity_id)[positions[base]]
        elif base.any():  # a capability's matches: a few pairs per opportunity, no whole row
            for i in np.flatnonzero(base):
                out[i] = lexical.base_score(capability_ids[i], tokens)
        for i in np.flatnonzero(~base):
            out[i] = lexical.added_score(capability_ids[i], tokens)
        return out / np.float32(top)

    # -- scoring ------------------------------------------------------------------------------
    def _parts(self, opportunity_id: int, capability_ids: list[int]) -> Parts:
        opp = self.sides[OPPORTUNITY].entries[opportunity_id]
        caps = self.sides[CAPABILITY]
        return score_parts(
            vector=self.sides[OPPORTUNITY].corrected[opportunity_id],
            clauses=opp.clauses if opp.clauses is not None else np.zeros((0, self.dim), np.float32),
            field=opp.field,
            capability_vectors=np.stack([caps.corrected[c] for c in capability_ids])
            if capability_ids
            else np.zeros((0, self.dim), np.float32),
            capability_fields=[caps.entries[c].field for c in capability_ids],
            lexical=self._lexical_values(opportunity_id, capability_ids),
        )

    def _match(self, opportunity_id: int, capability_id: int, parts: Parts, i: int,
               totals: np.ndarray) -> Match:
        opp = self.sides[OPPORTUNITY].entries[opportunity_id]
        cap = self.sides[CAPABILITY].entries[capability_id]
        lexical = self._capability_lexical().index
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
    def _dense_candidates(self, side: str, vector: np.ndarray, allowed: set[int] | None) -> list[int]:
        """The ``candidates`` nearest allowed entries. With a filter, FAISS is asked for as
        many more as the filter is expected to drop, then four times more until enough pass
        (it used to be asked for every entry whenever a filter was given, which the service
        always gives)."""
        index = self.sides[side].index
        n, want = len(index), max(self.candidates, 1)
        if not n or (allowed is not None and not allowed):
            return []
        k = min(n, want if allowed is None else math.ceil(1.25 * want * n / len(allowed)))
        while True:
            _, ids = index.search(vector[None, :], k)
            row = ids[0]
            hits = [int(i) for i in row[row >= 0] if allowed is None or int(i) in allowed]
            if len(hits) >= want or k >= n or (row < 0).any():  # enough, or nothing more to get
                return hits[:want]
            k = min(n, 4 * k)

    def _candidates(self, side: str, vector: np.ndarray, tokens: list[str], allowed: set[int] | None,
                    lexical_row: np.ndarray | None = None) -> list[int]:
        """Nearest neighbours in FAISS joined with the best BM25 hits, within ``allowed``."""
        found = self._dense_candidates(side, vector, allowed)
        found += [i for i, _ in self.sides[side].lexical().top(tokens, self.candidates // 4, lexical_row)]
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
        self._capability_lexical()
        caps = [c for c in self._candidates(CAPABILITY, vector, opp.tokens, allowed, self._row(opportunity_id))
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
        lexical = target.lexical()
        row = lexical.base_row(tokens)
        found = self._candidates(side, vector, tokens, allowed, row)
        if not found:
            return []
        added = lexical.added_scores(tokens)
        top = max(float(row.max()) if len(row) else 0.0, max(added.values(), default=0.0))
        lex = np.array([added.get(i, 0.0) if i in lexical.added else float(row[lexical.positions[i]])
                        for i in found], np.float32)
        if top > 0:
            lex /= np.float32(top)
        weight = self.weights.lexical if lexical_weight is None else lexical_weight
        dense = np.stack([target.corrected[i] for i in found]) @ vector
        scored = [(i, float(d) + weight * float(x)) for i, d, x in zip(found, dense, lex)]
        return sorted(scored, key=lambda pair: -pair[1])[:k]

    def score_matrix(self, opportunity_ids: list[int], capability_ids: list[int]) -> np.ndarray:
        """Fused scores of every pair (rows: opportunities), for pairing and evaluation."""
        out = np.zeros((len(opportunity_ids), len(capability_ids)), np.float32)
        for r, opp_id in enumerate(opportunity_ids):
            if capability_ids:
                out[r] = self._parts(opp_id, capability_ids).total(self.weights)
        return out
