"""The API's routers, one module per resource."""
from __future__ import annotations

from service.api import audit, entries, events, imports, keys, matching, submissions

API_ROUTERS = [entries.router, matching.router, imports.router, submissions.router, events.router,
               keys.router, audit.router]
