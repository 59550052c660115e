"""What the CLI and the web app share: settings, database, encoder and matcher, made on demand."""
from __future__ import annotations

import threading
from functools import cached_property

from sqlalchemy import Engine
from sqlmodel import Session

from matching.encoders import Encoder, load_encoder
from service import embeddings
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
