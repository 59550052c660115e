"""The web application factory."""
from __future__ import annotations

from fastapi import FastAPI

from service.context import Context
from service.routes import health
from service.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; nothing is opened until the app starts."""
    context = Context(settings or Settings())
    app = FastAPI(title="scenario-match 场景供需对接", version="0.1.0")
    app.state.context = context
    app.include_router(health.router)
    return app
