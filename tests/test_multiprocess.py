"""Two service processes over one database (PostgreSQL in the PostgreSQL run, a SQLite file
otherwise): what one writes, the other finds within a few seconds, through the change log."""
from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from bs4 import BeautifulSoup

from tests.conftest import run_cli
from tests.helpers import CAP_HEADER, lists, write_csv

PASSWORD = "multi-process-password"
SYNC = "0.5"
WITHIN = 20.0  # seconds; the follower reads every SYNC seconds, on a busy shared machine

def csrf(client: httpx.Client, path: str) -> str:
    page = BeautifulSoup(client.get(path).text, "html.parser")
    return page.find("meta", attrs={"name": "csrf-token"})["content"]


def sign_in(client: httpx.Client) -> None:
    response = client.post("/login", data={"username": "organiser", "password": PASSWORD,
                                           "csrf_token": csrf(client, "/login"), "next": "/admin"})
    assert response.status_code == 303, response.text


def found(client: httpx.Client, path: str, query: str, ext_id: str) -> bool:
    response = client.get(f"{path}?q={quote(query)}")
    assert response.status_code == 200, response.text
    page = BeautifulSoup(response.text, "html.parser")
    return any(a.get("href") == f"{path}/{ext_id}" for a in page.find_all("a"))


def wait_until_found(client: httpx.Client, path: str, query: str, ext_id: str) -> float:
    """Seconds until the search page of ``client``'s server lists ``ext_id``."""
    start = time.monotonic()
    while time.monotonic() - start < WITHIN:
        if found(client, path, query, ext_id):
            return time.monotonic() - start
        time.sleep(0.1)
    pytest.fail(f"{ext_id} not found on {client.base_url}{path} within {WITHIN} s")


@pytest.fixture()
def two_servers(data_dir: Path, tmp_path: Path, start_server):
    opps, caps = lists(tmp_path)
    for args in (["import", "opportunities", str(opps)], ["import", "capabilities", str(caps)],
                 ["create-organiser", "--username", "organiser", "--password", PASSWORD]):
        result = run_cli(*args)
        assert result.returncode == 0, result.stderr
    return start_server("a", sync_seconds=SYNC), start_server("b", sync_seconds=SYNC)


def test_what_one_process_writes_the_other_finds(two_servers, tmp_path: Path) -> None:
    a, b = two_servers
    title = "氢燃料电池重卡加氢站智能调度"
    with httpx.Client(base_url=a.url, follow_redirects=False, timeout=60) as on_a, \
            httpx.Client(base_url=b.url, timeout=60) as on_b:
        assert not found(on_b, "/opportunities", title, "MP-1")
        # an organiser publishes a new opportunity through the web form of process A
        sign_in(on_a)
        form = {"id": "MP-1", "title": title, "organization": "无锡市交通运输局", "field": "新能源",
                "district": "新吴区", "description": "园区物流重卡改用氢燃料电池，加氢站排队时间长，需要按车辆到站预测调度加氢。",
                "requirements": "车辆到站时间预测；加氢排队调度；与车队管理系统对接", "status": "published",
                "csrf_token": csrf(on_a, "/admin/opportunities/new")}
        response = on_a.post("/admin/opportunities/new", data=form)
        assert response.status_code == 303, response.text
        delay = wait_until_found(on_b, "/opportunities", title, "MP-1")
        print(f"\nweb write on A found on B after {delay:.2f} s")
        assert found(on_a, "/opportunities", title, "MP-1")  # A itself at once

        # a third process (an import from the command line) is seen by both
        caps = write_csv(tmp_path / "more.csv", CAP_HEADER, [[
            "MP-C1", "加氢站排队预测与调度系统", "无锡氢行科技有限公司", "新能源", "新吴区",
            "根据车辆位置和加氢机状态预测到站时间，动态分配加氢机位，减少重卡排队。", "试点应用"]])
        result = run_cli("import", "capabilities", str(caps))
        assert result.returncode == 0, result.stderr
        query = "加氢站排队预测调度"
        for client in (on_a, on_b):
            delay = wait_until_found(client, "/capabilities", query, "MP-C1")
            print(f"CLI import found on {client.base_url} after {delay:.2f} s")
        # and the new capability is matched to the new opportunity on the other process
        page = on_b.get("/opportunities/MP-1").text
        assert "MP-C1" in page or "加氢站排队预测与调度系统" in page
    assert "Traceback" not in a.text() + b.text()


class _Context:
    """What the follower's bookkeeping asks of a context."""

    class settings:  # noqa: N801
        sync_seconds = 1.0

    def __init__(self) -> None:
        self.own: set[int] = set()

    def take_applied(self, ids: set[int]) -> set[int]:
        found, self.own = self.own & ids, self.own - ids
        return found


def test_an_id_that_commits_late_is_applied_once_and_gaps_expire() -> None:
    from service.follow import GAP_SECONDS, Follower

    now = [0.0]
    context = _Context()
    follower = Follower(context, clock=lambda: now[0])
    follower.seen = 10
    # 12 commits before 11: 11 is kept as a gap and read again
    assert follower._note([(12, "opportunity", 5)]) == {"opportunity": [5]}
    assert set(follower.gaps) == {11} and follower.seen == 12
    assert follower._note([(11, "capability", 7)]) == {"capability": [7]}
    assert follower.gaps == {} and follower.applied == {12}
    # this process's own changes (already applied by its after_write) are not refreshed again
    context.own = {13}
    assert follower._note([(13, "opportunity", 8), (14, "opportunity", 8)]) == {"opportunity": [8]}
    # an id that never commits (a rolled-back insert) is given up after GAP_SECONDS
    follower._note([(16, "opportunity", 9)])
    assert 15 in follower.gaps
    now[0] = GAP_SECONDS + 1
    follower._note([])
    assert follower.gaps == {} and follower.applied == {16}  # nothing older is kept
