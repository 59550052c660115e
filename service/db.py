"""Engine and schema: SQLite in WAL mode by default, any SQLAlchemy URL by setting."""
from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event
from sqlmodel import create_engine

from service.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
# how long a SQLite writer waits for another process's write to finish before "database is
# locked": an import writes its rows in one transaction, and the service must outwait it
SQLITE_BUSY_MS = 60_000
MIGRATION_LOCK = 0x5CE4A210  # any constant key of PostgreSQL's advisory locks, ours alone


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable in WAL mode but for a power cut
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(settings: Settings) -> Engine:
    if settings.url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(settings.url, connect_args={"check_same_thread": False,
                                                           "timeout": SQLITE_BUSY_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # a service process serves requests on a thread pool (40 threads) besides its own background
    # work: a pool of 10 + 10 lets them share connections without exhausting a server's
    # max_connections (100 by default) when several processes run; pre-ping replaces a
    # connection the server dropped (restart, idle timeout), recycle keeps none for hours
    return create_engine(settings.url, pool_pre_ping=True, pool_size=10, max_overflow=10,
                         pool_timeout=30, pool_recycle=1800)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (creates it on an empty database). Processes
    starting together take turns, so no two create the same table."""
    with _migration_lock(engine):
        command.upgrade(alembic_config(engine), "head")


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
            try:
                yield
            finally:
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")
                connection.commit()
        return
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    try:
        lock = open(f"{database}.migrate-lock", "a")  # noqa: SIM115  (closed below)
    except OSError:  # no such directory: opening the database will say so in its own words
        yield
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
