"""What the benchmark scripts share: the machine, timing, percentiles, the report file,
temp data dirs (seeded, or with synthetic capabilities), and a served instance.

Every script prints its figures and rewrites its own section of docs/BENCHMARKS.md, between
``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``; the other sections are left as they are.
Nothing here is a test: no figure is asserted.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import platform
import random
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "BENCHMARKS.md"
SEED_DIR = ROOT / "seed_data"
CACHE = Path(tempfile.gettempdir()) / "scenario-match-bench"
CLI = Path(sys.executable).with_name("scenario-match")

if str(ROOT) not in sys.path:  # run as `python bench/x.py` from the checkout
    sys.path.insert(0, str(ROOT))


SEARCHES = [
    "无人机物流配送", "工业视觉质检", "智慧养老 跌倒检测", "城市道路病害巡检", "新能源汽车电池回收",
    "AI 辅助诊断 影像", "digital twin for factories", "drone delivery of medical samples",
    "碳排放监测平台", "集成电路 缺陷检测", "predictive maintenance vibration sensors",
    "低空经济 飞行服务", "智能网联汽车 路侧单元", "社区网格 事件上报", "物联网 水质监测",
    "large language model customer service",
]
"""Short free-text queries, Chinese and English, for the search benchmarks."""


# -- the machine ------------------------------------------------------------------------------
def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def cpu_mhz() -> float | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                return float(line.split(":", 1)[1])
    return None


def cpu_flags() -> set[str]:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def ram_gib() -> float:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def rss_mib(pid: int | str = "self") -> float:
    """Current resident size of a process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Machine:
    nproc: int
    cpu: str
    mhz: float | None
    avx2: bool
    ram_gib: float
    load_at_start: str
    date: str
    python: str
    code: str

    @classmethod
    def now(cls) -> Machine:
        return cls(
            nproc=os.cpu_count() or 0,
            cpu=cpu_model(),
            mhz=cpu_mhz(),
            avx2="avx2" in cpu_flags(),
            ram_gib=ram_gib(),
            load_at_start=load_average(),
            date=dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            python=platform.python_version(),
            code=code_state(),
        )

    def markdown(self, command: str) -> str:
        mhz = f", {self.mhz:.0f} MHz" if self.mhz else ""
        return (
            f"- machine: {self.nproc} CPUs (nproc), {self.cpu}{mhz}"
            f"{', AVX2' if self.avx2 else ''}, {self.ram_gib:.1f} GiB RAM, Python {self.python}\n"
            f"- date: {self.date}\n"
            f"- load average at start (1/5/15 min): {self.load_at_start} — the machine is shared "
            "(other engineers run tests on it); compare figures within one run\n"
            f"- code: {self.code}\n"
            f"- command: `{command}`\n"
        )


