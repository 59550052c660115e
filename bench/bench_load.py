"""The served service under concurrent reads, searches and firm submissions, on loopback.

    python bench/bench_load.py                  # 2 passes of 30 s, 2 detail + 2 search + 1 submit workers
    python bench/bench_load.py --seconds 10     # shorter
    python bench/bench_load.py --fresh-seed     # seed a new data dir instead of copying the cached one

`scenario-match serve` runs in a subprocess on a free port of 127.0.0.1 over a temp data dir
seeded with `scenario-match seed` (a copy of a seeded data dir kept in the temp dir while the
seed lists and code it depends on are unchanged, unless --fresh-seed). Once /health reports
index_ready, this process (a second process; threads, one httpx client each) sends for
``--seconds`` seconds or until ``--max-requests`` per kind, whichever is first:

- detail: GET /opportunities/{id} — the page with its best matches (seed opportunity ids);
- search: GET /capabilities?q=… — semantic search of the capability list;
- submit: POST /submit — a firm's submission (each worker first GETs /submit for the session
  cookie and the page's ``<meta name="csrf-token">``); a 303 to /submission/… is success.

The search and submission rate limits are raised for the run
(SCENARIO_MATCH_SEARCH_PER_MINUTE and SCENARIO_MATCH_SUBMIT_PER_HOUR = 1000000). Any other
status, a transport error or a wrong redirect is an error; the server's log is
searched for tracebacks as well. A second pass (unless --no-omp1) does the same against a
server started with OMP_NUM_THREADS=1, on a fresh copy of the data dir. Reported: requests per second, p50/p95 per kind, errors,
and the CPU seconds the server and this load process used (they share the 2 cores).

Prints figures and rewrites the "load" section of docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from common import SEARCHES, Machine, Stopwatch, log, ms, p50_p95, table, temp_dir

META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CLOCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | str) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK  # utime + stime


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            if error:
                self.errors[kind].append(error)
            else:
                self.times[kind].append(seconds)

    def count(self, kind: str) -> int:
        with self.lock:
            return len(self.times[kind]) + len(self.errors[kind])


def worker(kind: str, number: int, base: str, stop: float, max_requests: int, rec: Recorder,
           opportunity_ids: list[str]) -> None:
    import httpx

    with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as client:
        token = None
        if kind == "submit":
            page = client.get("/submit")
            found = META_CSRF.search(page.text)
            if page.status_code != 200 or not found:
                rec.add(kind, 0, f"GET /submit: {page.status_code}, csrf meta {'found' if found else 'missing'}")
                return
            token = found.group(1)
        i = number * 7919
        while time.perf_counter() < stop and rec.count(kind) < max_requests:
            i += 1
            began = time.perf_counter()
            error = None
            try:
                if kind == "detail":
                    r = client.get(f"/opportunities/{opportunity_ids[i % len(opportunity_ids)]}")
                    if r.status_code != 200 or "</html>" not in r.text:
                        error = f"detail {r.status_code}"
                elif kind == "search":
                    r = client.get("/capabilities", params={"q": SEARCHES[i % len(SEARCHES)]})
                    if r.status_code != 200:
                        error = f"search {r.status_code}"
                else:
                    r = client.post("/submit", data={
                        "csrf_token": token,
                        "title": f"压测提交能力 {number}-{i}：基于机器视觉的智能巡检",
                        "organization": f"无锡压测科技有限公司{number}",
                        "field": "智能制造",
                        "district": "新吴区",
                        "description": "面向工厂产线的视觉质检与设备巡检方案，支持缺陷自动识别、"
                                       f"工单推送与数据看板，已在多家企业试点（第 {i} 次提交）。",
                        "maturity": "试点应用",
                        "cases": "",
                        "contact": "张工",
                        "phone": "0510-88888888",
                        "email": "bench@example.com",
                    })
                    if r.status_code != 303 or not r.headers.get("location", "").startswith("/submission/"):
                        error = f"submit {r.status_code} {r.headers.get('location', '')}"
            except httpx.HTTPError as exc:
                error = f"{kind} {type(exc).__name__}: {exc}"
            rec.add(kind, time.perf_counter() - began, error)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--max-requests", type=int, default=5000, help="most requests per kind")
    parser.add_argument("--detail-workers", type=int, default=2)
    parser.add_argument("--search-workers", type=int, default=2)
    parser.add_argument("--submit-workers", type=int, default=1)
    parser.add_argument("--fresh-seed", action="store_true", help="run `scenario-match seed` into the temp dir")
    parser.add_argument("--no-omp1", action="store_true",
                        help="leave out the second pass (server with OMP_NUM_THREADS=1)")
    args = parser.parse_args()

    machine = Machine.now()
    command = common.command_line()
    log(f"load average at start: {machine.load_at_start}")

    kinds = (["detail"] * args.detail_workers + ["search"] * args.search_workers
             + ["submit"] * args.submit_workers)
    passes = [("server as configured", {})]
    if not args.no_omp1:
        passes.append(("server with OMP_NUM_THREADS=1", {"OMP_NUM_THREADS": "1"}))
    headers = ["kind", "workers", "requests", "req/s", "p50 ms", "p95 ms", "max ms", "errors"]
    results = []
    for label, env in passes:
        r = one_pass(args, kinds, env)
        r["label"] = label
        results.append(r)
        print(f"-- {label}")
        print(table(headers, r["rows"]))
        print(f"total {r['total']} requests in {r['elapsed']:.1f} s = {r['total'] / r['elapsed']:.2f} req/s; "
              f"server CPU {r['server_cpu']:.1f} s ({r['server_cpu'] / r['elapsed']:.0%} of one core), load process "
              f"{r['own_cpu']:.1f} s; tracebacks in the server log: {r['tracebacks']}")
        if r["errors"]:
            print("errors:", *sorted(set(r["errors"]))[:10], sep="\n  ")

    first = results[0]
    body = [machine.markdown(command), ""]
    body.append(
        f"`scenario-match serve` on 127.0.0.1 (free port) over {first['seeded']}: 160 opportunities, "
        f"{first['caps_before']} capabilities; a fresh copy for each pass. Load from this process: "
        f"{len(kinds)} threads with an httpx client each, for {args.seconds:.0f} s (at most "
        f"{args.max_requests} requests a kind), one request at a time per thread. detail = GET "
        "/opportunities/{id} (page with best matches), search = GET /capabilities?q=… (semantic search), "
        "submit = POST /submit (firm submission, CSRF token from the form page's meta tag; 303 = success). "
        "The second pass starts the server with OMP_NUM_THREADS=1 (the encoder then runs each request's "
        "text on one core instead of splitting every matrix product over both, while the other request "
        "threads want the other core).\n")
    for r in results:
        body.append(f"**{r['label']}** (index_ready {r['index_ready']:.1f} s after launch)\n")
        body.append(table(headers, r["rows"]))
        body.append(
            f"\nTotal: {r['total']} requests in {r['elapsed']:.1f} s = **{r['total'] / r['elapsed']:.2f} req/s**. "
            f"Errors: {len(r['errors'])}"
            + (f" ({'; '.join(sorted(set(r['errors']))[:5])})" if r["errors"] else "")
            + f"; tracebacks in the server's log: {r['tracebacks']}. Capabilities after the pass: "
            f"{r['caps_after']} ({r['caps_before']} before). CPU used: server {r['server_cpu']:.1f} s "
            f"({r['server_cpu'] / r['elapsed']:.0%} of one core), load process {r['own_cpu']:.1f} s, on "
            f"{machine.nproc} cores shared with other work. Server RSS at the end: {r['server_rss']:.0f} MiB.\n")
    if len(results) == 2:
        a, b = results
        body.append(f"OMP_NUM_THREADS=1 / as configured, within this run: "
                    f"{(b['total'] / b['elapsed']) / (a['total'] / a['elapsed']):.2f}× the requests per second.")
    common.write_section("load", "Concurrent load (`bench/bench_load.py`)", "\n".join(body))


def one_pass(args: argparse.Namespace, kinds: list[str], env: dict[str, str]) -> dict:
    """Serve a fresh seeded data dir and load it; the figures of the pass."""
    import sqlite3

    with temp_dir("load") as data_dir:
        if args.fresh_seed:
            seed_s, _ = common.run_cli(["seed"], data_dir)
            seeded = f"`scenario-match seed` into the temp data dir ({seed_s:.0f} s)"
        else:
            template, seed_s = common.seeded_template()
            common.copy_data_dir(template, data_dir)
            seeded = ("a copy of a data dir made by `scenario-match seed` "
                      + (f"in this run ({seed_s:.0f} s)" if seed_s else "in an earlier run (cached under the temp dir)"))
        with sqlite3.connect(data_dir / "scenario-match.db") as con:
            opportunity_ids = [r[0] for r in con.execute(
                "SELECT ext_id FROM opportunity WHERE status = 'published' ORDER BY ext_id")]
            caps_before = con.execute("SELECT COUNT(*) FROM capability").fetchone()[0]
        log_path = data_dir / "serve.log"
        # the public rate limits (60 searches a minute, 20 submissions an hour per address) would
        # turn a load test from one address into 429s: raised for the run
        limits = {"SCENARIO_MATCH_SEARCH_PER_MINUTE": "1000000", "SCENARIO_MATCH_SUBMIT_PER_HOUR": "1000000"}
        with common.serve(data_dir, log_path=log_path, **limits, **env) as served:
            log(f"serving on {served.base} {env or ''}; index ready after {served.index_ready:.1f} s; loading…")
            rec = Recorder()
            server_cpu0, own_cpu0 = cpu_seconds(served.process.pid), cpu_seconds("self")
            watch = Stopwatch()
            stop = time.perf_counter() + args.seconds
            threads = [threading.Thread(target=worker, args=(kind, n, served.base, stop, args.max_requests, rec,
                                                             opportunity_ids), daemon=True)
                       for n, kind in enumerate(kinds)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=args.seconds + 120)
            elapsed = watch()
            server_cpu = cpu_seconds(served.process.pid) - server_cpu0
            own_cpu = cpu_seconds("self") - own_cpu0
            server_rss = common.rss_mib(served.process.pid)
            health = common.get_json(served.base + "/health")
        tracebacks = log_path.read_text(errors="replace").count("Traceback")

    rows = []
    for kind in ("detail", "search", "submit"):
        times, errors = rec.times.get(kind, []), rec.errors.get(kind, [])
        p50, p95 = p50_p95(times)
        rows.append([kind, kinds.count(kind), len(times) + len(errors),
                     f"{(len(times) + len(errors)) / elapsed:.2f}", ms(p50), ms(p95),
                     ms(max(times)) if times else "—", len(errors)])
    return {
        "rows": rows, "elapsed": elapsed, "server_cpu": server_cpu, "own_cpu": own_cpu,
        "server_rss": server_rss, "tracebacks": tracebacks, "seeded": seeded, "caps_before": caps_before,
        "caps_after": (health or {}).get("capabilities", {}).get("total"), "index_ready": served.index_ready,
        "total": sum(len(v) for v in rec.times.values()) + sum(len(v) for v in rec.errors.values()),
        "errors": [e for v in rec.errors.values() for e in v],
    }


if __name__ == "__main__":
    main()
