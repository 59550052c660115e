"""IVF settings against exact search on vectors like the service's: recall@10, recall@200 (the
matcher's candidates), build time and single-query latency, for nlist = LPS·√n and a sweep of
nprobe. Prints lines; nothing is written to docs/BENCHMARKS.md (the figures are quoted there).

    python bench/bench_index_choice.py 100000 2,4,8
    python bench/bench_index_choice.py 1000000 2
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import faiss
import numpy as np

from matching.index import IndexPlan, VectorIndex

n = int(sys.argv[1])
template, _ = common.seeded_template()
db = template / "scenario-match.db"
caps = np.stack([v for (e, p), v in sorted(common.stored_vectors(db, "capability").items()) if p == 0])
opps = np.stack([v for (e, p), v in sorted(common.stored_vectors(db, "opportunity").items()) if p == 0])
rng = np.random.default_rng(11)
data = common.synthetic_vectors(caps, n, rng)
queries = np.vstack([opps, common.synthetic_vectors(opps, 40, rng)]).astype(np.float32)
flat = faiss.IndexFlatIP(data.shape[1]); flat.add(data)
t=time.perf_counter(); _, truth = flat.search(queries, 200); print("exact batch", time.perf_counter()-t)
del flat
for lps in [float(x) for x in sys.argv[2].split(",")]:
    t = time.perf_counter()
    ix = VectorIndex.build(np.arange(n), data, data.shape[1], IndexPlan(exact_below=1000, lists_per_sqrt=lps))
    build = time.perf_counter() - t
    nlist = ix._ivf.nlist
    for nprobe in [8, 16, 32, 48, 64, 96, 128]:
        if nprobe > nlist: continue
        ix._ivf.nprobe = nprobe
        ts=[]
        for q in queries[:60]:
            t=time.perf_counter(); ix.search(q[None], 200); ts.append(time.perf_counter()-t)
        _, found = ix.search(queries, 200)
        r10 = np.mean([len(set(f[:10]) & set(t[:10]))/10 for f,t in zip(found, truth)])
        r200 = np.mean([len(set(f) & set(t))/200 for f,t in zip(found, truth)])
        print(f"n={n} lps={lps} nlist={nlist} build={build:.1f}s nprobe={nprobe} ({nprobe/nlist:.3f}) r10={r10:.3f} r200={r200:.3f} p50={np.median(ts)*1000:.2f}ms")
    del ix
if len(sys.argv) > 3 and sys.argv[3] == "hnsw":  # HNSW for comparison (no removal in FAISS)
    t = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(data.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.add(data)
    build = time.perf_counter() - t
    for ef in [64, 128, 256, 512]:
        hnsw.hnsw.efSearch = ef
        ts = []
        for q in queries[:60]:
            t = time.perf_counter(); hnsw.search(q[None], 200); ts.append(time.perf_counter() - t)
        _, found = hnsw.search(queries, 200)
        r10 = np.mean([len(set(f[:10]) & set(t[:10])) / 10 for f, t in zip(found, truth)])
        r200 = np.mean([len(set(f) & set(t)) / 200 for f, t in zip(found, truth)])
        print(f"n={n} HNSW M=32 efC=40 build={build:.1f}s efSearch={ef} r10={r10:.3f} r200={r200:.3f} "
              f"p50={np.median(ts)*1000:.2f}ms")
