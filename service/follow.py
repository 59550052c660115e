"""Following the change log, so that several service processes over one database stay in step.

Each process writes a ``change_log`` row after an entry and its vectors are committed
(``Context.after_write``). The follower of every process reads the rows it has not seen every
``settings.sync_seconds`` and refreshes those entries in its own matcher.

Ids are handed out when a row is inserted, not when it is committed: with concurrent
transactions (PostgreSQL) id 11 may become visible before id 10. So an id missing below the
highest seen is kept as a gap and read again for ``GAP_SECONDS``; the ids read since the oldest
gap are remembered so nothing is applied twice (refreshing twice would be harmless, only slower).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from service import changes
from service.context import Context

log = logging.getLogger(__name__)

GAP_SECONDS = 120.0  # a change row is one insert in its own transaction: it commits long before
MAX_GAPS = 100_000  # ids skipped by a huge rolled-back import are not all worth waiting for
PRUNE_SECONDS = 3600.0
REFRESH_CHUNK = 500


class Follower:
    def __init__(self, context: Context, interval: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.context = context
        self.interval = interval if interval is not None else context.settings.sync_seconds
        self.clock = clock
        self.seen = 0  # every id up to here was applied or is a gap
        self.gaps: dict[int, float] = {}  # id -> when it was first missed
        self.applied: set[int] = set()  # ids above the oldest gap already applied
        self.refreshed = 0  # entries refreshed for other processes' changes, for tests and logs
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pruned_at = -PRUNE_SECONDS

    # -- the thread ------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="change-follower", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            _ = self.context.matches  # the build also notes where in the change log it stands
        except Exception:  # the database may be gone while the process stops
            if not self._stop.is_set():
                log.exception("building the matcher failed")
            return
        self.seen = self.context.matches_since
        while not self._stop.wait(self.interval):
            try:
                self.poll()
                self._prune()
            except Exception:  # a database restart: try again next time
                if not self._stop.is_set():
                    log.exception("following the change log failed")

    # -- one step ---------------------------------------------------------------------------
    def poll(self) -> int:
        """Apply the changes not seen yet; returns how many entries were refreshed."""
        with self.context.session() as session:
            low = min(self.gaps, default=self.seen + 1)
            rows = [r for r in changes.since(session, low - 1) if r[0] not in self.applied]
            if not rows and changes.latest(session) < self.seen:
                # the log went back below what was read: a new database behind the same URL
                log.warning("the change log restarted; following it from its start")
                self.seen, self.gaps, self.applied = 0, {}, set()
                rows = changes.since(session, 0)
            todo = self._note(rows)
            for kind, ids in todo.items():
                self._refresh(session, kind, ids)
        return sum(len(ids) for ids in todo.values())

    def _note(self, rows: list[tuple[int, str, int]]) -> dict[str, list[int]]:
        """Mark these changes seen; which entries to refresh, by kind."""
        now = self.clock()
        ids = {r[0] for r in rows}
        top = max(ids, default=self.seen)
        if top - self.seen <= MAX_GAPS:
            for missing in range(self.seen + 1, top):
                if missing not in ids:
                    self.gaps.setdefault(missing, now)
        self.seen = max(self.seen, top)
        for change_id in ids:
            self.gaps.pop(change_id, None)
        self.gaps = {i: t for i, t in self.gaps.items() if now - t < GAP_SECONDS}
        self.applied |= ids
        floor = min(self.gaps, default=self.seen)
        self.applied = {i for i in self.applied if i >= floor}
        own = self.context.take_applied(ids)
        todo: dict[str, list[int]] = {}
        for change_id, kind, entry_id in rows:
            if change_id not in own:
                todo.setdefault(kind, [])
                if entry_id not in todo[kind]:
                    todo[kind].append(entry_id)
        return todo

    def _refresh(self, session, kind: str, ids: list[int]) -> None:
        for start in range(0, len(ids), REFRESH_CHUNK):
            chunk = ids[start : start + REFRESH_CHUNK]
            self.context.embed(kind, chunk)  # only what another process left unembedded
            self.context.matches.refresh(session, kind, chunk)
            self.refreshed += len(chunk)
        log.info("refreshed %d %s entries written by other processes", len(ids), kind)

    def _prune(self) -> None:
        if self.clock() - self._pruned_at < PRUNE_SECONDS:
            return
        self._pruned_at = self.clock()
        with self.context.session() as session:
            removed = changes.prune(session)
        if removed:
            log.info("pruned %d change log rows older than %s", removed, changes.KEEP)
