"""``scenario-match backup`` while a server serves and firms submit, ``restore`` into a fresh
database (of the test's backend, and SQLite), and refusals that leave the data untouched."""
from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from service.backup import tables
from service.db import make_engine
from service.settings import Settings
from tests.conftest import EXE, TEST_DATABASE_URL, create_database, drop_database, run_cli
from tests.helpers import OPP_HEADER, lists, write_csv

PASSWORD = "backup-test-password"


def snapshot(env: dict[str, str | None]) -> dict[str, list[tuple]]:
    """Every backed-up table's rows (the change log aside), in key order."""
    settings = Settings(data_dir=Path(env["SCENARIO_MATCH_DATA_DIR"]), database_url=env.get("SCENARIO_MATCH_DATABASE_URL"))
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            return {t.name: [tuple(r) for r in connection.execute(select(t).order_by(*t.primary_key.columns))]
                    for t in tables()}
    finally:
        engine.dispose()


def counts(rows: dict[str, list[tuple]]) -> dict[str, int]:
    return {name: len(values) for name, values in rows.items()}


def submit_forever(url: str, stop: threading.Event, done: list[int], failures: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        while not stop.is_set():
            page = client.get("/submit")
            token = BeautifulSoup(page.text, "html.parser").find("meta", attrs={"name": "csrf-token"})["content"]
            response = client.post("/submit", data={
                "csrf_token": token, "title": f"备份期间提交 {len(done)}", "organization": "无锡备份科技有限公司",
                "field": "节能环保", "district": "新吴区", "description": "备份进行时提交的能力，用于检查一致性。"})
            (done if response.status_code == 303 else failures).append(response.status_code)


@pytest.fixture()
def seeded(data_dir: Path, tmp_path: Path) -> None:
    """A database with both lists, an organiser, a mark and an audit trail."""
    opps, caps = lists(tmp_path)
    for args in (["import", "opportunities", str(opps)], ["import", "capabilities", str(caps)],
                 ["create-organiser", "--username", "organiser", "--password", PASSWORD],
                 ["review", "--opportunity", "O-1", "--capability", "C-2", "--mark", "confirmed"]):
        result = run_cli(*args)
        assert result.returncode == 0, result.stderr


@pytest.fixture()
def source(seeded: None, start_server):
    """The seeded database, served."""
    return start_server("server", sync_seconds="0.5")


@pytest.fixture()
def fresh(tmp_path: Path):
    """Environments of empty databases to restore into: the test's backend, and SQLite."""
    made = []

    def make(name: str, sqlite: bool = False) -> dict[str, str | None]:
        env = {"SCENARIO_MATCH_DATA_DIR": str(tmp_path / name), "SCENARIO_MATCH_DATABASE_URL": None}
        if TEST_DATABASE_URL and not sqlite:
            env["SCENARIO_MATCH_DATABASE_URL"] = create_database()
            made.append(env["SCENARIO_MATCH_DATABASE_URL"])
        return env

    yield make
    for url in made:
        drop_database(url)


def cli(env: dict[str, str | None], *args: str) -> subprocess.CompletedProcess:
    """``scenario-match ARGS`` over another database than the test's."""
    environment = {k: v for k, v in os.environ.items() if k not in env}
    environment.update({k: v for k, v in env.items() if v is not None})
    return subprocess.run([EXE, *args], env=environment, capture_output=True, text=True, timeout=600,
                          check=False)


def test_backup_while_serving_and_restore_elsewhere(source, fresh, tmp_path: Path) -> None:
    live = {"SCENARIO_MATCH_DATA_DIR": os.environ["SCENARIO_MATCH_DATA_DIR"],
            "SCENARIO_MATCH_DATABASE_URL": os.environ.get("SCENARIO_MATCH_DATABASE_URL")}
    before = snapshot(live)
    stop, done, failures = threading.Event(), [], []
    writer = threading.Thread(target=submit_forever, args=(source.url, stop, done, failures))
    writer.start()
    try:
        while len(done) < 2:
            time.sleep(0.1)
        archive = tmp_path / "backup.smbk"
        result = run_cli("backup", str(archive))
        written_during = len(done)
    finally:
        stop.set()
        writer.join(timeout=120)
    assert result.returncode == 0, result.stderr
    assert "已备份" in result.stdout and failures == []
    assert written_during >= 2

    with zipfile.ZipFile(archive) as zipped:
        manifest = json.loads(zipped.read("manifest.json"))
    assert manifest["format"] == "scenario-match-backup" and manifest["revision"]
    after = snapshot(live)
    for name, rows in before.items():  # everything there before the backup is in it
        assert manifest["tables"][name] >= len(rows)
    assert manifest["tables"]["capability"] <= len(after["capability"])

    for target in (fresh("restored"), fresh("restored-sqlite", sqlite=True)):
        result = cli(target, "restore", "--yes", str(archive))
        assert result.returncode == 0, result.stderr
        restored = snapshot(target)
        assert counts(restored) == manifest["tables"]
        # the same content: every restored row is a row of the live database now (capabilities
        # submitted after the backup aside), and nothing that was there before is missing
        for name, rows in restored.items():
            assert {repr(r) for r in before[name]} <= {repr(r) for r in rows}, name
        titles = {r[1] for r in restored["capability"]}
        assert titles <= {r[1] for r in after["capability"]}
        # the restored database works: matches from restored vectors, nothing re-encoded
        result = cli(target, "match", "--opportunity", "O-1", "--top", "3", "--json")
        assert result.returncode == 0 and "C-2" in result.stdout, result.stderr


def test_restore_into_the_running_service(source, tmp_path: Path) -> None:
    archive = tmp_path / "backup.smbk"
    assert run_cli("backup", str(archive)).returncode == 0
    late = write_csv(tmp_path / "late.csv", OPP_HEADER, [[
        "LATE-1", "地铁站客流预测与疏导", "无锡地铁集团", "智慧交通", "梁溪区",
        "早晚高峰地铁站客流集中，需要预测并提前疏导。", "客流预测；疏导方案", ""]])
    assert run_cli("import", "opportunities", str(late)).returncode == 0
    with httpx.Client(base_url=source.url, timeout=60) as client:
        def listed() -> bool:
            page = client.get("/opportunities", params={"q": "地铁站客流预测疏导"}).text
            return "/opportunities/LATE-1" in page

        deadline = time.monotonic() + 20
        while not listed() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert listed()
        result = run_cli("restore", "--yes", str(archive))
        assert result.returncode == 0, result.stderr
        deadline = time.monotonic() + 20
        while listed() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not listed()  # the running service followed the restore
        assert client.get("/opportunities/LATE-1").status_code == 404
        assert client.get("/health").json()["opportunities"]["total"] == 3
    assert "Traceback" not in source.text()


def test_a_bad_archive_is_refused_and_nothing_changes(seeded: None, tmp_path: Path) -> None:
    live = {"SCENARIO_MATCH_DATA_DIR": os.environ["SCENARIO_MATCH_DATA_DIR"],
            "SCENARIO_MATCH_DATABASE_URL": os.environ.get("SCENARIO_MATCH_DATABASE_URL")}
    good = tmp_path / "good.smbk"
    assert run_cli("backup", str(good)).returncode == 0
    (tmp_path / "corrupt.smbk").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    (tmp_path / "not-an-archive.smbk").write_text("编号,场景名称\n1,2\n")
    with zipfile.ZipFile(good) as old, zipfile.ZipFile(tmp_path / "newer.smbk", "w") as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename == "manifest.json":
                data = json.dumps({**json.loads(data), "revision": "9999"}).encode()
            new.writestr(item, data)
    before = snapshot(live)
    for name, message in [("missing", "找不到备份文件"), ("corrupt", "损坏"), ("not-an-archive", "损坏"),
                          ("newer", "更新版本")]:
        result = run_cli("restore", "--yes", str(tmp_path / f"{name}.smbk"))
        assert result.returncode == 1, name
        assert "Traceback" not in result.stderr and result.stderr.startswith("错误："), result.stderr
        assert message in result.stderr, result.stderr
    assert snapshot(live) == before


def test_backup_to_a_bad_path_is_refused(data_dir: Path, tmp_path: Path) -> None:
    for path in (tmp_path / "no" / "such" / "dir" / "x.smbk", tmp_path):
        result = run_cli("backup", str(path))
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert result.stderr.startswith("错误：")
    assert not list(tmp_path.glob("*.partial"))
