"""What the CLI and the web app share: settings, database, encoder and matcher, made on demand."""
from __future__ import annotations

import threading
from functools import cached_property

from sqlalchemy import Engine
from sqlmodel import Session

from matching.encoders import Encoder, load_encoder
from service import changes, embeddings
from service.db import make_engine, migrate
from service.embeddings import CAPABILITY, OPPORTUNITY, Progress
from service.matches import MatchService
from service.settings import Settings


class Context:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._matches_lock = threading.Lock()
        self._matches: MatchService | None = None

    @cached_property
    def engine(self) -> Engine:
        engine = make_engine(self.settings)
        migrate(engine)
        return engine

    def session(self) -> Session:
        return Session(self.engine)

    @cached_property
    def encoder(self) -> Encoder:
        return load_encoder(self.settings.model, device=self.settings.device)

    @property
    def matches_ready(self) -> bool:
        return self._matches is not None

    @property
    def matches(self) -> MatchService:
        """The matcher, rebuilt from stored vectors; only missing or stale ones are encoded."""
        with self._matches_lock:
            if self._matches is None:
                self.embed()
                service = MatchService(self.encoder.name, self.encoder.dim)
                with self.session() as session:
                    service.rebuild(session)
                self._matches = service
            return self._matches

    def embed(self, kind: str | None = None, ids: list[int] | None = None,
              progress: Progress | None = None) -> int:
        kinds = [kind] if kind else [OPPORTUNITY, CAPABILITY]
        with self.session() as session:
            return sum(embeddings.sync(session, self.encoder, k, entry_ids=ids, progress=progress)
                       for k in kinds)

    def after_write(self, kind: str, ids: list[int], progress: Progress | None = None,
                    wait: bool = False) -> None:
        """Entries were written: embed what changed, note the change for other processes, and
        bring this process's matcher in step if it is built (``wait``: once it is built, since a
        build under way may have read the lists before this write)."""
        self.embed(kind, ids, progress=progress)
        with self.session() as session:
            changes.record(session, kind, ids)
            if wait or self.matches_ready:
                self.matches.refresh(session, kind, ids)
