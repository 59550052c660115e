"""Import a list file into the database: every good row is created or updated, bad rows are
reported with their spreadsheet row number, and nothing already stored is lost."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from service import audit
from service.embeddings import CAPABILITY, OPPORTUNITY, TABLES
from service.models import Status, utcnow
from service.tabular import ParsedRow, ParsedTable, RowError, read_table

KIND_NAMES = {"opportunities": OPPORTUNITY, "capabilities": CAPABILITY,
              OPPORTUNITY: OPPORTUNITY, CAPABILITY: CAPABILITY}
MAX_ID_LENGTH = 100


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    rejected: list[RowError] = field(default_factory=list)
    entry_ids: list[int] = field(default_factory=list)  # rows written, for embedding

    def as_json(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated,
                "rejected": [{"row": e.row, "column": e.column, "reason": e.reason} for e in self.rejected]}


def auto_id(kind: str, values: dict[str, Any]) -> str:
    """An id for a row that has none, stable across imports of the same entry."""
    key = f"{values.get('title', '')}|{values.get('organization', '')}".encode()
    return ("JH-" if kind == OPPORTUNITY else "NL-") + hashlib.sha1(key).hexdigest()[:10]


def _check_id(row: ParsedRow) -> RowError | None:
    ext_id = row.values.get("id")
    if ext_id and len(str(ext_id)) > MAX_ID_LENGTH:
        return RowError(row.row, "id", f"编号过长（{len(str(ext_id))} 个字符，最多 {MAX_ID_LENGTH}）")
    return None


def write_rows(session: Session, kind: str, table: ParsedTable, *, status: Status,
               progress: Callable[[int, int], None] | None = None, actor: str = "system",
               filename: str | None = None) -> ImportReport:
    """Create or update one entry per parsed row, in one transaction with one audit entry."""
    model = TABLES[kind]
    report = ImportReport(rejected=list(table.errors))
    columns = set(model.model_fields) - {"id", "ext_id", "extra", "status", "created_at", "updated_at"}
    for done, row in enumerate(table.rows, 1):
        if progress and (done % 500 == 0 or done == len(table.rows)):
            progress(done, len(table.rows))
        error = _check_id(row)
        if error:
            report.rejected.append(error)
            continue
        ext_id = str(row.values.get("id") or auto_id(kind, row.values))
        entry = session.exec(select(model).where(model.ext_id == ext_id)).first()
        if entry is None:
            entry = model(ext_id=ext_id, title="", organization="", description="", status=status)
            report.created += 1
        else:
            report.updated += 1
            entry.status = status
        for key in columns & row.values.keys():  # a column the file lacks keeps its stored value
            setattr(entry, key, row.values[key])
        entry.extra = {**(entry.extra or {}), **row.extra}
        entry.updated_at = utcnow()
        session.add(entry)
        session.flush()
        report.entry_ids.append(entry.id)
    report.rejected.sort(key=lambda e: e.row)
    audit.record(session, actor=actor, action="import", kind=kind, target=filename or "",
                 changes={"created": report.created, "updated": report.updated,
                          "rejected": len(report.rejected)}, commit=False)
    session.commit()
    return report


def import_file(session: Session, kind: str, source: Path | bytes, *, filename: str | None = None,
                mapping: dict[str, str] | None = None, max_bytes: int,
                status: Status = Status.published,
                progress: Callable[[int, int], None] | None = None,
                actor: str = "system") -> ImportReport:
    """Read and write one list file. Raises ImportFileError when nothing could be read."""
    table = read_table(source, kind=kind, filename=filename, mapping=mapping, max_bytes=max_bytes)
    if filename is None and isinstance(source, Path):
        filename = source.name
    try:
        return write_rows(session, kind, table, status=status, progress=progress, actor=actor, filename=filename)
    except IntegrityError:
        # another import created one of these ids between our read and our write: the whole
        # file was rolled back; written again, those rows now update the other import's entries
        session.rollback()
        return write_rows(session, kind, table, status=status, progress=progress, actor=actor, filename=filename)
