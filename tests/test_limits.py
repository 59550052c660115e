"""Bodies over the limit are refused (413) before they are read whole; settings refuse a
production start without a secret key; the rate limiter's window."""
from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from service.app import create_app
from service.ratelimit import Limiter
from service.settings import Settings


@pytest.fixture()
def small_app(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("SCENARIO_MATCH_MAX_BODY_KB", "4")
    monkeypatch.setenv("SCENARIO_MATCH_MAX_IMPORT_MB", "0.05")
    return TestClient(create_app(Settings()))


def test_an_api_body_over_the_limit_is_413_json(small_app: TestClient):
    response = small_app.post("/api/v1/opportunities", content=b"x" * 5000,
                              headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert "4 KB" in response.json()["error"]["message"]


def test_a_streamed_body_without_length_is_cut_off_at_the_limit(small_app: TestClient):
    sent = []

    def chunks():
        for _ in range(100):  # 100 KB in all, far past the 4 KB limit
            sent.append(1)
            yield b"y" * 1024

    response = small_app.post("/login", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    assert "内容过大" in response.text


def test_a_form_under_the_limit_still_works(small_app: TestClient):
    response = small_app.get("/login")
    assert response.status_code == 200
    assert small_app.post("/login", data={"username": "a", "password": "b"}).status_code != 413


def test_file_paths_get_the_import_limit_not_the_body_limit(small_app: TestClient):
    # 20 KB is over the 4 KB body limit but under the 0.05 MB import limit: not refused for size
    response = small_app.post("/admin/import/preview", files={"file": ("a.csv", b"a" * 20_000)})
    assert response.status_code != 413
    response = small_app.post("/admin/import/preview", files={"file": ("a.csv", b"a" * 200_000)})
    assert response.status_code == 413


def test_production_refuses_the_default_and_weak_keys(monkeypatch: pytest.MonkeyPatch):
    for key in (None, "change-me", "short-key"):
        with pytest.raises(ValidationError, match="SECRET_KEY"):
            Settings(environment="production", secret_key=key)
    strong = "k" * 40
    assert Settings(environment="production", secret_key=strong).session_secret() == strong


def test_the_cli_says_why_production_will_not_start(data_dir: Path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "SCENARIO_MATCH_ENVIRONMENT": "production"}
    env.pop("SCENARIO_MATCH_SECRET_KEY", None)
    result = subprocess.run([sys.executable, "-m", "service.cli", "serve"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "SCENARIO_MATCH_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_limiter_counts_a_sliding_window_per_client(monkeypatch: pytest.MonkeyPatch):
    clock = [100.0]
    monkeypatch.setattr("service.ratelimit.time.monotonic", lambda: clock[0])
    limiter = Limiter()
    assert limiter.hit("search", "a", 2, 60) is None
    assert limiter.hit("search", "a", 2, 60) is None
    assert limiter.hit("search", "a", 2, 60) == 60  # third in the window: wait for the first to expire
    assert limiter.hit("search", "b", 2, 60) is None  # another client has its own count
    assert limiter.hit("submit", "a", 2, 60) is None  # and another bucket too
    clock[0] += 61
    assert limiter.hit("search", "a", 2, 60) is None
