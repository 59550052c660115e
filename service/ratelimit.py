"""Per-client rate limits on public search and firm submission (kept in each process's memory;
behind a load balancer each process counts its own share)."""
from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque

from fastapi import Depends, Request


class RateLimited(Exception):
    """Too many requests; the app answers 429 with Retry-After (JSON under /api/, a page else)."""

    def __init__(self, what: str, retry_after: int):
        super().__init__(what)
        self.what = what
        self.retry_after = retry_after


class Limiter:
    """A sliding window of request times per (bucket, client)."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, bucket: str, client: str, limit: int, window: float) -> int | None:
        """Count one request; the seconds to wait when over the limit, else None."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits[(bucket, client)]
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                return max(1, math.ceil(hits[0] + window - now))
            hits.append(now)
            return None


BUCKETS = {  # bucket: (settings attribute, window in seconds)
    "search": ("search_per_minute", 60.0),
    "submit": ("submit_per_hour", 3600.0),
}


def limiter_of(request: Request) -> Limiter:
    state = request.app.state
    if not hasattr(state, "limiter"):
        state.limiter = Limiter()
    return state.limiter


def check(request: Request, bucket: str) -> None:
    """Count a request from this client against the bucket; raises RateLimited when over."""
    attribute, window = BUCKETS[bucket]
    limit = getattr(request.app.state.context.settings, attribute)
    client = request.client.host if request.client else "unknown"
    retry_after = limiter_of(request).hit(bucket, client, limit, window)
    if retry_after is not None:
        raise RateLimited(bucket, retry_after)


def rate_limit(bucket: str):
    """A route dependency: ``dependencies=[rate_limit("search")]``."""

    def dependency(request: Request) -> None:
        check(request, bucket)

    return Depends(dependency)
