"""The lists a fresh install starts with (seed_data/)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlmodel import select

from service.context import Context
from service.models import Capability, Opportunity
from service.importer import import_file
from service.progress import reporter

SEED_DIR = Path(__file__).resolve().parent.parent / "seed_data"
SEED_FILES = {"opportunity": "opportunities.csv", "capability": "capabilities.csv"}


def load_seed(context: Context, seed_dir: Path = SEED_DIR) -> Iterator[str]:
    """Import both seed lists as published entries and embed them; yields progress lines."""
    for kind, name in SEED_FILES.items():
        with context.session() as session:
            report = import_file(session, kind, seed_dir / name, filename=name,
                                 max_bytes=context.settings.max_import_bytes, progress=reporter(f"写入 {name}"),
                                 actor="cli")
        yield f"{name}: 新增 {report.created} 条，更新 {report.updated} 条，拒绝 {len(report.rejected)} 行"
        context.after_write(kind, report.entry_ids, progress=reporter(f"向量化 {name}"))


def is_empty(context: Context) -> bool:
    with context.session() as session:
        return all(session.exec(select(table.id).limit(1)).first() is None
                   for table in (Opportunity, Capability))
