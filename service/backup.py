"""Logical backup and restore: every table, vectors included, in a versioned zip archive.

A backup reads all tables in one read transaction (a consistent snapshot while the service
keeps writing); it works on SQLite and PostgreSQL alike, and restores across them. A restore
checks the whole archive first, then replaces the contents of every table in one transaction
and notes every entry in the change log, so running service processes refresh their matchers.
The change log itself is not backed up: its ids only mean something to the database they
came from.
"""
from __future__ import annotations

import base64
import json
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, LargeBinary, Table, delete, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import DateTime, TypeDecorator
from sqlmodel import Session, SQLModel

import service.models  # noqa: F401  (registers the tables)
from service import changes
from service.db import alembic_config
from service.embeddings import CAPABILITY, OPPORTUNITY

FORMAT = "scenario-match-backup"
VERSION = 1
MANIFEST = "manifest.json"
SKIPPED = {"change_log"}
ENTRY_TABLES = {"opportunity": OPPORTUNITY, "capability": CAPABILITY}
BATCH = 500


class BackupError(Exception):
    """A backup or restore that could not be done; the message is for the person running it."""


@dataclass
class Summary:
    path: Path
    revision: str
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def tables() -> list[Table]:
    """The backed-up tables, parents before children."""
    return [t for t in SQLModel.metadata.sorted_tables if t.name not in SKIPPED]


def head_revision(engine: Engine) -> str:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def known_revisions(engine: Engine) -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


# -- values in JSON ---------------------------------------------------------------------------
def _type(column) -> Any:
    kind = column.type
    return kind.impl if isinstance(kind, TypeDecorator) else kind


