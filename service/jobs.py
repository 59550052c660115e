"""Long work (imports, re-embedding) run in the background while pages keep answering.

A small in-process registry: one or two worker threads, the last ``KEEP`` jobs remembered.
A job's function gets a ``Reporter`` to tell its stage and progress; what it returns is the
job's result. A failure is logged with its traceback; users see only a Chinese message.
"""
from __future__ import annotations

import logging
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from fastapi import FastAPI

log = logging.getLogger(__name__)

KEEP = 50
WORKERS = 1  # the encoder and SQLite both prefer one writer at a time
INTERNAL_ERROR = "任务因内部错误而中断，详细信息已记录在服务器日志中。请稍后重试，或联系管理员。"


class JobError(Exception):
    """A failure whose message (in Chinese) is fit to show to the user."""


@dataclass
class Job:
    id: str
    label: str
    stage: str = "排队等待中"
    done: int = 0
    total: int = 0
    finished: bool = False
    error: str | None = None
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def percent(self) -> int:
        return self.done * 100 // self.total if self.total else 0


class Reporter:
    """What a running job uses to say where it is."""

    def __init__(self, registry: JobRegistry, job_id: str):
        self._registry = registry
        self._job_id = job_id

    def stage(self, text: str, total: int = 0) -> None:
        self._registry.update(self._job_id, stage=text, done=0, total=total)

    def progress(self, done: int, total: int) -> None:
        self._registry.update(self._job_id, done=done, total=total)

    def counter(self, text: str) -> Callable[[int, int], None]:
        """A ``(done, total)`` callback for a named stage, as the importer and embedder take."""
        self.stage(text)
        return self.progress


JobFunction = Callable[[Reporter], dict[str, Any]]


class JobRegistry:
    def __init__(self, workers: int = WORKERS, keep: int = KEEP):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._keep = keep

    def submit(self, label: str, function: JobFunction) -> Job:
        job = Job(id=secrets.token_hex(8), label=label)
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        self._pool.submit(self._run, job.id, function)
        return replace(job)

    def get(self, job_id: str) -> Job | None:
        """A snapshot of the job (safe to read while it runs), or None if unknown or forgotten."""
        with self._lock:
            job = self._jobs.get(job_id)
            return replace(job, result=dict(job.result)) if job else None

    def update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                for key, value in changes.items():
                    setattr(job, key, value)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, job_id: str, function: JobFunction) -> None:
        try:
            result = function(Reporter(self, job_id))
        except JobError as error:
            self.update(job_id, finished=True, error=str(error), stage="失败")
        except Exception:
            log.exception("background job %s failed", job_id)
            self.update(job_id, finished=True, error=INTERNAL_ERROR, stage="失败")
        else:
            self.update(job_id, finished=True, result=result or {}, stage="已完成")

    def _forget_old(self) -> None:
        """Keep the newest jobs; a running job is never forgotten."""
        for job_id in list(self._jobs):
            if len(self._jobs) <= self._keep:
                break
            if self._jobs[job_id].finished:
                del self._jobs[job_id]


_attach_lock = threading.Lock()


def jobs_of(app: FastAPI) -> JobRegistry:
    """The app's registry, made on first use (no threads start before a job is submitted)."""
    with _attach_lock:
        registry = getattr(app.state, "jobs", None)
        if registry is None:
            registry = app.state.jobs = JobRegistry()
        return registry
