"""Alembic migrations: they create the schema the models describe, and run again harmlessly."""
from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import service.models  # noqa: F401
from service.db import make_engine, migrate
from service.settings import Settings


def test_migrations_match_the_models_and_are_idempotent(data_dir: Path) -> None:
    engine = make_engine(Settings())
    migrate(engine)
    migrate(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        assert diff == []
        if connection.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
