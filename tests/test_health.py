"""The web service that ``serve`` starts: GET /health."""
from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from matching.encoders import DEFAULT_MODEL
from service.app import create_app
from service.cli import app as cli
from service.settings import Settings
from tests.helpers import lists


def test_health_reports_the_model_and_both_counts(data_dir: Path, tmp_path: Path) -> None:
    opps, caps = lists(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["import", "opportunities", str(opps)]).exit_code == 0
    assert runner.invoke(cli, ["import", "capabilities", str(caps)]).exit_code == 0
    with TestClient(create_app(Settings())) as client:
        body = client.get("/health").json()
    assert body["status"] == "ok" and body["model"] == DEFAULT_MODEL
    assert body["opportunities"] == {"total": 3, "published": 3}
    assert body["capabilities"] == {"total": 5, "published": 5}


def test_health_on_an_empty_data_dir(data_dir: Path) -> None:
    with TestClient(create_app(Settings())) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["opportunities"]["total"] == 0
