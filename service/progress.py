"""Progress of long work on the terminal (stderr, so --json output stays clean)."""
from __future__ import annotations

import sys
import time
from collections.abc import Callable


def reporter(label: str, *, every: float = 0.5) -> Callable[[int, int], None]:
    """A callback ``(done, total)`` that prints ``label: done/total (pct, rate/s)``."""
    start = time.monotonic()
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < every:
            return
        last[0] = now
        rate = done / max(now - start, 1e-6)
        end = "\n" if done >= total or not sys.stderr.isatty() else "\r"
        print(f"{label}: {done}/{total} ({done * 100 // max(total, 1)}%, {rate:.0f}/s)",
              end=end, file=sys.stderr, flush=True)

    return report
