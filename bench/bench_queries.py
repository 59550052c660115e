"""Query latency of the service at 1k, 10k and 100k capabilities, and FAISS alone at 1M.

    python bench/bench_queries.py                           # sizes 1k, 10k, 100k and FAISS at 1M
    python bench/bench_queries.py --sizes 1000 --faiss-n 0  # a quick look

In-service: a temp data dir copied from a seeded one (`scenario-match seed`: 160
opportunities, 320 capabilities with their vectors), filled up to N capabilities with
synthetic rows written straight into SQLite (generated titles and descriptions, and stored
vectors that are perturbed mixes of the seed vectors, with the text hashes the service
computes, so nothing is re-encoded). A real ``Context`` over it rebuilds the matcher from the
database, then, timed one call at a time:

- best matches: ``MatchService.for_opportunity(session, id, 10)`` for the seed opportunities
  (what an opportunity's page asks for);
- free-text search: ``service.entries.search(context, "capability", q, 100)`` (what the list
  page asks for with ?q=; it encodes the query, then ranks), and the query encoding alone.

The first call after the rebuild builds the BM25 index; it is reported apart. Each kind runs
for at most ``--queries`` calls or ``--budget`` seconds. The rebuild ("rebuild s":
``Context.matches``, which also checks that nothing needs encoding) is timed too.

FAISS alone at ``--faiss-n`` vectors (the same kind of synthetic vectors, 384-d, inner
product), 200 queries (the seed opportunities' vectors and perturbed copies): exact
(IndexFlatIP) against HNSW (IndexHNSWFlat M=32) and IVF (IndexIVFFlat, nlist = 4·√n), with
recall@10 against exact, build time, resident memory and single-query latency. HNSW is built
in chunks and stops at ``--hnsw-budget`` seconds, reporting the size it reached.

Prints figures and rewrites the "queries" section of docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import numpy as np
from common import SEARCHES, Machine, Stopwatch, log, ms, p50_p95, table, temp_dir

K_MATCHES = 10  # the detail page's TOP_MATCHES
K_SEARCH = 100  # the list page's SEARCH_LIMIT


FAISS_HEADERS = ["index", "setting", "vectors", "build s", "RSS growth MiB", "index MiB (serialized)",
                 "recall@10", "p50 / p95 ms, default threads", "p50 / p95 ms, 1 thread"]


def timed_calls(call, items, *, limit: int, budget: float) -> list[float]:
    out = []
    watch = Stopwatch()
    for i in range(limit):
        began = time.perf_counter()
        call(items[i % len(items)])
        out.append(time.perf_counter() - began)
        if watch() > budget and len(out) >= 5:
            break
    return out


def profile_top(call, items, n: int = 3, rows: int = 10) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for item in items[:n]:
        call(item)
    profiler.disable()
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer).sort_stats("tottime")
    stats.print_stats(rows)
    lines = [line for line in buffer.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    return "\n".join(lines[start:start + rows + 1])


def submissions(context, service, opp_ids: list[str], count: int) -> dict[str, list[float]]:
    """A firm's submission as ``POST /submit`` stores it (``entries.check`` and ``entries.save``:
    stored, embedded, brought into the matcher), then the next best-matches call; the parts of
    the save timed by wrapping this context's ``embed`` and this matcher's ``refresh``."""
    from matching.engine import CAPABILITY
    from service import entries
    from service.models import Status

    out: dict[str, list[float]] = {"save": [], "embed": [], "refresh": [], "next_best": []}

    def timed(label, fn):
        def run(*a, **k):
            began = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                out[label].append(time.perf_counter() - began)
        return run

    context.embed = timed("embed", context.embed)
    service.refresh = timed("refresh", service.refresh)
    try:
        for i in range(count):
            values = {"title": f"压测提交能力 {i}：基于机器视觉的产线巡检", "organization": "无锡压测科技有限公司",
                      "field": "智能制造", "district": "新吴区", "maturity": "试点应用",
                      "description": "面向工厂产线的视觉质检与设备巡检方案，支持缺陷自动识别、工单推送与数据看板。"}
            with context.session() as session:
                clean, errors = entries.check(session, CAPABILITY, values)
                assert not errors, errors
                began = time.perf_counter()
                entries.save(context, session, CAPABILITY, clean, status=Status.pending_review)
                out["save"].append(time.perf_counter() - began)
                began = time.perf_counter()
                service.for_opportunity(session, opp_ids[i % len(opp_ids)], K_MATCHES)
                out["next_best"].append(time.perf_counter() - began)
    finally:
        del context.embed, service.refresh
    return out


def in_service(n: int, args: argparse.Namespace, model: str) -> dict:
    from matching.engine import CAPABILITY
    from service import entries
    from service.context import Context
    from service.settings import Settings

    result: dict = {"n": n}
    with temp_dir(f"queries-{n}") as data_dir:
        watch = Stopwatch()
        common.prepared_data_dir(data_dir, n, model=model)
        result["prepare_s"] = watch()
        context = Context(Settings(data_dir=data_dir))
        watch = Stopwatch()
        encoded = context.embed()
        result["sync_s"] = watch()
        assert encoded == 0, f"{encoded} texts were re-encoded: the synthetic hashes are wrong"
        log(f"[{n}] rebuilding the matcher…")
        watch = Stopwatch()
        service = context.matches
        result["rebuild_s"] = watch()
        result["rss_mib"] = common.rss_mib()
        opp_ids = service.published("opportunity")
        result["capabilities"] = len(service.rows[CAPABILITY])

        def best(ext_id: str) -> None:
            with context.session() as session:
                service.for_opportunity(session, ext_id, K_MATCHES)

        def search(text: str) -> None:
            entries.search(context, CAPABILITY, text, K_SEARCH)

        def encode(text: str) -> None:
            context.encoder.encode_queries([text])

        watch = Stopwatch()
        best(opp_ids[0])
        result["first_best_s"] = watch()
        watch = Stopwatch()
        search(SEARCHES[0])
        result["first_search_s"] = watch()
        log(f"[{n}] best matches…")
        result["best"] = timed_calls(best, opp_ids[1:], limit=args.queries, budget=args.budget)
        log(f"[{n}] search…")
        result["search"] = timed_calls(search, SEARCHES[1:] + SEARCHES[:1], limit=args.queries,
                                       budget=args.budget)
        result["encode"] = timed_calls(encode, SEARCHES, limit=min(args.queries, 32), budget=args.budget / 4)
        log(f"[{n}] submissions…")
        result["submit"] = submissions(context, service, opp_ids, args.submissions)
        if n == max(args.sizes):
            log(f"[{n}] profiling 3 best-match calls and 3 searches…")
            result["profile_best"] = profile_top(best, opp_ids[1:])
            result["profile_search"] = profile_top(search, SEARCHES[1:])
    gc.collect()
    return result


# -- FAISS alone ---------------------------------------------------------------------------------
def faiss_part(args: argparse.Namespace, model: str) -> dict:
    import faiss

    template, _ = common.seeded_template()
    db = template / "scenario-match.db"
    caps = np.stack([v for (e, p), v in sorted(common.stored_vectors(db, "capability").items()) if p == 0])
    opps = np.stack([v for (e, p), v in sorted(common.stored_vectors(db, "opportunity").items()) if p == 0])
    rng = np.random.default_rng(11)
    n, d, k = args.faiss_n, caps.shape[1], 10
    out: dict = {"n": n, "threads": faiss.omp_get_max_threads()}
    log(f"[faiss] {n} synthetic vectors…")
    rss0 = common.rss_mib()
    data = common.synthetic_vectors(caps, n, rng)
    queries = np.vstack([opps, common.synthetic_vectors(opps, 200 - len(opps), rng)]).astype(np.float32)
    out["data_mib"] = data.nbytes / 2**20
    out["base_rss_mib"] = common.rss_mib() - rss0

    threads = out["threads"]

    def latency(index, q, kk: int = k) -> str:
        """p50 / p95 ms of one query per call, with FAISS's default threads and with one."""
        cells = []
        for t in (threads, 1):
            faiss.omp_set_num_threads(t)
            times = []
            for row in q:
                began = time.perf_counter()
                index.search(row[None, :], kk)
                times.append(time.perf_counter() - began)
            p50, p95 = p50_p95(times)
            cells.append(f"{ms(p50)} / {ms(p95)}")
        faiss.omp_set_num_threads(threads)
        return cells

    def recall(found: np.ndarray, truth: np.ndarray) -> float:
        return float(np.mean([len(set(f) & set(t)) / k for f, t in zip(found, truth)]))

    def size_mib(index) -> str:
        return f"{faiss.serialize_index(index).nbytes / 2**20:.0f}"

    rows = []
    # exact
    before = common.rss_mib()
    watch = Stopwatch()
    flat = faiss.IndexFlatIP(d)
    flat.add(data)
    build = watch()
    mem = common.rss_mib() - before
    watch = Stopwatch()
    _, truth = flat.search(queries, k)
    out["exact_batch_s"] = watch()
    scores, _ = flat.search(queries, k)
    out["gap"] = float(np.mean(scores[:, 0] - scores[:, k - 1]))
    out["tenth"] = float(np.mean(scores[:, k - 1]))
    rows.append(["exact IndexFlatIP", "k = 10 (50 queries)", n, f"{build:.1f}", f"{mem:.0f}", size_mib(flat),
                 "1.000", *latency(flat, queries[:50])])
    # what the service asks whenever it filters (always, from MatchService): every vector, ranked
    rows.append(["exact IndexFlatIP", "k = n (20 queries)", n, "", "", "", "1.000",
                 *latency(flat, queries[:20], n)])
    log(f"[faiss] exact: {rows[0][-2:]}")
    del flat
    gc.collect()

    # IVF
    nlist = round(4 * float(np.sqrt(n)))
    train_n = min(n, args.ivf_train_per_list * nlist)
    before = common.rss_mib()
    watch = Stopwatch()
    quantizer = faiss.IndexFlatIP(d)
    ivf = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.cp.niter = args.ivf_iter
    ivf.cp.min_points_per_centroid = 1  # a sample below 39 per list is on purpose here
    sample = data[rng.choice(n, train_n, replace=False)]
    ivf.train(sample)
    del sample
    train = watch()
    ivf.add(data)
    build = watch()
    mem = common.rss_mib() - before
    log(f"[faiss] IVF nlist={nlist}: train {train:.0f} s, build {build:.0f} s")
    size = size_mib(ivf)
    for nprobe in args.nprobe:
        ivf.nprobe = nprobe
        _, found = ivf.search(queries, k)
        rows.append([f"IVF nlist={nlist}", f"nprobe {nprobe}", n, f"{build:.1f} (train {train:.1f})",
                     f"{mem:.0f}", size, f"{recall(found, truth):.3f}", *latency(ivf, queries)])
    del ivf, quantizer
    gc.collect()

    # HNSW, in chunks, until the budget is spent
    before = common.rss_mib()
    hnsw = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = args.hnsw_efc
    watch = Stopwatch()
    chunk = max(n // 20, 1)
    for start in range(0, n, chunk):
        hnsw.add(data[start:start + chunk])
        log(f"[faiss] HNSW {hnsw.ntotal}/{n} after {watch():.0f} s")
        if watch() > args.hnsw_budget and hnsw.ntotal < n:
            break
    build = watch()
    reached = int(hnsw.ntotal)
    mem = common.rss_mib() - before
    out["hnsw_reached"] = reached
    out["hnsw_build_s"] = build
    if reached < n:  # recall against exact over the part that was built
        part = faiss.IndexFlatIP(d)
        part.add(data[:reached])
        _, sub_truth = part.search(queries, k)
        del part
    else:
        sub_truth = truth
    estimate = build * n / max(reached, 1)
    size_note = f"{reached}" + ("" if reached == n else
                                f" (budget spent; all {n} ≈ {estimate / 60:.0f}+ min at this rate)")
    size = size_mib(hnsw)
    for ef in args.ef:
        hnsw.hnsw.efSearch = ef
        _, found = hnsw.search(queries, k)
        rows.append([f"HNSW M=32 efC={hnsw.hnsw.efConstruction}", f"efSearch {ef}", size_note, f"{build:.1f}",
                     f"{mem:.0f}", size, f"{recall(found, sub_truth):.3f}", *latency(hnsw, queries)])
    del hnsw
    out["rows"] = rows
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=100, help="most calls per kind and size")
    parser.add_argument("--budget", type=float, default=60, help="seconds per kind and size (at least 5 calls)")
    parser.add_argument("--submissions", type=int, default=3, help="submissions timed per size")
    parser.add_argument("--faiss-n", type=int, default=1_000_000, help="0 leaves FAISS alone out")
    parser.add_argument("--hnsw-budget", type=float, default=420, help="seconds of HNSW building")
    parser.add_argument("--hnsw-efc", type=int, default=40, help="HNSW efConstruction (FAISS's default 40)")
    parser.add_argument("--ivf-train-per-list", type=int, default=32)
    parser.add_argument("--ivf-iter", type=int, default=10)
    parser.add_argument("--nprobe", type=lambda s: [int(x) for x in s.split(",")], default=[16, 32, 64, 128])
    parser.add_argument("--ef", type=lambda s: [int(x) for x in s.split(",")], default=[64, 128, 256, 512, 1024])
    args = parser.parse_args()

    machine = Machine.now()
    command = common.command_line()
    log(f"load average at start: {machine.load_at_start}")
    from matching.encoders import DEFAULT_MODEL

    common.seeded_template()  # made once, before any timing
    results = []
    for n in args.sizes:
        r = in_service(n, args, DEFAULT_MODEL)
        results.append(r)
        b50, b95 = p50_p95(r["best"])
        s50, s95 = p50_p95(r["search"])
        e50, _ = p50_p95(r["encode"])
        sub = {key: ms(p50_p95(v)[0]) for key, v in r["submit"].items()}
        print(f"{n:>7} capabilities: submission save {sub['save']} ms (embed {sub['embed']}, refresh "
              f"{sub['refresh']}), next best-matches {sub['next_best']} ms")
        print(f"{n:>7} capabilities: rebuild {r['rebuild_s']:.1f} s; best matches p50 {ms(b50)} ms p95 {ms(b95)} ms "
              f"({len(r['best'])} calls); search p50 {ms(s50)} ms p95 {ms(s95)} ms ({len(r['search'])} calls; "
              f"encoding the query alone p50 {ms(e50)} ms)")
    faiss_result = None
    if args.faiss_n:
        faiss_result = faiss_part(args, DEFAULT_MODEL)
        print(table(FAISS_HEADERS, faiss_result["rows"]))

    # -- report ----------------------------------------------------------------------------------
    body = [machine.markdown(command), ""]
    body.append(
        "Data: a copy of a seeded data dir (160 opportunities, 320 capabilities) filled up to N "
        "capabilities with synthetic rows written straight into SQLite — titles and descriptions "
        "made from seed texts with generated variants, stored vectors that are perturbed mixes of "
        "seed vectors, text hashes as the service computes them (nothing is re-encoded). A real "
        "`Context` over the data dir rebuilds the matcher; calls are timed one at a time, in this "
        f"process. Best matches: `MatchService.for_opportunity(session, id, {K_MATCHES})` over the "
        f"seed opportunities. Search: `service.entries.search(context, 'capability', q, {K_SEARCH})` "
        "(encodes q, then ranks), over short Chinese and English queries; the encoding alone is "
        "timed apart. Each kind runs at most "
        f"{args.queries} calls or {args.budget:.0f} s per size.\n")
    rows = []
    for r in results:
        b50, b95 = p50_p95(r["best"])
        s50, s95 = p50_p95(r["search"])
        e50, e95 = p50_p95(r["encode"])
        rebuild = f"{r['rebuild_s']:.1f}"
        rows.append([f"{r['n']:,}", rebuild, f"{r['rss_mib']:.0f}", f"{r['first_best_s'] * 1000:.0f}",
                     f"{ms(b50)} / {ms(b95)} ({len(r['best'])})", f"{r['first_search_s'] * 1000:.0f}",
                     f"{ms(s50)} / {ms(s95)} ({len(r['search'])})", f"{ms(e50)} / {ms(e95)}"])
    body.append(table(["capabilities", "rebuild s", "RSS MiB", "first best-matches ms",
                       "best matches p50 / p95 ms (calls)", "first search ms", "search p50 / p95 ms (calls)",
                       "query encoding p50 / p95 ms"], rows))
    body.append(
        "\nA firm's submission at each size, as `POST /submit` stores it (`entries.check`, then "
        "`entries.save`: the row stored, `Context.embed` for its one text, `MatchService.refresh`), "
        f"and the best-matches call after it; median of {args.submissions}, ms:\n")
    body.append(table(["capabilities", "save", "of which embed (1 text)", "of which refresh",
                       "next best-matches call"],
                      [[f"{r['n']:,}", *(ms(p50_p95(r["submit"][key])[0])
                                         for key in ("save", "embed", "refresh", "next_best"))]
                       for r in results]))
    if len(results) >= 2:
        a, z = results[0], results[-1]
        body.append(
            f"\nFrom {a['n']:,} to {z['n']:,} capabilities ({z['n'] / a['n']:.0f}×): best matches p50 "
            f"×{p50_p95(z['best'])[0] / p50_p95(a['best'])[0]:.1f}, search p50 "
            f"×{p50_p95(z['search'])[0] / p50_p95(a['search'])[0]:.1f}.")
    big = results[-1] if results else None
    if big and "profile_best" in big:
        body.append(f"\nWhere a best-matches call spends its time at {big['n']:,} capabilities "
                    "(cProfile, 3 calls, by own time):\n")
        body.append("```\n" + big["profile_best"] + "\n```")
        body.append(f"\nAnd a search at {big['n']:,} (3 calls):\n")
        body.append("```\n" + big["profile_search"] + "\n```")
    if faiss_result:
        f = faiss_result
        body.append(f"\n### FAISS alone at {f['n']:,} vectors\n")
        body.append(
            f"384-d unit vectors made like the in-service ones ({f['data_mib']:.0f} MiB as float32), "
            "inner product, k = 10; 200 queries (the 160 seed opportunities' stored vectors and 40 "
            "perturbed copies), latency one query per call (with FAISS's default "
            f"{f['threads']} OpenMP threads, and with 1), recall@10 against the exact top 10. RSS growth: the growth of this process's resident size while "
            f"the index was built. IVF trained on {args.ivf_train_per_list} vectors per list, "
            f"{args.ivf_iter} k-means iterations. Exact search of all 200 queries in one batch: "
            f"{f['exact_batch_s']:.2f} s. The data are dense around the 320 seed vectors: a query's exact "
            f"10th neighbour scores {f['tenth']:.3f} on average, only {f['gap']:.4f} below its first, so "
            "recall of the exact ten ids is a hard test for a graph index (IVF keeps such a neighbourhood "
            "in a few lists).\n")
        body.append(table(FAISS_HEADERS, f["rows"]))
        good = [r for r in f["rows"][2:] if float(r[6]) >= 0.98]
        body.append("\nSettings with recall@10 ≥ 0.98: " +
                    ("; ".join(f"{r[0]} {r[1]} ({r[6]}, p50/p95 {r[7]} ms)" for r in good) if good else "none") + ".")
    common.write_section("queries", "Query latency (`bench/bench_queries.py`)", "\n".join(body))


if __name__ == "__main__":
    main()
