"""Helpers for page tests: an app over a small imported data dir, a signed-in organiser,
and HTML parsed with BeautifulSoup."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.app import create_app
from service.auth import create_account
from service.cli import app as cli
from service.settings import Settings
from tests.helpers import lists

PASSWORD = "correct horse battery"


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def csrf_of(client: TestClient, path: str = "/login") -> str:
    """The CSRF token the page at ``path`` puts in its forms."""
    return soup(client.get(path)).find("meta", attrs={"name": "csrf-token"})["content"]


@pytest.fixture()
def client(data_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    """The app over three opportunities and five capabilities, matcher built."""
    opps, caps = lists(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["import", "opportunities", str(opps)]).exit_code == 0
    assert runner.invoke(cli, ["import", "capabilities", str(caps)]).exit_code == 0
    app = create_app(Settings())
    with TestClient(app) as test_client:
        app.state.context.matches  # wait for the index, as a user would wait for start-up
        yield test_client


def sign_in(client: TestClient, username: str = "organiser") -> None:
    context = client.app.state.context
    with context.session() as session:
        create_account(session, username=username, password=PASSWORD)
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": csrf_of(client), "next": "/admin"},
                           follow_redirects=False)
    assert response.status_code == 303


@pytest.fixture()
def organiser(client: TestClient) -> TestClient:
    sign_in(client)
    return client
