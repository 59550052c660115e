"""Query latency through the running service (HTTP on loopback) at 1k, 10k and 100k capabilities.

    python bench/bench_http_queries.py                        # 1k, 10k, 100k
    python bench/bench_http_queries.py --sizes 1000 --calls 20

Each size: a copy of a seeded data dir filled up to N capabilities with synthetic rows and
stored vectors (``common.prepared_data_dir``: nothing is encoded at start-up), served by
`scenario-match serve` on a free port (``common.serve``, waits for index_ready); then, one
request at a time from this process: GET /opportunities/{id} (the page with its best
matches), GET /capabilities/{id} (a capability's page with its best opportunities), GET
/capabilities?q=… (semantic search; the search rate limit is raised for the run with
SCENARIO_MATCH_SEARCH_PER_MINUTE). The first request of each kind (it builds the BM25
index) is reported apart. 1M is measured in-process only (bench/bench_matcher.py).

Prints figures and rewrites the "http" section of docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from common import SEARCHES, Machine, Stopwatch, log, ms, p50_p95, table, temp_dir


def get(url: str) -> float:
    began = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status}")
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 10_000, 100_000])
    parser.add_argument("--calls", type=int, default=40, help="most requests per kind and size")
    parser.add_argument("--budget", type=float, default=30, help="seconds per kind and size")
    args = parser.parse_args()
    machine, command = Machine.now(), common.command_line()
    from matching.encoders import DEFAULT_MODEL

    common.seeded_template()
    opp_ids = [f"JH2026-{i:03d}" for i in range(1, 161)]
    rows = []
    for n in args.sizes:
        with temp_dir(f"http-{n}") as data_dir:
            common.prepared_data_dir(data_dir, n, model=DEFAULT_MODEL)
            with common.serve(data_dir, timeout=1800, SCENARIO_MATCH_SEARCH_PER_MINUTE="1000000") as served:
                cap_ids = []
                import sqlite3
                with sqlite3.connect(data_dir / "scenario-match.db") as con:
                    cap_ids = [r[0] for r in con.execute(
                        "SELECT ext_id FROM capability WHERE ext_id NOT LIKE 'SYN-%' ORDER BY id LIMIT 60")]
                urls = {
                    "opportunity page": [f"{served.base}/opportunities/{urllib.parse.quote(i)}" for i in opp_ids],
                    "capability page": [f"{served.base}/capabilities/{urllib.parse.quote(i)}" for i in cap_ids],
                    "search": [f"{served.base}/capabilities?q={urllib.parse.quote(q)}" for q in SEARCHES],
                }
                cells = [f"{n:,}", f"{served.index_ready:.1f}"]
                for kind, items in urls.items():
                    first = get(items[0])
                    times, watch = [], Stopwatch()
                    for i in range(args.calls):
                        times.append(get(items[1 + i % (len(items) - 1)]))
                        if watch() > args.budget and len(times) >= 5:
                            break
                    p50, p95 = p50_p95(times)
                    cells += [f"{first * 1000:.0f}", f"{ms(p50)} / {ms(p95)} ({len(times)})"]
                    log(f"[{n}] {kind}: first {first * 1000:.0f} ms, p50 {ms(p50)} p95 {ms(p95)}")
                cells.append(f"{common.rss_mib(served.process.pid):.0f}")
                rows.append(cells)
                print(" | ".join(cells), flush=True)
    headers = ["capabilities", "launch to index_ready s", "opportunity page first ms",
               "opportunity page p50 / p95 ms (calls)", "capability page first ms",
               "capability page p50 / p95 ms (calls)", "search first ms", "search p50 / p95 ms (calls)",
               "server RSS MiB"]
    body = [machine.markdown(command), "",
            ("`scenario-match serve` over a seeded data dir filled with synthetic capabilities (stored "
            "vectors, nothing encoded at start-up), one request at a time from this process on loopback. "
            "The pages render HTML with the 10 best matches (reasons included); search encodes the query "
            "(about 9–17 ms of it, see the encoding section) and ranks 100. Search rate limit raised for "
            "the run (SCENARIO_MATCH_SEARCH_PER_MINUTE=1000000).\n"), table(headers, rows)]
    common.write_section("http", "Query latency through the service (`bench/bench_http_queries.py`)", "\n".join(body))


if __name__ == "__main__":
    main()
