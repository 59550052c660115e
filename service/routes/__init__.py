"""One router per resource, joined here."""
from __future__ import annotations

from service.routes import admin, auth, events, health, imports, keys_audit, pages, submit

ROUTERS = [health.router, auth.router, pages.router, submit.router, admin.router, imports.router,
           events.router, keys_audit.router]
