"""Start-up time with 100k stored capability vectors: rebuilt from the database, not encoded.

    python bench/bench_startup.py               # 100k capabilities (~35 min on a busy 2-core machine)
    python bench/bench_startup.py --n 20000     # a quicker look

The data dir is a copy of a seeded one (160 opportunities, 320 capabilities) filled up to N
capabilities with synthetic rows and stored vectors (see ``common.add_synthetic_capabilities``;
the stored text hashes are the service's, so nothing is re-encoded). Then:

1. ``Context(Settings(data_dir=…)).matches`` in a fresh Python process, timed, with the
   phases it goes through (each timed by wrapping the function, in the child only):
   migrations, the encoder's load, ``embeddings.sync`` (finds nothing to encode, but reads
   every row and vector), ``embeddings.load``, language detection and jieba tokenizing of
   each entry, and ``Matcher.load`` (of which ``VectorIndex.add``).
2. The same on a copy whose stored tokens are cleared, as a database from before migration
   0005 has them: that start segments every entry with jieba (as every start did before the
   tokens were kept) and stores the tokens, so later starts read them.
3. `scenario-match serve` in a subprocess: seconds from launch to the first /health answer,
   and to /health with ``index_ready`` true (polled every 0.1 s), and how long /health took
   to answer while the index was being rebuilt.

Prints figures and rewrites the "startup" section of docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

_STARTED = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from common import ROOT, Machine, Stopwatch, log, ms, p50_p95, table, temp_dir


def child(data_dir: Path) -> None:
    """Time ``Context(...).matches`` and its phases; print JSON."""
    import functools

    from matching import engine, index, language
    from service import embeddings, matches
    from service.context import Context
    from service.settings import Settings

    phases: dict[str, float] = {"imports (from the script's start)": time.perf_counter() - _STARTED}
    counts: dict[str, int] = {}

    def wrap(owner, name: str, label: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*a, **k):
            began = time.perf_counter()
            try:
                return original(*a, **k)
            finally:
                phases[label] = phases.get(label, 0.0) + time.perf_counter() - began
                counts[label] = counts.get(label, 0) + 1

        setattr(owner, name, timed)

    wrap(embeddings, "sync", "embeddings.sync (nothing to encode)")
    wrap(embeddings, "load", "embeddings.load (read stored vectors)")
    wrap(matches, "tokenize", "jieba tokenize each entry")
    wrap(embeddings, "lexical_of", "jieba tokens made for storing (embeddings.lexical_of)")
    wrap(matches, "detect", "language detect each entry")
    wrap(engine.Matcher, "load", "Matcher.load")
    wrap(language.LanguageCentering, "fit", "LanguageCentering.fit")
    wrap(index.VectorIndex, "add", "VectorIndex.add")
    context = Context(Settings(data_dir=data_dir))
    import jieba

    watch = Stopwatch()
    jieba.initialize()  # what the first tokenize would do: load the dictionary
    phases["jieba dictionary load"] = watch()
    watch = Stopwatch()
    context.engine  # noqa: B018 - opens the database and runs the migrations
    phases["engine + migrations"] = watch()
    watch = Stopwatch()
    context.encoder  # noqa: B018
    phases["encoder load"] = watch()
    watch = Stopwatch()
    service = context.matches
    phases["Context.matches"] = watch()
    print(json.dumps({"phases": phases, "counts": counts, "capabilities": len(service.rows["capability"]),
                      "peak_rss_mib": common.peak_rss_mib(), "total": time.perf_counter() - _STARTED}))


def run_child(data_dir: Path, timeout: float) -> dict | None:
    args = [sys.executable, __file__, "--child", str(data_dir)]
    watch = Stopwatch()
    try:
        done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
                              env=common.env_for(data_dir))
    except subprocess.TimeoutExpired:
        return None
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = watch()
    return result


BEFORE = "tokens not stored (before 0005; this start stores them)"
AFTER = "tokens stored (every later start)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="capabilities in the data dir")
    parser.add_argument("--timeout", type=float, default=2400, help="seconds allowed for each start")
    parser.add_argument("--skip-serve", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return

    machine = Machine.now()
    command = common.command_line()
    log(f"load average at start: {machine.load_at_start}")
    from matching.encoders import DEFAULT_MODEL

    results: dict[str, dict | None] = {}
    served = None
    with temp_dir("startup") as data_dir:
        watch = Stopwatch()
        common.prepared_data_dir(data_dir, args.n, model=DEFAULT_MODEL)
        prepare_s = watch()
        db_mib = (data_dir / "scenario-match.db").stat().st_size / 2**20
        print(f"prepared {args.n} capabilities in {prepare_s:.1f} s ({db_mib:.0f} MiB database)")
        untokenized = common.copy_data_dir(data_dir, data_dir / "untokenized")
        common.clear_stored_tokens(untokenized / "scenario-match.db")
        for label, directory in ((BEFORE, untokenized), (AFTER, data_dir)):
            log(f"Context(...).matches, {label}…")
            results[label] = r = run_child(directory, args.timeout)
            if r is None:
                print(f"Context.matches ({label}): not done after {args.timeout:.0f} s")
            else:
                print(f"Context.matches ({label}): {r['phases']['Context.matches']:.1f} s "
                      f"(process {r['wall']:.1f} s, peak RSS {r['peak_rss_mib']:.0f} MiB)")
        if not args.skip_serve:
            log("scenario-match serve…")
            try:
                with common.serve(data_dir, timeout=args.timeout, log_path=data_dir / "serve.log") as s:
                    served = s
                print(f"serve: first /health after {served.first_health:.1f} s, index_ready after "
                      f"{served.index_ready:.1f} s")
            except TimeoutError:
                print(f"serve: index_ready not reached after {args.timeout:.0f} s")

    # -- report ----------------------------------------------------------------------------------
    body = [machine.markdown(command), ""]
    body.append(
        f"Data dir: a seeded one (160 opportunities, 320 capabilities) filled up to {args.n:,} "
        f"capabilities with synthetic rows and stored vectors ({db_mib:.0f} MiB SQLite file, made in "
        f"{prepare_s:.0f} s); the stored text hashes are the service's, so nothing is encoded at "
        "start-up. Each start is a fresh process.\n")
    body.append("### `Context(...).matches`\n")
    labels = [k for k, v in results.items() if v]
    phase_names: list[str] = []
    for label in labels:
        for name in results[label]["phases"]:
            if name not in phase_names:
                phase_names.append(name)
    rows = []
    for name in phase_names:
        row = [name]
        for r in results.values():
            if r is None:
                row.append("—")
                continue
            value = r["phases"].get(name)
            calls = r["counts"].get(name)
            row.append("" if value is None else f"{value:.2f}" + (f" ({calls:,} calls)" if calls and calls > 1 else ""))
        rows.append(row)
    rows.append(["peak RSS MiB"] + [f"{r['peak_rss_mib']:.0f}" if r else "—" for r in results.values()])
    rows.append(["process, launch to ready"] + [f"{r['wall']:.1f}" if r else f"> {args.timeout:.0f}"
                                                 for r in results.values()])
    body.append(table(["phase, seconds (nested phases overlap)"] + list(results), rows))
    body.append(
        "\n`Context.matches` runs `embeddings.sync` (every row and stored vector read, every text hashed) "
        "and then `MatchService.rebuild` (`embeddings.load`, language detection and jieba tokenizing "
        "per entry, `Matcher.load`).")
    before, after = results.get(BEFORE), results.get(AFTER)
    if before and after:
        a, b = before["phases"]["Context.matches"], after["phases"]["Context.matches"]
        body.append(f"\nWith the tokens read from the database instead of segmented again: {b:.1f} s instead "
                    f"of {a:.1f} s ({a / b:.1f}× faster), measured one after the other in this run.")
    if not args.skip_serve:
        body.append("\n### `scenario-match serve`\n")
        if served and served.index_ready:
            lat = served.health_latency or []
            p50, p95 = p50_p95(lat)
            body.append(table(["measure", "value"], [
                ["launch to first /health answer, s", f"{served.first_health:.1f}"],
                ["launch to /health index_ready true, s", f"{served.index_ready:.1f}"],
                [("/health answer time while the index was being rebuilt (the rebuild thread holds "
                  "the GIL most of the time), p50 / p95 / max ms"),
                 f"{ms(p50)} / {ms(p95)} / {ms(max(lat))} ({len(lat)} polls)"],
            ]))
        else:
            body.append(f"index_ready was not reached within {args.timeout:.0f} s.")
    common.write_section("startup", "Start-up time (`bench/bench_startup.py`)", "\n".join(body))


if __name__ == "__main__":
    main()