def _encode(column, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(_type(column), LargeBinary):
        return base64.b64encode(value).decode("ascii")
    if isinstance(_type(column), DateTime):
        return value.isoformat()
    return value


def _decode(column, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(_type(column), LargeBinary):
        return base64.b64decode(value, validate=True)
    if isinstance(_type(column), DateTime):
        return datetime.fromisoformat(value)
    return value


# -- backup -----------------------------------------------------------------------------------
@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see one moment of the database."""
    if engine.dialect.name == "sqlite":
        # the driver begins transactions only before writes: begin one by hand, so every
        # SELECT below reads the same WAL snapshot
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("BEGIN")
            try:
                yield connection
            finally:
                connection.exec_driver_sql("ROLLBACK")
        return
    level = "REPEATABLE READ" if engine.dialect.name in ("postgresql", "mysql") else "SERIALIZABLE"
    with engine.connect().execution_options(isolation_level=level) as connection, \
            connection.begin() as transaction:
        yield connection
        transaction.rollback()


def backup(engine: Engine, path: Path) -> Summary:
    """Write every table to a new archive at ``path`` (written aside, then moved in place)."""
    path = Path(path)
    if path.is_dir():
        raise BackupError(f"{path} 是一个目录，请给出备份文件的路径（例如 {path / 'scenario-match.smbk'}）")
    if not path.parent.is_dir():
        raise BackupError(f"无法写入备份文件：目录 {path.parent} 不存在")
    partial = path.with_name(path.name + ".partial")
    rows: dict[str, int] = {}
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            with _snapshot(engine) as connection:
                revision = MigrationContext.configure(connection).get_current_revision()
                for table in tables():
                    rows[table.name] = _write_table(connection, table, archive)
            archive.writestr(MANIFEST, json.dumps({
                "format": FORMAT, "version": VERSION, "revision": revision,
                "dialect": engine.dialect.name, "created_at": datetime.now().astimezone().isoformat(),
                "tables": rows}, ensure_ascii=False, indent=1))
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise BackupError(f"无法写入备份文件 {path}：{error.strerror or error}") from error
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Summary(path, revision, rows)


def _write_table(connection: Connection, table: Table, archive: zipfile.ZipFile) -> int:
    count = 0
    order = list(table.primary_key.columns) or list(table.columns)
    with archive.open(f"tables/{table.name}.jsonl", "w") as out:
        result = connection.execution_options(yield_per=BATCH).execute(select(table).order_by(*order))
        for row in result:
            values = {c.name: _encode(c, row._mapping[c]) for c in table.columns}
            out.write(json.dumps(values, ensure_ascii=False).encode("utf-8") + b"\n")
            count += 1
    return count


# -- restore ----------------------------------------------------------------------------------
def read_archive(engine: Engine, path: Path) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """The manifest and every table's rows, checked; raises BackupError before anything changes."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"找不到备份文件：{path}")
    try:
        with zipfile.ZipFile(path) as archive:
            if archive.testzip() is not None:
                raise BackupError(f"备份文件已损坏：{path}")
            manifest = json.loads(archive.read(MANIFEST))
            _check_manifest(engine, manifest)
            data = {table.name: _read_table(archive, table, manifest)
                    for table in tables() if table.name in manifest["tables"]}
    except BackupError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, EOFError, OSError) as error:
        raise BackupError(f"备份文件已损坏或不是 scenario-match 的备份：{path}（{error}）") from error
    return manifest, data


def _check_manifest(engine: Engine, manifest: Any) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("这不是 scenario-match 的备份文件")
    if manifest.get("version") != VERSION:
        raise BackupError(f"备份文件格式版本 {manifest.get('version')} 不受支持（本程序读取版本 {VERSION}）")
    revision, known = manifest.get("revision"), known_revisions(engine)
    if revision not in known:
        raise BackupError(f"备份来自更新版本的程序（数据库版本 {revision}，本程序最高 {known[-1]}），"
                          "请先升级 scenario-match 再恢复")
    names = {t.name for t in tables()}
    unknown = set(manifest.get("tables", {})) - names
    if unknown:
        raise BackupError(f"备份中有本程序不认识的表：{'、'.join(sorted(unknown))}")


def _read_table(archive: zipfile.ZipFile, table: Table, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    columns = {c.name: c for c in table.columns}
    rows = []
    with archive.open(f"tables/{table.name}.jsonl") as lines:
        for line in lines:
            values = json.loads(line)
            extra = set(values) - set(columns)
            if extra:
                raise BackupError(f"备份中表 {table.name} 有本程序不认识的列：{'、'.join(sorted(extra))}")
            rows.append({name: _decode(columns[name], value) for name, value in values.items()})
    if len(rows) != manifest["tables"][table.name]:
        raise BackupError(f"备份文件不完整：表 {table.name} 应有 {manifest['tables'][table.name]} 行，"
                          f"只读到 {len(rows)} 行")
    return rows


def restore(engine: Engine, path: Path) -> Summary:
    """Replace every table's contents with the archive's, in one transaction."""
    manifest, data = read_archive(engine, path)
    try:
        with engine.begin() as connection:
            before = _entry_ids(connection)
            for table in reversed(tables()):
                connection.execute(delete(table))
            for table in tables():
                rows = data.get(table.name, [])
                for start in range(0, len(rows), BATCH):
                    connection.execute(insert(table), rows[start : start + BATCH])
            _reset_sequences(connection)
            after = _entry_ids(connection)
    except SQLAlchemyError as error:
        raise BackupError(f"恢复失败，数据库保持原样：{str(error.orig if hasattr(error, 'orig') else error)[:300]}"
                          ) from error
    with Session(engine) as session:
        for name, kind in ENTRY_TABLES.items():
            changes.record(session, kind, sorted(before[name] | after[name]))
    return Summary(Path(path), manifest["revision"], {name: len(rows) for name, rows in data.items()})


def _entry_ids(connection: Connection) -> dict[str, set[int]]:
    meta = SQLModel.metadata.tables
    return {name: set(connection.execute(select(meta[name].c.id)).scalars()) for name in ENTRY_TABLES}


def _reset_sequences(connection: Connection) -> None:
    """PostgreSQL's id sequences continue above the restored ids (SQLite needs nothing)."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables():
        id_column = table.c.get("id")
        if id_column is None or not id_column.primary_key or not id_column.autoincrement:
            continue
        top = connection.execute(select(func.max(id_column))).scalar()
        connection.execute(text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v, :called)"),
                           {"t": table.name, "v": top or 1, "called": top is not None})

