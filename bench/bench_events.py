"""Benchmark the matchmaking-event core on synthetic, seeded score matrices.

    python bench/bench_events.py            # 150 × 300 and 2,000 × 10,000
    python bench/bench_events.py --small    # 150 × 300 only

Times the pairing list (plain and fair) and the baseline, then the schedule (without and
with availability limits), checks every schedule with ``check_schedule``, and prints the
total fit against the greedy top-k baseline. Memory: the process's peak resident size after
each step (it only grows), and in a second pass tracemalloc's peak for the Python and numpy
allocations of the main steps (the solvers' C++ memory is only in the resident size).
Prints figures and rewrites the "events" section of docs/BENCHMARKS.md (the printed
output, with the machine and the command).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import resource
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))

import common  # noqa: E402  (puts the checkout on sys.path too)
from matching.assignment import Assignment, assign, greedy_top_k  # noqa: E402
from matching.scheduling import check_schedule, schedule  # noqa: E402

DEMAND, CAPACITY, MIN_SCORE = 3, 4, 0.55
SLOTS = 8


def synthetic(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Scores like the engine's: cosine of clustered vectors (a field each) mapped to [0, 1],
    plus a popularity term so that good suppliers are wanted by many (capacity binds); a
    conflict mask from shared organisations; a few confirmed pairs."""
    rng = np.random.default_rng(seed)
    dim, fields = 32, 12
    centres = rng.standard_normal((fields, dim)).astype(np.float32)

    def vectors(count: int) -> np.ndarray:
        v = centres[rng.integers(0, fields, count)] + 0.9 * rng.standard_normal((count, dim))
        v = v.astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    scores = vectors(n) @ vectors(m).T
    scores *= 0.45
    scores += 0.4 + 0.25 * rng.beta(2, 5, m).astype(np.float32)[None, :]
    conflicts = rng.integers(0, n // 2, n)[:, None] == rng.integers(0, m // 2, m)[None, :]
    chosen = rng.choice(n, n // 20, replace=False)
    confirmed = [(int(i), int(np.argsort(-scores[i])[rng.integers(0, 5)])) for i in chosen]
    confirmed = [(i, j) for i, j in confirmed if not conflicts[i, j]]
    return scores, conflicts, confirmed


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, run: Callable[[], Any]) -> Any:
    began = time.perf_counter()
    result = run()
    print(
        f"  {label:<34} {time.perf_counter() - began:8.2f} s   peak RSS {peak_rss_mib():7.0f} MiB"
    )
    return result


def traced_peak(run: Callable[[], Any]) -> float:
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def describe(name: str, result: Assignment, demand: int) -> str:
    wanted = demand * len(result.counts)
    return (
        f"  {name:<8} pairs {len(result.pairs):6d}/{wanted:<6d} total fit {result.total_score:10.3f}"
        f"   mean {result.total_score / max(len(result.pairs), 1):.4f}"
        f"   min share {result.min_share:.3f}   unmet {len(result.unmet):4d}   {result.status}"
    )


def max_degree(pairs: list[tuple[int, int]]) -> int:
    """The fewest slots any schedule of these meetings needs (König)."""
    counts = Counter(("s", i) for i, _ in pairs) + Counter(("p", j) for _, j in pairs)
    return max(counts.values(), default=0)


def availability(pairs: list[tuple[int, int]], seed: int) -> dict[int, set[int]]:
    """A tenth of the suppliers miss two random slots."""
    rng = np.random.default_rng(seed)
    suppliers = sorted({j for _, j in pairs})
    away = rng.choice(len(suppliers), len(suppliers) // 10, replace=False)
    return {suppliers[k]: set(rng.choice(SLOTS, 2, replace=False).tolist()) for k in away}


def bench(n: int, m: int, seed: int, fair_limit: float) -> None:
    print(
        f"\n== {n} scenarios × {m} suppliers (demand {DEMAND}, capacity {CAPACITY}, "
        f"min score {MIN_SCORE}, seed {seed}) =="
    )
    scores, conflicts, confirmed = timed("synthetic scores", lambda: synthetic(n, m, seed))
    rules = {
        "demand": DEMAND,
        "capacity": CAPACITY,
        "min_score": MIN_SCORE,
        "conflicts": conflicts,
        "confirmed": confirmed,
    }
    print(
        f"  {int(conflicts.sum())} conflicting pairs, {len(confirmed)} confirmed pairs, "
        f"{float((scores >= MIN_SCORE).mean()):.1%} of pairs above the minimum"
    )
    plain = timed("assign (plain)", lambda: assign(scores, **rules))
    fair = timed("assign (fair)", lambda: assign(scores, **rules, fair=True, time_limit=fair_limit))
    greedy = timed(
        "greedy_top_k",
        lambda: greedy_top_k(
            scores,
            k=DEMAND,
            capacity=CAPACITY,
            min_score=MIN_SCORE,
            conflicts=conflicts,
            confirmed=confirmed,
        ),
    )
    for name, result in (("plain", plain), ("fair", fair), ("greedy", greedy)):
        print(describe(name, result, DEMAND))
    print(
        f"  total fit vs greedy: plain {plain.total_score / greedy.total_score - 1:+.2%}, "
        f"fair {fair.total_score / greedy.total_score - 1:+.2%}; candidates per scenario: "
        f"{plain.top_k or 'all'}"
    )

    degree = max_degree(plain.pairs)
    away = availability(plain.pairs, seed)
    for label, limits in (("schedule (no limits)", None), ("schedule (10% away 2 slots)", away)):
        result = timed(
            label,
            lambda limits=limits: schedule(
                plain.pairs, n_slots=SLOTS, n_tables=n, unavailable_supplier=limits
            ),
        )
        clashes = check_schedule(
            result, n_slots=SLOTS, n_tables=n, unavailable_supplier=limits, pairs=plain.pairs
        )
        print(
            f"    meetings {len(plain.pairs)}, placed {len(result.placements)}, unplaced "
            f"{len(result.unplaced)}, slots used {result.slots_used} (max degree {degree}), "
            f"{result.status}, problems {len(result.problems)}, clashes {len(clashes)}"
        )

    print("  tracemalloc peak (Python + numpy):")
    for label, run in (
        ("assign (plain)", lambda: assign(scores, **rules)),
        ("assign (fair)", lambda: assign(scores, **rules, fair=True, time_limit=fair_limit)),
        (
            "schedule (10% away)",
            lambda: schedule(plain.pairs, n_slots=SLOTS, n_tables=n, unavailable_supplier=away),
        ),
    ):
        print(f"    {label:<32} {traced_peak(run):8.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="only 150 × 300")
    parser.add_argument("--fair-limit", type=float, default=10.0, help="CP-SAT seconds (fair)")
    args = parser.parse_args()
    machine, command = common.Machine.now(), common.command_line()
    printed = io.StringIO()

    class Tee(io.TextIOBase):
        def write(self, text: str) -> int:
            sys.__stdout__.write(text)
            sys.__stdout__.flush()
            return printed.write(text)

    with contextlib.redirect_stdout(Tee()):
        bench(150, 300, seed=1, fair_limit=args.fair_limit)
        if not args.small:
            bench(2000, 10000, seed=2, fair_limit=args.fair_limit)
    body = (machine.markdown(command) + "\n"
            "Synthetic score matrices (clustered vectors, a popularity term, conflicts from shared "
            f"organisations, 5% confirmed pairs); demand {DEMAND}, capacity {CAPACITY}, min score "
            f"{MIN_SCORE}, {SLOTS} slots. Times in seconds, peak RSS of this process (it only grows).\n\n"
            "```\n" + printed.getvalue().strip() + "\n```\n")
    common.write_section("events", "Pairing and scheduling (`bench/bench_events.py`)", body)


if __name__ == "__main__":
    main()
