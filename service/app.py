"""The web application factory."""
from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.context import Context
from service.routes import health
from service.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; nothing is opened until the app starts."""
    context = Context(settings or Settings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # rebuild the indexes from stored vectors without holding up the first requests
        threading.Thread(target=lambda: context.matches, name="warm-matcher", daemon=True).start()
        yield

    app = FastAPI(title="scenario-match 场景供需对接", version="0.1.0", lifespan=lifespan)
    app.state.context = context
    app.include_router(health.router)
    return app
