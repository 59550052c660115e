"""Writers at the same time over one database: a real server while two organisers import
lists from the command line, firms submit through the form and the public searches. No
request may fail, nothing may be stored twice or lost."""
from __future__ import annotations

import re
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup
from sqlmodel import Session, select

from service.context import Context
from service.models import Capability, Embedding, Opportunity
from service.settings import Settings
from tests.conftest import run_cli
from tests.helpers import CAPABILITIES, OPP_HEADER, OPPORTUNITIES, lists, write_csv

IMPORTERS = 2
PER_FILE = 25
FIRMS = 3
PER_FIRM = 4
SEARCHERS = 2
LOCKED = re.compile(r"database is locked|deadlock|could not serialize", re.IGNORECASE)


def opportunity_rows(prefix: str, n: int) -> list[list[str]]:
    return [[f"{prefix}-{i:03d}", f"{prefix} 批次场景 {i}：园区能耗监测与优化", f"无锡市{prefix}管理委员会",
             "节能环保", "新吴区", f"园区第 {i} 号楼宇的用电、用水数据分散，需要统一监测并给出节能建议。",
             f"分项计量；能耗异常告警；第 {i} 号楼节能方案", ""] for i in range(1, n + 1)]


class Record:
    """What the clients saw: statuses and any failure text, shared by the threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []

    def note(self, what: str, response: httpx.Response) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code >= 500 or LOCKED.search(response.text):
                self.failures.append(f"{what}: {response.status_code} {response.text[:300]}")

    def error(self, what: str, error: BaseException) -> None:
        with self.lock:
            self.failures.append(f"{what}: {error!r}")


def firm(url: str, n: int, record: Record, titles: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=120) as client:
        for i in range(PER_FIRM):
            try:
                page = client.get("/submit")
                record.note("GET /submit", page)
                token = BeautifulSoup(page.text, "html.parser").find(
                    "meta", attrs={"name": "csrf-token"})["content"]
                title = f"企业{n} 第{i}项 楼宇能耗分项计量平台"
                response = client.post("/submit", data={
                    "csrf_token": token, "title": title, "organization": f"无锡节能科技{n}号有限公司",
                    "field": "节能环保", "district": "新吴区", "maturity": "",
                    "description": "楼宇用电用水分项计量，异常告警与节能诊断，支持园区多楼宇统一管理。"})
                record.note("POST /submit", response)
                if response.status_code == 303:
                    titles.append(title)
            except Exception as error:  # noqa: BLE001  (reported below, not raised in a thread)
                record.error("firm", error)


def searcher(url: str, stop: threading.Event, record: Record) -> None:
    queries = ["能耗监测", "无人机 样本", "道路病害", "蓝藻 预警", "节能诊断"]
    with httpx.Client(base_url=url, timeout=120) as client:
        i = 0
        while not stop.is_set():
            try:
                record.note("search", client.get("/opportunities", params={"q": queries[i % len(queries)]}))
                record.note("search", client.get("/capabilities", params={"q": queries[i % len(queries)]}))
            except Exception as error:  # noqa: BLE001
                record.error("search", error)
            i += 1


def test_importers_firms_and_searches_at_once(data_dir: Path, tmp_path: Path, start_server) -> None:
    opps, caps = lists(tmp_path)
    assert run_cli("import", "opportunities", str(opps)).returncode == 0
    assert run_cli("import", "capabilities", str(caps)).returncode == 0
    server = start_server("server", sync_seconds="0.5")
    files = [write_csv(tmp_path / f"batch{n}.csv", OPP_HEADER, opportunity_rows(f"B{n}", PER_FILE))
             for n in range(IMPORTERS)]

    record, stop, titles = Record(), threading.Event(), []
    results: list = [None] * IMPORTERS

    def importer(n: int) -> None:
        results[n] = run_cli("import", "opportunities", str(files[n]), "--json")

    threads = [threading.Thread(target=importer, args=(n,)) for n in range(IMPORTERS)]
    threads += [threading.Thread(target=firm, args=(server.url, n, record, titles)) for n in range(FIRMS)]
    searchers = [threading.Thread(target=searcher, args=(server.url, stop, record)) for _ in range(SEARCHERS)]
    started = time.monotonic()
    for thread in threads + searchers:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    stop.set()
    for thread in searchers:
        thread.join(timeout=120)
    print(f"\n{time.monotonic() - started:.1f} s; responses by status: {dict(record.statuses)}")

    assert record.failures == []
    for n, result in enumerate(results):
        assert result.returncode == 0 and not LOCKED.search(result.stderr), result.stderr
        assert f'"created": {PER_FILE}' in result.stdout, result.stdout
    assert len(titles) == FIRMS * PER_FIRM
    assert record.statuses[200] > 0
    log = server.text()
    assert "Traceback" not in log and not LOCKED.search(log), log[-3000:]

    with Session(Context(Settings()).engine) as session:
        opp_ids = Counter(session.exec(select(Opportunity.ext_id)).all())
        cap_titles = Counter(session.exec(select(Capability.title)).all())
        expected = {row[0] for row in OPPORTUNITIES}
        expected |= {row[0] for n in range(IMPORTERS) for row in opportunity_rows(f"B{n}", PER_FILE)}
        assert set(opp_ids) == expected and max(opp_ids.values()) == 1
        assert all(cap_titles[title] == 1 for title in titles)
        assert {row[1] for row in CAPABILITIES} <= set(cap_titles)  # nothing earlier lost
        assert len(cap_titles) == len(CAPABILITIES) + len(titles)
        # every entry has its vectors, each once
        vectors = Counter((e.kind, e.entry_id, e.part) for e in session.exec(select(Embedding)).all())
        assert max(vectors.values()) == 1
        assert {entry_id for kind, entry_id, part in vectors if kind == "opportunity" and part == 0} == set(
            session.exec(select(Opportunity.id)).all())

    # the server's matcher holds every imported entry (seen through its change-log follower)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            page = client.get("/opportunities", params={"q": "B1 批次场景 25 园区能耗监测"}).text
            if "/opportunities/B1-025" in page:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the server's matcher did not pick up the imported entries")
