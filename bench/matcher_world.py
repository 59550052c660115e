"""A matcher filled with synthetic capabilities, for timing `matching/` in-process at sizes the
served service cannot reach in bounded time (1M), and for before/after runs of the engine.

The 160 seed opportunities (stored vectors and requirement vectors of a seeded data dir,
tokens from their texts) against the 320 seed capabilities plus synthetic ones: vectors as
``common.synthetic_vectors`` makes them, tokens as ``common.add_synthetic_capabilities``
makes the texts (a seed capability's title and description, a variant word, the first
sentence of another, a stock phrase), tokenized piece by piece so that 1M entries do not
take a quarter of an hour of jieba. Fields follow the seed entry the synthetic one copies.
"""
from __future__ import annotations

import contextlib
import random
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import common
import numpy as np

from matching.engine import CAPABILITY, OPPORTUNITY, Entry
from matching.language import detect
from matching.lexical import tokenize
from matching.text import entry_text, requirement_clauses


@dataclass
class World:
    opportunities: list[Entry]
    capabilities: list[Entry]
    queries: list[tuple[str, list[str]]]  # (text, tokens) of the short searches
    seed_caps: int


def _rows(db: Path, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(db)) as con:
        return con.execute(sql).fetchall()


def build(n: int, *, seed: int = 7) -> World:
    template, _ = common.seeded_template()
    db = template / "scenario-match.db"
    vectors = {**{("o",) + k: v for k, v in common.stored_vectors(db, "opportunity").items()},
               **{("c",) + k: v for k, v in common.stored_vectors(db, "capability").items()}}
    opportunities = []
    for oid, title, description, requirements, field in _rows(
            db, "SELECT id, title, description, requirements, field FROM opportunity WHERE status = 'published'"):
        text = entry_text(title, description, requirements)
        clauses = requirement_clauses(requirements, description)
        clause_vectors = np.stack([vectors["o", oid, j + 1] for j in range(len(clauses))]) if clauses else None
        opportunities.append(Entry(oid, vectors["o", oid, 0], detect(text), tokenize(text), field,
                                   clause_vectors, clauses))
    seed_rows = _rows(db, "SELECT id, title, description, field FROM capability WHERE status = 'published'")
    capabilities = []
    pieces: dict[str, list[str]] = {}

    def tokens_of(text: str) -> list[str]:
        if text not in pieces:
            pieces[text] = tokenize(text)
        return pieces[text]

    for cid, title, description, field in seed_rows:
        text = entry_text(title, description)
        capabilities.append(Entry(cid, vectors["c", cid, 0], detect(text), tokenize(text), field))
    extra = n - len(capabilities)
    if extra > 0:
        rng, pick = np.random.default_rng(seed), random.Random(seed)
        seed_vectors = np.stack([vectors["c", r[0], 0] for r in seed_rows])
        synthetic = common.synthetic_vectors(seed_vectors, extra, rng)
        next_id = max(r[0] for r in seed_rows) + 1
        for i in range(extra):
            src, other = seed_rows[pick.randrange(len(seed_rows))], seed_rows[pick.randrange(len(seed_rows))]
            variant, stock = pick.choice(common._VARIANTS), pick.choice(common._EXTRA)
            first = [s for s in other[2].split("。") if s][:1]
            tokens = (tokens_of(src[1]) + tokens_of(variant) + tokens_of(src[2])
                      + (tokens_of(first[0]) if first else []) + tokens_of(stock))
            capabilities.append(Entry(next_id + i, synthetic[i], "zh", tokens, src[3]))
    queries = [(q, tokenize(q)) for q in common.SEARCHES]
    return World(opportunities, capabilities, queries, len(seed_rows))


def timed(call, items, *, limit: int, budget: float) -> list[float]:
    out, began_all = [], time.perf_counter()
    for i in range(limit):
        began = time.perf_counter()
        call(items[i % len(items)])
        out.append(time.perf_counter() - began)
        if time.perf_counter() - began_all > budget and len(out) >= 5:
            break
    return out


def measure(matcher_class, world: World, encoder, *, limit: int, budget: float,
            label: str) -> dict:
    """Load ``world`` into a fresh matcher and time its queries as the service asks them
    (always with ``allowed``: the published entries, here all of them)."""
    from matching.priors import load_priors

    priors = load_priors(encoder.name)
    out: dict = {"label": label}
    began = time.perf_counter()
    matcher = matcher_class(encoder.dim, priors=priors)
    matcher.load(world.opportunities, world.capabilities)
    out["load_s"] = time.perf_counter() - began
    index = matcher.sides[CAPABILITY].index
    out["index"] = index.describe() if hasattr(index, "describe") else "exact"
    all_caps = {e.id for e in world.capabilities}
    all_opps = {e.id for e in world.opportunities}
    opp_ids = [e.id for e in world.opportunities]
    cap_ids = [e.id for e in world.capabilities[: world.seed_caps]]
    query_vectors = encoder.encode_queries([q for q, _ in world.queries])
    searches = [(matcher.correct(OPPORTUNITY, v, detect(q)), tokens)
                for v, (q, tokens) in zip(query_vectors, world.queries)]
    common.log(f"[{label}] {len(world.capabilities)} loaded in {out['load_s']:.1f} s ({out['index']})")

    out["first_best_s"] = timed(lambda o: matcher.for_opportunity(o, 10, all_caps), opp_ids, limit=1, budget=0)[0]
    out["best"] = timed(lambda o: matcher.for_opportunity(o, 10, all_caps), opp_ids[1:], limit=limit, budget=budget)
    out["reverse"] = timed(lambda c: matcher.for_capability(c, 10, all_opps), cap_ids, limit=limit, budget=budget)
    out["search"] = timed(lambda s: matcher.search(CAPABILITY, s[0], s[1], 100, all_caps), searches,
                          limit=limit, budget=budget)
    # a firm's submission: one capability upserted, then the next best-matches call
    new = world.capabilities[0]
    after = []
    for i in range(3):
        began = time.perf_counter()
        matcher.upsert(CAPABILITY, Entry(10**9 + i, new.vector, new.lang, new.tokens, new.field))
        all_caps.add(10**9 + i)
        upsert = time.perf_counter() - began
        began = time.perf_counter()
        matcher.for_opportunity(opp_ids[i], 10, all_caps)
        after.append((upsert, time.perf_counter() - began))
    out["upsert"] = [a for a, _ in after]
    out["next_best"] = [b for _, b in after]
    out["rss_mib"] = common.rss_mib()
    out["matcher"] = matcher
    return out


def top_ids(matcher, world: World, k: int = 10) -> list[list[int]]:
    allowed = {e.id for e in world.capabilities}
    return [[m.capability for m in matcher.for_opportunity(o.id, k, allowed)] for o in world.opportunities]
