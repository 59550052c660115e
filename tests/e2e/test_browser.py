"""The whole organiser and firm journey in a real browser: Debian's chromium, driven by
Playwright, against ``scenario-match serve`` on loopback with a real SQLite data dir."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import CAP_HEADER, CAPABILITIES, OPP_HEADER, OPPORTUNITIES, write_csv

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "browser-test-password"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server over a data dir holding the opportunities only (capabilities come in
    through the browser), with one organiser account."""
    root = tmp_path_factory.mktemp("e2e")
    env = {**os.environ, "SCENARIO_MATCH_DATA_DIR": str(root / "data")}
    exe = str(Path(sys.executable).parent / "scenario-match")
    opps = write_csv(root / "opps.csv", OPP_HEADER, OPPORTUNITIES)
    subprocess.run([exe, "import", "opportunities", str(opps)], env=env, check=True, capture_output=True)
    subprocess.run([exe, "create-organiser", "--username", "organiser", "--password", PASSWORD],
                   env=env, check=True, capture_output=True)
    port = free_port()
    log = open(root / "server.log", "w")
    process = subprocess.Popen([exe, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if b'"index_ready":true' in urllib.request.urlopen(url + "/health", timeout=2).read():
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("the server did not become ready: " + (root / "server.log").read_text())
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@pytest.fixture()
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--no-first-run",
                  "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


def test_import_submit_approve_and_match(server: str, browser, tmp_path: Path) -> None:
    shots = tmp_path / "screenshots"
    shots.mkdir()
    caps_file = write_csv(tmp_path / "能力清单.csv", ["公司名称", *CAP_HEADER[1:2], "企业与产品简介", "技术方向"],
                          [[c[2], c[1], c[5], c[3]] for c in CAPABILITIES], encoding="gbk", title="附件2：场景能力清单")
    organiser = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()

    # an organiser signs in and imports a list through the preview step
    organiser.goto(server + "/login")
    organiser.fill("input[name=username]", "organiser")
    organiser.fill("input[name=password]", PASSWORD)
    organiser.click("form[action='/login'] button[type=submit]")
    organiser.wait_for_url("**/admin")
    organiser.goto(server + "/admin/import")
    organiser.check("input[name=kind][value=capability]")
    organiser.set_input_files("input[name=file]", str(caps_file))
    organiser.click("text=上传并预览")
    organiser.wait_for_selector("text=确认导入")
    assert organiser.locator("select").count() >= 4  # the detected mapping, one select per header
    organiser.screenshot(path=str(shots / "preview.png"), full_page=True)
    organiser.click("button.commit")
    organiser.wait_for_selector(".import-report", timeout=120_000)
    assert organiser.text_content(".import-report .created").strip() == "5"
    organiser.screenshot(path=str(shots / "imported.png"), full_page=True)

    # a firm submits a capability (no account)
    firm = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    firm.goto(server + "/submit")
    firm.fill("[name=title]", "冷链医疗无人机配送")
    firm.fill("[name=organization]", "无锡天翼医疗物流有限公司")
    firm.fill("[name=description]", "面向医院院区之间的检验样本无人机配送：2-8℃温控样本箱，航线规划与空域报备，"
                                    "样本交接扫码全程可追溯。")
    firm.click("text=提交审核")
    firm.wait_for_url("**/submission/**")
    assert "待审核" in firm.text_content("main")
    firm.screenshot(path=str(shots / "receipt.png"), full_page=True)

    # the organiser approves it, and it is among the drone-delivery opportunity's matches
    organiser.goto(server + "/admin/review")
    organiser.click("text=通过并发布")
    organiser.wait_for_load_state()
    organiser.goto(server + "/opportunities/O-1")
    matches = organiser.text_content("main")
    assert "冷链医疗无人机配送" in matches
    organiser.screenshot(path=str(shots / "matches.png"), full_page=True)
    assert all((shots / name).stat().st_size > 0 for name in ("preview.png", "imported.png", "receipt.png", "matches.png"))
