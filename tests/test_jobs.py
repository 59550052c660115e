"""The background job registry: results, failures in Chinese, forgetting old jobs, and pages that
keep answering while a job runs."""
from __future__ import annotations

import logging
import threading
import time

import pytest
from fastapi.testclient import TestClient

from service.jobs import INTERNAL_ERROR, Job, JobError, JobRegistry, Reporter, jobs_of
from tests.web import client, organiser, soup  # noqa: F401


def wait_finished(get, job_id: str, seconds: float = 60) -> Job:
    """Poll until the job has finished (bounded, so a stuck job fails the test instead of hanging)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = get(job_id)
        if job is not None and job.finished:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish within {seconds} s")


@pytest.fixture()
def registry():
    jobs = JobRegistry(keep=3)
    yield jobs
    jobs.shutdown()


def test_a_job_reports_progress_and_keeps_its_result(registry: JobRegistry) -> None:
    seen = threading.Event()
    go = threading.Event()

    def work(report: Reporter) -> dict:
        report.counter("向量化")(120, 320)
        seen.set()
        go.wait(10)
        return {"created": 2}

    job = registry.submit("导入", work)
    assert seen.wait(10)
    running = registry.get(job.id)
    assert (running.stage, running.done, running.total, running.finished) == ("向量化", 120, 320, False)
    assert running.percent == 37
    go.set()
    done = wait_finished(registry.get, job.id)
    assert done.result == {"created": 2} and done.error is None and done.stage == "已完成"


def test_a_snapshot_does_not_change_under_the_reader(registry: JobRegistry) -> None:
    go = threading.Event()
    job = registry.submit("x", lambda report: (report.progress(1, 2), go.wait(10), {})[-1])
    first = registry.get(job.id)
    go.set()
    wait_finished(registry.get, job.id)
    assert first.finished is False


def test_a_crash_is_logged_and_shown_as_a_chinese_message(registry: JobRegistry, caplog) -> None:
    def crash(report: Reporter) -> dict:
        raise KeyError("secret internals")

    with caplog.at_level(logging.ERROR, logger="service.jobs"):
        job = wait_finished(registry.get, registry.submit("坏任务", crash).id)
    assert job.error == INTERNAL_ERROR and "secret" not in job.error
    assert "secret internals" in caplog.text and "Traceback" in caplog.text


def test_a_job_error_shows_its_own_message(registry: JobRegistry) -> None:
    def refuse(report: Reporter) -> dict:
        raise JobError("文件为空")

    job = wait_finished(registry.get, registry.submit("导入", refuse).id)
    assert job.error == "文件为空" and job.finished


def test_only_the_last_jobs_are_kept(registry: JobRegistry) -> None:
    ids = [registry.submit(f"任务 {n}", lambda report: {}).id for n in range(5)]
    for job_id in ids[-3:]:
        wait_finished(registry.get, job_id)
    registry.submit("再一个", lambda report: {})
    assert registry.get(ids[0]) is None and registry.get(ids[1]) is None
    assert registry.get(ids[-1]) is not None


def test_a_running_job_is_never_forgotten(registry: JobRegistry) -> None:
    go = threading.Event()
    slow = registry.submit("慢任务", lambda report: (go.wait(10), {})[-1])
    for n in range(5):
        registry.submit(f"任务 {n}", lambda report: {})
    assert registry.get(slow.id) is not None
    go.set()
    wait_finished(registry.get, slow.id)


def test_pages_answer_while_a_slow_job_runs(organiser: TestClient) -> None:
    jobs = jobs_of(organiser.app)
    started, go = threading.Event(), threading.Event()

    def slow(report: Reporter) -> dict:
        report.stage("向量化", total=320)
        report.progress(120, 320)
        started.set()
        go.wait(30)
        return {"encoded": 320}

    job = jobs.submit("重新向量化全部条目", slow)
    try:
        assert started.wait(10)
        begun = time.monotonic()
        assert organiser.get("/admin").status_code == 200
        page = organiser.get(f"/admin/jobs/{job.id}")
        assert time.monotonic() - begun < 10 and not jobs.get(job.id).finished
        status = soup(page).find(id="job-status")
        assert status["hx-get"] == f"/admin/jobs/{job.id}/status" and "every 1s" in status["hx-trigger"]
        assert status.find("progress")["value"] == "120" and status.find("progress")["max"] == "320"
        assert "向量化 120/320" in status.find(class_="job-stage").text
        assert status.find("noscript")  # a refresh for browsers without JavaScript
    finally:
        go.set()
    wait_finished(jobs.get, job.id)
    done = soup(organiser.get(f"/admin/jobs/{job.id}/status")).find(id="job-status")
    assert not done.has_attr("hx-get") and not done.find("progress")  # polling stops
    assert "320" in done.text


def test_an_unknown_job_is_a_chinese_404(organiser: TestClient) -> None:
    response = organiser.get("/admin/jobs/nope")
    assert response.status_code == 404 and "找不到" in soup(response).find(class_="error").text