def code_state() -> str:
    """Which code was measured (others change the tree while benchmarks run): a hash of the
    app's Python files and the newest of them."""
    files = sorted([*ROOT.glob("matching/*.py"), *ROOT.glob("service/**/*.py")])
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    newest = max(files, key=lambda p: p.stat().st_mtime)
    stamp = dt.datetime.fromtimestamp(newest.stat().st_mtime, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"matching/ + service/ sha256 {digest.hexdigest()[:12]}, newest file {newest.relative_to(ROOT)} ({stamp})"


def command_line() -> str:
    """The command as run, relative to the checkout."""
    script = Path(sys.argv[0]).resolve()
    with contextlib.suppress(ValueError):
        script = script.relative_to(ROOT)
    return " ".join(["python", shlex.quote(str(script)), *map(shlex.quote, sys.argv[1:])])


# -- figures ----------------------------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def p50_p95(values: Sequence[float]) -> tuple[float, float]:
    return percentile(values, 50), percentile(values, 95)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (also readable when printed)."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


class Stopwatch:
    def __init__(self) -> None:
        self.began = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.began


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


# -- the report file --------------------------------------------------------------------------
HEADER = """# Benchmarks

Figures printed by the scripts under `bench/`; each script rewrites its own section below
(`python bench/<script>.py`). They are measurements, not tests: nothing is asserted. The
machine is named in each section; the machine the figures were taken on is shared with
other engineers' test runs, so only ratios measured within one run are quoted, and the load
average at the start of each run is given.
"""


def write_section(name: str, title: str, body: str) -> None:
    """Replace (or append) this script's section of docs/BENCHMARKS.md, under a file lock so
    that two scripts finishing together do not lose each other's section."""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    section = f"{begin}\n## {title}\n\n{body.strip()}\n{end}"
    with open(REPORT.with_suffix(".md.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else HEADER
        if begin in text and end in text:
            head, rest = text.split(begin, 1)
            _, tail = rest.split(end, 1)
            text = head + section + tail
        else:
            text = text.rstrip() + "\n\n" + section + "\n"
        tmp = REPORT.with_suffix(".md.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(REPORT)
    with contextlib.suppress(OSError):
        REPORT.with_suffix(".md.lock").unlink()
    log(f"wrote section '{name}' of {REPORT.relative_to(ROOT)}")


# -- data dirs --------------------------------------------------------------------------------
def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENARIO_MATCH_")}
    env.update(SCENARIO_MATCH_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", **extra)
    return env


def run_cli(args: Sequence[str], data_dir: Path, *, timeout: float = 3600, **env: str
            ) -> tuple[float, subprocess.CompletedProcess]:
    """`scenario-match ARGS` in a subprocess over ``data_dir``: (wall seconds, result)."""
    watch = Stopwatch()
    done = subprocess.run([str(CLI), *args], env=env_for(data_dir, **env), cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False)
    elapsed = watch()
    if done.returncode:
        raise RuntimeError(f"scenario-match {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, done


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"sm-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _seed_key() -> str:
    """What a seeded data dir depends on: the seed lists, what is embedded, the schema."""
    digest = hashlib.sha256()
    files = sorted(SEED_DIR.glob("*.csv")) + [ROOT / "matching" / "text.py", ROOT / "service" / "embeddings.py",
                                               ROOT / "matching" / "encoders.py"]
    files += sorted((ROOT / "service" / "migrations" / "versions").glob("*.py"))
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def seeded_template() -> tuple[Path, float | None]:
    """A data dir made by `scenario-match seed`, kept under the temp dir and reused while the
    seed lists, the embedded texts, the encoder and the migrations are unchanged (seeding
    encodes ~1,100 texts: minutes on a busy 2-core machine). Returns (dir, seconds the seed
    took, or None when it was reused)."""
    target = CACHE / f"seeded-{_seed_key()}"
    if (target / "scenario-match.db").exists():
        return target, None
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="seeding-", dir=CACHE))
    log("seeding a template data dir (scenario-match seed)…")
    elapsed, _ = run_cli(["seed"], work)
    _checkpoint(work / "scenario-match.db")
    with contextlib.suppress(OSError):
        work.rename(target)
    if not (target / "scenario-match.db").exists():  # another run won the race
        shutil.rmtree(work, ignore_errors=True)
    return target, elapsed


def _checkpoint(db: Path) -> None:
    import sqlite3

    with contextlib.closing(sqlite3.connect(db)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def copy_data_dir(source: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.is_file() and not item.name.endswith(("-wal", "-shm")):
            shutil.copy2(item, target / item.name)
    return target


def stored_vectors(db: Path, kind: str) -> dict[tuple[int, int], np.ndarray]:
    """(entry id, part) -> vector, straight from the database file."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(db)) as con:
        rows = con.execute("SELECT entry_id, part, vector FROM embedding WHERE kind = ?", (kind,)).fetchall()
    return {(e, p): np.frombuffer(v, np.float32) for e, p, v in rows}


def synthetic_vectors(seed_vectors: np.ndarray, n: int, rng: np.random.Generator,
                      noise: float = 0.6, chunk: int = 100_000) -> np.ndarray:
    """``n`` unit vectors near the seed vectors: a random seed vector, plus a random share
    (0–0.5) of a second one, plus Gaussian noise shaped like the seed set's own covariance
    (its principal directions and their spreads; effective rank ~45 for the seed capabilities,
    where isotropic noise would make every neighbourhood 384-dimensional), scaled so that its
    norm is about ``noise`` times the median distance of a seed vector to its nearest other
    seed vector — so that the synthetic entries fill the space between the real ones."""
    seed = np.ascontiguousarray(seed_vectors, np.float32)
    sims = seed @ seed.T
    np.fill_diagonal(sims, -np.inf)
    nn_dist = np.sqrt(np.maximum(2 - 2 * sims.max(axis=1), 0))
    _, spread, directions = np.linalg.svd(seed - seed.mean(axis=0), full_matrices=False)
    std = (spread / np.sqrt(max(len(seed) - 1, 1))).astype(np.float32)
    std *= noise * float(np.median(nn_dist)) / float(np.sqrt((std**2).sum()))
    directions = directions.astype(np.float32)
    out = np.empty((n, seed.shape[1]), np.float32)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        a = rng.integers(0, len(seed), m)
        b = rng.integers(0, len(seed), m)
        w = rng.uniform(0, 0.5, (m, 1)).astype(np.float32)
        v = seed[a] + w * seed[b] + (rng.standard_normal((m, len(std)), dtype=np.float32) * std) @ directions
        out[start:start + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


_VARIANTS = ["二期", "升级版", "Pro", "轻量版", "边缘版", "云端版", "V2", "V3", "标准版", "园区版", "集团版", "Lite"]
_EXTRA = ["支持私有化部署", "提供7×24小时运维", "已通过等保三级测评", "支持国产化软硬件适配",
          "可按需分期建设", "Supports on-premise deployment", "Open REST API", "提供试点免费评估"]


def add_synthetic_capabilities(db: Path, count: int, *, model: str, seed: int = 7) -> int:
    """Add ``count`` published capabilities with stored vectors (perturbed seed vectors) to a
    seeded database, straight through SQLite, so that a rebuild loads them without encoding.
    Titles and descriptions are seed texts with generated variants; each stored text hash is
    the hash the service computes, so nothing counts as stale. Returns rows added."""
    import sqlite3

    from matching.text import entry_text
    from service.embeddings import CAPABILITY, Part, lexical_of

    if count <= 0:
        return 0
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    with contextlib.closing(sqlite3.connect(db)) as con:
        con.execute("PRAGMA journal_mode=WAL")
        seed_rows = con.execute(
            "SELECT c.id, c.title, c.organization, c.field, c.district, c.description, c.maturity, e.vector "
            "FROM capability c JOIN embedding e ON e.kind = 'capability' AND e.entry_id = c.id AND e.part = 0 "
            "AND e.model = ?", (model,)).fetchall()
        if not seed_rows:
            raise RuntimeError("the template has no capability vectors for " + model)
        seed_vecs = np.stack([np.frombuffer(r[7], np.float32) for r in seed_rows])
        vectors = synthetic_vectors(seed_vecs, count, rng)
        next_id = (con.execute("SELECT MAX(id) FROM capability").fetchone()[0] or 0) + 1
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # as SQLAlchemy stores it
        batch = 20_000
        for start in range(0, count, batch):
            caps, embs = [], []
            for i in range(start, min(count, start + batch)):
                src = seed_rows[pick.randrange(len(seed_rows))]
                other = seed_rows[pick.randrange(len(seed_rows))]
                title = f"{src[1]}（{pick.choice(_VARIANTS)}-{i}）"
                sentences = [s for s in other[5].split("。") if s][:1]
                description = "。".join([src[5].rstrip("。"), *sentences, pick.choice(_EXTRA)])
                entry_id = next_id + i
                caps.append((entry_id, f"SYN-{i:07d}", title, f"合成单位{i % 5000:04d}", src[3], src[4],
                             description, src[6], "{}", "published", now, now))
                text = entry_text(title, description)
                embs.append((CAPABILITY, entry_id, 0, model, Part(entry_id, 0, text, False).hash,
                             vectors[i].tobytes(), json.dumps(lexical_of(text), ensure_ascii=False)))
            con.executemany(
                "INSERT INTO capability (id, ext_id, title, organization, field, district, description, "
                "maturity, extra, status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", caps)
            con.executemany(
                "INSERT INTO embedding (kind, entry_id, part, model, text_hash, vector, lexical) "
                "VALUES (?,?,?,?,?,?,?)",
                embs)
            con.commit()
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return count


def capability_count(db: Path) -> int:
    import sqlite3

    with contextlib.closing(sqlite3.connect(db)) as con:
        return con.execute("SELECT COUNT(*) FROM capability").fetchone()[0]


def prepared_data_dir(target: Path, capabilities: int, *, model: str) -> Path:
    """A copy of the seeded template with synthetic capabilities up to ``capabilities`` in
    all (the seed's 160 opportunities and 320 capabilities are kept)."""
    template, _ = seeded_template()
    copy_data_dir(template, target)
    db = target / "scenario-match.db"
    add_synthetic_capabilities(db, capabilities - capability_count(db), model=model)
    return target


# -- a served instance ------------------------------------------------------------------------
def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, timeout: float = 5) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


@dataclass
class Served:
    process: subprocess.Popen
    port: int
    started: float  # perf_counter at launch
    first_health: float | None = None  # seconds from launch
    index_ready: float | None = None
    health_latency: list[float] | None = None  # seconds each /health poll took until index_ready

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def serve(data_dir: Path, *, timeout: float = 900, poll: float = 0.1, log_path: Path | None = None,
          **env: str) -> Iterator[Served]:
    """`scenario-match serve` on a free loopback port over ``data_dir``; waits until /health
    answers with index_ready true (times both from launch); stops the server afterwards."""
    port = free_port()
    out = open(log_path or os.devnull, "w")  # noqa: SIM115 - closed in the finally below
    process = subprocess.Popen([str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port)],
                               env=env_for(data_dir, **env), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    served = Served(process, port, time.perf_counter(), health_latency=[])
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}")
            asked = time.perf_counter()
            health = get_json(served.base + "/health", timeout=30)
            now = time.perf_counter() - served.started
            if health is not None:
                served.health_latency.append(time.perf_counter() - asked)
            if health is not None and served.first_health is None:
                served.first_health = now
            if health and health.get("index_ready"):
                served.index_ready = now
                break
            if now > timeout:
                raise TimeoutError(f"/health not index_ready after {timeout:.0f} s")
            time.sleep(poll)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        out.close()


def clear_stored_tokens(db: Path) -> None:
    """Make a data dir look like one from before migration 0005 (no stored tokens)."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(db)) as con:
        con.execute("UPDATE embedding SET lexical = NULL")
        con.commit()
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
